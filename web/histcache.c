/* histcache.c - the newest samples of recently asked sources (histcache.h).
 *
 * Reading a page of score history costs a row read per sample (about
 * 2,300 instructions to find each row of the 2M-row table: most of the
 * /scores/{host}/json request), and the details page's graph reads two
 * days of them (~2,900 rows for one monitor).  A covering index would spare
 * those reads but costs a third of the store rate; this cache costs the
 * writers a counter increment.
 *
 * One entry per source: the query it answered, its rows (compact) and the
 * stamp (db.h, struct db_history_stamp) of the source's samples when they
 * were read.  The stamp changes whenever a sample of the source is stored
 * or any sample deleted, so while it is the same the samples are, and a
 * later query of the same source, kind, monitor and limit, with the same or
 * a later since, is answered from the entry: every row newer than the
 * oldest cached is cached; the answer is the cached rows at or after since.
 * Whatever is stored meanwhile (the built-in monitor, a remote one) or
 * deleted (retention) changes the stamp: nothing stale is served, and the
 * check reads two counters, not the database (an index range per request
 * cost about a fifth of /scores/{host}/json).  The page is read in the
 * request's read transaction (web.c), one snapshot.
 *
 * Bounded by HISTCACHE_BYTES; least recently used entries go first
 * (a hash table by source for the lookup, a list for the order, O(1)). */
#include "web/histcache.h"

#include <stdlib.h>
#include <string.h>

#include "web/web_int.h"

/* What db_history_page sets, in 64 bytes instead of a db_sample_row's 160. */
struct hrow {
    int64_t id, time, monitor;
    double offset, delay, step, score;
    int16_t kind, reason;
};

struct hentry {
    struct hentry *hnext;          /* bucket chain */
    struct hentry *newer, *older;  /* the LRU list */
    struct db_sample_query q;      /* what it answered (offset, before unused) */
    struct db_history_stamp stamp;
    size_t n;
    struct hrow rows[];            /* newest first */
};

struct histcache {
    struct hentry *bucket[HISTCACHE_BUCKETS];
    struct hentry *newest, *oldest;
    size_t bytes;
    struct db_sample_row *out;     /* the rows handed out, until the next call */
    size_t out_cap;
    uint64_t hits, misses;
};

static size_t
bucket_of(int64_t source)
{
    uint64_t h = (uint64_t)source * 0x9E3779B97F4A7C15ULL;

    return (size_t)(h >> 32) % HISTCACHE_BUCKETS;
}

static size_t
entry_size(size_t n)
{
    return sizeof(struct hentry) + n * sizeof(struct hrow);
}

static void
list_unlink(struct histcache *c, struct hentry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void
list_push_newest(struct histcache *c, struct hentry *e)
{
    e->newer = NULL;
    e->older = c->newest;
    if (c->newest)
        c->newest->newer = e;
    c->newest = e;
    if (!c->oldest)
        c->oldest = e;
}

static void
entry_drop(struct histcache *c, struct hentry *e)
{
    struct hentry **pp = &c->bucket[bucket_of(e->q.source)];

    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    list_unlink(c, e);
    c->bytes -= entry_size(e->n);
    free(e);
}

void
histcache_counts(const struct histcache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
}

void
histcache_free(struct histcache *c)
{
    if (!c)
        return;
    while (c->oldest)
        entry_drop(c, c->oldest);
    free(c->out);
    free(c);
}

static struct hentry *
lookup(struct histcache *c, int64_t source)
{
    for (struct hentry *e = c->bucket[bucket_of(source)]; e; e = e->hnext)
        if (e->q.source == source)
            return e;
    return NULL;
}

/* Whether e answers q, once its stamp is checked. */
static bool
answers(const struct hentry *e, const struct db_sample_query *q)
{
    return e->q.kind == q->kind && e->q.monitor == q->monitor && e->q.limit == q->limit &&
           e->q.since <= q->since;
}

/* The cached rows at or after since, as db_sample_rows in c->out. */
static int
hand_out(struct histcache *c, const struct hentry *e, int64_t since,
         const struct db_sample_row **rows, size_t *n)
{
    size_t k = 0;

    while (k < e->n && e->rows[k].time >= since)
        k++;
    if (k > c->out_cap || !c->out) {
        size_t cap = k > 64 ? k : 64;
        struct db_sample_row *o = realloc(c->out, cap * sizeof(*o));
        if (!o)
            return -1;
        c->out = o;
        c->out_cap = cap;
    }
    for (size_t i = 0; i < k; i++) {
        const struct hrow *h = &e->rows[i];
        struct db_sample_row *x = &c->out[i];

        memset(x, 0, sizeof(*x));
        x->id = h->id;
        x->source = e->q.source;
        x->kind = (enum score_kind)h->kind;
        x->monitor = h->monitor;
        x->time = h->time;
        x->aead = -1;
        x->reason = (enum probe_reason)h->reason;
        x->offset = h->offset;
        x->delay = h->delay;
        x->stratum = -1;
        x->step = h->step;
        x->score = h->score;
    }
    *rows = c->out;
    *n = k;
    return 0;
}

/* Read q's rows and their stamp into a new entry (not linked). */
static struct hentry *
fill(struct web *w, const struct db_sample_query *q)
{
    struct db_sample_row *v = NULL;
    struct hentry *e;
    size_t nv = 0;

    if (db_history_page(w->p.db, q, &v, &nv) != 0)
        return NULL;
    e = malloc(entry_size(nv));
    if (!e) {
        free(v);
        return NULL;
    }
    memset(e, 0, sizeof(*e));
    e->q = *q;
    e->n = nv;
    for (size_t i = 0; i < nv; i++) {
        struct hrow *h = &e->rows[i];

        h->id = v[i].id;
        h->time = v[i].time;
        h->monitor = v[i].monitor;
        h->offset = v[i].offset;
        h->delay = v[i].delay;
        h->step = v[i].step;
        h->score = v[i].score;
        h->kind = (int16_t)v[i].kind;
        h->reason = (int16_t)v[i].reason;
    }
    free(v);
    db_history_stamp(w->p.db, q->source, &e->stamp);
    return e;
}

int
histcache_rows(struct web *w, const struct db_sample_query *q,
               const struct db_sample_row **rows, size_t *n)
{
    struct histcache *c = w->histcache;
    struct hentry *e;

    if (!c) {
        c = w->histcache = calloc(1, sizeof(*c));
        if (!c)
            return -1;
    }
    e = lookup(c, q->source);
    if (e && answers(e, q)) {
        struct db_history_stamp now;

        db_history_stamp(w->p.db, q->source, &now);
        if (db_history_stamp_same(&now, &e->stamp)) {
            list_unlink(c, e);
            list_push_newest(c, e);
            c->hits++;
            return hand_out(c, e, q->since, rows, n);
        }
    }
    if (e)
        entry_drop(c, e);
    c->misses++;
    e = fill(w, q);
    if (!e)
        return -1;
    while (c->oldest && c->bytes + entry_size(e->n) > HISTCACHE_BYTES)
        entry_drop(c, c->oldest);
    e->hnext = c->bucket[bucket_of(q->source)];
    c->bucket[bucket_of(q->source)] = e;
    list_push_newest(c, e);
    c->bytes += entry_size(e->n);
    return hand_out(c, e, q->since, rows, n);
}
