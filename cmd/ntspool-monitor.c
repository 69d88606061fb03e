/* ntspool-monitor - the remote monitor agent (PRODUCT.md): pulls its work
 * list from a service (ntspoold, or the existing NTS pool: MONITOR-API.md),
 * probes with the scheduler the built-in monitor uses (monitor/sched.c),
 * and submits the results in batches; what cannot be delivered waits in a
 * bounded on-disk spool and is re-sent, oldest first, with backoff.
 *
 * One libevent loop runs everything: the probes, libcurl's transfers
 * (util/curlev), the timers.  The work list maps to scheduler sources: one
 * per (uuid, direct) with the Srv/Nts and Pool kinds, one per (uuid, through
 * poolke) with the Ipv4/Ipv6 kinds; ids stay the same across re-fetches, so
 * an unchanged item keeps its timing, a new one is spread over the probe
 * interval, a removed one stops.
 *
 * Delivery order: a batch goes straight to the service only while nothing
 * waits in the spool; it reserves its place in the spool's order first, so
 * a failed delivery is spooled before any batch spooled meanwhile. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <jansson.h>

#include "monitor/clockcheck.h"
#include "monitor/sched.h"
#include "monitor/tlsctx.h"
#include "util/config.h"
#include "util/curlev.h"
#include "util/log.h"
#include "util/spool.h"
#include "util/util.h"
#include "web/monwire.h"
#include "web/monwork.h"

#include "cmd/ntspool-monitor/mon.h"

static double
jitter(double s)
{
    /* +-25%, spreading the retries of many agents after an outage. */
    return s * (0.75 + 0.5 * ((double)random() / RAND_MAX));
}

static void
arm(struct event *ev, double s)
{
    struct timeval tv;

    if (s < 0)
        s = 0;
    tv.tv_sec = (time_t)s;
    tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
    evtimer_add(ev, &tv);
}

static void
log_stats(struct mon *m, bool final)
{
    char line[512];

    snprintf(line, sizeof(line),
             "stats: results %llu (samples %llu, not applicable %llu), delivered %llu "
             "(stored %llu, duplicate %llu, refused %llu), spooled %llu in %zu batches, "
             "dropped %llu, lost %llu",
             (unsigned long long)m->n_results, (unsigned long long)m->n_samples,
             (unsigned long long)m->n_na, (unsigned long long)m->n_delivered,
             (unsigned long long)m->n_stored, (unsigned long long)m->n_duplicate,
             (unsigned long long)m->n_refused,
             (unsigned long long)(m->spool ? spool_results(m->spool) : 0),
             m->spool ? spool_batches(m->spool) : (size_t)0,
             (unsigned long long)(m->spool ? spool_dropped(m->spool) : 0),
             (unsigned long long)m->n_lost);
    if (final)
        log_warn("%s", line);
    else
        log_info("%s", line);
}

/* Say so when the spool dropped results since we last looked. */
static void
note_drops(struct mon *m)
{
    uint64_t d = spool_dropped(m->spool);

    if (d > m->dropped_logged) {
        log_warn("spool: full (spool_max %ld): %llu oldest results dropped, %llu in all",
                 m->cfg.spool_max, (unsigned long long)(d - m->dropped_logged),
                 (unsigned long long)d);
        m->dropped_logged = d;
    }
}

/* ---- delivery ------------------------------------------------------------------- */

static void kick_sender(struct mon *m);

static void
keep(struct mon *m, uint64_t seq, const char *data, size_t len, size_t n)
{
    if (spool_put_at(m->spool, seq, data, len, n) != 0) {
        m->n_lost += n;
        log_err("spool: %zu results lost (they could not be written)", n);
    }
    note_drops(m);
}

/* At debug level, each result of the batch the service acknowledged, with its
   outcome (res: the answer's "results"; none from the existing pool). */
static void
log_acked(struct mon *m, json_t *res)
{
    json_t *sent = json_loadb(m->sending, m->sending_len, 0, NULL);

    for (size_t i = 0; i < json_array_size(sent); i++) {
        const char *kind, *uuid, *st = json_string_value(
                                      json_object_get(json_array_get(res, i), "status"));
        int64_t t;
        if (monwire_entry_id(json_array_get(sent, i), &kind, &uuid, &t) == 0)
            log_debug("submit: acknowledged %s %s %lld: %s", kind, uuid, (long long)t,
                      st ? st : res ? "?" : "stored");
    }
    json_decref(sent);
}

static void
summarize(struct mon *m, const char *body, size_t len)
{
    json_t *j = json_loadb(body, len, 0, NULL), *res = json_object_get(j, "results");
    const char *why = NULL;
    json_int_t st = 0, dup = 0, ref = 0;

    if (log_threshold >= LOG_LEVEL_DEBUG)
        log_acked(m, json_is_array(res) ? res : NULL);

    if (json_is_object(j)) {
        json_unpack(j, "{s?I,s?I,s?I}", "stored", &st, "duplicate", &dup, "refused", &ref);
        for (size_t i = 0; i < json_array_size(res) && !why; i++) {
            json_t *o = json_array_get(res, i);
            if (json_is_string(json_object_get(o, "reason")))
                why = json_string_value(json_object_get(o, "reason"));
        }
        if (ref > 0)
            log_warn("submit: %lld of the batch refused (e.g. %s)", (long long)ref,
                     why ? why : "?");
    } else {
        st = (json_int_t)m->sending_n; /* the existing pool answers without a body */
    }
    m->n_stored += (uint64_t)(st > 0 ? st : 0);
    m->n_duplicate += (uint64_t)(dup > 0 ? dup : 0);
    m->n_refused += (uint64_t)(ref > 0 ? ref : 0);
    json_decref(j);
}

static void
sending_done(struct mon *m)
{
    free(m->sending);
    m->sending = NULL;
    m->send_req = NULL;
}

static void
on_sent(bool ok, long status, const char *body, size_t len, const char *err, void *arg)
{
    struct mon *m = arg;

    m->send_req = NULL;
    if (ok && status >= 200 && status < 300) {
        m->n_delivered += m->sending_n;
        summarize(m, body, len);
        if (m->sending_spooled)
            spool_pop(m->spool);
        if (m->send_failing)
            log_warn("submit: delivering again");
        m->send_failing = false;
        m->send_backoff = 0;
        sending_done(m);
        kick_sender(m);
        return;
    }
    if (ok && (status == 400 || status == 413)) {
        /* The service will never take this batch: keeping it would stop
           every later one.  Counted and logged, never silent. */
        log_err("submit: the service refused a batch of %zu results (HTTP %ld): dropped",
                m->sending_n, status);
        m->n_lost += m->sending_n;
        if (m->sending_spooled)
            spool_pop(m->spool);
        sending_done(m);
        kick_sender(m);
        return;
    }
    if (!m->send_failing) {
        if (ok)
            log_warn("submit: HTTP %ld; keeping the results and retrying", status);
        else
            log_warn("submit: %s; keeping the results and retrying", err);
    }
    m->send_failing = true;
    if (!m->sending_spooled)
        keep(m, m->sending_seq, m->sending, m->sending_len, m->sending_n);
    sending_done(m);
    m->send_backoff = m->send_backoff ? fmin(m->send_backoff * 2, BACKOFF_MAX) : BACKOFF_MIN;
    arm(m->send_ev, jitter(m->send_backoff));
}

static int
send_batch(struct mon *m)
{
    struct curlev_opts o = {.ca_file = m->cfg.service_ca_file[0] ? m->cfg.service_ca_file
                                                                 : NULL,
                            .bearer = m->key,
                            .timeout_ms = SEND_TIMEOUT_MS,
                            .max_body = SEND_MAX_ANSWER};

    m->send_req = curlev_post(m->http, m->endpoint, &o, m->sending, m->sending_len, on_sent,
                              m);
    return m->send_req ? 0 : -1;
}

/* Send the oldest spooled batch, unless a send runs or waits for its retry. */
static void
kick_sender(struct mon *m)
{
    size_t n = 0;
    int rc;

    if (m->stopping || m->send_req || !m->endpoint[0] || evtimer_pending(m->send_ev, NULL))
        return;
    while ((rc = spool_peek(m->spool, &m->sending, &m->sending_len, &n)) < 0)
        note_drops(m);
    if (rc == 0)
        return;
    m->sending_n = n;
    m->sending_spooled = true;
    if (send_batch(m) != 0) {
        sending_done(m);
        arm(m->send_ev, BACKOFF_MAX);
    }
}

static void
on_send_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    kick_sender(arg);
}

/* The batch collected so far: straight to the service when nothing is
   waiting before it, else into the spool. */
static void
flush(struct mon *m, bool to_spool)
{
    size_t n = json_array_size(m->batch);
    char *s;

    evtimer_del(m->flush_ev);
    if (n == 0)
        return;
    s = json_dumps(m->batch, JSON_COMPACT);
    json_array_clear(m->batch);
    if (!s) {
        m->n_lost += n;
        log_err("submit: out of memory: %zu results lost", n);
        return;
    }
    if (!to_spool && !m->send_req && spool_batches(m->spool) == 0 &&
        !evtimer_pending(m->send_ev, NULL)) {
        m->sending = s;
        m->sending_len = strlen(s);
        m->sending_n = n;
        m->sending_spooled = false;
        m->sending_seq = spool_reserve(m->spool);
        if (send_batch(m) == 0)
            return;
        m->sending = NULL;
        keep(m, m->sending_seq, s, strlen(s), n);
    } else {
        keep(m, spool_reserve(m->spool), s, strlen(s), n);
    }
    free(s);
    kick_sender(m);
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg, false);
}

/* ---- the scheduler's sink ------------------------------------------------------- */

static int
cmp_id(const void *a, const void *b)
{
    const struct monwork_ent *x = *(struct monwork_ent *const *)a, *y = *(struct monwork_ent *const *)b;

    return x->id < y->id ? -1 : x->id > y->id;
}

static struct monwork_ent *
ent_by_id(struct mon *m, int64_t id)
{
    struct monwork_ent key, *kp = &key, **found;

    key.id = id;
    found = bsearch(&kp, m->by_id, m->nents, sizeof(*m->by_id), cmp_id);
    return found ? *found : NULL;
}

static void
on_event(const struct sch_event *ev, void *arg)
{
    struct mon *m = arg;
    struct monwork_ent *e = ent_by_id(m, ev->source);
    json_t *j = NULL;

    if (!e || m->stopping || !e->name[ev->kind][0])
        return;
    if (ev->type == SCH_EV_RESULT) {
        double ce = !m->cfg.clock_check ? -1 : m->clock_error;
        j = monwire_result_json(e->name[ev->kind], e->uuid, ev->res, ce);
        m->n_samples++;
        log_debug("probe %s %s: %s %s", e->name[ev->kind], e->uuid,
                  result_ke_status_str(ev->res->ke.status),
                  result_ntp_status_str(ev->res->ntp[0].status));
    } else if (ev->type == SCH_EV_NOT_APPLICABLE) {
        j = monwire_na_json(e->name[ev->kind], e->uuid,
                            ev->kind == SCH_NTS_V6 || ev->kind == SCH_POOL_V6 ? 6 : 4,
                            ev->time);
        m->n_na++;
    } else {
        return; /* code points: the scheduler remembers them itself */
    }
    m->n_results++;
    if (!j || json_array_append_new(m->batch, j) != 0) {
        m->n_lost++;
        log_err("submit: out of memory: a result lost");
        return;
    }
    if ((int)json_array_size(m->batch) >= m->batchsize)
        flush(m, false);
    else if (!evtimer_pending(m->flush_ev, NULL))
        arm(m->flush_ev, m->waittime);
}

/* ---- the work list -------------------------------------------------------------- */

static void
log_unknown(struct mon *m, const char *kind)
{
    for (int i = 0; i < m->nunknown; i++)
        if (strcmp(m->unknown[i], kind) == 0)
            return;
    log_warn("work: kind %s is unknown here: its items are skipped", kind);
    if (m->nunknown < UNKNOWN_LOGGED)
        snprintf(m->unknown[m->nunknown++], MONWIRE_NAME_MAX, "%s", kind);
}

static int
apply_work(struct mon *m, const struct monwire_work *w)
{
    struct monwork_ent *v;
    struct monwork_ent **by_id;
    size_t n = 0, added = 0, removed = 0, skipped = 0;
    struct sch_config sc;

    memset(&sc, 0, sizeof(sc));
    sc.interval = (int)lround(w->probe_interval) > 0 ? (int)lround(w->probe_interval) : 1;
    sc.ke_timeout_ms = (int)lround(w->nts_timeout * 1000);
    sc.ntp_timeout_ms = (int)lround(w->ntp_timeout * 1000);
    sc.max_in_flight = MAX_IN_FLIGHT;
    mon_sch_options(&m->cfg, &sc);
    if (!m->sch) {
        m->sch = sch_new(m->base, m->dns, m->tls, &sc, on_event, m);
        if (!m->sch)
            return -1;
    } else if (memcmp(&sc, &m->sc, sizeof(sc)) != 0) {
        sch_set_config(m->sch, &sc);
    }
    m->sc = sc;
    if (w->unknown)
        log_unknown(m, w->unknown_kind);
    if (w->bad)
        log_warn("work: %zu malformed items skipped", w->bad);
    if (!(v = monwork_build(w, m->key, &n, &skipped)))
        return -1;
    if (skipped)
        log_warn("work: %zu Ipv4/Ipv6 items but no poolke: skipped", skipped);
    by_id = calloc(n ? n : 1, sizeof(*by_id));
    if (!by_id) {
        free(v);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct monwork_ent *old = m->ents ? bsearch(&v[i], m->ents, m->nents, sizeof(*v), monwork_cmp)
                                  : NULL;
        struct sch_source ss;

        v[i].id = old ? old->id : ++m->next_id;
        added += !old;
        memset(&ss, 0, sizeof(ss));
        ss.id = v[i].id;
        snprintf(ss.host, sizeof(ss.host), "%s", v[i].host);
        ss.port = v[i].port;
        ss.kinds = v[i].kinds;
        snprintf(ss.token, sizeof(ss.token), "%s", v[i].token);
        if (v[i].via)
            snprintf(ss.uuid, sizeof(ss.uuid), "%s", v[i].uuid);
        if (sch_source_put(m->sch, &ss, SCH_START_SPREAD) != 0)
            log_warn("work: cannot schedule %s (%s:%u)", v[i].uuid, v[i].host, v[i].port);
        util_wipe(ss.token, sizeof(ss.token));
        by_id[i] = &v[i];
    }
    for (size_t i = 0; i < m->nents; i++) {
        if (!bsearch(&m->ents[i], v, n, sizeof(*v), monwork_cmp)) {
            sch_source_remove(m->sch, m->ents[i].id);
            removed++;
        }
        util_wipe(m->ents[i].token, sizeof(m->ents[i].token));
    }
    qsort(by_id, n, sizeof(*by_id), cmp_id);
    free(m->ents);
    free(m->by_id);
    m->ents = v;
    m->by_id = by_id;
    m->nents = n;
    m->batchsize = w->batchsize;
    m->waittime = w->max_waittime;
    m->update_interval = w->update_interval;
    snprintf(m->endpoint, sizeof(m->endpoint), "%s", w->result_endpoint);
    log_info("work: %zu items, %zu sources (%zu new, %zu gone), probe interval %d s",
             w->n, n, added, removed, sc.interval);
    return 0;
}


static void
on_work(bool ok, long status, const char *body, size_t len, const char *err, void *arg)
{
    struct mon *m = arg;
    struct monwire_work w;
    char why[256] = "";
    json_t *j = NULL;
    json_error_t je;

    m->fetch_req = NULL;
    if (!ok)
        snprintf(why, sizeof(why), "%s", err);
    else if (status != 200)
        snprintf(why, sizeof(why), "HTTP %ld%s", status,
                 status == 401 ? " (the monitor key is not accepted)" : "");
    else if (!(j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je)))
        snprintf(why, sizeof(why), "bad JSON: %s", je.text);
    else if (monwire_work_parse(j, &w, why, sizeof(why)) != 0)
        ;
    else if (!curlev_url_ok(w.result_endpoint)) {
        snprintf(why, sizeof(why), "result_endpoint is neither https nor loopback http");
        monwire_work_free(&w);
    } else {
        int rc = apply_work(m, &w);
        monwire_work_free(&w);
        if (rc != 0)
            snprintf(why, sizeof(why), "out of memory");
    }
    json_decref(j);
    if (why[0]) {
        /* Keep the old list (if any) and retry sooner than the interval. */
        m->fetch_backoff = m->fetch_backoff ? fmin(m->fetch_backoff * 2, BACKOFF_MAX)
                                            : BACKOFF_MIN;
        if (!m->fetch_failing)
            log_warn("work: get_work failed: %s; %s, retrying", why,
                     m->have_work ? "keeping the old list" : "no work yet");
        m->fetch_failing = true;
        arm(m->fetch_ev, jitter(m->fetch_backoff));
        return;
    }
    if (m->fetch_failing)
        log_warn("work: get_work works again");
    m->fetch_failing = false;
    m->fetch_backoff = 0;
    m->have_work = true;
    arm(m->fetch_ev, m->update_interval);
    kick_sender(m);
}

void
mon_fetch(struct mon *m)
{
    struct curlev_opts o = {.ca_file = m->cfg.service_ca_file[0] ? m->cfg.service_ca_file
                                                                 : NULL,
                            .bearer = m->key,
                            .timeout_ms = FETCH_TIMEOUT_MS,
                            .max_body = (size_t)MONWIRE_MAX_WORK};

    if (m->stopping || m->fetch_req)
        return;
    m->fetch_req = curlev_get(m->http, m->work_url, &o, on_work, m);
    if (!m->fetch_req)
        arm(m->fetch_ev, BACKOFF_MAX);
}

static void
on_fetch_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    mon_fetch(arg);
}

/* ---- health, signals ------------------------------------------------------------ */

static void
on_health(evutil_socket_t fd, short what, void *arg)
{
    struct mon *m = arg;
    bool was_bad = isnan(m->clock_error);

    (void)fd;
    (void)what;
    m->clock_error = clockcheck_read(m->clock_detail, sizeof(m->clock_detail));
    if (m->cfg.clock_check && isnan(m->clock_error) != was_bad)
        log_warn("monitor: %s%s", m->clock_detail,
                 isnan(m->clock_error) ? ": the service discards our samples (rule 1)" : "");
}

static void
on_stats(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    log_stats(arg, false);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct mon *m = arg;

    (void)what;
    if (sig == SIGHUP) {
        if (!m->stopping)
            mon_reload(m);
        return;
    }
    if (m->stopping)
        return;
    log_warn("stop: signal %d: cancelling probes, spooling what is unsent", (int)sig);
    /* No more results; the batch in flight (if from memory) and the one
       being collected go to the spool, in that order. */
    sch_free(m->sch);
    m->sch = NULL;
    if (m->send_req) {
        curlev_cancel(m->send_req);
        if (!m->sending_spooled)
            keep(m, m->sending_seq, m->sending, m->sending_len, m->sending_n);
        sending_done(m);
    }
    m->stopping = true;
    flush(m, true);
    if (m->fetch_req)
        curlev_cancel(m->fetch_req);
    m->fetch_req = NULL;
    log_stats(m, true);
    event_base_loopexit(m->base, NULL);
}

/* ---- start-up ------------------------------------------------------------------- */

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: ntspool-monitor [-c FILE] [-v]\n"
            "  -c, --config FILE  configuration (INI; default %s)\n"
            "  -v, --verbose      more logging (-v info, -vv debug)\n"
            "      --syslog       log to syslog instead of stderr\n"
            "  -h, --help         this text\n"
            "      --version      the version\n"
            "Pulls its work from [monitor] url, probes, submits; SIGTERM stops it\n"
            "(unsent results are spooled); SIGHUP reloads the configuration (url,\n"
            "probe_ca_file, spool and spool_max need a restart).  See ntspool-monitor(8).\n",
            DEFAULT_CONFIG);
}

static int
run(struct mon *m)
{
    char err[512];
    int rc = 1;

    if (!curlev_url_ok(m->cfg.url)) {
        log_err("url %s: use https://, or http:// to a loopback address", m->cfg.url);
        return EXIT_CONFIG;
    }
    snprintf(m->work_url, sizeof(m->work_url), "%s%smonitoring/get_work", m->cfg.url,
             m->cfg.url[strlen(m->cfg.url) - 1] == '/' ? "" : "/");
    m->base = sch_event_base_new();
    m->batch = json_array();
    if (!m->base || !m->batch)
        goto out;
    m->dns = evdns_base_new(m->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                         EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!m->dns && (m->dns = evdns_base_new(m->base, 0)))
        evdns_base_load_hosts(m->dns, NULL);
    if (!m->dns) {
        log_err("cannot set up the resolver");
        goto out;
    }
    evdns_base_set_option(m->dns, "timeout:", "3");
    evdns_base_set_option(m->dns, "attempts:", "2");
    m->tls = tlsctx_new(m->cfg.probe_ca_file[0] ? m->cfg.probe_ca_file : NULL, false, err,
                        sizeof(err));
    if (!m->tls) {
        log_err("TLS: %s", err);
        goto out;
    }
    if (!(m->spool = spool_open(m->cfg.spool, m->cfg.spool_max, err, sizeof(err)))) {
        log_err("%s", err);
        goto out;
    }
    if (spool_batches(m->spool))
        log_warn("spool: %llu results in %zu batches from before, to deliver",
                 (unsigned long long)spool_results(m->spool), spool_batches(m->spool));
    m->http = curlev_new(m->base);
    m->fetch_ev = evtimer_new(m->base, on_fetch_timer, m);
    m->flush_ev = evtimer_new(m->base, on_flush, m);
    m->send_ev = evtimer_new(m->base, on_send_timer, m);
    m->health_ev = event_new(m->base, -1, EV_PERSIST, on_health, m);
    m->stats_ev = event_new(m->base, -1, EV_PERSIST, on_stats, m);
    m->sig_term = evsignal_new(m->base, SIGTERM, on_signal, m);
    m->sig_int = evsignal_new(m->base, SIGINT, on_signal, m);
    m->sig_hup = evsignal_new(m->base, SIGHUP, on_signal, m);
    if (!m->http || !m->fetch_ev || !m->flush_ev || !m->send_ev || !m->health_ev ||
        !m->stats_ev || !m->sig_term || !m->sig_int || !m->sig_hup ||
        evsignal_add(m->sig_term, NULL) || evsignal_add(m->sig_int, NULL) ||
        evsignal_add(m->sig_hup, NULL)) {
        log_err("cannot set up events");
        goto out;
    }
    {
        struct timeval one = {1, 0}, st = {STATS_S, 0};
        event_add(m->health_ev, &one);
        event_add(m->stats_ev, &st);
    }
    m->clock_error = clockcheck_read(m->clock_detail, sizeof(m->clock_detail));
    if (m->cfg.clock_check && isnan(m->clock_error))
        log_warn("monitor: %s: the service discards our samples (SCORING.md rule 1) until "
                 "it is synchronised; clock_check = no turns this off", m->clock_detail);
    m->batchsize = 1;
    log_warn("ntspool-monitor %s: working for %s", NTSPOOL_VERSION, m->cfg.url);
    mon_fetch(m);
    event_base_dispatch(m->base);
    rc = 0;
out:
    sch_free(m->sch);
    if (m->send_req)
        curlev_cancel(m->send_req);
    free(m->sending);
    if (m->fetch_req)
        curlev_cancel(m->fetch_req);
    curlev_free(m->http);
    spool_close(m->spool);
    tlsctx_free(m->tls);
    json_decref(m->batch);
    for (size_t i = 0; i < m->nents; i++)
        util_wipe(m->ents[i].token, sizeof(m->ents[i].token));
    free(m->ents);
    free(m->by_id);
    {
        struct event *evs[] = {m->fetch_ev, m->flush_ev,  m->send_ev, m->health_ev,
                               m->stats_ev, m->sig_term, m->sig_int, m->sig_hup};
        for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
            if (evs[i])
                event_free(evs[i]);
    }
    if (m->dns)
        evdns_base_free(m->dns, 0);
    if (m->base)
        event_base_free(m->base);
    util_wipe(m->key, sizeof(m->key));
    if (rc == 0)
        log_warn("stop: done");
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},         {"syslog", no_argument, NULL, 'S'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
    static struct mon m;
    const char *path = NULL;
    char err[CONFIG_ERR_MAX];
    int verbose = 0, opt, level;
    bool use_syslog = false;

    log_init("ntspool-monitor", LOG_LEVEL_WARN);
    while ((opt = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'v': verbose++; break;
        case 'S': use_syslog = true; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("ntspool-monitor %s\n", NTSPOOL_VERSION); return 0;
        default: usage(stderr); return EXIT_CONFIG;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return EXIT_CONFIG;
    }
    if (!path)
        path = DEFAULT_CONFIG;
    if (config_load(&m.cfg, CONFIG_MONITOR, path, err, sizeof(err)) != 0) {
        log_err("%s", err);
        return EXIT_CONFIG;
    }
    level = m.cfg.log_level + verbose;
    log_init(NULL, (enum log_level)(level > LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG : level));
    if (use_syslog)
        log_to_syslog();
    if (!m.cfg.url[0] || !m.cfg.key_file[0]) {
        log_err("%s: [monitor] url and key_file are required", path);
        return EXIT_CONFIG;
    }
    m.cfg_path = path;
    m.verbose = verbose;
    if (util_read_key(m.cfg.key_file, m.key, sizeof(m.key), err, sizeof(err)) != 0) {
        log_err("%s", err);
        return EXIT_CONFIG;
    }
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    return run(&m);
}
