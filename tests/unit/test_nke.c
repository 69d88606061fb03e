/* test_nke.c - the NTS-KE record codec against every rule of NTS.md section 1
 * and the pool records of section 2, with valid and invalid inputs. */
#include "monitor/nke.h"

#include "tests/unit/check.h"

static uint8_t msg[NKE_MAX_MSG_LEN + 1024];
static size_t msglen;

static void
reset(void)
{
    msglen = 0;
}

static void
rec(uint16_t type, bool crit, const void *body, size_t len)
{
    long n = nke_put_record(msg, sizeof(msg), msglen, type, crit, body, len);
    if (n < 0)
        abort();
    msglen = (size_t)n;
}

static void
rec16(uint16_t type, bool crit, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    rec(type, crit, b, 2);
}

static void
cookies(int n, size_t len)
{
    uint8_t c[NKE_MAX_COOKIE_LEN + 8];
    memset(c, 0xAB, sizeof(c));
    for (int i = 0; i < n; i++)
        rec(NKE_REC_COOKIE, false, c, len);
}

static void
eom(void)
{
    rec(NKE_REC_EOM, true, NULL, 0);
}

/* A good chrony-like response: NextProto, AEAD, Port, 8 cookies, EOM. */
static void
good(uint16_t aead)
{
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, aead);
    rec16(NKE_REC_PORT, true, 11123);
    cookies(8, 100);
    eom();
}

static struct nke_request plain = {.shape = NKE_SHAPE_PLAIN, .aeads = {15, 17}, .naeads = 2};

static enum ke_status
parse(const struct nke_request *req, struct nke_response *r, char *detail)
{
    return nke_parse_response(msg, msglen, req, r, detail);
}

static void
test_build(void)
{
    uint8_t out[NKE_MAX_REQ_LEN];
    struct nke_record r;
    size_t off = 0;
    long n;
    struct nke_request req = {.shape = NKE_SHAPE_PLAIN, .aeads = {15, 30}, .naeads = 2};
    static const uint8_t expect[] = {
        0x80, 0x01, 0x00, 0x02, 0x00, 0x00,             /* Next Protocol [0] */
        0x80, 0x04, 0x00, 0x04, 0x00, 0x0F, 0x00, 0x1E, /* AEAD [15, 30] */
        0x04, 0x00, 0x00, 0x00,                         /* 1024, non-critical */
        0x80, 0x00, 0x00, 0x00,                         /* EOM */
    };

    n = nke_build_request(&req, out, sizeof(out));
    CHECK_INT(n, sizeof(expect));
    CHECK_MEM(out, expect, sizeof(expect));

    /* Without 30 there is no record 1024. */
    req.aeads[1] = 17;
    n = nke_build_request(&req, out, sizeof(out));
    CHECK_INT(n, 18);

    /* Pool capabilities: Token first (non-critical), both lists critical. */
    {
        struct nke_request caps = {.shape = NKE_SHAPE_POOL_CAPS, .aeads = {15}, .naeads = 1,
                                   .token = "abc"};
        int i = 0;
        uint16_t types[4] = {NKE_REC_AUTH_TOKEN, NKE_REC_SUPPORTED_AEADS,
                             NKE_REC_SUPPORTED_PROTOS, NKE_REC_EOM};
        bool crit[4] = {false, true, true, true};

        n = nke_build_request(&caps, out, sizeof(out));
        CHECK(n > 0);
        off = 0;
        while (nke_record_next(out, (size_t)n, &off, &r) && i < 4) {
            CHECK_INT(r.type, types[i]);
            CHECK_INT(r.critical, crit[i]);
            if (i == 0) {
                CHECK_INT(r.len, 3);
                CHECK_MEM(r.body, "abc", 3);
            }
            i++;
        }
        CHECK_INT(i, 4);
        CHECK_INT(off, (size_t)n);
        caps.experimental = true;
        n = nke_build_request(&caps, out, sizeof(out));
        off = 0;
        CHECK(nke_record_next(out, (size_t)n, &off, &r) == 1);
        CHECK_INT(r.type, NKE_REC_X_AUTH_TOKEN);
        CHECK(nke_record_next(out, (size_t)n, &off, &r) == 1);
        CHECK_INT(r.type, NKE_REC_X_SUPPORTED_AEADS);
        CHECK(nke_record_next(out, (size_t)n, &off, &r) == 1);
        CHECK_INT(r.type, NKE_REC_X_SUPPORTED_PROTOS);
        /* No token: refused. */
        caps.token = NULL;
        CHECK(nke_build_request(&caps, out, sizeof(out)) < 0);
    }
    /* Fixed key: keys of the AEAD's length, exactly one AEAD. */
    {
        uint8_t c2s[64], s2c[64];
        struct nke_request fk = {.shape = NKE_SHAPE_POOL_FIXED_KEY, .aeads = {17}, .naeads = 1,
                                 .token = "tok", .c2s = c2s, .s2c = s2c, .key_len = 64};
        int seen_fk = 0;

        memset(c2s, 1, sizeof(c2s));
        memset(s2c, 2, sizeof(s2c));
        n = nke_build_request(&fk, out, sizeof(out));
        CHECK(n > 0);
        off = 0;
        while (nke_record_next(out, (size_t)n, &off, &r)) {
            if (r.type == NKE_REC_FIXED_KEY) {
                seen_fk++;
                CHECK(r.critical);
                CHECK_INT(r.len, 128);
                CHECK_MEM(r.body, c2s, 64);
                CHECK_MEM(r.body + 64, s2c, 64);
            }
            if (r.type == NKE_REC_AEAD)
                CHECK_INT(r.len, 2);
        }
        CHECK_INT(seen_fk, 1);
        fk.key_len = 32;            /* wrong length for AEAD 17 */
        CHECK(nke_build_request(&fk, out, sizeof(out)) < 0);
        fk.key_len = 64;
        fk.naeads = 2;
        CHECK(nke_build_request(&fk, out, sizeof(out)) < 0);
    }
    /* Pool KE: UUID Request 0x4F01, critical. */
    {
        struct nke_request pk = {.shape = NKE_SHAPE_POOL_KE, .aeads = {17, 15}, .naeads = 2,
                                 .token = "monitor-key",
                                 .uuid = "0b8e7f0e-4a6b-4c4e-9d0c-2f1e3a5b6c7d"};
        bool uuid = false;

        n = nke_build_request(&pk, out, sizeof(out));
        CHECK(n > 0);
        off = 0;
        while (nke_record_next(out, (size_t)n, &off, &r))
            if (r.type == NKE_REC_UUID_REQUEST && r.critical && r.len == 36)
                uuid = true;
        CHECK(uuid);
        pk.uuid = NULL;
        CHECK(nke_build_request(&pk, out, sizeof(out)) < 0);
    }
    /* Too small a buffer, no AEAD. */
    CHECK(nke_build_request(&plain, out, 10) < 0);
    req.naeads = 0;
    CHECK(nke_build_request(&req, out, sizeof(out)) < 0);
}

static void
test_stream(void)
{
    size_t end = 0;

    good(15);
    for (size_t i = 0; i < msglen; i++)
        CHECK_INT(nke_message_end(msg, i, &end), 0);
    CHECK_INT(nke_message_end(msg, msglen, &end), 1);
    CHECK_INT(end, msglen);
}

static void
test_valid(void)
{
    struct nke_response r;
    char d[RESULT_DETAIL_MAX];

    good(15);
    CHECK_INT(parse(&plain, &r, d), KE_OK);
    CHECK_INT(r.aead, 15);
    CHECK_INT(r.next_protocol, 0);
    CHECK_INT(r.ncookies, 8);
    CHECK_INT(r.cookie_len[0], 100);
    CHECK(r.has_port);
    CHECK_INT(r.port, 11123);
    CHECK(!r.has_server);

    /* ntpsec style: non-critical AEAD, 104-byte cookies, Server record. */
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, false, 17);
    rec(NKE_REC_SERVER, false, "ntp.example.org", 15);
    cookies(8, 104);
    eom();
    CHECK_INT(parse(&plain, &r, d), KE_OK);
    CHECK_STR(r.server, "ntp.example.org");
    CHECK_INT(r.cookie_len[7], 104);

    /* Unknown non-critical record ignored; 1024 echo noted. */
    reset();
    rec(0x7777, false, "xx", 2);
    rec(NKE_REC_COMPLIANT_GCM_SIV, false, NULL, 0);
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    cookies(1, 1);
    eom();
    CHECK_INT(parse(&plain, &r, d), KE_OK);
    CHECK(r.compliant_gcm_siv);

    /* More cookies than kept: all counted, 8 kept. */
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    cookies(12, 64);
    eom();
    CHECK_INT(parse(&plain, &r, d), KE_OK);
    CHECK_INT(r.ncookies, 12);
    CHECK_INT(r.nkept, NKE_MAX_COOKIES);
    /* An IPv6 literal in the Server record. */
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    rec(NKE_REC_SERVER, false, "2001:db8::1", 11);
    cookies(1, 100);
    eom();
    CHECK_INT(parse(&plain, &r, d), KE_OK);
}

struct bad_case {
    const char *name;
    enum ke_status want;
};

static void
expect(const char *name, const struct nke_request *req, enum ke_status want)
{
    struct nke_response r;
    char d[RESULT_DETAIL_MAX];
    enum ke_status got = parse(req, &r, d);

    if (got != want)
        fprintf(stderr, "case %s: got %s (%s), want %s\n", name, result_ke_status_str(got),
                d, result_ke_status_str(want));
    CHECK_INT(got, want);
    if (got != KE_OK)
        CHECK(d[0] != '\0');        /* every failure says why */
}

static void
test_invalid(void)
{
    uint8_t big[300];

    /* Missing End of Message. */
    good(15);
    msglen -= 4;
    expect("missing eom", &plain, KE_MALFORMED);
    /* Trailing bytes after EOM. */
    good(15);
    msg[msglen++] = 0;
    expect("trailing byte", &plain, KE_MALFORMED);
    good(15);
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    expect("record after eom", &plain, KE_MALFORMED);
    /* EOM with a body; EOM not critical. */
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    cookies(1, 10);
    rec16(NKE_REC_EOM, true, 0);
    expect("eom with body", &plain, KE_MALFORMED);
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    cookies(1, 10);
    rec(NKE_REC_EOM, false, NULL, 0);
    expect("eom not critical", &plain, KE_MALFORMED);
    /* Truncated record body. */
    good(15);
    msg[3] = 0xFF;                  /* Next Protocol claims 255 bytes */
    expect("truncated", &plain, KE_MALFORMED);
    /* Duplicates of 1, 4, 6, 7. */
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    cookies(1, 10);
    eom();
    expect("dup next proto", &plain, KE_MALFORMED);
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    rec16(NKE_REC_AEAD, true, 15);
    cookies(1, 10);
    eom();
    expect("dup aead", &plain, KE_MALFORMED);
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    rec(NKE_REC_SERVER, false, "a", 1);
    rec(NKE_REC_SERVER, false, "b", 1);
    cookies(1, 10);
    eom();
    expect("dup server", &plain, KE_MALFORMED);
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    rec16(NKE_REC_PORT, true, 1);
    rec16(NKE_REC_PORT, true, 2);
    cookies(1, 10);
    eom();
    expect("dup port", &plain, KE_MALFORMED);
    /* Unknown critical record. */
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    rec(0x1234, true, NULL, 0);
    cookies(1, 10);
    eom();
    expect("unknown critical", &plain, KE_MALFORMED);
    /* AEAD not offered (ntpsec answering 15 to an offer of 30). */
    {
        struct nke_request only30 = {.shape = NKE_SHAPE_PLAIN, .aeads = {30}, .naeads = 1};
        good(15);
        expect("aead not offered", &only30, KE_AEAD_UNEXPECTED);
    }
    /* Empty AEAD record (chrony to an offer of only 30): aead_none, even
       without cookies. */
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec(NKE_REC_AEAD, true, NULL, 0);
    eom();
    expect("empty aead", &plain, KE_AEAD_NONE);
    /* AEAD record absent; two ids in it; odd length. */
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    cookies(1, 10);
    eom();
    expect("no aead", &plain, KE_MALFORMED);
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec(NKE_REC_AEAD, true, "\x00\x0f\x00\x11", 4);
    cookies(1, 10);
    eom();
    expect("two aeads", &plain, KE_MALFORMED);
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec(NKE_REC_AEAD, true, "\x00", 1);
    cookies(1, 10);
    eom();
    expect("odd aead", &plain, KE_MALFORMED);
    /* Next Protocol missing, not NTPv4, empty. */
    reset();
    rec16(NKE_REC_AEAD, true, 15);
    cookies(1, 10);
    eom();
    expect("no next proto", &plain, KE_MALFORMED);
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 7);
    rec16(NKE_REC_AEAD, true, 15);
    cookies(1, 10);
    eom();
    expect("next proto 7", &plain, KE_MALFORMED);
    /* No cookies. */
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    eom();
    expect("no cookies", &plain, KE_NO_COOKIES);
    /* Oversize and empty cookies. */
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    cookies(1, NKE_MAX_COOKIE_LEN + 1);
    eom();
    expect("oversize cookie", &plain, KE_MALFORMED);
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    cookies(1, 0);
    eom();
    expect("empty cookie", &plain, KE_MALFORMED);
    /* Bad Port and Server bodies. */
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    rec(NKE_REC_PORT, true, "\x01\x02\x03", 3);
    cookies(1, 10);
    eom();
    expect("port 3 bytes", &plain, KE_MALFORMED);
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    rec16(NKE_REC_PORT, true, 0);
    cookies(1, 10);
    eom();
    expect("port 0", &plain, KE_MALFORMED);
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    rec(NKE_REC_SERVER, false, "bad host\n", 9);
    cookies(1, 10);
    eom();
    expect("server with space", &plain, KE_MALFORMED);
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    rec(NKE_REC_SERVER, false, NULL, 0);
    cookies(1, 10);
    eom();
    expect("empty server", &plain, KE_MALFORMED);
    memset(big, 'a', sizeof(big));
    reset();
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    rec(NKE_REC_SERVER, false, big, 256);
    cookies(1, 10);
    eom();
    expect("long server", &plain, KE_MALFORMED);
    /* Error and Warning records. */
    reset();
    rec16(NKE_REC_ERROR, true, 2);
    eom();
    expect("error 2", &plain, KE_ERROR);
    reset();
    rec16(NKE_REC_WARNING, true, 9);
    rec16(NKE_REC_NEXT_PROTO, true, 0);
    rec16(NKE_REC_AEAD, true, 15);
    cookies(1, 10);
    eom();
    expect("warning", &plain, KE_WARNING);
    reset();
    rec(NKE_REC_ERROR, true, "\x00", 1);
    eom();
    expect("error 1 byte", &plain, KE_MALFORMED);
    /* A huge message. */
    reset();
    while (msglen < NKE_MAX_MSG_LEN)
        rec(0x7001, false, big, sizeof(big));
    eom();
    expect("huge", &plain, KE_RESPONSE_TOO_LARGE);
    /* Empty input. */
    reset();
    expect("empty", &plain, KE_MALFORMED);
}

static void
test_pool(void)
{
    struct nke_request caps = {.shape = NKE_SHAPE_POOL_CAPS, .aeads = {15}, .naeads = 1,
                               .token = "t"};
    struct nke_request fixed = {.shape = NKE_SHAPE_POOL_FIXED_KEY, .aeads = {17}, .naeads = 1,
                                .token = "t"};
    struct nke_request pke = {.shape = NKE_SHAPE_POOL_KE, .aeads = {17, 15}, .naeads = 2,
                              .token = "k", .uuid = "u"};
    struct nke_response r;
    char d[RESULT_DETAIL_MAX];
    static const uint8_t algs[] = {0, 15, 0, 32, 0, 17, 0, 64, 0, 30, 0, 16};

    reset();
    rec(NKE_REC_SUPPORTED_AEADS, true, algs, sizeof(algs));
    rec16(NKE_REC_SUPPORTED_PROTOS, true, 0);
    eom();
    CHECK_INT(parse(&caps, &r, d), KE_OK);
    CHECK_INT(r.n_supported_aeads, 3);
    CHECK_INT(r.supported_aeads[1].id, 17);
    CHECK_INT(r.supported_aeads[1].key_length, 64);
    CHECK_INT(r.n_supported_protocols, 1);
    CHECK_INT(r.supported_protocols[0], 0);
    /* The experimental set is not read as the permanent one... */
    reset();
    rec(NKE_REC_X_SUPPORTED_AEADS, true, algs, sizeof(algs));
    rec16(NKE_REC_X_SUPPORTED_PROTOS, true, 0);
    eom();
    expect("experimental answer to permanent query", &caps, KE_MALFORMED);
    /* ...but is when we asked with it. */
    caps.experimental = true;
    CHECK_INT(parse(&caps, &r, d), KE_OK);
    CHECK_INT(r.n_supported_aeads, 3);
    caps.experimental = false;
    /* Lists missing: the server does not do pool records. */
    good(15);
    expect("caps answered plainly", &caps, KE_POOL_UNSUPPORTED);
    /* Odd list lengths. */
    reset();
    rec(NKE_REC_SUPPORTED_AEADS, true, algs, 6);
    rec16(NKE_REC_SUPPORTED_PROTOS, true, 0);
    eom();
    expect("aead list not pairs", &caps, KE_MALFORMED);
    /* Error 0 = no pool support (chrony), 1 = token rejected, 0xF000 = no
       such server, 0xF001 = downstream failure. */
    reset();
    rec16(NKE_REC_ERROR, true, 0);
    eom();
    expect("error 0 pool", &caps, KE_POOL_UNSUPPORTED);
    expect("error 0 plain", &plain, KE_ERROR);
    reset();
    rec16(NKE_REC_ERROR, true, 1);
    eom();
    expect("error 1 pool", &fixed, KE_TOKEN_REJECTED);
    expect("error 1 plain", &plain, KE_ERROR);
    reset();
    rec16(NKE_REC_ERROR, true, 0xF000);
    eom();
    expect("no such server", &pke, KE_NO_SUCH_SERVER);
    CHECK(result_ke_is_monitor_fault(KE_NO_SUCH_SERVER));
    reset();
    rec16(NKE_REC_ERROR, true, 0xF001);
    eom();
    expect("downstream", &pke, KE_ERROR);
    {
        char dd[RESULT_DETAIL_MAX];
        CHECK_INT(parse(&pke, &r, dd), KE_ERROR);
        CHECK(strstr(dd, "could not connect downstream") != NULL);
    }
    /* A fixed-key answer is an ordinary KE response for the one AEAD. */
    good(17);
    CHECK_INT(parse(&fixed, &r, d), KE_OK);
    good(15);
    expect("fixed key other aead", &fixed, KE_AEAD_UNEXPECTED);
    CHECK_STR(nke_error_name(0xF003), "could not get downstream cookies");
}

int
main(void)
{
    test_build();
    test_stream();
    test_valid();
    test_invalid();
    test_pool();
    return check_finish("test_nke");
}
