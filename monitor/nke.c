/* nke.c - NTS-KE record codec and response validation.
 *
 * Every rule of RFC 8915 section 4 that a client can check is checked here,
 * so that ke.c only moves bytes: records well formed and complete, End of
 * Message exactly once and last with nothing after it, no duplicate of the
 * records that may appear once, no unknown critical record, and the response
 * consistent with what we asked (one Next Protocol containing NTPv4, one AEAD
 * that we offered, at least one cookie of a sane size). */
#include "monitor/nke.h"

#include <stdio.h>
#include <string.h>

#include "monitor/aead.h"

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

long
nke_put_record(uint8_t *out, size_t cap, size_t off, uint16_t type, bool critical,
               const void *body, size_t len)
{
    if (len > 0xFFFF || off > cap || cap - off < 4 + len)
        return -1;
    put16(out + off, (uint16_t)(type | (critical ? NKE_CRITICAL : 0)));
    put16(out + off + 2, (uint16_t)len);
    if (len)
        memcpy(out + off + 4, body, len);
    return (long)(off + 4 + len);
}

uint16_t
nke_pool_type(uint16_t permanent, bool experimental)
{
    if (!experimental)
        return permanent;
    switch (permanent) {
    case NKE_REC_KEEP_ALIVE: return NKE_REC_X_KEEP_ALIVE;
    case NKE_REC_SUPPORTED_PROTOS: return NKE_REC_X_SUPPORTED_PROTOS;
    case NKE_REC_SUPPORTED_AEADS: return NKE_REC_X_SUPPORTED_AEADS;
    case NKE_REC_FIXED_KEY: return NKE_REC_X_FIXED_KEY;
    case NKE_REC_SERVER_DENY: return NKE_REC_X_SERVER_DENY;
    case NKE_REC_AUTH_TOKEN: return NKE_REC_X_AUTH_TOKEN;
    default: return permanent;
    }
}

/* Append a record, remembering failure: the builder checks once at the end. */
struct builder {
    uint8_t *out;
    size_t cap;
    long off;
};

static void
add(struct builder *b, uint16_t type, bool critical, const void *body, size_t len)
{
    if (b->off >= 0)
        b->off = nke_put_record(b->out, b->cap, (size_t)b->off, type, critical, body, len);
}

static void
add_u16_list(struct builder *b, uint16_t type, const uint16_t *v, size_t n)
{
    uint8_t body[2 * NKE_MAX_AEADS];

    if (n > NKE_MAX_AEADS) {
        b->off = -1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        put16(body + 2 * i, v[i]);
    add(b, type, true, body, 2 * n);
}

/* With exported keys and 30 on offer, ask for chrony's compliant exporter
   context for AES-128-GCM-SIV (record 1024, non-critical: others ignore it). */
static void
add_compliant(struct builder *b, const struct nke_request *req)
{
    for (size_t i = 0; i < req->naeads; i++) {
        if (req->aeads[i] == AEAD_AES_128_GCM_SIV) {
            add(b, NKE_REC_COMPLIANT_GCM_SIV, false, NULL, 0);
            return;
        }
    }
}

long
nke_build_request(const struct nke_request *req, uint8_t *out, size_t cap)
{
    struct builder b = {out, cap, 0};
    const uint16_t proto = NKE_PROTO_NTPV4;
    bool x = req->experimental;
    size_t toklen = req->token ? strlen(req->token) : 0;

    if (req->naeads == 0 || req->naeads > NKE_MAX_AEADS)
        return -1;
    if (req->shape != NKE_SHAPE_PLAIN && (toklen == 0 || toklen > NKE_MAX_TOKEN_LEN))
        return -1;
    /* The token goes first, so that a pool-aware server can authenticate
       before it reads anything else. */
    if (req->shape != NKE_SHAPE_PLAIN)
        add(&b, nke_pool_type(NKE_REC_AUTH_TOKEN, x), false, req->token, toklen);

    switch (req->shape) {
    case NKE_SHAPE_PLAIN:
        add_u16_list(&b, NKE_REC_NEXT_PROTO, &proto, 1);
        add_u16_list(&b, NKE_REC_AEAD, req->aeads, req->naeads);
        add_compliant(&b, req);
        break;
    case NKE_SHAPE_POOL_CAPS:
        add(&b, nke_pool_type(NKE_REC_SUPPORTED_AEADS, x), true, NULL, 0);
        add(&b, nke_pool_type(NKE_REC_SUPPORTED_PROTOS, x), true, NULL, 0);
        break;
    case NKE_SHAPE_POOL_FIXED_KEY: {
        uint8_t keys[2 * NKE_MAX_KEY_LEN];
        size_t klen = aead_key_len(req->aeads[0]);

        if (req->naeads != 1 || klen == 0 || req->key_len != klen || !req->c2s ||
            !req->s2c)
            return -1;
        memcpy(keys, req->c2s, klen);
        memcpy(keys + klen, req->s2c, klen);
        add(&b, nke_pool_type(NKE_REC_FIXED_KEY, x), true, keys, 2 * klen);
        memset(keys, 0, sizeof(keys));
        add_u16_list(&b, NKE_REC_NEXT_PROTO, &proto, 1);
        add_u16_list(&b, NKE_REC_AEAD, req->aeads, 1);
        break;
    }
    case NKE_SHAPE_POOL_KE: {
        size_t ulen = req->uuid ? strlen(req->uuid) : 0;

        if (ulen == 0 || ulen > NKE_MAX_UUID_LEN)
            return -1;
        add(&b, NKE_REC_UUID_REQUEST, true, req->uuid, ulen);
        add_u16_list(&b, NKE_REC_NEXT_PROTO, &proto, 1);
        add_u16_list(&b, NKE_REC_AEAD, req->aeads, req->naeads);
        add_compliant(&b, req);
        break;
    }
    }
    if (req->keep_alive && req->shape != NKE_SHAPE_PLAIN)
        add(&b, nke_pool_type(NKE_REC_KEEP_ALIVE, x), false, NULL, 0);
    add(&b, NKE_REC_EOM, true, NULL, 0);
    return b.off;
}

int
nke_record_next(const uint8_t *buf, size_t len, size_t *off, struct nke_record *rec)
{
    size_t o = *off;
    uint16_t type, blen;

    if (o > len || len - o < 4)
        return 0;
    type = get16(buf + o);
    blen = get16(buf + o + 2);
    if (len - o - 4 < blen)
        return 0;
    rec->type = type & (uint16_t)~NKE_CRITICAL;
    rec->critical = (type & NKE_CRITICAL) != 0;
    rec->len = blen;
    rec->body = buf + o + 4;
    *off = o + 4 + blen;
    return 1;
}

int
nke_message_end(const uint8_t *buf, size_t len, size_t *end)
{
    size_t off = 0;
    struct nke_record rec;

    while (nke_record_next(buf, len, &off, &rec)) {
        if (rec.type == NKE_REC_EOM) {
            *end = off;
            return 1;
        }
    }
    return 0;
}

const char *
nke_error_name(unsigned code)
{
    switch (code) {
    case NKE_ERR_UNRECOGNIZED_CRITICAL: return "unrecognized critical record";
    case NKE_ERR_BAD_REQUEST: return "bad request";
    case NKE_ERR_INTERNAL: return "internal server error";
    case NKE_ERR_NO_SUCH_SERVER: return "no such server";
    case NKE_ERR_DOWNSTREAM_CONNECT: return "could not connect downstream";
    case NKE_ERR_DOWNSTREAM_CAPS: return "could not get downstream capabilities";
    case NKE_ERR_DOWNSTREAM_COOKIES: return "could not get downstream cookies";
    default: return "unknown error code";
    }
}

/* A Server record names an IP address or a host name: printable, no spaces. */
static bool
server_name_ok(const uint8_t *s, size_t n)
{
    if (n == 0 || n > NKE_MAX_SERVER_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '_'))
            return false;
    }
    return true;
}

/* Bit set of the record types that may appear at most once in a response. */
enum once {
    ONCE_NEXT_PROTO = 1 << 0,
    ONCE_AEAD = 1 << 1,
    ONCE_SERVER = 1 << 2,
    ONCE_PORT = 1 << 3,
    ONCE_ERROR = 1 << 4,
    ONCE_WARNING = 1 << 5,
    ONCE_SUPP_AEADS = 1 << 6,
    ONCE_SUPP_PROTOS = 1 << 7,
};

static enum ke_status
malformed(char *detail, const char *what, unsigned type)
{
    snprintf(detail, RESULT_DETAIL_MAX, "%s (record type %u)", what, type);
    return KE_MALFORMED;
}

/* Walk every record and fill resp; only structural violations fail here. */
static enum ke_status
walk(const uint8_t *buf, size_t len, const struct nke_request *req,
     struct nke_response *resp, char *detail)
{
    size_t off = 0;
    unsigned seen = 0;
    struct nke_record r;
    bool x = req->experimental;

    for (;;) {
        unsigned once = 0;
        size_t start = off;

        if (!nke_record_next(buf, len, &off, &r)) {
            if (off < len) {
                snprintf(detail, RESULT_DETAIL_MAX,
                         "truncated record at offset %zu of %zu", start, len);
                return KE_MALFORMED;
            }
            snprintf(detail, RESULT_DETAIL_MAX, "no End of Message record");
            return KE_MALFORMED;
        }
        if (r.type == NKE_REC_EOM) {
            if (r.len != 0)
                return malformed(detail, "End of Message with a body", r.type);
            if (!r.critical)
                return malformed(detail, "End of Message without the critical bit", r.type);
            if (off != len) {
                snprintf(detail, RESULT_DETAIL_MAX, "%zu bytes after End of Message",
                         len - off);
                return KE_MALFORMED;
            }
            return KE_OK;
        }
        switch (r.type) {
        case NKE_REC_NEXT_PROTO:
            once = ONCE_NEXT_PROTO;
            if (r.len % 2)
                return malformed(detail, "Next Protocol of odd length", r.type);
            for (size_t i = 0; i < r.len; i += 2) {
                if (get16(r.body + i) == NKE_PROTO_NTPV4)
                    resp->next_protocol = NKE_PROTO_NTPV4;
                else if (resp->next_protocol < 0)
                    resp->next_protocol = get16(r.body + i);
            }
            if (r.len > 2)
                return malformed(detail, "Next Protocol with more than one protocol", r.type);
            break;
        case NKE_REC_ERROR:
        case NKE_REC_WARNING:
            once = r.type == NKE_REC_ERROR ? ONCE_ERROR : ONCE_WARNING;
            if (r.len != 2)
                return malformed(detail, "Error or Warning body not 2 bytes", r.type);
            if (r.type == NKE_REC_ERROR)
                resp->error = get16(r.body);
            else
                resp->warning = get16(r.body);
            break;
        case NKE_REC_AEAD:
            once = ONCE_AEAD;
            if (r.len != 0 && r.len != 2)
                return malformed(detail, "AEAD record must hold at most one id", r.type);
            resp->aead = r.len ? get16(r.body) : -1;
            break;
        case NKE_REC_COOKIE:
            if (r.len == 0 || r.len > NKE_MAX_COOKIE_LEN) {
                snprintf(detail, RESULT_DETAIL_MAX,
                         "cookie of %u bytes (allowed 1 to %d)", r.len, NKE_MAX_COOKIE_LEN);
                return KE_MALFORMED;
            }
            if (resp->nkept < NKE_MAX_COOKIES) {
                resp->cookie[resp->nkept] = r.body;
                resp->cookie_len[resp->nkept] = r.len;
                resp->nkept++;
            }
            resp->ncookies++;
            break;
        case NKE_REC_SERVER:
            once = ONCE_SERVER;
            if (!server_name_ok(r.body, r.len))
                return malformed(detail, "Server record is not an address or host name",
                                 r.type);
            memcpy(resp->server, r.body, r.len);
            resp->server[r.len] = '\0';
            resp->has_server = true;
            break;
        case NKE_REC_PORT:
            once = ONCE_PORT;
            if (r.len != 2)
                return malformed(detail, "Port record body not 2 bytes", r.type);
            resp->port = get16(r.body);
            if (resp->port == 0)
                return malformed(detail, "Port record names port 0", r.type);
            resp->has_port = true;
            break;
        case NKE_REC_COMPLIANT_GCM_SIV:
            resp->compliant_gcm_siv = true;
            break;
        default:
            if (r.type == nke_pool_type(NKE_REC_SUPPORTED_AEADS, x)) {
                once = ONCE_SUPP_AEADS;
                if (r.len % 4)
                    return malformed(detail, "Supported Algorithm List not in pairs",
                                     r.type);
                resp->n_supported_aeads = 0;
                for (size_t i = 0; i < r.len && resp->n_supported_aeads <
                                                    RESULT_MAX_SUPPORTED; i += 4) {
                    int k = resp->n_supported_aeads++;
                    resp->supported_aeads[k].id = get16(r.body + i);
                    resp->supported_aeads[k].key_length = get16(r.body + i + 2);
                }
            } else if (r.type == nke_pool_type(NKE_REC_SUPPORTED_PROTOS, x)) {
                once = ONCE_SUPP_PROTOS;
                if (r.len % 2)
                    return malformed(detail, "Supported Next Protocol List of odd length",
                                     r.type);
                resp->n_supported_protocols = 0;
                for (size_t i = 0; i < r.len && resp->n_supported_protocols <
                                                    RESULT_MAX_SUPPORTED; i += 2)
                    resp->supported_protocols[resp->n_supported_protocols++] =
                        get16(r.body + i);
            } else if (r.type == nke_pool_type(NKE_REC_KEEP_ALIVE, x)) {
                resp->keep_alive = true;
            } else if (r.critical) {
                return malformed(detail, "unknown critical record", r.type);
            }
            break;
        }
        if (once) {
            if (seen & once)
                return malformed(detail, "duplicate record", r.type);
            seen |= once;
        }
    }
}

enum ke_status
nke_parse_response(const uint8_t *buf, size_t len, const struct nke_request *req,
                   struct nke_response *resp, char *detail)
{
    enum ke_status st;
    bool pool = req->shape != NKE_SHAPE_PLAIN;
    bool offered = false;

    memset(resp, 0, sizeof(*resp));
    resp->error = resp->warning = resp->next_protocol = resp->aead = -1;
    resp->n_supported_aeads = resp->n_supported_protocols = -1;
    detail[0] = '\0';

    if (len > NKE_MAX_MSG_LEN) {
        snprintf(detail, RESULT_DETAIL_MAX, "response of %zu bytes exceeds %d", len,
                 NKE_MAX_MSG_LEN);
        return KE_RESPONSE_TOO_LARGE;
    }
    st = walk(buf, len, req, resp, detail);
    if (st != KE_OK)
        return st;

    if (resp->error >= 0) {
        snprintf(detail, RESULT_DETAIL_MAX,
                 resp->error >= 0xF000 ? "Error record: code 0x%04X (%s)"
                                       : "Error record: code %d (%s)",
                 resp->error, nke_error_name((unsigned)resp->error));
        if (pool && resp->error == NKE_ERR_UNRECOGNIZED_CRITICAL)
            return KE_POOL_UNSUPPORTED;
        if (pool && resp->error == NKE_ERR_BAD_REQUEST)
            return KE_TOKEN_REJECTED;
        if (pool && resp->error == NKE_ERR_NO_SUCH_SERVER)
            return KE_NO_SUCH_SERVER;
        return KE_ERROR;
    }
    if (resp->warning >= 0) {
        snprintf(detail, RESULT_DETAIL_MAX, "Warning record: code %d", resp->warning);
        return KE_WARNING;
    }

    if (req->shape == NKE_SHAPE_POOL_CAPS) {
        if (resp->n_supported_aeads < 0 || resp->n_supported_protocols < 0) {
            snprintf(detail, RESULT_DETAIL_MAX,
                     "response lacks the Supported Algorithm or Next Protocol List");
            return KE_POOL_UNSUPPORTED;
        }
        return KE_OK;
    }

    if (resp->next_protocol < 0) {
        snprintf(detail, RESULT_DETAIL_MAX, "no Next Protocol (record absent or empty)");
        return KE_MALFORMED;
    }
    if (resp->next_protocol != NKE_PROTO_NTPV4) {
        snprintf(detail, RESULT_DETAIL_MAX, "Next Protocol %d is not NTPv4",
                 resp->next_protocol);
        return KE_MALFORMED;
    }
    if (resp->aead < 0) {
        /* Absent and empty differ: an empty record says "nothing acceptable". */
        size_t off = 0;
        struct nke_record r;
        bool present = false;

        while (nke_record_next(buf, len, &off, &r))
            present |= r.type == NKE_REC_AEAD;
        snprintf(detail, RESULT_DETAIL_MAX, present ? "no acceptable AEAD (empty record)"
                                                    : "no AEAD record");
        return present ? KE_AEAD_NONE : KE_MALFORMED;
    }
    for (size_t i = 0; i < req->naeads; i++)
        offered |= req->aeads[i] == resp->aead;
    if (!offered) {
        snprintf(detail, RESULT_DETAIL_MAX, "server chose AEAD %d, which we did not offer",
                 resp->aead);
        return KE_AEAD_UNEXPECTED;
    }
    if (resp->ncookies == 0) {
        snprintf(detail, RESULT_DETAIL_MAX, "no New Cookie record");
        return KE_NO_COOKIES;
    }
    return KE_OK;
}
