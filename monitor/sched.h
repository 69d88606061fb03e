/* sched.h - the scheduler shared by ntspoold's built-in monitor and
 * ntspool-monitor (SCORING.md "Timing"): which (source, kind) is due next,
 * name resolution (at most once per interval per source, so address changes
 * are followed), the rotation of addresses and AEADs, code point detection
 * for the pool kinds, the cap on probes in flight (queued beyond it, never
 * blocking), and the monitor's network self-check (SCORING.md rule 1).
 *
 * It links neither db/ nor scorer/: every finished probe, every "no address
 * in this family" and every code point discovery is handed to the sink given
 * to sch_new(), which stores and scores it.  The clock self-check is the
 * caller's (clockcheck.h); the network self-check is here because only the
 * scheduler sees every resolution and connection. */
#ifndef NTSPOOL_MONITOR_SCHED_H
#define NTSPOOL_MONITOR_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/result.h"

struct event_base;
struct evdns_base;
struct tlsctx;
struct sch;

#define SCH_TOKEN_MAX      128 /* pool token or monitor key, NUL included */
#define SCH_UUID_MAX       40
#define SCH_NEW_DELAY_MS   1000 /* a source added at run time: first probes within */
#define SCH_JITTER         0.05 /* each next start: interval * (1 +- this), uniform */
#define SCH_HEALTH_WINDOW  60   /* s of history the network self-check looks at */
#define SCH_HEALTH_SOURCES 3    /* distinct sources that must all fail before the
                                   monitor blames itself */
#define SCH_DETAIL_MAX     160

/* Kinds, numbered as enum score_kind (a source's kinds are a bit mask). */
enum sch_kind {
    SCH_NTS_V4 = 0,
    SCH_NTS_V6 = 1,
    SCH_POOL_V4 = 2,
    SCH_POOL_V6 = 3,
};
#define SCH_KINDS     4
#define SCH_KIND_BIT(k) (1u << (k))
#define SCH_KINDS_ALL 0xfu

/* Pool record code points (NTS.md): what to send, or what a source answers to. */
enum sch_codepoints {
    SCH_CP_AUTO = 0, /* config: permanent first, experimental on pool_unsupported;
                        per source: not known yet */
    SCH_CP_PERMANENT = 1,
    SCH_CP_EXPERIMENTAL = 2,
};

struct sch_config {
    int interval;          /* s between starts of one (source, kind), >= 1 */
    int ke_timeout_ms;     /* per key exchange */
    int ntp_timeout_ms;    /* per NTP exchange */
    int max_in_flight;     /* probes at once, >= 1 */
    enum sch_codepoints codepoints;
    bool allow_private;    /* probe loopback/private/link-local addresses */
};

/* What to probe.  Copied by sch_source_put. */
struct sch_source {
    int64_t id;                    /* the caller's id, unique */
    char host[RESULT_NAME_MAX];    /* DNS name (or IP literal) */
    uint16_t port;                 /* KE port */
    unsigned kinds;                /* SCH_KIND_BIT mask; pool kinds need a token */
    char token[SCH_TOKEN_MAX];     /* pool kinds: the source's token; "" none;
                                       with uuid: the monitor key */
    char uuid[SCH_UUID_MAX];       /* "" normally.  Set: host:port is an existing
                                       pool's KE ("poolke") and the nts kinds go
                                       through it (token = the monitor key, a UUID
                                       Request for this time source, probe.h);
                                       pool kinds are not probed */
    enum sch_codepoints codepoints; /* known from before, or SCH_CP_AUTO (an
                                       update with AUTO keeps what was learnt;
                                       a new host or port forgets it) */
};

/* How sch_source_put times the first probes of a new source. */
enum sch_start {
    SCH_START_SPREAD = 0, /* uniformly over one interval (start-up, work lists) */
    SCH_START_SOON = 1,   /* within SCH_NEW_DELAY_MS (a source just registered) */
};

enum sch_event_type {
    SCH_EV_RESULT = 0,          /* a probe finished: res */
    SCH_EV_NOT_APPLICABLE = 1,  /* the name has no address of the kind's family */
    SCH_EV_CODEPOINTS = 2,      /* the source answers pool records in `codepoints`
                                   (config AUTO only: learnt when a try in that
                                   set got capabilities, keys or token_rejected
                                   and it differs from what was known); comes
                                   just before the SCH_EV_RESULT of that probe */
};

struct sch_event {
    enum sch_event_type type;
    int64_t source;
    enum sch_kind kind;
    const struct probe_result *res; /* SCH_EV_RESULT: valid during the call only.
                                       Failures the self-check blames on the
                                       monitor are already local_error (rule 1). */
    int64_t time;                   /* Unix s: the probe's start (SCH_EV_RESULT),
                                       else now */
    int interval;                   /* s: the interval the source is probed at */
    enum sch_codepoints codepoints; /* SCH_EV_CODEPOINTS */
    double lag;                     /* s from due to start (SCH_EV_RESULT): time
                                       queued behind max_in_flight, plus loop delay */
    double duration;                /* s from start to result (SCH_EV_RESULT),
                                       name resolution and a code point retry
                                       included */
};

/* Called from the event loop only (a timer, a DNS answer, a finished probe),
   never from inside an sch_* call; must not call sch_free().  It may call
   sch_source_put/remove (also for ev->source); a kind removed there gets no
   further event for the probe being reported. */
typedef void sch_sink_fn(const struct sch_event *ev, void *arg);

/* The network self-check: whether recent failures are the monitor's own. */
enum sch_health {
    SCH_HEALTH_OK = 0,
    SCH_HEALTH_RESOLVER_DOWN = 1, /* every name resolution of >= SCH_HEALTH_SOURCES
                                     sources failed within the window, none worked */
    SCH_HEALTH_NETWORK_DOWN = 2,  /* every connection attempt of >= SCH_HEALTH_SOURCES
                                     sources found no route or timed out, none
                                     connected */
};

struct sch_stats {
    int in_flight;        /* (source, kind) rounds started: resolving or probing */
    int queued;           /* due but waiting for a free slot */
    size_t sources;
    enum sch_health health;
    char health_detail[SCH_DETAIL_MAX]; /* "" when ok */
};

/* A scheduler on base.  dns resolves names; tls is borrowed (the caller keeps
   it alive until sch_set_tls replaces it or sch_free).  NULL on failure. */
/* An event base for a process that runs the scheduler: libevent's epoll
   backend with its change list, so that the interest changes one pass of
   the loop makes on a socket (a key exchange's connect event handed over to
   its TLS bufferevent, the bufferevent's own re-registrations around the
   handshake and the request) reach the kernel as one epoll_ctl, not one
   each.  Safe here: no descriptor watched by the loop is ever dup()ed.
   NULL when out of memory. */
struct event_base *sch_event_base_new(void);

struct sch *sch_new(struct event_base *base, struct evdns_base *dns, struct tlsctx *tls,
                    const struct sch_config *cfg, sch_sink_fn *sink, void *arg);

/* Cancel every probe in flight (the sink is not called) and free. NULL ok. */
void sch_free(struct sch *s);

/* Reload: the new interval applies from each (source, kind)'s next start
   (a shorter one pulls a far-off next start in), timeouts from the next probe,
   max_in_flight at once (probes beyond a lowered cap finish). */
void sch_set_config(struct sch *s, const struct sch_config *cfg);

/* Use tls (not NULL; NULL is ignored) for probes started from now on.  Returns the context that probes
   in flight may still use: the caller frees it once sch_tls_idle() says so
   (or at sch_free time).  Returns NULL when no old context remains in use. */
struct tlsctx *sch_set_tls(struct sch *s, struct tlsctx *tls);
/* True when no probe in flight uses a context other than the current one. */
bool sch_tls_idle(struct sch *s);

/* Add a source, or update one with the same id: new host or port drops the
   cached addresses; new token/kinds/codepoints apply from the next probe;
   kinds removed stop (their probes in flight are cancelled); timing of kinds
   kept is kept.  0, or -1 (out of memory, invalid source). */
int sch_source_put(struct sch *s, const struct sch_source *src, enum sch_start start);

/* Forget a source: its probes in flight are cancelled (no sink call), it is
   never probed again.  Unknown ids are ignored. */
void sch_source_remove(struct sch *s, int64_t id);

void sch_stats(struct sch *s, struct sch_stats *out);

/* "ok", "resolver_down", "network_down". */
const char *sch_health_str(enum sch_health h);

#endif
