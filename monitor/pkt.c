/* pkt.c - NTPv4/NTS packet codec and the on-wire offset/delay math.
 *
 * A response is untrusted until its Authenticator verifies, and even then only
 * its encrypted part may hand us cookies (RFC 8915 5.7): an attacker on the
 * path can add unencrypted cookie EFs that the AEAD does not cover.  So the
 * parser first checks the cheap things that bind a reply to our request (mode,
 * origin timestamp, Unique Identifier), walks every EF with explicit bounds
 * (RFC 7822: length a multiple of 4, at least 16, inside the packet), and only
 * then opens the Authenticator.  The one exception is the NTS NAK (KoD NTSN),
 * which servers send without an Authenticator because they could not read our
 * cookie; the UID and origin timestamp are what make it ours.  The transmit
 * timestamp of a request is random, not the send time (as in OpenBSD ntpd),
 * so that it does not leak our clock and an off-path attacker cannot guess it;
 * the real t1 comes from the kernel. */
#include "monitor/pkt.h"

#include <string.h>

#include "monitor/aead.h"

#define NTP_UNIX_DELTA 2208988800LL     /* 1900-01-01 to 1970-01-01 in seconds */
#define TWO_POW_32 4294967296.0

struct ef {
    uint16_t type;
    size_t off;                 /* of the EF header */
    size_t len;                 /* whole EF, header included */
    const uint8_t *body;
    size_t body_len;
};

/* Where the parts of an Authenticator lie, as offsets into the packet. */
struct auth {
    size_t off, len;
    size_t nonce_off, nonce_len;
    size_t ct_off, ct_len;
    size_t body_len;
};

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static void
put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t
get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static size_t
pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

/* Two's complement reading of a 64-bit difference, without relying on the
   implementation-defined conversion of large unsigned values. */
static int64_t
to_signed(uint64_t u)
{
    if (u <= (uint64_t)INT64_MAX)
        return (int64_t)u;
    return -(int64_t)(~u) - 1;
}

long
pkt_put_header(uint8_t *buf, size_t cap, const struct pkt_header *h)
{
    if (cap < PKT_HEADER_LEN)
        return -1;
    buf[0] = (uint8_t)((h->leap & 3) << 6 | (h->version & 7) << 3 | (h->mode & 7));
    buf[1] = h->stratum;
    buf[2] = (uint8_t)h->poll;
    buf[3] = (uint8_t)h->precision;
    put32(buf + 4, h->root_delay);
    put32(buf + 8, h->root_disp);
    put32(buf + 12, h->refid);
    put64(buf + 16, h->ref_ts);
    put64(buf + 24, h->org_ts);
    put64(buf + 32, h->rx_ts);
    put64(buf + 40, h->tx_ts);
    return PKT_HEADER_LEN;
}

int
pkt_get_header(const uint8_t *buf, size_t len, struct pkt_header *h)
{
    if (len < PKT_HEADER_LEN)
        return -1;
    h->leap = buf[0] >> 6;
    h->version = (buf[0] >> 3) & 7;
    h->mode = buf[0] & 7;
    h->stratum = buf[1];
    h->poll = (int8_t)buf[2];
    h->precision = (int8_t)buf[3];
    h->root_delay = get32(buf + 4);
    h->root_disp = get32(buf + 8);
    h->refid = get32(buf + 12);
    h->ref_ts = get64(buf + 16);
    h->org_ts = get64(buf + 24);
    h->rx_ts = get64(buf + 32);
    h->tx_ts = get64(buf + 40);
    return 0;
}

static int
append_ef(uint8_t *buf, size_t cap, size_t *off, uint16_t type, const uint8_t *body,
          size_t body_len, size_t min_len)
{
    size_t elen;

    if (body_len > PKT_MAX_EF_LEN)
        return -1;
    elen = pad4(4 + body_len);
    if (elen < min_len)
        elen = min_len;
    if (elen > 0xFFFF || *off > cap || cap - *off < elen)
        return -1;
    memset(buf + *off, 0, elen);
    put16(buf + *off, type);
    put16(buf + *off + 2, (uint16_t)elen);
    if (body != NULL && body_len > 0)
        memcpy(buf + *off + 4, body, body_len);
    *off += elen;
    return 0;
}

int
pkt_append_ef(uint8_t *buf, size_t cap, size_t *off, uint16_t type, const uint8_t *body,
              size_t body_len)
{
    return append_ef(buf, cap, off, type, body, body_len, PKT_MIN_EF_LEN);
}

int
pkt_append_inner_ef(uint8_t *buf, size_t cap, size_t *off, uint16_t type,
                    const uint8_t *body, size_t body_len)
{
    return append_ef(buf, cap, off, type, body, body_len, 4);
}

int
pkt_append_auth(uint8_t *buf, size_t cap, size_t *off, int aead_id, const uint8_t *key,
                const uint8_t *nonce, size_t nonce_len, const uint8_t *pt, size_t pt_len)
{
    size_t ct_len = AEAD_TAG_LEN + pt_len;
    size_t elen;
    struct aead_ad ad;
    uint8_t *p;

    if (key == NULL || nonce_len > 0xFFFF || pt_len > PKT_MAX_LEN || *off > cap)
        return -1;
    elen = 8 + pad4(nonce_len) + pad4(ct_len);
    /* Only a nonce under 4 bytes could leave the last EF short of 28 bytes;
       the difference becomes Additional Padding. */
    if (elen < PKT_MIN_LAST_EF_LEN)
        elen = PKT_MIN_LAST_EF_LEN;
    if (elen > 0xFFFF || cap - *off < elen)
        return -1;
    p = buf + *off;
    memset(p, 0, elen);
    put16(p, PKT_EF_AUTH);
    put16(p + 2, (uint16_t)elen);
    put16(p + 4, (uint16_t)nonce_len);
    put16(p + 6, (uint16_t)ct_len);
    if (nonce_len > 0)
        memcpy(p + 8, nonce, nonce_len);
    ad.data = buf;
    ad.len = *off;
    if (aead_seal(aead_id, key, &ad, 1, nonce, nonce_len, pt, pt_len,
                  p + 8 + pad4(nonce_len)) != 0)
        return -1;
    *off += elen;
    return 0;
}

/* Read the EF at *off of buf[0..len).  Returns 1 with *ef filled and *off
   advanced, 0 at the end, -1 with *why set when the field is malformed. */
static int
next_ef(const uint8_t *buf, size_t len, size_t *off, size_t min_len, struct ef *ef,
        const char **why)
{
    size_t elen;

    if (*off >= len)
        return 0;
    if (len - *off < 4) {
        *why = "truncated ef";
        return -1;
    }
    elen = get16(buf + *off + 2);
    if (elen % 4 != 0 || elen < min_len || elen < 4) {
        *why = "bad ef length";
        return -1;
    }
    if (elen > len - *off) {
        *why = "ef past end";
        return -1;
    }
    ef->type = get16(buf + *off);
    ef->off = *off;
    ef->len = elen;
    ef->body = buf + *off + 4;
    ef->body_len = elen - 4;
    *off += elen;
    return 1;
}

/* Split an Authenticator EF (RFC 8915 5.6) into nonce and ciphertext, both
   inside the field.  An empty nonce or a ciphertext shorter than a tag cannot
   come from a valid sender.  Returns 0 or -1. */
static int
parse_auth(const struct ef *ef, struct auth *a)
{
    if (ef->body_len < 4)
        return -1;
    a->off = ef->off;
    a->len = ef->len;
    a->body_len = ef->body_len;
    a->nonce_len = get16(ef->body);
    a->ct_len = get16(ef->body + 2);
    if (a->nonce_len == 0 || a->ct_len < AEAD_TAG_LEN)
        return -1;
    if (pad4(a->nonce_len) + pad4(a->ct_len) > ef->body_len - 4)
        return -1;
    a->nonce_off = ef->off + 8;
    a->ct_off = a->nonce_off + pad4(a->nonce_len);
    return 0;
}

/* Open the Authenticator a of buf with AD = buf[0..a->off); the plaintext
   goes to pt (PKT_MAX_LEN bytes).  Returns 0 when authentic. */
static int
open_auth(const uint8_t *buf, const struct auth *a, int aead_id, const uint8_t *key,
          uint8_t *pt, size_t *pt_len)
{
    struct aead_ad ad = { buf, a->off };

    *pt_len = a->ct_len - AEAD_TAG_LEN;
    if (*pt_len > PKT_MAX_LEN)
        return -1;
    return aead_open(aead_id, key, &ad, 1, buf + a->nonce_off, a->nonce_len,
                     buf + a->ct_off, a->ct_len, pt);
}

long
pkt_build_request(const struct pkt_request *req, uint8_t *buf, size_t cap)
{
    struct pkt_header h;
    size_t off = 0, nonce_len, cookie_ef;
    unsigned i;

    if (req == NULL || req->c2s_key == NULL || req->cookie == NULL
        || req->cookie_len == 0 || req->cookie_len > PKT_MAX_COOKIE_LEN
        || req->placeholders > PKT_MAX_PLACEHOLDERS || !aead_is_supported(req->aead_id))
        return -1;
    nonce_len = aead_nonce_len(req->aead_id);
    if (nonce_len == 0 || nonce_len > PKT_MAX_NONCE_LEN)
        return -1;

    memset(&h, 0, sizeof(h));
    h.version = PKT_VERSION;
    h.mode = PKT_MODE_CLIENT;
    h.tx_ts = get64(req->xmt);
    if (pkt_put_header(buf, cap, &h) < 0)
        return -1;
    off = PKT_HEADER_LEN;
    if (pkt_append_ef(buf, cap, &off, PKT_EF_UID, req->uid, PKT_UID_LEN) != 0)
        return -1;
    cookie_ef = off;
    if (pkt_append_ef(buf, cap, &off, PKT_EF_COOKIE, req->cookie, req->cookie_len) != 0)
        return -1;
    /* RFC 8915 5.5: a placeholder is as long as the cookie field, so that the
       response, carrying a cookie in its place, is no larger than the request. */
    cookie_ef = off - cookie_ef - 4;
    for (i = 0; i < req->placeholders; i++)
        if (pkt_append_ef(buf, cap, &off, PKT_EF_PLACEHOLDER, NULL, cookie_ef) != 0)
            return -1;
    if (pkt_append_auth(buf, cap, &off, req->aead_id, req->c2s_key, req->nonce, nonce_len,
                        NULL, 0) != 0)
        return -1;
    return (long)off;
}

/* A KoD refid: four printable ASCII characters (RFC 5905 7.4), not starting
   with a blank.  Refid 0 of an unsynchronised server is not one. */
static bool
is_kiss_code(uint32_t refid)
{
    int i;

    if ((refid >> 24) == ' ')
        return false;
    for (i = 0; i < 4; i++) {
        unsigned c = (refid >> (24 - 8 * i)) & 0xFF;
        if (c < 0x20 || c > 0x7E)
            return false;
    }
    return true;
}

static enum pkt_resp_status
ignore(struct pkt_response *out, const char *why)
{
    out->why = why;
    out->ncookies = 0;
    out->authenticated = false;
    out->kiss[0] = '\0';
    return PKT_RESP_IGNORE;
}

/* Copy the cookies out of a decrypted plaintext.  Returns NULL or a reason. */
static const char *
take_cookies(const uint8_t *pt, size_t pt_len, unsigned placeholders,
             struct pkt_response *out)
{
    size_t off = 0;
    struct ef ef;
    const char *why = NULL;
    int r;

    if (placeholders > PKT_MAX_PLACEHOLDERS)
        placeholders = PKT_MAX_PLACEHOLDERS;
    while ((r = next_ef(pt, pt_len, &off, 4, &ef, &why)) > 0) {
        if (ef.type != PKT_EF_COOKIE)
            continue;
        if (out->ncookies >= 1 + (size_t)placeholders)
            return "too many cookies";
        if (ef.body_len == 0 || ef.body_len > PKT_MAX_COOKIE_LEN)
            return "bad cookie length";
        memcpy(out->cookies[out->ncookies], ef.body, ef.body_len);
        out->cookie_len[out->ncookies] = ef.body_len;
        out->ncookies++;
    }
    if (r < 0)
        return "bad encrypted ef";
    return NULL;
}

enum pkt_resp_status
pkt_parse_response(const uint8_t *buf, size_t len, const struct pkt_request *sent,
                   const uint8_t *s2c_key, struct pkt_response *out)
{
    struct pkt_header h;
    struct ef ef, uid = { 0 }, auth_ef = { 0 };
    bool have_uid = false, have_auth = false, kod;
    struct auth a;
    uint8_t pt[PKT_MAX_LEN];
    size_t off, pt_len;
    const char *why = NULL;
    int r;

    memset(out, 0, sizeof(*out));
    if (buf == NULL || sent == NULL || len < PKT_HEADER_LEN)
        return ignore(out, "too short");
    if (len > PKT_MAX_LEN)
        return ignore(out, "too long");
    if (pkt_get_header(buf, len, &h) != 0)
        return ignore(out, "too short");
    out->leap = h.leap;
    out->version = h.version;
    out->mode = h.mode;
    out->stratum = h.stratum;
    out->poll = h.poll;
    out->precision = h.precision;
    out->root_delay = pkt_short_to_seconds(h.root_delay);
    out->root_disp = pkt_short_to_seconds(h.root_disp);
    out->refid = h.refid;
    out->ref_ts = h.ref_ts;
    out->t2 = h.rx_ts;
    out->t3 = h.tx_ts;

    /* NTS is defined for NTPv4 only: extension fields do not exist in v3. */
    if (h.version != PKT_VERSION)
        return ignore(out, "bad version");
    if (h.mode != PKT_MODE_SERVER)
        return ignore(out, "bad mode");
    if (memcmp(buf + 24, sent->xmt, 8) != 0)
        return ignore(out, "origin mismatch");

    off = PKT_HEADER_LEN;
    while ((r = next_ef(buf, len, &off, PKT_MIN_EF_LEN, &ef, &why)) > 0) {
        if (have_auth)
            return ignore(out, "authenticator not last");
        switch (ef.type) {
        case PKT_EF_UID:
            if (have_uid)
                return ignore(out, "duplicate uid");
            uid = ef;
            have_uid = true;
            break;
        case PKT_EF_AUTH:
            auth_ef = ef;
            have_auth = true;
            break;
        case PKT_EF_COOKIE:
            out->outside_cookies++;     /* not covered by encryption: not taken */
            break;
        default:
            break;                      /* unknown EFs are ignored (RFC 7822) */
        }
    }
    if (r < 0)
        return ignore(out, why);
    if (!have_uid)
        return ignore(out, "uid missing");
    if (uid.body_len != PKT_UID_LEN || memcmp(uid.body, sent->uid, PKT_UID_LEN) != 0)
        return ignore(out, "uid mismatch");

    kod = h.stratum == 0 && is_kiss_code(h.refid);
    if (kod) {
        out->kiss[0] = (char)(h.refid >> 24);
        out->kiss[1] = (char)(h.refid >> 16);
        out->kiss[2] = (char)(h.refid >> 8);
        out->kiss[3] = (char)h.refid;
        out->kiss[4] = '\0';
        /* RFC 8915 5.7: the NTS NAK is unauthenticated by design. */
        if (strcmp(out->kiss, "NTSN") == 0)
            return PKT_RESP_KOD;
    }

    if (!have_auth)
        return ignore(out, "no authenticator");
    if (parse_auth(&auth_ef, &a) != 0)
        return ignore(out, "bad authenticator");
    if (s2c_key == NULL)
        return ignore(out, "no key");
    if (open_auth(buf, &a, sent->aead_id, s2c_key, pt, &pt_len) != 0)
        return ignore(out, "auth failed");
    out->authenticated = true;

    why = take_cookies(pt, pt_len, sent->placeholders, out);
    if (why != NULL)
        return ignore(out, why);
    return kod ? PKT_RESP_KOD : PKT_RESP_OK;
}

const char *
pkt_resp_status_str(enum pkt_resp_status st)
{
    switch (st) {
    case PKT_RESP_OK: return "ok";
    case PKT_RESP_KOD: return "kod";
    case PKT_RESP_IGNORE: return "ignore";
    }
    return "unknown";
}

static int
reject(struct pkt_server_request *out, const char *why)
{
    out->why = why;
    return -1;
}

int
pkt_parse_request(const uint8_t *buf, size_t len, struct pkt_server_request *out)
{
    struct ef ef;
    struct auth a;
    bool have_uid = false, have_cookie = false, have_auth = false;
    size_t ph_len = 0;
    bool ph_mixed = false;
    const char *why = NULL;
    size_t off;
    int r;

    memset(out, 0, sizeof(*out));
    if (buf == NULL || len < PKT_HEADER_LEN)
        return reject(out, "too short");
    if (len > PKT_MAX_LEN)
        return reject(out, "too long");
    if (pkt_get_header(buf, len, &out->hdr) != 0)
        return reject(out, "too short");
    if (out->hdr.version != PKT_VERSION)
        return reject(out, "bad version");
    if (out->hdr.mode != PKT_MODE_CLIENT)
        return reject(out, "bad mode");

    off = PKT_HEADER_LEN;
    while ((r = next_ef(buf, len, &off, PKT_MIN_EF_LEN, &ef, &why)) > 0) {
        if (have_auth)
            return reject(out, "authenticator not last");
        switch (ef.type) {
        case PKT_EF_UID:
            if (have_uid)
                return reject(out, "duplicate uid");
            if (ef.body_len < PKT_UID_LEN || ef.body_len > PKT_MAX_UID_LEN)
                return reject(out, "bad uid length");
            memcpy(out->uid, ef.body, ef.body_len);
            out->uid_len = ef.body_len;
            have_uid = true;
            break;
        case PKT_EF_COOKIE:
            if (have_cookie)
                return reject(out, "duplicate cookie");
            if (ef.body_len > PKT_MAX_COOKIE_LEN)
                return reject(out, "bad cookie length");
            memcpy(out->cookie, ef.body, ef.body_len);
            out->cookie_len = ef.body_len;
            have_cookie = true;
            break;
        case PKT_EF_PLACEHOLDER:
            if (out->placeholders >= PKT_MAX_PLACEHOLDERS)
                return reject(out, "too many placeholders");
            if (out->placeholders > 0 && ef.body_len != ph_len)
                ph_mixed = true;
            ph_len = ef.body_len;
            out->placeholders++;
            break;
        case PKT_EF_AUTH:
            if (parse_auth(&ef, &a) != 0)
                return reject(out, "bad authenticator");
            out->auth_off = ef.off;
            have_auth = true;
            break;
        default:
            break;
        }
    }
    if (r < 0)
        return reject(out, why);
    if (!have_uid)
        return reject(out, "uid missing");
    if (!have_cookie)
        return reject(out, "no cookie");
    if (out->placeholders > 0 && (ph_mixed || ph_len != out->cookie_len))
        return reject(out, "bad placeholder length");
    if (!have_auth)
        return reject(out, "no authenticator");
    return 0;
}

int
pkt_verify_request(const uint8_t *buf, size_t len, const struct pkt_server_request *req,
                   int aead_id, const uint8_t *c2s_key)
{
    struct ef ef;
    struct auth a;
    uint8_t pt[PKT_MAX_LEN];
    size_t off, pt_len, n_req;
    const char *why = NULL;

    if (buf == NULL || req == NULL || c2s_key == NULL || !aead_is_supported(aead_id)
        || len > PKT_MAX_LEN || req->auth_off < PKT_HEADER_LEN)
        return -1;
    /* Re-read the Authenticator rather than trust offsets kept in req. */
    off = req->auth_off;
    if (next_ef(buf, len, &off, PKT_MIN_EF_LEN, &ef, &why) != 1 || ef.type != PKT_EF_AUTH
        || off != len || parse_auth(&ef, &a) != 0)
        return -1;
    /* RFC 8915 5.6: the nonce field plus the Additional Padding must reach
       N_REQ = min(16, N_MAX) rounded up to 4, so that the server's own nonce
       fits a reply no larger than the request. */
    n_req = aead_nonce_len(aead_id);
    if (n_req > 16)
        n_req = 16;
    n_req = pad4(n_req);
    if (a.body_len - 4 - pad4(a.ct_len) < n_req)
        return -1;
    return open_auth(buf, &a, aead_id, c2s_key, pt, &pt_len) == 0 ? 0 : -1;
}

long
pkt_build_response(const struct pkt_server_request *req, const struct pkt_reply *rep,
                   uint8_t *buf, size_t cap)
{
    struct pkt_header h;
    uint8_t pt[PKT_MAX_LEN];
    size_t off, pt_len = 0, i;

    if (req == NULL || rep == NULL || rep->ncookies > PKT_MAX_COOKIES
        || req->uid_len > PKT_MAX_UID_LEN)
        return -1;
    if (!(rep->flags & PKT_REPLY_NO_AUTH)
        && (!aead_is_supported(rep->aead_id) || rep->s2c_key == NULL
            || rep->nonce == NULL))
        return -1;
    for (i = 0; i < rep->ncookies; i++)
        if (rep->cookies[i] == NULL || rep->cookie_len[i] == 0
            || rep->cookie_len[i] > PKT_MAX_COOKIE_LEN)
            return -1;

    h = rep->hdr;
    h.version = PKT_VERSION;
    h.mode = PKT_MODE_SERVER;
    h.org_ts = req->hdr.tx_ts;
    if (pkt_put_header(buf, cap, &h) < 0)
        return -1;
    off = PKT_HEADER_LEN;
    if (!(rep->flags & PKT_REPLY_NO_UID)
        && pkt_append_ef(buf, cap, &off, PKT_EF_UID, req->uid, req->uid_len) != 0)
        return -1;
    for (i = 0; i < rep->ncookies; i++) {
        if (rep->flags & PKT_REPLY_COOKIES_OUTSIDE) {
            if (pkt_append_ef(buf, cap, &off, PKT_EF_COOKIE, rep->cookies[i],
                              rep->cookie_len[i]) != 0)
                return -1;
        } else if (pkt_append_inner_ef(pt, sizeof(pt), &pt_len, PKT_EF_COOKIE,
                                       rep->cookies[i], rep->cookie_len[i]) != 0) {
            return -1;
        }
    }
    if (!(rep->flags & PKT_REPLY_NO_AUTH)
        && pkt_append_auth(buf, cap, &off, rep->aead_id, rep->s2c_key, rep->nonce,
                           aead_nonce_len(rep->aead_id), pt, pt_len) != 0)
        return -1;
    return (long)off;
}

long
pkt_build_kod(const struct pkt_server_request *req, const char *code, uint8_t *buf,
              size_t cap)
{
    struct pkt_header h;
    size_t off;

    if (req == NULL || code == NULL || strlen(code) != 4
        || req->uid_len > PKT_MAX_UID_LEN)
        return -1;
    memset(&h, 0, sizeof(h));
    h.leap = PKT_LEAP_UNSYNC;
    h.version = PKT_VERSION;
    h.mode = PKT_MODE_SERVER;
    h.refid = get32((const uint8_t *)code);
    h.org_ts = req->hdr.tx_ts;
    if (pkt_put_header(buf, cap, &h) < 0)
        return -1;
    off = PKT_HEADER_LEN;
    if (pkt_append_ef(buf, cap, &off, PKT_EF_UID, req->uid, req->uid_len) != 0)
        return -1;
    return (long)off;
}

uint64_t
pkt_ntp_from_timespec(const struct timespec *ts)
{
    int64_t sec = (int64_t)ts->tv_sec;
    int64_t nsec = ts->tv_nsec;
    uint64_t frac;

    while (nsec < 0) {
        nsec += 1000000000;
        sec--;
    }
    while (nsec >= 1000000000) {
        nsec -= 1000000000;
        sec++;
    }
    /* Rounded; below 2^32 since nsec < 10^9 - 0.116. */
    frac = (((uint64_t)nsec << 32) + 500000000) / 1000000000;
    return (uint64_t)(uint32_t)(uint64_t)(sec + NTP_UNIX_DELTA) << 32 | frac;
}

uint64_t
pkt_ntp_from_unix(double unix_seconds)
{
    int64_t sec = (int64_t)unix_seconds;
    double f;
    uint64_t frac;

    if ((double)sec > unix_seconds)
        sec--;
    f = (unix_seconds - (double)sec) * TWO_POW_32 + 0.5;
    frac = f >= TWO_POW_32 ? (uint64_t)1 << 32 : (uint64_t)f;
    if (frac >> 32) {
        frac = 0;
        sec++;
    }
    return (uint64_t)(uint32_t)(uint64_t)(sec + NTP_UNIX_DELTA) << 32 | frac;
}

/* Seconds since 1970 of the era of ntp closest to ref_unix (RFC 5905 6: the
   32-bit seconds field wraps every 2^32 s; the nearest era is the one within
   +-2^31 s of the reference). */
static int64_t
ntp_unix_seconds(uint64_t ntp, time_t ref_unix)
{
    int64_t ref_ntp = (int64_t)ref_unix + NTP_UNIX_DELTA;
    uint32_t d = (uint32_t)(ntp >> 32) - (uint32_t)(uint64_t)ref_ntp;
    int64_t delta = d < 0x80000000u ? (int64_t)d : (int64_t)d - 0x100000000LL;

    return ref_ntp + delta - NTP_UNIX_DELTA;
}

void
pkt_ntp_to_timespec(uint64_t ntp, time_t ref_unix, struct timespec *ts)
{
    int64_t sec = ntp_unix_seconds(ntp, ref_unix);
    uint64_t nsec = ((ntp & 0xFFFFFFFFu) * 1000000000u + 0x80000000u) >> 32;

    if (nsec >= 1000000000u) {
        nsec -= 1000000000u;
        sec++;
    }
    ts->tv_sec = (time_t)sec;
    ts->tv_nsec = (long)nsec;
}

double
pkt_ntp_to_unix(uint64_t ntp, time_t ref_unix)
{
    return (double)ntp_unix_seconds(ntp, ref_unix)
           + (double)(ntp & 0xFFFFFFFFu) / TWO_POW_32;
}

double
pkt_short_to_seconds(uint32_t v)
{
    return (double)v / 65536.0;
}

uint32_t
pkt_short_from_seconds(double s)
{
    if (!(s > 0.0))
        return 0;
    if (s >= 65536.0)
        return 0xFFFFFFFFu;
    s = s * 65536.0 + 0.5;
    return s >= 4294967295.0 ? 0xFFFFFFFFu : (uint32_t)s;
}

void
pkt_offset_delay(uint64_t t1, uint64_t t2, uint64_t t3, uint64_t t4, double *offset,
                 double *delay)
{
    /* Each difference of two nearby timestamps is small and exact as an
       integer, and exact as a double below 2^53 units (24 days); a double of
       the timestamps themselves would keep only ~0.2 us at today's epoch. */
    int64_t d21 = to_signed(t2 - t1), d34 = to_signed(t3 - t4);
    int64_t d41 = to_signed(t4 - t1), d32 = to_signed(t3 - t2);

    *offset = ((double)d21 + (double)d34) / (2.0 * TWO_POW_32);
    *delay = ((double)d41 - (double)d32) / TWO_POW_32;
}
