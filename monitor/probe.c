/* probe.c - one probe of one address: the state machine that chains the key
 * exchange(s) and the two NTP exchanges and fills one struct probe_result.
 *
 * It owns every handle of the probe (the KE in flight, the NTP exchange in
 * flight, the DNS request for a Server record) and the secrets (keys,
 * cookies), which it wipes before freeing.  Judging the result is the
 * scorer's job, not this module's.
 *
 * Memory: thousands of probes may wait in a key exchange at once, so the
 * struct probe_result (a few KB) and the secrets are allocated only when the
 * first key exchange ends well; a probe that fails before that delivers a
 * result built on the stack.  Of the key exchange's cookies (up to 8) the
 * secrets keep the two the NTP exchanges can use: #1's and the fallback of
 * #2. */
#include "monitor/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "monitor/aead.h"
#include "monitor/ke.h"
#include "monitor/nke.h"
#include "monitor/ntpx.h"
#include "monitor/tlsctx.h"

enum probe_state { ST_KE_CAPS, ST_KE, ST_NTP1, ST_NTP2, ST_DONE };

#define PROBE_COOKIES 2             /* cookies kept for the NTP exchanges */

/* What the NTP exchanges need of the key exchange's secrets. */
struct ntp_secrets {
    int aead;
    size_t key_len;
    uint8_t c2s[NKE_MAX_KEY_LEN], s2c[NKE_MAX_KEY_LEN];
    int ncookies;
    uint8_t cookie[PROBE_COOKIES][NKE_MAX_COOKIE_LEN];
    uint16_t cookie_len[PROBE_COOKIES];
    char ntp_server[NKE_MAX_SERVER_LEN + 1];
    uint16_t ntp_port;
};

struct probe {
    enum probe_state state;
    struct event_base *base;
    struct evdns_base *dns;
    struct tlsctx *tls;
    struct probe_target t;
    char *host;                     /* t.host points here */
    char *token;                    /* NULL: none */
    char *uuid;                     /* NULL: none */
    struct sockaddr_storage addr;
    struct ke *ke;
    struct ntpx *ntpx;
    struct ntpx_sock udp;           /* the NTP exchanges' socket */
    uint8_t ntp_rnd[2 * NTPX_RANDOM_LEN + 2]; /* both requests' random fields,
                                       then each exchange's cookie count */
    bool have_ntp_rnd;
    struct event *ev_deadline;      /* also delivers a failure to start */
    probe_done_fn *done;
    void *arg;
    int64_t start_time;             /* wall clock at the start */
    double start_frac;
    struct probe_result *res;       /* NULL until result_get() */
    struct ntp_secrets *sec;        /* keys and cookies for the NTP phase */
};

/* The facts known from the start, for a result. */
static void
res_header(const struct probe *p, struct probe_result *r)
{
    result_probe_init(r);
    r->kind = p->t.kind;
    r->port = p->t.port;
    snprintf(r->host, sizeof(r->host), "%s", p->host);
    r->start_time = p->start_time;
    r->start_time_frac = p->start_frac;
    if (p->addr.ss_family == AF_INET6) {
        r->family = 6;
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&p->addr)->sin6_addr,
                  r->address, sizeof(r->address));
    } else {
        r->family = 4;
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&p->addr)->sin_addr, r->address,
                  sizeof(r->address));
    }
}

/* The result kept across callbacks, allocated on first need; NULL when out
   of memory. */
static struct probe_result *
result_get(struct probe *p)
{
    if (!p->res) {
        p->res = malloc(sizeof(*p->res));
        if (p->res)
            res_header(p, p->res);
    }
    return p->res;
}

/* Keys, cookies and the token leave no copy in freed memory; explicit_bzero
   survives the optimiser, which drops a memset before free().  Then free
   the probe. */
static void
destroy(struct probe *p)
{
    explicit_bzero(p->ntp_rnd, sizeof(p->ntp_rnd));
    if (p->sec)
        explicit_bzero(p->sec, sizeof(*p->sec));
    if (p->token)
        explicit_bzero(p->token, strlen(p->token));
    free(p->sec);
    free(p->token);
    free(p->uuid);
    free(p->host);
    free(p->res);
    free(p);
}

/* Release every handle the probe holds; the struct itself stays. */
static void
release(struct probe *p)
{
    p->state = ST_DONE;
    ke_cancel(p->ke);
    ntpx_cancel(p->ntpx);
    p->ke = NULL;
    p->ntpx = NULL;
    ntpx_sock_close(&p->udp);
    if (p->ev_deadline)
        event_free(p->ev_deadline);
    p->ev_deadline = NULL;
}

/* End the probe with res (p->res, or one on the caller's stack). */
static void
deliver(struct probe *p, struct probe_result *res)
{
    if (p->state == ST_DONE)
        return;
    release(p);
    /* A whole probe always reports both exchanges; the ones never started
       stay not_attempted. */
    if (!p->t.ke_only)
        res->n_ntp = RESULT_NTP_EXCHANGES;
    p->done(res, p->arg);
    destroy(p);
}

/* End the probe with what p->res holds (or the facts from the start when
   nothing was kept), its key exchange replaced by ke unless ke is NULL. */
static void
finish(struct probe *p, const struct ke_result *ke)
{
    struct probe_result local, *res = p->res;

    if (p->state == ST_DONE)
        return;
    if (!res) {
        res = &local;
        res_header(p, res);
    }
    if (ke)
        res->ke = *ke;
    deliver(p, res);
}

/* probe_start could not start the key exchange. */
static void
finish_not_started(struct probe *p)
{
    struct ke_result ke;

    result_ke_init(&ke);
    ke.status = KE_LOCAL_ERROR;
    result_detail(ke.detail, "cannot start the key exchange");
    finish(p, &ke);
}

static void on_ke(const struct ke_result *r, const struct ke_secrets *sec, void *arg);

static int
start_ke(struct probe *p, enum nke_shape shape, const uint16_t *aeads, size_t naeads)
{
    struct nke_request req;
    struct ke_target kt;
    uint8_t c2s[NKE_MAX_KEY_LEN], s2c[NKE_MAX_KEY_LEN]; /* pool: keys we make */

    memset(&req, 0, sizeof(req));
    req.shape = shape;
    req.experimental = p->t.experimental;
    req.naeads = naeads;
    memcpy(req.aeads, aeads, naeads * sizeof(aeads[0]));
    if (shape != NKE_SHAPE_PLAIN)
        req.token = p->token ? p->token : "";
    if (shape == NKE_SHAPE_POOL_KE)
        req.uuid = p->uuid ? p->uuid : "";
    if (shape == NKE_SHAPE_POOL_FIXED_KEY) {
        req.key_len = aead_key_len(aeads[0]);
        if (tlsctx_random(c2s, req.key_len) != 0 || tlsctx_random(s2c, req.key_len) != 0) {
            explicit_bzero(c2s, sizeof(c2s));
            explicit_bzero(s2c, sizeof(s2c));
            return -1;
        }
        req.c2s = c2s;
        req.s2c = s2c;
    }
    kt.host = p->host;
    kt.addr = (const struct sockaddr *)&p->addr;
    kt.addrlen = p->t.addrlen;
    kt.req = &req;
    kt.timeout_ms = p->t.ke_timeout_ms;
    /* ke_start copies the keys it will return with the secrets. */
    p->ke = ke_start(p->base, p->tls, &kt, on_ke, p);
    explicit_bzero(c2s, sizeof(c2s));
    explicit_bzero(s2c, sizeof(s2c));
    return p->ke ? 0 : -1;
}

static void
on_ntp(const struct ntp_result *r, const uint8_t *cookie, size_t cookie_len, void *arg);

static void
start_ntp(struct probe *p)
{
    int i = p->state == ST_NTP1 ? 0 : 1;
    struct ntpx_target nt;
    int span = p->t.cookies_max - p->t.cookies_min + 1;
    uint8_t rnd = 0;
    uint8_t cookie[NKE_MAX_COOKIE_LEN];

    /* The randomness of both exchanges in one draw (each call to the DRBG
       locks it and asks the kernel for our pid). */
    if (i == 0)
        p->have_ntp_rnd = tlsctx_random(p->ntp_rnd, sizeof(p->ntp_rnd)) == 0;
    if (p->have_ntp_rnd)
        rnd = p->ntp_rnd[2 * NTPX_RANDOM_LEN + i];
    else if (span > 1 && tlsctx_random(&rnd, 1) != 0)
        rnd = 0;
    struct ntp_secrets *sec = p->sec;

    memset(&nt, 0, sizeof(nt));
    nt.server = sec->ntp_server;
    nt.port = sec->ntp_port;
    nt.family = p->res->family;
    nt.aead = sec->aead;
    nt.key_len = sec->key_len;
    nt.c2s = sec->c2s;
    nt.s2c = sec->s2c;
    if (i == 0 && p->t.corrupt_cookie && sec->cookie_len[0] > 0)
        sec->cookie[0][sec->cookie_len[0] / 2] ^= 0x5A;
    /* Take the cookie out before the list shifts under it. */
    memcpy(cookie, sec->cookie[0], sec->cookie_len[0]);
    nt.cookie = cookie;
    nt.cookie_len = sec->cookie_len[0];
    nt.cookies_wanted = p->t.cookies_min + (span > 1 ? rnd % span : 0);
    nt.timeout_ms = p->t.ntp_timeout_ms;
    nt.sock = &p->udp;
    nt.random = p->have_ntp_rnd ? p->ntp_rnd + i * NTPX_RANDOM_LEN : NULL;
    p->res->n_ntp = i + 1;
    /* The cookie is spent: shift the rest down (RFC 8915 5.7: never reuse). */
    memmove(&sec->cookie[0], &sec->cookie[1], sizeof(sec->cookie[0]) * (PROBE_COOKIES - 1));
    memmove(&sec->cookie_len[0], &sec->cookie_len[1],
            sizeof(sec->cookie_len[0]) * (PROBE_COOKIES - 1));
    sec->ncookies--;
    p->ntpx = ntpx_start(p->base, p->dns, &nt, on_ntp, p);
    explicit_bzero(cookie, sizeof(cookie));
    if (p->have_ntp_rnd)            /* ntpx_start copied its share */
        explicit_bzero(p->ntp_rnd + i * NTPX_RANDOM_LEN, NTPX_RANDOM_LEN);
    if (!p->ntpx) {
        result_detail(p->res->ntp[i].detail, "out of memory");
        p->res->ntp[i].status = NTP_LOCAL_ERROR;
        finish(p, NULL);
    }
}

static void
on_ntp(const struct ntp_result *r, const uint8_t *cookie, size_t cookie_len, void *arg)
{
    struct probe *p = arg;
    int i = p->state == ST_NTP1 ? 0 : 1;

    struct ntp_secrets *sec = p->sec;

    p->ntpx = NULL;
    p->res->ntp[i] = *r;
    if (p->state == ST_NTP1 && r->status == NTP_OK) {
        /* #2 uses a cookie returned by #1, proving the server's fresh cookies
           work; without one, fall back to the next key-exchange cookie. */
        if (cookie_len > 0 && cookie_len <= NKE_MAX_COOKIE_LEN) {
            memmove(&sec->cookie[1], &sec->cookie[0],
                    sizeof(sec->cookie[0]) * (PROBE_COOKIES - 1));
            memmove(&sec->cookie_len[1], &sec->cookie_len[0],
                    sizeof(sec->cookie_len[0]) * (PROBE_COOKIES - 1));
            memcpy(sec->cookie[0], cookie, cookie_len);
            sec->cookie_len[0] = (uint16_t)cookie_len;
            if (sec->ncookies < PROBE_COOKIES)
                sec->ncookies++;
        }
        if (sec->ncookies > 0) {
            p->state = ST_NTP2;
            start_ntp(p);
            return;
        }
    }
    finish(p, NULL);
}

/* Pick the AEAD for a fixed-key request: our first preference that the
   server lists with the key length we expect. */
static int
pick_aead(const struct probe *p, const struct ke_result *caps)
{
    for (size_t i = 0; i < p->t.naeads; i++) {
        for (int j = 0; j < caps->n_supported_aeads; j++) {
            if (caps->supported_aeads[j].id == p->t.aeads[i] &&
                caps->supported_aeads[j].key_length == aead_key_len(p->t.aeads[i]))
                return p->t.aeads[i];
        }
    }
    return -1;
}

/* The keys, the first PROBE_COOKIES cookies and the NTP server of sec. */
static void
keep_secrets(struct ntp_secrets *k, const struct ke_secrets *sec)
{
    memset(k, 0, sizeof(*k));
    k->aead = sec->aead;
    k->key_len = sec->key_len;
    memcpy(k->c2s, sec->c2s, sizeof(k->c2s));
    memcpy(k->s2c, sec->s2c, sizeof(k->s2c));
    k->ncookies = sec->ncookies < PROBE_COOKIES ? sec->ncookies : PROBE_COOKIES;
    for (int i = 0; i < k->ncookies; i++) {
        memcpy(k->cookie[i], sec->cookie[i], sec->cookie_len[i]);
        k->cookie_len[i] = sec->cookie_len[i];
    }
    memcpy(k->ntp_server, sec->ntp_server, sizeof(k->ntp_server));
    k->ntp_port = sec->ntp_port;
}

static void
on_ke(const struct ke_result *r, const struct ke_secrets *sec, void *arg)
{
    struct probe *p = arg;
    struct ke_result ke = *r;

    p->ke = NULL;
    if (p->state == ST_KE_CAPS) {
        int aead;
        uint16_t a;

        if (r->status != KE_OK) {
            finish(p, &ke);
            return;
        }
        aead = pick_aead(p, r);
        if (aead < 0) {
            ke.status = KE_AEAD_NONE;
            result_detail(ke.detail, "the server supports none of the AEADs we use");
            finish(p, &ke);
            return;
        }
        /* The capabilities are kept for the result of the second exchange. */
        if (!result_get(p)) {
            ke.status = KE_LOCAL_ERROR;
            result_detail(ke.detail, "out of memory");
            finish(p, &ke);
            return;
        }
        p->res->ke = ke;
        a = (uint16_t)aead;
        p->state = ST_KE;
        if (start_ke(p, NKE_SHAPE_POOL_FIXED_KEY, &a, 1) != 0) {
            p->res->ke.status = KE_LOCAL_ERROR;
            result_detail(p->res->ke.detail, "cannot start the fixed-key exchange");
            finish(p, NULL);
        }
        return;
    }
    if (p->t.kind == PROBE_KIND_POOL && p->res) {
        /* Keep the capabilities of the first exchange in the pool kind. */
        const struct ke_result *caps = &p->res->ke;

        ke.n_supported_aeads = caps->n_supported_aeads;
        memcpy(ke.supported_aeads, caps->supported_aeads, sizeof(caps->supported_aeads));
        ke.n_supported_protocols = caps->n_supported_protocols;
        memcpy(ke.supported_protocols, caps->supported_protocols,
               sizeof(caps->supported_protocols));
        ke.duration += caps->duration;
    }
    if (r->status != KE_OK || p->t.ke_only) {
        finish(p, &ke);
        return;
    }
    if (!result_get(p) || !(p->sec = malloc(sizeof(*p->sec)))) {
        struct probe_result local;

        res_header(p, &local);
        local.ke = ke;
        local.n_ntp = 1;
        local.ntp[0].status = NTP_LOCAL_ERROR;
        result_detail(local.ntp[0].detail, "out of memory");
        deliver(p, &local);
        return;
    }
    p->res->ke = ke;
    keep_secrets(p->sec, sec);
    p->state = ST_NTP1;
    start_ntp(p);
}

/* The backstop of STYLE.md: every phase has its own limit, and this one
   bounds the whole probe whatever happens to them. */
static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct probe *p = arg;

    (void)fd;
    (void)what;
    if (p->ke) {
        /* The pool kind keeps the capabilities of its first exchange. */
        struct ke_result ke;

        if (p->res)
            ke = p->res->ke;
        else
            result_ke_init(&ke);
        ke_cancel(p->ke);
        p->ke = NULL;
        ke.status = KE_TIMEOUT;
        result_detail(ke.detail, "probe deadline of %d ms passed", p->t.deadline_ms);
        finish(p, &ke);
        return;
    } else if (p->ntpx) {
        int i = p->state == ST_NTP1 ? 0 : 1;

        ntpx_cancel(p->ntpx);
        p->ntpx = NULL;
        p->res->ntp[i].status = NTP_TIMEOUT;
        result_detail(p->res->ntp[i].detail, "probe deadline of %d ms passed",
                      p->t.deadline_ms);
    } else if (!p->res) {
        /* Neither exchange in flight and nothing kept: the start failed. */
        finish_not_started(p);
        return;
    }
    finish(p, NULL);
}

struct probe *
probe_start(struct event_base *base, struct evdns_base *dns, struct tlsctx *tls,
            const struct probe_target *t, probe_done_fn *done, void *arg)
{
    struct probe *p;
    struct timespec now;
    int rc;

    if (t->addrlen > sizeof(p->addr) || t->naeads < 1 || t->naeads > PROBE_MAX_AEADS)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->base = base;
    p->dns = dns;
    p->tls = tls;
    ntpx_sock_init(&p->udp);
    p->t = *t;
    p->done = done;
    p->arg = arg;
    /* Copies as long as the fixed buffers of the result and the records. */
    p->host = strndup(t->host, RESULT_NAME_MAX - 1);
    p->token = t->token && t->token[0] ? strndup(t->token, NKE_MAX_TOKEN_LEN) : NULL;
    p->uuid = t->uuid && t->uuid[0] ? strndup(t->uuid, NKE_MAX_UUID_LEN) : NULL;
    if (!p->host || (t->token && t->token[0] && !p->token) ||
        (t->uuid && t->uuid[0] && !p->uuid)) {
        destroy(p);
        return NULL;
    }
    p->t.host = p->host;
    p->t.token = NULL;
    p->t.uuid = NULL;
    if (p->t.cookies_min < 1)
        p->t.cookies_min = 1;
    if (p->t.cookies_max < p->t.cookies_min)
        p->t.cookies_max = p->t.cookies_min;
    if (p->t.cookies_max > NKE_MAX_COOKIES)
        p->t.cookies_max = NKE_MAX_COOKIES;
    if (p->t.deadline_ms <= 0) {
        int kes = t->kind == PROBE_KIND_POOL ? 2 : 1;
        p->t.deadline_ms = kes * t->ke_timeout_ms +
                           (t->ke_only ? 0 : 2 * (t->ntp_timeout_ms + NTPX_DNS_TIMEOUT_MS)) +
                           1000;
    }
    memcpy(&p->addr, t->addr, t->addrlen);
    p->t.addr = (const struct sockaddr *)&p->addr;
    p->ev_deadline = evtimer_new(base, on_deadline, p);
    if (!p->ev_deadline) {
        destroy(p);
        return NULL;
    }
    {
        struct timeval tv = {p->t.deadline_ms / 1000, (p->t.deadline_ms % 1000) * 1000};
        evtimer_add(p->ev_deadline, &tv);
    }

    clock_gettime(CLOCK_REALTIME, &now);
    p->start_time = now.tv_sec;
    p->start_frac = (double)now.tv_nsec / 1e9;

    if (t->kind == PROBE_KIND_POOL) {
        p->state = ST_KE_CAPS;
        rc = start_ke(p, NKE_SHAPE_POOL_CAPS, t->aeads, t->naeads);
    } else if (p->uuid) {
        p->state = ST_KE;
        rc = start_ke(p, NKE_SHAPE_POOL_KE, t->aeads, t->naeads);
    } else {
        p->state = ST_KE;
        rc = start_ke(p, NKE_SHAPE_PLAIN, t->aeads, t->naeads);
    }
    if (rc != 0)    /* on_deadline finds nothing in flight: finish_not_started */
        event_active(p->ev_deadline, EV_TIMEOUT, 0);
    return p;
}

void
probe_cancel(struct probe *p)
{
    if (!p || p->state == ST_DONE)
        return;
    release(p);
    destroy(p);
}
