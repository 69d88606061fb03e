/* probe.c - one probe of one address: the state machine that chains the key
 * exchange(s) and the two NTP exchanges and fills one struct probe_result.
 *
 * It owns every handle of the probe (the KE in flight, the NTP exchange in
 * flight, the DNS request for a Server record) and the secrets (keys,
 * cookies), which it wipes before freeing.  Judging the result is the
 * scorer's job, not this module's. */
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

struct probe {
    enum probe_state state;
    struct event_base *base;
    struct evdns_base *dns;
    struct tlsctx *tls;
    struct probe_target t;
    char host[RESULT_NAME_MAX];
    char token[NKE_MAX_TOKEN_LEN + 1];
    char uuid[NKE_MAX_UUID_LEN + 1];
    struct sockaddr_storage addr;
    struct ke *ke;
    struct ntpx *ntpx;
    struct event *ev_later;
    struct event *ev_deadline;
    probe_done_fn *done;
    void *arg;
    struct probe_result res;
    struct ke_secrets sec;          /* keys and cookies for the NTP phase */
    uint8_t c2s[NKE_MAX_KEY_LEN], s2c[NKE_MAX_KEY_LEN]; /* pool: keys we made */
};

/* Keys, cookies and the token leave no copy in freed memory; explicit_bzero
   survives the optimiser, which drops a memset before free(). */
static void
wipe(struct probe *p)
{
    explicit_bzero(&p->sec, sizeof(p->sec));
    explicit_bzero(p->c2s, sizeof(p->c2s));
    explicit_bzero(p->s2c, sizeof(p->s2c));
    explicit_bzero(p->token, sizeof(p->token));
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
    if (p->ev_later)
        event_free(p->ev_later);
    if (p->ev_deadline)
        event_free(p->ev_deadline);
    p->ev_later = p->ev_deadline = NULL;
}

static void
finish(struct probe *p)
{
    if (p->state == ST_DONE)
        return;
    release(p);
    /* A whole probe always reports both exchanges; the ones never started
       stay not_attempted. */
    if (!p->t.ke_only)
        p->res.n_ntp = RESULT_NTP_EXCHANGES;
    p->done(&p->res, p->arg);
    wipe(p);
    free(p);
}

static void on_ke(const struct ke_result *r, const struct ke_secrets *sec, void *arg);

static int
start_ke(struct probe *p, enum nke_shape shape, const uint16_t *aeads, size_t naeads)
{
    struct nke_request req;
    struct ke_target kt;

    memset(&req, 0, sizeof(req));
    req.shape = shape;
    req.experimental = p->t.experimental;
    req.naeads = naeads;
    memcpy(req.aeads, aeads, naeads * sizeof(aeads[0]));
    if (shape != NKE_SHAPE_PLAIN)
        req.token = p->token;
    if (shape == NKE_SHAPE_POOL_KE)
        req.uuid = p->uuid;
    if (shape == NKE_SHAPE_POOL_FIXED_KEY) {
        req.key_len = aead_key_len(aeads[0]);
        if (tlsctx_random(p->c2s, req.key_len) != 0 ||
            tlsctx_random(p->s2c, req.key_len) != 0)
            return -1;
        req.c2s = p->c2s;
        req.s2c = p->s2c;
    }
    kt.host = p->host;
    kt.addr = (const struct sockaddr *)&p->addr;
    kt.addrlen = p->t.addrlen;
    kt.req = &req;
    kt.timeout_ms = p->t.ke_timeout_ms;
    p->ke = ke_start(p->base, p->tls, &kt, on_ke, p);
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

    if (tlsctx_random(&rnd, 1) != 0)
        rnd = 0;
    memset(&nt, 0, sizeof(nt));
    nt.server = p->sec.ntp_server;
    nt.port = p->sec.ntp_port;
    nt.family = p->res.family;
    nt.aead = p->sec.aead;
    nt.key_len = p->sec.key_len;
    nt.c2s = p->sec.c2s;
    nt.s2c = p->sec.s2c;
    if (i == 0 && p->t.corrupt_cookie && p->sec.cookie_len[0] > 0)
        p->sec.cookie[0][p->sec.cookie_len[0] / 2] ^= 0x5A;
    /* Take the cookie out before the list shifts under it. */
    memcpy(cookie, p->sec.cookie[0], p->sec.cookie_len[0]);
    nt.cookie = cookie;
    nt.cookie_len = p->sec.cookie_len[0];
    nt.cookies_wanted = p->t.cookies_min + (span > 1 ? rnd % span : 0);
    nt.timeout_ms = p->t.ntp_timeout_ms;
    p->res.n_ntp = i + 1;
    /* The cookie is spent: shift the rest down (RFC 8915 5.7: never reuse). */
    memmove(&p->sec.cookie[0], &p->sec.cookie[1],
            sizeof(p->sec.cookie[0]) * (NKE_MAX_COOKIES - 1));
    memmove(&p->sec.cookie_len[0], &p->sec.cookie_len[1],
            sizeof(p->sec.cookie_len[0]) * (NKE_MAX_COOKIES - 1));
    p->sec.ncookies--;
    p->ntpx = ntpx_start(p->base, p->dns, &nt, on_ntp, p);
    explicit_bzero(cookie, sizeof(cookie));
    if (!p->ntpx) {
        result_detail(p->res.ntp[i].detail, "out of memory");
        p->res.ntp[i].status = NTP_LOCAL_ERROR;
        finish(p);
    }
}

static void
on_ntp(const struct ntp_result *r, const uint8_t *cookie, size_t cookie_len, void *arg)
{
    struct probe *p = arg;
    int i = p->state == ST_NTP1 ? 0 : 1;

    p->ntpx = NULL;
    p->res.ntp[i] = *r;
    if (p->state == ST_NTP1 && r->status == NTP_OK) {
        /* #2 uses a cookie returned by #1, proving the server's fresh cookies
           work; without one, fall back to the next key-exchange cookie. */
        if (cookie_len > 0 && cookie_len <= NKE_MAX_COOKIE_LEN) {
            memmove(&p->sec.cookie[1], &p->sec.cookie[0],
                    sizeof(p->sec.cookie[0]) * (NKE_MAX_COOKIES - 1));
            memmove(&p->sec.cookie_len[1], &p->sec.cookie_len[0],
                    sizeof(p->sec.cookie_len[0]) * (NKE_MAX_COOKIES - 1));
            memcpy(p->sec.cookie[0], cookie, cookie_len);
            p->sec.cookie_len[0] = (uint16_t)cookie_len;
            if (p->sec.ncookies < NKE_MAX_COOKIES)
                p->sec.ncookies++;
        }
        if (p->sec.ncookies > 0) {
            p->state = ST_NTP2;
            start_ntp(p);
            return;
        }
    }
    finish(p);
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

static void
on_ke(const struct ke_result *r, const struct ke_secrets *sec, void *arg)
{
    struct probe *p = arg;

    p->ke = NULL;
    if (p->state == ST_KE_CAPS) {
        int aead;
        uint16_t a;

        p->res.ke = *r;
        if (r->status != KE_OK) {
            finish(p);
            return;
        }
        aead = pick_aead(p, r);
        if (aead < 0) {
            p->res.ke.status = KE_AEAD_NONE;
            result_detail(p->res.ke.detail,
                          "the server supports none of the AEADs we use");
            finish(p);
            return;
        }
        a = (uint16_t)aead;
        p->state = ST_KE;
        if (start_ke(p, NKE_SHAPE_POOL_FIXED_KEY, &a, 1) != 0) {
            p->res.ke.status = KE_LOCAL_ERROR;
            result_detail(p->res.ke.detail, "cannot start the fixed-key exchange");
            finish(p);
        }
        return;
    }
    {
        /* Keep the capabilities of the first exchange in the pool kind. */
        struct ke_result caps = p->res.ke;

        p->res.ke = *r;
        if (p->t.kind == PROBE_KIND_POOL) {
            p->res.ke.n_supported_aeads = caps.n_supported_aeads;
            memcpy(p->res.ke.supported_aeads, caps.supported_aeads,
                   sizeof(caps.supported_aeads));
            p->res.ke.n_supported_protocols = caps.n_supported_protocols;
            memcpy(p->res.ke.supported_protocols, caps.supported_protocols,
                   sizeof(caps.supported_protocols));
            p->res.ke.duration += caps.duration;
        }
    }
    if (r->status != KE_OK || p->t.ke_only) {
        finish(p);
        return;
    }
    p->sec = *sec;
    p->state = ST_NTP1;
    start_ntp(p);
}

static void
on_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    finish(arg);
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
        ke_cancel(p->ke);
        p->ke = NULL;
        p->res.ke.status = KE_TIMEOUT;
        result_detail(p->res.ke.detail, "probe deadline of %d ms passed",
                      p->t.deadline_ms);
    } else if (p->ntpx) {
        int i = p->state == ST_NTP1 ? 0 : 1;

        ntpx_cancel(p->ntpx);
        p->ntpx = NULL;
        p->res.ntp[i].status = NTP_TIMEOUT;
        result_detail(p->res.ntp[i].detail, "probe deadline of %d ms passed",
                      p->t.deadline_ms);
    }
    finish(p);
}

struct probe *
probe_start(struct event_base *base, struct evdns_base *dns, struct tlsctx *tls,
            const struct probe_target *t, probe_done_fn *done, void *arg)
{
    struct probe *p = calloc(1, sizeof(*p));
    struct timespec now;
    int rc;

    if (!p)
        return NULL;
    p->base = base;
    p->dns = dns;
    p->tls = tls;
    p->t = *t;
    p->done = done;
    p->arg = arg;
    snprintf(p->host, sizeof(p->host), "%s", t->host);
    snprintf(p->token, sizeof(p->token), "%s", t->token ? t->token : "");
    snprintf(p->uuid, sizeof(p->uuid), "%s", t->uuid ? t->uuid : "");
    p->t.host = p->host;
    p->t.token = NULL;
    p->t.uuid = NULL;
    if (p->t.cookies_min < 1)
        p->t.cookies_min = 1;
    if (p->t.cookies_max < p->t.cookies_min)
        p->t.cookies_max = p->t.cookies_min;
    if (p->t.cookies_max > NKE_MAX_COOKIES)
        p->t.cookies_max = NKE_MAX_COOKIES;
    if (t->addrlen > sizeof(p->addr) || t->naeads < 1 || t->naeads > PROBE_MAX_AEADS) {
        free(p);
        return NULL;
    }
    if (p->t.deadline_ms <= 0) {
        int kes = t->kind == PROBE_KIND_POOL ? 2 : 1;
        p->t.deadline_ms = kes * t->ke_timeout_ms +
                           (t->ke_only ? 0 : 2 * (t->ntp_timeout_ms + NTPX_DNS_TIMEOUT_MS)) +
                           1000;
    }
    memcpy(&p->addr, t->addr, t->addrlen);
    p->t.addr = (const struct sockaddr *)&p->addr;
    p->ev_later = event_new(base, -1, 0, on_later, p);
    p->ev_deadline = evtimer_new(base, on_deadline, p);
    if (!p->ev_later || !p->ev_deadline) {
        if (p->ev_later)
            event_free(p->ev_later);
        if (p->ev_deadline)
            event_free(p->ev_deadline);
        free(p);
        return NULL;
    }
    {
        struct timeval tv = {p->t.deadline_ms / 1000, (p->t.deadline_ms % 1000) * 1000};
        evtimer_add(p->ev_deadline, &tv);
    }

    result_probe_init(&p->res);
    p->res.kind = t->kind;
    p->res.port = t->port;
    snprintf(p->res.host, sizeof(p->res.host), "%s", t->host);
    clock_gettime(CLOCK_REALTIME, &now);
    p->res.start_time = now.tv_sec;
    p->res.start_time_frac = (double)now.tv_nsec / 1e9;
    if (p->addr.ss_family == AF_INET6) {
        p->res.family = 6;
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&p->addr)->sin6_addr,
                  p->res.address, sizeof(p->res.address));
    } else {
        p->res.family = 4;
        inet_ntop(AF_INET, &((struct sockaddr_in *)&p->addr)->sin_addr, p->res.address,
                  sizeof(p->res.address));
    }

    if (t->kind == PROBE_KIND_POOL) {
        p->state = ST_KE_CAPS;
        rc = start_ke(p, NKE_SHAPE_POOL_CAPS, t->aeads, t->naeads);
    } else if (p->uuid[0]) {
        p->state = ST_KE;
        rc = start_ke(p, NKE_SHAPE_POOL_KE, t->aeads, t->naeads);
    } else {
        p->state = ST_KE;
        rc = start_ke(p, NKE_SHAPE_PLAIN, t->aeads, t->naeads);
    }
    if (rc != 0) {
        p->res.ke.status = KE_LOCAL_ERROR;
        result_detail(p->res.ke.detail, "cannot start the key exchange");
        event_active(p->ev_later, EV_TIMEOUT, 0);
    }
    return p;
}

void
probe_cancel(struct probe *p)
{
    if (!p || p->state == ST_DONE)
        return;
    release(p);
    wipe(p);
    free(p);
}
