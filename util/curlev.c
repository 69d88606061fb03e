/* curlev.c - libcurl's multi_socket interface driven by libevent
 * (curlev.h): one event per socket libcurl asks us to watch, one timer for
 * its timeouts, and finished transfers collected after each action.  The
 * caller's callback runs after the transfer has left the multi handle. */
#include "util/curlev.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "monitor/tlsctx.h"
#include "util/log.h"
#include "util/util.h"

#define CONNECT_TIMEOUT_MS 10000L

struct sockev {
    struct sockev *next, *prev;
    struct event *ev;
    curl_socket_t fd;
};

struct curlev_req {
    struct curlev *c;
    struct curlev_req *next, *prev;
    CURL *easy;
    struct curl_slist *hdrs, *rcpt, *resolve;
    char *ca_file;
    char *upload; /* SMTP message, and how much of it curl has read */
    size_t upload_len, upload_off;
    char *buf;
    size_t len, cap, max;
    bool too_large;
    curlev_done_fn *done;
    void *arg;
    char err[CURL_ERROR_SIZE];
};

struct curlev {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct curlev_req *reqs;
    struct sockev *socks;
};

static void
req_free(struct curlev_req *r)
{
    struct curlev *c = r->c;

    if (r->prev)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    curl_multi_remove_handle(c->multi, r->easy);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    curl_slist_free_all(r->rcpt);
    curl_slist_free_all(r->resolve);
    free(r->upload);
    free(r->ca_file);
    free(r->buf);
    free(r);
}

static void
collect(struct curlev *c)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(c->multi, &left))) {
        struct curlev_req *r = NULL;
        long status = 0;
        CURLcode rc;
        char err[CURL_ERROR_SIZE + 64];
        curlev_done_fn *done;
        void *arg;
        char *buf;
        size_t len;

        if (m->msg != CURLMSG_DONE)
            continue;
        rc = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (!r)
            continue;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        if (r->too_large)
            snprintf(err, sizeof(err), "answer over %zu bytes", r->max);
        else
            snprintf(err, sizeof(err), "%s", r->err[0] ? r->err : curl_easy_strerror(rc));
        done = r->done;
        arg = r->arg;
        buf = r->buf;
        len = r->len;
        r->buf = NULL;
        req_free(r);
        done(rc == CURLE_OK, status, buf ? buf : "", buf ? len : 0, err, arg);
        free(buf);
    }
}

static void
on_sock(evutil_socket_t fd, short what, void *arg)
{
    struct curlev *c = arg;
    int running, action = (what & EV_READ ? CURL_CSELECT_IN : 0) |
                          (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

    curl_multi_socket_action(c->multi, fd, action, &running);
    collect(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct curlev *c = arg;
    int running;

    (void)fd;
    (void)what;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect(c);
}

static void
sockev_free(struct curlev *c, struct sockev *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    event_free(s->ev);
    free(s);
}

static int
sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct curlev *c = userp;
    struct sockev *s = socketp;
    short kind;

    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(c->multi, fd, NULL);
            sockev_free(c, s);
        }
        return 0;
    }
    kind = (short)(EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
                   (what & CURL_POLL_OUT ? EV_WRITE : 0));
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->fd = fd;
        s->next = c->socks;
        if (c->socks)
            c->socks->prev = s;
        c->socks = s;
        curl_multi_assign(c->multi, fd, s);
    } else {
        event_free(s->ev);
    }
    s->ev = event_new(c->base, fd, kind, on_sock, c);
    if (!s->ev || event_add(s->ev, NULL) != 0)
        return -1;
    return 0;
}

static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    struct curlev *c = userp;
    struct timeval tv;

    (void)m;
    if (timeout_ms < 0) {
        evtimer_del(c->timer);
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return evtimer_add(c->timer, &tv);
}

struct curlev *
curlev_new(struct event_base *base)
{
    struct curlev *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->base = base;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        !(c->multi = curl_multi_init()) || !(c->timer = evtimer_new(base, on_timer, c))) {
        curlev_free(c);
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
}

void
curlev_free(struct curlev *c)
{
    if (!c)
        return;
    while (c->reqs)
        req_free(c->reqs);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    while (c->socks)
        sockev_free(c, c->socks);
    if (c->timer)
        event_free(c->timer);
    free(c);
    curl_global_cleanup();
}

static size_t
write_cb(char *data, size_t size, size_t n, void *arg)
{
    struct curlev_req *r = arg;
    size_t len = size * n;

    if (len > r->max - r->len) {
        r->too_large = true;
        return 0; /* aborts the transfer */
    }
    if (r->len + len + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        char *nb;
        while (cap < r->len + len + 1)
            cap *= 2;
        nb = realloc(r->buf, cap);
        if (!nb)
            return 0;
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, len);
    r->len += len;
    r->buf[r->len] = '\0';
    return len;
}

static CURLcode
ssl_ctx_cb(CURL *e, void *ssl_ctx, void *arg)
{
    struct curlev_req *r = arg;

    (void)e;
    return tlsctx_add_ca(ssl_ctx, r->ca_file) == 0 ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

static size_t
read_cb(char *out, size_t size, size_t n, void *arg)
{
    struct curlev_req *r = arg;
    size_t len = size * n, left = r->upload_len - r->upload_off;

    if (len > left)
        len = left;
    memcpy(out, r->upload + r->upload_off, len);
    r->upload_off += len;
    return len;
}

/* A request with the settings every transfer shares; NULL when out of
   memory.  Not yet in the multi handle (see add). */
static struct curlev_req *
req_new(struct curlev *c, const char *url, const struct curlev_opts *o,
        const char *protocols, curlev_done_fn *done, void *arg)
{
    struct curlev_req *r = calloc(1, sizeof(*r));
    bool ok;

    if (!r)
        return NULL;
    r->c = c;
    r->done = done;
    r->arg = arg;
    r->max = o->max_body;
    r->easy = curl_easy_init();
    if (!r->easy || (o->ca_file && !(r->ca_file = strdup(o->ca_file)))) {
        curl_easy_cleanup(r->easy);
        free(r);
        return NULL;
    }
    r->next = c->reqs;
    if (c->reqs)
        c->reqs->prev = r;
    c->reqs = r;
    ok = curl_easy_setopt(r->easy, CURLOPT_URL, url) == CURLE_OK &&
         curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR,
                          o->protocols ? o->protocols : protocols) == CURLE_OK;
    if (ok && o->resolve) {
        ok = (r->resolve = curl_slist_append(NULL, o->resolve)) != NULL &&
             curl_easy_setopt(r->easy, CURLOPT_RESOLVE, r->resolve) == CURLE_OK;
    }
    if (ok && o->no_proxy)
        ok = curl_easy_setopt(r->easy, CURLOPT_NOPROXY, "*") == CURLE_OK;
    if (!ok) {
        req_free(r);
        return NULL;
    }
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->err);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
                     o->timeout_ms < CONNECT_TIMEOUT_MS ? o->timeout_ms : CONNECT_TIMEOUT_MS);
    if (r->ca_file) {
        curl_easy_setopt(r->easy, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
        curl_easy_setopt(r->easy, CURLOPT_SSL_CTX_DATA, r);
    }
    return r;
}

/* Hand r to the multi handle: r, or NULL (r freed). */
static struct curlev_req *
add(struct curlev_req *r, bool ok)
{
    if (!ok || curl_multi_add_handle(r->c->multi, r->easy) != CURLM_OK) {
        req_free(r);
        return NULL;
    }
    return r;
}

static struct curlev_req *
start(struct curlev *c, const char *url, const struct curlev_opts *o, const char *body,
      size_t len, curlev_done_fn *done, void *arg)
{
    struct curlev_req *r = req_new(c, url, o, "http,https", done, arg);
    char auth[256];
    bool ok;

    if (!r)
        return NULL;
    r->hdrs = curl_slist_append(NULL, "Accept: application/json");
    ok = r->hdrs != NULL;
    if (ok && body)
        ok = (r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json")) != NULL;
    if (ok && o->bearer) {
        if ((size_t)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->bearer) >=
            sizeof(auth))
            ok = false;
        else
            ok = (r->hdrs = curl_slist_append(r->hdrs, auth)) != NULL;
        util_wipe(auth, sizeof(auth));
    }
    curl_easy_setopt(r->easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT,
                     o->user_agent ? o->user_agent : "ntspool-monitor/" NTSPOOL_VERSION);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    if (ok && body)
        ok = curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) ==
                 CURLE_OK &&
             curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, body) == CURLE_OK;
    return add(r, ok);
}

struct curlev_req *
curlev_mail(struct curlev *c, const char *url, const char *from, const char *rcpt,
            const struct curlev_opts *o, const char *msg, size_t len, curlev_done_fn *done,
            void *arg)
{
    struct curlev_req *r = req_new(c, url, o, "smtp,smtps", done, arg);
    char addr[512];
    bool ok;

    if (!r)
        return NULL;
    ok = (r->upload = malloc(len ? len : 1)) != NULL;
    if (ok) {
        memcpy(r->upload, msg, len);
        r->upload_len = len;
    }
    ok = ok && (size_t)snprintf(addr, sizeof(addr), "<%s>", rcpt) < sizeof(addr) &&
         (r->rcpt = curl_slist_append(NULL, addr)) != NULL &&
         (size_t)snprintf(addr, sizeof(addr), "<%s>", from) < sizeof(addr) &&
         curl_easy_setopt(r->easy, CURLOPT_MAIL_FROM, addr) == CURLE_OK &&
         curl_easy_setopt(r->easy, CURLOPT_MAIL_RCPT, r->rcpt) == CURLE_OK;
    curl_easy_setopt(r->easy, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    curl_easy_setopt(r->easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(r->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(r->easy, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(r->easy, CURLOPT_READDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    return add(r, ok);
}

struct curlev_req *
curlev_get(struct curlev *c, const char *url, const struct curlev_opts *o,
           curlev_done_fn *done, void *arg)
{
    return start(c, url, o, NULL, 0, done, arg);
}

struct curlev_req *
curlev_post(struct curlev *c, const char *url, const struct curlev_opts *o,
            const char *body, size_t len, curlev_done_fn *done, void *arg)
{
    return start(c, url, o, body, len, done, arg);
}

void
curlev_cancel(struct curlev_req *r)
{
    if (r)
        req_free(r);
}

bool
curlev_url_ok(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    bool ok = false;

    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto out;
    if (strcmp(scheme, "https") == 0)
        ok = true;
    else if (strcmp(scheme, "http") == 0)
    {
        struct in_addr a4;
        ok = strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
             (inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127);
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}
