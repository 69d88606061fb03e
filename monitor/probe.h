/* probe.h - one NTS probe of one address (SCORING.md "Probe kinds"):
 * kind nts: a plain RFC 8915 key exchange, then NTP exchange #1 with a cookie
 * from the key exchange and #2 with a cookie returned by #1;
 * kind pool: the capabilities query with the operator's token, a Fixed Key
 * Request with keys we generate, then the same two NTP exchanges.
 * With a uuid, kind nts goes through an existing pool's key exchange: the
 * monitor key as token and a UUID Request naming the time source, whose
 * cookies and Server/Port records then lead to the source itself.
 *
 * Asynchronous on libevent; the caller resolves the KE host name (dns.h) and
 * starts one probe per address and kind.  The NTP server name of a Server
 * record is resolved here, without blocking. */
#ifndef NTSPOOL_MONITOR_PROBE_H
#define NTSPOOL_MONITOR_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "monitor/result.h"

struct event_base;
struct evdns_base;
struct tlsctx;
struct probe;

#define PROBE_MAX_AEADS 8

struct probe_target {
    const char *host;               /* KE host name or IP literal (SNI, cert check) */
    uint16_t port;                  /* KE port */
    const struct sockaddr *addr;    /* the resolved KE address (copied) */
    socklen_t addrlen;
    enum probe_kind kind;
    uint16_t aeads[PROBE_MAX_AEADS]; /* nts: the offer; pool: preference order */
    size_t naeads;
    const char *token;              /* pool kind: the operator's token (copied);
                                       with uuid: the monitor key */
    const char *uuid;               /* kind nts through a pool's KE: ask it for
                                       this time source (UUID Request) (copied) */
    bool experimental;              /* pool records with experimental code points */
    bool ke_only;                   /* stop after the key exchange */
    int ke_timeout_ms;
    int ntp_timeout_ms;
    int cookies_min, cookies_max;   /* cookies asked per NTP exchange (1..8) */
    bool corrupt_cookie;            /* diagnostic: send exchange #1 a damaged cookie */
    int deadline_ms;                /* whole probe; 0: the sum of the phase limits */
};

typedef void probe_done_fn(const struct probe_result *res, void *arg);

/* Start probing t.  done() runs exactly once, later, from the event loop;
   res is valid only during that call.  dns resolves an NTP Server record
   (may be NULL when the caller knows none will be needed: then a host name
   there fails the NTP phase with dns_failed).  Returns NULL when out of memory. */
struct probe *probe_start(struct event_base *base, struct evdns_base *dns,
                          struct tlsctx *tls, const struct probe_target *t,
                          probe_done_fn *done, void *arg);

/* Abort; done() is not called after this. */
void probe_cancel(struct probe *p);

#endif
