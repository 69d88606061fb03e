/* test_aead.c - the NTS AEADs against published vectors and tampering.
 *
 * Vectors: RFC 5297 appendix A.1 and A.2 (AES-SIV-CMAC-256); the NIST SIV
 * proposal's test cases with 192- and 256-bit subkeys (AES-SIV-CMAC-384/512);
 * the empty-AD, empty-plaintext vector that Miscreant and others publish for
 * AES-SIV-CMAC-256 (our own S2V path); every AEAD_AES_128_GCM_SIV vector of
 * RFC 8452 appendix C.1.  The "oracle" vectors on NTS-shaped inputs were
 * computed with another implementation (OpenSSL 4.0's AES-SIV and
 * AES-GCM-SIV through Python's cryptography package), so they check our
 * hand-made S2V and GCM-SIV on inputs the RFCs do not cover. */
#include "monitor/aead.h"

#include "tests/unit/check.h"

#define BUF_LEN 2048

static void
pattern(uint8_t *buf, size_t len, unsigned mul, unsigned add)
{
    size_t i;

    for (i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * mul + add);
}

static bool
all_zero(const uint8_t *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (buf[i] != 0)
            return false;
    return true;
}

static void
test_info(void)
{
    static const int bad[] = {0, 1, 14, 18, 29, 31, -1, 256};
    size_t i;

    CHECK(aead_is_supported(AEAD_AES_SIV_CMAC_256));
    CHECK(aead_is_supported(AEAD_AES_SIV_CMAC_384));
    CHECK(aead_is_supported(AEAD_AES_SIV_CMAC_512));
    CHECK(aead_is_supported(AEAD_AES_128_GCM_SIV));
    CHECK_INT(aead_key_len(15), 32);
    CHECK_INT(aead_key_len(16), 48);
    CHECK_INT(aead_key_len(17), 64);
    CHECK_INT(aead_key_len(30), 16);
    CHECK_INT(aead_nonce_len(15), 16);
    CHECK_INT(aead_nonce_len(16), 16);
    CHECK_INT(aead_nonce_len(17), 16);
    CHECK_INT(aead_nonce_len(30), 12);
    CHECK_STR(aead_name(15), "AES-SIV-CMAC-256");
    CHECK_STR(aead_name(16), "AES-SIV-CMAC-384");
    CHECK_STR(aead_name(17), "AES-SIV-CMAC-512");
    CHECK_STR(aead_name(30), "AES-128-GCM-SIV");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(!aead_is_supported(bad[i]));
        CHECK_INT(aead_key_len(bad[i]), 0);
        CHECK_INT(aead_nonce_len(bad[i]), 0);
        CHECK_STR(aead_name(bad[i]), "unknown");
    }
    CHECK(AEAD_MAX_KEY_LEN >= 64);
}

/* Seal and open one vector given in hex; nad items in ad_hex. */
static void
run_vector(int id, const char *key_hex, const char *const *ad_hex, size_t nad,
           const char *nonce_hex, const char *pt_hex, const char *out_hex)
{
    uint8_t key[AEAD_MAX_KEY_LEN], nonce[64], pt[BUF_LEN], want[BUF_LEN];
    uint8_t ad_buf[AEAD_MAX_AD_ITEMS][256], got[BUF_LEN], back[BUF_LEN];
    struct aead_ad ad[AEAD_MAX_AD_ITEMS];
    size_t key_len, nonce_len, ptlen, want_len, i;

    key_len = check_hex(key_hex, key, sizeof(key));
    nonce_len = check_hex(nonce_hex, nonce, sizeof(nonce));
    ptlen = check_hex(pt_hex, pt, sizeof(pt));
    want_len = check_hex(out_hex, want, sizeof(want));
    for (i = 0; i < nad; i++) {
        ad[i].len = check_hex(ad_hex[i], ad_buf[i], sizeof(ad_buf[i]));
        ad[i].data = ad_buf[i];
    }
    CHECK_INT(key_len, aead_key_len(id));
    CHECK_INT(want_len, ptlen + AEAD_TAG_LEN);

    memset(got, 0xa5, sizeof(got));
    CHECK_INT(aead_seal(id, key, ad, nad, nonce, nonce_len, pt, ptlen, got), 0);
    CHECK_MEM(got, want, want_len);
    CHECK_INT(got[want_len], 0xa5);             /* nothing written past the end */

    memset(back, 0xa5, sizeof(back));
    CHECK_INT(aead_open(id, key, ad, nad, nonce, nonce_len, want, want_len, back), 0);
    CHECK_MEM(back, pt, ptlen);
    CHECK_INT(back[ptlen], 0xa5);
}

struct siv_vector {
    int id;
    const char *key;
    const char *ad[2];
    size_t nad;
    const char *nonce;
    const char *pt;
    const char *out;
};

#define A2_AD1 "00112233 44556677 8899aabb ccddeeff deaddada deaddada " \
               "ffeeddcc bbaa9988 77665544 33221100"
#define A2_AD2 "10203040 50607080 90a0"
#define A2_NONCE "09f91102 9d74e35b d84156c5 635688c0"
#define A2_PT "74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 " \
              "74207573 696e6720 5349562d 414553"
#define A1_AD "10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627"
#define A1_PT "11223344 55667788 99aabbcc ddee"

static const struct siv_vector siv_vectors[] = {
    /* RFC 5297 A.1: deterministic, one AD item, no nonce. */
    {15, "fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff",
     {A1_AD}, 1, "", A1_PT,
     "85632d07 c6e8f37f 950acd32 0a2ecc93 40c02b96 90c4dc04 daef7f6a fe5c"},
    /* RFC 5297 A.2: two AD items and the nonce. */
    {15, "7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f",
     {A2_AD1, A2_AD2}, 2, A2_NONCE, A2_PT,
     "7bdb6e3b 432667eb 06f4d14b ff2fbd0f cb900f2f ddbe4043 26601965 c889bf17 "
     "dba77ceb 094fa663 b7a3f748 ba8af829 ea64ad54 4a272e9c 485b62a3 fd5c0d"},
    /* Empty AD and plaintext (Miscreant): S2V of the empty string alone. */
    {15, "fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff",
     {NULL}, 0, "", "", "f2007a5b eb2b8900 c588a7ad f599f172"},
    /* NIST SIV test case 1, 192-bit subkeys. */
    {16, "fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 6f6e6d6c 6b6a6968 f0f1f2f3 f4f5f6f7 "
         "f8f9fafb fcfdfeff 00010203 04050607",
     {A1_AD}, 1, "", A1_PT,
     "02347811 daa8b274 91f24448 932775a6 2af34a06 ac0016e8 ac284a55 14f6"},
    /* NIST SIV test case 2, 192-bit subkeys. */
    {16, "7f7e7d7c 7b7a7978 77767574 73727170 6f6e6d6c 6b6a6968 40414243 44454647 "
         "48494a4b 4c4d4e4f 50515253 54555657",
     {A2_AD1, A2_AD2}, 2, A2_NONCE, A2_PT,
     "de40aa1e 7180d519 cb14308e a7f77586 da09877c 510f2965 1f42311a b728e956 "
     "09e7de29 94bdf80b b99bfaac e31c4ec0 d15ba650 9f53f36a d725dcab c9e2a7"},
    /* NIST SIV test case 1, 256-bit subkeys. */
    {17, "fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 6f6e6d6c 6b6a6968 67666564 63626160 "
         "f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff 00010203 04050607 08090a0b 0c0d0e0f",
     {A1_AD}, 1, "", A1_PT,
     "f125274c 598065cf c26b0e71 57502908 8b035217 e380cac8 919ee800 c126"},
    /* NIST SIV test case 2, 256-bit subkeys. */
    {17, "7f7e7d7c 7b7a7978 77767574 73727170 6f6e6d6c 6b6a6968 67666564 63626160 "
         "40414243 44454647 48494a4b 4c4d4e4f 50515253 54555657 58595a5b 5b5d5e5f",
     {A2_AD1, A2_AD2}, 2, A2_NONCE, A2_PT,
     "85b81673 10038db7 dc4692c0 281ca358 68181b27 62f3c24f 2efa5fb8 0cb14351 "
     "6ce6c434 b898a6fd 8eb98a41 8842f51f 66fc67de 43ac185a 66dd7247 5bbb08"},
};

static void
test_siv_vectors(void)
{
    size_t i;

    for (i = 0; i < sizeof(siv_vectors) / sizeof(siv_vectors[0]); i++) {
        const struct siv_vector *v = &siv_vectors[i];

        run_vector(v->id, v->key, v->ad, v->nad, v->nonce, v->pt, v->out);
    }
}

struct gcmsiv_vector {
    const char *pt;
    const char *aad;
    const char *key;
    const char *nonce;
    const char *result;
};

#define C1_KEY "01000000000000000000000000000000"
#define C1_NONCE "030000000000000000000000"
#define B(n) "0" #n "000000000000000000000000000000"

/* RFC 8452 appendix C.1, all 24 vectors, in order. */
static const struct gcmsiv_vector gcmsiv_vectors[] = {
    {"", "", C1_KEY, C1_NONCE, "dc20e2d83f25705bb49e439eca56de25"},
    {"0100000000000000", "", C1_KEY, C1_NONCE,
     "b5d839330ac7b786578782fff6013b815b287c22493a364c"},
    {"010000000000000000000000", "", C1_KEY, C1_NONCE,
     "7323ea61d05932260047d942a4978db357391a0bc4fdec8b0d106639"},
    {B(1), "", C1_KEY, C1_NONCE,
     "743f7c8077ab25f8624e2e948579cf77303aaf90f6fe21199c6068577437a0c4"},
    {B(1) B(2), "", C1_KEY, C1_NONCE,
     "84e07e62ba83a6585417245d7ec413a9fe427d6315c09b57ce45f2e3936a9445"
     "1a8e45dcd4578c667cd86847bf6155ff"},
    {B(1) B(2) B(3), "", C1_KEY, C1_NONCE,
     "3fd24ce1f5a67b75bf2351f181a475c7b800a5b4d3dcf70106b1eea82fa1d64d"
     "f42bf7226122fa92e17a40eeaac1201b5e6e311dbf395d35b0fe39c2714388f8"},
    {B(1) B(2) B(3) B(4), "", C1_KEY, C1_NONCE,
     "2433668f1058190f6d43e360f4f35cd8e475127cfca7028ea8ab5c20f7ab2af0"
     "2516a2bdcbc08d521be37ff28c152bba36697f25b4cd169c6590d1dd39566d3f"
     "8a263dd317aa88d56bdf3936dba75bb8"},
    {"0200000000000000", "01", C1_KEY, C1_NONCE,
     "1e6daba35669f4273b0a1a2560969cdf790d99759abd1508"},
    {"020000000000000000000000", "01", C1_KEY, C1_NONCE,
     "296c7889fd99f41917f4462008299c5102745aaa3a0c469fad9e075a"},
    {B(2), "01", C1_KEY, C1_NONCE,
     "e2b0c5da79a901c1745f700525cb335b8f8936ec039e4e4bb97ebd8c4457441f"},
    {B(2) B(3), "01", C1_KEY, C1_NONCE,
     "620048ef3c1e73e57e02bb8562c416a319e73e4caac8e96a1ecb2933145a1d71"
     "e6af6a7f87287da059a71684ed3498e1"},
    {B(2) B(3) B(4), "01", C1_KEY, C1_NONCE,
     "50c8303ea93925d64090d07bd109dfd9515a5a33431019c17d93465999a8b005"
     "3201d723120a8562b838cdff25bf9d1e6a8cc3865f76897c2e4b245cf31c51f2"},
    {B(2) B(3) B(4) B(5), "01", C1_KEY, C1_NONCE,
     "2f5c64059db55ee0fb847ed513003746aca4e61c711b5de2e7a77ffd02da42fe"
     "ec601910d3467bb8b36ebbaebce5fba30d36c95f48a3e7980f0e7ac299332a80"
     "cdc46ae475563de037001ef84ae21744"},
    {"02000000", "010000000000000000000000", C1_KEY, C1_NONCE,
     "a8fe3e8707eb1f84fb28f8cb73de8e99e2f48a14"},
    {"0300000000000000000000000000000004000000", "010000000000000000000000000000000200",
     C1_KEY, C1_NONCE,
     "6bb0fecf5ded9b77f902c7d5da236a4391dd029724afc9805e976f451e6d87f6fe106514"},
    {"030000000000000000000000000000000400", "0100000000000000000000000000000002000000",
     C1_KEY, C1_NONCE,
     "44d0aaf6fb2f1f34add5e8064e83e12a2adabff9b2ef00fb47920cc72a0c0f13b9fd"},
    {"", "", "e66021d5eb8e4f4066d4adb9c33560e4", "f46e44bb3da0015c94f70887",
     "a4194b79071b01a87d65f706e3949578"},
    {"7a806c", "46bb91c3c5", "36864200e0eaf5284d884a0e77d31646",
     "bae8e37fc83441b16034566b", "af60eb711bd85bc1e4d3e0a462e074eea428a8"},
    {"bdc66f146545", "fc880c94a95198874296", "aedb64a6c590bc84d1a5e269e4b47801",
     "afc0577e34699b9e671fdd4f", "bb93a3e34d3cd6a9c45545cfc11f03ad743dba20f966"},
    {"1177441f195495860f", "046787f3ea22c127aaf195d1894728",
     "d5cc1fd161320b6920ce07787f86743b", "275d1ab32f6d1f0434d8848c",
     "4f37281f7ad12949d01d02fd0cd174c84fc5dae2f60f52fd2b"},
    {"9f572c614b4745914474e7c7", "c9882e5386fd9f92ec489c8fde2be2cf97e74e93",
     "b3fed1473c528b8426a582995929a149", "9e9ad8780c8d63d0ab4149c0",
     "f54673c5ddf710c745641c8bc1dc2f871fb7561da1286e655e24b7b0"},
    {"0d8c8451178082355c9e940fea2f58",
     "2950a70d5a1db2316fd568378da107b52b0da55210cc1c1b0a",
     "2d4ed87da44102952ef94b02b805249b", "ac80e6f61455bfac8308a2d4",
     "c9ff545e07b88a015f05b274540aa183b3449b9f39552de99dc214a1190b0b"},
    {"6b3db4da3d57aa94842b9803a96e07fb6de7",
     "1860f762ebfbd08284e421702de0de18baa9c9596291b08466f37de21c7f",
     "bde3b2f204d1e9f8b06bc47f9745b3d1", "ae06556fb6aa7890bebc18fe",
     "6298b296e24e8cc35dce0bed484b7f30d5803e377094f04709f64d7b985310a4db84"},
    {"e42a3c02c25b64869e146d7b233987bddfc240871d",
     "7576f7028ec6eb5ea7e298342a94d4b202b370ef9768ec6561c4fe6b7e7296fa859c21",
     "f901cfe8a69615a93fdf7a98cad48179", "6245709fb18853f68d833640",
     "391cc328d484a4f46406181bcd62efd9b3ee197d052d15506c84a9edd65e13e9d24a2a6e70"},
};

static void
test_gcmsiv_vectors(void)
{
    size_t i;

    CHECK_INT(sizeof(gcmsiv_vectors) / sizeof(gcmsiv_vectors[0]), 24);
    for (i = 0; i < sizeof(gcmsiv_vectors) / sizeof(gcmsiv_vectors[0]); i++) {
        const struct gcmsiv_vector *v = &gcmsiv_vectors[i];

        /* An empty AAD is passed as no item at all, the NTS way as one item. */
        run_vector(AEAD_AES_128_GCM_SIV, v->key, &v->aad, v->aad[0] ? 1 : 0, v->nonce,
                   v->pt, v->result);
    }
}

/* Vectors from an independent implementation on NTS-shaped inputs made by
   pattern(): see the file comment. */
static void
test_oracle(void)
{
    static const char gcm_a[] =
        "319a4311df3eaba02eec6887fa16b2ad12e73c253c720dd981ece9ae89f037cd"
        "e0f1a6d29a57a97d90c04d70f40d39cd55d3d2fa46ca3dd91fef7fff8a87edf1"
        "6c07ca290737b72c717582fa5b41f2da91afd060900c1f5265d18f67be55b8cf"
        "60903f1cc59b21c4c79e7c4974630b997386fa188878cee437a973e530e52444"
        "fd9abc24646f281592280c7f3cacb22c76389e57a6b634e3cab13848c958f20c"
        "b00a93693b03f4adf3c53155bbb6262864e670086aa633eee68987c67630eaeb"
        "2617134c103de336f819e4656db73e1c2d658030a2a65c3e01e828264b1c0dc3"
        "6ef1ac745f0e121828372ea1e38e244812bd089b98815795d9020b35835eabe5"
        "b971ea120c1d7c7abd0f53e0f0cb7d6fc689580cba3ad304dad86af90ccd0325"
        "98b6e1341276843c6c1b6dc9360fb5a139c93e3e3eb35d9820883960339606f0"
        "80628f0b9dce86fe";
    static const char *const siv_empty[] = {
        "3f7393b71839483528ab508505b0677d",       /* 15 */
        "10b37c4cfc3a1ca3c0ace271e571650c",       /* 16 */
        "ebf238c646ae9efa2fdd996f4f03c0ce",       /* 17 */
    };
    uint8_t key[AEAD_MAX_KEY_LEN], nonce[16], ad[1200], pt[312], want[BUF_LEN];
    uint8_t got[BUF_LEN], back[BUF_LEN];
    struct aead_ad items[3];
    size_t n;
    int id;

    /* AES-128-GCM-SIV, AD 200, plaintext 312 (crosses a counter batch). */
    pattern(key, 16, 7, 1);
    pattern(nonce, 12, 11, 2);
    pattern(ad, 200, 13, 3);
    pattern(pt, 312, 31, 7);
    items[0].data = ad;
    items[0].len = 200;
    n = check_hex(gcm_a, want, sizeof(want));
    CHECK_INT(n, 312 + AEAD_TAG_LEN);
    CHECK_INT(aead_seal(30, key, items, 1, nonce, 12, pt, 312, got), 0);
    CHECK_MEM(got, want, n);
    CHECK_INT(aead_open(30, key, items, 1, nonce, 12, want, n, back), 0);
    CHECK_MEM(back, pt, 312);

    /* AES-128-GCM-SIV, AD 1200, empty plaintext. */
    pattern(ad, 1200, 13, 3);
    items[0].len = 1200;
    n = check_hex("4b96effd228693573e1436b28da8da94", want, sizeof(want));
    CHECK_INT(aead_seal(30, key, items, 1, nonce, 12, NULL, 0, got), 0);
    CHECK_MEM(got, want, n);
    CHECK_INT(aead_open(30, key, items, 1, nonce, 12, want, n, NULL), 0);

    /* AES-SIV-CMAC, AD 104 and a 16-byte nonce, empty plaintext: our S2V. */
    pattern(ad, 104, 13, 3);
    pattern(nonce, 16, 11, 2);
    items[0].len = 104;
    for (id = 15; id <= 17; id++) {
        pattern(key, aead_key_len(id), 5, 9);
        n = check_hex(siv_empty[id - 15], want, sizeof(want));
        CHECK_INT(aead_seal(id, key, items, 1, nonce, 16, NULL, 0, got), 0);
        CHECK_MEM(got, want, n);
        CHECK_INT(aead_open(id, key, items, 1, nonce, 16, want, n, NULL), 0);
    }

    /* An empty AD item still counts as an S2V string, in both paths. */
    items[1].data = NULL;
    items[1].len = 0;
    pattern(key, 32, 5, 9);
    n = check_hex("0e6eac597c9bf5f761d561e327b5d25a", want, sizeof(want));
    CHECK_INT(aead_seal(15, key, items, 2, nonce, 16, NULL, 0, got), 0);
    CHECK_MEM(got, want, n);
    CHECK_INT(aead_open(15, key, items, 2, nonce, 16, want, n, NULL), 0);

    items[0].data = NULL;
    items[0].len = 0;
    items[1].data = ad;
    items[1].len = 104;
    pattern(key, 48, 5, 9);
    pattern(pt, 4, 31, 7);
    n = check_hex("c739362cc12958e7da6ba5d86c611c94ffd90fca", want, sizeof(want));
    CHECK_INT(aead_seal(16, key, items, 2, nonce, 16, pt, 4, got), 0);
    CHECK_MEM(got, want, n);
    CHECK_INT(aead_open(16, key, items, 2, nonce, 16, want, n, back), 0);
    CHECK_MEM(back, pt, 4);
}

/* Open must fail and leave the plaintext buffer zeroed. */
static void
check_rejected(int id, const uint8_t *key, const struct aead_ad *ad, size_t nad,
               const uint8_t *nonce, size_t nonce_len, const uint8_t *in, size_t inlen)
{
    uint8_t pt[BUF_LEN];
    size_t ptlen = inlen - AEAD_TAG_LEN;

    memset(pt, 0xa5, sizeof(pt));
    CHECK_INT(aead_open(id, key, ad, nad, nonce, nonce_len, in, inlen, pt), -1);
    CHECK(all_zero(pt, ptlen));
    CHECK_INT(pt[ptlen], 0xa5);
}

/* NTS-shaped round trips, and every kind of tampering rejected, for each id:
   AD of 100 and 1200 bytes (one item), plaintext of 0, 4 and 3 * 104 bytes. */
static void
test_nts_shapes(void)
{
    static const int ids[] = {15, 16, 17, 30};
    static const size_t ad_lens[] = {100, 1200};
    static const size_t pt_lens[] = {0, 4, 312};
    uint8_t key[AEAD_MAX_KEY_LEN], nonce[16], ad[1200], pt[312], out[BUF_LEN];
    uint8_t bad[BUF_LEN], back[BUF_LEN], other[BUF_LEN];
    struct aead_ad item, two[2];
    size_t i, j, k, nlen, klen, adlen, ptlen, olen;

    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        int id = ids[i];

        klen = aead_key_len(id);
        nlen = aead_nonce_len(id);
        for (j = 0; j < sizeof(ad_lens) / sizeof(ad_lens[0]); j++) {
            for (k = 0; k < sizeof(pt_lens) / sizeof(pt_lens[0]); k++) {
                adlen = ad_lens[j];
                ptlen = pt_lens[k];
                olen = ptlen + AEAD_TAG_LEN;
                pattern(key, klen, 3, (unsigned)(id + j));
                pattern(nonce, nlen, 17, (unsigned)k);
                pattern(ad, adlen, 29, 5);
                pattern(pt, ptlen, 7, 11);
                item.data = ad;
                item.len = adlen;

                CHECK_INT(aead_seal(id, key, &item, 1, nonce, nlen, pt, ptlen, out), 0);
                /* Deterministic for a given nonce; ciphertext hides the plaintext. */
                CHECK_INT(aead_seal(id, key, &item, 1, nonce, nlen, pt, ptlen, other), 0);
                CHECK_MEM(out, other, olen);
                if (ptlen >= 4) {
                    size_t ct = id == 30 ? 0 : AEAD_TAG_LEN;

                    CHECK(memcmp(out + ct, pt, ptlen) != 0);
                }
                memset(back, 0xa5, sizeof(back));
                CHECK_INT(aead_open(id, key, &item, 1, nonce, nlen, out, olen, back), 0);
                CHECK_MEM(back, pt, ptlen);
                CHECK_INT(back[ptlen], 0xa5);

                /* Another nonce gives another output. */
                nonce[0] ^= 1;
                CHECK_INT(aead_seal(id, key, &item, 1, nonce, nlen, pt, ptlen, other), 0);
                CHECK(memcmp(out, other, olen) != 0);
                check_rejected(id, key, &item, 1, nonce, nlen, out, olen);
                nonce[0] ^= 1;
                nonce[nlen - 1] ^= 0x80;
                check_rejected(id, key, &item, 1, nonce, nlen, out, olen);
                nonce[nlen - 1] ^= 0x80;

                /* Tag: first and last byte (SIV tag first, GCM-SIV tag last). */
                memcpy(bad, out, olen);
                bad[id == 30 ? ptlen : 0] ^= 0x01;
                check_rejected(id, key, &item, 1, nonce, nlen, bad, olen);
                memcpy(bad, out, olen);
                bad[id == 30 ? olen - 1 : AEAD_TAG_LEN - 1] ^= 0x80;
                check_rejected(id, key, &item, 1, nonce, nlen, bad, olen);

                /* Ciphertext: first and last byte. */
                if (ptlen > 0) {
                    size_t ct = id == 30 ? 0 : AEAD_TAG_LEN;

                    memcpy(bad, out, olen);
                    bad[ct] ^= 0x01;
                    check_rejected(id, key, &item, 1, nonce, nlen, bad, olen);
                    memcpy(bad, out, olen);
                    bad[ct + ptlen - 1] ^= 0x40;
                    check_rejected(id, key, &item, 1, nonce, nlen, bad, olen);
                }

                /* Truncated input. */
                if (ptlen > 0)
                    check_rejected(id, key, &item, 1, nonce, nlen, out, olen - 1);

                /* Associated data: first byte, last byte, one byte shorter,
                   missing, split into two items. */
                ad[0] ^= 0x01;
                check_rejected(id, key, &item, 1, nonce, nlen, out, olen);
                ad[0] ^= 0x01;
                ad[adlen - 1] ^= 0x20;
                check_rejected(id, key, &item, 1, nonce, nlen, out, olen);
                ad[adlen - 1] ^= 0x20;
                item.len = adlen - 1;
                check_rejected(id, key, &item, 1, nonce, nlen, out, olen);
                item.len = adlen;
                check_rejected(id, key, NULL, 0, nonce, nlen, out, olen);
                if (id != 30) {
                    two[0].data = ad;
                    two[0].len = 48;
                    two[1].data = ad + 48;
                    two[1].len = adlen - 48;
                    check_rejected(id, key, two, 2, nonce, nlen, out, olen);
                    /* The nonce is just the last S2V item: moving it into
                       the AD list changes nothing, dropping it does. */
                    two[0] = item;
                    two[1].data = nonce;
                    two[1].len = nlen;
                    CHECK_INT(aead_open(id, key, two, 2, NULL, 0, out, olen, back), 0);
                    check_rejected(id, key, &item, 1, NULL, 0, out, olen);
                }

                /* Wrong key.  With nothing to encrypt, SIV never uses K2, the
                   second half of its key (RFC 5297 section 2.6). */
                key[0] ^= 0x01;
                check_rejected(id, key, &item, 1, nonce, nlen, out, olen);
                key[0] ^= 0x01;
                key[klen - 1] ^= 0x01;
                if (ptlen > 0 || id == 30)
                    check_rejected(id, key, &item, 1, nonce, nlen, out, olen);
                else
                    CHECK_INT(aead_open(id, key, &item, 1, nonce, nlen, out, olen, back),
                              0);
                key[klen - 1] ^= 0x01;

                /* Still authentic after all the restoring. */
                CHECK_INT(aead_open(id, key, &item, 1, nonce, nlen, out, olen, back), 0);
                CHECK_MEM(back, pt, ptlen);
            }
        }
    }
}

/* Empty plaintext (an ordinary NTS request) for every id. */
static void
test_empty(void)
{
    static const int ids[] = {15, 16, 17, 30};
    uint8_t key[AEAD_MAX_KEY_LEN], nonce[16], ad[48], out[AEAD_TAG_LEN];
    uint8_t out2[AEAD_TAG_LEN], bad[AEAD_TAG_LEN];
    struct aead_ad item = {ad, sizeof(ad)};
    size_t i, b;

    pattern(ad, sizeof(ad), 1, 0x23);
    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        int id = ids[i];
        size_t nlen = aead_nonce_len(id);

        pattern(key, aead_key_len(id), 9, 1);
        pattern(nonce, nlen, 5, 3);
        CHECK_INT(aead_seal(id, key, &item, 1, nonce, nlen, NULL, 0, out), 0);
        CHECK(!all_zero(out, sizeof(out)));
        CHECK_INT(aead_open(id, key, &item, 1, nonce, nlen, out, sizeof(out), NULL), 0);
        /* pt may also be a real buffer when there is nothing to decrypt. */
        CHECK_INT(aead_open(id, key, &item, 1, nonce, nlen, out, sizeof(out), bad), 0);
        for (b = 0; b < AEAD_TAG_LEN; b++) {
            memcpy(bad, out, sizeof(bad));
            bad[b] ^= (uint8_t)(1u << (b % 8));
            CHECK_INT(aead_open(id, key, &item, 1, nonce, nlen, bad, sizeof(bad), NULL),
                      -1);
        }
        ad[5] ^= 4;
        CHECK_INT(aead_open(id, key, &item, 1, nonce, nlen, out, sizeof(out), NULL), -1);
        CHECK_INT(aead_seal(id, key, &item, 1, nonce, nlen, NULL, 0, out2), 0);
        CHECK(memcmp(out, out2, sizeof(out)) != 0);
        ad[5] ^= 4;
        nonce[3] ^= 2;
        CHECK_INT(aead_open(id, key, &item, 1, nonce, nlen, out, sizeof(out), NULL), -1);
        nonce[3] ^= 2;
        CHECK_INT(aead_open(id, key, NULL, 0, nonce, nlen, out, sizeof(out), NULL), -1);
        if (id != 30) {
            /* Deterministic mode and an empty item are distinct S2V inputs. */
            CHECK_INT(aead_open(id, key, &item, 1, NULL, 0, out, sizeof(out), NULL), -1);
            CHECK_INT(aead_seal(id, key, NULL, 0, NULL, 0, NULL, 0, out2), 0);
            CHECK_INT(aead_open(id, key, NULL, 0, NULL, 0, out2, sizeof(out2), NULL), 0);
            CHECK(memcmp(out, out2, sizeof(out)) != 0);
        } else {
            /* No AD item and one empty item are the same empty AAD. */
            struct aead_ad none = {NULL, 0};

            CHECK_INT(aead_seal(id, key, NULL, 0, nonce, nlen, NULL, 0, out), 0);
            CHECK_INT(aead_seal(id, key, &none, 1, nonce, nlen, NULL, 0, out2), 0);
            CHECK_MEM(out, out2, sizeof(out));
        }
        CHECK_INT(aead_open(id, key, &item, 1, nonce, nlen, out, AEAD_TAG_LEN - 1, NULL),
                  -1);
    }
}

static void
test_bad_args(void)
{
    uint8_t key[AEAD_MAX_KEY_LEN], nonce[16], pt[32], out[64], back[32];
    struct aead_ad items[AEAD_MAX_AD_ITEMS + 1], item = {pt, 8};
    size_t i;

    memset(key, 1, sizeof(key));
    memset(nonce, 2, sizeof(nonce));
    memset(pt, 3, sizeof(pt));
    for (i = 0; i <= AEAD_MAX_AD_ITEMS; i++) {
        items[i].data = pt;
        items[i].len = i;
    }

    CHECK_INT(aead_seal(14, key, NULL, 0, nonce, 16, pt, 4, out), -1);
    CHECK_INT(aead_seal(0, key, NULL, 0, nonce, 16, pt, 4, out), -1);
    CHECK_INT(aead_seal(15, NULL, NULL, 0, nonce, 16, pt, 4, out), -1);
    CHECK_INT(aead_seal(15, key, NULL, 0, nonce, 16, pt, 4, NULL), -1);
    CHECK_INT(aead_seal(15, key, NULL, 0, nonce, 16, NULL, 4, out), -1);
    CHECK_INT(aead_seal(15, key, NULL, 1, nonce, 16, pt, 4, out), -1);
    CHECK_INT(aead_seal(15, key, NULL, 0, NULL, 16, pt, 4, out), -1);
    CHECK_INT(aead_seal(15, key, items, AEAD_MAX_AD_ITEMS + 1, nonce, 16, pt, 4, out),
              -1);
    CHECK_INT(aead_seal(15, key, items, AEAD_MAX_AD_ITEMS, nonce, 16, pt, 4, out), 0);
    CHECK_INT(aead_open(15, key, items, AEAD_MAX_AD_ITEMS, nonce, 16, out, 20, back), 0);
    items[1].data = NULL;
    CHECK_INT(aead_seal(15, key, items, 2, nonce, 16, pt, 4, out), -1);
    items[1].data = pt;

    /* GCM-SIV: 12-byte nonce only, at most one AD item. */
    CHECK_INT(aead_seal(30, key, &item, 1, nonce, 16, pt, 4, out), -1);
    CHECK_INT(aead_seal(30, key, &item, 1, nonce, 0, pt, 4, out), -1);
    CHECK_INT(aead_seal(30, key, items, 2, nonce, 12, pt, 4, out), -1);
    CHECK_INT(aead_seal(30, key, &item, 1, nonce, 12, pt, 4, out), 0);

    /* Open: too short, bad id, and a failing open zeroes the plaintext. */
    CHECK_INT(aead_open(30, key, &item, 1, nonce, 12, out, 15, back), -1);
    CHECK_INT(aead_open(30, key, &item, 1, nonce, 12, NULL, 20, back), -1);
    CHECK_INT(aead_open(30, key, &item, 1, nonce, 12, out, 20, NULL), -1);
    memset(back, 0xa5, sizeof(back));
    CHECK_INT(aead_open(31, key, &item, 1, nonce, 12, out, 20, back), -1);
    CHECK(all_zero(back, 4));
    memset(back, 0xa5, sizeof(back));
    CHECK_INT(aead_open(30, key, items, 2, nonce, 12, out, 20, back), -1);
    CHECK(all_zero(back, 4));
    CHECK_INT(aead_open(30, key, &item, 1, nonce, 12, out, 20, back), 0);
    CHECK_MEM(back, pt, 4);
}

int
main(void)
{
    test_info();
    test_siv_vectors();
    test_gcmsiv_vectors();
    test_oracle();
    test_empty();
    test_nts_shapes();
    test_bad_args();
    return check_finish("test_aead");
}
