/* ke.c - one NTS-KE exchange as a state machine on libevent.
 *
 * CONNECT: a non-blocking TCP connect of our own, so that a refused or
 * silent port (connect_refused, connect_timeout) is told apart from
 * everything after it (ke_timeout).  TCP_NODELAY, since Nagle and delayed
 * ACKs cost about 40 ms per exchange otherwise.
 * TLS: an OpenSSL bufferevent in connecting mode; a failed handshake is
 * mapped to one reason code by tlsctx_classify_failure().
 * EXCHANGE: the request in a single write (ntpsec <= 1.2.4 reads only the
 * first TLS record), then bytes are collected up to NKE_MAX_MSG_LEN until End
 * of Message parses.  A close without close_notify after a complete response
 * is normal.
 * One deadline timer bounds the whole exchange; finish() ends every path. */
#include "monitor/ke.h"

#include <arpa/inet.h>
#include <errno.h>
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
    struct event *ev_deadline;
    struct event *ev_later;         /* delivers failures found synchronously */
    struct bufferevent *bev;
    struct ssl_st *ssl;             /* owned until the bufferevent takes it */
    char host[RESULT_NAME_MAX];
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct nke_request req;         /* pointers cleared after the build */
    uint8_t reqbuf[NKE_MAX_REQ_LEN];
    size_t reqlen;
    double t_start, t_connected;
    ke_done_fn *done;
    void *arg;
    struct ke_result res;
    struct ke_secrets sec;
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
    if (k->ev_later)
        event_free(k->ev_later);
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
    k->ev_connect = k->ev_deadline = k->ev_later = NULL;
    k->bev = NULL;
    k->ssl = NULL;
    k->fd = -1;
}

static void
wipe_free(struct ke *k)
{
    /* Keys and cookies leave no copy in freed memory. */
    explicit_bzero(&k->sec, sizeof(k->sec));
    explicit_bzero(k->reqbuf, sizeof(k->reqbuf));
    free(k);
}

/* End the exchange: stamp the status, deliver once, free everything. */
static void
finish(struct ke *k, enum ke_status st)
{
    if (k->state == KE_ST_DONE)
        return;
    k->state = KE_ST_DONE;
    release(k);
    k->res.status = st;
    k->res.duration = ke_monotime() - k->t_start;
    if (st != KE_OK)
        log_debug("ke %s: %s: %s", k->host, result_ke_status_str(st), k->res.detail);
    k->done(&k->res, st == KE_OK ? &k->sec : NULL, k->arg);
    wipe_free(k);
}

static void
on_later(evutil_socket_t fd, short what, void *arg)
{
    struct ke *k = arg;

    (void)fd;
    (void)what;
    finish(k, k->res.status);
}

/* A failure found while starting: deliver from the loop, not from ke_start. */
static void
fail_later(struct ke *k, enum ke_status st)
{
    k->res.status = st;
    event_active(k->ev_later, EV_TIMEOUT, 0);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct ke *k = arg;
    double limit = ke_monotime() - k->t_start;

    (void)fd;
    (void)what;
    if (k->state == KE_ST_CONNECT) {
        result_detail(k->res.detail, "TCP connect did not complete in %.1f s", limit);
        finish(k, KE_CONNECT_TIMEOUT);
    } else {
        size_t got = k->bev ? evbuffer_get_length(bufferevent_get_input(k->bev)) : 0;
        result_detail(k->res.detail, "%s not complete after %.1f s (%zu bytes received)",
                      k->state == KE_ST_TLS ? "TLS handshake" : "key exchange", limit, got);
        finish(k, KE_TIMEOUT);
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
    struct nke_response *r = &k->sec.resp;
    enum ke_status st;

    st = nke_parse_response(buf, len, &k->req, r, k->res.detail);
    k->res.next_protocol = r->next_protocol;
    k->res.aead = r->aead;
    k->res.cookies = r->ncookies;
    k->res.cookie_size = r->nkept ? r->cookie_len[0] : 0;
    k->res.compliant_gcm_siv = r->compliant_gcm_siv;
    k->res.n_supported_aeads = r->n_supported_aeads;
    for (int i = 0; i < r->n_supported_aeads; i++) {
        k->res.supported_aeads[i].id = r->supported_aeads[i].id;
        k->res.supported_aeads[i].key_length = r->supported_aeads[i].key_length;
    }
    k->res.n_supported_protocols = r->n_supported_protocols;
    for (int i = 0; i < r->n_supported_protocols; i++)
        k->res.supported_protocols[i] = r->supported_protocols[i];
    if (r->has_server)
        snprintf(k->res.ntp_server, sizeof(k->res.ntp_server), "%s", r->server);
    if (r->has_port)
        k->res.ntp_port = r->port;
    if (st != KE_OK) {
        finish(k, st);
        return;
    }
    if (k->req.shape != NKE_SHAPE_POOL_CAPS) {
        struct ke_secrets *s = &k->sec;

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
                tlsctx_error_detail(k->res.detail, "key export failed", 0);
                finish(k, KE_LOCAL_ERROR);
                return;
            }
        } /* FIXED_KEY: the keys were copied in ke_start */
        s->ncookies = r->nkept;
        for (int i = 0; i < r->nkept; i++) {
            memcpy(s->cookie[i], r->cookie[i], r->cookie_len[i]);
            s->cookie_len[i] = r->cookie_len[i];
            r->cookie[i] = NULL;
        }
        snprintf(s->ntp_server, sizeof(s->ntp_server), "%s", k->res.ntp_server);
        s->ntp_port = k->res.ntp_port;
    }
    finish(k, KE_OK);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    struct ke *k = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in), end;
    const uint8_t *buf;

    if (len > NKE_MAX_MSG_LEN) {
        result_detail(k->res.detail, "response exceeds %d bytes", NKE_MAX_MSG_LEN);
        finish(k, KE_RESPONSE_TOO_LARGE);
        return;
    }
    buf = evbuffer_pullup(in, -1);
    if (!buf) {
        result_detail(k->res.detail, "out of memory");
        finish(k, KE_LOCAL_ERROR);
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
        enum ke_status st;

        k->state = KE_ST_EXCHANGE;
        k->res.handshake_time = ke_monotime() - k->t_connected;
        st = tlsctx_describe(k->ssl, &k->res);
        if (st != KE_OK) {
            finish(k, st);
            return;
        }
        bufferevent_setwatermark(bev, EV_READ, 0, NKE_MAX_MSG_LEN + 1);
        if (bufferevent_write(bev, k->reqbuf, k->reqlen) != 0 ||
            bufferevent_enable(bev, EV_READ) != 0) {
            result_detail(k->res.detail, "cannot queue the request");
            finish(k, KE_LOCAL_ERROR);
        }
        return;
    }
    if (k->state == KE_ST_TLS) {
        unsigned long e = first_ssl_error(bev);
        enum ke_status st;

        if (!e && (what & BEV_EVENT_EOF))
            err = 0;
        st = tlsctx_classify_failure(k->ssl, e, (what & BEV_EVENT_ERROR) ? err : 0,
                                     k->res.detail);
        finish(k, st);
        return;
    }
    /* EXCHANGE: the peer closed or failed before End of Message. */
    {
        size_t got = evbuffer_get_length(bufferevent_get_input(bev));
        unsigned long e = first_ssl_error(bev);

        if (got == 0 && k->req.shape != NKE_SHAPE_PLAIN && k->req.shape != NKE_SHAPE_POOL_KE) {
            result_detail(k->res.detail,
                          "connection closed without a response to the pool request");
            finish(k, KE_POOL_UNSUPPORTED);
            return;
        }
        if (e) {
            char buf[160];
            snprintf(buf, sizeof(buf), "TLS error after %zu response bytes", got);
            tlsctx_error_detail(k->res.detail, buf, e);
        } else if ((what & BEV_EVENT_ERROR) && err) {
            result_detail(k->res.detail, "connection failed after %zu bytes, before "
                          "End of Message: %s", got, strerror(err));
        } else {
            result_detail(k->res.detail,
                          "connection closed after %zu bytes, before End of Message", got);
        }
        finish(k, KE_MALFORMED);
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
        finish(k, connect_errno_status(err, k->res.detail));
        return;
    }
    k->t_connected = ke_monotime();
    k->res.connect_time = k->t_connected - k->t_start;
    k->state = KE_ST_TLS;
    event_free(k->ev_connect);
    k->ev_connect = NULL;
    /* From here the bufferevent owns fd and ssl, even if the call fails. */
    k->bev = bufferevent_openssl_socket_new(k->base, fd, k->ssl, BUFFEREVENT_SSL_CONNECTING,
                                            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    k->fd = -1;
    if (!k->bev) {
        k->ssl = NULL;
        result_detail(k->res.detail, "cannot create the TLS bufferevent");
        finish(k, KE_LOCAL_ERROR);
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(k->bev, 1);
    bufferevent_setcb(k->bev, on_read, NULL, on_event, k);
}

struct ke *
ke_start(struct event_base *base, struct tlsctx *tls, const struct ke_target *t,
         ke_done_fn *done, void *arg)
{
    struct ke *k = calloc(1, sizeof(*k));
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
    result_ke_init(&k->res);
    snprintf(k->host, sizeof(k->host), "%s", t->host);
    k->ev_later = event_new(base, -1, 0, on_later, k);
    k->ev_deadline = evtimer_new(base, on_deadline, k);
    if (!k->ev_later || !k->ev_deadline) {
        release(k);
        free(k);
        return NULL;
    }
    k->state = KE_ST_CONNECT;
    if (t->addrlen > sizeof(k->addr)) {
        result_detail(k->res.detail, "bad address");
        fail_later(k, KE_LOCAL_ERROR);
        return k;
    }
    memcpy(&k->addr, t->addr, t->addrlen);
    k->addrlen = t->addrlen;
    /* Default NTP server: the address we key-exchange with (RFC 8915 4.1.7). */
    if (k->addr.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&k->addr)->sin6_addr,
                  k->res.ntp_server, sizeof(k->res.ntp_server));
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&k->addr)->sin_addr,
                  k->res.ntp_server, sizeof(k->res.ntp_server));

    k->req = *t->req;
    n = nke_build_request(&k->req, k->reqbuf, sizeof(k->reqbuf));
    if (k->req.shape == NKE_SHAPE_POOL_FIXED_KEY && n > 0) {
        k->sec.key_len = k->req.key_len;
        memcpy(k->sec.c2s, k->req.c2s, k->req.key_len);
        memcpy(k->sec.s2c, k->req.s2c, k->req.key_len);
    }
    k->req.token = k->req.uuid = NULL;
    k->req.c2s = k->req.s2c = NULL;
    if (n < 0) {
        result_detail(k->res.detail, "cannot build the request");
        fail_later(k, KE_LOCAL_ERROR);
        return k;
    }
    k->reqlen = (size_t)n;

    tv.tv_sec = t->timeout_ms / 1000;
    tv.tv_usec = (t->timeout_ms % 1000) * 1000;
    evtimer_add(k->ev_deadline, &tv);

    k->ssl = tlsctx_ssl_new(tls, t->host);
    if (!k->ssl) {
        tlsctx_error_detail(k->res.detail, "cannot create the TLS connection", 0);
        fail_later(k, KE_LOCAL_ERROR);
        return k;
    }
    k->fd = socket(k->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (k->fd < 0) {
        result_detail(k->res.detail, "socket: %s", strerror(errno));
        fail_later(k, KE_LOCAL_ERROR);
        return k;
    }
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(k->fd, (struct sockaddr *)&k->addr, k->addrlen) != 0 &&
        errno != EINPROGRESS) {
        fail_later(k, connect_errno_status(errno, k->res.detail));
        return k;
    }
    k->ev_connect = event_new(base, k->fd, EV_WRITE, on_connect, k);
    if (!k->ev_connect || event_add(k->ev_connect, NULL) != 0) {
        result_detail(k->res.detail, "cannot watch the socket");
        fail_later(k, KE_LOCAL_ERROR);
    }
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
