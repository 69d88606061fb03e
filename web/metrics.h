/* metrics.h - the service's counters and histograms, rendered in the
 * Prometheus text format for /metrics (PRODUCT.md).  Plain memory updated
 * from the event loop (one thread); rendering reads the gauges it is given. */
#ifndef NTSPOOL_WEB_METRICS_H
#define NTSPOOL_WEB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "monitor/result.h"
#include "scorer/score.h"

struct evbuffer;
struct metrics;

/* HTTP routes as /metrics labels them (the pattern, never the raw path). */
enum metrics_route {
    METRICS_ROUTE_OTHER = 0, /* unknown path: 404 */
    METRICS_ROUTE_SOURCES,
    METRICS_ROUTE_SOURCE,
    METRICS_ROUTE_REKEY,
    METRICS_ROUTE_SAMPLES,
    METRICS_ROUTE_SCORES,
    METRICS_ROUTE_COMPAT_JSON,
    METRICS_ROUTE_COMPAT_LOG,
    METRICS_ROUTE_METRICS,
    METRICS_ROUTE_HEALTHZ,
    METRICS_ROUTE_ALERTS,
    METRICS_ROUTE_GET_WORK,
    METRICS_ROUTE_SUBMIT,
    METRICS_ROUTE_PAGE,
};
#define METRICS_ROUTES (METRICS_ROUTE_PAGE + 1)

/* What the connection guard did (web/conn.c). */
enum metrics_conn_event {
    METRICS_CONN_REFUSED_ADDRESS = 0, /* over max_connections_per_address */
    METRICS_CONN_REFUSED_TOTAL,       /* over max_connections */
    METRICS_CONN_HEADER_TIMEOUT,      /* closed: headers past header_timeout */
    METRICS_CONN_BODY_TIMEOUT,        /* closed: body past body_timeout */
};
#define METRICS_CONN_EVENTS (METRICS_CONN_BODY_TIMEOUT + 1)

/* Values read at render time. */
struct metrics_gauges {
    int probes_in_flight;
    int probes_queued;
    int64_t sources;
    int64_t db_main_bytes, db_wal_bytes;
    int64_t pending_writes; /* results waiting for the next batch */
    int healthy;            /* 1 ok, 0 the monitor is at fault */
    int64_t http_connections; /* open now */
    uint64_t history_hits, history_misses; /* web/histcache.h */
};

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* Who made a probe: ntspool_probes_total's "monitor" label. */
enum metrics_monitor {
    METRICS_BUILTIN = 0, /* this service's own monitor */
    METRICS_REMOTE = 1,  /* a result submitted through the monitor API */
};
#define METRICS_MONITORS (METRICS_REMOTE + 1)

/* One finished probe of the built-in monitor, counted by kind and the
   reason its sample scored (monitor_fault for a discarded one); duration
   and lag in s. */
void metrics_probe(struct metrics *m, enum score_kind kind, enum probe_reason reason,
                   double duration, double lag);
/* One result of a remote monitor stored, counted as metrics_probe counts
   (no duration or lag: the agent measured them, not us). */
void metrics_remote_probe(struct metrics *m, enum score_kind kind, enum probe_reason reason);
void metrics_samples_stored(struct metrics *m, uint64_t n);
/* Results dropped because the write queue was full (never silent). */
void metrics_samples_dropped(struct metrics *m, uint64_t n);
/* One database batch: its commit time in s. */
void metrics_db_batch(struct metrics *m, double seconds);
void metrics_http(struct metrics *m, enum metrics_route route, int status);
void metrics_conn(struct metrics *m, enum metrics_conn_event e);

/* The whole exposition into out.  0 or -1. */
int metrics_render(const struct metrics *m, const struct metrics_gauges *g,
                   struct evbuffer *out);

const char *metrics_route_str(enum metrics_route r);

#endif
