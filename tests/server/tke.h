/* tke.h - the NTS-KE half of ntstestd: TLS 1.3 with ALPN "ntske/1" on
 * libevent (one OpenSSL bufferevent per connection, nothing blocks), one
 * request and one response per connection, and the pure function that turns
 * a request into the response bytes.
 *
 * Requests it answers (RFC 8915 section 4; draft-ietf-ntp-nts-keyexchange-pool):
 * plain RFC 8915, the pool's capabilities query and fixed-key request (in
 * the permanent or the experimental code points, answered in the set the
 * request used), and a pool KE's request with a monitor key and a UUID.
 * The NTP side (tntp.h) opens the cookies minted here (tcookie.h). */
#ifndef NTSPOOL_TESTS_SERVER_TKE_H
#define NTSPOOL_TESTS_SERVER_TKE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct tsrv_config;
struct tke_server;

#define TKE_MAX_RESP (128 * 1024)       /* the largest response we build (ke-huge) */

/* Export the C2S and S2C keys (RFC 8915 5.1) for exporter context aead_ctx,
   key_len bytes each, from the TLS session behind arg.  Returns 0 or -1. */
typedef int tke_export_fn(void *arg, uint16_t aead_ctx, size_t key_len, uint8_t *c2s,
                          uint8_t *s2c);

/* Build the response to the complete request req[0..len) (ending exactly with
   End of Message) into out (cap bytes), with the faults of cfg->misbehave.
   what receives a static text naming the request shape and outcome, for the
   log.  Returns the length, or -1 when it does not fit or a key or cookie
   could not be made. */
long tke_answer(const struct tsrv_config *cfg, const uint8_t *req, size_t len,
                tke_export_fn *export_keys, void *arg, uint8_t *out, size_t cap,
                const char **what);

/* An Error record (code) and End of Message, with the framing faults of
   cfg->misbehave.  Returns the length or -1. */
long tke_answer_error(const struct tsrv_config *cfg, unsigned code, uint8_t *out,
                      size_t cap);

/* Start serving NTS-KE on the listening TCP sockets fds[0..nfds) (taken: the
   server closes them).  cert and key are PEM files.  cfg is borrowed for the
   server's life.  Returns NULL with a message in err on failure. */
struct tke_server *tke_new(struct event_base *base, const struct tsrv_config *cfg,
                           const char *cert, const char *key, const int *fds, size_t nfds,
                           char *err, size_t errlen);
/* Close every connection and listener and free the server.  NULL is fine. */
void tke_free(struct tke_server *s);

#endif
