/* tcookie.c - seal and open ntstestd's cookies.  The master key lives for
 * the life of the process: a restart invalidates every cookie, which is what
 * a test of "bad cookie -> NTS NAK" wants. */
#include "tests/server/tcookie.h"

#include <string.h>

#include <openssl/rand.h>

#include "monitor/aead.h"

static uint8_t master[32];              /* AES-SIV-CMAC-256 key */
static const uint8_t ad_label[] = "ntstestd cookie v1";

int
tck_init(void)
{
    return RAND_bytes(master, sizeof(master)) == 1 ? 0 : -1;
}

void
tck_fini(void)
{
    memset(master, 0, sizeof(master));
}

long
tck_make(int aead, const uint8_t *c2s, const uint8_t *s2c, size_t key_len, uint8_t *out)
{
    uint8_t pt[4 + 2 * AEAD_MAX_KEY_LEN];
    struct aead_ad ad = {ad_label, sizeof(ad_label) - 1};
    size_t pt_len = 4 + 2 * key_len;
    int rc;

    if (key_len == 0 || key_len != aead_key_len(aead))
        return -1;
    pt[0] = (uint8_t)(aead >> 8);
    pt[1] = (uint8_t)aead;
    pt[2] = pt[3] = 0;
    memcpy(pt + 4, c2s, key_len);
    memcpy(pt + 4 + key_len, s2c, key_len);
    if (RAND_bytes(out, TCK_NONCE_LEN) != 1)
        return -1;
    rc = aead_seal(AEAD_AES_SIV_CMAC_256, master, &ad, 1, out, TCK_NONCE_LEN, pt, pt_len,
                   out + TCK_NONCE_LEN);
    memset(pt, 0, sizeof(pt));
    return rc == 0 ? (long)(TCK_NONCE_LEN + AEAD_TAG_LEN + pt_len) : -1;
}

int
tck_open(const uint8_t *cookie, size_t len, int *aead, size_t *key_len, uint8_t *c2s,
         uint8_t *s2c)
{
    uint8_t pt[4 + 2 * AEAD_MAX_KEY_LEN];
    struct aead_ad ad = {ad_label, sizeof(ad_label) - 1};
    size_t pt_len, klen;
    int id;

    if (len < TCK_NONCE_LEN + AEAD_TAG_LEN + 4 || len > TCK_MAX_LEN)
        return -1;
    pt_len = len - TCK_NONCE_LEN - AEAD_TAG_LEN;
    if (aead_open(AEAD_AES_SIV_CMAC_256, master, &ad, 1, cookie, TCK_NONCE_LEN,
                  cookie + TCK_NONCE_LEN, len - TCK_NONCE_LEN, pt) != 0)
        return -1;
    id = pt[0] << 8 | pt[1];
    klen = aead_key_len(id);
    if (klen == 0 || pt_len != 4 + 2 * klen) {
        memset(pt, 0, sizeof(pt));
        return -1;
    }
    *aead = id;
    *key_len = klen;
    memcpy(c2s, pt + 4, klen);
    memcpy(s2c, pt + 4 + klen, klen);
    memset(pt, 0, sizeof(pt));
    return 0;
}
