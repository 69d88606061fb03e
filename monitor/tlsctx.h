/* tlsctx.h - the TLS side of NTS-KE: one shared client context (TLS 1.3 only,
 * peer verification, ALPN "ntske/1"), per-connection objects with SNI and a
 * name or IP check, the facts a probe reports about a session, the mapping of
 * a failed handshake to one reason code, and key export (RFC 8915 5.1).
 *
 * With aead.c, the only file that includes OpenSSL headers: the rest sees
 * struct ssl_st as an opaque type. */
#ifndef NTSPOOL_MONITOR_TLSCTX_H
#define NTSPOOL_MONITOR_TLSCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/result.h"

struct ssl_st;
struct tlsctx;

/* Make the shared context.  Trust = the system roots plus ca_file (when not
   NULL); with no_system_roots only ca_file.  Returns NULL with a message in
   err (errlen bytes) on failure. */
struct tlsctx *tlsctx_new(const char *ca_file, bool no_system_roots, char *err,
                          size_t errlen);
void tlsctx_free(struct tlsctx *t);

/* A new client connection object for host: SNI and a DNS-name check for a
   host name, an IP check and no SNI for an IP literal.  The caller owns the
   result (normally handing it to a bufferevent).  NULL on failure. */
struct ssl_st *tlsctx_ssl_new(struct tlsctx *t, const char *host);
void tlsctx_ssl_free(struct ssl_st *ssl);

/* After a completed handshake: fill version, cipher, ALPN, subject, issuer
   and not_after of r.  Returns KE_OK, KE_ALPN_MISMATCH or KE_TLS_VERSION
   (with r->detail set) when the session is unusable for NTS-KE. */
enum ke_status tlsctx_describe(struct ssl_st *ssl, struct ke_result *r);
/* The verdict of tlsctx_describe() alone (no names printed): for the check
   right after the handshake, the full description waiting for the end. */
enum ke_status tlsctx_session_status(struct ssl_st *ssl);

/* After a failed handshake: the reason code for it, with a human detail in
   detail (RESULT_DETAIL_MAX).  err is the first OpenSSL error code seen
   (0 if none); sys_errno the socket errno, if any.  Drains the error queue. */
enum ke_status tlsctx_classify_failure(struct ssl_st *ssl, unsigned long err,
                                       int sys_errno, char *detail);

/* RFC 8915 5.1 exporter: the C2S and S2C keys for (protocol, aead_context)
   where aead_context is the AEAD id used in the exporter context (chrony's
   AEAD-30 quirk: 15 unless compliance was negotiated).  Returns 0 or -1. */
int tlsctx_export_keys(struct ssl_st *ssl, uint16_t protocol, uint16_t aead_context,
                       size_t key_len, uint8_t *c2s, uint8_t *s2c)
    __attribute__((warn_unused_result));

/* True when e is an OpenSSL library error, false for the bare SSL_get_error()
   codes that libevent mixes into its error list. */
bool tlsctx_error_is_library(unsigned long e);

/* Add the CAs of ca_file to the trust of an OpenSSL SSL_CTX handed over as
   an opaque pointer (libcurl's CURLOPT_SSL_CTX_FUNCTION): the roots it
   already trusts stay.  0 or -1. */
int tlsctx_add_ca(void *ssl_ctx, const char *ca_file);

/* Fill buf with n cryptographically random bytes; 0 or -1. */
int tlsctx_random(void *buf, size_t n) __attribute__((warn_unused_result));

/* Render OpenSSL error e (0: the first entry of this thread's error queue)
   into detail as "what: reason", unless detail is set; clears the queue. */
void tlsctx_error_detail(char *detail, const char *what, unsigned long e);

#endif
