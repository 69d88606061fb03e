/* test_histcache.c - the history cache (web/histcache.h) answers exactly
 * what the database does (db_history_page) through stores of newer, late
 * and tied samples, other selections, later bounds and retention: after
 * every change each query is asked through the cache and straight, and
 * the rows must be the same. */
#include "web/histcache.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/result.h"
#include "tests/unit/check.h"
#include "web/web_int.h"

static char tmpdir[64];
static int64_t now_s;

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void
good(struct probe_result *r, enum probe_kind kind, int64_t t, double offset)
{
    result_probe_init(r);
    r->kind = kind;
    r->family = 4;
    snprintf(r->host, sizeof(r->host), "time.example.org");
    r->port = 4460;
    snprintf(r->address, sizeof(r->address), "192.0.2.7");
    r->start_time = t;
    r->ke.status = KE_OK;
    r->ke.duration = 0.01;
    r->ke.connect_time = 0.001;
    r->ke.aead = 15;
    r->ke.cookies = 8;
    r->n_ntp = 2;
    for (int i = 0; i < 2; i++) {
        struct ntp_result *x = &r->ntp[i];
        x->status = NTP_OK;
        snprintf(x->address, sizeof(x->address), "192.0.2.7");
        x->port = 123;
        x->offset = offset + i * 1e-6;
        x->delay = 0.01 - i * 0.0001;
        x->stratum = 2;
        x->precision = -24;
    }
}

/* One sample of source by monitor, of kind (0 nts, 1 pool), at t. */
static void
put(struct db *db, int64_t source, int64_t monitor, int kind, int64_t t)
{
    struct probe_result r;
    struct db_sample s;
    struct db_stored out;

    good(&r, kind ? PROBE_KIND_POOL : PROBE_KIND_NTS, t, 1e-3 * (double)(t % 97));
    s = (struct db_sample){source, monitor, &r, 0, 0};
    if (t + 10 > now_s)
        now_s = t + 10;
    CHECK_INT(db_store_samples(db, &s, 1, now_s, &out), 0);
    CHECK_INT(out.outcome, DB_STORED);
}

/* The cache's answer to q is the database's. */
static void
same(struct web *w, const struct db_sample_query *q, const char *when)
{
    const struct db_sample_row *c = NULL;
    struct db_sample_row *d = NULL;
    size_t nc = 0, nd = 0;
    int bad = 0;

    CHECK_INT(histcache_rows(w, q, &c, &nc), 0);
    CHECK_INT(db_history_page(w->p.db, q, &d, &nd), 0);
    CHECK_INT(nc, nd);
    for (size_t i = 0; i < nc && i < nd; i++) {
        bad += c[i].id != d[i].id || c[i].time != d[i].time || c[i].kind != d[i].kind ||
               c[i].monitor != d[i].monitor || c[i].reason != d[i].reason ||
               c[i].source != d[i].source;
        bad += !(c[i].offset == d[i].offset || (isnan(c[i].offset) && isnan(d[i].offset)));
        bad += !(c[i].score == d[i].score || (isnan(c[i].score) && isnan(d[i].score)));
        bad += !(c[i].step == d[i].step || (isnan(c[i].step) && isnan(d[i].step)));
        bad += !(c[i].delay == d[i].delay || (isnan(c[i].delay) && isnan(d[i].delay)));
    }
    if (bad || nc != nd)
        fprintf(stderr, "  differs %s (source %lld since %lld limit %zu)\n", when,
                (long long)q->source, (long long)q->since, q->limit);
    CHECK_INT(bad, 0);
    free(d);
}

int
main(void)
{
    struct web *w = calloc(1, sizeof(*w));
    struct db *db;
    struct db_source a, b;
    struct db_sample_query q[6];
    int64_t user, m1, m2, t0 = 1700000000 - 1700000000 % 3600;
    char path[128], *err = NULL;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_histcache.XXXXXX");
    if (!w || !mkdtemp(tmpdir))
        return 1;
    snprintf(path, sizeof(path), "%s/h.db", tmpdir);
    db = db_open(path, &err);
    CHECK(db != NULL);
    if (!db)
        return 1;
    w->p.db = db;
    CHECK_INT(db_user_add(db, "op@example.org", "$scrypt$x", false, 1000, &user), 0);
    CHECK_INT(db_source_add(db, user, "a.example.org", 4460, 1000, &a), 0);
    CHECK_INT(db_source_add(db, user, "b.example.org", 4460, 1000, &b), 0);
    CHECK_INT(db_monitor_add(db, "m1", "key-m1", 1000, &m1), 0);
    CHECK_INT(db_monitor_add(db, "m2", "key-m2", 1000, &m2), 0);
    for (int i = 0; i < 10; i++)
        for (int k = 0; k < 2; k++) {
            put(db, a.id, m1, k, t0 + 100 * i);
            put(db, b.id, m1, k, t0 + 100 * i + 7);
        }
    /* The queries: a page (limit cuts the answer, at a tie of two kinds),
       the graph's (all since a bound), one kind, one monitor, the other
       source. */
    for (int i = 0; i < 6; i++) {
        memset(&q[i], 0, sizeof(q[i]));
        q[i].source = a.id;
        q[i].kind = -1;
        q[i].monitor = -1;
        q[i].limit = 5;
    }
    q[1].since = t0 + 300;
    q[1].limit = 50000;
    q[2].kind = SCORE_KIND_POOL_V4;
    q[3].monitor = m2;
    q[4].source = b.id;
    q[5].limit = 3;
#define ALL(when)                                                                          \
    do {                                                                                   \
        for (int i_ = 0; i_ < 6; i_++) {                                                   \
            same(w, &q[i_], when);                                                         \
            same(w, &q[i_], when " (again)");                                              \
        }                                                                                  \
    } while (0)
    ALL("at first");
    {
        uint64_t hits, misses, h, m;

        histcache_counts(w->histcache, &hits, &misses);
        CHECK_INT(misses, 6);  /* one fill per query (one entry per source)... */
        CHECK_INT(hits, 6);    /* ...and asked again at once, a hit */
        same(w, &q[0], "q0");  /* a's entry was q5's: filled */
        same(w, &q[0], "q0 again");
        histcache_counts(w->histcache, &h, &m);
        CHECK_INT(m, misses + 1);
        CHECK_INT(h, hits + 1);
        put(db, a.id, m1, 0, t0 + 1000); /* newer */
        same(w, &q[0], "after a newer sample");
        same(w, &q[4], "the other source");
        histcache_counts(w->histcache, &hits, &misses);
        CHECK_INT(misses, m + 1); /* a's stamp changed */
        CHECK_INT(hits, h + 1);   /* b's did not */
    }
    ALL("after a newer sample");
    put(db, a.id, m2, 1, t0 + 850); /* late, among the cached rows */
    ALL("after a late sample");
    put(db, a.id, m2, 0, t0 + 600); /* late, older than the page's rows */
    ALL("after an older late sample");
    put(db, a.id, m2, 1, t0 + 1000); /* at the time of the newest, tied */
    put(db, a.id, m2, 0, t0 + 800);  /* at the cut of the limit-3 page */
    ALL("after tied samples");
    /* Later bounds served from an entry made for an earlier one. */
    q[1].since = t0 + 550;
    q[0].since = t0 + 950;
    ALL("with later bounds");
    put(db, b.id, m2, 0, t0 + 2000); /* the other source only */
    ALL("after a sample of the other source");
    /* Retention deletes the oldest samples (the front of the window). */
    CHECK(db_fold_old_samples(db, t0 + 86400 + 700, 1, 100000, 1000) > 0);
    q[1].since = t0 + 300;
    same(w, &q[1], "after retention, an earlier bound");
    ALL("after retention");
    histcache_free(w->histcache);
    db_close(db);
    free(w);
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    printf("test_histcache ... %s (%d checks, %d failed)\n", check_failed ? "FAIL" : "PASS",
           check_count, check_failed);
    return check_failed ? 1 : 0;
}
