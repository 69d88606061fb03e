/* alerts.c - deciding and sending alerts (alerts.h).
 *
 * alert_log is the queue: a message is a row, pending until an attempt
 * succeeds or the retry schedule (alertmsg_backoff) runs out.  A tick every
 * TICK_S picks the rows due, claims each by moving its next_try CLAIM_S
 * ahead (a crash mid-send retries it after that), and starts the send; its
 * outcome is written when it ends.  A message's content is fixed when it is
 * queued (the payload, the webhook body); its destination is read when it
 * is sent, so a cleared channel stops the retries.
 *
 * A webhook's name is resolved with evdns and every address checked with
 * dns_addr_is_private (unless allow_private), and the checked address is
 * handed to libcurl with CURLOPT_RESOLVE, so the connection goes where the
 * check looked, not to whatever a second lookup would give (DNS
 * rebinding).  Proxies from the environment are ignored for the same
 * reason, and redirects are never followed (curlev). */
#include "web/alerts.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "db/db.h"
#include "monitor/dns.h"
#include "monitor/tlsctx.h"
#include "util/config.h"
#include "util/curlev.h"
#include "util/log.h"
#include "util/util.h"
#include "web/alertmsg.h"

#define TICK_S         5     /* due messages are looked for this often */
#define SWEEP_FIRST_S  30    /* the first sweep of every source after start */
#define SWEEP_S        3600  /* then this often */
#define SWEEP_CHUNK    256   /* sources checked per pass of the loop */
#define INFLIGHT_MAX   16    /* sends at once */
#define CLAIM_S        300   /* a claimed row is retried after this if we die */
#define SEND_TIMEOUT_MS 30000L
#define ANSWER_MAX     (64 * 1024) /* bytes of a webhook's answer we read */

struct send {
    struct alerts *a;
    struct send *next, *prev;
    int64_t id, source;
    enum db_alert_channel channel;
    enum db_alert_cause cause;
    int attempts; /* before this one */
    char host[DB_HOST_MAX]; /* the webhook's host, for the log */
    struct dns_req *dns;
    struct curlev_req *req;
    struct alertmsg_url u;
    char url[DB_URL_MAX];
    char *body;
};

struct alerts {
    struct event_base *base;
    struct evdns_base *dns;
    struct db *db;
    const struct config *cfg;
    struct curlev *curl;
    struct event *tick, *sweep;
    int64_t sweep_after; /* the sweep's place: the last source id checked */
    struct send *sends;
    size_t inflight;
};

/* ---- sending ------------------------------------------------------------------ */

static void
send_free(struct send *s)
{
    struct alerts *a = s->a;

    if (s->prev)
        s->prev->next = s->next;
    else
        a->sends = s->next;
    if (s->next)
        s->next->prev = s->prev;
    a->inflight--;
    if (s->dns)
        dns_cancel(s->dns);
    if (s->req)
        curlev_cancel(s->req);
    free(s->body);
    free(s);
}

/* Record the outcome of an attempt and free s. */
static void
finish(struct send *s, bool ok, bool retry, const char *detail)
{
    int64_t now = (int64_t)time(NULL);
    int attempts = s->attempts + 1, wait = retry ? alertmsg_backoff(attempts) : -1;
    enum db_alert_status st = ok ? DB_ALERT_SENT : wait < 0 ? DB_ALERT_FAILED
                                                           : DB_ALERT_PENDING;

    if (db_alert_update(s->a->db, s->id, st, attempts, wait < 0 ? now : now + wait, now,
                        ok ? NULL : detail) != 0)
        log_err("alerts: message %lld: cannot record the outcome", (long long)s->id);
    if (ok)
        log_info("alerts: source %lld %s: %s sent%s%s", (long long)s->source,
                 db_alert_cause_str(s->cause), db_alert_channel_str(s->channel),
                 s->host[0] ? " to " : "", s->host);
    else
        log_warn("alerts: source %lld %s: %s%s%s failed (attempt %d): %s%s",
                 (long long)s->source, db_alert_cause_str(s->cause),
                 db_alert_channel_str(s->channel), s->host[0] ? " to " : "", s->host,
                 attempts, detail, st == DB_ALERT_FAILED ? "; giving up" : "");
    send_free(s);
}

static void
on_sent(bool ok, long status, const char *body, size_t len, const char *err, void *arg)
{
    struct send *s = arg;
    char detail[DB_ALERT_DETAIL_MAX];

    (void)body;
    (void)len;
    s->req = NULL;
    if (!ok) {
        snprintf(detail, sizeof(detail), "%s", err);
        finish(s, false, true, detail);
    } else if (s->channel == DB_ALERT_WEBHOOK && (status < 200 || status > 299)) {
        snprintf(detail, sizeof(detail), "HTTP status %ld", status);
        finish(s, false, true, detail);
    } else {
        finish(s, true, false, NULL);
    }
}

static void
post(struct send *s, const char *resolve)
{
    struct curlev_opts o = {.timeout_ms = SEND_TIMEOUT_MS,
                            .max_body = ANSWER_MAX,
                            .protocols = s->u.https ? "https" : "http",
                            .resolve = resolve,
                            .no_proxy = true,
                            .user_agent = "ntspoold/" NTSPOOL_VERSION};

    s->req = curlev_post(s->a->curl, s->url, &o, s->body, strlen(s->body), on_sent, s);
    if (!s->req)
        finish(s, false, true, "cannot start the request");
}

static void
on_resolved(const struct dns_result *res, void *arg)
{
    struct send *s = arg;
    char addr[INET6_ADDRSTRLEN], pin[DB_HOST_MAX + INET6_ADDRSTRLEN + 16];
    const struct sockaddr *sa;

    s->dns = NULL;
    if (res->n == 0) {
        finish(s, false, true, res->error ? res->detail : "the name has no address");
        return;
    }
    if (dns_result_is_refused(res, DNS_REFUSE_ANY_PRIVATE)) {
        finish(s, false, true, "the name resolves to a loopback, private or link-local address");
        return;
    }
    /* Pin the first checked address for this host and port. */
    sa = (const struct sockaddr *)&res->addr[0];
    if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr,
                  sizeof(addr));
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof(addr));
    snprintf(pin, sizeof(pin), sa->sa_family == AF_INET6 ? "%s:%d:[%s]" : "%s:%d:%s",
             s->u.host, s->u.port, addr);
    post(s, pin);
}

static void
send_webhook(struct send *s, const char *url)
{
    struct alerts *a = s->a;
    char why[256];

    snprintf(s->url, sizeof(s->url), "%s", url);
    if (alertmsg_webhook_check(s->url, a->cfg->allow_private, &s->u, why, sizeof(why)) !=
        0) {
        finish(s, false, false, why);
        return;
    }
    snprintf(s->host, sizeof(s->host), "%s", s->u.host);
    if (a->cfg->allow_private || s->u.literal) {
        post(s, NULL);
        return;
    }
    /* on_resolved may run before dns_resolve returns: s is gone then. */
    {
        struct dns_req *d = dns_resolve(a->dns, s->u.host, (uint16_t)s->u.port, 0,
                                        on_resolved, s);
        if (d)
            s->dns = d;
    }
}

static void
send_mail(struct send *s, const char *to, const json_t *payload)
{
    struct alerts *a = s->a;
    struct curlev_opts o = {.timeout_ms = SEND_TIMEOUT_MS,
                            .max_body = ANSWER_MAX,
                            .no_proxy = true};
    unsigned char rnd[12];
    char token[2 * sizeof(rnd) + 1], *msg = NULL;
    size_t len = 0;

    if (!a->cfg->smtp_url[0] || !alertmsg_email_ok(a->cfg->from)) {
        finish(s, false, false, "no mail relay configured ([alerts] smtp_url, from)");
        return;
    }
    if (tlsctx_random(rnd, sizeof(rnd)) != 0) {
        finish(s, false, true, "no random bytes");
        return;
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(token + 2 * i, 3, "%02x", rnd[i]);
    if (alertmsg_mail(payload, a->cfg->from, to, (int64_t)time(NULL), token, &msg, &len) !=
        0) {
        finish(s, false, false, "cannot write the message");
        return;
    }
    s->req = curlev_mail(a->curl, a->cfg->smtp_url, a->cfg->from, to, &o, msg, len, on_sent,
                         s);
    free(msg);
    if (!s->req)
        finish(s, false, true, "cannot start the submission");
}

/* Start one due message (claimed already). */
static void
start(struct alerts *a, const struct db_alert *m)
{
    struct db_alert_settings as;
    struct send *s = calloc(1, sizeof(*s));
    json_t *payload;
    int rc;

    if (!s) {
        log_err("alerts: out of memory");
        return;
    }
    s->a = a;
    s->id = m->id;
    s->source = m->source;
    s->channel = m->channel;
    s->cause = m->cause;
    s->attempts = m->attempts;
    s->next = a->sends;
    if (a->sends)
        a->sends->prev = s;
    a->sends = s;
    a->inflight++;
    rc = db_alert_settings_get(a->db, m->user, &as);
    if (rc < 0) {
        finish(s, false, true, "database error");
        return;
    }
    if (m->channel == DB_ALERT_WEBHOOK) {
        if (!as.webhook[0]) {
            finish(s, false, false, "the webhook was removed");
            return;
        }
        if (!(s->body = strdup(m->payload))) {
            finish(s, false, true, "out of memory");
            return;
        }
        send_webhook(s, as.webhook);
        util_wipe(as.webhook, sizeof(as.webhook));
        return;
    }
    if (!as.email[0]) {
        finish(s, false, false, "the e-mail address was removed");
        return;
    }
    payload = json_loads(m->payload, 0, NULL);
    if (!payload) {
        finish(s, false, false, "malformed message");
        return;
    }
    send_mail(s, as.email, payload);
    json_decref(payload);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct alerts *a = arg;
    int64_t now = (int64_t)time(NULL);
    struct db_alert *due = NULL;
    size_t n = 0;

    (void)fd;
    (void)what;
    if (a->inflight >= INFLIGHT_MAX)
        return;
    if (db_alerts_due(a->db, now, INFLIGHT_MAX - a->inflight, &due, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (db_alert_update(a->db, due[i].id, DB_ALERT_PENDING, due[i].attempts,
                            now + CLAIM_S, now, due[i].detail) != 0)
            continue;
        start(a, &due[i]);
    }
    free(due);
}

/* ---- deciding ----------------------------------------------------------------- */

/* Queue the messages of one event, unless the source had one of this cause
   within ALERTMSG_REPEAT_S.  1 queued, 0 not, -1 error. */
static int
event(struct alerts *a, const struct db_source_status *st, enum db_alert_cause cause,
      const char *reason, int64_t now)
{
    struct alertmsg_event ev = {.time = now,
                                .source = st->src.id,
                                .uuid = st->src.uuid,
                                .host = st->src.host,
                                .port = st->src.port,
                                .cause = cause,
                                .reason = reason};
    struct db_alert_settings as;
    struct db_alert m;
    int64_t last;
    char *body;
    int rc, queued = 0;

    rc = db_alert_last(a->db, st->src.id, cause, &last);
    if (rc < 0)
        return -1;
    if (rc == 1 && now - last < ALERTMSG_REPEAT_S) {
        log_debug("alerts: source %lld %s: already sent within 24 h", (long long)st->src.id,
                 db_alert_cause_str(cause));
        return 0;
    }
    rc = db_alert_settings_get(a->db, st->src.owner, &as);
    if (rc <= 0)
        return rc;
    for (int k = 0; k < SCORE_KINDS; k++)
        ev.score[k] = st->kind[k].cur.state == SCORE_STATE_SCORED ? st->kind[k].cur.score
                                                                  : NAN;
    if (!(body = alertmsg_body(&ev)))
        return -1;
    memset(&m, 0, sizeof(m));
    m.time = now;
    m.user = st->src.owner;
    m.source = st->src.id;
    m.cause = cause;
    m.status = DB_ALERT_PENDING;
    snprintf(m.payload, sizeof(m.payload), "%s", body);
    rc = strlen(body) < sizeof(m.payload) ? 0 : -1;
    free(body);
    if (rc == 0 && as.email[0]) {
        m.channel = DB_ALERT_EMAIL;
        rc = db_alert_add(a->db, &m, NULL);
        queued++;
    }
    if (rc == 0 && as.webhook[0]) {
        m.channel = DB_ALERT_WEBHOOK;
        rc = db_alert_add(a->db, &m, NULL);
        queued++;
    }
    util_wipe(as.webhook, sizeof(as.webhook));
    if (rc == 0)
        log_info("alerts: source %lld %s%s%s", (long long)st->src.id,
                 db_alert_cause_str(cause), reason ? ": " : "", reason ? reason : "");
    return rc < 0 ? -1 : queued > 0;
}

/* One source: the verdict against the remembered one, and its certificate.
   1 when something was queued, 0 not, -1 error. */
static int
check_one(struct alerts *a, const struct db_source_status *st, int64_t now)
{
    int state, rc, queued = 0;
    char reason[SCORE_REASON_MAX];

    if (db_source_alert_state(a->db, st->src.id, &state) <= 0)
        return -1;
    if (st->in_pool && state != 1) {
        if (db_source_alert_state_set(a->db, st->src.id, 1) != 0)
            return -1;
        /* state -1: its first entry, nothing to tell. */
        if (state == 0 && (rc = event(a, st, DB_ALERT_BACK_IN_POOL, NULL, now)) != 0) {
            if (rc < 0)
                return -1;
            queued = 1;
        }
    } else if (!st->in_pool && state == 1) {
        if (db_source_alert_state_set(a->db, st->src.id, 0) != 0)
            return -1;
        if ((rc = event(a, st, DB_ALERT_LEFT_POOL, st->why[0] ? st->why : NULL, now)) != 0) {
            if (rc < 0)
                return -1;
            queued = 1;
        }
    }
    if (st->cert_not_after > 0 && st->cert_not_after < now + ALERTMSG_CERT_WINDOW) {
        time_t t = (time_t)st->cert_not_after;
        struct tm tm;

        gmtime_r(&t, &tm);
        snprintf(reason, sizeof(reason),
                 "the certificate %s %04d-%02d-%02d %02d:%02d UTC (%lld days)",
                 st->cert_not_after > now ? "expires" : "expired", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 (long long)((st->cert_not_after - now) / 86400));
        if ((rc = event(a, st, DB_ALERT_CERT_EXPIRING, reason, now)) < 0)
            return -1;
        queued |= rc;
    }
    return queued;
}

/* Check a list of statuses inside the open transaction: 1 when something
   was queued, 0 not, -1 error. */
static int
check_rows(struct alerts *a, const struct db_source_status *list, size_t n, int64_t now)
{
    int queued = 0, rc = 0;

    for (size_t i = 0; i < n && rc >= 0; i++)
        if ((rc = check_one(a, &list[i], now)) > 0)
            queued = 1;
    return rc < 0 ? -1 : queued;
}

/* Commit what check_rows() did and kick the sender, or roll back. */
static void
check_end(struct alerts *a, int queued, size_t n)
{
    if (queued < 0 || db_commit(a->db) != 0) {
        db_rollback(a->db);
        log_warn("alerts: checking %zu sources failed; the next batch tries again", n);
        return;
    }
    if (queued)
        event_active(a->tick, EV_TIMEOUT, 0);
}

/* Check a list of statuses in one transaction; kick the sender. */
static void
check_list(struct alerts *a, const struct db_source_status *list, size_t n, int64_t now)
{
    if (n == 0 || db_begin(a->db) != 0)
        return;
    check_end(a, check_rows(a, list, n, now), n);
}

void
alerts_check(struct alerts *a, const int64_t *sources, size_t n, int64_t now)
{
    struct db_source_status *list;
    size_t m = 0;

    if (!a || n == 0 || !(list = calloc(n, sizeof(*list))))
        return;
    /* The statuses are read in the checks' transaction: one lock of the
       database for the batch, not one per statement (this runs after every
       batch of results). */
    if (db_begin(a->db) != 0) {
        free(list);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < m && !seen; j++)
            seen = list[j].src.id == sources[i];
        if (!seen && db_source_status(a->db, sources[i], now, &list[m]) == 1)
            m++;
    }
    check_end(a, check_rows(a, list, m, now), m);
    free(list);
}

/* Every source, SWEEP_CHUNK at a time, one chunk per pass of the loop: the
   whole list in one callback held the loop for ~150 ms at 10,000 sources
   (callgrind: 426M instructions), so requests waited behind it. */
static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct alerts *a = arg;
    struct db_source_status *list = NULL;
    struct timeval tv = {SWEEP_S, 0};
    int64_t now = (int64_t)time(NULL);
    size_t n = 0;

    (void)fd;
    (void)what;
    if (db_sources_status_page(a->db, a->sweep_after, SWEEP_CHUNK, now, &list, &n) == 0) {
        check_list(a, list, n, now);
        if (n == SWEEP_CHUNK) {
            a->sweep_after = list[n - 1].src.id;
            tv.tv_sec = 0;
        } else {
            a->sweep_after = 0; /* done: from the start next time */
        }
    }
    free(list);
    evtimer_add(a->sweep, &tv);
}

/* ---- life ---------------------------------------------------------------------- */

struct alerts *
alerts_new(struct event_base *base, struct evdns_base *dns, struct db *db,
           const struct config *cfg)
{
    struct alerts *a = calloc(1, sizeof(*a));
    struct timeval tick = {TICK_S, 0}, first = {SWEEP_FIRST_S, 0};

    if (!a)
        return NULL;
    a->base = base;
    a->dns = dns;
    a->db = db;
    a->cfg = cfg;
    a->curl = curlev_new(base);
    a->tick = event_new(base, -1, EV_PERSIST, on_tick, a);
    a->sweep = evtimer_new(base, on_sweep, a);
    if (!a->curl || !a->tick || !a->sweep || event_add(a->tick, &tick) != 0 ||
        evtimer_add(a->sweep, &first) != 0) {
        alerts_free(a);
        return NULL;
    }
    return a;
}

void
alerts_free(struct alerts *a)
{
    if (!a)
        return;
    while (a->sends)
        send_free(a->sends);
    curlev_free(a->curl);
    if (a->tick)
        event_free(a->tick);
    if (a->sweep)
        event_free(a->sweep);
    free(a);
}
