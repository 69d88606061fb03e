/* alertapi.c - the account's alert settings in the JSON API (PRODUCT.md):
 * GET /api/v1/account/alerts -> {"email", "webhook", "sent": [...]} and PUT
 * with {"email", "webhook"}.
 *
 * A key that is absent keeps its value, null or "" clears it.  The e-mail
 * address and the URL are checked by alertmsg's rules; a webhook whose host
 * is a name is resolved (without blocking) unless allow_private is on, and
 * refused when any of its addresses is loopback, private or link-local
 * (dns_result_is_refused, DNS_REFUSE_ANY_PRIVATE).
 * That is checked again before every send (web/alerts.c), since DNS
 * changes.  The URL may carry a secret: it is shown to its owner only and
 * never logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "monitor/dns.h"
#include "util/log.h"
#include "web/alertmsg.h"
#include "web/web_int.h"

#define SENT_MAX 100 /* messages listed */

static json_t *
text_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static void
get_alerts(struct web_req *r)
{
    struct db_alert_settings as;
    struct db_alert *log = NULL;
    size_t n = 0;
    json_t *sent;

    if (db_alert_settings_get(r->w->p.db, r->user, &as) < 0 ||
        db_alert_log(r->w->p.db, r->user, SENT_MAX, &log, &n) != 0) {
        web_reply_error(r, 500, "internal", "database error");
        return;
    }
    sent = json_array();
    for (size_t i = 0; sent && i < n; i++) {
        const struct db_alert *a = &log[i];
        json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:i,s:o}", "time",
                              (json_int_t)a->time, "source", (json_int_t)a->source, "host",
                              a->host, "cause", db_alert_cause_str(a->cause), "channel",
                              db_alert_channel_str(a->channel), "status",
                              db_alert_status_str(a->status), "attempts", a->attempts,
                              "detail", text_or_null(a->detail));
        if (!o || json_array_append_new(sent, o) != 0) {
            json_decref(sent);
            sent = NULL;
        }
    }
    free(log);
    web_reply_json(r, 200,
                   sent ? json_pack("{s:o,s:o,s:o}", "email", text_or_null(as.email),
                                    "webhook", text_or_null(as.webhook), "sent", sent)
                        : NULL);
}

/* A change of settings waiting for the webhook's name to resolve. */
struct put {
    struct web_req *r;
    struct dns_req *dns;
    struct db_alert_settings as;
    alertapi_done_fn *done;
};

static void
put_cancel(struct web_req *r)
{
    struct put *p = r->wait;

    if (p->dns)
        dns_cancel(p->dns);
    free(p);
    web_req_abandon(r);
}

static void
put_resolved(const struct dns_result *res, void *arg)
{
    struct put *p = arg;
    struct web_req *r = p->r;
    struct db_alert_settings as = p->as;
    alertapi_done_fn *done = p->done;

    p->dns = NULL;
    web_req_unwait(r);
    free(p);
    if (dns_result_is_refused(res, DNS_REFUSE_ANY_PRIVATE)) {
        done(r, &as, "invalid_webhook",
             "the webhook's host resolves to a loopback, private or link-local address");
        return;
    }
    /* A name that does not resolve (yet) is accepted: sending checks again. */
    done(r, &as, NULL, NULL);
}

void
alertapi_check(struct web_req *r, const struct db_alert_settings *as,
               alertapi_done_fn *done)
{
    struct alertmsg_url u;
    char why[256];
    struct put *p;

    if (as->email[0] && !alertmsg_email_ok(as->email)) {
        done(r, as, "invalid_email",
             "the e-mail must be a plain address such as name@example.org");
        return;
    }
    if (!as->webhook[0]) {
        done(r, as, NULL, NULL);
        return;
    }
    if (alertmsg_webhook_check(as->webhook, r->w->allow_private, &u, why, sizeof(why)) != 0) {
        done(r, as, "invalid_webhook", why);
        return;
    }
    if (r->w->allow_private || u.literal) {
        done(r, as, NULL, NULL);
        return;
    }
    if (!(p = calloc(1, sizeof(*p)))) {
        web_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    p->r = r;
    p->as = *as;
    p->done = done;
    web_req_wait(r, put_cancel, p);
    /* put_resolved may run before dns_resolve returns: p is gone then. */
    {
        struct dns_req *d = dns_resolve(r->w->p.dns, u.host, (uint16_t)u.port, 0,
                                        put_resolved, p);
        if (d)
            p->dns = d;
    }
}

static void
put_done(struct web_req *r, const struct db_alert_settings *as, const char *code,
         const char *why)
{
    if (code) {
        web_reply_error(r, 400, code, "%s", why);
        return;
    }
    if (db_alert_settings_set(r->w->p.db, r->user, as->email, as->webhook) != 0) {
        web_reply_error(r, 500, "internal", "database error");
        return;
    }
    log_info("api: user %lld set alerts (e-mail %s, webhook %s)", (long long)r->user,
             as->email[0] ? "on" : "off", as->webhook[0] ? "on" : "off");
    get_alerts(r);
}

/* The value of key: 1 and text copied (or "" for null) into out, 0 absent,
   -1 not a string or too long. */
static int
string_field(json_t *body, const char *key, char *out, size_t len)
{
    json_t *v = json_object_get(body, key);

    if (!v)
        return 0;
    if (json_is_null(v)) {
        out[0] = '\0';
        return 1;
    }
    if (!json_is_string(v) || json_string_length(v) >= len ||
        strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 1;
}

static void
put_alerts(struct web_req *r)
{
    struct db_alert_settings as;
    json_t *body;
    int re, rw;

    if (web_body_json(r, &body) != 0)
        return;
    if (db_alert_settings_get(r->w->p.db, r->user, &as) < 0) {
        json_decref(body);
        web_reply_error(r, 500, "internal", "database error");
        return;
    }
    re = string_field(body, "email", as.email, sizeof(as.email));
    rw = string_field(body, "webhook", as.webhook, sizeof(as.webhook));
    json_decref(body);
    if (re < 0) {
        web_reply_error(r, 400, "invalid_email",
                        "email must be a plain address such as name@example.org, or null");
        return;
    }
    if (rw < 0) {
        web_reply_error(r, 400, "invalid_webhook", "webhook must be a URL or null");
        return;
    }
    alertapi_check(r, &as, put_done);
}

void
alertapi_alerts(struct web_req *r)
{
    if (r->method != EVHTTP_REQ_GET && r->method != EVHTTP_REQ_PUT) {
        web_reply_error(r, 405, "method_not_allowed", "use GET or PUT");
        return;
    }
    if (web_auth(r) != 0)
        return;
    if (r->method == EVHTTP_REQ_GET)
        get_alerts(r);
    else
        put_alerts(r);
}
