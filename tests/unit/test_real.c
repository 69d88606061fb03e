/* test_real.c - the parsers on bytes that real servers sent: NTS-KE responses
 * of chrony 4.3 and ntpsec 1.2.2 (fuzz/corpus/nke, scripts/capture-ke.py) and
 * NTS-protected NTP responses with their session keys (fuzz/corpus/pkt,
 * fuzz/capture_ntp.c).  The corpora double as test data. */
#include "monitor/aead.h"
#include "monitor/nke.h"
#include "monitor/pkt.h"

#include "tests/unit/check.h"

static size_t
load(const char *rel, uint8_t *buf, size_t cap)
{
    const char *top = getenv("NTSPOOL_TOP");
    char path[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", top ? top : ".", rel);
    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        check_failed++;
        return 0;
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void
ke_case(const char *file, uint16_t offer, enum ke_status want, int cookies, int size)
{
    uint8_t buf[NKE_MAX_MSG_LEN];
    size_t n = load(file, buf, sizeof(buf)), end = 0;
    struct nke_request req = {.shape = NKE_SHAPE_PLAIN, .aeads = {offer}, .naeads = 1};
    struct nke_response r;
    char d[RESULT_DETAIL_MAX];

    CHECK(n > 0);
    CHECK_INT(nke_message_end(buf, n, &end), 1);
    CHECK_INT(end, n);
    CHECK_INT(nke_parse_response(buf, n, &req, &r, d), want);
    if (want == KE_OK) {
        CHECK_INT(r.ncookies, cookies);
        CHECK_INT(r.cookie_len[0], size);
    }
}

static void
ntp_case(const char *file, enum pkt_resp_status want, size_t cookies, int stratum)
{
    static const int aeads[4] = {15, 16, 17, 30};
    uint8_t d[PKT_MAX_LEN + 256];
    size_t n = load(file, d, sizeof(d));
    int aead;
    size_t k, head;
    struct pkt_request req;
    struct pkt_response out;

    if (n < 1)
        return;
    aead = aeads[(d[0] >> 2) & 3];
    k = aead_key_len(aead);
    head = 1 + k + 8 + PKT_UID_LEN + 1;
    CHECK_INT(d[0] & 3, 3);
    CHECK(n > head + PKT_HEADER_LEN);
    memset(&req, 0, sizeof(req));
    req.aead_id = aead;
    memcpy(req.xmt, d + 1 + k, 8);
    memcpy(req.uid, d + 1 + k + 8, PKT_UID_LEN);
    req.placeholders = d[head - 1];
    CHECK_INT(pkt_parse_response(d + head, n - head, &req, d + 1, &out), want);
    CHECK_INT(out.ncookies, cookies);
    CHECK_INT(out.stratum, stratum);
    /* One flipped bit anywhere in the packet and it is no longer accepted. */
    if (want == PKT_RESP_OK) {
        for (size_t i = 0; i < n - head; i += 7) {
            d[head + i] ^= 0x10;
            CHECK(pkt_parse_response(d + head, n - head, &req, d + 1, &out) != PKT_RESP_OK);
            d[head + i] ^= 0x10;
        }
        /* Another key: not authentic. */
        d[1] ^= 1;
        CHECK_INT(pkt_parse_response(d + head, n - head, &req, d + 1, &out), PKT_RESP_IGNORE);
    }
}

int
main(void)
{
    ke_case("fuzz/corpus/nke/chrony-15", 15, KE_OK, 8, 100);
    ke_case("fuzz/corpus/nke/chrony-server-record", 15, KE_OK, 8, 100);
    ke_case("fuzz/corpus/nke/chrony-30", 30, KE_AEAD_NONE, 0, 0);
    ke_case("fuzz/corpus/nke/ntpsec-15", 15, KE_OK, 8, 104);
    ke_case("fuzz/corpus/nke/ntpsec-17", 17, KE_OK, 8, 168);
    ke_case("fuzz/corpus/nke/ntpsec-30", 30, KE_AEAD_UNEXPECTED, 0, 0);

    ntp_case("fuzz/corpus/pkt/chrony-15-p0", PKT_RESP_OK, 1, 2);
    ntp_case("fuzz/corpus/pkt/chrony-15-p3", PKT_RESP_OK, 4, 2);
    ntp_case("fuzz/corpus/pkt/chrony-15-p7-v6", PKT_RESP_OK, 8, 2);
    ntp_case("fuzz/corpus/pkt/chrony-unsync", PKT_RESP_OK, 2, 0);
    ntp_case("fuzz/corpus/pkt/chrony-ntsn", PKT_RESP_KOD, 0, 0);
    ntp_case("fuzz/corpus/pkt/ntpsec-15", PKT_RESP_OK, 3, 2);
    ntp_case("fuzz/corpus/pkt/ntpsec-16", PKT_RESP_OK, 3, 2);
    ntp_case("fuzz/corpus/pkt/ntpsec-17", PKT_RESP_OK, 3, 2);
    return check_finish("test_real");
}
