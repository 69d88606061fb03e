/* tcookie.h - the cookies of ntstestd (RFC 8915 section 6 leaves their form
 * to the server): the AEAD id and both keys, sealed with AES-SIV-CMAC-256
 * under a master key drawn at start-up, behind a random nonce.
 *
 * Layout: nonce (16) || SIV tag (16) || ciphertext of
 * (aead id u16, reserved u16, C2S key, S2C key).  Every cookie is a multiple
 * of 4 bytes long, so that the NTP Cookie EF carries it without padding and
 * the server can open exactly what the client echoes. */
#ifndef NTSPOOL_TESTS_SERVER_TCOOKIE_H
#define NTSPOOL_TESTS_SERVER_TCOOKIE_H

#include <stddef.h>
#include <stdint.h>

#define TCK_NONCE_LEN 16
#define TCK_MAX_LEN (TCK_NONCE_LEN + 16 + 4 + 2 * 64)

/* Draw the master key.  Returns 0, or -1 when the CSPRNG fails. */
int tck_init(void) __attribute__((warn_unused_result));
/* Wipe the master key. */
void tck_fini(void);

/* Seal (aead, c2s, s2c), key_len bytes each, into out (TCK_MAX_LEN bytes).
   Returns the cookie length, or -1. */
long tck_make(int aead, const uint8_t *c2s, const uint8_t *s2c, size_t key_len,
              uint8_t *out) __attribute__((warn_unused_result));

/* Open a cookie.  On success returns 0 with *aead, *key_len and both keys
   (NTS key buffers of 64 bytes); -1 when it is not one of ours. */
int tck_open(const uint8_t *cookie, size_t len, int *aead, size_t *key_len,
             uint8_t *c2s, uint8_t *s2c) __attribute__((warn_unused_result));

#endif
