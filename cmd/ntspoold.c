/* ntspoold - the service: web UI and JSON API, scorer, SQLite store and a
 * built-in monitor in one libevent loop (PRODUCT.md), plus the
 * administration commands that work on the same database.
 *
 * The loop never waits on the disk for long: results of the scheduler are
 * queued and stored in one short transaction per batch of FLUSH_RUN
 * (every FLUSH_MS, or soon when a batch is full, one batch per pass of the
 * loop so that requests are served in between); in WAL mode with synchronous=NORMAL a commit
 * is a write to the page cache, and the fsyncs happen in WAL checkpoints,
 * which a worker thread runs on its own connection (autocheckpoint is off
 * on the loop's connection).  Retention folds old samples in short
 * time-budgeted steps from a timer. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "db/db.h"
#include "monitor/clockcheck.h"
#include "monitor/sched.h"
#include "monitor/tlsctx.h"
#include "scorer/score.h"
#include "util/config.h"
#include "util/log.h"
#include "util/util.h"
#include "web/alerts.h"
#include "web/metrics.h"
#include "web/web.h"

#include "cmd/ntspoold/svc.h"

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: ntspoold [-c FILE] [-v] [--syslog]          run the service\n"
            "       ntspoold -c FILE --check                     validate FILE\n"
            "       ntspoold [-c FILE] user-add EMAIL [--admin]  new account; prints an "
            "API token\n"
            "       ntspoold [-c FILE] token-add EMAIL NAME      prints another API token\n"
            "       ntspoold [-c FILE] monitor-add NAME          prints a new monitor key\n"
            "\n"
            "  -c, --config FILE  configuration (INI; default %s when it exists)\n"
            "  -v, --verbose      more logging (-v info, -vv debug)\n"
            "      --syslog       log to syslog instead of stderr\n"
            "      --check        parse the configuration and exit (0 ok, 3 not)\n"
            "  -h, --help         this text\n"
            "      --version      the version\n"
            "\n"
            "Without a configuration it listens on 127.0.0.1:8080 and keeps its data in\n"
            "var/ (database var/ntspool.db, token secret var/secret).  SIGHUP reloads the\n"
            "configuration, SIGTERM and SIGINT stop it.  See ntspoold(8).\n",
            DEFAULT_CONFIG);
}

/* ---- configuration -------------------------------------------------------------- */

static int
load_config(struct config *c, const char *path)
{
    char err[CONFIG_ERR_MAX];

    if (!path) {
        config_defaults(c, CONFIG_NTSPOOLD);
        return 0;
    }
    if (config_load(c, CONFIG_NTSPOOLD, path, err, sizeof(err)) != 0) {
        log_err("%s", err);
        return -1;
    }
    return 0;
}

static void
sch_config_of(const struct config *c, struct sch_config *out)
{
    memset(out, 0, sizeof(*out));
    out->interval = c->interval;
    out->ke_timeout_ms = (int)lround(c->ke_timeout * 1000);
    out->ntp_timeout_ms = (int)lround(c->ntp_timeout * 1000);
    out->max_in_flight = c->max_in_flight;
    out->codepoints = c->codepoints == CONFIG_CP_PERMANENT      ? SCH_CP_PERMANENT
                      : c->codepoints == CONFIG_CP_EXPERIMENTAL ? SCH_CP_EXPERIMENTAL
                                                                : SCH_CP_AUTO;
    out->allow_private = c->allow_private;
}


/* ---- the scheduler's sink ------------------------------------------------------- */

static void
sanitize_result(struct probe_result *r)
{
    util_utf8_sanitize(r->host);
    util_utf8_sanitize(r->address);
    util_utf8_sanitize(r->ke.detail);
    util_utf8_sanitize(r->ke.tls_version);
    util_utf8_sanitize(r->ke.cipher);
    util_utf8_sanitize(r->ke.alpn);
    util_utf8_sanitize(r->ke.subject);
    util_utf8_sanitize(r->ke.issuer);
    util_utf8_sanitize(r->ke.ntp_server);
    for (int i = 0; i < RESULT_NTP_EXCHANGES; i++) {
        util_utf8_sanitize(r->ntp[i].detail);
        util_utf8_sanitize(r->ntp[i].address);
        util_utf8_sanitize(r->ntp[i].kiss);
    }
}

static void
on_event(const struct sch_event *ev, void *arg)
{
    struct svc *s = arg;
    struct pend *p;

    if (s->stopping)
        return;
    p = svc_queue_push(s);
    memset(p, 0, offsetof(struct pend, res));
    p->source = ev->source;
    p->kind = (enum score_kind)ev->kind;
    p->time = ev->time;
    p->interval = ev->interval;
    switch (ev->type) {
    case SCH_EV_RESULT:
        p->type = PEND_RESULT;
        p->res = *ev->res;
        sanitize_result(&p->res);
        p->clock_error = s->cfg.clock_check ? s->clock_error : 0;
        p->lag = ev->lag;
        p->duration = ev->duration;
        break;
    case SCH_EV_NOT_APPLICABLE:
        p->type = PEND_NA;
        break;
    case SCH_EV_CODEPOINTS:
        p->type = PEND_CODEPOINTS;
        p->codepoints = ev->codepoints == SCH_CP_EXPERIMENTAL ? 2 : 1;
        log_info("monitor: source %lld answers pool records in %s code points",
                 (long long)ev->source, p->codepoints == 2 ? "experimental" : "permanent");
        break;
    }
}

/* Build the scheduler's view of a source (its token derived from the secret). */
static int
sch_source_of(struct svc *s, const struct db_source *d, struct sch_source *out)
{
    char token[DB_TOKEN_LEN + 1];

    memset(out, 0, sizeof(*out));
    out->id = d->id;
    snprintf(out->host, sizeof(out->host), "%s", d->host);
    out->port = (uint16_t)d->port;
    out->kinds = SCH_KIND_BIT(SCH_NTS_V4) | SCH_KIND_BIT(SCH_NTS_V6);
    out->codepoints = d->codepoints == 2   ? SCH_CP_EXPERIMENTAL
                      : d->codepoints == 1 ? SCH_CP_PERMANENT
                                           : SCH_CP_AUTO;
    if (d->randomizer[0]) {
        if (db_token_derive(s->secret, DB_SECRET_LEN, d->uuid, d->randomizer, token) != 0)
            return -1;
        snprintf(out->token, sizeof(out->token), "%s", token);
        util_wipe(token, sizeof(token));
        out->kinds |= SCH_KIND_BIT(SCH_POOL_V4) | SCH_KIND_BIT(SCH_POOL_V6);
    }
    return 0;
}

static void
hook_source_changed(void *arg, int64_t id, bool deleted)
{
    struct svc *s = arg;
    struct db_source d;
    struct sch_source ss;

    if (!s->sch)
        return;
    if (deleted) {
        sch_source_remove(s->sch, id);
        return;
    }
    if (db_source_get(s->db, id, &d) != 1 || d.deleted || sch_source_of(s, &d, &ss) != 0 ||
        sch_source_put(s->sch, &ss, SCH_START_SOON) != 0) {
        log_err("monitor: cannot schedule source %lld", (long long)id);
        return;
    }
    util_wipe(ss.token, sizeof(ss.token));
}

static int
load_sources(struct svc *s)
{
    int64_t after = 0;
    size_t total = 0;

    for (;;) {
        struct db_source *list = NULL;
        size_t n = 0;

        if (db_sources_active(s->db, after, 1000, &list, &n) != 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            struct sch_source ss;
            if (sch_source_of(s, &list[i], &ss) != 0 ||
                sch_source_put(s->sch, &ss, SCH_START_SPREAD) != 0) {
                free(list);
                return -1;
            }
            util_wipe(ss.token, sizeof(ss.token));
            after = list[i].id;
        }
        free(list);
        total += n;
        if (n < 1000)
            break;
    }
    log_info("monitor: %zu time sources scheduled", total);
    return 0;
}

/* ---- health, gauges ------------------------------------------------------------- */

static void
hook_scored(void *arg, const int64_t *sources, size_t n)
{
    struct svc *s = arg;

    alerts_check(s->alerts, sources, n, (int64_t)time(NULL));
}

static const char *
hook_health(void *arg)
{
    struct svc *s = arg;
    struct sch_stats st;

    if (s->cfg.clock_check && isnan(s->clock_error)) {
        snprintf(s->health, sizeof(s->health), "clock: %s", s->clock_detail);
        return s->health;
    }
    if (s->cfg.clock_check && s->clock_error > SCORE_MONITOR_CLOCK_MAX) {
        snprintf(s->health, sizeof(s->health), "clock: %s (over %g s)", s->clock_detail,
                 SCORE_MONITOR_CLOCK_MAX);
        return s->health;
    }
    if (s->sch) {
        sch_stats(s->sch, &st);
        if (st.health != SCH_HEALTH_OK) {
            snprintf(s->health, sizeof(s->health), "network: %s: %s",
                     sch_health_str(st.health), st.health_detail);
            return s->health;
        }
    }
    return NULL;
}

static void
hook_gauges(void *arg, struct metrics_gauges *g)
{
    struct svc *s = arg;
    struct sch_stats st;
    int64_t n = 0;

    if (s->sch) {
        sch_stats(s->sch, &st);
        g->probes_in_flight = st.in_flight;
        g->probes_queued = st.queued;
    }
    if (db_source_count(s->db, &n) == 0)
        g->sources = n;
    db_size(s->db, &g->db_main_bytes, &g->db_wal_bytes);
    g->pending_writes = (int64_t)s->q_len;
    g->healthy = hook_health(s) == NULL;
}

static void
on_health(evutil_socket_t fd, short what, void *arg)
{
    struct svc *s = arg;
    bool was_bad = isnan(s->clock_error);

    (void)fd;
    (void)what;
    s->clock_error = clockcheck_read(s->clock_detail, sizeof(s->clock_detail));
    if (s->cfg.clock_check && isnan(s->clock_error) != was_bad)
        log_warn("monitor: %s%s", s->clock_detail,
                 isnan(s->clock_error) ? ": samples are discarded (SCORING.md rule 1)" : "");
    if (s->old_tls && s->sch && sch_tls_idle(s->sch)) {
        tlsctx_free(s->old_tls);
        s->old_tls = NULL;
    }
}

static void
on_retention(evutil_socket_t fd, short what, void *arg)
{
    struct svc *s = arg;
    int n = db_fold_old_samples(s->db, (int64_t)time(NULL), s->cfg.retention_days, 0, 0);
    struct timeval tv = {RETENTION_S, 0};

    (void)fd;
    (void)what;
    if (n > 0) {
        tv.tv_sec = 0;
        tv.tv_usec = RETENTION_BUSY_MS * 1000;
    }
    evtimer_add(s->retention_ev, &tv);
}

/* ---- signals -------------------------------------------------------------------- */

static void
reload(struct svc *s)
{
    struct config c;
    struct sch_config sc;

    if (!s->cfg_path) {
        log_info("reload: no configuration file, nothing to reload");
        return;
    }
    if (load_config(&c, s->cfg_path) != 0) {
        log_err("reload: keeping the running configuration");
        return;
    }
    /* What needs a restart keeps its running value. */
    if (config_keep_restart_keys(&c, &s->cfg))
        log_warn("reload: " CONFIG_RESTART_KEYS_NTSPOOLD " take effect only after a restart");
    if (s->sch && strcmp(c.ca_file, s->cfg.ca_file) != 0) {
        char err[256];
        struct tlsctx *t = tlsctx_new(c.ca_file[0] ? c.ca_file : NULL, false, err,
                                      sizeof(err));
        if (!t) {
            log_err("reload: ca_file %s: %s; keeping the old one", c.ca_file, err);
            memcpy(c.ca_file, s->cfg.ca_file, sizeof(c.ca_file));
        } else {
            struct tlsctx *old = sch_set_tls(s->sch, t);
            if (old && old != s->old_tls) {
                if (s->old_tls)
                    tlsctx_free(s->old_tls); /* two reloads within one probe: rare */
                s->old_tls = old;
            }
            if (!old)
                tlsctx_free(s->tls);
            s->tls = t;
        }
    }
    s->cfg = c;
    log_init(NULL, (enum log_level)c.log_level);
    if (s->sch) {
        sch_config_of(&s->cfg, &sc);
        sch_set_config(s->sch, &sc);
    }
    web_reload(s->web, &s->cfg, s->cfg.rate_limit);
    log_warn("reload: configuration %s reloaded", s->cfg_path);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct svc *s = arg;

    (void)what;
    if (sig == SIGHUP) {
        reload(s);
        return;
    }
    if (s->stopping)
        return;
    s->stopping = true;
    log_warn("stop: signal %d, stopping", (int)sig);
    /* Cancel the probes in flight (no more results), close the listeners,
       store what is queued, then leave the loop. */
    sch_free(s->sch);
    s->sch = NULL;
    web_free(s->web);
    s->web = NULL;
    while (s->q_len > 0) {
        size_t before = s->q_len;
        svc_flush(s, BATCH_MAX);
        if (s->q_len == before) {
            log_err("stop: %zu results could not be stored", s->q_len);
            break;
        }
    }
    event_base_loopexit(s->base, NULL);
}

/* ---- main ----------------------------------------------------------------------- */

static int
builtin_monitor(struct svc *s)
{
    struct db_monitor m;
    char key[WEB_TOKEN_LEN + 1];
    int rc = db_monitor_by_name(s->db, BUILTIN_NAME, &m);

    if (rc == 1) {
        s->builtin_id = m.id;
        return 0;
    }
    if (rc < 0 || web_token_new(key, "ntspm_") != 0)
        return -1;
    /* The built-in monitor never authenticates: its key is thrown away. */
    rc = db_monitor_add(s->db, BUILTIN_NAME, key, (int64_t)time(NULL), &s->builtin_id);
    util_wipe(key, sizeof(key));
    return rc == 0 ? 0 : -1;
}

static int
run(struct svc *s)
{
    struct web_params wp;
    char err[512];
    char *serr = NULL;
    struct timeval tv0 = {0, 0};
    int rc = 1;

    if (svc_make_parent(s->cfg.secret_file) != 0)
        return 1;
    if (db_secret_load(s->cfg.secret_file, s->secret, &serr) != 0) {
        log_err("secret %s: %s", s->cfg.secret_file, serr ? serr : "cannot load");
        free(serr);
        return 1;
    }
    if (!(s->db = svc_open_db(&s->cfg)))
        goto out;
    if (db_set_autocheckpoint(s->db, 0) != 0)
        goto out;
    s->base = sch_event_base_new();
    s->metrics = metrics_new();
    s->q = calloc(QUEUE_MAX, sizeof(*s->q));
    s->batch = calloc(BATCH_MAX, sizeof(*s->batch));
    s->stored = calloc(BATCH_MAX, sizeof(*s->stored));
    s->batch_pend = calloc(BATCH_MAX, sizeof(*s->batch_pend));
    s->touched = calloc(BATCH_MAX, sizeof(*s->touched));
    if (!s->base || !s->metrics || !s->q || !s->batch || !s->stored || !s->batch_pend ||
        !s->touched) {
        log_err("out of memory");
        goto out;
    }
    s->dns = evdns_base_new(s->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                         EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!s->dns) {
        /* No resolv.conf: /etc/hosts and literals still work. */
        s->dns = evdns_base_new(s->base, 0);
        if (s->dns)
            evdns_base_load_hosts(s->dns, NULL);
    }
    if (!s->dns) {
        log_err("cannot set up the resolver");
        goto out;
    }
    evdns_base_set_option(s->dns, "timeout:", "3");
    evdns_base_set_option(s->dns, "attempts:", "2");
    s->clock_error = clockcheck_read(s->clock_detail, sizeof(s->clock_detail));
    if (s->cfg.clock_check && isnan(s->clock_error))
        log_warn("monitor: %s: samples are discarded (SCORING.md rule 1) until it is "
                 "synchronised; clock_check = no turns this off",
                 s->clock_detail);
    if (s->cfg.builtin) {
        struct sch_config sc;
        if (builtin_monitor(s) != 0) {
            log_err("cannot create the built-in monitor's row");
            goto out;
        }
        s->tls = tlsctx_new(s->cfg.ca_file[0] ? s->cfg.ca_file : NULL, false, err,
                            sizeof(err));
        if (!s->tls) {
            log_err("TLS: %s", err);
            goto out;
        }
        sch_config_of(&s->cfg, &sc);
        s->sch = sch_new(s->base, s->dns, s->tls, &sc, on_event, s);
        if (!s->sch || load_sources(s) != 0) {
            log_err("cannot start the built-in monitor");
            goto out;
        }
    }
    if (!(s->alerts = alerts_new(s->base, s->dns, s->db, &s->cfg))) {
        log_err("cannot set up the alerts");
        goto out;
    }
    memset(&wp, 0, sizeof(wp));
    wp.base = s->base;
    wp.dns = s->dns;
    wp.db = s->db;
    wp.metrics = s->metrics;
    wp.secret = s->secret;
    wp.cfg = &s->cfg;
    wp.rate_limit = s->cfg.rate_limit;
    wp.hooks.source_changed = hook_source_changed;
    wp.hooks.scored = hook_scored;
    wp.hooks.health = hook_health;
    wp.hooks.gauges = hook_gauges;
    wp.hooks.writes_held = svc_hook_writes_held;
    wp.hooks.arg = s;
    s->web = web_new(&wp, err, sizeof(err));
    if (!s->web) {
        log_err("http: %s", err);
        goto out;
    }
    s->flush_ev = evtimer_new(s->base, svc_on_flush, s);
    s->retention_ev = evtimer_new(s->base, on_retention, s);
    s->health_ev = event_new(s->base, -1, EV_PERSIST, on_health, s);
    s->sig_term = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->sig_int = evsignal_new(s->base, SIGINT, on_signal, s);
    s->sig_hup = evsignal_new(s->base, SIGHUP, on_signal, s);
    if (!s->flush_ev || !s->retention_ev || !s->health_ev || !s->sig_term || !s->sig_int ||
        !s->sig_hup || evsignal_add(s->sig_term, NULL) || evsignal_add(s->sig_int, NULL) ||
        evsignal_add(s->sig_hup, NULL)) {
        log_err("cannot set up events");
        goto out;
    }
    {
        struct timeval hs = {HEALTH_S, 0};
        evtimer_add(s->retention_ev, &tv0);
        event_add(s->health_ev, &hs);
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->ckpt, NULL, svc_ckpt_main, s) == 0)
        s->ckpt_running = true;
    else
        log_warn("checkpoint: no thread; SQLite will checkpoint on the loop");
    if (!s->ckpt_running)
        db_set_autocheckpoint(s->db, 1000);
    log_warn("ntspoold %s: serving %s (database %s, built-in monitor %s)", NTSPOOL_VERSION,
             s->cfg.public_url, s->cfg.database, s->cfg.builtin ? "on" : "off");
    event_base_dispatch(s->base);
    rc = 0;
out:
    if (s->ckpt_running) {
        pthread_mutex_lock(&s->mu);
        s->ckpt_stop = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->ckpt, NULL);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
    }
    sch_free(s->sch);
    web_free(s->web);
    if (s->db && s->q_len)
        svc_flush(s, BATCH_MAX);
    alerts_free(s->alerts);
    db_close(s->db);
    tlsctx_free(s->tls);
    tlsctx_free(s->old_tls);
    if (s->flush_ev)
        event_free(s->flush_ev);
    if (s->retention_ev)
        event_free(s->retention_ev);
    if (s->health_ev)
        event_free(s->health_ev);
    if (s->sig_term)
        event_free(s->sig_term);
    if (s->sig_int)
        event_free(s->sig_int);
    if (s->sig_hup)
        event_free(s->sig_hup);
    if (s->dns)
        evdns_base_free(s->dns, 0);
    if (s->base)
        event_base_free(s->base);
    metrics_free(s->metrics);
    free(s->q);
    free(s->batch);
    free(s->stored);
    free(s->batch_pend);
    free(s->touched);
    util_wipe(s->secret, sizeof(s->secret));
    if (rc == 0)
        log_warn("stop: done");
    return rc;
}

/* Probes and HTTP connections each hold a descriptor: take all the kernel
   allows (the connection limit is sized from it, web/conn.c). */
static void
raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_warn("cannot raise RLIMIT_NOFILE to %llu: %s", (unsigned long long)rl.rlim_max,
                 strerror(errno));
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},         {"syslog", no_argument, NULL, 'S'},
        {"check", no_argument, NULL, 'C'},        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    static struct svc s;
    int verbose = 0, opt, rc;
    bool check = false, use_syslog = false;
    const char *path = NULL;

    log_init("ntspoold", LOG_LEVEL_WARN);
    /* '+': stop at the command, whose own options (--admin) follow it. */
    while ((opt = getopt_long(argc, argv, "+c:vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'v': verbose++; break;
        case 'S': use_syslog = true; break;
        case 'C': check = true; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("ntspoold %s\n", NTSPOOL_VERSION); return 0;
        default: usage(stderr); return EXIT_CONFIG;
        }
    }
    if (!path && access(DEFAULT_CONFIG, F_OK) == 0)
        path = DEFAULT_CONFIG;
    if (check && !path) {
        log_err("--check needs -c FILE");
        return EXIT_CONFIG;
    }
    if (load_config(&s.cfg, path) != 0)
        return EXIT_CONFIG;
    if (check) {
        printf("%s: ok\n", path);
        return 0;
    }
    s.cfg_path = path;
    {
        int level = s.cfg.log_level + verbose;
        log_init(NULL, (enum log_level)(level > LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG : level));
    }
    if (use_syslog)
        log_to_syslog();
    if (optind < argc)
        return svc_admin(&s.cfg, argc - optind, argv + optind);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    rc = run(&s);
    return rc;
}
