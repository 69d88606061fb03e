/* ntpx.c - one NTS-protected NTP exchange (RFC 8915 section 5) on libevent.
 *
 * The socket is unconnected: replies are matched by source address and port,
 * and ICMP errors never surface (Linux reports them on unconnected UDP
 * sockets only with IP_RECVERR, which we do not set).  A reply that fails any
 * check of pkt_parse_response() is ignored and we keep waiting, so a spoofed
 * packet can fail nothing; only the timeout ends a silent exchange.
 * t1 is the kernel's software transmit timestamp (SO_TIMESTAMPING, read from
 * the error queue) and t4 its software receive timestamp; the user-space
 * clock read around sendto() is the fallback when the kernel gives none. */
#include "monitor/ntpx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "monitor/aead.h"
#include "monitor/dns.h"
#include "monitor/nke.h"
#include "monitor/pkt.h"
#include "monitor/tlsctx.h"
#include "util/log.h"

#define NTPX_MAX_READS 64           /* datagrams handled per wake-up */

struct ntpx {
    struct event_base *base;
    struct dns_req *dreq;
    int fd;
    struct ntpx_sock *sock;         /* fd belongs to it: not ours to close */
    struct event *ev_read;
    struct event *ev_timeout;
    struct event *ev_later;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char server[NKE_MAX_SERVER_LEN + 1];
    int family;
    struct pkt_request req;
    uint8_t rnd[NTPX_RANDOM_LEN];   /* given at the start, when have_rnd */
    bool have_rnd;
    uint8_t c2s[AEAD_MAX_KEY_LEN], s2c[AEAD_MAX_KEY_LEN];
    uint8_t cookie[PKT_MAX_COOKIE_LEN];
    struct timespec t1_user;
    struct timespec t1_kernel;
    bool have_t1_kernel;
    bool sent;
    unsigned ignored;
    const char *last_why;
    ntpx_done_fn *done;
    void *arg;
    bool finished;
    int timeout_ms;
    int dns_timeout_ms;
    struct ntp_result res;
};

_Static_assert(NTPX_RANDOM_LEN == sizeof(((struct pkt_request *)0)->xmt) +
                                     sizeof(((struct pkt_request *)0)->uid) +
                                     sizeof(((struct pkt_request *)0)->nonce),
               "NTPX_RANDOM_LEN is one request's random fields");

static void
release(struct ntpx *x)
{
    dns_cancel(x->dreq);
    x->dreq = NULL;
    if (x->ev_read)
        event_free(x->ev_read);
    if (x->ev_timeout)
        event_free(x->ev_timeout);
    if (x->ev_later)
        event_free(x->ev_later);
    x->ev_read = x->ev_timeout = x->ev_later = NULL;
    if (x->fd >= 0 && !x->sock)
        close(x->fd);
    x->fd = -1;
}

void
ntpx_sock_init(struct ntpx_sock *s)
{
    s->fd = -1;
    s->family = AF_UNSPEC;
}

void
ntpx_sock_close(struct ntpx_sock *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static void
wipe_free(struct ntpx *x)
{
    explicit_bzero(x->rnd, sizeof(x->rnd));
    explicit_bzero(x->c2s, sizeof(x->c2s));
    explicit_bzero(x->s2c, sizeof(x->s2c));
    explicit_bzero(x->cookie, sizeof(x->cookie));
    free(x);
}

/* End the exchange; resp, the reply accepted (NULL: none), hands its first
   cookie on. */
static void
finish_with(struct ntpx *x, enum ntp_status st, const struct pkt_response *resp)
{
    const uint8_t *cookie = NULL;
    size_t cookie_len = 0;

    if (x->finished)
        return;
    x->finished = true;
    release(x);
    x->res.status = st;
    if (st == NTP_OK && resp && resp->ncookies > 0) {
        cookie = resp->cookies[0];
        cookie_len = resp->cookie_len[0];
    }
    if (st != NTP_OK)
        log_debug("ntp %s: %s: %s", x->server, result_ntp_status_str(st), x->res.detail);
    x->done(&x->res, cookie, cookie_len, x->arg);
    wipe_free(x);
}

static void
finish(struct ntpx *x, enum ntp_status st)
{
    finish_with(x, st, NULL);
}

static void send_request(struct ntpx *x);

static void
on_later(evutil_socket_t fd, short what, void *arg)
{
    struct ntpx *x = arg;

    (void)fd;
    if (what & EV_WRITE)            /* the address is known: send */
        send_request(x);
    else
        finish(x, x->res.status);
}

static void
fail_later(struct ntpx *x, enum ntp_status st)
{
    x->res.status = st;
    event_active(x->ev_later, EV_TIMEOUT, 0);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct ntpx *x = arg;

    (void)fd;
    (void)what;
    if (x->dreq) {
        result_detail(x->res.detail, "resolving %s took over %d ms", x->server,
                      x->dns_timeout_ms);
        finish(x, NTP_DNS_FAILED);
        return;
    }
    if (x->ignored)
        result_detail(x->res.detail, "no valid answer in %d ms (%u packets ignored, last: %s)",
                      x->timeout_ms, x->ignored, x->last_why ? x->last_why : "?");
    else
        result_detail(x->res.detail, "no answer in %d ms", x->timeout_ms);
    finish(x, NTP_TIMEOUT);
}

static bool
from_server(const struct ntpx *x, const struct sockaddr_storage *from)
{
    if (from->ss_family != x->addr.ss_family)
        return false;
    if (from->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)from;
        const struct sockaddr_in *b = (const struct sockaddr_in *)&x->addr;
        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
        const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&x->addr;
        return a->sin6_port == b->sin6_port &&
               memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
    }
}

/* The software timestamp of a received message or error-queue entry. */
static bool
msg_timestamp(struct msghdr *msg, struct timespec *ts)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct scm_timestamping))) {
            struct scm_timestamping st;
            memcpy(&st, CMSG_DATA(c), sizeof(st));
            if (st.ts[0].tv_sec || st.ts[0].tv_nsec) {
                *ts = st.ts[0];
                return true;
            }
        }
    }
    return false;
}

/* Read the transmit timestamp of our request from the error queue; before
   the request is sent (a shared socket), empty the queue instead. */
static void
drain_errqueue(struct ntpx *x)
{
    for (int i = 0; i < NTPX_MAX_READS; i++) {
        uint8_t data[64];
        union {
            char buf[512];
            struct cmsghdr align;
        } control;
        struct iovec iov = {data, sizeof(data)};
        struct msghdr msg;
        struct timespec ts;

        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof(control.buf);
        if (recvmsg(x->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
            return;
        if (!x->sent)
            continue;               /* an earlier exchange's: dropped */
        if (msg_timestamp(&msg, &ts)) {
            /* One request, one timestamp: no need to look for more. */
            x->t1_kernel = ts;
            x->have_t1_kernel = true;
            return;
        }
    }
}

static void
ts_add(const struct timespec *ts, double *out)
{
    *out = (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

static void
accept_reply(struct ntpx *x, enum pkt_resp_status st, const struct pkt_response *p,
             const struct timespec *t4)
{
    struct ntp_result *r = &x->res;
    const struct timespec *t1 = x->have_t1_kernel ? &x->t1_kernel : &x->t1_user;
    uint64_t n1 = pkt_ntp_from_timespec(t1), n4 = pkt_ntp_from_timespec(t4);

    r->stratum = p->stratum;
    r->leap = p->leap;
    r->precision = p->precision;
    r->root_delay = p->root_delay;
    r->root_dispersion = p->root_disp;
    r->refid = p->refid;
    r->cookies_received = (int)p->ncookies;
    ts_add(t1, &r->t1);
    ts_add(t4, &r->t4);
    r->t2 = pkt_ntp_to_unix(p->t2, t1->tv_sec);
    r->t3 = pkt_ntp_to_unix(p->t3, t1->tv_sec);
    if (st == PKT_RESP_KOD) {
        enum ntp_status s = NTP_KOD_DENY;

        snprintf(r->kiss, sizeof(r->kiss), "%s", p->kiss);
        if (strcmp(p->kiss, "NTSN") == 0)
            s = NTP_NTS_NAK;
        else if (strcmp(p->kiss, "RSTR") == 0)
            s = NTP_KOD_RSTR;
        else if (strcmp(p->kiss, "RATE") == 0)
            s = NTP_KOD_RATE;
        result_detail(r->detail, "kiss-o'-death %s", p->kiss);
        finish_with(x, s, p);
        return;
    }
    pkt_offset_delay(n1, p->t2, p->t3, n4, &r->offset, &r->delay);
    if (!x->have_t1_kernel)
        result_detail(r->detail, "no kernel transmit timestamp: t1 from user space");
    finish_with(x, NTP_OK, p);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
    struct ntpx *x = arg;

    (void)what;
    drain_errqueue(x);
    for (int i = 0; i < NTPX_MAX_READS && !x->finished; i++) {
        uint8_t buf[PKT_MAX_LEN];
        union {
            char buf[512];
            struct cmsghdr align;
        } control;
        struct sockaddr_storage from;
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr msg;
        struct timespec t4;
        struct pkt_response resp;   /* here, not in x: most of a probe's wait
                                       for a reply is spent without one */
        enum pkt_resp_status st;
        ssize_t n;

        memset(&msg, 0, sizeof(msg));
        msg.msg_name = &from;
        msg.msg_namelen = sizeof(from);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof(control.buf);
        n = recvmsg(fd, &msg, MSG_DONTWAIT);
        if (n < 0) {
            /* EAGAIN ends the batch; any ICMP-derived error is ignored. */
            return;
        }
        if (!msg_timestamp(&msg, &t4))
            clock_gettime(CLOCK_REALTIME, &t4);
        if (!from_server(x, &from) || (msg.msg_flags & MSG_TRUNC)) {
            x->ignored++;
            x->last_why = "not from the server";
            continue;
        }
        st = pkt_parse_response(buf, (size_t)n, &x->req, x->s2c, &resp);
        if (st == PKT_RESP_KOD && strcmp(resp.kiss, "NTSN") &&
            strcmp(resp.kiss, "DENY") && strcmp(resp.kiss, "RSTR") &&
            strcmp(resp.kiss, "RATE")) {
            /* Other kiss codes (INIT, STEP, ...) are informational (RFC 5905
               7.4): an authentic one is an ordinary stratum-0 answer, which
               the scorer judges as unsynchronised. */
            if (resp.authenticated) {
                result_detail(x->res.detail, "stratum 0 with kiss code %s", resp.kiss);
                resp.kiss[0] = '\0';
                st = PKT_RESP_OK;
            } else {
                st = PKT_RESP_IGNORE;
                resp.why = "unauthenticated kiss code";
            }
        }
        if (st == PKT_RESP_IGNORE) {
            x->ignored++;
            x->last_why = resp.why;
            log_debug("ntp %s: ignored a packet: %s", x->server, x->last_why);
            explicit_bzero(&resp, sizeof(resp));
            continue;
        }
        if (!x->have_t1_kernel)
            drain_errqueue(x);
        accept_reply(x, st, &resp, &t4);   /* frees x */
        explicit_bzero(&resp, sizeof(resp));
        return;
    }
}

static void
send_request(struct ntpx *x)
{
    uint8_t buf[PKT_MAX_LEN];
    uint8_t *rnd = x->rnd;
    long len;
    int flags = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE |
                SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY;
    struct timeval tv;

    if (x->addr.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&x->addr)->sin6_addr, x->res.address,
                  sizeof(x->res.address));
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&x->addr)->sin_addr, x->res.address,
                  sizeof(x->res.address));
    /* One draw for the three (each call to the DRBG locks it), unless the
       caller drew them with more. */
    if (!x->have_rnd && tlsctx_random(rnd, NTPX_RANDOM_LEN) != 0) {
        result_detail(x->res.detail, "no random bytes");
        finish(x, NTP_LOCAL_ERROR);
        return;
    }
    memcpy(x->req.xmt, rnd, sizeof(x->req.xmt));
    memcpy(x->req.uid, rnd + sizeof(x->req.xmt), sizeof(x->req.uid));
    memcpy(x->req.nonce, rnd + sizeof(x->req.xmt) + sizeof(x->req.uid), sizeof(x->req.nonce));
    explicit_bzero(x->rnd, sizeof(x->rnd));
    len = pkt_build_request(&x->req, buf, sizeof(buf));
    if (len < 0) {
        result_detail(x->res.detail, "cannot build the request");
        finish(x, NTP_LOCAL_ERROR);
        return;
    }
    if (x->sock && x->sock->fd >= 0 && x->sock->family == x->addr.ss_family) {
        /* The probe's socket, used before: what an earlier exchange left in
           the error queue must not pass for our transmit timestamp. */
        x->fd = x->sock->fd;
        drain_errqueue(x);
    } else {
        x->fd = socket(x->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (x->fd < 0) {
            result_detail(x->res.detail, "socket: %s", strerror(errno));
            finish(x, NTP_LOCAL_ERROR);
            return;
        }
        /* Without kernel timestamps we fall back to the user-space clock. */
        (void)setsockopt(x->fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags));
        if (x->sock && x->sock->fd < 0) {
            x->sock->fd = x->fd;
            x->sock->family = x->addr.ss_family;
        } else {
            x->sock = NULL;         /* a socket of our own after all */
        }
    }
    x->ev_read = event_new(x->base, x->fd, EV_READ | EV_PERSIST, on_read, x);
    tv.tv_sec = x->timeout_ms / 1000;
    tv.tv_usec = (x->timeout_ms % 1000) * 1000;
    if (!x->ev_read || event_add(x->ev_read, NULL) != 0 ||
        evtimer_add(x->ev_timeout, &tv) != 0) {
        result_detail(x->res.detail, "cannot watch the socket");
        finish(x, NTP_LOCAL_ERROR);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &x->t1_user);
    if (sendto(x->fd, buf, (size_t)len, 0, (struct sockaddr *)&x->addr, x->addrlen) !=
        len) {
        result_detail(x->res.detail, "sendto %s: %s", x->res.address, strerror(errno));
        finish(x, NTP_SEND_FAILED);
        return;
    }
    x->sent = true;
}

static void
on_resolved(const struct dns_result *r, void *arg)
{
    struct ntpx *x = arg;

    x->dreq = NULL;
    if (r->error) {
        /* No such name or no address: the server's Server record is wrong.
           Our resolver failing at the system level: ours. */
        result_detail(x->res.detail, "%s: %s", x->server, r->detail);
        fail_later(x, (r->error == EVUTIL_EAI_AGAIN || r->error == EVUTIL_EAI_MEMORY ||
                       r->error == EVUTIL_EAI_SYSTEM)
                          ? NTP_LOCAL_ERROR
                          : NTP_DNS_FAILED);
        return;
    }
    memcpy(&x->addr, &r->addr[0], r->addrlen[0]);
    x->addrlen = r->addrlen[0];
    event_active(x->ev_later, EV_WRITE, 0);  /* maybe inside ntpx_start: defer */
}

struct ntpx *
ntpx_start(struct event_base *base, struct evdns_base *dns, const struct ntpx_target *t,
           ntpx_done_fn *done, void *arg)
{
    struct ntpx *x = calloc(1, sizeof(*x));
    int placeholders = t->cookies_wanted - 1;

    if (!x)
        return NULL;
    x->fd = -1;
    x->sock = t->sock;
    x->base = base;
    x->done = done;
    x->arg = arg;
    x->timeout_ms = t->timeout_ms;
    x->dns_timeout_ms = t->dns_timeout_ms > 0 ? t->dns_timeout_ms : NTPX_DNS_TIMEOUT_MS;
    x->family = t->family;
    result_ntp_init(&x->res);
    snprintf(x->server, sizeof(x->server), "%s", t->server);
    x->res.port = t->port;
    x->ev_later = event_new(base, -1, 0, on_later, x);
    x->ev_timeout = evtimer_new(base, on_timeout, x);
    if (!x->ev_later || !x->ev_timeout) {
        release(x);
        free(x);
        return NULL;
    }
    if (placeholders < 0)
        placeholders = 0;
    if (placeholders > PKT_MAX_PLACEHOLDERS)
        placeholders = PKT_MAX_PLACEHOLDERS;
    x->res.cookies_requested = 1 + placeholders;
    if (t->key_len > sizeof(x->c2s) || t->cookie_len == 0 ||
        t->cookie_len > sizeof(x->cookie) || !aead_is_supported(t->aead)) {
        result_detail(x->res.detail, "bad key exchange output");
        fail_later(x, NTP_LOCAL_ERROR);
        return x;
    }
    if (t->random) {
        memcpy(x->rnd, t->random, NTPX_RANDOM_LEN);
        x->have_rnd = true;
    }
    memcpy(x->c2s, t->c2s, t->key_len);
    memcpy(x->s2c, t->s2c, t->key_len);
    memcpy(x->cookie, t->cookie, t->cookie_len);
    x->req.aead_id = t->aead;
    x->req.c2s_key = x->c2s;
    x->req.cookie = x->cookie;
    x->req.cookie_len = t->cookie_len;
    x->req.placeholders = (unsigned)placeholders;

    if (dns_is_ip_literal(t->server) || !dns) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&x->addr;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&x->addr;

        if (inet_pton(AF_INET, t->server, &s4->sin_addr) == 1) {
            s4->sin_family = AF_INET;
            s4->sin_port = htons(t->port);
            x->addrlen = sizeof(*s4);
        } else if (inet_pton(AF_INET6, t->server, &s6->sin6_addr) == 1) {
            s6->sin6_family = AF_INET6;
            s6->sin6_port = htons(t->port);
            x->addrlen = sizeof(*s6);
        } else {
            result_detail(x->res.detail, "cannot resolve %s: no resolver", t->server);
            fail_later(x, NTP_LOCAL_ERROR);
            return x;
        }
        /* Deliver from the loop, never from inside ntpx_start. */
        event_active(x->ev_later, EV_WRITE, 0);
        return x;
    }
    {
        struct timeval tv = {x->dns_timeout_ms / 1000, (x->dns_timeout_ms % 1000) * 1000};
        evtimer_add(x->ev_timeout, &tv);   /* send_request re-arms it for NTP */
    }
    x->dreq = dns_resolve(dns, t->server, t->port, t->family, on_resolved, x);
    return x;
}

void
ntpx_cancel(struct ntpx *x)
{
    if (!x || x->finished)
        return;
    x->finished = true;
    release(x);
    wipe_free(x);
}
