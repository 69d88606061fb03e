/* tntp.c - NTS-protected NTP server of ntstestd.
 *
 * The reply is an honest NTPv4 server answer (RFC 5905) built by
 * pkt_build_response(): the request's poll echoed, precision 2^-20, small
 * root delay and dispersion, receive and transmit timestamps from
 * CLOCK_REALTIME shifted by --offset-ms, the Unique Identifier echoed, and
 * 1 + placeholders fresh cookies encrypted under the S2C key (RFC 8915 5.7).
 * The faults of --misbehave are applied here, one per switch. */
#include "tests/server/tntp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "monitor/aead.h"
#include "tests/server/tcookie.h"
#include "tests/server/tsrv.h"
#include "util/log.h"

#define PRECISION (-20)
#define ROOT_DELAY 0.0010               /* s */
#define ROOT_DISP 0.0005                /* s */
#define REF_AGE 16                      /* s since our "last update" */
#define MAX_BURST 64                    /* datagrams read per readiness event */

static uint32_t
refid_of(const char *s)
{
    return (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 |
           (uint32_t)s[3];
}

/* The NTP timestamp of t shifted by the configured offset. */
static uint64_t
shifted(const struct tsrv_config *cfg, const struct timespec *t, long extra_s)
{
    struct timespec s = *t;
    long long ns = llround(cfg->offset_ms * 1e6);

    s.tv_sec += (time_t)(ns / 1000000000LL) + extra_s;
    s.tv_nsec += (long)(ns % 1000000000LL);
    if (s.tv_nsec < 0) {
        s.tv_nsec += 1000000000L;
        s.tv_sec--;
    } else if (s.tv_nsec >= 1000000000L) {
        s.tv_nsec -= 1000000000L;
        s.tv_sec++;
    }
    return pkt_ntp_from_timespec(&s);
}

/* ntp-too-many-cookies: one cookie more than asked for, which
   pkt_build_response() would refuse past 8; built from the same pieces. */
static long
build_too_many(const struct pkt_server_request *req, const struct pkt_reply *rep,
               uint8_t extra_cookies[][TCK_MAX_LEN], const size_t *extra_len,
               size_t nextra, uint8_t *buf, size_t cap)
{
    struct pkt_header h = rep->hdr;
    uint8_t pt[PKT_MAX_LEN];
    size_t off = PKT_HEADER_LEN, pt_len = 0;

    h.version = PKT_VERSION;
    h.mode = PKT_MODE_SERVER;
    h.org_ts = req->hdr.tx_ts;
    if (pkt_put_header(buf, cap, &h) < 0 ||
        pkt_append_ef(buf, cap, &off, PKT_EF_UID, req->uid, req->uid_len) != 0)
        return -1;
    for (size_t i = 0; i < rep->ncookies; i++)
        if (pkt_append_inner_ef(pt, sizeof(pt), &pt_len, PKT_EF_COOKIE, rep->cookies[i],
                                rep->cookie_len[i]) != 0)
            return -1;
    for (size_t i = 0; i < nextra; i++)
        if (pkt_append_inner_ef(pt, sizeof(pt), &pt_len, PKT_EF_COOKIE, extra_cookies[i],
                                extra_len[i]) != 0)
            return -1;
    if (pkt_append_auth(buf, cap, &off, rep->aead_id, rep->s2c_key, rep->nonce,
                        aead_nonce_len(rep->aead_id), pt, pt_len) != 0)
        return -1;
    return (long)off;
}

/* Flip the first nonce byte of the Authenticator: the packet no longer
   verifies under any key. */
static void
spoil_auth(uint8_t *buf, size_t len)
{
    size_t off = PKT_HEADER_LEN;

    while (off + 4 <= len) {
        unsigned type = (unsigned)buf[off] << 8 | buf[off + 1];
        size_t elen = (size_t)buf[off + 2] << 8 | buf[off + 3];

        if (elen < 4)
            return;
        if (type == PKT_EF_AUTH && off + 8 < len) {
            buf[off + 8] ^= 0x5A;
            return;
        }
        off += elen;
    }
}

size_t
tntp_answer(const struct tsrv_config *cfg, const uint8_t *in, size_t len,
            const struct timespec *rx, uint8_t out[][PKT_MAX_LEN], size_t *lens)
{
    struct pkt_server_request req;
    struct pkt_reply rep;
    uint8_t c2s[AEAD_MAX_KEY_LEN], s2c[AEAD_MAX_KEY_LEN], nonce[PKT_MAX_NONCE_LEN];
    uint8_t cookies[PKT_MAX_COOKIES + 1][TCK_MAX_LEN];
    size_t cookie_len[PKT_MAX_COOKIES + 1], key_len, ncookies, n = 0;
    unsigned mb = cfg->misbehave;
    struct timespec now;
    long r;
    int aead;

    if (mb & TSRV_NTP_SILENT)
        return 0;
    if (pkt_parse_request(in, len, &req) != 0) {
        log_debug("ntp: dropping a request: %s", req.why);
        return 0;
    }
    if ((mb & TSRV_NTP_NAK) ||
        tck_open(req.cookie, req.cookie_len, &aead, &key_len, c2s, s2c) != 0 ||
        pkt_verify_request(in, len, &req, aead, c2s) != 0) {
        log_debug("ntp: NTS NAK (%s)",
                  (mb & TSRV_NTP_NAK) ? "told to" : "bad cookie or MAC");
        r = pkt_build_kod(&req, "NTSN", out[0], PKT_MAX_LEN);
        OPENSSL_cleanse(c2s, sizeof(c2s));
        if (r < 0)
            return 0;
        lens[0] = (size_t)r;
        return 1;
    }

    memset(&rep, 0, sizeof(rep));
    rep.hdr.leap = (uint8_t)cfg->leap;
    rep.hdr.stratum = (uint8_t)cfg->stratum;
    rep.hdr.poll = req.hdr.poll;
    rep.hdr.precision = PRECISION;
    rep.hdr.root_delay = pkt_short_from_seconds(ROOT_DELAY);
    rep.hdr.root_disp = pkt_short_from_seconds(ROOT_DISP);
    rep.hdr.refid = cfg->stratum <= 1 ? refid_of("LOCL") : 0x7F000001u;
    rep.hdr.ref_ts = shifted(cfg, rx, -REF_AGE);
    rep.hdr.rx_ts = shifted(cfg, rx, 0);
    rep.aead_id = aead;
    rep.s2c_key = s2c;
    rep.nonce = nonce;
    ncookies = 1 + req.placeholders;
    if (mb & (TSRV_NTP_UNSYNC | TSRV_NTP_KOD_DENY | TSRV_NTP_KOD_RATE)) {
        rep.hdr.leap = PKT_LEAP_UNSYNC;
        rep.hdr.stratum = 0;
        rep.hdr.refid = 0;
        rep.hdr.ref_ts = 0;
        rep.hdr.root_delay = rep.hdr.root_disp = 0;
    }
    if (mb & (TSRV_NTP_KOD_DENY | TSRV_NTP_KOD_RATE)) {
        /* An authenticated kiss (RFC 8915 5.7 leaves DENY and RATE to the
           authenticated path); no cookies with it. */
        rep.hdr.refid = refid_of((mb & TSRV_NTP_KOD_DENY) ? "DENY" : "RATE");
        ncookies = 0;
    }
    for (size_t i = 0; i < ncookies + 1; i++) {
        long c = tck_make(aead, c2s, s2c, key_len, cookies[i]);

        if (c < 0)
            goto out;
        cookie_len[i] = (size_t)c;
    }
    rep.ncookies = ncookies;
    for (size_t i = 0; i < ncookies; i++) {
        rep.cookies[i] = cookies[i];
        rep.cookie_len[i] = cookie_len[i];
    }
    if (mb & TSRV_NTP_COOKIES_OUTSIDE)
        rep.flags |= PKT_REPLY_COOKIES_OUTSIDE;
    if (RAND_bytes(nonce, (int)aead_nonce_len(aead)) != 1)
        goto out;

    if (mb & TSRV_NTP_SPOOF_FIRST) {
        /* A reply to somebody else (wrong UID) and a forgery (bad MAC); a
           client must ignore both and wait for the real one. */
        struct pkt_server_request other = req;

        other.uid[0] ^= 0xFF;
        clock_gettime(CLOCK_REALTIME, &now);
        rep.hdr.tx_ts = shifted(cfg, &now, 0);
        r = pkt_build_response(&other, &rep, out[n], PKT_MAX_LEN);
        if (r > 0)
            lens[n++] = (size_t)r;
        r = pkt_build_response(&req, &rep, out[n], PKT_MAX_LEN);
        if (r > 0) {
            spoil_auth(out[n], (size_t)r);
            lens[n++] = (size_t)r;
        }
    }
    clock_gettime(CLOCK_REALTIME, &now);
    rep.hdr.tx_ts = shifted(cfg, &now, 0);
    if (mb & TSRV_NTP_TOO_MANY_COOKIES)
        r = build_too_many(&req, &rep, &cookies[ncookies], &cookie_len[ncookies], 1,
                           out[n], PKT_MAX_LEN);
    else
        r = pkt_build_response(&req, &rep, out[n], PKT_MAX_LEN);
    if (r > 0)
        lens[n++] = (size_t)r;
    else
        log_warn("ntp: cannot build the reply");
out:
    OPENSSL_cleanse(c2s, sizeof(c2s));
    OPENSSL_cleanse(s2c, sizeof(s2c));
    return n;
}

struct tntp_server {
    const struct tsrv_config *cfg;
    int fds[TSRV_MAX_LISTEN];
    struct event *ev[TSRV_MAX_LISTEN];
    size_t n;
};

static void
on_packet(evutil_socket_t fd, short what, void *arg)
{
    struct tntp_server *s = arg;
    static uint8_t out[TNTP_MAX_REPLIES][PKT_MAX_LEN];
    uint8_t in[PKT_MAX_LEN + 1];

    (void)what;
    for (int burst = 0; burst < MAX_BURST; burst++) {
        struct sockaddr_storage from;
        socklen_t fromlen;
        struct timespec rx;
        size_t lens[TNTP_MAX_REPLIES], n;
        union {
            char buf[CMSG_SPACE(sizeof(struct timespec))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {in, sizeof(in)};
        struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
                             .msg_iovlen = 1, .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf)};
        ssize_t got = recvmsg(fd, &msg, 0);

        /* t2: when the kernel received the request (SO_TIMESTAMPNS), not
           when this process got round to reading it: on a loaded machine the
           two can be 100 ms apart, which would read as a false offset. */
        clock_gettime(CLOCK_REALTIME, &rx);
        fromlen = msg.msg_namelen;
        for (struct cmsghdr *c = got >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; c;
             c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
                c->cmsg_len >= CMSG_LEN(sizeof(rx)))
                memcpy(&rx, CMSG_DATA(c), sizeof(rx));
        if (got < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_debug("ntp: recvfrom: %s", strerror(errno));
            return;     /* ICMP errors of earlier replies land here too */
        }
        n = tntp_answer(s->cfg, in, (size_t)got, &rx, out, lens);
        for (size_t i = 0; i < n; i++)
            if (sendto(fd, out[i], lens[i], 0, (struct sockaddr *)&from, fromlen) < 0)
                log_debug("ntp: sendto: %s", strerror(errno));
        log_debug("ntp: request of %zd bytes, %zu packet(s) sent", got, n);
    }
}

struct tntp_server *
tntp_new(struct event_base *base, const struct tsrv_config *cfg, const int *fds,
         size_t nfds)
{
    struct tntp_server *s = calloc(1, sizeof(*s));

    if (!s) {
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
        return NULL;
    }
    s->cfg = cfg;
    for (size_t i = 0; i < nfds && i < TSRV_MAX_LISTEN; i++) {
        s->fds[s->n] = fds[i];
        s->ev[s->n] = event_new(base, fds[i], EV_READ | EV_PERSIST, on_packet, s);
        s->n++;
        if (!s->ev[s->n - 1] || event_add(s->ev[s->n - 1], NULL) != 0) {
            for (size_t j = i + 1; j < nfds; j++)
                close(fds[j]);
            tntp_free(s);
            return NULL;
        }
    }
    return s;
}

void
tntp_free(struct tntp_server *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        if (s->ev[i])
            event_free(s->ev[i]);
        close(s->fds[i]);
    }
    free(s);
}
