/* schrun.c - one round of one (source, kind) slot, from its start to its
 * report: one shared name resolution per source (reused for an interval),
 * the rotation of addresses and AEADs, the pool code point detection (one
 * retry in the other set on pool_unsupported), the probe, and the event to
 * the sink.  The timers and the queue that decide when a round starts are
 * sched.c's.  A round exists (struct run, on s->runs) only while started. */
#include "monitor/sched_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/util.h>

#include "monitor/aead.h"
#include "monitor/dns.h"
#include "monitor/probe.h"

#define COOKIES_MIN 1           /* cookies asked per NTP exchange, like the pool's */
#define COOKIES_MAX 3

/* The AEADs each probe offers, rotated (SCORING.md "Probe kinds"). */
static const uint16_t rotation[SCH_NROTATION] = {AEAD_AES_SIV_CMAC_256, AEAD_AES_SIV_CMAC_512,
                                                 AEAD_AES_128_GCM_SIV};

static int
kind_family(enum sch_kind k)
{
    return k == SCH_NTS_V6 || k == SCH_POOL_V6 ? 6 : 4;
}

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

void
schrun_done(struct slot *sl)
{
    struct sch *s = sl->src->s;

    if (sl->run) {
        run_unlink(s, sl->run);
        free(sl->run);
        sl->run = NULL;
    }
    if (sl->state == SL_RESOLVING || sl->state == SL_RUNNING) {
        s->in_flight--;
        sch_kick(s);
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
    double now = sch_mono(), lag = run->started - run->due, dur = now - run->started;

    result_probe_init(&res);
    res.kind = sch_kind_is_pool(sl->kind) ? PROBE_KIND_POOL : PROBE_KIND_NTS;
    res.family = kind_family(sl->kind);
    snprintf(res.host, sizeof(res.host), "%s", src->host);
    res.port = src->port;
    res.start_time = run->start_wall;
    res.start_time_frac = run->start_frac;
    res.ke.status = st;
    res.ke.duration = dur;
    result_detail(res.ke.detail, "%s", detail);
    res.n_ntp = RESULT_NTP_EXCHANGES;
    schhealth_rewrite(s, &res, from_resolver, now);
    schrun_done(sl);
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
    t.kind = sch_kind_is_pool(sl->kind) ? PROBE_KIND_POOL : PROBE_KIND_NTS;
    memcpy(t.aeads, run->aeads, sizeof(run->aeads));
    t.naeads = SCH_NROTATION;
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
                         d, schhealth_dns_counts(src->dns_error));
        return;
    }
    for (size_t i = 0; i < src->naddrs; i++) {
        if (src->addrs[i].sa.sa_family != fam)
            continue;
        nfam++;
        npub += s->cfg.allow_private || !dns_addr_is_private(&src->addrs[i].sa);
    }
    if (nfam == 0) {
        schrun_done(sl);
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
    for (size_t i = 0; i < SCH_NROTATION; i++)
        run->aeads[i] = rotation[(sl->aead_ctr + i) % SCH_NROTATION];
    sl->aead_ctr++;
    run->cp = SCH_CP_AUTO;
    if (sch_kind_is_pool(sl->kind)) {
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
    double now = sch_mono();

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
    } else if (schhealth_dns_counts(r->error)) {
        schhealth_fail(&s->dns_h, src->id, now);
    }
    if (src->in_resolve)
        return;                 /* answered at once: resolve() dispatches */
    sch_src_hold(src);
    dispatch(src);
    sch_src_release(src);
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

void
schrun_start(struct slot *sl, double now)
{
    struct src *src = sl->src;
    struct sch *s = src->s;
    struct run *run = calloc(1, sizeof(*run));
    struct timespec wall;

    sl->state = SL_RESOLVING;
    s->in_flight++;
    if (!run) {
        /* Nothing to report with (no start time): the round is lost. */
        schrun_done(sl);
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
    double now = sch_mono(), lag, dur;
    bool learnt = false;
    unsigned gen;

    run->probe = NULL;
    if (schhealth_ke_unreached(&r->ke))
        schhealth_fail(&s->net_h, src->id, now);
    else if (r->ke.status != KE_NOT_ATTEMPTED)
        s->net_h.ok = now;

    if (sch_kind_is_pool(sl->kind) && s->cfg.codepoints == SCH_CP_AUTO) {
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
    schhealth_rewrite(s, &res, false, now);
    lag = run->started - run->due;
    dur = now - run->started;
    sch_src_hold(src);
    schrun_done(sl);
    gen = sl->gen;
    if (learnt)
        emit(s, src, sl->kind, SCH_EV_CODEPOINTS, NULL, (int64_t)time(NULL), 0, 0);
    if (!src->removed && sl->gen == gen)
        emit(s, src, sl->kind, SCH_EV_RESULT, &res, res.start_time, lag, dur);
    sch_src_release(src);
}

/* ---- timers ---- */

void
schrun_dns_unneeded(struct src *src)
{
    for (int k = 0; k < SCH_KINDS; k++)
        if (src->slot[k].state == SL_RESOLVING)
            return;
    if (src->dreq)
        dns_cancel(src->dreq);
    src->dreq = NULL;
    src->resolving = false;
}
