/* web.h - ntspoold's HTTP server on libevent's evhttp: the JSON API, the
 * NTP-pool-compatible score history, /metrics, /healthz and the web pages
 * with accounts and sessions (PRODUCT.md; page.c for the pages).
 *
 * web/ sits on top of db/ and the service: it reads and writes through db_
 * calls and tells the service about added, rekeyed and deleted sources
 * through the hooks of struct web_hooks (which feed the scheduler).  Every
 * request is answered from the event loop; a request that needs a name
 * resolved waits for evdns without blocking. */
#ifndef NTSPOOL_WEB_WEB_H
#define NTSPOOL_WEB_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/config.h"
#include "web/metrics.h"

struct event_base;
struct evdns_base;
struct web;

#define WEB_MAX_BODY        (64 * 1024) /* bytes: larger bodies are 413 */
#define WEB_MAX_HEADERS     (16 * 1024) /* bytes of all request headers */
#define WEB_TIMEOUT         10          /* s: reading a request, idle keep-alive */
#define WEB_RATE_DEFAULT    100         /* requests/s per API token */
#define WEB_RATE_BURST      4           /* bucket size, in seconds of rate */
#define WEB_TOKEN_PREFIX    "ntsp_"     /* API tokens: prefix + 64 hex digits */
#define WEB_TOKEN_LEN       80          /* room for a prefix of up to 16 + 64 hex */
#define WEB_MAX_PAGE        1000        /* samples and scores per request */

/* What the service lets the HTTP side see and do. */
struct web_hooks {
    /* A source was added or rekeyed (start or update probing) or deleted
       (stop).  Called after the database change committed. */
    void (*source_changed)(void *arg, int64_t id, bool deleted);
    /* Samples of these sources were stored and committed (the monitor
       API's submit): their in-pool verdicts may have changed (alerts). */
    void (*scored)(void *arg, const int64_t *sources, size_t n);
    /* NULL when the monitor is healthy, else why not (for /healthz). */
    const char *(*health)(void *arg);
    /* Fill the gauges /metrics shows. */
    void (*gauges)(void *arg, struct metrics_gauges *g);
    /* True while bulk writes must wait (the WAL is past its bound and the
       checkpointer is catching up): the monitor API answers 503. */
    bool (*writes_held)(void *arg);
    void *arg;
};

struct web_params {
    struct event_base *base;
    struct evdns_base *dns;
    struct db *db;
    struct metrics *metrics;
    const unsigned char *secret; /* DB_SECRET_LEN bytes, borrowed */
    const struct config *cfg;    /* borrowed; web_reload() for a new one */
    int rate_limit;              /* requests/s per token; 0: none */
    struct web_hooks hooks;
};

/* Bind every cfg->listen address and serve.  NULL with a message in err. */
struct web *web_new(const struct web_params *p, char *err, size_t errlen);
/* Stop listening, drop open connections (pending replies are abandoned). */
void web_free(struct web *w);
/* Take the reloadable settings of cfg (allow_private, rate limit). */
void web_reload(struct web *w, const struct config *cfg, int rate_limit);

/* A new random API token (prefix + 64 hex digits) into out
   (WEB_TOKEN_LEN + 1 bytes); also the monitor key format.  0 or -1. */
int web_token_new(char out[WEB_TOKEN_LEN + 1], const char *prefix);

/* PRODUCT.md's host rule: a DNS name of letters, digits, hyphens and dots,
   labels of 1..63 characters not starting or ending with a hyphen, at most
   253 characters, not an IP literal and not ending in an all-digit label.
   Writes the lowercase form without a trailing dot into out (DB_HOST_MAX).
   0 valid, -1 not. */
int web_host_normalize(const char *in, char *out, size_t outlen);

/* The e-mail rule of accounts (user-add and the register form): 3 to
   DB_EMAIL_MAX - 1 bytes of UTF-8 text without controls, exactly one '@'
   with something on both sides, no blank, quote or angle bracket. */
bool web_email_ok(const char *e);

#endif
