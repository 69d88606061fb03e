/* ntpx.h - one NTS-protected NTP exchange on libevent: resolve the NTP
 * server when it is a name, send one authenticated request from an
 * unconnected UDP socket, and wait for the one authentic answer.
 *
 * Anything that is not an authentic answer to our request (ICMP errors,
 * spoofed or malformed packets, wrong origin or UID) is ignored until the
 * timeout, so that nobody but the server can fail an exchange.  t1 and t4
 * are kernel software timestamps. */
#ifndef NTSPOOL_MONITOR_NTPX_H
#define NTSPOOL_MONITOR_NTPX_H

#include <stddef.h>
#include <stdint.h>

#include "monitor/pkt.h"
#include "monitor/result.h"

struct event_base;
struct evdns_base;
struct ntpx;

#define NTPX_DNS_TIMEOUT_MS 5000    /* bound on resolving a Server record name */
#define NTPX_RANDOM_LEN     (8 + PKT_UID_LEN + PKT_MAX_NONCE_LEN) /* one request's */

/* A UDP socket shared by the exchanges of one probe, so that the second
   does not pay for a socket of its own (socket, options, close and the
   loop's registration).  The first exchange that needs it makes it; a later
   one of the same address family reuses it, after dropping any transmit
   timestamp left in its error queue.  Replies are matched by address, port,
   origin timestamp and UID, so a late answer to an earlier exchange is
   ignored like any other stray packet.  The owner closes it. */
struct ntpx_sock {
    int fd;                         /* -1: none yet */
    int family;                     /* AF_INET or AF_INET6 */
};

void ntpx_sock_init(struct ntpx_sock *s);
void ntpx_sock_close(struct ntpx_sock *s);

struct ntpx_target {
    const char *server;             /* IP literal or host name (copied) */
    uint16_t port;
    int family;                     /* 4 or 6: the family to resolve a name in */
    int aead;
    size_t key_len;
    const uint8_t *c2s, *s2c;       /* copied */
    const uint8_t *cookie;          /* copied */
    size_t cookie_len;
    int cookies_wanted;             /* 1 + placeholders, 1..8 */
    int timeout_ms;
    int dns_timeout_ms;             /* resolving a name; 0: NTPX_DNS_TIMEOUT_MS */
    struct ntpx_sock *sock;         /* NULL: a socket of the exchange's own */
    const uint8_t *random;          /* NTPX_RANDOM_LEN fresh random bytes for the
                                       request (transmit timestamp, UID, nonce),
                                       copied; NULL: drawn by the exchange */
};

/* r is valid during the call only.  cookie (cookie_len bytes) is the first
   fresh cookie of an OK answer, NULL otherwise. */
typedef void ntpx_done_fn(const struct ntp_result *r, const uint8_t *cookie,
                          size_t cookie_len, void *arg);

/* Start; done() runs exactly once, later, from the loop.  NULL when out of
   memory. */
struct ntpx *ntpx_start(struct event_base *base, struct evdns_base *dns,
                        const struct ntpx_target *t, ntpx_done_fn *done, void *arg);
/* Abort; done() is not called after this.  NULL is fine. */
void ntpx_cancel(struct ntpx *x);

#endif
