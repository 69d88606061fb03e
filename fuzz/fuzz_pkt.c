/* fuzz_pkt.c - libFuzzer target for the NTP/NTS packet parsers of monitor/pkt.
 *
 * The first input byte picks what the rest is fed to: bit 0-1 the mode, bits
 * 2-3 the AEAD (15, 16, 17, 30).  Mode 0: pkt_parse_response() against a fixed
 * request and S2C key (the corpus holds valid responses to that request).
 * Mode 1: pkt_parse_request(), then pkt_verify_request() with the fixed C2S
 * key and the builders on what was parsed.  Mode 2: the input is a response
 * prefix plus a plaintext; the target seals the plaintext with the fixed key
 * so that mutations reach the cookie walk behind the Authenticator.  Mode 3:
 * a response captured from a real server (fuzz/capture_ntp.c) with what it
 * answers: S2C key (the AEAD's length), transmit timestamp (8), Unique
 * Identifier (32), placeholder count (1), then the packet.  Each run
 * checks the parser's promises and aborts when one is broken.
 *
 * Built with -DFUZZ_PKT_WRITE_SEEDS it is instead a program that writes the
 * seed corpus into the directory given as its argument (fuzz/corpus/pkt). */
#include "monitor/pkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/aead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int aeads[4] = { 15, 16, 17, 30 };
static uint8_t c2s_key[AEAD_MAX_KEY_LEN], s2c_key[AEAD_MAX_KEY_LEN];
static uint8_t cookie[PKT_MAX_COOKIE_LEN], nonce[PKT_MAX_NONCE_LEN];
static int ready;

static void
setup(void)
{
    size_t i;

    if (ready)
        return;
    for (i = 0; i < AEAD_MAX_KEY_LEN; i++) {
        c2s_key[i] = (uint8_t)(0x10 + i);
        s2c_key[i] = (uint8_t)(0x80 + i);
    }
    for (i = 0; i < sizeof(cookie); i++)
        cookie[i] = (uint8_t)(0xC0 ^ i);
    for (i = 0; i < sizeof(nonce); i++)
        nonce[i] = (uint8_t)(0x50 + i);
    ready = 1;
}

/* The request every mode-0 input answers: 3 placeholders, fixed randoms. */
static void
fixed_request(int aead, struct pkt_request *req)
{
    size_t i;

    memset(req, 0, sizeof(*req));
    req->aead_id = aead;
    req->c2s_key = c2s_key;
    req->cookie = cookie;
    req->cookie_len = 100;
    req->placeholders = 3;
    for (i = 0; i < sizeof(req->xmt); i++)
        req->xmt[i] = (uint8_t)(0x01 + i);
    for (i = 0; i < sizeof(req->uid); i++)
        req->uid[i] = (uint8_t)(0xA0 + i);
    for (i = 0; i < sizeof(req->nonce); i++)
        req->nonce[i] = (uint8_t)(0x30 + i);
}

static void
check_response(enum pkt_resp_status st, const struct pkt_response *out,
               const struct pkt_request *req)
{
    size_t i;

    switch (st) {
    case PKT_RESP_OK:
        if (!out->authenticated || out->why != NULL || out->kiss[0] != '\0')
            abort();
        break;
    case PKT_RESP_KOD:
        if (strlen(out->kiss) != 4 || out->stratum != 0 || out->why != NULL)
            abort();
        if (strcmp(out->kiss, "NTSN") != 0 && !out->authenticated)
            abort();
        break;
    case PKT_RESP_IGNORE:
        if (out->why == NULL || out->ncookies != 0)
            abort();
        break;
    }
    if (out->ncookies > 1 + (size_t)req->placeholders)
        abort();
    for (i = 0; i < out->ncookies; i++)
        if (out->cookie_len[i] == 0 || out->cookie_len[i] > PKT_MAX_COOKIE_LEN)
            abort();
}

static void
fuzz_response(int aead, const uint8_t *data, size_t size)
{
    struct pkt_request req;
    struct pkt_response out;

    fixed_request(aead, &req);
    check_response(pkt_parse_response(data, size, &req, s2c_key, &out), &out, &req);
}

static void
fuzz_request(int aead, const uint8_t *data, size_t size)
{
    struct pkt_server_request sreq;
    struct pkt_reply rep;
    struct pkt_response out;
    struct pkt_request req;
    uint8_t buf[PKT_MAX_LEN];
    size_t i;
    long n;

    if (pkt_parse_request(data, size, &sreq) != 0) {
        if (sreq.why == NULL)
            abort();
        return;
    }
    if (sreq.uid_len < PKT_UID_LEN || sreq.uid_len > PKT_MAX_UID_LEN
        || sreq.cookie_len == 0 || sreq.cookie_len > PKT_MAX_COOKIE_LEN
        || sreq.placeholders > PKT_MAX_PLACEHOLDERS || sreq.auth_off < PKT_HEADER_LEN
        || sreq.auth_off >= size)
        abort();
    (void)!pkt_verify_request(data, size, &sreq, aead, c2s_key);

    /* Answer it; what we build for any parsed request must parse back. */
    memset(&rep, 0, sizeof(rep));
    rep.hdr.stratum = 1;
    rep.aead_id = aead;
    rep.s2c_key = s2c_key;
    rep.nonce = nonce;
    rep.ncookies = 1 + sreq.placeholders;
    for (i = 0; i < rep.ncookies; i++) {
        rep.cookies[i] = cookie;
        rep.cookie_len[i] = sreq.cookie_len;
    }
    fixed_request(aead, &req);
    memcpy(req.xmt, data + 40, 8);
    req.placeholders = sreq.placeholders;
    n = pkt_build_response(&sreq, &rep, buf, sizeof(buf));
    if (n < 0)
        abort();
    if (sreq.uid_len == PKT_UID_LEN) {
        memcpy(req.uid, sreq.uid, PKT_UID_LEN);
        if (pkt_parse_response(buf, (size_t)n, &req, s2c_key, &out) != PKT_RESP_OK
            || out.ncookies != rep.ncookies)
            abort();
    }
    n = pkt_build_kod(&sreq, "NTSN", buf, sizeof(buf));
    if (n < 0)
        abort();
    if (sreq.uid_len == PKT_UID_LEN
        && pkt_parse_response(buf, (size_t)n, &req, NULL, &out) != PKT_RESP_KOD)
        abort();
}

/* data = u16 plaintext length P, response prefix, then P plaintext bytes. */
static void
fuzz_sealed(int aead, const uint8_t *data, size_t size)
{
    struct pkt_request req;
    struct pkt_response out;
    uint8_t buf[PKT_MAX_LEN];
    size_t pt_len, prefix, off;

    if (size < 2)
        return;
    pt_len = (size_t)(data[0] << 8 | data[1]);
    data += 2;
    size -= 2;
    if (pt_len > size)
        pt_len = size;
    prefix = size - pt_len;
    if (prefix > sizeof(buf))
        return;
    memcpy(buf, data, prefix);
    off = prefix;
    fixed_request(aead, &req);
    if (pkt_append_auth(buf, sizeof(buf), &off, aead, s2c_key, nonce,
                        aead_nonce_len(aead), data + prefix, pt_len) != 0)
        return;
    check_response(pkt_parse_response(buf, off, &req, s2c_key, &out), &out, &req);
}

static void
fuzz_captured(int aead, const uint8_t *data, size_t size)
{
    size_t klen = aead_key_len(aead), head = klen + 8 + PKT_UID_LEN + 1;
    struct pkt_request req;
    struct pkt_response out;

    if (size < head)
        return;
    fixed_request(aead, &req);
    memcpy(req.xmt, data + klen, 8);
    memcpy(req.uid, data + klen + 8, PKT_UID_LEN);
    req.placeholders = data[head - 1] % (PKT_MAX_PLACEHOLDERS + 1);
    check_response(pkt_parse_response(data + head, size - head, &req, data, &out), &out,
                   &req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int aead;

    if (size < 1)
        return 0;
    setup();
    aead = aeads[(data[0] >> 2) & 3];
    switch (data[0] & 3) {
    case 0: fuzz_response(aead, data + 1, size - 1); break;
    case 1: fuzz_request(aead, data + 1, size - 1); break;
    case 2: fuzz_sealed(aead, data + 1, size - 1); break;
    default: fuzz_captured(aead, data + 1, size - 1); break;
    }
    return 0;
}

#ifdef FUZZ_PKT_WRITE_SEEDS
static int
write_seed(const char *dir, const char *name, uint8_t sel, const uint8_t *buf, size_t len)
{
    char path[512];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    ok = fwrite(&sel, 1, 1, f) == 1 && fwrite(buf, 1, len, f) == len;
    if (fclose(f) != 0 || !ok) {
        perror(path);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    uint8_t req_buf[PKT_MAX_LEN], buf[PKT_MAX_LEN], pt[PKT_MAX_LEN];
    char name[64];
    int a, fail = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    setup();
    for (a = 0; a < 4; a++) {
        struct pkt_request req;
        struct pkt_server_request sreq;
        struct pkt_reply rep;
        uint8_t sel = (uint8_t)(a << 2);
        long rn, n;
        size_t i, off, pt_len;

        fixed_request(aeads[a], &req);
        rn = pkt_build_request(&req, req_buf, sizeof(req_buf));
        if (rn < 0 || pkt_parse_request(req_buf, (size_t)rn, &sreq) != 0)
            return 1;
        snprintf(name, sizeof(name), "request-%d", aeads[a]);
        fail |= write_seed(argv[1], name, sel | 1, req_buf, (size_t)rn);

        memset(&rep, 0, sizeof(rep));
        rep.hdr.stratum = 2;
        rep.hdr.poll = 4;
        rep.hdr.precision = -24;
        rep.hdr.root_delay = 0x00000800;
        rep.hdr.root_disp = 0x00000400;
        rep.hdr.refid = 0xC0000201;
        rep.hdr.ref_ts = 0xEC1A2B3C00000000ull;
        rep.hdr.rx_ts = 0xEC1A2B4012345678ull;
        rep.hdr.tx_ts = 0xEC1A2B4012350000ull;
        rep.aead_id = aeads[a];
        rep.s2c_key = s2c_key;
        rep.nonce = nonce;
        rep.ncookies = 4;
        for (i = 0; i < rep.ncookies; i++) {
            rep.cookies[i] = cookie + i;
            rep.cookie_len[i] = 100;
        }
        n = pkt_build_response(&sreq, &rep, buf, sizeof(buf));
        snprintf(name, sizeof(name), "response-%d", aeads[a]);
        fail |= n < 0 || write_seed(argv[1], name, sel, buf, (size_t)n);

        rep.ncookies = 1;
        rep.hdr.leap = 3;
        rep.hdr.stratum = 0;
        rep.hdr.refid = 0;
        n = pkt_build_response(&sreq, &rep, buf, sizeof(buf));
        snprintf(name, sizeof(name), "unsync-%d", aeads[a]);
        fail |= n < 0 || write_seed(argv[1], name, sel, buf, (size_t)n);

        rep.ncookies = 0;
        rep.hdr.refid = 0x52415445;             /* "RATE", authenticated */
        n = pkt_build_response(&sreq, &rep, buf, sizeof(buf));
        snprintf(name, sizeof(name), "kod-rate-%d", aeads[a]);
        fail |= n < 0 || write_seed(argv[1], name, sel, buf, (size_t)n);

        /* Mode 2: the response without its Authenticator, then the cookie
           EFs that the target seals. */
        pt_len = 0;
        for (i = 0; i < 2; i++)
            if (pkt_append_inner_ef(pt, sizeof(pt), &pt_len, PKT_EF_COOKIE, cookie + i,
                                    100) != 0)
                return 1;
        off = 0;
        rep.hdr.stratum = 2;
        rep.hdr.leap = 0;
        rep.hdr.refid = 0xC0000201;
        rep.flags = PKT_REPLY_NO_AUTH;
        n = pkt_build_response(&sreq, &rep, buf + 2, sizeof(buf) - 2 - pt_len);
        if (n < 0)
            return 1;
        off = 2 + (size_t)n;
        buf[0] = (uint8_t)(pt_len >> 8);
        buf[1] = (uint8_t)pt_len;
        memcpy(buf + off, pt, pt_len);
        snprintf(name, sizeof(name), "sealed-%d", aeads[a]);
        fail |= write_seed(argv[1], name, sel | 2, buf, off + pt_len);
    }
    {
        struct pkt_request req;
        struct pkt_server_request sreq;
        long rn, n;

        fixed_request(15, &req);
        rn = pkt_build_request(&req, req_buf, sizeof(req_buf));
        if (rn < 0 || pkt_parse_request(req_buf, (size_t)rn, &sreq) != 0)
            return 1;
        n = pkt_build_kod(&sreq, "NTSN", buf, sizeof(buf));
        fail |= n < 0 || write_seed(argv[1], "kod-ntsn", 0, buf, (size_t)n);
    }
    return fail ? 1 : 0;
}
#endif
