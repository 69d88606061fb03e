/* tntp.h - the NTS-protected NTP half of ntstestd (RFC 8915 section 5):
 * UDP sockets on libevent; each request is parsed (pkt.h), its cookie opened
 * (tcookie.h) for the keys, authenticated, and answered with the clock of
 * this host (plus --offset-ms) and fresh cookies inside the encrypted part.
 * A cookie or authenticator we cannot open gets an NTS NAK.  Replies go with
 * sendto() to the source address of the request. */
#ifndef NTSPOOL_TESTS_SERVER_TNTP_H
#define NTSPOOL_TESTS_SERVER_TNTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "monitor/pkt.h"

struct event_base;
struct tsrv_config;
struct tntp_server;

#define TNTP_MAX_REPLIES 3              /* ntp-spoof-first: two fakes, then the reply */

/* The packets that answer the request in[0..len), received at rx (wall
   clock), in the order to send them: out[i][0..lens[i]).  Returns how many
   (0: drop the request silently). */
size_t tntp_answer(const struct tsrv_config *cfg, const uint8_t *in, size_t len,
                   const struct timespec *rx, uint8_t out[][PKT_MAX_LEN], size_t *lens);

/* Serve on the bound UDP sockets fds[0..nfds) (taken: closed by the
   server).  cfg is borrowed for the server's life.  NULL on failure (the
   sockets are closed then too). */
struct tntp_server *tntp_new(struct event_base *base, const struct tsrv_config *cfg,
                             const int *fds, size_t nfds);
/* Stop and free; NULL is fine. */
void tntp_free(struct tntp_server *s);

#endif
