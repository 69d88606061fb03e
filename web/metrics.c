/* metrics.c - counters and fixed-bucket histograms for /metrics.  Buckets
 * are cumulative only when rendered, so an update is one increment; labels
 * come from our own enums, never from request data, so the exposition
 * cannot grow with what clients send. */
#include "web/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#define DUR_BUCKETS 12
#define LAG_BUCKETS 10
#define DB_BUCKETS  10
#define HTTP_STATUSES 600

static const double dur_bounds[DUR_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,   0.25,   0.5,   1,    2.5,   10};
static const double lag_bounds[LAG_BUCKETS] = {0.001, 0.005, 0.01, 0.05, 0.1,
                                               0.5,   1,     5,    10,   60};
static const double db_bounds[DB_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                             0.025,  0.05,  0.1,    0.5,   1};

struct histogram {
    uint64_t bucket[DUR_BUCKETS + 1]; /* the last: +Inf only */
    uint64_t count;
    double sum;
};

struct metrics {
    uint64_t probes[METRICS_MONITORS][SCORE_KINDS][PROBE_COOKIES_SHORT + 1];
    struct histogram duration, lag, db;
    uint64_t stored, dropped;
    uint64_t http[METRICS_ROUTES][HTTP_STATUSES];
    uint64_t conn[METRICS_CONN_EVENTS];
};

struct metrics *
metrics_new(void)
{
    return calloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *m)
{
    free(m);
}

static void
observe(struct histogram *h, const double *bounds, int nb, double v)
{
    int i;

    if (!isfinite(v) || v < 0)
        v = 0;
    for (i = 0; i < nb && v > bounds[i]; i++)
        ;
    h->bucket[i]++;
    h->count++;
    h->sum += v;
}

static void
count_probe(struct metrics *m, enum metrics_monitor who, enum score_kind kind,
            enum probe_reason reason)
{
    if ((unsigned)kind < SCORE_KINDS && (unsigned)reason <= PROBE_COOKIES_SHORT)
        m->probes[who][kind][reason]++;
}

void
metrics_probe(struct metrics *m, enum score_kind kind, enum probe_reason reason,
              double duration, double lag)
{
    count_probe(m, METRICS_BUILTIN, kind, reason);
    observe(&m->duration, dur_bounds, DUR_BUCKETS, duration);
    observe(&m->lag, lag_bounds, LAG_BUCKETS, lag);
}

void
metrics_remote_probe(struct metrics *m, enum score_kind kind, enum probe_reason reason)
{
    count_probe(m, METRICS_REMOTE, kind, reason);
}

void
metrics_samples_stored(struct metrics *m, uint64_t n)
{
    m->stored += n;
}

void
metrics_samples_dropped(struct metrics *m, uint64_t n)
{
    m->dropped += n;
}

void
metrics_db_batch(struct metrics *m, double seconds)
{
    observe(&m->db, db_bounds, DB_BUCKETS, seconds);
}

void
metrics_http(struct metrics *m, enum metrics_route route, int status)
{
    if ((unsigned)route < METRICS_ROUTES && status >= 100 && status < HTTP_STATUSES)
        m->http[route][status]++;
}

void
metrics_conn(struct metrics *m, enum metrics_conn_event e)
{
    if ((unsigned)e < METRICS_CONN_EVENTS)
        m->conn[e]++;
}

const char *
metrics_route_str(enum metrics_route r)
{
    switch (r) {
    case METRICS_ROUTE_OTHER: return "other";
    case METRICS_ROUTE_SOURCES: return "/api/v1/time-sources";
    case METRICS_ROUTE_SOURCE: return "/api/v1/time-sources/{id}";
    case METRICS_ROUTE_REKEY: return "/api/v1/time-sources/{id}/rekey";
    case METRICS_ROUTE_SAMPLES: return "/api/v1/time-sources/{id}/samples";
    case METRICS_ROUTE_SCORES: return "/api/v1/time-sources/{id}/scores";
    case METRICS_ROUTE_COMPAT_JSON: return "/scores/{host}/json";
    case METRICS_ROUTE_COMPAT_LOG: return "/scores/{host}/log";
    case METRICS_ROUTE_METRICS: return "/metrics";
    case METRICS_ROUTE_HEALTHZ: return "/healthz";
    case METRICS_ROUTE_ALERTS: return "/api/v1/account/alerts";
    case METRICS_ROUTE_GET_WORK: return "/monitoring/get_work";
    case METRICS_ROUTE_SUBMIT: return "/monitoring/submit";
    case METRICS_ROUTE_PAGE: return "page";
    }
    return "other";
}

static void
render_histogram(struct evbuffer *out, const char *name, const char *help,
                 const struct histogram *h, const double *bounds, int nb)
{
    uint64_t cum = 0;

    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (int i = 0; i < nb; i++) {
        cum += h->bucket[i];
        evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
                            (unsigned long long)cum);
    }
    cum += h->bucket[nb];
    evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n",
                        name, (unsigned long long)cum, name, h->sum, name,
                        (unsigned long long)h->count);
}

int
metrics_render(const struct metrics *m, const struct metrics_gauges *g,
               struct evbuffer *out)
{
    evbuffer_add_printf(out, "# HELP ntspool_probes_total Probes finished, by kind, the "
                             "scoring reason of their sample and the monitor (builtin, or "
                             "remote: stored from the monitor API).\n"
                             "# TYPE ntspool_probes_total counter\n");
    for (int w = 0; w < METRICS_MONITORS; w++)
        for (int k = 0; k < SCORE_KINDS; k++)
            for (int r = 0; r <= PROBE_COOKIES_SHORT; r++)
                if (m->probes[w][k][r])
                    evbuffer_add_printf(out,
                                        "ntspool_probes_total{kind=\"%s\",reason=\"%s\","
                                        "monitor=\"%s\"} %llu\n",
                                        score_kind_str((enum score_kind)k),
                                        result_probe_reason_str((enum probe_reason)r),
                                        w == METRICS_BUILTIN ? "builtin" : "remote",
                                        (unsigned long long)m->probes[w][k][r]);
    render_histogram(out, "ntspool_probe_duration_seconds",
                     "Time from a probe's start to its result.", &m->duration, dur_bounds,
                     DUR_BUCKETS);
    evbuffer_add_printf(out,
                        "# HELP ntspool_probes_in_flight Probes running now.\n"
                        "# TYPE ntspool_probes_in_flight gauge\n"
                        "ntspool_probes_in_flight %d\n"
                        "# HELP ntspool_probes_queued Probes due and waiting for a "
                        "free slot (max_in_flight).\n"
                        "# TYPE ntspool_probes_queued gauge\n"
                        "ntspool_probes_queued %d\n",
                        g->probes_in_flight, g->probes_queued);
    render_histogram(out, "ntspool_scheduler_lag_seconds",
                     "Time from a probe's due time to its start.", &m->lag, lag_bounds,
                     LAG_BUCKETS);
    evbuffer_add_printf(out,
                        "# HELP ntspool_samples_stored_total Samples written to the "
                        "database.\n"
                        "# TYPE ntspool_samples_stored_total counter\n"
                        "ntspool_samples_stored_total %llu\n"
                        "# HELP ntspool_samples_dropped_total Results dropped because "
                        "the write queue was full.\n"
                        "# TYPE ntspool_samples_dropped_total counter\n"
                        "ntspool_samples_dropped_total %llu\n"
                        "# HELP ntspool_pending_writes Results waiting for the next "
                        "database batch.\n"
                        "# TYPE ntspool_pending_writes gauge\n"
                        "ntspool_pending_writes %lld\n",
                        (unsigned long long)m->stored, (unsigned long long)m->dropped,
                        (long long)g->pending_writes);
    render_histogram(out, "ntspool_db_batch_seconds",
                     "Time to store and score one batch of samples.", &m->db, db_bounds,
                     DB_BUCKETS);
    evbuffer_add_printf(out, "# HELP ntspool_http_requests_total HTTP requests answered, "
                             "by route and status.\n"
                             "# TYPE ntspool_http_requests_total counter\n");
    for (int r = 0; r < METRICS_ROUTES; r++)
        for (int s = 100; s < HTTP_STATUSES; s++)
            if (m->http[r][s])
                evbuffer_add_printf(out,
                                    "ntspool_http_requests_total{route=\"%s\",status=\"%d\"}"
                                    " %llu\n",
                                    metrics_route_str((enum metrics_route)r), s,
                                    (unsigned long long)m->http[r][s]);
    evbuffer_add_printf(out,
                        "# HELP ntspool_http_connections HTTP connections open.\n"
                        "# TYPE ntspool_http_connections gauge\n"
                        "ntspool_http_connections %lld\n"
                        "# HELP ntspool_http_connections_refused_total Connections "
                        "closed at accept, by the limit they were over.\n"
                        "# TYPE ntspool_http_connections_refused_total counter\n"
                        "ntspool_http_connections_refused_total{limit=\"per_address\"} "
                        "%llu\n"
                        "ntspool_http_connections_refused_total{limit=\"total\"} %llu\n"
                        "# HELP ntspool_http_connections_timed_out_total Connections "
                        "closed because a request's headers or body took too long.\n"
                        "# TYPE ntspool_http_connections_timed_out_total counter\n"
                        "ntspool_http_connections_timed_out_total{phase=\"headers\"} "
                        "%llu\n"
                        "ntspool_http_connections_timed_out_total{phase=\"body\"} %llu\n",
                        (long long)g->http_connections,
                        (unsigned long long)m->conn[METRICS_CONN_REFUSED_ADDRESS],
                        (unsigned long long)m->conn[METRICS_CONN_REFUSED_TOTAL],
                        (unsigned long long)m->conn[METRICS_CONN_HEADER_TIMEOUT],
                        (unsigned long long)m->conn[METRICS_CONN_BODY_TIMEOUT]);
    evbuffer_add_printf(out,
                        "# HELP ntspool_db_size_bytes Size of the database file and its "
                        "write-ahead log.\n"
                        "# TYPE ntspool_db_size_bytes gauge\n"
                        "ntspool_db_size_bytes{file=\"main\"} %lld\n"
                        "ntspool_db_size_bytes{file=\"wal\"} %lld\n"
                        "# HELP ntspool_time_sources Active time sources.\n"
                        "# TYPE ntspool_time_sources gauge\n"
                        "ntspool_time_sources %lld\n"
                        "# HELP ntspool_monitor_healthy 1 when the monitor's own clock "
                        "and network are fine.\n"
                        "# TYPE ntspool_monitor_healthy gauge\n"
                        "ntspool_monitor_healthy %d\n"
                        "# HELP ntspool_history_cache_total Score history requests "
                        "answered from the cache (hit) or read (miss).\n"
                        "# TYPE ntspool_history_cache_total counter\n"
                        "ntspool_history_cache_total{result=\"hit\"} %llu\n"
                        "ntspool_history_cache_total{result=\"miss\"} %llu\n",
                        (long long)g->db_main_bytes, (long long)g->db_wal_bytes,
                        (long long)g->sources, g->healthy,
                        (unsigned long long)g->history_hits,
                        (unsigned long long)g->history_misses);
    return 0;
}
