/* aead.c - the four NTS AEADs over OpenSSL 3.0: AES-SIV-CMAC through the
 * provider's SIV ciphers, except for an empty plaintext, where OpenSSL before
 * 3.5 never runs S2V, so we compute RFC 5297 S2V ourselves with EVP_MAC CMAC;
 * and AES-128-GCM-SIV (RFC 8452, absent before OpenSSL 3.2) built from the
 * AES block function, a hand-written POLYVAL and the RFC's own counter mode.
 * The algorithm objects (EVP_CIPHER, EVP_MAC) are fetched once, on first use,
 * and kept for the life of the process: an OpenSSL 3 fetch takes the global
 * method-store lock and allocates, and fetched objects are immutable and
 * safe to share between threads.  The CMAC contexts of S2V are likewise
 * configured once per AES key size and duplicated per call (setting the
 * cipher of a CMAC context is itself a fetch).  No key material is kept
 * between calls: every keyed context is made and freed per call.
 * Framing the NTS extension fields around the output is left to pkt.c. */
#include "monitor/aead.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define BLOCK_LEN 16
#define GCMSIV_KEY_LEN 16
#define GCMSIV_NONCE_LEN 12
#define SIV_NONCE_LEN 16
#define CTR_BATCH 16                /* counter blocks per AES-ECB call */

/* The EVP interfaces count bytes in int; every length stays below this, which
   also keeps GCM-SIV far under its 2^36-byte limits (RFC 8452 section 6). */
#define MAX_LEN ((size_t)INT_MAX - AEAD_TAG_LEN)

/* ---- algorithms fetched once ---- */

enum { ALG_SIV128, ALG_SIV192, ALG_SIV256, ALG_ECB128, ALG_N };

static const char *const alg_names[ALG_N] = {"AES-128-SIV", "AES-192-SIV", "AES-256-SIV",
                                              "AES-128-ECB"};
/* Not const: OSSL_PARAM_construct_utf8_string() takes a char *. */
static char cmac_ciphers[3][12] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};

static CRYPTO_ONCE algs_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_CIPHER *algs[ALG_N];     /* NULL: the fetch failed; fetched per call */
static EVP_MAC_CTX *cmac_tmpl[3];   /* CMAC with its cipher set; or NULL */

/* A CMAC context over cipher, keyed with zeros: OpenSSL 3.0 refuses to
   duplicate a CMAC context that was never keyed, and every user re-keys it. */
static EVP_MAC_CTX *
cmac_new(EVP_MAC *mac, char *cipher, size_t key_len)
{
    static const uint8_t zero_key[32];
    OSSL_PARAM params[2];
    EVP_MAC_CTX *mctx = EVP_MAC_CTX_new(mac);

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (mctx && (EVP_MAC_CTX_set_params(mctx, params) != 1
                 || EVP_MAC_init(mctx, zero_key, key_len, NULL) != 1)) {
        EVP_MAC_CTX_free(mctx);
        mctx = NULL;
    }
    return mctx;
}

static void
algs_fetch(void)
{
    EVP_MAC *mac;
    int i;

    for (i = 0; i < ALG_N; i++)
        algs[i] = EVP_CIPHER_fetch(NULL, alg_names[i], NULL);
    mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    if (mac)
        for (i = 0; i < 3; i++)
            cmac_tmpl[i] = cmac_new(mac, cmac_ciphers[i], 16 + 8 * (size_t)i);
    EVP_MAC_free(mac);              /* each context holds its own reference */
}

/* The cipher of alg, shared; when the one-time fetch failed (out of memory
   at that moment), a fresh fetch that cipher_put() frees. */
static EVP_CIPHER *
cipher_get(int alg)
{
    if (!CRYPTO_THREAD_run_once(&algs_once, algs_fetch) || !algs[alg])
        return EVP_CIPHER_fetch(NULL, alg_names[alg], NULL);
    return algs[alg];
}

static void
cipher_put(int alg, EVP_CIPHER *c)
{
    if (c != algs[alg])
        EVP_CIPHER_free(c);
}

/* A new CMAC context (to be keyed) over AES with a key of half_len bytes. */
static EVP_MAC_CTX *
cmac_ctx_new(size_t half_len)
{
    int i = half_len == 16 ? 0 : half_len == 24 ? 1 : 2;
    EVP_MAC_CTX *mctx;
    EVP_MAC *mac;

    if (CRYPTO_THREAD_run_once(&algs_once, algs_fetch) && cmac_tmpl[i])
        return EVP_MAC_CTX_dup(cmac_tmpl[i]);
    mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    mctx = mac ? cmac_new(mac, cmac_ciphers[i], half_len) : NULL;
    EVP_MAC_free(mac);
    return mctx;
}

bool
aead_is_supported(int id)
{
    return aead_key_len(id) != 0;
}

size_t
aead_key_len(int id)
{
    switch (id) {
    case AEAD_AES_SIV_CMAC_256: return 32;
    case AEAD_AES_SIV_CMAC_384: return 48;
    case AEAD_AES_SIV_CMAC_512: return 64;
    case AEAD_AES_128_GCM_SIV: return GCMSIV_KEY_LEN;
    }
    return 0;
}

size_t
aead_nonce_len(int id)
{
    switch (id) {
    case AEAD_AES_SIV_CMAC_256:
    case AEAD_AES_SIV_CMAC_384:
    case AEAD_AES_SIV_CMAC_512: return SIV_NONCE_LEN;
    case AEAD_AES_128_GCM_SIV: return GCMSIV_NONCE_LEN;
    }
    return 0;
}

const char *
aead_name(int id)
{
    switch (id) {
    case AEAD_AES_SIV_CMAC_256: return "AES-SIV-CMAC-256";
    case AEAD_AES_SIV_CMAC_384: return "AES-SIV-CMAC-384";
    case AEAD_AES_SIV_CMAC_512: return "AES-SIV-CMAC-512";
    case AEAD_AES_128_GCM_SIV: return "AES-128-GCM-SIV";
    }
    return "unknown";
}

/* Shared argument checks of seal and open; len is the plaintext length. */
static bool
args_ok(int id, const uint8_t *key, const struct aead_ad *ad, size_t nad,
        const uint8_t *nonce, size_t nonce_len, size_t len)
{
    size_t i;

    if (!aead_is_supported(id) || key == NULL || nad > AEAD_MAX_AD_ITEMS
        || (nad > 0 && ad == NULL) || (nonce_len > 0 && nonce == NULL)
        || nonce_len > MAX_LEN || len > MAX_LEN)
        return false;
    for (i = 0; i < nad; i++)
        if ((ad[i].data == NULL && ad[i].len > 0) || ad[i].len > MAX_LEN)
            return false;
    if (id == AEAD_AES_128_GCM_SIV)
        return nad <= 1 && nonce_len == GCMSIV_NONCE_LEN;
    return true;
}

/* ---- AES-SIV-CMAC (RFC 5297) ---- */

static int
siv_alg(int id)
{
    switch (id) {
    case AEAD_AES_SIV_CMAC_256: return ALG_SIV128;
    case AEAD_AES_SIV_CMAC_384: return ALG_SIV192;
    case AEAD_AES_SIV_CMAC_512: return ALG_SIV256;
    }
    return ALG_SIV256;              /* not reached: args_ok() checked id */
}

/* dbl() of RFC 5297 section 2.3: shift left by one bit, and on a carry out
   xor in 0x87, through a mask rather than a branch. */
static void
dbl(uint8_t b[BLOCK_LEN])
{
    uint8_t carry = b[0] >> 7;
    int i;

    for (i = 0; i < BLOCK_LEN - 1; i++)
        b[i] = (uint8_t)(b[i] << 1 | b[i + 1] >> 7);
    b[BLOCK_LEN - 1] = (uint8_t)(b[BLOCK_LEN - 1] << 1 ^ (0x87 & -carry));
}

static int
cmac(EVP_MAC_CTX *mctx, const uint8_t *key, size_t key_len, const uint8_t *data,
     size_t len, uint8_t out[BLOCK_LEN])
{
    size_t out_len;

    if (EVP_MAC_init(mctx, key, key_len, NULL) != 1
        || EVP_MAC_update(mctx, data, len) != 1
        || EVP_MAC_final(mctx, out, &out_len, BLOCK_LEN) != 1 || out_len != BLOCK_LEN)
        return -1;
    return 0;
}

/* S2V (RFC 5297 section 2.4) over the associated data, the nonce and an EMPTY
   plaintext, which is then the last string Sn: shorter than a block, so
   T = dbl(D) xor pad(Sn) with pad(empty) = 10^127.  CMAC uses K1, the first
   half of the key.  With nothing to encrypt, V is the whole output. */
static int
s2v_empty(int id, const uint8_t *key, const struct aead_ad *ad, size_t nad,
          const uint8_t *nonce, size_t nonce_len, uint8_t v[BLOCK_LEN])
{
    static const uint8_t zero[BLOCK_LEN];
    size_t half = aead_key_len(id) / 2;
    uint8_t d[BLOCK_LEN], m[BLOCK_LEN];
    EVP_MAC_CTX *mctx;
    size_t i, j;
    int ret = -1;

    /* CMAC with AES-128/192/256 (OpenSSL names it by its CBC mode). */
    mctx = cmac_ctx_new(half);
    if (mctx == NULL)
        goto done;

    if (cmac(mctx, key, half, zero, sizeof(zero), d) < 0)
        goto done;
    for (i = 0; i <= nad; i++) {
        const uint8_t *s = i < nad ? ad[i].data : nonce;
        size_t len = i < nad ? ad[i].len : nonce_len;

        if (i == nad && nonce_len == 0)
            break;                  /* deterministic mode: no nonce item */
        if (cmac(mctx, key, half, s, len, m) < 0)
            goto done;
        dbl(d);
        for (j = 0; j < BLOCK_LEN; j++)
            d[j] ^= m[j];
    }
    dbl(d);
    d[0] ^= 0x80;
    if (cmac(mctx, key, half, d, sizeof(d), v) < 0)
        goto done;
    ret = 0;
done:
    OPENSSL_cleanse(d, sizeof(d));
    OPENSSL_cleanse(m, sizeof(m));
    EVP_MAC_CTX_free(mctx);
    return ret;
}

/* Feed every associated-data item, then the nonce, as separate S2V strings:
   OpenSSL's SIV takes each update with a NULL output as one item. */
static int
siv_feed_ad(EVP_CIPHER_CTX *ctx, bool enc, const struct aead_ad *ad, size_t nad,
            const uint8_t *nonce, size_t nonce_len)
{
    static const uint8_t empty[1];
    size_t i;
    int len;

    for (i = 0; i <= nad; i++) {
        const uint8_t *s = i < nad ? ad[i].data : nonce;
        size_t n = i < nad ? ad[i].len : nonce_len;
        int ok;

        if (i == nad && nonce_len == 0)
            break;
        if (s == NULL)
            s = empty;              /* OpenSSL refuses NULL even for 0 bytes */
        ok = enc ? EVP_EncryptUpdate(ctx, NULL, &len, s, (int)n)
                 : EVP_DecryptUpdate(ctx, NULL, &len, s, (int)n);
        if (ok != 1)
            return -1;
    }
    return 0;
}

static int
siv_seal(int id, const uint8_t *key, const struct aead_ad *ad, size_t nad,
         const uint8_t *nonce, size_t nonce_len, const uint8_t *pt, size_t ptlen,
         uint8_t *out)
{
    EVP_CIPHER *cipher = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t fin[BLOCK_LEN];
    int len, ret = -1;

    if (ptlen == 0)
        return s2v_empty(id, key, ad, nad, nonce, nonce_len, out);

    cipher = cipher_get(siv_alg(id));
    ctx = EVP_CIPHER_CTX_new();
    if (cipher == NULL || ctx == NULL
        || EVP_EncryptInit_ex2(ctx, cipher, key, NULL, NULL) != 1
        || siv_feed_ad(ctx, true, ad, nad, nonce, nonce_len) < 0
        || EVP_EncryptUpdate(ctx, out + AEAD_TAG_LEN, &len, pt, (int)ptlen) != 1
        || (size_t)len != ptlen
        || EVP_EncryptFinal_ex(ctx, fin, &len) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, out) != 1)
        goto done;
    ret = 0;
done:
    EVP_CIPHER_CTX_free(ctx);
    cipher_put(siv_alg(id), cipher);
    return ret;
}

static int
siv_open(int id, const uint8_t *key, const struct aead_ad *ad, size_t nad,
         const uint8_t *nonce, size_t nonce_len, const uint8_t *in, size_t inlen,
         uint8_t *pt)
{
    size_t ctlen = inlen - AEAD_TAG_LEN;
    EVP_CIPHER *cipher = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t tag[AEAD_TAG_LEN], fin[BLOCK_LEN];
    int len, ret = -1;

    if (ctlen == 0) {
        if (s2v_empty(id, key, ad, nad, nonce, nonce_len, tag) < 0)
            return -1;
        ret = CRYPTO_memcmp(tag, in, AEAD_TAG_LEN) == 0 ? 0 : -1;
        OPENSSL_cleanse(tag, sizeof(tag));
        return ret;
    }

    /* The tag goes in before the associated data; OpenSSL compares it in
       constant time and wipes the output when it does not match. */
    memcpy(tag, in, AEAD_TAG_LEN);
    cipher = cipher_get(siv_alg(id));
    ctx = EVP_CIPHER_CTX_new();
    if (cipher == NULL || ctx == NULL
        || EVP_DecryptInit_ex2(ctx, cipher, key, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag) != 1
        || siv_feed_ad(ctx, false, ad, nad, nonce, nonce_len) < 0
        || EVP_DecryptUpdate(ctx, pt, &len, in + AEAD_TAG_LEN, (int)ctlen) != 1
        || (size_t)len != ctlen
        || EVP_DecryptFinal_ex(ctx, fin, &len) != 1)
        goto done;
    ret = 0;
done:
    EVP_CIPHER_CTX_free(ctx);
    cipher_put(siv_alg(id), cipher);
    return ret;
}

/* ---- AES-128-GCM-SIV (RFC 8452) ---- */

static uint64_t
load64_le(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void
store64_le(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* x = dot(x, h) = x * h * x^-128 in POLYVAL's field, whose polynomial is
   x^128 + x^127 + x^126 + x^121 + 1 (RFC 8452 section 3); word [0] holds
   the coefficients of x^0..x^63.  Horner over the bits of x from the lowest:
   add h when the bit is set, then multiply by x^-1, so that bit i ends up
   weighted by x^(i-128).  x^-1 = x^127 + x^126 + x^125 + x^120, the constant
   below.  Masks instead of branches or tables keep the time independent of
   the key and the data. */
static void
polyval_mul(uint64_t x[2], const uint64_t h[2])
{
    uint64_t r0 = 0, r1 = 0, bit, mask;
    int i;

    for (i = 0; i < 128; i++) {
        bit = (i < 64 ? x[0] >> i : x[1] >> (i - 64)) & 1;
        r0 ^= h[0] & (0 - bit);
        r1 ^= h[1] & (0 - bit);
        mask = 0 - (r0 & 1);
        r0 = r0 >> 1 | r1 << 63;
        r1 = r1 >> 1 ^ (mask & 0xe100000000000000ULL);
    }
    x[0] = r0;
    x[1] = r1;
}

/* Absorb len bytes into the POLYVAL state s, zero-padding the last block. */
static void
polyval_update(uint64_t s[2], const uint64_t h[2], const uint8_t *data, size_t len)
{
    uint8_t last[BLOCK_LEN];
    size_t n;

    for (; len > 0; data += n, len -= n) {
        n = len < BLOCK_LEN ? len : BLOCK_LEN;
        if (n < BLOCK_LEN) {
            memset(last, 0, sizeof(last));
            memcpy(last, data, n);
            data = last;
        }
        s[0] ^= load64_le(data);
        s[1] ^= load64_le(data + 8);
        polyval_mul(s, h);
    }
    OPENSSL_cleanse(last, sizeof(last));
}

/* Encrypt whole blocks with the key ctx holds (AES-128-ECB, no padding). */
static int
ecb(EVP_CIPHER_CTX *ctx, const uint8_t *in, uint8_t *out, size_t len)
{
    int n;

    if (EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1 || (size_t)n != len)
        return -1;
    return 0;
}

/* Key derivation of RFC 8452 section 4: AES under the key-generating key of
   le32(i) || nonce for i = 0..3; the first 8 bytes of blocks 0 and 1 make the
   authentication key, those of blocks 2 and 3 the 128-bit encryption key.
   Leaves ctx keyed with the encryption key. */
static int
gcmsiv_keys(EVP_CIPHER_CTX *ctx, const uint8_t *key, const uint8_t *nonce,
            uint64_t h[2])
{
    uint8_t in[4 * BLOCK_LEN], out[4 * BLOCK_LEN], enc_key[GCMSIV_KEY_LEN];
    int i, ret = -1;

    memset(in, 0, sizeof(in));
    for (i = 0; i < 4; i++) {
        in[i * BLOCK_LEN] = (uint8_t)i;
        memcpy(in + i * BLOCK_LEN + 4, nonce, GCMSIV_NONCE_LEN);
    }
    if (EVP_EncryptInit_ex2(ctx, NULL, key, NULL, NULL) != 1
        || ecb(ctx, in, out, sizeof(out)) < 0)
        goto done;
    h[0] = load64_le(out);
    h[1] = load64_le(out + BLOCK_LEN);
    memcpy(enc_key, out + 2 * BLOCK_LEN, 8);
    memcpy(enc_key + 8, out + 3 * BLOCK_LEN, 8);
    if (EVP_EncryptInit_ex2(ctx, NULL, enc_key, NULL, NULL) != 1)
        goto done;
    ret = 0;
done:
    OPENSSL_cleanse(out, sizeof(out));
    OPENSSL_cleanse(enc_key, sizeof(enc_key));
    return ret;
}

/* The tag (RFC 8452 section 4): POLYVAL over the padded AD, the padded
   plaintext and the bit lengths, xor the nonce, top bit cleared, encrypted. */
static int
gcmsiv_tag(EVP_CIPHER_CTX *ctx, const uint64_t h[2], const uint8_t *nonce,
           const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t ptlen,
           uint8_t tag[AEAD_TAG_LEN])
{
    uint64_t s[2] = {0, 0};
    uint8_t blk[BLOCK_LEN];
    int i, ret;

    polyval_update(s, h, aad, aad_len);
    polyval_update(s, h, pt, ptlen);
    store64_le(blk, (uint64_t)aad_len * 8);
    store64_le(blk + 8, (uint64_t)ptlen * 8);
    polyval_update(s, h, blk, sizeof(blk));
    store64_le(blk, s[0]);
    store64_le(blk + 8, s[1]);
    for (i = 0; i < GCMSIV_NONCE_LEN; i++)
        blk[i] ^= nonce[i];
    blk[BLOCK_LEN - 1] &= 0x7f;
    ret = ecb(ctx, blk, tag, AEAD_TAG_LEN);
    OPENSSL_cleanse(blk, sizeof(blk));
    OPENSSL_cleanse(s, sizeof(s));
    return ret;
}

/* AES-CTR of RFC 8452: the counter block is the tag with its top bit set, and
   only its first 32 bits, little-endian, count (wrapping mod 2^32). */
static int
gcmsiv_ctr(EVP_CIPHER_CTX *ctx, const uint8_t tag[AEAD_TAG_LEN], const uint8_t *in,
           size_t len, uint8_t *out)
{
    uint8_t ctr[CTR_BATCH * BLOCK_LEN], ks[CTR_BATCH * BLOCK_LEN];
    uint32_t c = (uint32_t)tag[0] | (uint32_t)tag[1] << 8 | (uint32_t)tag[2] << 16
                 | (uint32_t)tag[3] << 24;
    size_t n, nb, b, i;
    int ret = 0;

    for (; len > 0; in += n, out += n, len -= n) {
        n = len < sizeof(ks) ? len : sizeof(ks);
        nb = (n + BLOCK_LEN - 1) / BLOCK_LEN;
        for (b = 0; b < nb; b++, c++) {
            uint8_t *p = ctr + b * BLOCK_LEN;

            memcpy(p, tag, BLOCK_LEN);
            p[BLOCK_LEN - 1] |= 0x80;
            p[0] = (uint8_t)c;
            p[1] = (uint8_t)(c >> 8);
            p[2] = (uint8_t)(c >> 16);
            p[3] = (uint8_t)(c >> 24);
        }
        if (ecb(ctx, ctr, ks, nb * BLOCK_LEN) < 0) {
            ret = -1;
            break;
        }
        for (i = 0; i < n; i++)
            out[i] = in[i] ^ ks[i];
    }
    OPENSSL_cleanse(ks, sizeof(ks));
    return ret;
}

static EVP_CIPHER_CTX *
gcmsiv_ctx(EVP_CIPHER **cipher)
{
    EVP_CIPHER_CTX *ctx;

    *cipher = cipher_get(ALG_ECB128);
    ctx = EVP_CIPHER_CTX_new();
    if (*cipher == NULL || ctx == NULL
        || EVP_EncryptInit_ex2(ctx, *cipher, NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int
gcmsiv_seal(const uint8_t *key, const struct aead_ad *ad, size_t nad,
            const uint8_t *nonce, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
    EVP_CIPHER *cipher = NULL;
    EVP_CIPHER_CTX *ctx;
    uint64_t h[2] = {0, 0};
    uint8_t tag[AEAD_TAG_LEN];
    int ret = -1;

    ctx = gcmsiv_ctx(&cipher);
    if (ctx == NULL || gcmsiv_keys(ctx, key, nonce, h) < 0
        || gcmsiv_tag(ctx, h, nonce, nad ? ad[0].data : NULL, nad ? ad[0].len : 0,
                      pt, ptlen, tag) < 0
        || gcmsiv_ctr(ctx, tag, pt, ptlen, out) < 0)
        goto done;
    memcpy(out + ptlen, tag, AEAD_TAG_LEN);
    ret = 0;
done:
    OPENSSL_cleanse(h, sizeof(h));
    EVP_CIPHER_CTX_free(ctx);
    cipher_put(ALG_ECB128, cipher);
    return ret;
}

static int
gcmsiv_open(const uint8_t *key, const struct aead_ad *ad, size_t nad,
            const uint8_t *nonce, const uint8_t *in, size_t inlen, uint8_t *pt)
{
    size_t ptlen = inlen - AEAD_TAG_LEN;
    EVP_CIPHER *cipher = NULL;
    EVP_CIPHER_CTX *ctx;
    uint64_t h[2] = {0, 0};
    uint8_t tag[AEAD_TAG_LEN];
    int ret = -1;

    ctx = gcmsiv_ctx(&cipher);
    if (ctx == NULL || gcmsiv_keys(ctx, key, nonce, h) < 0
        || gcmsiv_ctr(ctx, in + ptlen, in, ptlen, pt) < 0
        || gcmsiv_tag(ctx, h, nonce, nad ? ad[0].data : NULL, nad ? ad[0].len : 0,
                      pt, ptlen, tag) < 0)
        goto done;
    ret = CRYPTO_memcmp(tag, in + ptlen, AEAD_TAG_LEN) == 0 ? 0 : -1;
done:
    OPENSSL_cleanse(h, sizeof(h));
    OPENSSL_cleanse(tag, sizeof(tag));
    EVP_CIPHER_CTX_free(ctx);
    cipher_put(ALG_ECB128, cipher);
    return ret;
}

/* ---- public ---- */

int
aead_seal(int id, const uint8_t *key, const struct aead_ad *ad, size_t nad,
          const uint8_t *nonce, size_t nonce_len, const uint8_t *pt, size_t ptlen,
          uint8_t *out)
{
    int ret;

    if (out == NULL || (pt == NULL && ptlen > 0)
        || !args_ok(id, key, ad, nad, nonce, nonce_len, ptlen))
        return -1;
    if (id == AEAD_AES_128_GCM_SIV)
        ret = gcmsiv_seal(key, ad, nad, nonce, pt, ptlen, out);
    else
        ret = siv_seal(id, key, ad, nad, nonce, nonce_len, pt, ptlen, out);
    if (ret < 0)
        OPENSSL_cleanse(out, AEAD_TAG_LEN + ptlen);
    return ret;
}

int
aead_open(int id, const uint8_t *key, const struct aead_ad *ad, size_t nad,
          const uint8_t *nonce, size_t nonce_len, const uint8_t *in, size_t inlen,
          uint8_t *pt)
{
    size_t ptlen;
    int ret = -1;

    if (in == NULL || inlen < AEAD_TAG_LEN)
        return -1;
    ptlen = inlen - AEAD_TAG_LEN;
    if (pt == NULL && ptlen > 0)
        return -1;
    if (args_ok(id, key, ad, nad, nonce, nonce_len, ptlen)) {
        if (id == AEAD_AES_128_GCM_SIV)
            ret = gcmsiv_open(key, ad, nad, nonce, in, inlen, pt);
        else
            ret = siv_open(id, key, ad, nad, nonce, nonce_len, in, inlen, pt);
    }
    if (ret < 0 && ptlen > 0)
        OPENSSL_cleanse(pt, ptlen);
    return ret;
}
