/* aead.h - the AEADs of NTS (RFC 8915 section 5.1, IANA "AEAD Algorithms"):
 * 15, 16, 17 = AES-SIV-CMAC-256/384/512 (RFC 5297) and 30 = AES-128-GCM-SIV
 * (RFC 8452).  One of the two modules that include OpenSSL headers.
 *
 * Stateless, pure functions over caller buffers.  The "associated data" of an
 * NTS packet is a vector of items (RFC 5297 S2V) of which NTS uses one; SIV
 * takes the nonce as the last S2V item, GCM-SIV as its 12-byte nonce. */
#ifndef NTSPOOL_MONITOR_AEAD_H
#define NTSPOOL_MONITOR_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AEAD_AES_SIV_CMAC_256 15
#define AEAD_AES_SIV_CMAC_384 16
#define AEAD_AES_SIV_CMAC_512 17
#define AEAD_AES_128_GCM_SIV 30

#define AEAD_MAX_KEY_LEN 64
#define AEAD_TAG_LEN 16            /* all four: 16-byte tag/SIV */
#define AEAD_MAX_AD_ITEMS 8

struct aead_ad {                    /* one associated-data item; may be empty
                                       (data NULL when len is 0) */
    const uint8_t *data;
    size_t len;
};

/* True when id is one of the four above. */
bool aead_is_supported(int id);
/* Key length in bytes (32, 48, 64, 16) or 0 when unsupported. */
size_t aead_key_len(int id);
/* Nonce length this module uses when sealing NTS packets: 16 for SIV, 12 for GCM-SIV. */
size_t aead_nonce_len(int id);
/* Human name, e.g. "AES-SIV-CMAC-256"; "unknown" otherwise. */
const char *aead_name(int id);

/* Seal ptlen bytes of pt.  out receives AEAD_TAG_LEN + ptlen bytes in the
   algorithm's native output form, which is also the NTS wire form of the
   Authenticator's "Ciphertext" field (RFC 8915 5.6): for 15/16/17 the 16-byte
   SIV then the ciphertext (RFC 5297); for 30 the ciphertext then the tag
   (RFC 8452).  ad: nad associated-data items (nad <= AEAD_MAX_AD_ITEMS; SIV
   feeds each to S2V, GCM-SIV needs nad <= 1).  The nonce is the last S2V item
   for SIV (nonce_len 0 allowed: RFC 5297 deterministic mode, for test vectors);
   for GCM-SIV it must be 12 bytes.  pt may be NULL when ptlen is 0 (OpenSSL
   < 3.5 gets that case wrong; we compute S2V ourselves then).
   Returns 0, or -1 on bad arguments or a library failure. */
int aead_seal(int id, const uint8_t *key, const struct aead_ad *ad, size_t nad,
              const uint8_t *nonce, size_t nonce_len, const uint8_t *pt, size_t ptlen,
              uint8_t *out) __attribute__((warn_unused_result));

/* Open what aead_seal produces (inlen >= AEAD_TAG_LEN); pt receives
   inlen - AEAD_TAG_LEN bytes (pt may be NULL when that is 0).  The tag is
   compared in constant time.  Returns 0 when authentic, -1 otherwise; on -1
   the plaintext buffer is zeroed and must not be used. */
int aead_open(int id, const uint8_t *key, const struct aead_ad *ad, size_t nad,
              const uint8_t *nonce, size_t nonce_len, const uint8_t *in, size_t inlen,
              uint8_t *pt) __attribute__((warn_unused_result));

#endif
