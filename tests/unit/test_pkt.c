/* test_pkt.c - unit tests of monitor/pkt: request and response round trips
 * for every AEAD and placeholder count, one crafted packet per reason a
 * response is ignored, the KoD rules of RFC 8915 5.7, the server half,
 * timestamp conversions across the 2036 era boundary, the offset/delay math,
 * and a seeded mutation loop (-s SEED) over valid responses. */
#include "monitor/pkt.h"

#include <time.h>
#include <unistd.h>

#include "monitor/aead.h"
#include "tests/unit/check.h"

static const int aeads[] = { 15, 16, 17, 30 };
#define NAEADS (sizeof(aeads) / sizeof(aeads[0]))

static uint8_t c2s_key[AEAD_MAX_KEY_LEN], s2c_key[AEAD_MAX_KEY_LEN];
static uint8_t other_key[AEAD_MAX_KEY_LEN];
static uint8_t cookie[PKT_MAX_COOKIE_LEN];
static uint8_t server_nonce[PKT_MAX_NONCE_LEN];

static uint64_t rng_state;

/* splitmix64: small, seedable, good enough to pick mutations. */
static uint64_t
rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void
rnd_fill(uint8_t *p, size_t n)
{
    while (n--)
        *p++ = (uint8_t)rnd();
}

static void
setup_keys(void)
{
    size_t i;

    for (i = 0; i < AEAD_MAX_KEY_LEN; i++) {
        c2s_key[i] = (uint8_t)(0x10 + i);
        s2c_key[i] = (uint8_t)(0x80 + i);
        other_key[i] = (uint8_t)(0x81 + i);
    }
    for (i = 0; i < sizeof(cookie); i++)
        cookie[i] = (uint8_t)(0xC0 ^ i);
    for (i = 0; i < sizeof(server_nonce); i++)
        server_nonce[i] = (uint8_t)(0x50 + i);
}

static void
make_request(struct pkt_request *req, int aead, unsigned ph, size_t cookie_len)
{
    memset(req, 0, sizeof(*req));
    req->aead_id = aead;
    req->c2s_key = c2s_key;
    req->cookie = cookie;
    req->cookie_len = cookie_len;
    req->placeholders = ph;
    rnd_fill(req->xmt, sizeof(req->xmt));
    rnd_fill(req->uid, sizeof(req->uid));
    rnd_fill(req->nonce, sizeof(req->nonce));
}

static void
make_reply(struct pkt_reply *rep, int aead, size_t ncookies)
{
    size_t i;

    memset(rep, 0, sizeof(*rep));
    rep->hdr.stratum = 2;
    rep->hdr.poll = 4;
    rep->hdr.precision = -24;
    rep->hdr.root_delay = 0x00000800;   /* 1/32 s */
    rep->hdr.root_disp = 0x00010000;    /* 1 s */
    rep->hdr.refid = 0x7F000001;
    rep->hdr.ref_ts = 0xEB00000000000000ull;
    rep->hdr.rx_ts = 0xEB00000112345678ull;
    rep->hdr.tx_ts = 0xEB00000112350000ull;
    rep->aead_id = aead;
    rep->s2c_key = s2c_key;
    rep->nonce = server_nonce;
    rep->ncookies = ncookies;
    for (i = 0; i < ncookies && i < PKT_MAX_COOKIES; i++) {
        rep->cookies[i] = cookie + i;
        rep->cookie_len[i] = 100;
    }
}

/* Client request -> server: parse, verify, answer with 1 + ph cookies.
   Returns the response length, or -1 (after failing a check). */
static long
exchange(const struct pkt_request *req, const struct pkt_reply *rep, uint8_t *resp,
         struct pkt_server_request *sreq)
{
    uint8_t buf[PKT_MAX_LEN];
    long n = pkt_build_request(req, buf, sizeof(buf));

    CHECK(n > 0);
    if (n <= 0)
        return -1;
    CHECK_INT(pkt_parse_request(buf, (size_t)n, sreq), 0);
    CHECK_INT(pkt_verify_request(buf, (size_t)n, sreq, req->aead_id, c2s_key), 0);
    n = pkt_build_response(sreq, rep, resp, PKT_MAX_LEN);
    CHECK(n > 0);
    return n;
}

static void
test_round_trip(void)
{
    size_t a;
    unsigned ph;
    size_t i;

    for (a = 0; a < NAEADS; a++) {
        for (ph = 0; ph <= PKT_MAX_PLACEHOLDERS; ph++) {
            struct pkt_request req;
            struct pkt_server_request sreq;
            struct pkt_reply rep;
            struct pkt_response out;
            uint8_t buf[PKT_MAX_LEN], resp[PKT_MAX_LEN];
            size_t nl = aead_nonce_len(aeads[a]);
            size_t auth_len = 8 + nl + AEAD_TAG_LEN;
            long n, rn;

            make_request(&req, aeads[a], ph, 100);
            n = pkt_build_request(&req, buf, sizeof(buf));
            CHECK_INT(n, 48 + 36 + 104 + 104 * ph + auth_len);
            CHECK_INT(buf[0], 0x23);            /* LI 0, VN 4, mode 3 */
            CHECK_MEM(buf + 40, req.xmt, 8);
            for (i = 1; i < 40; i++)
                if (buf[i] != 0)
                    break;
            CHECK_INT(i, 40);                   /* all else zero */
            CHECK_INT(buf[48] << 8 | buf[49], PKT_EF_UID);
            CHECK_INT(buf[50] << 8 | buf[51], 36);
            CHECK_MEM(buf + 52, req.uid, 32);
            CHECK_INT(buf[84] << 8 | buf[85], PKT_EF_COOKIE);
            CHECK_INT(buf[86] << 8 | buf[87], 104);
            CHECK_MEM(buf + 88, cookie, 100);
            if (ph > 0) {
                CHECK_INT(buf[188] << 8 | buf[189], PKT_EF_PLACEHOLDER);
                CHECK_INT(buf[190] << 8 | buf[191], 104);
            }
            i = (size_t)n - auth_len;
            CHECK_INT(buf[i] << 8 | buf[i + 1], PKT_EF_AUTH);
            CHECK_INT(buf[i + 2] << 8 | buf[i + 3], auth_len);
            CHECK(auth_len >= PKT_MIN_LAST_EF_LEN);
            CHECK_INT(buf[i + 4] << 8 | buf[i + 5], nl);
            CHECK_INT(buf[i + 6] << 8 | buf[i + 7], AEAD_TAG_LEN);
            CHECK_MEM(buf + i + 8, req.nonce, nl);

            CHECK_INT(pkt_parse_request(buf, (size_t)n, &sreq), 0);
            CHECK_INT(sreq.hdr.mode, 3);
            CHECK_INT(sreq.uid_len, 32);
            CHECK_MEM(sreq.uid, req.uid, 32);
            CHECK_INT(sreq.cookie_len, 100);
            CHECK_MEM(sreq.cookie, cookie, 100);
            CHECK_INT(sreq.placeholders, ph);
            CHECK_INT(sreq.auth_off, i);
            CHECK_INT(pkt_verify_request(buf, (size_t)n, &sreq, aeads[a], c2s_key), 0);
            CHECK_INT(pkt_verify_request(buf, (size_t)n, &sreq, aeads[a], s2c_key), -1);

            make_reply(&rep, aeads[a], 1 + ph);
            rn = pkt_build_response(&sreq, &rep, resp, sizeof(resp));
            CHECK(rn > 0);
            CHECK(rn <= n);                     /* no amplification */
            CHECK_INT(pkt_parse_response(resp, (size_t)rn, &req, s2c_key, &out),
                      PKT_RESP_OK);
            CHECK(out.why == NULL);
            CHECK(out.authenticated);
            CHECK_INT(out.leap, 0);
            CHECK_INT(out.version, 4);
            CHECK_INT(out.mode, 4);
            CHECK_INT(out.stratum, 2);
            CHECK_INT(out.poll, 4);
            CHECK_INT(out.precision, -24);
            CHECK_NEAR(out.root_delay, 1.0 / 32, 0);
            CHECK_NEAR(out.root_disp, 1.0, 0);
            CHECK_INT(out.refid, 0x7F000001);
            CHECK(out.t2 == rep.hdr.rx_ts);
            CHECK(out.t3 == rep.hdr.tx_ts);
            CHECK_STR(out.kiss, "");
            CHECK_INT(out.outside_cookies, 0);
            CHECK_INT(out.ncookies, 1 + ph);
            for (i = 0; i < out.ncookies; i++) {
                CHECK_INT(out.cookie_len[i], 100);
                CHECK_MEM(out.cookies[i], cookie + i, 100);
            }
            /* The client key is not the server key. */
            CHECK_INT(pkt_parse_response(resp, (size_t)rn, &req, c2s_key, &out),
                      PKT_RESP_IGNORE);
        }
    }
}

static void
test_build_request_args(void)
{
    struct pkt_request req;
    uint8_t buf[PKT_MAX_LEN];
    long n;

    make_request(&req, 15, 0, 102);
    n = pkt_build_request(&req, buf, sizeof(buf));
    CHECK_INT(n, 48 + 36 + 108 + 40);           /* cookie padded to 104 */
    CHECK_INT(buf[86] << 8 | buf[87], 108);
    CHECK_INT(buf[88 + 102], 0);
    CHECK_INT(buf[88 + 103], 0);
    CHECK_INT(pkt_build_request(&req, buf, (size_t)n - 1), -1);
    CHECK_INT(pkt_build_request(&req, buf, (size_t)n), n);

    req.cookie_len = 0;
    CHECK_INT(pkt_build_request(&req, buf, sizeof(buf)), -1);
    req.cookie_len = PKT_MAX_COOKIE_LEN + 1;
    CHECK_INT(pkt_build_request(&req, buf, sizeof(buf)), -1);
    req.cookie_len = 4;                         /* tiny cookie: EF still 16 */
    n = pkt_build_request(&req, buf, sizeof(buf));
    CHECK_INT(n, 48 + 36 + 16 + 40);
    req.cookie_len = 100;
    req.placeholders = PKT_MAX_PLACEHOLDERS + 1;
    CHECK_INT(pkt_build_request(&req, buf, sizeof(buf)), -1);
    req.placeholders = 0;
    req.aead_id = 99;
    CHECK_INT(pkt_build_request(&req, buf, sizeof(buf)), -1);
    req.aead_id = 15;
    req.c2s_key = NULL;
    CHECK_INT(pkt_build_request(&req, buf, sizeof(buf)), -1);
    /* The largest request fits PKT_MAX_LEN. */
    make_request(&req, 15, PKT_MAX_PLACEHOLDERS, PKT_MAX_COOKIE_LEN);
    CHECK(pkt_build_request(&req, buf, sizeof(buf)) > 0);
}

/* ---- crafting responses EF by EF ---- */

struct craft {
    uint8_t buf[PKT_MAX_LEN];
    size_t len;
    uint8_t pt[PKT_MAX_LEN];
    size_t pt_len;
};

static void
craft_header(struct craft *c, const struct pkt_request *req)
{
    struct pkt_reply rep;

    make_reply(&rep, 15, 0);
    rep.hdr.version = 4;
    rep.hdr.mode = 4;
    c->len = (size_t)pkt_put_header(c->buf, sizeof(c->buf), &rep.hdr);
    memcpy(c->buf + 24, req->xmt, 8);           /* origin, in wire order */
    c->pt_len = 0;
}

static void
craft_ef(struct craft *c, uint16_t type, const uint8_t *body, size_t len)
{
    CHECK_INT(pkt_append_ef(c->buf, sizeof(c->buf), &c->len, type, body, len), 0);
}

static void
craft_inner(struct craft *c, uint16_t type, const uint8_t *body, size_t len)
{
    CHECK_INT(pkt_append_inner_ef(c->pt, sizeof(c->pt), &c->pt_len, type, body, len), 0);
}

static void
craft_auth(struct craft *c, int aead, const uint8_t *key)
{
    CHECK_INT(pkt_append_auth(c->buf, sizeof(c->buf), &c->len, aead, key, server_nonce,
                              aead_nonce_len(aead), c->pt, c->pt_len), 0);
}

static void
expect_ignore(const uint8_t *buf, size_t len, const struct pkt_request *req,
              const uint8_t *key, const char *why, int line)
{
    struct pkt_response out;
    enum pkt_resp_status st = pkt_parse_response(buf, len, req, key, &out);

    check_count++;
    if (st != PKT_RESP_IGNORE || out.why == NULL || strcmp(out.why, why) != 0
        || out.ncookies != 0) {
        check_failed++;
        fprintf(stderr, "%s:%d: expected ignore \"%s\", got %s \"%s\"\n", __FILE__, line,
                why, pkt_resp_status_str(st), out.why ? out.why : "");
    }
}
#define EXPECT_IGNORE(buf, len, req, key, why) \
    expect_ignore((buf), (len), (req), (key), (why), __LINE__)

static void
test_ignore_reasons(void)
{
    struct pkt_request req, req2;
    struct pkt_server_request sreq;
    struct pkt_reply rep;
    struct pkt_response out;
    struct craft c;
    uint8_t resp[PKT_MAX_LEN], tmp[PKT_MAX_LEN], big[PKT_MAX_COOKIE_LEN + 4];
    long n;
    size_t len, auth_off;

    make_request(&req, 15, 1, 100);
    make_reply(&rep, 15, 2);
    n = exchange(&req, &rep, resp, &sreq);
    if (n <= 0)
        return;
    len = (size_t)n;
    auth_off = len - 40 - 2 * 104;              /* UID 36 after the header */
    CHECK_INT(auth_off, 84);
    CHECK_INT(pkt_parse_response(resp, len, &req, s2c_key, &out), PKT_RESP_OK);

    /* Truncated, oversized, version, mode, origin. */
    EXPECT_IGNORE(resp, 47, &req, s2c_key, "too short");
    EXPECT_IGNORE(resp, 0, &req, s2c_key, "too short");
    EXPECT_IGNORE(resp, PKT_MAX_LEN + 1, &req, s2c_key, "too long");
    EXPECT_IGNORE(resp, len - 4, &req, s2c_key, "ef past end");
    EXPECT_IGNORE(resp, len - 1, &req, s2c_key, "ef past end");
    EXPECT_IGNORE(resp, 50, &req, s2c_key, "truncated ef");
    EXPECT_IGNORE(resp, 84, &req, s2c_key, "no authenticator");
    memcpy(tmp, resp, len);
    tmp[0] = (tmp[0] & ~0x38) | 3 << 3;         /* NTPv3 */
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "bad version");
    memcpy(tmp, resp, len);
    tmp[0] = (tmp[0] & ~7) | 3;                 /* mode 3: our own request reflected */
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "bad mode");
    tmp[0] = (tmp[0] & ~7) | 5;
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "bad mode");
    memcpy(tmp, resp, len);
    tmp[31] ^= 1;
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "origin mismatch");

    /* UID: another request's, absent, twice, longer. */
    make_request(&req2, 15, 1, 100);
    memcpy(req2.xmt, req.xmt, 8);
    EXPECT_IGNORE(resp, len, &req2, s2c_key, "uid mismatch");
    rep.flags = PKT_REPLY_NO_UID;
    n = pkt_build_response(&sreq, &rep, tmp, sizeof(tmp));
    EXPECT_IGNORE(tmp, (size_t)n, &req, s2c_key, "uid missing");
    rep.flags = 0;
    craft_header(&c, &req);
    craft_ef(&c, PKT_EF_UID, req.uid, 32);
    craft_ef(&c, PKT_EF_UID, req.uid, 32);
    craft_inner(&c, PKT_EF_COOKIE, cookie, 100);
    craft_auth(&c, 15, s2c_key);
    EXPECT_IGNORE(c.buf, c.len, &req, s2c_key, "duplicate uid");
    craft_header(&c, &req);
    memcpy(big, req.uid, 32);
    memset(big + 32, 0, 4);
    craft_ef(&c, PKT_EF_UID, big, 36);
    craft_auth(&c, 15, s2c_key);
    EXPECT_IGNORE(c.buf, c.len, &req, s2c_key, "uid mismatch");

    /* Authenticator: absent, not last, tampered, wrong key, malformed. */
    rep.flags = PKT_REPLY_NO_AUTH;
    n = pkt_build_response(&sreq, &rep, tmp, sizeof(tmp));
    CHECK_INT(n, 84);
    EXPECT_IGNORE(tmp, (size_t)n, &req, s2c_key, "no authenticator");
    rep.flags = 0;
    memcpy(tmp, resp, len);
    {
        size_t l2 = len;
        CHECK_INT(pkt_append_ef(tmp, sizeof(tmp), &l2, 0x2104, NULL, 12), 0);
        EXPECT_IGNORE(tmp, l2, &req, s2c_key, "authenticator not last");
    }
    craft_header(&c, &req);                     /* two Authenticators */
    craft_ef(&c, PKT_EF_UID, req.uid, 32);
    craft_auth(&c, 15, s2c_key);
    craft_auth(&c, 15, s2c_key);
    EXPECT_IGNORE(c.buf, c.len, &req, s2c_key, "authenticator not last");
    memcpy(tmp, resp, len);
    tmp[len - 1] ^= 0x40;                       /* ciphertext */
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "auth failed");
    memcpy(tmp, resp, len);
    tmp[auth_off + 8] ^= 1;                     /* nonce */
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "auth failed");
    memcpy(tmp, resp, len);
    tmp[1] ^= 1;                                /* stratum, inside the AD */
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "auth failed");
    memcpy(tmp, resp, len);
    tmp[40] ^= 0x80;                            /* t3 */
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "auth failed");
    EXPECT_IGNORE(resp, len, &req, other_key, "auth failed");
    EXPECT_IGNORE(resp, len, &req, NULL, "no key");
    req2 = req;
    req2.aead_id = 16;                          /* same bytes, other algorithm */
    EXPECT_IGNORE(resp, len, &req2, s2c_key, "auth failed");
    memcpy(tmp, resp, len);
    tmp[auth_off + 4] = 0x01;                   /* nonce length 256 > field */
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "bad authenticator");
    memcpy(tmp, resp, len);
    tmp[auth_off + 4] = 0;
    tmp[auth_off + 5] = 0;                      /* empty nonce */
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "bad authenticator");
    memcpy(tmp, resp, len);
    tmp[auth_off + 7] = 12;                     /* ciphertext shorter than a tag */
    tmp[auth_off + 6] = 0;
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "bad authenticator");
    memcpy(tmp, resp, len);
    tmp[auth_off + 6] ^= 0x04;                  /* ciphertext length + 1024 */
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "bad authenticator");
    memcpy(tmp, resp, len);
    tmp[auth_off + 7] -= 4;                     /* shorter ciphertext: tag mismatch */
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "auth failed");

    /* EF lengths: not a multiple of 4, past the end, below 16. */
    memcpy(tmp, resp, len);
    tmp[51] = 38;
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "bad ef length");
    memcpy(tmp, resp, len);
    tmp[50] = 0xFF;
    tmp[51] = 0x00;
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "ef past end");
    memcpy(tmp, resp, len);
    tmp[auth_off + 2] = 0x01;                   /* authenticator length + 256 */
    EXPECT_IGNORE(tmp, len, &req, s2c_key, "ef past end");
    craft_header(&c, &req);
    c.buf[c.len++] = 0x21;                      /* unknown EF of 12 bytes */
    c.buf[c.len++] = 0x04;
    c.buf[c.len++] = 0;
    c.buf[c.len++] = 12;
    memset(c.buf + c.len, 0, 8);
    c.len += 8;
    craft_ef(&c, PKT_EF_UID, req.uid, 32);
    craft_auth(&c, 15, s2c_key);
    EXPECT_IGNORE(c.buf, c.len, &req, s2c_key, "bad ef length");
    craft_header(&c, &req);                     /* zero length never loops */
    memset(c.buf + c.len, 0, 16);
    c.len += 16;
    EXPECT_IGNORE(c.buf, c.len, &req, s2c_key, "bad ef length");

    /* Unknown EFs, inside and outside, are skipped. */
    craft_header(&c, &req);
    craft_ef(&c, 0x7777, big, 20);
    craft_ef(&c, PKT_EF_UID, req.uid, 32);
    craft_ef(&c, PKT_EF_PLACEHOLDER, NULL, 100);
    craft_inner(&c, 0x7777, NULL, 0);
    craft_inner(&c, PKT_EF_COOKIE, cookie, 100);
    craft_inner(&c, 0x0304, NULL, 4);
    craft_auth(&c, 15, s2c_key);
    CHECK_INT(pkt_parse_response(c.buf, c.len, &req, s2c_key, &out), PKT_RESP_OK);
    CHECK_INT(out.ncookies, 1);

    /* Cookies outside the encrypted part are not taken. */
    rep.flags = PKT_REPLY_COOKIES_OUTSIDE;
    n = pkt_build_response(&sreq, &rep, tmp, sizeof(tmp));
    CHECK_INT(pkt_parse_response(tmp, (size_t)n, &req, s2c_key, &out), PKT_RESP_OK);
    CHECK_INT(out.ncookies, 0);
    CHECK_INT(out.outside_cookies, 2);
    rep.flags = 0;
    craft_header(&c, &req);                     /* one inside, one outside */
    craft_ef(&c, PKT_EF_UID, req.uid, 32);
    craft_ef(&c, PKT_EF_COOKIE, cookie + 50, 100);
    craft_inner(&c, PKT_EF_COOKIE, cookie, 100);
    craft_auth(&c, 15, s2c_key);
    CHECK_INT(pkt_parse_response(c.buf, c.len, &req, s2c_key, &out), PKT_RESP_OK);
    CHECK_INT(out.ncookies, 1);
    CHECK_MEM(out.cookies[0], cookie, 100);
    CHECK_INT(out.outside_cookies, 1);

    /* More cookies than asked for (1 + 1 placeholder). */
    make_reply(&rep, 15, 3);
    n = pkt_build_response(&sreq, &rep, tmp, sizeof(tmp));
    EXPECT_IGNORE(tmp, (size_t)n, &req, s2c_key, "too many cookies");
    make_reply(&rep, 15, 0);                    /* none at all is fine */
    n = pkt_build_response(&sreq, &rep, tmp, sizeof(tmp));
    CHECK_INT(pkt_parse_response(tmp, (size_t)n, &req, s2c_key, &out), PKT_RESP_OK);
    CHECK_INT(out.ncookies, 0);

    /* Cookie sizes: oversize, empty; odd sizes come back padded. */
    craft_header(&c, &req);
    craft_ef(&c, PKT_EF_UID, req.uid, 32);
    memset(big, 0xAB, sizeof(big));
    craft_inner(&c, PKT_EF_COOKIE, big, PKT_MAX_COOKIE_LEN + 4);
    craft_auth(&c, 15, s2c_key);
    EXPECT_IGNORE(c.buf, c.len, &req, s2c_key, "bad cookie length");
    craft_header(&c, &req);
    craft_ef(&c, PKT_EF_UID, req.uid, 32);
    craft_inner(&c, PKT_EF_COOKIE, NULL, 0);
    craft_auth(&c, 15, s2c_key);
    EXPECT_IGNORE(c.buf, c.len, &req, s2c_key, "bad cookie length");
    craft_header(&c, &req);
    craft_ef(&c, PKT_EF_UID, req.uid, 32);
    craft_inner(&c, PKT_EF_COOKIE, big, PKT_MAX_COOKIE_LEN);
    craft_inner(&c, PKT_EF_COOKIE, big, 5);
    craft_auth(&c, 15, s2c_key);
    CHECK_INT(pkt_parse_response(c.buf, c.len, &req, s2c_key, &out), PKT_RESP_OK);
    CHECK_INT(out.ncookies, 2);
    CHECK_INT(out.cookie_len[0], PKT_MAX_COOKIE_LEN);
    CHECK_INT(out.cookie_len[1], 8);

    /* A malformed plaintext: EF length 6, then one past its end. */
    craft_header(&c, &req);
    craft_ef(&c, PKT_EF_UID, req.uid, 32);
    craft_inner(&c, PKT_EF_COOKIE, cookie, 100);
    c.pt[3] = 6;
    craft_auth(&c, 15, s2c_key);
    EXPECT_IGNORE(c.buf, c.len, &req, s2c_key, "bad encrypted ef");
    craft_header(&c, &req);
    craft_ef(&c, PKT_EF_UID, req.uid, 32);
    craft_inner(&c, PKT_EF_COOKIE, cookie, 100);
    c.pt[3] = 108;
    craft_auth(&c, 15, s2c_key);
    EXPECT_IGNORE(c.buf, c.len, &req, s2c_key, "bad encrypted ef");
    craft_header(&c, &req);
    craft_ef(&c, PKT_EF_UID, req.uid, 32);
    craft_inner(&c, PKT_EF_COOKIE, cookie, 100);
    c.pt[c.pt_len++] = 0x02;                    /* 2 stray bytes */
    c.pt[c.pt_len++] = 0x04;
    craft_auth(&c, 15, s2c_key);
    EXPECT_IGNORE(c.buf, c.len, &req, s2c_key, "bad encrypted ef");
}

static void
test_kod(void)
{
    struct pkt_request req, req2;
    struct pkt_server_request sreq, sreq2;
    struct pkt_reply rep;
    struct pkt_response out;
    uint8_t resp[PKT_MAX_LEN], tmp[PKT_MAX_LEN];
    long n;
    size_t a;

    for (a = 0; a < NAEADS; a++) {
        make_request(&req, aeads[a], 2, 100);
        make_reply(&rep, aeads[a], 1);
        if (exchange(&req, &rep, resp, &sreq) <= 0)
            return;

        /* NTS NAK: unauthenticated, counted with our UID and origin only. */
        n = pkt_build_kod(&sreq, "NTSN", tmp, sizeof(tmp));
        CHECK_INT(n, 84);
        CHECK_INT(tmp[0], 0xE4);                /* LI 3, VN 4, mode 4 */
        CHECK_INT(pkt_parse_response(tmp, (size_t)n, &req, s2c_key, &out), PKT_RESP_KOD);
        CHECK_STR(out.kiss, "NTSN");
        CHECK(!out.authenticated);
        CHECK_INT(out.ncookies, 0);
        CHECK_INT(pkt_parse_response(tmp, (size_t)n, &req, NULL, &out), PKT_RESP_KOD);
        sreq2 = sreq;
        sreq2.uid[5] ^= 1;
        n = pkt_build_kod(&sreq2, "NTSN", tmp, sizeof(tmp));
        EXPECT_IGNORE(tmp, (size_t)n, &req, s2c_key, "uid mismatch");
        sreq2 = sreq;
        sreq2.uid_len = 0;                      /* an NTSN without UID */
        tmp[0] = 0;
        {
            struct pkt_header h;
            size_t l2;
            memset(&h, 0, sizeof(h));
            h.leap = 3;
            h.version = 4;
            h.mode = 4;
            h.refid = 0x4E54534E;               /* "NTSN" */
            h.org_ts = sreq.hdr.tx_ts;
            l2 = (size_t)pkt_put_header(tmp, sizeof(tmp), &h);
            EXPECT_IGNORE(tmp, l2, &req, s2c_key, "uid missing");
        }
        sreq2 = sreq;
        sreq2.hdr.tx_ts ^= 1;
        n = pkt_build_kod(&sreq2, "NTSN", tmp, sizeof(tmp));
        EXPECT_IGNORE(tmp, (size_t)n, &req, s2c_key, "origin mismatch");

        /* DENY, RSTR, RATE: only when authenticated. */
        n = pkt_build_kod(&sreq, "DENY", tmp, sizeof(tmp));
        EXPECT_IGNORE(tmp, (size_t)n, &req, s2c_key, "no authenticator");
        n = pkt_build_kod(&sreq, "RATE", tmp, sizeof(tmp));
        EXPECT_IGNORE(tmp, (size_t)n, &req, s2c_key, "no authenticator");
        make_reply(&rep, aeads[a], 0);
        rep.hdr.leap = 3;
        rep.hdr.stratum = 0;
        rep.hdr.refid = 0x52415445;             /* "RATE" */
        n = pkt_build_response(&sreq, &rep, tmp, sizeof(tmp));
        CHECK_INT(pkt_parse_response(tmp, (size_t)n, &req, s2c_key, &out), PKT_RESP_KOD);
        CHECK_STR(out.kiss, "RATE");
        CHECK(out.authenticated);
        EXPECT_IGNORE(tmp, (size_t)n, &req, other_key, "auth failed");
        rep.hdr.refid = 0x44454E59;             /* "DENY" */
        n = pkt_build_response(&sreq, &rep, tmp, sizeof(tmp));
        CHECK_INT(pkt_parse_response(tmp, (size_t)n, &req, s2c_key, &out), PKT_RESP_KOD);
        CHECK_STR(out.kiss, "DENY");
        tmp[n - 1] ^= 1;
        EXPECT_IGNORE(tmp, (size_t)n, &req, s2c_key, "auth failed");
        rep.hdr.refid = 0x52535452;             /* "RSTR" */
        n = pkt_build_response(&sreq, &rep, tmp, sizeof(tmp));
        CHECK_INT(pkt_parse_response(tmp, (size_t)n, &req, s2c_key, &out), PKT_RESP_KOD);
        CHECK_STR(out.kiss, "RSTR");
        /* An authenticated DENY for someone else's UID does not count. */
        make_request(&req2, aeads[a], 2, 100);
        memcpy(req2.xmt, req.xmt, 8);
        EXPECT_IGNORE(tmp, (size_t)n, &req2, s2c_key, "uid mismatch");

        /* Unsynchronised: LI 3, stratum 0, refid 0 is an ordinary reply. */
        make_reply(&rep, aeads[a], 1);
        rep.hdr.leap = 3;
        rep.hdr.stratum = 0;
        rep.hdr.refid = 0;
        n = pkt_build_response(&sreq, &rep, tmp, sizeof(tmp));
        CHECK_INT(pkt_parse_response(tmp, (size_t)n, &req, s2c_key, &out), PKT_RESP_OK);
        CHECK_INT(out.leap, 3);
        CHECK_INT(out.stratum, 0);
        CHECK_STR(out.kiss, "");
        CHECK_INT(out.ncookies, 1);
        rep.hdr.refid = 0x7F000001;             /* not ASCII either */
        n = pkt_build_response(&sreq, &rep, tmp, sizeof(tmp));
        CHECK_INT(pkt_parse_response(tmp, (size_t)n, &req, s2c_key, &out), PKT_RESP_OK);
        rep.hdr.stratum = 1;                    /* "NTSN" at stratum 1 is a refid */
        rep.hdr.refid = 0x4E54534E;
        n = pkt_build_response(&sreq, &rep, tmp, sizeof(tmp));
        CHECK_INT(pkt_parse_response(tmp, (size_t)n, &req, s2c_key, &out), PKT_RESP_OK);
        CHECK_STR(out.kiss, "");
    }
    CHECK_INT(pkt_build_kod(&sreq, "NTS", tmp, sizeof(tmp)), -1);
    CHECK_INT(pkt_build_kod(&sreq, "NTSN", tmp, 60), -1);
    CHECK_STR(pkt_resp_status_str(PKT_RESP_OK), "ok");
    CHECK_STR(pkt_resp_status_str(PKT_RESP_KOD), "kod");
    CHECK_STR(pkt_resp_status_str(PKT_RESP_IGNORE), "ignore");
}

static void
expect_reject(const uint8_t *buf, size_t len, const char *why, int line)
{
    struct pkt_server_request sreq;
    int r = pkt_parse_request(buf, len, &sreq);

    check_count++;
    if (r != -1 || sreq.why == NULL || strcmp(sreq.why, why) != 0) {
        check_failed++;
        fprintf(stderr, "%s:%d: expected reject \"%s\", got %d \"%s\"\n", __FILE__, line,
                why, r, sreq.why ? sreq.why : "");
    }
}
#define EXPECT_REJECT(buf, len, why) expect_reject((buf), (len), (why), __LINE__)

static void
craft_request_header(struct craft *c)
{
    struct pkt_header h;

    memset(&h, 0, sizeof(h));
    h.version = 4;
    h.mode = 3;
    h.tx_ts = 0x1122334455667788ull;
    c->len = (size_t)pkt_put_header(c->buf, sizeof(c->buf), &h);
    c->pt_len = 0;
}

static void
test_server_side(void)
{
    struct pkt_request req;
    struct pkt_server_request sreq;
    struct craft c;
    uint8_t buf[PKT_MAX_LEN], tmp[PKT_MAX_LEN], uid[PKT_MAX_UID_LEN + 4];
    long n;
    size_t len, i;

    make_request(&req, 15, 3, 100);
    n = pkt_build_request(&req, buf, sizeof(buf));
    len = (size_t)n;
    CHECK_INT(pkt_parse_request(buf, len, &sreq), 0);
    CHECK(sreq.why == NULL);
    CHECK(sreq.hdr.tx_ts != 0);

    EXPECT_REJECT(buf, 47, "too short");
    EXPECT_REJECT(buf, PKT_MAX_LEN + 4, "too long");
    EXPECT_REJECT(buf, len - 4, "ef past end");
    memcpy(tmp, buf, len);
    tmp[0] = 0x24;                              /* mode 4 */
    EXPECT_REJECT(tmp, len, "bad mode");
    tmp[0] = 0x1B;                              /* v3 */
    EXPECT_REJECT(tmp, len, "bad version");
    memcpy(tmp, buf, len);
    tmp[87] = 102;
    EXPECT_REJECT(tmp, len, "bad ef length");
    EXPECT_REJECT(buf, 48 + 36 + 104 + 104, "no authenticator");
    memcpy(tmp, buf, len);
    {
        size_t l2 = len;
        CHECK_INT(pkt_append_ef(tmp, sizeof(tmp), &l2, 0x1234, NULL, 0), 0);
        EXPECT_REJECT(tmp, l2, "authenticator not last");
    }

    /* Verification: tampered anywhere, wrong key or algorithm. */
    for (i = 0; i < len; i++) {
        if (i >= 48 + 36 + 104 && i < len - 40 && (i - 48 - 36 - 104) % 104 >= 4)
            continue;                           /* placeholder bodies: checked below */
        memcpy(tmp, buf, len);
        tmp[i] ^= 0x01;
        if (pkt_parse_request(tmp, len, &sreq) == 0
            && pkt_verify_request(tmp, len, &sreq, 15, c2s_key) == 0) {
            CHECK(!"tampered request verified");
            fprintf(stderr, "  at byte %zu\n", i);
        }
    }
    CHECK_INT(pkt_parse_request(buf, len, &sreq), 0);
    memcpy(tmp, buf, len);
    tmp[48 + 36 + 104 + 20] = 1;                /* placeholder body is covered too */
    CHECK_INT(pkt_verify_request(tmp, len, &sreq, 15, c2s_key), -1);
    CHECK_INT(pkt_verify_request(buf, len, &sreq, 17, c2s_key), -1);
    CHECK_INT(pkt_verify_request(buf, len, &sreq, 99, c2s_key), -1);
    CHECK_INT(pkt_verify_request(buf, len - 4, &sreq, 15, c2s_key), -1);
    sreq.auth_off = 48;                         /* offsets are re-read, not trusted */
    CHECK_INT(pkt_verify_request(buf, len, &sreq, 15, c2s_key), -1);

    /* UID and cookie rules. */
    craft_request_header(&c);
    craft_ef(&c, PKT_EF_COOKIE, cookie, 100);
    craft_auth(&c, 15, c2s_key);
    EXPECT_REJECT(c.buf, c.len, "uid missing");
    craft_request_header(&c);
    craft_ef(&c, PKT_EF_UID, req.uid, 28);
    craft_ef(&c, PKT_EF_COOKIE, cookie, 100);
    craft_auth(&c, 15, c2s_key);
    EXPECT_REJECT(c.buf, c.len, "bad uid length");
    memset(uid, 0x5A, sizeof(uid));
    craft_request_header(&c);
    craft_ef(&c, PKT_EF_UID, uid, PKT_MAX_UID_LEN + 4);
    craft_ef(&c, PKT_EF_COOKIE, cookie, 100);
    craft_auth(&c, 15, c2s_key);
    EXPECT_REJECT(c.buf, c.len, "bad uid length");
    craft_request_header(&c);
    craft_ef(&c, PKT_EF_UID, uid, 32);
    craft_ef(&c, PKT_EF_UID, uid, 32);
    craft_ef(&c, PKT_EF_COOKIE, cookie, 100);
    craft_auth(&c, 15, c2s_key);
    EXPECT_REJECT(c.buf, c.len, "duplicate uid");
    craft_request_header(&c);
    craft_ef(&c, PKT_EF_UID, uid, 32);
    craft_auth(&c, 15, c2s_key);
    EXPECT_REJECT(c.buf, c.len, "no cookie");
    craft_request_header(&c);
    craft_ef(&c, PKT_EF_UID, uid, 32);
    craft_ef(&c, PKT_EF_COOKIE, cookie, 100);
    craft_ef(&c, PKT_EF_COOKIE, cookie, 100);
    craft_auth(&c, 15, c2s_key);
    EXPECT_REJECT(c.buf, c.len, "duplicate cookie");
    craft_request_header(&c);
    craft_ef(&c, PKT_EF_UID, uid, 32);
    craft_ef(&c, PKT_EF_COOKIE, cookie, 100);
    for (i = 0; i < 8; i++)
        craft_ef(&c, PKT_EF_PLACEHOLDER, NULL, 100);
    craft_auth(&c, 15, c2s_key);
    EXPECT_REJECT(c.buf, c.len, "too many placeholders");
    craft_request_header(&c);
    craft_ef(&c, PKT_EF_UID, uid, 32);
    craft_ef(&c, PKT_EF_COOKIE, cookie, 100);
    craft_ef(&c, PKT_EF_PLACEHOLDER, NULL, 96);
    craft_auth(&c, 15, c2s_key);
    EXPECT_REJECT(c.buf, c.len, "bad placeholder length");
    craft_request_header(&c);
    craft_ef(&c, PKT_EF_UID, uid, 32);
    craft_ef(&c, PKT_EF_PLACEHOLDER, NULL, 100);
    craft_ef(&c, PKT_EF_PLACEHOLDER, NULL, 104);
    craft_ef(&c, PKT_EF_COOKIE, cookie, 100);
    craft_auth(&c, 15, c2s_key);
    EXPECT_REJECT(c.buf, c.len, "bad placeholder length");
    craft_request_header(&c);                   /* longer UID, echoed as is */
    craft_ef(&c, PKT_EF_UID, uid, 64);
    craft_ef(&c, PKT_EF_PLACEHOLDER, NULL, 100);
    craft_ef(&c, PKT_EF_COOKIE, cookie, 100);
    craft_auth(&c, 30, c2s_key);
    CHECK_INT(pkt_parse_request(c.buf, c.len, &sreq), 0);
    CHECK_INT(sreq.uid_len, 64);
    CHECK_INT(sreq.placeholders, 1);
    CHECK_INT(pkt_verify_request(c.buf, c.len, &sreq, 30, c2s_key), 0);
    {
        struct pkt_reply rep;
        make_reply(&rep, 30, 2);
        n = pkt_build_response(&sreq, &rep, tmp, sizeof(tmp));
        CHECK_INT(tmp[50] << 8 | tmp[51], 68);
        CHECK_MEM(tmp + 52, uid, 64);
        CHECK_MEM(tmp + 24, c.buf + 40, 8);     /* origin = their transmit */
        rep.ncookies = PKT_MAX_COOKIES + 1;
        CHECK_INT(pkt_build_response(&sreq, &rep, tmp, sizeof(tmp)), -1);
        rep.ncookies = 1;
        rep.cookie_len[0] = 0;
        CHECK_INT(pkt_build_response(&sreq, &rep, tmp, sizeof(tmp)), -1);
        rep.cookie_len[0] = 100;
        rep.aead_id = 3;
        CHECK_INT(pkt_build_response(&sreq, &rep, tmp, sizeof(tmp)), -1);
        rep.aead_id = 30;
        CHECK_INT(pkt_build_response(&sreq, &rep, tmp, 100), -1);
    }

    /* Authenticator well formed, and the RFC 8915 5.6 nonce length rule: an
       8-byte SIV nonce needs 8 bytes of Additional Padding. */
    craft_request_header(&c);
    craft_ef(&c, PKT_EF_UID, uid, 32);
    craft_ef(&c, PKT_EF_COOKIE, cookie, 100);
    i = c.len;
    CHECK_INT(pkt_append_auth(c.buf, sizeof(c.buf), &c.len, 15, c2s_key, server_nonce, 8,
                              NULL, 0), 0);
    CHECK_INT(c.len - i, 32);
    CHECK_INT(pkt_parse_request(c.buf, c.len, &sreq), 0);
    CHECK_INT(pkt_verify_request(c.buf, c.len, &sreq, 15, c2s_key), -1);
    memset(c.buf + c.len, 0, 8);                /* add the padding: now fine */
    c.len += 8;
    c.buf[i + 3] = 40;
    CHECK_INT(pkt_parse_request(c.buf, c.len, &sreq), 0);
    CHECK_INT(pkt_verify_request(c.buf, c.len, &sreq, 15, c2s_key), 0);
    c.buf[i + 4] = 0;                           /* empty nonce */
    c.buf[i + 5] = 0;
    EXPECT_REJECT(c.buf, c.len, "bad authenticator");
    /* A 1-byte nonce still makes a 28-byte last EF. */
    craft_request_header(&c);
    craft_ef(&c, PKT_EF_UID, uid, 32);
    craft_ef(&c, PKT_EF_COOKIE, cookie, 100);
    i = c.len;
    CHECK_INT(pkt_append_auth(c.buf, sizeof(c.buf), &c.len, 15, c2s_key, server_nonce, 1,
                              NULL, 0), 0);
    CHECK_INT(c.len - i, 28);
    CHECK_INT(pkt_parse_request(c.buf, c.len, &sreq), 0);
}

static void
test_timestamps(void)
{
    struct timespec ts = { 0, 0 }, back;
    const int64_t era1 = 2085978496;            /* 2036-02-07T06:28:16Z, NTP era 1 */
    uint64_t ntp;

    CHECK(pkt_ntp_from_timespec(&ts) == 2208988800ull << 32);
    ts.tv_sec = 1700000000;
    ts.tv_nsec = 500000000;
    ntp = pkt_ntp_from_timespec(&ts);
    CHECK(ntp == ((1700000000ull + 2208988800ull) << 32 | 0x80000000u));
    pkt_ntp_to_timespec(ntp, 1700000000, &back);
    CHECK_INT(back.tv_sec, 1700000000);
    CHECK_INT(back.tv_nsec, 500000000);
    CHECK_NEAR(pkt_ntp_to_unix(ntp, 1700000000), 1700000000.5, 0);
    CHECK(pkt_ntp_from_unix(1700000000.5) == ntp);
    CHECK(pkt_ntp_from_unix(-0.5) == ((2208988799ull << 32) | 0x80000000u));

    /* Nanoseconds survive the round trip (resolution 0.23 ns). */
    ts.tv_nsec = 999999999;
    pkt_ntp_to_timespec(pkt_ntp_from_timespec(&ts), 1700000000, &back);
    CHECK_INT(back.tv_sec, 1700000000);
    CHECK_INT(back.tv_nsec, 999999999);
    ts.tv_nsec = 1;
    pkt_ntp_to_timespec(pkt_ntp_from_timespec(&ts), 1700000000, &back);
    CHECK_INT(back.tv_nsec, 1);

    /* Era 1: the 32-bit seconds wrap on 2036-02-07. */
    ts.tv_sec = (time_t)era1 + 10;
    ts.tv_nsec = 250000000;
    ntp = pkt_ntp_from_timespec(&ts);
    CHECK(ntp == (10ull << 32 | 0x40000000u));
    pkt_ntp_to_timespec(ntp, (time_t)era1, &back);
    CHECK_INT(back.tv_sec, era1 + 10);
    CHECK_INT(back.tv_nsec, 250000000);
    pkt_ntp_to_timespec(ntp, 1700000000, &back);    /* from 2023, 2036 is nearer */
    CHECK_INT(back.tv_sec, era1 + 10);
    pkt_ntp_to_timespec(ntp, (time_t)era1 + 1000000000, &back);
    CHECK_INT(back.tv_sec, era1 + 10);
    CHECK_NEAR(pkt_ntp_to_unix(ntp, (time_t)era1), (double)era1 + 10.25, 0);
    /* The last second of era 0 seen from just after the wrap. */
    ntp = 0xFFFFFFFFull << 32;
    pkt_ntp_to_timespec(ntp, (time_t)era1 + 5, &back);
    CHECK_INT(back.tv_sec, era1 - 1);
    /* Era 0 timestamps from a 1970s reference stay in era 0... */
    ntp = (2208988800ull + 100) << 32;
    pkt_ntp_to_timespec(ntp, 0, &back);
    CHECK_INT(back.tv_sec, 100);
    /* ...and one 68 years away from the reference flips era. */
    ntp = 1ull << 32;                           /* 1900-01-01T00:00:01 or 2036 */
    pkt_ntp_to_timespec(ntp, 1700000000, &back);
    CHECK_INT(back.tv_sec, era1 + 1);
    pkt_ntp_to_timespec(ntp, -2000000000, &back);
    CHECK_INT(back.tv_sec, -2208988799LL);

    /* Short format. */
    CHECK_NEAR(pkt_short_to_seconds(0x00010000), 1.0, 0);
    CHECK_NEAR(pkt_short_to_seconds(0x00008000), 0.5, 0);
    CHECK_NEAR(pkt_short_to_seconds(0x00000001), 1.0 / 65536, 0);
    CHECK_NEAR(pkt_short_to_seconds(0xFFFFFFFF), 65535.0 + 65535.0 / 65536, 0);
    CHECK_INT(pkt_short_from_seconds(0.25), 0x4000);
    CHECK_INT(pkt_short_from_seconds(1.5), 0x18000);
    CHECK_INT(pkt_short_from_seconds(-1), 0);
    CHECK_INT(pkt_short_from_seconds(1e9), 0xFFFFFFFFu);
}

/* d seconds as an NTP difference, rounded to 2^-32 s. */
static uint64_t
ntp_delta(double d)
{
    double u = d * 4294967296.0;
    return (uint64_t)(int64_t)(u < 0 ? u - 0.5 : u + 0.5);
}

static void
test_offset_delay(void)
{
    struct timespec ts = { 1750000000, 123456789 };
    uint64_t t1 = pkt_ntp_from_timespec(&ts), t2, t3, t4;
    double off, del;
    int sign;

    /* Offset +-1.5 ms, delay 0.25 ms (0.125 ms each way), 10 us in the server. */
    for (sign = 1; sign >= -1; sign -= 2) {
        t2 = t1 + ntp_delta(0.000125 + sign * 0.0015);
        t3 = t2 + ntp_delta(0.00001);
        t4 = t3 + ntp_delta(0.000125 - sign * 0.0015);
        pkt_offset_delay(t1, t2, t3, t4, &off, &del);
        CHECK_NEAR(off, sign * 0.0015, 1e-9);
        CHECK_NEAR(del, 0.00025, 1e-9);
    }
    /* Large negative offset: the server is 100 s behind. */
    t2 = t1 - ntp_delta(100.0) + ntp_delta(0.001);
    t3 = t2 + ntp_delta(0.0001);
    t4 = t1 + ntp_delta(0.0021);
    pkt_offset_delay(t1, t2, t3, t4, &off, &del);
    CHECK_NEAR(off, -100.0, 1e-9);
    CHECK_NEAR(del, 0.002, 1e-9);
    /* Exact to 2^-32 s: one unit of offset is visible at 2025 magnitudes. */
    pkt_offset_delay(t1, t1 + 1, t1 + 1, t1, &off, &del);
    CHECK_NEAR(off, 1.0 / 4294967296.0, 0);
    CHECK_NEAR(del, 0, 0);
    /* Across the era boundary: t1/t2 in era 0, t3/t4 in era 1. */
    t1 = 0xFFFFFFFFull << 32 | 0xF0000000u;     /* 0.0625 s before the wrap */
    t2 = t1 + ntp_delta(0.05 + 0.003);
    t3 = t2 + ntp_delta(0.02);                  /* wraps */
    t4 = t3 + ntp_delta(0.05 - 0.003);
    CHECK(t4 < t1);
    pkt_offset_delay(t1, t2, t3, t4, &off, &del);
    CHECK_NEAR(off, 0.003, 1e-9);
    CHECK_NEAR(del, 0.1, 1e-9);
}

/* Mutate valid responses: never a crash (ASan/UBSan builds), never OK once a
   covered byte changed, and every IGNORE carries a reason. */
static void
test_mutations(unsigned iters)
{
    unsigned it, bad_ok = 0, no_why = 0, oks = 0;
    uint8_t resp[PKT_MAX_LEN], tmp[PKT_MAX_LEN + 64];

    for (it = 0; it < iters; it++) {
        struct pkt_request req;
        struct pkt_server_request sreq;
        struct pkt_reply rep;
        struct pkt_response out;
        enum pkt_resp_status st;
        int aead = aeads[rnd() % NAEADS];
        unsigned ph = (unsigned)(rnd() % (PKT_MAX_PLACEHOLDERS + 1)), k, nmut;
        long n;
        size_t len, mlen;

        make_request(&req, aead, ph, 4 + 4 * (size_t)(rnd() % 40));
        make_reply(&rep, aead, rnd() % (ph + 2));
        rep.hdr.stratum = (uint8_t)(rnd() % 3);
        if (rnd() % 4 == 0)
            rep.hdr.refid = 0x52415445;
        n = exchange(&req, &rep, resp, &sreq);
        if (n <= 0)
            return;
        len = (size_t)n;
        memcpy(tmp, resp, len);
        mlen = len;
        nmut = 1 + (unsigned)(rnd() % 4);
        for (k = 0; k < nmut; k++) {
            switch (rnd() % 8) {
            case 0:                             /* truncate */
                mlen = (size_t)(rnd() % mlen);
                break;
            case 1:                             /* append garbage */
                if (mlen + 16 <= sizeof(tmp)) {
                    rnd_fill(tmp + mlen, 16);
                    mlen += 16;
                }
                break;
            case 2:                             /* an EF length field */
                tmp[48 + 2 + 4 * (rnd() % ((mlen - 48) / 4))] = (uint8_t)rnd();
                break;
            default:                            /* flip a byte */
                if (mlen > 0)
                    tmp[rnd() % mlen] ^= (uint8_t)(1 + rnd() % 255);
                break;
            }
            if (mlen < 52)
                break;
        }
        st = pkt_parse_response(tmp, mlen, &req, s2c_key, &out);
        if (st == PKT_RESP_IGNORE && out.why == NULL)
            no_why++;
        /* Every byte of these responses is covered (no padding exists: nonces
           and cookie EFs are multiples of 4), so any change must not be OK. */
        if (mlen != len || memcmp(tmp, resp, len) != 0) {
            if (st == PKT_RESP_OK) {
                bad_ok++;
                fprintf(stderr, "mutation %u accepted\n", it);
            }
        } else {
            oks++;
        }
        /* The server side sees mutated requests. */
        n = pkt_build_request(&req, tmp, sizeof(tmp));
        if (n > 0) {
            tmp[rnd() % (size_t)n] ^= (uint8_t)(1 + rnd() % 255);
            if (pkt_parse_request(tmp, (size_t)n, &sreq) == 0
                && pkt_verify_request(tmp, (size_t)n, &sreq, aead, c2s_key) == 0)
                bad_ok++;
        }
    }
    CHECK_INT(bad_ok, 0);
    CHECK_INT(no_why, 0);
    (void)oks;
}

int
main(int argc, char **argv)
{
    uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
    int opt;

    while ((opt = getopt(argc, argv, "s:")) != -1) {
        if (opt == 's') {
            seed = strtoull(optarg, NULL, 0);
        } else {
            fprintf(stderr, "usage: %s [-s SEED]\n", argv[0]);
            return 2;
        }
    }
    printf("test_pkt: seed %" PRIu64 "\n", seed);
    rng_state = seed;
    setup_keys();

    test_round_trip();
    test_build_request_args();
    test_ignore_reasons();
    test_kod();
    test_server_side();
    test_timestamps();
    test_offset_delay();
    test_mutations(4000);
    return check_finish("test_pkt");
}
