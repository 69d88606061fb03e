/* ke.h - one asynchronous NTS-KE exchange with one address, on libevent:
 * TCP connect, TLS 1.3 handshake, the request in one write, the response up
 * to End of Message, validation (nke.c) and key export (tlsctx.c).
 *
 * Name resolution is the caller's (probe.c resolves once and runs one
 * exchange per address); nothing here blocks. */
#ifndef NTSPOOL_MONITOR_KE_H
#define NTSPOOL_MONITOR_KE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "monitor/nke.h"
#include "monitor/result.h"

struct event_base;
struct tlsctx;
struct ke;

/* What the NTP phase needs; never leaves the probe engine, never logged. */
struct ke_secrets {
    int aead;
    size_t key_len;
    uint8_t c2s[NKE_MAX_KEY_LEN], s2c[NKE_MAX_KEY_LEN];
    int ncookies;
    uint8_t cookie[NKE_MAX_COOKIES][NKE_MAX_COOKIE_LEN];
    uint16_t cookie_len[NKE_MAX_COOKIES];
    char ntp_server[NKE_MAX_SERVER_LEN + 1]; /* Server record, else the KE address */
    uint16_t ntp_port;                       /* Port record, else 123 */
};

struct ke_target {
    const char *host;               /* name for SNI and the certificate check */
    const struct sockaddr *addr;    /* where to connect (copied) */
    socklen_t addrlen;
    const struct nke_request *req;  /* copied, with its keys and token */
    int timeout_ms;                 /* whole exchange, connect included */
};

/* res and sec are valid only during the call; sec is NULL unless res->status
   is KE_OK. */
typedef void ke_done_fn(const struct ke_result *res, const struct ke_secrets *sec,
                        void *arg);

/* Start an exchange.  done() runs exactly once, later, from the event loop
   (also for failures found at once).  Returns NULL only when out of memory. */
struct ke *ke_start(struct event_base *base, struct tlsctx *tls,
                    const struct ke_target *t, ke_done_fn *done, void *arg);

/* Abort an exchange in flight; done() is not called after this. */
void ke_cancel(struct ke *k);

/* Monotonic seconds, for durations. */
double ke_monotime(void);

#endif
