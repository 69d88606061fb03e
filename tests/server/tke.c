/* tke.c - NTS-KE server of ntstestd.
 *
 * Two parts.  tke_answer() is pure apart from the key export callback and
 * the cookie CSPRNG: it walks the request records (nke.h codec), decides the
 * shape, and writes the whole response, faults included.  The rest is the
 * connection life on libevent: accept, TLS handshake (bufferevent_openssl in
 * accepting mode), read up to End of Message within TSRV_KE_MAX_REQ bytes,
 * answer in one write (ke-split: many small ones), send close_notify once
 * the output has drained, and close.  A deadline of --conn-timeout ends
 * every connection, so a silent or slow client holds nothing for long. */
#include "tests/server/tke.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "monitor/aead.h"
#include "monitor/nke.h"
#include "monitor/tlsctx.h"
#include "tests/server/tcookie.h"
#include "tests/server/tsrv.h"
#include "util/log.h"

#define MAX_OFFER 16                    /* AEAD ids of a request we look at */
#define REC_UNKNOWN 0x7EEE              /* ke-unknown-critical */
#define REC_FILLER 0x7EEF               /* ke-huge: non-critical filler */
#define FILLER_LEN 4000
#define FILLER_COUNT 18                 /* 18 * 4004 bytes > 64 KiB */
#define SPLIT_CHUNK 7                   /* ke-split: bytes per TLS record */


/* ------------------------------------------------------------------ records */

struct out {
    uint8_t *buf;
    size_t cap;
    long off;                           /* -1 once something did not fit */
};

static void
put(struct out *o, uint16_t type, bool critical, const void *body, size_t len)
{
    if (o->off >= 0)
        o->off = nke_put_record(o->buf, o->cap, (size_t)o->off, type, critical, body,
                                len);
}

static void
put_u16s(struct out *o, uint16_t type, bool critical, const uint16_t *v, size_t n)
{
    uint8_t body[2 * (MAX_OFFER + TSRV_MAX_AEADS)];

    if (n > sizeof(body) / 2) {
        o->off = -1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        body[2 * i] = (uint8_t)(v[i] >> 8);
        body[2 * i + 1] = (uint8_t)v[i];
    }
    put(o, type, critical, body, 2 * n);
}

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* What a request holds, after one walk over its records. */
struct kreq {
    int n_next, n_aead;                 /* Next Protocol / AEAD records seen */
    bool ntpv4;                         /* NTPv4 offered */
    size_t nprotos;                     /* protocol ids offered */
    uint16_t aeads[MAX_OFFER];          /* the offer, first MAX_OFFER ids */
    size_t naeads;
    bool compliant;                     /* record 1024 */
    int set;                            /* pool code points: -1 none, 0 perm., 1 exp. */
    bool has_token;
    const uint8_t *token;
    size_t token_len;
    bool supp_aeads, supp_protos, fixed_key, has_uuid;
    const uint8_t *keys, *uuid;
    size_t keys_len, uuid_len;
    const char *bad;                    /* a reason for Error 1 */
    int unknown_critical;               /* type of one, or -1 */
};

static const uint16_t pool_types[] = {
    NKE_REC_KEEP_ALIVE, NKE_REC_SUPPORTED_PROTOS, NKE_REC_SUPPORTED_AEADS,
    NKE_REC_FIXED_KEY,  NKE_REC_SERVER_DENY,      NKE_REC_AUTH_TOKEN,
};

/* The permanent number of a pool record type, with its code point set in
   *set (0 permanent, 1 experimental); 0 when type is not a pool record. */
static uint16_t
pool_record(uint16_t type, int *set)
{
    for (size_t i = 0; i < sizeof(pool_types) / sizeof(pool_types[0]); i++) {
        if (type == pool_types[i]) {
            *set = 0;
            return type;
        }
        if (type == nke_pool_type(pool_types[i], true)) {
            *set = 1;
            return pool_types[i];
        }
    }
    return 0;
}

static void
bad(struct kreq *k, const char *why)
{
    if (!k->bad)
        k->bad = why;
}

static void
walk(const struct tsrv_config *cfg, const uint8_t *buf, size_t len, struct kreq *k)
{
    struct nke_record r;
    size_t off = 0;
    bool pool = tsrv_pool_capable(cfg);

    memset(k, 0, sizeof(*k));
    k->set = -1;
    k->unknown_critical = -1;
    while (nke_record_next(buf, len, &off, &r)) {
        int set = -1;
        uint16_t ptype;

        switch (r.type) {
        case NKE_REC_EOM:
            if (r.len != 0)
                bad(k, "End of Message with a body");
            return;
        case NKE_REC_NEXT_PROTO:
            if (k->n_next++ > 0)
                bad(k, "duplicate Next Protocol");
            if (r.len % 2)
                bad(k, "Next Protocol of odd length");
            for (size_t i = 0; i + 1 < r.len; i += 2)
                k->ntpv4 |= get16(r.body + i) == NKE_PROTO_NTPV4;
            k->nprotos = r.len / 2;
            continue;
        case NKE_REC_AEAD:
            if (k->n_aead++ > 0)
                bad(k, "duplicate AEAD Algorithm");
            if (r.len % 2)
                bad(k, "AEAD Algorithm of odd length");
            k->naeads = 0;
            for (size_t i = 0; i + 1 < r.len && k->naeads < MAX_OFFER; i += 2)
                k->aeads[k->naeads++] = get16(r.body + i);
            continue;
        case NKE_REC_ERROR:
        case NKE_REC_WARNING:
        case NKE_REC_COOKIE:
            bad(k, "Error, Warning or New Cookie in a request");
            continue;
        case NKE_REC_SERVER:
        case NKE_REC_PORT:
            continue;                   /* a client's preference (RFC 8915 4.1.7) */
        case NKE_REC_COMPLIANT_GCM_SIV:
            k->compliant = true;
            continue;
        default:
            break;
        }
        ptype = pool_record(r.type, &set);
        if (pool && ptype && (cfg->codepoints & (1u << set))) {
            if (k->set >= 0 && k->set != set)
                bad(k, "pool records of both code point sets");
            k->set = set;
            switch (ptype) {
            case NKE_REC_AUTH_TOKEN:
                if (k->has_token)
                    bad(k, "duplicate Authentication Token");
                k->has_token = true;
                k->token = r.body;
                k->token_len = r.len;
                break;
            case NKE_REC_SUPPORTED_AEADS:
                if (k->supp_aeads || r.len)
                    bad(k, "bad Supported Algorithm List request");
                k->supp_aeads = true;
                break;
            case NKE_REC_SUPPORTED_PROTOS:
                if (k->supp_protos || r.len)
                    bad(k, "bad Supported Next Protocol List request");
                k->supp_protos = true;
                break;
            case NKE_REC_FIXED_KEY:
                if (k->fixed_key)
                    bad(k, "duplicate Fixed Key Request");
                k->fixed_key = true;
                k->keys = r.body;
                k->keys_len = r.len;
                break;
            default:
                break;                  /* Keep Alive, Server Deny: nothing to do */
            }
            continue;
        }
        if (r.type == NKE_REC_UUID_REQUEST && cfg->monitor_key) {
            if (k->has_uuid)
                bad(k, "duplicate UUID Request");
            k->has_uuid = true;
            k->uuid = r.body;
            k->uuid_len = r.len;
            continue;
        }
        if (r.critical && k->unknown_critical < 0)
            k->unknown_critical = r.type;
    }
    bad(k, "no End of Message");
}

/* Constant-time comparison of a received token with a configured one. */
static bool
token_equal(const uint8_t *got, size_t len, const char *want)
{
    size_t wlen = strlen(want);

    return len == wlen && CRYPTO_memcmp(got, want, wlen) == 0;
}

static bool
token_accepted(const struct tsrv_config *cfg, const struct kreq *k)
{
    bool ok = false;

    if (!k->has_token)
        return false;
    for (size_t i = 0; i < cfg->ntokens; i++)
        ok |= token_equal(k->token, k->token_len, cfg->tokens[i]);
    return ok;
}

static bool
supported(const struct tsrv_config *cfg, uint16_t id)
{
    for (size_t i = 0; i < cfg->naeads; i++)
        if (cfg->aeads[i] == id)
            return true;
    return false;
}

static void
put_error(struct out *o, unsigned code)
{
    uint16_t c = (uint16_t)code;

    put_u16s(o, NKE_REC_ERROR, true, &c, 1);
}

/* Next Protocol, AEAD, Server, Port and the cookies of an answer that
   succeeds.  keys may be NULL only when aead is not one we can mint for. */
static int
put_success(const struct tsrv_config *cfg, struct out *o, uint16_t aead, bool compliant,
            const uint8_t *c2s, const uint8_t *s2c)
{
    const uint16_t proto = NKE_PROTO_NTPV4;
    size_t klen = aead_key_len(aead);
    int port = cfg->port_record;

    put_u16s(o, NKE_REC_NEXT_PROTO, true, &proto, 1);
    put_u16s(o, NKE_REC_AEAD, true, &aead, 1);
    if (cfg->misbehave & TSRV_KE_DUPLICATE_AEAD)
        put_u16s(o, NKE_REC_AEAD, true, &aead, 1);
    if (compliant)
        put(o, NKE_REC_COMPLIANT_GCM_SIV, false, NULL, 0);
    if (cfg->server_record)
        put(o, NKE_REC_SERVER, false, cfg->server_record, strlen(cfg->server_record));
    if (port < 0 && cfg->ntp_port != 123)
        port = cfg->ntp_port;
    if (port >= 0) {
        uint16_t p = (uint16_t)port;
        put_u16s(o, NKE_REC_PORT, false, &p, 1);
    }
    if ((cfg->misbehave & TSRV_KE_NO_COOKIES) || klen == 0 || !c2s)
        return 0;
    for (int i = 0; i < TSRV_COOKIES; i++) {
        uint8_t cookie[TCK_MAX_LEN];
        long n = tck_make(aead, c2s, s2c, klen, cookie);

        if (n < 0)
            return -1;
        put(o, NKE_REC_COOKIE, false, cookie, (size_t)n);
    }
    return 0;
}

/* RFC 8915 negotiation from the client's offer: plain requests and the pool
   KE's shape.  Keys come from the TLS exporter. */
static int
answer_negotiated(const struct tsrv_config *cfg, const struct kreq *k,
                  tke_export_fn *export_keys, void *arg, struct out *o, const char **what)
{
    const uint16_t proto = NKE_PROTO_NTPV4;
    uint8_t c2s[AEAD_MAX_KEY_LEN], s2c[AEAD_MAX_KEY_LEN];
    int aead = -1, rc;
    uint16_t ctx;
    bool have_keys;

    if (k->n_next == 0 || k->n_aead == 0) {
        *what = "bad request: Next Protocol or AEAD missing";
        put_error(o, NKE_ERR_BAD_REQUEST);
        return 0;
    }
    if (!k->ntpv4) {
        *what = "no NTPv4 offered: empty Next Protocol";
        put(o, NKE_REC_NEXT_PROTO, true, NULL, 0);
        return 0;
    }
    /* The client's preference order decides among the AEADs we support. */
    for (size_t i = 0; i < k->naeads && aead < 0; i++)
        if (supported(cfg, k->aeads[i]))
            aead = k->aeads[i];
    if (cfg->misbehave & TSRV_KE_AEAD_NOT_OFFERED) {
        static const uint16_t all[] = {15, 16, 17, 30};
        bool offered = true;

        aead = 1;                       /* AEAD_AES_128_GCM: nobody offers it */
        for (size_t i = 0; i < 4 && offered; i++) {
            offered = false;
            for (size_t j = 0; j < k->naeads; j++)
                offered |= k->aeads[j] == all[i];
            if (!offered)
                aead = all[i];
        }
    }
    if (aead < 0 || (cfg->misbehave & TSRV_KE_AEAD_EMPTY)) {
        *what = "no acceptable AEAD: empty AEAD record";
        put_u16s(o, NKE_REC_NEXT_PROTO, true, &proto, 1);
        put(o, NKE_REC_AEAD, true, NULL, 0);
        return 0;
    }
    /* chrony's rule for AES-128-GCM-SIV: the exporter context names 15
       unless the client asked for the compliant context (record 1024). */
    ctx = (uint16_t)aead;
    if (aead == AEAD_AES_128_GCM_SIV && !k->compliant)
        ctx = AEAD_AES_SIV_CMAC_256;
    have_keys = aead_key_len(aead) > 0;
    if (have_keys && export_keys(arg, ctx, aead_key_len(aead), c2s, s2c) != 0)
        return -1;
    *what = "keys exported, cookies sent";
    rc = put_success(cfg, o, (uint16_t)aead, aead == AEAD_AES_128_GCM_SIV && k->compliant,
                     have_keys ? c2s : NULL, s2c);
    memset(c2s, 0, sizeof(c2s));
    memset(s2c, 0, sizeof(s2c));
    return rc;
}

static int
answer_pool(const struct tsrv_config *cfg, const struct kreq *k, struct out *o,
            const char **what)
{
    bool x = k->set == 1;

    if (!token_accepted(cfg, k)) {
        *what = "pool request: token missing or not accepted";
        put_error(o, NKE_ERR_BAD_REQUEST);
        return 0;
    }
    if (k->fixed_key) {
        const uint16_t proto = NKE_PROTO_NTPV4;
        size_t klen;

        if (k->supp_aeads || k->supp_protos || k->n_next != 1 || k->nprotos != 1 ||
            !k->ntpv4 || k->n_aead != 1 || k->naeads != 1) {
            *what = "fixed key request: bad shape";
            put_error(o, NKE_ERR_BAD_REQUEST);
            return 0;
        }
        if (!supported(cfg, k->aeads[0])) {
            *what = "fixed key request: AEAD not supported";
            put_u16s(o, NKE_REC_NEXT_PROTO, true, &proto, 1);
            put(o, NKE_REC_AEAD, true, NULL, 0);
            return 0;
        }
        klen = aead_key_len(k->aeads[0]);
        if (k->keys_len != 2 * klen) {
            *what = "fixed key request: key length does not match the AEAD";
            put_error(o, NKE_ERR_BAD_REQUEST);
            return 0;
        }
        *what = "fixed key request: cookies for the pool's keys";
        if (cfg->misbehave & (TSRV_KE_AEAD_EMPTY | TSRV_KE_AEAD_NOT_OFFERED)) {
            put_u16s(o, NKE_REC_NEXT_PROTO, true, &proto, 1);
            if (cfg->misbehave & TSRV_KE_AEAD_EMPTY) {
                put(o, NKE_REC_AEAD, true, NULL, 0);
            } else {
                uint16_t other = k->aeads[0] == AEAD_AES_SIV_CMAC_256
                                     ? AEAD_AES_SIV_CMAC_512 : AEAD_AES_SIV_CMAC_256;
                put_u16s(o, NKE_REC_AEAD, true, &other, 1);
            }
            return 0;
        }
        return put_success(cfg, o, k->aeads[0], false, k->keys, k->keys + klen);
    }
    /* Capabilities: (id, key length) pairs and the protocols. */
    *what = "capabilities query";
    if (k->supp_aeads) {
        uint16_t pairs[2 * TSRV_MAX_AEADS];

        for (size_t i = 0; i < cfg->naeads; i++) {
            pairs[2 * i] = cfg->aeads[i];
            pairs[2 * i + 1] = (uint16_t)aead_key_len(cfg->aeads[i]);
        }
        put_u16s(o, nke_pool_type(NKE_REC_SUPPORTED_AEADS, x), true, pairs,
                 2 * cfg->naeads);
    }
    if (k->supp_protos) {
        const uint16_t proto = NKE_PROTO_NTPV4;

        put_u16s(o, nke_pool_type(NKE_REC_SUPPORTED_PROTOS, x), true, &proto, 1);
    }
    return 0;
}

/* Start a response: the ke-huge filler goes first, so the client meets more
   than 64 KiB before anything it could act on. */
static void
begin(const struct tsrv_config *cfg, struct out *o)
{
    if (cfg->misbehave & TSRV_KE_HUGE) {
        static const uint8_t filler[FILLER_LEN];

        for (int i = 0; i < FILLER_COUNT; i++)
            put(o, REC_FILLER, false, filler, sizeof(filler));
    }
}

/* End a response: the framing faults, then End of Message. */
static long
end(const struct tsrv_config *cfg, struct out *o)
{
    unsigned mb = cfg->misbehave;

    if (mb & TSRV_KE_WARNING) {
        const uint16_t code = 0;
        put_u16s(o, NKE_REC_WARNING, true, &code, 1);
    }
    if (mb & TSRV_KE_UNKNOWN_CRITICAL)
        put(o, REC_UNKNOWN, true, "oops", 4);
    if (!(mb & TSRV_KE_NO_EOM_CLOSE))
        put(o, NKE_REC_EOM, true, NULL, 0);
    if (mb & TSRV_KE_TRAILING)
        put(o, NKE_REC_EOM, true, NULL, 0);     /* four bytes after the end */
    return o->off;
}

long
tke_answer_error(const struct tsrv_config *cfg, unsigned code, uint8_t *out, size_t cap)
{
    struct out o = {out, cap, 0};

    begin(cfg, &o);
    put_error(&o, code);
    return end(cfg, &o);
}

long
tke_answer(const struct tsrv_config *cfg, const uint8_t *req, size_t len,
           tke_export_fn *export_keys, void *arg, uint8_t *out, size_t cap,
           const char **what)
{
    struct out o = {out, cap, 0};
    struct kreq k;
    int rc = 0;

    walk(cfg, req, len, &k);
    begin(cfg, &o);
    if (cfg->misbehave & TSRV_KE_ERROR_INTERNAL) {
        *what = "told to fail: Error 2";
        put_error(&o, NKE_ERR_INTERNAL);
    } else if (k.unknown_critical >= 0) {
        *what = "unrecognised critical record: Error 0";
        put_error(&o, NKE_ERR_UNRECOGNIZED_CRITICAL);
    } else if (k.bad) {
        *what = k.bad;
        put_error(&o, NKE_ERR_BAD_REQUEST);
    } else if (k.has_uuid) {
        /* We are the pool's KE: the monitor key, then the time source. */
        if (!k.has_token || !token_equal(k.token, k.token_len, cfg->monitor_key)) {
            *what = "pool KE request: monitor key missing or wrong";
            put_error(&o, NKE_ERR_BAD_REQUEST);
        } else if (!cfg->uuid || !token_equal(k.uuid, k.uuid_len, cfg->uuid)) {
            *what = "pool KE request: no such server";
            put_error(&o, NKE_ERR_NO_SUCH_SERVER);
        } else {
            rc = answer_negotiated(cfg, &k, export_keys, arg, &o, what);
        }
    } else if (k.set >= 0 && (k.fixed_key || k.supp_aeads || k.supp_protos)) {
        rc = answer_pool(cfg, &k, &o, what);
    } else {
        rc = answer_negotiated(cfg, &k, export_keys, arg, &o, what);
    }
    if (rc != 0)
        return -1;
    return end(cfg, &o);
}

/* -------------------------------------------------------------- connections */

enum conn_state { C_TLS, C_READ, C_SILENT, C_WRITE, C_LINGER, C_RAW };

struct tke_conn {
    struct tke_server *srv;
    struct tke_conn *prev, *next;
    enum conn_state state;
    struct bufferevent *bev;            /* owns the socket and the SSL */
    evutil_socket_t fd;                 /* tls-silent: the raw socket, else -1 */
    struct event *ev_raw;               /* tls-silent: reads and drops */
    struct event *ev_deadline;
    struct event *ev_split;             /* ke-split: the next chunk */
    uint8_t *resp;
    size_t resp_len, resp_off;
    bool linger;                        /* unread request bytes: drain before closing */
    char peer[INET6_ADDRSTRLEN + 8];
};

struct tke_server {
    struct event_base *base;
    const struct tsrv_config *cfg;
    SSL_CTX *ctx;
    struct evconnlistener *lis[TSRV_MAX_LISTEN];
    size_t nlis;
    struct tke_conn *conns;
    size_t nconns;
};

static void
conn_free(struct tke_conn *c)
{
    struct tke_server *s = c->srv;

    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    if (c->ev_deadline)
        event_free(c->ev_deadline);
    if (c->ev_split)
        event_free(c->ev_split);
    if (c->ev_raw)
        event_free(c->ev_raw);
    if (c->bev)
        bufferevent_free(c->bev);       /* closes the socket, frees the SSL */
    if (c->fd >= 0)
        close(c->fd);
    if (c->resp) {
        OPENSSL_cleanse(c->resp, c->resp_len);
        free(c->resp);
    }
    free(c);
}

/* The polite end: close_notify, then close.  The output has drained, so the
   alert goes straight to the socket. */
static void
conn_close(struct tke_conn *c)
{
    SSL *ssl = c->bev ? bufferevent_openssl_get_ssl(c->bev) : NULL;

    if (ssl && SSL_is_init_finished(ssl))
        (void)SSL_shutdown(ssl);
    conn_free(c);
}

/* The keys of RFC 8915 5.1 from this session: the same exporter call as the
   client's (tlsctx.c), whose output real peers have checked. */
static int
export_ssl(void *arg, uint16_t aead_ctx, size_t key_len, uint8_t *c2s, uint8_t *s2c)
{
    return tlsctx_export_keys(arg, NKE_PROTO_NTPV4, aead_ctx, key_len, c2s, s2c);
}

static void
send_chunk(struct tke_conn *c)
{
    size_t n = c->resp_len - c->resp_off;

    if ((c->srv->cfg->misbehave & TSRV_KE_SPLIT) && n > SPLIT_CHUNK)
        n = SPLIT_CHUNK;
    if (bufferevent_write(c->bev, c->resp + c->resp_off, n) != 0) {
        log_warn("ke %s: cannot queue the response", c->peer);
        conn_free(c);
        return;
    }
    c->resp_off += n;
}

static void
on_split(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    send_chunk(arg);
}

/* Queue the response held in c->resp and close once it has gone out. */
static void
respond(struct tke_conn *c)
{
    c->state = C_WRITE;
    c->resp_off = 0;
    bufferevent_disable(c->bev, EV_READ);
    send_chunk(c);
}

static void
answer(struct tke_conn *c, const uint8_t *req, size_t len, bool too_long)
{
    const struct tsrv_config *cfg = c->srv->cfg;
    const char *what = "";
    long n;

    if (cfg->misbehave & TSRV_KE_SILENT) {
        log_info("ke %s: request of %zu bytes: told to stay silent", c->peer, len);
        c->state = C_SILENT;
        return;
    }
    c->resp = malloc(TKE_MAX_RESP);
    if (!c->resp) {
        log_err("ke %s: out of memory", c->peer);
        conn_free(c);
        return;
    }
    if (too_long) {
        /* Closing with unread bytes would reset the connection and could
           destroy the answer before the client reads it. */
        c->linger = true;
        what = "request too long or bytes after End of Message";
        n = tke_answer_error(cfg, NKE_ERR_BAD_REQUEST, c->resp, TKE_MAX_RESP);
    } else {
        n = tke_answer(cfg, req, len, export_ssl, bufferevent_openssl_get_ssl(c->bev),
                       c->resp, TKE_MAX_RESP, &what);
        if (n < 0) {
            what = "internal error";
            n = tke_answer_error(cfg, NKE_ERR_INTERNAL, c->resp, TKE_MAX_RESP);
        }
    }
    if (n < 0) {
        log_err("ke %s: cannot build a response", c->peer);
        conn_free(c);
        return;
    }
    c->resp_len = (size_t)n;
    log_info("ke %s: request of %zu bytes: %s; response of %ld bytes", c->peer, len, what,
             n);
    respond(c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    struct tke_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in), end_off;
    const uint8_t *buf;

    if (c->state != C_READ) {
        evbuffer_drain(in, len);        /* silent: read and forget */
        return;
    }
    buf = evbuffer_pullup(in, -1);
    if (!buf && len) {
        conn_free(c);
        return;
    }
    /* One request per connection: bytes after its end make it a bad one.
       A TLS record may bring more than the watermark, so check the size of
       a complete message too. */
    if (nke_message_end(buf, len, &end_off))
        answer(c, buf, end_off, end_off != len || end_off > TSRV_KE_MAX_REQ);
    else if (len > TSRV_KE_MAX_REQ)
        answer(c, buf, len, true);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
    struct tke_conn *c = arg;
    struct timeval gap = {0, 2000};

    (void)bev;
    if (c->state != C_WRITE)
        return;
    if (c->resp_off < c->resp_len) {
        evtimer_add(c->ev_split, &gap);
        return;
    }
    if (c->linger) {
        log_debug("ke %s: response sent, draining the rest of the request", c->peer);
        c->state = C_LINGER;
        bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
        bufferevent_enable(c->bev, EV_READ);
        return;
    }
    log_debug("ke %s: response sent, closing", c->peer);
    conn_close(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
    struct tke_conn *c = arg;

    if (what & BEV_EVENT_CONNECTED) {
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        const unsigned char *alpn = NULL;
        unsigned alpn_len = 0;

        SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
        if (alpn_len == 0) {
            /* The ALPN callback refuses other protocols; a client that sent
               no ALPN at all gets here. */
            log_info("ke %s: no ALPN, closing", c->peer);
            conn_close(c);
            return;
        }
        log_debug("ke %s: %s %s", c->peer, SSL_get_version(ssl),
                  SSL_get_cipher_name(ssl));
        c->state = C_READ;
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        char ebuf[160] = "";

        if (e)
            ERR_error_string_n(e, ebuf, sizeof(ebuf));
        while (bufferevent_get_openssl_error(bev))
            ;
        log_info("ke %s: %s in state %d%s%s", c->peer,
                 (what & BEV_EVENT_EOF) ? "closed by the client" : "connection error",
                 (int)c->state, e ? ": " : "", ebuf);
        conn_free(c);
    }
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct tke_conn *c = arg;

    (void)fd;
    (void)what;
    log_info("ke %s: closed after %d s (state %d)", c->peer, c->srv->cfg->ke_timeout_s,
             (int)c->state);
    conn_free(c);
}

/* tls-silent: read and drop whatever comes, until the client gives up. */
static void
on_raw(evutil_socket_t fd, short what, void *arg)
{
    struct tke_conn *c = arg;
    uint8_t buf[2048];
    ssize_t n;

    (void)what;
    n = recv(fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        log_info("ke %s: client gave up on the silent TCP connection", c->peer);
        conn_free(c);
    }
}

static void
peer_name(const struct sockaddr *sa, char *out, size_t cap)
{
    char a[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
        port = ntohs(s6->sin6_port);
        snprintf(out, cap, "[%s]:%u", a, port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
        port = ntohs(s4->sin_port);
        snprintf(out, cap, "%s:%u", a, port);
    }
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
          void *arg)
{
    struct tke_server *s = arg;
    struct tke_conn *c;
    struct timeval limit = {s->cfg->ke_timeout_s, 0};
    int one = 1;
    SSL *ssl;

    (void)l;
    (void)salen;
    if (s->nconns >= (size_t)s->cfg->ke_max_conns || !(c = calloc(1, sizeof(*c)))) {
        log_warn("ke: too many connections, refusing one");
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = -1;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    peer_name(sa, c->peer, sizeof(c->peer));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->ev_deadline = evtimer_new(s->base, on_deadline, c);
    c->ev_split = evtimer_new(s->base, on_split, c);
    if (!c->ev_deadline || !c->ev_split) {
        close(fd);
        conn_free(c);
        return;
    }
    evtimer_add(c->ev_deadline, &limit);
    log_debug("ke %s: accepted", c->peer);

    if (s->cfg->misbehave & TSRV_TLS_SILENT) {
        c->state = C_RAW;
        c->fd = fd;
        c->ev_raw = event_new(s->base, fd, EV_READ | EV_PERSIST, on_raw, c);
        if (!c->ev_raw || event_add(c->ev_raw, NULL) != 0)
            conn_free(c);
        return;
    }
    c->state = C_TLS;
    ssl = SSL_new(s->ctx);
    if (!ssl) {
        close(fd);
        conn_free(c);
        return;
    }
    /* From here the bufferevent owns fd and ssl, even if the call fails. */
    c->bev = bufferevent_openssl_socket_new(
        s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!c->bev) {
        conn_free(c);
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    bufferevent_setwatermark(c->bev, EV_READ, 0, TSRV_KE_MAX_REQ + 1);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ALPN: "ntske/1" or nothing (RFC 8915 4: the server must not proceed). */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
            const unsigned char *in, unsigned int inlen, void *arg)
{
    static const char want[] = "ntske/1";
    unsigned i = 0;

    (void)ssl;
    (void)arg;
    while (i < inlen) {
        unsigned n = in[i];

        if (i + 1 + n > inlen)
            break;
        if (n == sizeof(want) - 1 && memcmp(in + i + 1, want, n) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static void
ssl_error(char *err, size_t errlen, const char *what)
{
    char e[160] = "unknown error";
    unsigned long code = ERR_get_error();

    if (code)
        ERR_error_string_n(code, e, sizeof(e));
    ERR_clear_error();
    snprintf(err, errlen, "%s: %s", what, e);
}

struct tke_server *
tke_new(struct event_base *base, const struct tsrv_config *cfg, const char *cert,
        const char *key, const int *fds, size_t nfds, char *err, size_t errlen)
{
    struct tke_server *s = calloc(1, sizeof(*s));
    size_t i = 0;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->base = base;
    s->cfg = cfg;
    s->ctx = SSL_CTX_new(TLS_server_method());
    if (!s->ctx) {
        ssl_error(err, errlen, "SSL_CTX_new");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(s->ctx, TLS1_3_VERSION);
    SSL_CTX_set_num_tickets(s->ctx, 0);
    SSL_CTX_set_alpn_select_cb(s->ctx, alpn_select, NULL);
    if (SSL_CTX_use_certificate_chain_file(s->ctx, cert) != 1) {
        ssl_error(err, errlen, cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(s->ctx) != 1) {
        ssl_error(err, errlen, key);
        goto fail;
    }
    for (i = 0; i < nfds && i < TSRV_MAX_LISTEN; i++) {
        s->lis[i] = evconnlistener_new(base, on_accept, s,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                       fds[i]);
        if (!s->lis[i]) {
            snprintf(err, errlen, "evconnlistener_new failed");
            close(fds[i]);
            i++;
            goto fail;
        }
        s->nlis++;
    }
    return s;
fail:
    for (; i < nfds; i++)
        close(fds[i]);
    tke_free(s);
    return NULL;
}

void
tke_free(struct tke_server *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_free(s->conns);
    for (size_t i = 0; i < s->nlis; i++)
        evconnlistener_free(s->lis[i]);
    if (s->ctx)
        SSL_CTX_free(s->ctx);
    free(s);
}
