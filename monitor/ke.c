/* ke.c - one NTS-KE exchange as a state machine on libevent.
 *
 * CONNECT: a non-blocking TCP connect of our own, so that a refused or
 * silent port (connect_refused, connect_timeout) is told apart from
 * everything after it (ke_timeout).  TCP_NODELAY, since Nagle and delayed
 * ACKs cost about 40 ms per exchange otherwise.
 * TLS: an OpenSSL bufferevent in connecting mode (the SSL object is made
 * once TCP is up); a failed handshake is
 * mapped to one reason code by tlsctx_classify_failure().
 * EXCHANGE: the request in a single write (ntpsec <= 1.2.4 reads only the
 * first TLS record), then bytes are collected up to NKE_MAX_MSG_LEN until End
 * of Message parses.  A close without close_notify after a complete response
 * is normal.
 * One deadline timer bounds the whole exchange; finish() ends every path.
 *
 * Memory: thousands of exchanges may wait in a handshake at once, so the
 * struct holds only what the wait needs.  The struct ke_result is built on
 * the stack when the exchange ends (res_begin(), with the TLS facts read from
 * the SSL object, which is still alive then), the secrets likewise, and the
 * request is kept at its exact length. */
#include "monitor/ke.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "monitor/aead.h"
#include "monitor/tlsctx.h"
#include "util/log.h"

enum ke_state { KE_ST_CONNECT, KE_ST_TLS, KE_ST_EXCHANGE, KE_ST_DONE };

struct ke {
    enum ke_state state;
    struct event_base *base;
    struct tlsctx *tls;
    int fd;                         /* owned until the bufferevent takes it */
    struct event *ev_connect;
    struct event *ev_deadline;      /* also delivers failures found while starting */
    struct bufferevent *bev;
    struct ssl_st *ssl;             /* owned until the bufferevent takes it */
    char *host;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct nke_request req;         /* pointers cleared after the build */
    uint8_t *reqbuf;                /* reqlen bytes; may hold keys and a token */
    size_t reqlen;
    uint8_t fixed_c2s[NKE_MAX_KEY_LEN], fixed_s2c[NKE_MAX_KEY_LEN]; /* FIXED_KEY */
    size_t fixed_len;
    double t_start, t_connected;
    double connect_time, handshake_time; /* -1 until known */
    bool later;                     /* fail_later() was called: */
    enum ke_status later_status;    /* the outcome to deliver */
    char *later_detail;             /* and its detail (NULL: none) */
    ke_done_fn *done;
    void *arg;
};

double
ke_monotime(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
release(struct ke *k)
{
    if (k->ev_connect)
        event_free(k->ev_connect);
    if (k->ev_deadline)
        event_free(k->ev_deadline);
    if (k->bev) {
        /* The response holds cookies: wipe what is left of it (complete()
           pulled it into one chain already). */
        struct evbuffer *in = bufferevent_get_input(k->bev);
        size_t n = evbuffer_get_length(in);
        unsigned char *p = n ? evbuffer_pullup(in, -1) : NULL;

        if (p)
            explicit_bzero(p, n);
        bufferevent_free(k->bev);   /* closes fd, frees ssl */
    }
    else {
        if (k->ssl)
            tlsctx_ssl_free(k->ssl);
        if (k->fd >= 0)
            close(k->fd);
    }
    k->ev_connect = k->ev_deadline = NULL;
    k->bev = NULL;
    k->ssl = NULL;
    k->fd = -1;
}

static void
wipe_free(struct ke *k)
{
    /* Keys, cookies and tokens leave no copy in freed memory. */
    explicit_bzero(k->fixed_c2s, sizeof(k->fixed_c2s));
    explicit_bzero(k->fixed_s2c, sizeof(k->fixed_s2c));
    if (k->reqbuf)
        explicit_bzero(k->reqbuf, k->reqlen);
    free(k->reqbuf);
    free(k->later_detail);
    free(k->host);
    free(k);
}

/* The result as far as the exchange got, for an ending to complete: the
   timings, the default NTP server (the address we key-exchange with, RFC
   8915 4.1.7) and, after the handshake, the TLS facts.  Returns what
   tlsctx_describe() says of the session (KE_OK before the handshake). */
static enum ke_status
res_begin(struct ke *k, struct ke_result *r)
{
    result_ke_init(r);
    r->connect_time = k->connect_time;
    r->handshake_time = k->handshake_time;
    if (k->addrlen > 0 && k->addr.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&k->addr)->sin6_addr,
                  r->ntp_server, sizeof(r->ntp_server));
    else if (k->addrlen > 0)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&k->addr)->sin_addr, r->ntp_server,
                  sizeof(r->ntp_server));
    if (k->state == KE_ST_EXCHANGE && k->ssl)
        return tlsctx_describe(k->ssl, r);
    return KE_OK;
}

/* End the exchange: stamp the status on r (built by res_begin), deliver
   once, free everything. */
static void
finish(struct ke *k, enum ke_status st, struct ke_result *r, const struct ke_secrets *sec)
{
    if (k->state == KE_ST_DONE)
        return;
    k->state = KE_ST_DONE;
    release(k);
    r->status = st;
    r->duration = ke_monotime() - k->t_start;
    if (st != KE_OK)
        log_debug("ke %s: %s: %s", k->host, result_ke_status_str(st), r->detail);
    k->done(r, st == KE_OK ? sec : NULL, k->arg);
    wipe_free(k);
}

/* res_begin, then the detail, then finish: the ending of most paths. */
static void fail(struct ke *k, enum ke_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct ke *k, enum ke_status st, const char *fmt, ...)
{
    struct ke_result r;
    va_list ap;

    res_begin(k, &r);
    if (!r.detail[0]) {
        va_start(ap, fmt);
        vsnprintf(r.detail, sizeof(r.detail), fmt, ap);
        va_end(ap);
    }
    finish(k, st, &r, NULL);
}

/* A failure found while starting: deliver from the loop, not from ke_start,
   through the deadline timer (one event less per exchange in flight). */
static void
fail_later(struct ke *k, enum ke_status st, const char *detail)
{
    k->later = true;
    k->later_status = st;
    free(k->later_detail);
    k->later_detail = detail[0] ? strdup(detail) : NULL;
    event_active(k->ev_deadline, EV_TIMEOUT, 0);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct ke *k = arg;
    double limit = ke_monotime() - k->t_start;

    (void)fd;
    (void)what;
    if (k->later) {
        fail(k, k->later_status, "%s", k->later_detail ? k->later_detail : "");
    } else if (k->state == KE_ST_CONNECT) {
        fail(k, KE_CONNECT_TIMEOUT, "TCP connect did not complete in %.1f s", limit);
    } else {
        size_t got = k->bev ? evbuffer_get_length(bufferevent_get_input(k->bev)) : 0;
        fail(k, KE_TIMEOUT, "%s not complete after %.1f s (%zu bytes received)",
             k->state == KE_ST_TLS ? "TLS handshake" : "key exchange", limit, got);
    }
}

static enum ke_status
connect_errno_status(int err, char *detail)
{
    result_detail(detail, "connect: %s", strerror(err));
    switch (err) {
    case ECONNREFUSED:
    case ECONNRESET:
    case EHOSTUNREACH:
    case EHOSTDOWN:
        return KE_CONNECT_REFUSED;
    case ETIMEDOUT:
        return KE_CONNECT_TIMEOUT;
    default:
        /* ENETUNREACH, EADDRNOTAVAIL, EAFNOSUPPORT...: this host cannot reach
           that network at all, which is the monitor's problem. */
        return KE_LOCAL_ERROR;
    }
}

/* The response is complete (End of Message seen, end bytes); validate it. */
static void
complete(struct ke *k, const uint8_t *buf, size_t len)
{
    struct ke_result res;
    struct nke_response resp;
    struct ke_secrets sec;
    struct nke_response *r = &resp;
    enum ke_status st;

    memset(&resp, 0, sizeof(resp));
    memset(&sec, 0, sizeof(sec));
    res_begin(k, &res);
    st = nke_parse_response(buf, len, &k->req, r, res.detail);
    res.next_protocol = r->next_protocol;
    res.aead = r->aead;
    res.cookies = r->ncookies;
    res.cookie_size = r->nkept ? r->cookie_len[0] : 0;
    res.compliant_gcm_siv = r->compliant_gcm_siv;
    res.n_supported_aeads = r->n_supported_aeads;
    for (int i = 0; i < r->n_supported_aeads; i++) {
        res.supported_aeads[i].id = r->supported_aeads[i].id;
        res.supported_aeads[i].key_length = r->supported_aeads[i].key_length;
    }
    res.n_supported_protocols = r->n_supported_protocols;
    for (int i = 0; i < r->n_supported_protocols; i++)
        res.supported_protocols[i] = r->supported_protocols[i];
    if (r->has_server)
        snprintf(res.ntp_server, sizeof(res.ntp_server), "%.*s",
                 (int)sizeof(res.ntp_server) - 1, r->server);
    if (r->has_port)
        res.ntp_port = r->port;
    if (st == KE_OK && k->req.shape != NKE_SHAPE_POOL_CAPS) {
        struct ke_secrets *s = &sec;

        s->aead = r->aead;
        s->key_len = aead_key_len(r->aead);
        if (k->req.shape == NKE_SHAPE_PLAIN || k->req.shape == NKE_SHAPE_POOL_KE) {
            /* chrony's rule for AEAD 30: the exporter context names 15 unless
               both sides agreed on the compliant context (record 1024). */
            uint16_t ctx_id = (uint16_t)r->aead;
            if (r->aead == AEAD_AES_128_GCM_SIV && !r->compliant_gcm_siv)
                ctx_id = AEAD_AES_SIV_CMAC_256;
            if (s->key_len == 0 ||
                tlsctx_export_keys(k->ssl, NKE_PROTO_NTPV4, ctx_id, s->key_len, s->c2s,
                                   s->s2c) != 0) {
                tlsctx_error_detail(res.detail, "key export failed", 0);
                st = KE_LOCAL_ERROR;
            }
        } else {
            /* FIXED_KEY: the keys we sent, kept since ke_start. */
            memcpy(s->c2s, k->fixed_c2s, k->fixed_len);
            memcpy(s->s2c, k->fixed_s2c, k->fixed_len);
        }
        s->ncookies = r->nkept;
        for (int i = 0; i < r->nkept; i++) {
            memcpy(s->cookie[i], r->cookie[i], r->cookie_len[i]);
            s->cookie_len[i] = r->cookie_len[i];
        }
        snprintf(s->ntp_server, sizeof(s->ntp_server), "%s", res.ntp_server);
        s->ntp_port = res.ntp_port;
    }
    explicit_bzero(&resp, sizeof(resp));
    finish(k, st, &res, &sec);
    explicit_bzero(&sec, sizeof(sec));
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    struct ke *k = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in), end;
    const uint8_t *buf;

    if (len > NKE_MAX_MSG_LEN) {
        fail(k, KE_RESPONSE_TOO_LARGE, "response exceeds %d bytes", NKE_MAX_MSG_LEN);
        return;
    }
    buf = evbuffer_pullup(in, -1);
    if (!buf) {
        fail(k, KE_LOCAL_ERROR, "out of memory");
        return;
    }
    if (nke_message_end(buf, len, &end))
        complete(k, buf, len);  /* bytes after End of Message are a violation */
}

/* The earliest real OpenSSL error of the bufferevent, or 0.  libevent pushes
   SSL_get_error()'s own code (a small number with no library) as well as the
   queue's errors, and pops from the end: drain all, keep the earliest real. */
static unsigned long
first_ssl_error(struct bufferevent *bev)
{
    unsigned long e, first = 0;

    while ((e = bufferevent_get_openssl_error(bev)) != 0)
        if (tlsctx_error_is_library(e))
            first = e;
    return first;
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
    struct ke *k = arg;
    int err = EVUTIL_SOCKET_ERROR();

    if (what & BEV_EVENT_CONNECTED) {
        k->state = KE_ST_EXCHANGE;
        k->handshake_time = ke_monotime() - k->t_connected;
        /* The TLS facts are read when the exchange ends: only the verdict
           now (printing the certificate's names twice per probe showed). */
        if (tlsctx_session_status(k->ssl) != KE_OK) {
            struct ke_result r;

            finish(k, res_begin(k, &r), &r, NULL);
            return;
        }
        bufferevent_setwatermark(bev, EV_READ, 0, NKE_MAX_MSG_LEN + 1);
        if (bufferevent_write(bev, k->reqbuf, k->reqlen) != 0 ||
            bufferevent_enable(bev, EV_READ) != 0) {
            fail(k, KE_LOCAL_ERROR, "cannot queue the request");
            return;
        }
        /* The request is in the output buffer: our copy, which may hold keys
           or a token, goes now. */
        explicit_bzero(k->reqbuf, k->reqlen);
        free(k->reqbuf);
        k->reqbuf = NULL;
        return;
    }
    if (k->state == KE_ST_TLS) {
        unsigned long e = first_ssl_error(bev);
        struct ke_result r;
        enum ke_status st;

        if (!e && (what & BEV_EVENT_EOF))
            err = 0;
        res_begin(k, &r);
        st = tlsctx_classify_failure(k->ssl, e, (what & BEV_EVENT_ERROR) ? err : 0,
                                     r.detail);
        finish(k, st, &r, NULL);
        return;
    }
    /* EXCHANGE: the peer closed or failed before End of Message. */
    {
        size_t got = evbuffer_get_length(bufferevent_get_input(bev));
        unsigned long e = first_ssl_error(bev);
        struct ke_result r;

        if (got == 0 && k->req.shape != NKE_SHAPE_PLAIN && k->req.shape != NKE_SHAPE_POOL_KE) {
            fail(k, KE_POOL_UNSUPPORTED,
                 "connection closed without a response to the pool request");
            return;
        }
        res_begin(k, &r);
        if (e) {
            char buf[160];
            snprintf(buf, sizeof(buf), "TLS error after %zu response bytes", got);
            tlsctx_error_detail(r.detail, buf, e);
        } else if ((what & BEV_EVENT_ERROR) && err) {
            result_detail(r.detail, "connection failed after %zu bytes, before "
                          "End of Message: %s", got, strerror(err));
        } else {
            result_detail(r.detail,
                          "connection closed after %zu bytes, before End of Message", got);
        }
        finish(k, KE_MALFORMED, &r, NULL);
    }
}

static void
on_connect(evutil_socket_t fd, short what, void *arg)
{
    struct ke *k = arg;
    int err = 0;
    socklen_t len = sizeof(err);

    (void)what;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err) {
        struct ke_result r;

        res_begin(k, &r);
        finish(k, connect_errno_status(err, r.detail), &r, NULL);
        return;
    }
    k->t_connected = ke_monotime();
    k->connect_time = k->t_connected - k->t_start;
    k->state = KE_ST_TLS;
    /* Made only now: a probe waiting for a silent server's SYN-ACK holds
       no TLS state. */
    k->ssl = tlsctx_ssl_new(k->tls, k->host);
    if (!k->ssl) {
        char detail[RESULT_DETAIL_MAX] = "";

        tlsctx_error_detail(detail, "cannot create the TLS connection", 0);
        fail(k, KE_LOCAL_ERROR, "%s", detail);
        return;
    }
    /* From here the bufferevent owns fd and ssl, even if the call fails. */
    k->bev = bufferevent_openssl_socket_new(k->base, fd, k->ssl, BUFFEREVENT_SSL_CONNECTING,
                                            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    k->fd = -1;
    if (!k->bev) {
        k->ssl = NULL;
        fail(k, KE_LOCAL_ERROR, "cannot create the TLS bufferevent");
        return;
    }
    /* Freed only now that the bufferevent watches the socket: the interest
       in writability never lapses, so the kernel's epoll set is not touched
       (the connect event is persistent for this: libevent would drop a
       one-shot one before this callback). */
    event_free(k->ev_connect);
    k->ev_connect = NULL;
    bufferevent_openssl_set_allow_dirty_shutdown(k->bev, 1);
    bufferevent_setcb(k->bev, on_read, NULL, on_event, k);
}

struct ke *
ke_start(struct event_base *base, struct tlsctx *tls, const struct ke_target *t,
         ke_done_fn *done, void *arg)
{
    struct ke *k = calloc(1, sizeof(*k));
    uint8_t req[NKE_MAX_REQ_LEN];
    char detail[RESULT_DETAIL_MAX] = "";
    long n;
    int one = 1;
    struct timeval tv;

    if (!k)
        return NULL;
    k->fd = -1;
    k->base = base;
    k->tls = tls;
    k->done = done;
    k->arg = arg;
    k->t_start = ke_monotime();
    k->connect_time = k->handshake_time = -1;
    k->host = strdup(t->host);
    k->ev_deadline = evtimer_new(base, on_deadline, k);
    if (!k->host || !k->ev_deadline) {
        release(k);
        free(k->host);
        free(k);
        return NULL;
    }
    k->state = KE_ST_CONNECT;
    if (t->addrlen > sizeof(k->addr)) {
        fail_later(k, KE_LOCAL_ERROR, "bad address");
        return k;
    }
    memcpy(&k->addr, t->addr, t->addrlen);
    k->addrlen = t->addrlen;

    k->req = *t->req;
    n = nke_build_request(&k->req, req, sizeof(req));
    if (k->req.shape == NKE_SHAPE_POOL_FIXED_KEY && n > 0) {
        k->fixed_len = k->req.key_len;
        memcpy(k->fixed_c2s, k->req.c2s, k->req.key_len);
        memcpy(k->fixed_s2c, k->req.s2c, k->req.key_len);
    }
    k->req.token = k->req.uuid = NULL;
    k->req.c2s = k->req.s2c = NULL;
    if (n < 0) {
        fail_later(k, KE_LOCAL_ERROR, "cannot build the request");
        return k;
    }
    k->reqbuf = malloc(n > 0 ? (size_t)n : 1);
    if (!k->reqbuf) {
        explicit_bzero(req, (size_t)n);
        fail_later(k, KE_LOCAL_ERROR, "out of memory");
        return k;
    }
    memcpy(k->reqbuf, req, (size_t)n);
    k->reqlen = (size_t)n;
    explicit_bzero(req, (size_t)n);

    tv.tv_sec = t->timeout_ms / 1000;
    tv.tv_usec = (t->timeout_ms % 1000) * 1000;
    evtimer_add(k->ev_deadline, &tv);

    k->fd = socket(k->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (k->fd < 0) {
        result_detail(detail, "socket: %s", strerror(errno));
        fail_later(k, KE_LOCAL_ERROR, detail);
        return k;
    }
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(k->fd, (struct sockaddr *)&k->addr, k->addrlen) != 0 &&
        errno != EINPROGRESS) {
        enum ke_status st = connect_errno_status(errno, detail);

        fail_later(k, st, detail);
        return k;
    }
    k->ev_connect = event_new(base, k->fd, EV_WRITE | EV_PERSIST, on_connect, k);
    if (!k->ev_connect || event_add(k->ev_connect, NULL) != 0)
        fail_later(k, KE_LOCAL_ERROR, "cannot watch the socket");
    return k;
}

void
ke_cancel(struct ke *k)
{
    if (!k || k->state == KE_ST_DONE)
        return;
    k->state = KE_ST_DONE;
    release(k);
    wipe_free(k);
}
