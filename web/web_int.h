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

struct web {
    struct web_params p;
    struct evhttp *http;
    struct web_rate *rate; /* token buckets, by token hash */
    size_t rate_n;
    int rate_limit;
    bool allow_private;
    struct web_req *waiting; /* requests answered later (DNS), for web_free */
};

struct web_req {
    struct web *w;
    struct evhttp_request *req;
    enum metrics_route route;
    int method;                 /* enum evhttp_cmd_type */
    int64_t user;               /* after web_auth: the caller; -1 none */
    int64_t now;                /* Unix s at arrival */
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
/* Parse an optional integer parameter in [lo, hi]; absent keeps *out.
   -1 after a 400 reply naming it. */
int web_param_int(struct web_req *r, struct evkeyvalq *q, const char *name, long lo,
                  long hi, long *out);

/* True when s (len bytes) is valid UTF-8 without NUL or C0 controls. */
bool web_text_ok(const char *s, size_t len);

/* Handlers (api.c, compat.c, monapi.c). */
void api_sources(struct web_req *r);                 /* /api/v1/time-sources */
void api_source(struct web_req *r, int64_t id, const char *sub); /* .../{id}[/sub] */
void compat_scores(struct web_req *r, const char *host, const char *what);
/* GET/PUT /api/v1/account/alerts (account.c). */
void account_alerts(struct web_req *r);
/* The monitor API (monapi.c): GET /monitoring/get_work, POST /monitoring/submit. */
void monapi_get_work(struct web_req *r);
void monapi_submit(struct web_req *r);

#endif
