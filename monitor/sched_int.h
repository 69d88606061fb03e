/* sched_int.h - what the files of the scheduler share and nobody else sees:
 * sched.c (sources, timers, the queue, the interface), schrun.c (one round of
 * one slot: resolution, address and AEAD rotation, code point detection,
 * probing, the report) and schhealth.c (the network self-check).  See
 * sched.c for costs and lifetimes. */
#ifndef NTSPOOL_MONITOR_SCHED_INT_H
#define NTSPOOL_MONITOR_SCHED_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>

#include "monitor/sched.h"

#define HEALTH_RING 8           /* distinct failing sources remembered per class */
#define NEVER (-1e300)          /* a monotonic time before any other */
#define SCH_NROTATION 3         /* AEADs each probe offers, rotated (schrun.c) */

struct dns_req;
struct ke_result;
struct probe;
struct probe_result;

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
    uint16_t aeads[SCH_NROTATION];
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

static inline double
sch_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline bool
sch_kind_is_pool(enum sch_kind k)
{
    return k == SCH_POOL_V4 || k == SCH_POOL_V6;
}

/* Queued slots start from the pump event, so that freeing a place inside
   sch_source_remove() never calls the sink from there. */
static inline void
sch_kick(struct sch *s)
{
    if (s->qhead && s->in_flight < s->cfg.max_in_flight)
        event_active(s->pump, EV_TIMEOUT, 0);
}

/* sched.c: a callback of ours is on the stack for src (hold), or no longer:
   release frees a source removed meanwhile. */
void sch_src_hold(struct src *src);
void sch_src_release(struct src *src);

/* schrun.c.  Start the round of sl now (a place is free; src is held by the
   caller): resolve or reuse the addresses, then probe; the sink hears of it
   from the event loop. */
void schrun_start(struct slot *sl, double now);
/* The round of sl is over (or cancelled; its probe, if any, already is): free
   its place and its run. */
void schrun_done(struct slot *sl);
/* No kind of src waits for the resolution in flight any more: drop it. */
void schrun_dns_unneeded(struct src *src);

/* schhealth.c: the network self-check (SCORING.md rule 1). */
void schhealth_init(struct hring *h);
/* Source id failed (a resolution or a connection) at now. */
void schhealth_fail(struct hring *h, int64_t id, double now);
/* Distinct sources failing within SCH_HEALTH_WINDOW with no success since. */
int schhealth_failing(const struct hring *h, double now);
/* Whether a resolution's error counts as the resolver's failure. */
bool schhealth_dns_counts(int eai);
/* Whether a key exchange never reached the server. */
bool schhealth_ke_unreached(const struct ke_result *k);
/* Failures the self-check blames on the monitor become local_error. */
void schhealth_rewrite(const struct sch *s, struct probe_result *r, bool from_resolver,
                       double now);
/* out->health and out->health_detail from both rings. */
void schhealth_stats(const struct sch *s, double now, struct sch_stats *out);

#endif
