/* sched.c - the scheduler of sched.h: one libevent timer per (source, kind)
 * slot, a FIFO of slots that came due while max_in_flight probes ran, one
 * shared name resolution per source, the address and AEAD rotations, the
 * pool code point detection and the network self-check.  Probing itself is
 * probe.c's; storing and scoring is the sink's.
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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "monitor/aead.h"
#include "monitor/dns.h"
#include "monitor/probe.h"
#include "monitor/tlsctx.h"

#define HEALTH_RING 8           /* distinct failing sources remembered per class */
#define NEVER (-1e300)          /* a monotonic time before any other */
#define COOKIES_MIN 1           /* cookies asked per NTP exchange, like the pool's */
#define COOKIES_MAX 3

/* The AEADs each probe offers, rotated (SCORING.md "Probe kinds"). */
static const uint16_t rotation[] = {AEAD_AES_SIV_CMAC_256, AEAD_AES_SIV_CMAC_512,
                                    AEAD_AES_128_GCM_SIV};
#define NROTATION (sizeof(rotation) / sizeof(rotation[0]))

enum slot_state {
    SL_OFF = 0,     /* kind not probed: no timer */
    SL_IDLE,        /* timer set, nothing running */
    SL_QUEUED,      /* due, waiting in the FIFO for a free place */
    SL_RESOLVING,   /* started: waiting for the source's addresses */
    SL_RUNNING,     /* started: a probe in flight */
};

union addr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

struct src;
struct sch;

/* One round of one slot, from start to report: exists only while started. */
struct run {
    struct run *next, *prev;    /* s->runs */
    struct probe *probe;
    struct tlsctx *tls;         /* the context the probe in flight uses */
    double due, started;        /* monotonic s */
    int64_t start_wall;         /* Unix s */
    double start_frac;
    union addr addr;
    socklen_t addrlen;
    enum sch_codepoints cp;     /* pool kinds: the set this try sends */
    bool retried;               /* the code point retry was made */
    uint16_t aeads[NROTATION];
};

struct slot {
    struct src *src;
    struct event *timer;
    struct slot *qnext, *qprev; /* s->queue while SL_QUEUED */
    struct run *run;            /* SL_RESOLVING, SL_RUNNING */
    double due;                 /* monotonic: when the timer fires next */
    double round_due;           /* the due time of the round queued or started */
    unsigned addr_ctr, aead_ctr;
    unsigned gen;               /* bumped when the slot stops: stale reports die */
    enum slot_state state;
    enum sch_kind kind;
};

struct src {
    struct sch *s;
    struct src *hnext;
    int64_t id;
    char host[RESULT_NAME_MAX];
    uint16_t port;
    unsigned kinds;             /* as given */
    char token[SCH_TOKEN_MAX];
    char uuid[SCH_UUID_MAX];    /* "": direct; else through a pool KE */
    enum sch_codepoints cp;     /* known or learnt; SCH_CP_AUTO: not known */
    /* Resolution, shared by the kinds. */
    struct dns_req *dreq;
    bool resolving, in_resolve;
    double resolved_at;         /* monotonic; NEVER: nothing cached */
    int dns_error;              /* of the last answer */
    char dns_detail[128];
    union addr *addrs;
    size_t naddrs;
    int busy;                   /* our callbacks on the stack for it */
    bool removed;
    struct slot slot[SCH_KINDS];
};

struct hring {
    int64_t id[HEALTH_RING];
    double t[HEALTH_RING];      /* monotonic time of the last failure, NEVER: empty */
    double ok;                  /* last success */
};

struct sch {
    struct event_base *base;
    struct evdns_base *dns;
    struct tlsctx *tls;
    struct sch_config cfg;
    sch_sink_fn *sink;
    void *arg;
    struct src **buckets;
    size_t nbuckets, nsources;
    struct slot *qhead, *qtail;
    int nqueued;
    int in_flight;              /* slots SL_RESOLVING or SL_RUNNING */
    struct run *runs;
    struct event *pump;
    uint64_t rng;
    struct hring dns_h, net_h;
};

static double
mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: timing jitter needs no cryptographic randomness. */
static double
uniform(struct sch *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (double)((s->rng * 0x2545F4914F6CDD1DULL) >> 11) * 0x1p-53;
}

static bool
kind_is_pool(enum sch_kind k)
{
    return k == SCH_POOL_V4 || k == SCH_POOL_V6;
}

static int
kind_family(enum sch_kind k)
{
    return k == SCH_NTS_V6 || k == SCH_POOL_V6 ? 6 : 4;
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

/* Queued slots start from the pump event, so that freeing a place inside
   sch_source_remove() never calls the sink from there. */
static void
kick(struct sch *s)
{
    if (s->qhead && s->in_flight < s->cfg.max_in_flight)
        event_active(s->pump, EV_TIMEOUT, 0);
}

static void
src_free(struct src *src)
{
    free(src->addrs);
    explicit_bzero(src->token, sizeof(src->token));
    free(src);
}

static void
hold(struct src *src)
{
    src->busy++;
}

static void
release(struct src *src)
{
    if (--src->busy == 0 && src->removed)
        src_free(src);
}

/* ---- the self-check ---- */

static void
hr_fail(struct hring *h, int64_t id, double now)
{
    int oldest = 0;

    for (int i = 0; i < HEALTH_RING; i++) {
        if (h->t[i] > NEVER && h->id[i] == id) {
            h->t[i] = now;
            return;
        }
        if (h->t[i] < h->t[oldest])
            oldest = i;
    }
    h->id[oldest] = id;
    h->t[oldest] = now;
}

static int
hr_failing(const struct hring *h, double now)
{
    int n = 0;

    if (now - h->ok <= SCH_HEALTH_WINDOW)
        return 0;
    for (int i = 0; i < HEALTH_RING; i++)
        n += now - h->t[i] <= SCH_HEALTH_WINDOW;
    return n;
}

static bool
resolver_down(const struct sch *s, double now)
{
    return hr_failing(&s->dns_h, now) >= SCH_HEALTH_SOURCES;
}

static bool
network_down(const struct sch *s, double now)
{
    return hr_failing(&s->net_h, now) >= SCH_HEALTH_SOURCES;
}

/* A failed resolution the self-check counts: the resolver failed or timed
   out; "no such name" and "no data" are answers, which prove nothing. */
static bool
dns_counts(int eai)
{
    return eai != 0 && eai != EVUTIL_EAI_NONAME && eai != EVUTIL_EAI_NODATA &&
           eai != EVUTIL_EAI_CANCEL;
}

/* A key exchange that never reached the server: timeout or no route. */
static bool
ke_unreached(const struct ke_result *k)
{
    return (k->status == KE_CONNECT_TIMEOUT || k->status == KE_LOCAL_ERROR) &&
           k->connect_time < 0;
}

static void
blame(char *detail, const char *why)
{
    char orig[RESULT_DETAIL_MAX];

    snprintf(orig, sizeof(orig), "%s", detail);
    snprintf(detail, RESULT_DETAIL_MAX, "%s%.*s", why,
             (int)(RESULT_DETAIL_MAX - 1 - strlen(why)), orig);
}

/* SCORING.md rule 1: failures the self-check blames on the monitor become
   local_error, keeping what was seen. */
static void
rewrite(const struct sch *s, struct probe_result *r, bool from_resolver, double now)
{
    static const char rdown[] = "monitor resolver down: ", ndown[] = "monitor network down: ";

    if (resolver_down(s, now)) {
        if (from_resolver && r->ke.status == KE_DNS_FAILED) {
            r->ke.status = KE_LOCAL_ERROR;
            blame(r->ke.detail, rdown);
        }
        for (int i = 0; i < r->n_ntp && i < RESULT_NTP_EXCHANGES; i++) {
            if (r->ntp[i].status == NTP_DNS_FAILED) {
                r->ntp[i].status = NTP_LOCAL_ERROR;
                blame(r->ntp[i].detail, rdown);
            }
        }
    }
    if (r->ke.status == KE_CONNECT_TIMEOUT && network_down(s, now)) {
        r->ke.status = KE_LOCAL_ERROR;
        blame(r->ke.detail, ndown);
    }
}

/* ---- reporting ---- */

static void
emit(struct sch *s, struct src *src, enum sch_kind kind, enum sch_event_type type,
     const struct probe_result *res, int64_t t, double lag, double duration)
{
    struct sch_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.source = src->id;
    ev.kind = kind;
    ev.res = res;
    ev.time = t;
    ev.interval = s->cfg.interval;
    ev.codepoints = src->cp;
    ev.lag = lag;
    ev.duration = duration;
    s->sink(&ev, s->arg);
}

static void
run_unlink(struct sch *s, struct run *run)
{
    if (run->prev)
        run->prev->next = run->next;
    else
        s->runs = run->next;
    if (run->next)
        run->next->prev = run->prev;
}

/* The round of sl is over: free its place (the report comes after). */
static void
slot_done(struct slot *sl)
{
    struct sch *s = sl->src->s;

    if (sl->run) {
        run_unlink(s, sl->run);
        free(sl->run);
        sl->run = NULL;
    }
    if (sl->state == SL_RESOLVING || sl->state == SL_RUNNING) {
        s->in_flight--;
        kick(s);
    }
    sl->state = sl->timer ? SL_IDLE : SL_OFF;
}

/* A result without a probe: resolution failed, no public address, no memory. */
static void
report_synthetic(struct slot *sl, enum ke_status st, const char *detail, bool from_resolver)
{
    struct src *src = sl->src;
    struct sch *s = src->s;
    struct run *run = sl->run;
    struct probe_result res;
    double now = mono(), lag = run->started - run->due, dur = now - run->started;

    result_probe_init(&res);
    res.kind = kind_is_pool(sl->kind) ? PROBE_KIND_POOL : PROBE_KIND_NTS;
    res.family = kind_family(sl->kind);
    snprintf(res.host, sizeof(res.host), "%s", src->host);
    res.port = src->port;
    res.start_time = run->start_wall;
    res.start_time_frac = run->start_frac;
    res.ke.status = st;
    res.ke.duration = dur;
    result_detail(res.ke.detail, "%s", detail);
    res.n_ntp = RESULT_NTP_EXCHANGES;
    rewrite(s, &res, from_resolver, now);
    slot_done(sl);
    emit(s, src, sl->kind, SCH_EV_RESULT, &res, res.start_time, lag, dur);
}

/* ---- probing ---- */

static void on_probe(const struct probe_result *r, void *arg);

static int
launch(struct slot *sl)
{
    struct src *src = sl->src;
    struct sch *s = src->s;
    struct run *run = sl->run;
    struct probe_target t;

    memset(&t, 0, sizeof(t));
    t.host = src->host;
    t.port = src->port;
    t.addr = &run->addr.sa;
    t.addrlen = run->addrlen;
    t.kind = kind_is_pool(sl->kind) ? PROBE_KIND_POOL : PROBE_KIND_NTS;
    memcpy(t.aeads, run->aeads, sizeof(run->aeads));
    t.naeads = NROTATION;
    if (t.kind == PROBE_KIND_POOL) {
        t.token = src->token;
        t.experimental = run->cp == SCH_CP_EXPERIMENTAL;
    } else if (src->uuid[0]) {
        t.token = src->token;
        t.uuid = src->uuid;
    }
    t.ke_timeout_ms = s->cfg.ke_timeout_ms;
    t.ntp_timeout_ms = s->cfg.ntp_timeout_ms;
    t.cookies_min = COOKIES_MIN;
    t.cookies_max = COOKIES_MAX;
    run->tls = s->tls;
    run->probe = probe_start(s->base, s->dns, s->tls, &t, on_probe, sl);
    return run->probe ? 0 : -1;
}

/* The addresses are known (or their lookup failed): probe one, or report. */
static void
proceed(struct slot *sl)
{
    struct src *src = sl->src;
    struct sch *s = src->s;
    struct run *run = sl->run;
    int fam = kind_family(sl->kind) == 6 ? AF_INET6 : AF_INET;
    size_t nfam = 0, npub = 0, pick;

    if (src->dns_error) {
        char d[RESULT_NAME_MAX + sizeof(src->dns_detail) + 2];

        snprintf(d, sizeof(d), "%s: %s", src->host, src->dns_detail);
        report_synthetic(sl, dns_error_is_local(src->dns_error) ? KE_LOCAL_ERROR
                                                                : KE_DNS_FAILED,
                         d, dns_counts(src->dns_error));
        return;
    }
    for (size_t i = 0; i < src->naddrs; i++) {
        if (src->addrs[i].sa.sa_family != fam)
            continue;
        nfam++;
        npub += s->cfg.allow_private || !dns_addr_is_private(&src->addrs[i].sa);
    }
    if (nfam == 0) {
        slot_done(sl);
        emit(s, src, sl->kind, SCH_EV_NOT_APPLICABLE, NULL, (int64_t)time(NULL), 0, 0);
        return;
    }
    if (npub == 0) {
        report_synthetic(sl, KE_DNS_FAILED,
                         "resolves only to private addresses (allow_private = no)", false);
        return;
    }
    pick = sl->addr_ctr++ % npub;
    for (size_t i = 0; i < src->naddrs; i++) {
        const union addr *a = &src->addrs[i];

        if (a->sa.sa_family != fam || (!s->cfg.allow_private && dns_addr_is_private(&a->sa)))
            continue;
        if (pick-- == 0) {
            run->addr = *a;
            run->addrlen = fam == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
            break;
        }
    }
    for (size_t i = 0; i < NROTATION; i++)
        run->aeads[i] = rotation[(sl->aead_ctr + i) % NROTATION];
    sl->aead_ctr++;
    run->cp = SCH_CP_AUTO;
    if (kind_is_pool(sl->kind)) {
        run->cp = s->cfg.codepoints != SCH_CP_AUTO ? s->cfg.codepoints
                  : src->cp != SCH_CP_AUTO         ? src->cp
                                                   : SCH_CP_PERMANENT;
    }
    sl->state = SL_RUNNING;
    if (launch(sl) != 0)
        report_synthetic(sl, KE_LOCAL_ERROR, "cannot start the probe: out of memory", false);
}

/* Hand the answer to every kind of src waiting for it.  The sink may remove
   src or some of its kinds on the way: each slot is checked again. */
static void
dispatch(struct src *src)
{
    for (int k = 0; k < SCH_KINDS && !src->removed; k++)
        if (src->slot[k].state == SL_RESOLVING)
            proceed(&src->slot[k]);
}

static void
on_resolved(const struct dns_result *r, void *arg)
{
    struct src *src = arg;
    struct sch *s = src->s;
    double now = mono();

    src->dreq = NULL;
    src->resolving = false;
    src->dns_error = r->error;
    snprintf(src->dns_detail, sizeof(src->dns_detail), "%s", r->detail);
    if (r->error == 0) {
        union addr *a = calloc(r->n ? r->n : 1, sizeof(*a));

        if (a) {
            for (size_t i = 0; i < r->n; i++)
                memcpy(&a[i], &r->addr[i],
                       r->addrlen[i] < sizeof(*a) ? r->addrlen[i] : sizeof(*a));
            free(src->addrs);
            src->addrs = a;
            src->naddrs = r->n;
            src->resolved_at = now;
        } else {
            src->dns_error = EVUTIL_EAI_MEMORY;
            snprintf(src->dns_detail, sizeof(src->dns_detail), "out of memory");
        }
        s->dns_h.ok = now;
    } else if (dns_counts(r->error)) {
        hr_fail(&s->dns_h, src->id, now);
    }
    if (src->in_resolve)
        return;                 /* answered at once: resolve() dispatches */
    hold(src);
    dispatch(src);
    release(src);
}

static void
resolve(struct src *src)
{
    struct dns_req *req;

    src->resolving = true;
    src->in_resolve = true;
    req = dns_resolve(src->s->dns, src->host, src->port, 0, on_resolved, src);
    src->in_resolve = false;
    if (src->resolving)
        src->dreq = req;
    else
        dispatch(src);
}

/* Start the round of sl (a place is free; src is held by the caller). */
static void
start(struct slot *sl, double now)
{
    struct src *src = sl->src;
    struct sch *s = src->s;
    struct run *run = calloc(1, sizeof(*run));
    struct timespec wall;

    sl->state = SL_RESOLVING;
    s->in_flight++;
    if (!run) {
        /* Nothing to report with (no start time): the round is lost. */
        slot_done(sl);
        return;
    }
    sl->run = run;
    run->next = s->runs;
    if (s->runs)
        s->runs->prev = run;
    s->runs = run;
    run->due = sl->round_due;
    run->started = now;
    clock_gettime(CLOCK_REALTIME, &wall);
    run->start_wall = wall.tv_sec;
    run->start_frac = (double)wall.tv_nsec / 1e9;
    if (src->resolved_at > NEVER && now - src->resolved_at < s->cfg.interval) {
        src->dns_error = 0;
        proceed(sl);
    } else if (!src->resolving) {
        resolve(src);
    }
}

/* A server answers pool records in the set it was sent when it said
   anything about them: capabilities, keys, or a rejected token. */
static bool
answered_set(const struct probe_result *r)
{
    return r->ke.status == KE_OK || r->ke.status == KE_TOKEN_REJECTED ||
           r->ke.n_supported_aeads >= 0;
}

static void
on_probe(const struct probe_result *r, void *arg)
{
    struct slot *sl = arg;
    struct src *src = sl->src;
    struct sch *s = src->s;
    struct run *run = sl->run;
    struct probe_result res;
    double now = mono(), lag, dur;
    bool learnt = false;
    unsigned gen;

    run->probe = NULL;
    if (ke_unreached(&r->ke))
        hr_fail(&s->net_h, src->id, now);
    else if (r->ke.status != KE_NOT_ATTEMPTED)
        s->net_h.ok = now;

    if (kind_is_pool(sl->kind) && s->cfg.codepoints == SCH_CP_AUTO) {
        if (r->ke.status == KE_POOL_UNSUPPORTED && !run->retried) {
            /* The same address with the other set, still one probe at once. */
            run->retried = true;
            run->cp = run->cp == SCH_CP_EXPERIMENTAL ? SCH_CP_PERMANENT
                                                     : SCH_CP_EXPERIMENTAL;
            if (launch(sl) == 0)
                return;
        } else if (answered_set(r) && src->cp != run->cp) {
            src->cp = run->cp;
            learnt = true;
        }
    }
    res = *r;
    rewrite(s, &res, false, now);
    lag = run->started - run->due;
    dur = now - run->started;
    hold(src);
    slot_done(sl);
    gen = sl->gen;
    if (learnt)
        emit(s, src, sl->kind, SCH_EV_CODEPOINTS, NULL, (int64_t)time(NULL), 0, 0);
    if (!src->removed && sl->gen == gen)
        emit(s, src, sl->kind, SCH_EV_RESULT, &res, res.start_time, lag, dur);
    release(src);
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
    double now = mono(), due = sl->due;
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
    hold(src);
    start(sl, now);
    release(src);
}

static void
on_pump(evutil_socket_t fd, short what, void *arg)
{
    struct sch *s = arg;
    double now = mono();

    (void)fd;
    (void)what;
    /* Bounded: each turn takes one slot off the queue. */
    while (s->qhead && s->in_flight < s->cfg.max_in_flight) {
        struct slot *sl = s->qhead;
        struct src *src = sl->src;

        queue_unlink(s, sl);
        hold(src);
        start(sl, now);
        release(src);
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
        slot_done(sl);
        break;
    case SL_RESOLVING:
        slot_done(sl);
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

/* No kind waits for the resolution in flight any more: drop it. */
static void
dns_unneeded(struct src *src)
{
    for (int k = 0; k < SCH_KINDS; k++)
        if (src->slot[k].state == SL_RESOLVING)
            return;
    if (src->dreq)
        dns_cancel(src->dreq);
    src->dreq = NULL;
    src->resolving = false;
}

static void
src_kill(struct sch *s, struct src *src)
{
    unlink_src(s, src);
    for (int k = 0; k < SCH_KINDS; k++)
        slot_disable(&src->slot[k]);
    dns_unneeded(src);
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
    for (int i = 0; i < HEALTH_RING; i++)
        s->dns_h.t[i] = s->net_h.t[i] = NEVER;
    s->dns_h.ok = s->net_h.ok = NEVER;
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
    double now = mono();

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
    kick(s);
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
    double now = mono();
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
                    slot_done(sl);
                    queue_push(s, sl, true);
                }
            }
            kick(s);
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
    dns_unneeded(src);
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
    double now = mono();
    int n;

    memset(out, 0, sizeof(*out));
    out->in_flight = s->in_flight;
    out->queued = s->nqueued;
    out->sources = s->nsources;
    if ((n = hr_failing(&s->dns_h, now)) >= SCH_HEALTH_SOURCES) {
        out->health = SCH_HEALTH_RESOLVER_DOWN;
        snprintf(out->health_detail, sizeof(out->health_detail),
                 "name resolution of %d sources failed within %d s, none succeeded", n,
                 SCH_HEALTH_WINDOW);
    } else if ((n = hr_failing(&s->net_h, now)) >= SCH_HEALTH_SOURCES) {
        out->health = SCH_HEALTH_NETWORK_DOWN;
        snprintf(out->health_detail, sizeof(out->health_detail),
                 "key exchanges with %d sources found no route or timed out within %d s, "
                 "none connected", n, SCH_HEALTH_WINDOW);
    }
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
