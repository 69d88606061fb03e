/* alertmsg.h - the pure parts of alerts (PRODUCT.md "JSON API",
 * GET/PUT /api/v1/account/alerts): checking an e-mail address and a
 * webhook URL, the webhook's JSON body, the e-mail message written from that
 * body, and the retry schedule.  No I/O, no clock: web/alerts.c sends, and
 * web/account.c answers the API. */
#ifndef NTSPOOL_WEB_ALERTMSG_H
#define NTSPOOL_WEB_ALERTMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "db/db.h"
#include "scorer/score.h"

#define ALERTMSG_EMAIL_MAX   254           /* bytes of an address (RFC 5321 path) */
#define ALERTMSG_CERT_WINDOW (14 * 86400)  /* s: a certificate this close to its end */
#define ALERTMSG_REPEAT_S    86400         /* s: one message per source and cause */
#define ALERTMSG_TOKEN_MAX   64            /* bytes of a Message-ID token */

/* One event, as the webhook body carries it. */
struct alertmsg_event {
    int64_t time;
    int64_t source;
    const char *uuid;
    const char *host;
    int port;
    enum db_alert_cause cause;
    const char *reason;        /* NULL: none */
    double score[SCORE_KINDS]; /* NAN: no current score */
};

/* True for a plain address local@domain: at most ALERTMSG_EMAIL_MAX bytes,
   printable ASCII only (no blank, CR, LF, quotes, angle brackets, commas or
   other specials), a local part of 1..64 atext characters and dots (no dot
   first, last or twice in a row), a domain of at least two labels that
   passes the host rule (web_host_normalize's letters, digits, hyphens). */
bool alertmsg_email_ok(const char *addr);

/* What alertmsg_webhook_check learned of a URL. */
struct alertmsg_url {
    bool https;
    bool literal;         /* the host is an IP address */
    char host[DB_HOST_MAX]; /* without IPv6 brackets, lowercase */
    int port;             /* the URL's, or the scheme's default */
};

/* Check a webhook URL: at most DB_URL_MAX - 1 bytes of printable ASCII,
   parsed by libcurl's URL parser; https://, or http:// to loopback
   (localhost, 127.0.0.0/8, ::1) when allow_private; an IP literal host must
   be public unless allow_private (a name is resolved and checked by the
   caller).  0 and *out, or -1 with a reason in why (why_len bytes). */
int alertmsg_webhook_check(const char *url, bool allow_private, struct alertmsg_url *out,
                           char *why, size_t why_len);

/* The webhook body (PRODUCT.md): {"time", "source", "uuid", "host", "port",
   "cause", "reason", "scores": {kind: score or null}} as compact JSON text,
   malloc'd (caller frees), or NULL when out of memory. */
char *alertmsg_body(const struct alertmsg_event *ev);

/* The e-mail of an event from its webhook body (payload, as alertmsg_body
   wrote it): headers From, To, Subject, Date (of now), Message-ID
   (<token.time@from's domain>), MIME-Version, Content-Type text/plain UTF-8,
   Auto-Submitted, then a plain text body; every line ends in CR LF.  from
   and to must pass alertmsg_email_ok.  0 and *out (malloc'd) with *len, or
   -1 on a malformed payload or out of memory. */
int alertmsg_mail(const json_t *payload, const char *from, const char *to, int64_t now,
                  const char *token, char **out, size_t *len);

/* Seconds to wait after `failed` failed attempts (1 min, 5 min, 30 min,
   2 h), or -1: give up (after the fifth). */
int alertmsg_backoff(int failed);

/* The cause's subject line ending, e.g. "left the pool". */
const char *alertmsg_cause_text(enum db_alert_cause c);

#endif
