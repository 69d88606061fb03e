/* curlev.h - HTTP(S) requests and SMTP submissions with libcurl's multi
 * interface on a libevent loop (ntspool-monitor talking to the service,
 * ntspoold's alerts): libcurl tells us which
 * sockets to watch and when to wake it; nothing blocks the loop (name
 * resolution runs in libcurl's resolver thread).
 *
 * Every request: only http and https (smtp and smtps for mail), or fewer
 * when asked, no redirects (the bearer key must not follow one), certificate
 * and name verification on (an extra CA adds to the system roots), a total
 * time limit and a bound on the answer's size. */
#ifndef NTSPOOL_UTIL_CURLEV_H
#define NTSPOOL_UTIL_CURLEV_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct curlev;
struct curlev_req;

struct curlev_opts {
    const char *ca_file; /* extra CA file for HTTPS, or NULL */
    const char *bearer;  /* Authorization: Bearer ..., or NULL (copied) */
    long timeout_ms;     /* whole request */
    size_t max_body;     /* answers longer than this fail */
    const char *protocols;  /* curl's list, e.g. "https"; NULL: "http,https" */
    const char *resolve;    /* "HOST:PORT:ADDR": connect there and only there
                               (CURLOPT_RESOLVE), or NULL */
    bool no_proxy;          /* ignore the proxy environment variables */
    const char *user_agent; /* NULL: "ntspool-monitor/VERSION" */
};

/* The outcome: ok false when no HTTP answer came (err says why), else
   status and the body (NUL-terminated, valid during the call only).  Runs
   from the event loop, never from inside a curlev_* call; it may start new
   requests. */
typedef void curlev_done_fn(bool ok, long status, const char *body, size_t len,
                            const char *err, void *arg);

/* NULL when libcurl cannot be set up. */
struct curlev *curlev_new(struct event_base *base);
/* Abort every request (no callbacks) and free.  NULL ok. */
void curlev_free(struct curlev *c);

/* Start a GET, or a POST of len bytes of JSON (copied).  NULL on failure
   (done is then never called). */
struct curlev_req *curlev_get(struct curlev *c, const char *url,
                              const struct curlev_opts *o, curlev_done_fn *done, void *arg);
struct curlev_req *curlev_post(struct curlev *c, const char *url,
                               const struct curlev_opts *o, const char *body, size_t len,
                               curlev_done_fn *done, void *arg);
/* Submit one message of len bytes (copied; lines end in CR LF, headers
   included) to the SMTP relay at url (smtp:// with STARTTLS when offered,
   or smtps://), envelope from and rcpt (bare addresses).  o->max_body and
   o->bearer are not used.  done gets the relay's last reply code as status.
   NULL on failure (done is then never called). */
struct curlev_req *curlev_mail(struct curlev *c, const char *url, const char *from,
                               const char *rcpt, const struct curlev_opts *o,
                               const char *msg, size_t len, curlev_done_fn *done,
                               void *arg);
/* Abort one request; done is not called. */
void curlev_cancel(struct curlev_req *r);

/* True for an https:// URL, or an http:// one whose host is loopback
   (localhost, 127.0.0.0/8, ::1): where a bearer key may be sent. */
bool curlev_url_ok(const char *url);

#endif
