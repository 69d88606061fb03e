/* sched.c - the scheduler of sched.h: one libevent timer per (source, kind)
 * slot, a FIFO of slots that came due while max_in_flight probes ran, and
 * the interface.  A round of a slot (name resolution shared by the source's
 * kinds, the address and AEAD rotations, the pool code point detection, the
 * probe and the report) is schrun.c's; the network self-check schhealth.c's.
 * Probing itself is probe.c's; storing and scoring is the sink's.
 *
 * Costs: sources live in a chained hash table keyed by id (put/remove O(1)
 * amortised); each enabled slot owns one timer in libevent's min-heap
 * (O(log n) per start); the queue and the list of running probes are
 * intrusive lists (O(1) to add and cancel); the self-check keeps a ring of
 * the last HEALTH_RING failing sources per failure class (O(1) per event).
 * Nothing scans all sources except sch_set_config and sch_free.
 *
 * Lifetime: slots are embedded in their source.  A source is freed only when
 * no callback of ours is on the stack for it (src->busy == 0): the sink may
 * remove the very source it is told about (STYLE.md 3, "mark, then free").
 * Every sink call comes from the event loop (a timer, the queue pump, a DNS
 * answer or a finished probe), never from inside sch_source_put/remove. */
#include "monitor/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "monitor/dns.h"
#include "monitor/probe.h"
#include "monitor/sched_int.h"
#include "monitor/tlsctx.h"

/* xorshift64*: timing jitter needs no cryptographic randomness. */
static double
uniform(struct sch *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (double)((s->rng * 0x2545F4914F6CDD1DULL) >> 11) * 0x1p-53;
}

/* Pool kinds without a token are not probed, nor through a pool KE. */
static unsigned
effective_kinds(const struct src *src)
{
    unsigned k = src->kinds & SCH_KINDS_ALL;

    if (!src->token[0] || src->uuid[0])
        k &= ~(SCH_KIND_BIT(SCH_POOL_V4) | SCH_KIND_BIT(SCH_POOL_V6));
    return k;
}

/* ---- the hash table of sources ---- */

static size_t
bucket_of(const struct sch *s, int64_t id)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ULL;

    return (size_t)(h ^ (h >> 29)) & (s->nbuckets - 1);
}

static struct src *
find(const struct sch *s, int64_t id)
{
    for (struct src *p = s->buckets[bucket_of(s, id)]; p; p = p->hnext)
        if (p->id == id)
            return p;
    return NULL;
}

static int
grow(struct sch *s)
{
    size_t n = s->nbuckets * 2;
    struct src **b = calloc(n, sizeof(*b));
    struct src **old = s->buckets;
    size_t oldn = s->nbuckets;

    if (!b)
        return -1;
    s->buckets = b;
    s->nbuckets = n;
    for (size_t i = 0; i < oldn; i++) {
        struct src *p = old[i], *next;
        for (; p; p = next) {
            size_t j = bucket_of(s, p->id);
            next = p->hnext;
            p->hnext = b[j];
            b[j] = p;
        }
    }
    free(old);
    return 0;
}

static void
unlink_src(struct sch *s, struct src *src)
{
    struct src **pp = &s->buckets[bucket_of(s, src->id)];

    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == src) {
            *pp = src->hnext;
            s->nsources--;
            return;
        }
    }
}

/* ---- the queue and the pump ---- */

static void
queue_push(struct sch *s, struct slot *sl, bool front)
{
    sl->state = SL_QUEUED;
    sl->qnext = sl->qprev = NULL;
    if (!s->qhead) {
        s->qhead = s->qtail = sl;
    } else if (front) {
        sl->qnext = s->qhead;
        s->qhead->qprev = sl;
        s->qhead = sl;
    } else {
        sl->qprev = s->qtail;
        s->qtail->qnext = sl;
        s->qtail = sl;
    }
    s->nqueued++;
}

static void
queue_unlink(struct sch *s, struct slot *sl)
{
    if (sl->qprev)
        sl->qprev->qnext = sl->qnext;
    else
        s->qhead = sl->qnext;
    if (sl->qnext)
        sl->qnext->qprev = sl->qprev;
    else
        s->qtail = sl->qprev;
    sl->qnext = sl->qprev = NULL;
    s->nqueued--;
}

static void
src_free(struct src *src)
{
    free(src->addrs);
    explicit_bzero(src->token, sizeof(src->token));
    free(src);
}

void
sch_src_hold(struct src *src)
{
    src->busy++;
}

void
sch_src_release(struct src *src)
{
    if (--src->busy == 0 && src->removed)
        src_free(src);
}

/* ---- timers ---- */

static void
arm(struct slot *sl, double now)
{
    double d = sl->due - now;
    struct timeval tv;

    if (d < 0)
        d = 0;
    tv.tv_sec = (time_t)d;
    tv.tv_usec = (suseconds_t)((d - (double)tv.tv_sec) * 1e6);
    evtimer_add(sl->timer, &tv);
}

static void
on_due(evutil_socket_t fd, short what, void *arg)
{
    struct slot *sl = arg;
    struct src *src = sl->src;
    struct sch *s = src->s;
    double now = sch_mono(), due = sl->due;
    double iv = s->cfg.interval;

    (void)fd;
    (void)what;
    /* From the due time, not the finish: the schedule does not drift.  After
       a stall (a suspended host) start afresh instead of catching up. */
    sl->due = due + iv * (1 + SCH_JITTER * (2 * uniform(s) - 1));
    if (sl->due < now)
        sl->due = now + iv * uniform(s);
    arm(sl, now);
    if (sl->state != SL_IDLE)
        return;                 /* still running or queued: skip this round */
    /* libevent's timers run on a coarse monotonic clock and may fire a
       millisecond before our precise one says: no negative lag. */
    sl->round_due = due < now ? due : now;
    if (s->qhead || s->in_flight >= s->cfg.max_in_flight) {
        queue_push(s, sl, false);
        return;
    }
    sch_src_hold(src);
    schrun_start(sl, now);
    sch_src_release(src);
}

static void
on_pump(evutil_socket_t fd, short what, void *arg)
{
    struct sch *s = arg;
    double now = sch_mono();

    (void)fd;
    (void)what;
    /* Bounded: each turn takes one slot off the queue. */
    while (s->qhead && s->in_flight < s->cfg.max_in_flight) {
        struct slot *sl = s->qhead;
        struct src *src = sl->src;

        queue_unlink(s, sl);
        sch_src_hold(src);
        schrun_start(sl, now);
        sch_src_release(src);
    }
}

/* ---- slots ---- */

static int
slot_enable(struct slot *sl, enum sch_start how, double now)
{
    struct sch *s = sl->src->s;

    if (sl->state != SL_OFF)
        return 0;
    sl->timer = evtimer_new(s->base, on_due, sl);
    if (!sl->timer)
        return -1;
    if (how == SCH_START_SOON)
        sl->due = now + SCH_NEW_DELAY_MS / 1000.0 * uniform(s);
    else
        sl->due = now + s->cfg.interval * uniform(s);
    sl->state = SL_IDLE;
    arm(sl, now);
    return 0;
}

/* Stop whatever sl does now; the timer stays. */
static void
slot_abort(struct slot *sl)
{
    struct src *src = sl->src;
    struct sch *s = src->s;

    switch (sl->state) {
    case SL_QUEUED:
        queue_unlink(s, sl);
        sl->state = SL_IDLE;
        break;
    case SL_RUNNING:
        if (sl->run && sl->run->probe)
            probe_cancel(sl->run->probe);
        schrun_done(sl);
        break;
    case SL_RESOLVING:
        schrun_done(sl);
        break;
    case SL_OFF:
    case SL_IDLE:
        break;
    }
    sl->gen++;
}

static void
slot_disable(struct slot *sl)
{
    slot_abort(sl);
    if (sl->timer) {
        event_free(sl->timer);
        sl->timer = NULL;
    }
    sl->state = SL_OFF;
}

static void
src_kill(struct sch *s, struct src *src)
{
    unlink_src(s, src);
    for (int k = 0; k < SCH_KINDS; k++)
        slot_disable(&src->slot[k]);
    schrun_dns_unneeded(src);
    src->removed = true;
    if (src->busy == 0)
        src_free(src);
}

/* ---- the interface ---- */

static bool
valid_config(const struct sch_config *cfg)
{
    return cfg && cfg->interval >= 1 && cfg->max_in_flight >= 1 &&
           cfg->ke_timeout_ms >= 1 && cfg->ntp_timeout_ms >= 1 &&
           (cfg->codepoints == SCH_CP_AUTO || cfg->codepoints == SCH_CP_PERMANENT ||
            cfg->codepoints == SCH_CP_EXPERIMENTAL);
}

struct event_base *
sch_event_base_new(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;

    if (!cfg)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

struct sch *
sch_new(struct event_base *base, struct evdns_base *dns, struct tlsctx *tls,
        const struct sch_config *cfg, sch_sink_fn *sink, void *arg)
{
    struct sch *s;

    if (!base || !dns || !tls || !sink || !valid_config(cfg))
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->base = base;
    s->dns = dns;
    s->tls = tls;
    s->cfg = *cfg;
    s->sink = sink;
    s->arg = arg;
    s->nbuckets = 64;
    s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
    s->pump = event_new(base, -1, 0, on_pump, s);
    if (tlsctx_random(&s->rng, sizeof(s->rng)) != 0)
        s->rng = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
    s->rng |= 1;                /* xorshift must not start at 0 */
    schhealth_init(&s->dns_h);
    schhealth_init(&s->net_h);
    if (!s->buckets || !s->pump) {
        sch_free(s);
        return NULL;
    }
    return s;
}

void
sch_free(struct sch *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->buckets && i < s->nbuckets; i++)
        while (s->buckets[i])
            src_kill(s, s->buckets[i]);
    free(s->buckets);
    if (s->pump)
        event_free(s->pump);
    free(s);
}

void
sch_set_config(struct sch *s, const struct sch_config *cfg)
{
    int old = s->cfg.interval;
    double now = sch_mono();

    if (!valid_config(cfg))
        return;
    s->cfg = *cfg;
    if (cfg->interval < old) {
        /* Pull far-off starts in, spread over the new interval. */
        for (size_t i = 0; i < s->nbuckets; i++) {
            for (struct src *p = s->buckets[i]; p; p = p->hnext) {
                for (int k = 0; k < SCH_KINDS; k++) {
                    struct slot *sl = &p->slot[k];
                    if (sl->timer && sl->due > now + cfg->interval) {
                        sl->due = now + cfg->interval * uniform(s);
                        arm(sl, now);
                    }
                }
            }
        }
    }
    sch_kick(s);
}

static bool
tls_in_use(const struct sch *s, const struct tlsctx *t)
{
    for (const struct run *r = s->runs; r; r = r->next)
        if (r->probe && r->tls == t)
            return true;
    return false;
}

struct tlsctx *
sch_set_tls(struct sch *s, struct tlsctx *tls)
{
    struct tlsctx *old = s->tls;

    if (!tls)
        return NULL;
    s->tls = tls;
    return old != tls && tls_in_use(s, old) ? old : NULL;
}

bool
sch_tls_idle(struct sch *s)
{
    for (const struct run *r = s->runs; r; r = r->next)
        if (r->probe && r->tls != s->tls)
            return false;
    return true;
}

static bool
valid_source(const struct sch_source *src)
{
    return src && memchr(src->host, '\0', sizeof(src->host)) && src->host[0] &&
           memchr(src->token, '\0', sizeof(src->token)) && src->port != 0 &&
           memchr(src->uuid, '\0', sizeof(src->uuid)) && (!src->uuid[0] || src->token[0]) &&
           (src->kinds & ~SCH_KINDS_ALL) == 0 &&
           (src->codepoints == SCH_CP_AUTO || src->codepoints == SCH_CP_PERMANENT ||
            src->codepoints == SCH_CP_EXPERIMENTAL);
}

int
sch_source_put(struct sch *s, const struct sch_source *in, enum sch_start how)
{
    struct src *src;
    double now = sch_mono();
    unsigned want;
    int rc = 0;

    if (!valid_source(in))
        return -1;
    src = find(s, in->id);
    if (!src) {
        if (s->nsources >= s->nbuckets && grow(s) != 0)
            return -1;
        src = calloc(1, sizeof(*src));
        if (!src)
            return -1;
        src->s = s;
        src->id = in->id;
        src->resolved_at = NEVER;
        src->cp = SCH_CP_AUTO;
        for (int k = 0; k < SCH_KINDS; k++) {
            src->slot[k].src = src;
            src->slot[k].kind = (enum sch_kind)k;
        }
        src->hnext = s->buckets[bucket_of(s, in->id)];
        s->buckets[bucket_of(s, in->id)] = src;
        s->nsources++;
    } else if (strcmp(src->host, in->host) != 0 || src->port != in->port) {
        /* Another server: forget its addresses and what it answered.  Kinds
           waiting for the old name's addresses go back to the head of the
           queue, to resolve the new one. */
        src->resolved_at = NEVER;
        src->cp = SCH_CP_AUTO;
        if (src->resolving) {
            if (src->dreq)
                dns_cancel(src->dreq);
            src->dreq = NULL;
            src->resolving = false;
            for (int k = SCH_KINDS - 1; k >= 0; k--) {
                struct slot *sl = &src->slot[k];
                if (sl->state == SL_RESOLVING) {
                    schrun_done(sl);
                    queue_push(s, sl, true);
                }
            }
            sch_kick(s);
        }
    }
    snprintf(src->host, sizeof(src->host), "%s", in->host);
    src->port = in->port;
    src->kinds = in->kinds;
    snprintf(src->token, sizeof(src->token), "%s", in->token);
    snprintf(src->uuid, sizeof(src->uuid), "%s", in->uuid);
    if (in->codepoints != SCH_CP_AUTO)
        src->cp = in->codepoints;
    want = effective_kinds(src);
    for (int k = 0; k < SCH_KINDS; k++) {
        struct slot *sl = &src->slot[k];

        if (want & SCH_KIND_BIT(k)) {
            if (slot_enable(sl, how, now) != 0)
                rc = -1;
        } else {
            slot_disable(sl);
        }
    }
    schrun_dns_unneeded(src);
    return rc;
}

void
sch_source_remove(struct sch *s, int64_t id)
{
    struct src *src = find(s, id);

    if (src)
        src_kill(s, src);
}

void
sch_stats(struct sch *s, struct sch_stats *out)
{
    double now = sch_mono();

    memset(out, 0, sizeof(*out));
    out->in_flight = s->in_flight;
    out->queued = s->nqueued;
    out->sources = s->nsources;
    schhealth_stats(s, now, out);
}

const char *
sch_health_str(enum sch_health h)
{
    switch (h) {
    case SCH_HEALTH_OK: return "ok";
    case SCH_HEALTH_RESOLVER_DOWN: return "resolver_down";
    case SCH_HEALTH_NETWORK_DOWN: return "network_down";
    }
    return "unknown";
}
