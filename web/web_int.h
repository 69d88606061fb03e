/* web_int.h - what the files of web/ share and nobody else sees: the
 * server struct, the per-request context, replies, authentication and
 * parameter parsing.  Every request gets one struct web_req; exactly one
 * web_reply*() call answers it and frees it (a handler that waits, e.g. on
 * DNS, keeps it until then). */
#ifndef NTSPOOL_WEB_WEB_INT_H
#define NTSPOOL_WEB_WEB_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "web/web.h"

struct evhttp;
struct evhttp_request;
struct evbuffer;
struct evkeyvalq;
struct web_rate;
struct conn_guard;
struct pwhash;
struct throttle;
struct histcache;

struct web {
    struct web_params p;
    struct evhttp *http;
    struct conn_guard *guard; /* connection limits and deadlines (conn.c) */
    struct web_rate *rate; /* token buckets, by token hash */
    size_t rate_n;
    int rate_limit;
    bool allow_private;
    struct web_req *waiting; /* requests answered later (DNS), for web_free */
    struct pwhash *pwhash;   /* password hashing off the loop (account.c) */
    struct throttle *throttle_acct; /* failed logins per account (account.c) */
    struct throttle *throttle_addr; /* and per client address */
    bool secure_cookies;     /* public_url is https: cookies get Secure */
    struct db_monitor *mons; /* the monitors' names, cached (monsel.c) */
    size_t nmons;
    int64_t mons_loaded;     /* Unix s of the last load */
    bool mons_valid;
    struct histcache *histcache; /* the graph rows of recent details pages */
    struct monapi_cache *work; /* the rendered work lists (monapi.c) */
};

/* The web session of a request (session.c), once session_load found one. */
struct web_session {
    bool on;                            /* a valid session came with the request */
    unsigned char id_hash[DB_HASH_LEN]; /* what the database keys it by */
    char csrf[DB_CSRF_MAX];             /* the token every form and mutating API
                                           call must carry */
    char email[DB_EMAIL_MAX];
    bool is_admin;
    int64_t created, expires;
};

struct web_req {
    struct web *w;
    struct evhttp_request *req;
    enum metrics_route route;
    int method;                 /* enum evhttp_cmd_type */
    int64_t user;               /* after web_auth: the caller; -1 none */
    int64_t now;                /* Unix s at arrival */
    struct web_session sess;    /* after session_load (pages; the API by cookie) */
    /* A request waiting for something (list of struct web.waiting). */
    struct web_req *next, **prevp;
    void (*cancel)(struct web_req *r); /* undo the wait when the client leaves */
    void *wait;                 /* the handler's state while waiting */
};

/* Send status with body (may be NULL) of content type ctype, count it,
   free r.  The body buffer's contents are moved. */
void web_reply(struct web_req *r, int status, const char *ctype, struct evbuffer *body);
/* Reply with j (stolen; NULL means out of memory: 500). */
void web_reply_json(struct web_req *r, int status, json_t *j);
/* Send what w gathered (flushed here into w->b) as application/json with
   status, or a 500 when w failed; frees w->b either way. */
struct jsonw;
void web_reply_jsonw(struct web_req *r, int status, struct jsonw *w);
/* {"error":{"code","message"}} with status. */
void web_reply_error(struct web_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 204, no body. */
void web_reply_empty(struct web_req *r, int status);

/* Authenticate the bearer API token: 0 and r->user set, or -1 after a
   401 / 429 reply (r is then gone). */
int web_auth(struct web_req *r);

/* Mark r as waiting: web_free and a client that disconnects call cancel(r)
   (which must free its wait state and then call web_req_abandon). */
void web_req_wait(struct web_req *r, void (*cancel)(struct web_req *r), void *state);
/* Stop waiting (call before replying to a waiting request). */
void web_req_unwait(struct web_req *r);
/* Free a request that will never be answered (its client is gone). */
void web_req_abandon(struct web_req *r);

/* The request body as a JSON object, or -1 after a 400/413 reply. */
int web_body_json(struct web_req *r, json_t **out);

/* Query parameters of the request (decoded); the caller clears them with
   evhttp_clear_headers.  -1 after a 400 reply on a malformed query. */
int web_query(struct web_req *r, struct evkeyvalq *q);
/* The same without replying: NULL and q filled (cleared by the caller), or
   what is wrong (q then empty). */
const char *web_query_parse(struct web_req *r, struct evkeyvalq *q);
/* Parse an optional integer parameter in [lo, hi]; absent keeps *out.
   -1 after a 400 reply naming it. */
int web_param_int(struct web_req *r, struct evkeyvalq *q, const char *name, long lo,
                  long hi, long *out);

/* True when s (len bytes) is valid UTF-8 without NUL or C0 controls. */
bool web_text_ok(const char *s, size_t len);

/* The decimal id at the start of s ("123" or "123/..."): its length, or 0. */
size_t web_parse_id(const char *s, int64_t *id);

/* Handlers (api.c, compat.c, monapi.c). */
void api_sources(struct web_req *r);                 /* /api/v1/time-sources */
void api_source(struct web_req *r, int64_t id, const char *sub); /* .../{id}[/sub] */
void compat_scores(struct web_req *r, const char *host, const char *what);
/* GET/PUT /api/v1/account/alerts (alertapi.c). */
void alertapi_alerts(struct web_req *r);
/* Check new alert settings (the e-mail address; the webhook URL, and unless
   allow_private its host's addresses, resolved without blocking), then call
   done exactly once: code NULL when they are fine, else an error code
   ("invalid_email", "invalid_webhook") and a message.  r may wait meanwhile
   (web_req_wait).  Shared by the API and the account page. */
struct db_alert_settings;
typedef void alertapi_done_fn(struct web_req *r, const struct db_alert_settings *as,
                              const char *code, const char *why);
void alertapi_check(struct web_req *r, const struct db_alert_settings *as,
                    alertapi_done_fn *done);

/* ---- monitors by name or id, and the selection of samples (monsel.c) ------------ */

#define MONSEL_ECHO_MAX 64 /* bytes of an unknown monitor= name echoed back */

/* The cached monitor with this id (id >= 0) or name (id < 0), NULL when
   none (a miss reloads the list, at most once a second).  Valid until the
   next monsel_* call. */
const struct db_monitor *monsel_find(struct web *w, int64_t id, const char *name, int64_t now);
/* The name of monitor id, "" when unknown; valid until the next monsel_* call. */
const char *monsel_name(struct web *w, int64_t id, int64_t now);
/* A monitor= value (name or id; NULL, "" or "*": all) into *id (-1: all):
   0, or -1 with why (plain text, names what is unknown) filled. */
int monsel_parse(struct web_req *r, const char *mon, int64_t *id, char *why, size_t whylen);
/* kind=, monitor=, since=, limit= of the query string into q (kind and
   monitor -1 when absent, limit capped at WEB_MAX_PAGE): 0, or -1 after a
   400 reply. */
struct db_sample_query;
int monsel_query(struct web_req *r, struct db_sample_query *q);
/* Free the cache (web_free). */
void monsel_free(struct web *w);
/* The monitor API (monapi.c): GET /monitoring/get_work, POST /monitoring/submit. */
void monapi_get_work(struct web_req *r);
void monapi_free(struct web *w);
void monapi_submit(struct web_req *r);

/* ---- time source operations of the API and the pages (srcop.c) ------------------ */

#define SRCOP_DEFAULT_PORT 4460

enum srcop_status {
    SRCOP_OK = 0,
    SRCOP_INVALID_HOST, /* not a DNS name by PRODUCT.md's rule */
    SRCOP_INVALID_PORT, /* not in 1..65535 */
    SRCOP_DUPLICATE,    /* host and port already registered (by anyone) */
    SRCOP_PRIVATE,      /* resolves only to loopback/private/link-local */
    SRCOP_BUSY,         /* the database is busy */
    SRCOP_ERROR,        /* database error, out of memory */
};

/* Check a new source: the host (normalised into host) and the port, then
   that no active source has them.  Reads only. */
enum srcop_status srcop_check(struct web_req *r, const char *in, long port,
                              char host[DB_HOST_MAX]);
/* A sentence for a status, for the pages (plain text). */
const char *srcop_message(enum srcop_status st);

/* Called once with the outcome of srcop_add: on SRCOP_OK id and token (valid
   during the call only, wiped after it) are set; otherwise 0 and NULL. */
typedef void srcop_added_fn(struct web_req *r, enum srcop_status st, const char *host,
                            int port, int64_t id, const char *token);
/* Add a checked source of r->user with its first token (one transaction),
   after resolving its name unless allow_private is on.  done runs exactly
   once, maybe before this returns, unless the client leaves while the name
   resolves (then r is abandoned and done never runs). */
void srcop_add(struct web_req *r, const char *host, int port, srcop_added_fn *done);
/* Rekey source id of r->user: 1 and the new token, 0 no such source of
   theirs, -1 error.  Logs and tells the service (hooks.source_changed). */
int srcop_rekey(struct web_req *r, int64_t id, char token[DB_TOKEN_LEN + 1]);
/* Delete source id of r->user: 1 done, 0 no such source of theirs, -1 error. */
int srcop_delete(struct web_req *r, int64_t id);

/* ---- sessions (session.c) --------------------------------------------------------

   The cookie SESSION_COOKIE holds 32 random bytes in hex; the database keeps
   only their SHA-256 (db_session_*), with a CSRF token of 24 random bytes in
   hex.  A session ends [http] session_idle seconds after its last use (the
   expiry moves forward at most once a minute) and session_max seconds after
   the login, whichever comes first.  The cookie is HttpOnly, SameSite=Lax,
   Path=/, and Secure when public_url is https. */
#define SESSION_COOKIE "ntspool_session"
#define SESSION_TOUCH  60 /* s: the expiry is written at most this often (or
                             session_idle / 4 when that is shorter) */

/* Look for the request's session: 1 and r->sess / r->user filled, 0 none
   (no cookie, unknown, expired, or the user blocked), -1 database error
   (nothing replied).  Extends the idle expiry.  Calling it twice is cheap:
   the second call returns the first's answer. */
int session_load(struct web_req *r);
/* Log user in: a new session, its cookie in the reply headers, r->sess
   filled.  0 / -1 (nothing replied). */
int session_start(struct web_req *r, int64_t user);
/* Log out: delete the request's session and clear the cookie. */
void session_end(struct web_req *r);
/* The token given (may be NULL) equals the session's CSRF token (constant
   time); false without a session. */
bool session_csrf_ok(const struct web_req *r, const char *given);

/* Before a session (the login, register and set-password forms), a signed
   double submit: the cookie SESSION_PRE_COOKIE ("__Host-" in front when
   cookies are Secure) holds 16 random bytes in hex, the form's CSRF field
   their HMAC-SHA256 under the service secret (db_token_mac).  Another site
   can neither read the cookie nor write a matching pair, so a form it posts
   (login CSRF) is refused even without an Origin header.  The cookie is
   HttpOnly, SameSite=Strict, Path=/, lives SESSION_PRE_MAX_AGE and is
   reused while valid (several tabs share it). */
#define SESSION_PRE_COOKIE  "ntspool_pre"
#define SESSION_PRE_MAX_AGE 86400
/* The token for this request's forms, with the cookie in the reply headers
   when the request had none: 0 / -1. */
int session_pre_token(struct web_req *r, char token[DB_MAC_LEN + 1]);
/* The token given (may be NULL) matches the request's cookie (constant
   time). */
bool session_pre_ok(const struct web_req *r, const char *given);

/* ---- pages (page.c): what page handlers build on --------------------------------- */

/* Route an HTML path; false when path is none of the pages (the caller
   answers 404). */
bool page_route(struct web_req *r, const char *path);
/* html_begin with the request's viewer (logged in or not). */
int page_begin(struct web_req *r, struct evbuffer *b, const char *title);
/* Send a page: security headers, no-store, text/html; frees r. */
void page_reply(struct web_req *r, int status, struct evbuffer *b);
/* 303 See Other to a local path (a literal of ours, never user input). */
void page_redirect(struct web_req *r, const char *path);
/* A whole error page with status and a message (text, escaped). */
void page_error(struct web_req *r, int status, const char *msg);
/* The logged-in user: 0 with r->user and r->sess set, or -1 after a 303
   to /login (or a 500). */
int page_user(struct web_req *r);
/* The body of a POST as a form (application/x-www-form-urlencoded, at most
   PAGE_FORM_MAX bytes, fields of valid UTF-8 text without controls, at most
   PAGE_FIELD_MAX bytes each) into q (the caller clears it with
   evhttp_clear_headers).  Refuses a cross-site Origin, and, when the
   request has a session, a csrf field that is not the session's: 403.
   -1 after a 400/403/405/413 reply. */
#define PAGE_FORM_MAX  8192
#define PAGE_FIELD_MAX 1024
int page_form(struct web_req *r, struct evkeyvalq *q);
/* The query string of a page into q (web_query_parse); -1 after a 400 page. */
int page_query(struct web_req *r, struct evkeyvalq *q);
/* The client address (for the login throttle), "" when unknown. */
const char *page_peer(struct web_req *r);

/* ---- accounts (account.c) and administration (admin.c) --------------------------- */

void account_register(struct web_req *r);     /* GET, POST /register */
void account_login(struct web_req *r);        /* GET, POST /login */
void account_logout(struct web_req *r);       /* POST /logout */
void account_set_password(struct web_req *r); /* GET, POST /set-password */
/* /account and /account/tokens[/{id}/delete]: sub is what follows /account */
void account_page(struct web_req *r, const char *sub);
/* /admin[/...]: sub is what follows /admin ("" or "/users", ...) */
void admin_page(struct web_req *r, const char *sub);

/* ---- time sources (srcpage.c, details.c) ------------------------------------------ */

/* /time-sources[/...]: sub is what follows /time-sources. */
void srcpage_page(struct web_req *r, const char *sub);
/* GET /time-sources/{id}: the details page of st, the caller's own source. */
void details_page(struct web_req *r, const struct db_source_status *st);
/* host, or host:port when port is not the default, into out; returns out. */
#define SRCPAGE_LABEL_MAX (DB_HOST_MAX + 8)
const char *srcpage_label(char out[SRCPAGE_LABEL_MAX], const char *host, int port);
/* A score with one decimal into out (no "-0.0"); "n/a" when not finite. */
const char *srcpage_score_text(char out[16], double v);
/* A <td> with a kind's current score: the number, "n/a" or "no score yet",
   with its score-* class (the text says it too: colour is never alone) and
   data-label (what a narrow screen shows before the value). */
int srcpage_score_td(struct evbuffer *b, const struct score_current *cur, const char *label);
/* A certificate's expiry: the date, flagged (class warn) when expired or
   within 14 days; "not seen yet" when unknown. */
int srcpage_cert(struct evbuffer *b, int64_t not_after, int64_t now);

#endif
