/* web.c - the evhttp server: listeners, limits, routing, replies, bearer
 * authentication with a per-token rate limit, /healthz and /metrics.
 *
 * Limits come first: evhttp refuses headers over WEB_MAX_HEADERS and bodies
 * over MONWIRE_MAX_BODY (413) before a handler runs; that cap is the monitor
 * submit route's (a batch of 100 results with our extra fields is over
 * 64 KiB), and every other route answers 413 to a body over WEB_MAX_BODY
 * before looking at it (libevent 2.1 has no per-route cap before the body
 * is read, so a request costs at most MONWIRE_MAX_BODY of memory); and closes connections idle
 * or slow past WEB_TIMEOUT.  The connection guard (conn.c) adds what evhttp
 * lacks: limits on open connections, in all and per address, and deadlines
 * on a request's headers and body that a trickle of bytes cannot extend.  Paths are matched on the raw (still
 * percent-encoded) path; ids must be plain decimal numbers.  A request that
 * waits for something (a name resolution) is linked into web.waiting and
 * watched through the connection's close callback, so a client that leaves
 * cancels the wait instead of leaving a dangling pointer. */
#include "web/web.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "monitor/tlsctx.h"
#include "util/log.h"
#include "util/util.h"
#include "web/conn.h"
#include "web/histcache.h"
#include "web/jsonw.h"
#include "web/monwire.h"
#include "web/pwhash.h"
#include "web/throttle.h"
#include "web/web_int.h"
#include "web/webparse.h"

#define RATE_SLOTS 4096 /* token buckets kept (power of two) */
#define RATE_PROBE 4    /* slots looked at per token: the stalest is reused */
#define QUERY_MAX  1024 /* bytes of a query string */
#define PARAM_MAX  256  /* bytes of one decoded parameter value */
#define BEARER_MAX 128  /* bytes of a bearer credential */

struct web_rate {
    uint64_t key; /* first 8 bytes of the token hash; 0: free */
    double tokens;
    double last; /* monotonic s */
};

static double
mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- replies ------------------------------------------------------------------ */

static void
request_free(struct web_req *r)
{
    free(r);
}

void
web_req_wait(struct web_req *r, void (*cancel)(struct web_req *r), void *state)
{
    struct web *w = r->w;
    struct evhttp_connection *conn = evhttp_request_get_connection(r->req);

    r->cancel = cancel;
    r->wait = state;
    r->next = w->waiting;
    if (w->waiting)
        w->waiting->prevp = &r->next;
    r->prevp = &w->waiting;
    w->waiting = r;
    (void)conn;
}

void
web_req_unwait(struct web_req *r)
{
    if (!r->prevp)
        return;
    *r->prevp = r->next;
    if (r->next)
        r->next->prevp = r->prevp;
    r->next = NULL;
    r->prevp = NULL;
    r->cancel = NULL;
    r->wait = NULL;
}

void
web_req_abandon(struct web_req *r)
{
    web_req_unwait(r);
    request_free(r);
}

void
web_reply(struct web_req *r, int status, const char *ctype, struct evbuffer *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

    web_req_unwait(r);
    if (ctype)
        evhttp_add_header(h, "Content-Type", ctype);
    /* Pages set their own (the stylesheet may be cached); the rest is
       personal or live. */
    if (!evhttp_find_header(h, "Cache-Control"))
        evhttp_add_header(h, "Cache-Control", "no-store");
    if (!evhttp_find_header(h, "X-Content-Type-Options"))
        evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    metrics_http(r->w->p.metrics, r->route, status);
    evhttp_send_reply(r->req, status, NULL, body);
    request_free(r);
}

void
web_reply_empty(struct web_req *r, int status)
{
    web_reply(r, status, NULL, NULL);
}

static void
free_dump(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)(uintptr_t)data);
}

void
web_reply_jsonw(struct web_req *r, int status, struct jsonw *w)
{
    jsonw_flush(w);
    if (w->failed)
        web_reply_error(r, 500, "internal", "out of memory");
    else
        web_reply(r, status, "application/json", w->b);
    evbuffer_free(w->b);
}

void
web_reply_json(struct web_req *r, int status, json_t *j)
{
    struct evbuffer *b;
    char *s;

    if (!j) {
        web_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    b = evbuffer_new();
    if (!s || !b || evbuffer_add_reference(b, s, strlen(s), free_dump, NULL) != 0) {
        free(s);
        if (b)
            evbuffer_free(b);
        log_err("http: out of memory rendering a reply");
        web_reply(r, 500, "text/plain; charset=utf-8", NULL);
        return;
    }
    evbuffer_add(b, "\n", 1);
    web_reply(r, status, "application/json", b);
    evbuffer_free(b);
}

void
web_reply_error(struct web_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    json_t *j;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    if (!j) {
        web_reply(r, 500, "text/plain; charset=utf-8", NULL);
        return;
    }
    if (status == 401)
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate",
                          "Bearer realm=\"ntspool\"");
    web_reply_json(r, status, j);
}

/* ---- input -------------------------------------------------------------------- */

bool
web_text_ok(const char *s, size_t len)
{
    return util_utf8_valid(s, len, true);
}

int
web_body_json(struct web_req *r, json_t **out)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    json_error_t e;
    const char *p;
    json_t *j;

    *out = NULL;
    if (len > WEB_MAX_BODY) {
        web_reply_error(r, 413, "too_large", "the body is over %d bytes", WEB_MAX_BODY);
        return -1;
    }
    p = (const char *)evbuffer_pullup(in, -1);
    if (len == 0 || !p) {
        web_reply_error(r, 400, "bad_json", "a JSON object is expected in the body");
        return -1;
    }
    if (webparse_json_depth(p, len, WEBPARSE_JSON_DEPTH) > WEBPARSE_JSON_DEPTH) {
        web_reply_error(r, 400, "bad_json", "arrays and objects nest deeper than %d",
                        WEBPARSE_JSON_DEPTH);
        return -1;
    }
    j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        web_reply_error(r, 400, "bad_json", "invalid JSON at line %d, column %d: %s",
                        e.line, e.column, e.text);
        return -1;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        web_reply_error(r, 400, "bad_json", "a JSON object is expected in the body");
        return -1;
    }
    *out = j;
    return 0;
}

const char *
web_query_parse(struct web_req *r, struct evkeyvalq *q)
{
    const char *s = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));

    TAILQ_INIT(q);
    if (!s || !*s)
        return NULL;
    if (strlen(s) > QUERY_MAX)
        return "the query string is too long";
    switch (webparse_query(s, PARAM_MAX, q)) {
    case 0:
        break;
    case -1:
        return "malformed query string";
    default:
        return "a query parameter is too long or not valid UTF-8 text";
    }
    return NULL;
}

int
web_query(struct web_req *r, struct evkeyvalq *q)
{
    const char *why = web_query_parse(r, q);

    if (!why)
        return 0;
    web_reply_error(r, 400, "bad_parameter", "%s", why);
    return -1;
}

int
web_param_int(struct web_req *r, struct evkeyvalq *q, const char *name, long lo, long hi,
              long *out)
{
    const char *v = evhttp_find_header(q, name);

    if (!v)
        return 0;
    if (util_parse_long(v, lo, hi, out) != 0) {
        web_reply_error(r, 400, "bad_parameter", "%s must be an integer in %ld..%ld", name,
                        lo, hi);
        return -1;
    }
    return 0;
}

/* ---- authentication and rate limit -------------------------------------------- */

/* True when the token bucket of key has a request left (and takes it). */
static bool
rate_take(struct web *w, uint64_t key)
{
    double now = mono_now(), rate = w->rate_limit, burst = rate * WEB_RATE_BURST;
    struct web_rate *slot = NULL, *stalest = NULL;
    size_t base;

    if (w->rate_limit <= 0 || !w->rate)
        return true;
    if (key == 0)
        key = 1;
    base = (size_t)(key & (RATE_SLOTS - 1));
    for (size_t i = 0; i < RATE_PROBE; i++) {
        struct web_rate *e = &w->rate[(base + i) & (RATE_SLOTS - 1)];
        if (e->key == key) {
            slot = e;
            break;
        }
        if (!stalest || e->key == 0 || (stalest->key != 0 && e->last < stalest->last))
            if (!stalest || stalest->key != 0)
                stalest = e;
    }
    if (!slot) {
        /* A token evicted from the table starts again with a full bucket:
           4096 slots make that rare, and the bucket only protects the loop. */
        slot = stalest;
        slot->key = key;
        slot->tokens = burst;
        slot->last = now;
    }
    slot->tokens += (now - slot->last) * rate;
    if (slot->tokens > burst)
        slot->tokens = burst;
    slot->last = now;
    if (slot->tokens < 1)
        return false;
    slot->tokens -= 1;
    return true;
}

/* PRODUCT.md: the JSON API also takes the web session.  A cookie
   authenticates reads; a request that changes something must also carry
   the session's CSRF token in X-CSRF-Token (a cross-site form or fetch can
   send the cookie, never that header's value). */
static int
auth_session(struct web_req *r)
{
    const char *csrf = evhttp_find_header(evhttp_request_get_input_headers(r->req),
                                          "X-CSRF-Token");
    uint64_t key = 0;
    int rc = session_load(r);

    if (rc < 0) {
        web_reply_error(r, 500, "internal", "database error");
        return -1;
    }
    if (rc == 0) {
        web_reply_error(r, 401, "unauthorized", "an API token is required "
                                                "(Authorization: Bearer TOKEN)");
        return -1;
    }
    if (r->method != EVHTTP_REQ_GET && !session_csrf_ok(r, csrf)) {
        web_reply_error(r, 403, "csrf", "a request with the session cookie that changes "
                                        "something needs the X-CSRF-Token header");
        return -1;
    }
    memcpy(&key, r->sess.id_hash, sizeof(key));
    if (!rate_take(r->w, key)) {
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", "1");
        web_reply_error(r, 429, "rate_limited", "more than %d requests per second",
                        r->w->rate_limit);
        return -1;
    }
    return 0;
}

int
web_auth(struct web_req *r)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    const char *h = evhttp_find_header(in, "Authorization");
    unsigned char hash[DB_HASH_LEN];
    uint64_t key = 0;
    const char *tok;
    int64_t user;
    int rc;

    if (!h && evhttp_find_header(in, "Cookie"))
        return auth_session(r);
    rc = webparse_bearer(h, BEARER_MAX, &tok);
    if (rc == -1) {
        web_reply_error(r, 401, "unauthorized", "an API token is required "
                                                "(Authorization: Bearer TOKEN)");
        return -1;
    }
    if (rc != 0) {
        web_reply_error(r, 401, "unauthorized", "unknown API token");
        return -1;
    }
    if (db_hash(tok, hash) != 0) {
        web_reply_error(r, 500, "internal", "cannot hash the token");
        return -1;
    }
    rc = db_api_token_user(r->w->p.db, hash, r->now, &user);
    if (rc < 0) {
        web_reply_error(r, 500, "internal", "database error");
        return -1;
    }
    if (rc == 0) {
        web_reply_error(r, 401, "unauthorized", "unknown API token");
        return -1;
    }
    memcpy(&key, hash, sizeof(key));
    if (!rate_take(r->w, key)) {
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", "1");
        web_reply_error(r, 429, "rate_limited", "more than %d requests per second",
                        r->w->rate_limit);
        return -1;
    }
    r->user = user;
    return 0;
}

int
web_token_new(char out[WEB_TOKEN_LEN + 1], const char *prefix)
{
    unsigned char rnd[32];
    size_t plen = strlen(prefix), n;
    static const char hex[] = "0123456789abcdef";

    if (plen + 64 > WEB_TOKEN_LEN || tlsctx_random(rnd, sizeof(rnd)) != 0)
        return -1;
    memcpy(out, prefix, plen);
    n = plen;
    for (size_t i = 0; i < sizeof(rnd); i++) {
        out[n++] = hex[rnd[i] >> 4];
        out[n++] = hex[rnd[i] & 15];
    }
    out[n] = '\0';
    return 0;
}

int
web_host_normalize(const char *in, char *out, size_t outlen)
{
    size_t len = strlen(in), label = 0, start = 0;
    bool all_digits = true;

    if (len > 0 && in[len - 1] == '.')
        len--;
    if (len == 0 || len > 253 || len + 1 > outlen)
        return -1;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? in[i] : '.';

        if (c == '.') {
            if (label == 0 || label > 63 || in[start] == '-' || in[i - 1] == '-')
                return -1;
            if (i == len && all_digits)
                return -1; /* 192.0.2.1, 1.2.3: IP literals, not names */
            label = 0;
            start = i + 1;
            all_digits = true;
            if (i < len)
                out[i] = '.';
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return -1;
        if (c < '0' || c > '9')
            all_digits = false;
        out[i] = c;
        label++;
    }
    out[len] = '\0';
    return 0;
}

/* ---- routing ------------------------------------------------------------------ */

static void
healthz(struct web_req *r)
{
    const char *why = r->w->p.hooks.health ? r->w->p.hooks.health(r->w->p.hooks.arg) : NULL;
    struct evbuffer *b = evbuffer_new();

    if (!b) {
        web_reply(r, 500, NULL, NULL);
        return;
    }
    evbuffer_add_printf(b, "%s\n", why ? why : "ok");
    web_reply(r, why ? 503 : 200, "text/plain; charset=utf-8", b);
    evbuffer_free(b);
}

static void
metrics_page(struct web_req *r)
{
    struct metrics_gauges g;
    struct evbuffer *b = evbuffer_new();

    memset(&g, 0, sizeof(g));
    g.healthy = 1;
    if (r->w->p.hooks.gauges)
        r->w->p.hooks.gauges(r->w->p.hooks.arg, &g);
    g.http_connections = conn_open(r->w->guard);
    histcache_counts(r->w->histcache, &g.history_hits, &g.history_misses);
    if (!b || metrics_render(r->w->p.metrics, &g, b) != 0) {
        if (b)
            evbuffer_free(b);
        web_reply(r, 500, NULL, NULL);
        return;
    }
    web_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b);
    evbuffer_free(b);
}

bool
web_email_ok(const char *e)
{
    const char *at = strchr(e, '@');
    size_t n = strlen(e);

    return n >= 3 && n < DB_EMAIL_MAX && at && at != e && at[1] && !strchr(at + 1, '@') &&
           util_utf8_valid(e, n, true) && !strpbrk(e, " \t<>\"'");
}

size_t
web_parse_id(const char *s, int64_t *id)
{
    size_t n = 0;
    int64_t v = 0;

    if (s[0] < '1' || s[0] > '9')
        return 0;
    while (s[n] >= '0' && s[n] <= '9') {
        if (n >= 18)
            return 0;
        v = v * 10 + (s[n] - '0');
        n++;
    }
    *id = v;
    return n;
}

/* The routes that read the database, in one read transaction (db.h):
   r is answered, or waiting, when this returns. */
static void
route(struct web_req *r, const char *path)
{
    static const char api[] = "/api/v1/time-sources";
    static const char scores[] = "/scores/";

    if (strcmp(path, "/api/v1/account/alerts") == 0) {
        r->route = METRICS_ROUTE_ALERTS;
        alertapi_alerts(r);
        return;
    }

    if (strncmp(path, api, sizeof(api) - 1) == 0) {
        const char *rest = path + sizeof(api) - 1;
        int64_t id;
        size_t n;

        if (*rest == '\0' || strcmp(rest, "/") == 0) {
            r->route = METRICS_ROUTE_SOURCES;
            api_sources(r);
            return;
        }
        if (*rest == '/' && (n = web_parse_id(rest + 1, &id)) > 0 &&
            (rest[1 + n] == '\0' || rest[1 + n] == '/')) {
            const char *sub = rest + 1 + n;
            if (*sub == '/')
                sub++;
            r->route = !*sub                      ? METRICS_ROUTE_SOURCE
                       : strcmp(sub, "rekey") == 0   ? METRICS_ROUTE_REKEY
                       : strcmp(sub, "samples") == 0 ? METRICS_ROUTE_SAMPLES
                       : strcmp(sub, "scores") == 0  ? METRICS_ROUTE_SCORES
                                                     : METRICS_ROUTE_OTHER;
            if (r->route != METRICS_ROUTE_OTHER) {
                api_source(r, id, sub);
                return;
            }
        }
    } else if (strncmp(path, scores, sizeof(scores) - 1) == 0) {
        const char *h = path + sizeof(scores) - 1, *slash = strchr(h, '/');
        char host[DB_HOST_MAX + 8];
        size_t hl = slash ? (size_t)(slash - h) : 0;

        if (slash && hl > 0 && hl < sizeof(host) &&
            (strcmp(slash, "/json") == 0 || strcmp(slash, "/log") == 0)) {
            memcpy(host, h, hl);
            host[hl] = '\0';
            r->route = slash[1] == 'j' ? METRICS_ROUTE_COMPAT_JSON : METRICS_ROUTE_COMPAT_LOG;
            compat_scores(r, host, slash + 1);
            return;
        }
    }
    r->route = METRICS_ROUTE_OTHER;
    if (strncmp(path, "/api/", 5) != 0 && strncmp(path, "/monitoring/", 12) != 0 &&
        strncmp(path, scores, sizeof(scores) - 1) != 0) {
        r->route = METRICS_ROUTE_PAGE;
        if (page_route(r, path))
            return;
        page_error(r, 404, "There is no such page.");
        return;
    }
    web_reply_error(r, 404, "not_found", "no such path");
}

static void
dispatch(struct evhttp_request *req, void *arg)
{
    struct web *w = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    struct web_req *r = calloc(1, sizeof(*r));

    if (!r) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    conn_dispatched(w->guard, req);
    r->w = w;
    r->req = req;
    r->user = -1;
    r->now = (int64_t)time(NULL);
    r->method = evhttp_request_get_command(req);
    if (r->method == EVHTTP_REQ_HEAD)
        r->method = EVHTTP_REQ_GET;
    if (!path || !*path)
        path = "/";
    if (strcmp(path, "/monitoring/submit") != 0 &&
        evbuffer_get_length(evhttp_request_get_input_buffer(req)) > WEB_MAX_BODY) {
        /* evhttp's own cap is the submit route's (MONWIRE_MAX_BODY). */
        r->route = METRICS_ROUTE_OTHER;
        web_reply_error(r, 413, "too_large", "the body is over %d bytes", WEB_MAX_BODY);
        return;
    }
    /* The monitor API writes (submit): outside the read transaction. */
    if (strcmp(path, "/monitoring/get_work") == 0) {
        r->route = METRICS_ROUTE_GET_WORK;
        monapi_get_work(r);
        return;
    }
    if (strcmp(path, "/monitoring/submit") == 0) {
        r->route = METRICS_ROUTE_SUBMIT;
        monapi_submit(r);
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        r->route = METRICS_ROUTE_HEALTHZ;
        if (r->method != EVHTTP_REQ_GET)
            web_reply_error(r, 405, "method_not_allowed", "use GET");
        else
            healthz(r);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        r->route = METRICS_ROUTE_METRICS;
        if (r->method != EVHTTP_REQ_GET)
            web_reply_error(r, 405, "method_not_allowed", "use GET");
        else
            metrics_page(r);
        return;
    }
    /* One read transaction for the whole handler rather than one per
       query; it ends before the loop runs anything else. */
    if (db_read_begin(w->p.db) != 0) {
        web_reply_error(r, 500, "internal", "database error");
        return;
    }
    route(r, path);
    db_read_end(w->p.db);
}

struct web *
web_new(const struct web_params *p, char *err, size_t errlen)
{
    struct web *w = calloc(1, sizeof(*w));
    struct conn_limits cl;

    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->p = *p;
    /* Descriptors besides the connections: two per probe in flight, and
       the database, logs, listeners, DNS, alert deliveries. */
    cl.max_total = conn_total_limit(p->cfg->max_connections, 2 * p->cfg->max_in_flight + 256);
    cl.max_per_addr = p->cfg->max_conn_per_addr;
    cl.header_timeout = p->cfg->header_timeout;
    cl.body_timeout = p->cfg->body_timeout;
    w->rate = calloc(RATE_SLOTS, sizeof(*w->rate));
    w->http = evhttp_new(p->base);
    w->throttle_acct = throttle_new(THROTTLE_FREE_ACCOUNT);
    w->throttle_addr = throttle_new(THROTTLE_FREE_ADDRESS);
    if (w->http)
        w->guard = conn_guard_new(p->base, w->http, &cl, p->metrics);
    if (!w->rate || !w->http || !w->guard || !w->throttle_acct || !w->throttle_addr) {
        snprintf(err, errlen, "out of memory");
        web_free(w);
        return NULL;
    }
    w->pwhash = pwhash_new(p->base, 0, err, errlen);
    if (!w->pwhash) {
        web_free(w);
        return NULL;
    }
    w->secure_cookies = strncmp(p->cfg->public_url, "https://", 8) == 0;
    web_reload(w, p->cfg, p->rate_limit);
    evhttp_set_max_headers_size(w->http, WEB_MAX_HEADERS);
    evhttp_set_max_body_size(w->http, MONWIRE_MAX_BODY);
    evhttp_set_timeout(w->http, WEB_TIMEOUT);
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(w->http, dispatch, w);
    for (size_t i = 0; i < p->cfg->nlisten; i++) {
        const struct config_listen *l = &p->cfg->listen[i];
        struct evhttp_bound_socket *bs =
            evhttp_bind_socket_with_handle(w->http, l->addr, l->port);
        if (!bs) {
            snprintf(err, errlen, "cannot listen on %s%s%s:%u: %s",
                     strchr(l->addr, ':') ? "[" : "", l->addr,
                     strchr(l->addr, ':') ? "]" : "", l->port, strerror(errno));
            web_free(w);
            return NULL;
        }
        conn_guard_listener(w->guard, evhttp_bound_socket_get_listener(bs));
        log_info("http: listening on %s%s%s:%u", strchr(l->addr, ':') ? "[" : "", l->addr,
                 strchr(l->addr, ':') ? "]" : "", l->port);
    }
    log_info("http: at most %d connections, %d per address; headers within %d s, "
             "bodies within %d s",
             cl.max_total, cl.max_per_addr, cl.header_timeout, cl.body_timeout);
    return w;
}

void
web_free(struct web *w)
{
    if (!w)
        return;
    while (w->waiting) {
        struct web_req *r = w->waiting;
        if (r->cancel)
            r->cancel(r); /* frees its state, then web_req_abandon(r) */
        else
            web_req_abandon(r);
    }
    /* The waiting requests cancelled their hashing jobs above. */
    pwhash_free(w->pwhash);
    throttle_free(w->throttle_acct);
    throttle_free(w->throttle_addr);
    monsel_free(w);
    histcache_free(w->histcache);
    conn_guard_free(w->guard); /* before the connections go */
    if (w->http)
        evhttp_free(w->http);
    /* After the connections: answers still being sent hold references. */
    monapi_free(w);
    free(w->rate);
    free(w);
}

void
web_reload(struct web *w, const struct config *cfg, int rate_limit)
{
    w->p.cfg = cfg;
    w->allow_private = cfg->allow_private;
    w->rate_limit = rate_limit;
}
