/* dns.c - evdns_getaddrinfo() wrapped into one callback with a bounded,
 * de-duplicated address list.  evdns reads /etc/resolv.conf and /etc/hosts
 * itself and never blocks the loop. */
#include "monitor/dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/util.h>

struct dns_req {
    struct evdns_getaddrinfo_request *req;
    int family;
    dns_done_fn *done;
    void *arg;
    int cancelled;
    int finished;
    int in_start;
};

int
dns_is_ip_literal(const char *host)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int
dns_error_is_local(int eai)
{
    return eai == EVUTIL_EAI_AGAIN || eai == EVUTIL_EAI_MEMORY || eai == EVUTIL_EAI_SYSTEM;
}

/* a: the IPv4 address in host order. */
static bool
v4_is_private(uint32_t a)
{
    return (a >> 24) == 0 ||                    /* 0.0.0.0/8 "this network" */
           (a >> 24) == 10 ||                   /* RFC 1918 */
           (a >> 24) == 127 ||                  /* loopback */
           (a >> 22) == (100u << 2 | 1) ||      /* 100.64.0.0/10 CGNAT (RFC 6598) */
           (a >> 16) == (169u << 8 | 254) ||    /* link-local */
           (a >> 20) == (172u << 4 | 1) ||      /* 172.16.0.0/12 */
           (a >> 16) == (192u << 8 | 168) ||    /* 192.168.0.0/16 */
           (a >> 28) >= 14;                     /* multicast, reserved, broadcast */
}

bool
dns_addr_is_private(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return v4_is_private(ntohl(s4->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const uint8_t zero[15] = {0};
        const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

        if (memcmp(b, mapped, sizeof(mapped)) == 0)
            return v4_is_private((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                                 (uint32_t)b[14] << 8 | b[15]);
        if (memcmp(b, zero, sizeof(zero)) == 0 && b[15] <= 1)
            return true;                        /* :: and ::1 */
        return (b[0] & 0xfe) == 0xfc ||         /* fc00::/7 unique local */
               (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||  /* fe80::/10 link-local */
               (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) ||  /* fec0::/10 site-local */
               b[0] == 0xff;                    /* multicast */
    }
    return true;
}

bool
dns_result_is_refused(const struct dns_result *res, enum dns_private_policy policy)
{
    size_t private = 0;

    for (size_t i = 0; i < res->n; i++)
        if (dns_addr_is_private((const struct sockaddr *)&res->addr[i]))
            private++;
    switch (policy) {
    case DNS_REFUSE_ALL_PRIVATE: return res->n > 0 && private == res->n;
    case DNS_REFUSE_ANY_PRIVATE: return private > 0;
    }
    return true;
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return 0;
    if (b->sa_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static void
collect(struct dns_result *out, const struct evutil_addrinfo *ai, int want)
{
    /* v4 first, then v6: a stable order for the rotation of probed addresses. */
    for (int pass = 0; pass < 2; pass++) {
        int fam = pass == 0 ? AF_INET : AF_INET6;

        if ((fam == AF_INET && want == 6) || (fam == AF_INET6 && want == 4))
            continue;
        for (const struct evutil_addrinfo *p = ai; p; p = p->ai_next) {
            int dup = 0;

            if (p->ai_family != fam || out->n >= DNS_MAX_ADDRS ||
                p->ai_addrlen > sizeof(out->addr[0]))
                continue;
            for (size_t i = 0; i < out->n; i++)
                dup |= same_addr(&out->addr[i], p->ai_addr);
            if (dup)
                continue;
            memcpy(&out->addr[out->n], p->ai_addr, p->ai_addrlen);
            out->addrlen[out->n] = (socklen_t)p->ai_addrlen;
            out->n++;
        }
    }
}

static void
on_answer(int err, struct evutil_addrinfo *ai, void *arg)
{
    struct dns_req *r = arg;
    struct dns_result res;

    r->req = NULL;
    if (r->cancelled || err == EVUTIL_EAI_CANCEL) {
        if (ai)
            evutil_freeaddrinfo(ai);
        r->finished = 1;
        if (!r->in_start)
            free(r);
        return;
    }
    memset(&res, 0, sizeof(res));
    res.error = err;
    if (err) {
        snprintf(res.detail, sizeof(res.detail), "%s", evutil_gai_strerror(err));
    } else {
        collect(&res, ai, r->family);
        if (res.n == 0) {
            res.error = EVUTIL_EAI_NODATA;
            snprintf(res.detail, sizeof(res.detail), "no address of the requested family");
        }
    }
    if (ai)
        evutil_freeaddrinfo(ai);
    r->finished = 1;
    r->done(&res, r->arg);
    if (!r->in_start)
        free(r);
}

struct dns_req *
dns_resolve(struct evdns_base *base, const char *host, uint16_t port, int family,
            dns_done_fn *done, void *arg)
{
    struct dns_req *r = calloc(1, sizeof(*r));
    struct evutil_addrinfo hints;
    char portstr[8];

    if (!r) {
        struct dns_result res;
        memset(&res, 0, sizeof(res));
        res.error = EVUTIL_EAI_MEMORY;
        snprintf(res.detail, sizeof(res.detail), "out of memory");
        done(&res, arg);
        return NULL;
    }
    r->family = family;
    r->done = done;
    r->arg = arg;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    /* No AI_ADDRCONFIG: libevent ignores loopback addresses there, and the
       caller decides which families to probe. */
    if (dns_is_ip_literal(host))
        hints.ai_flags = EVUTIL_AI_NUMERICHOST;
    snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
    r->in_start = 1;
    r->req = evdns_getaddrinfo(base, host, portstr, &hints, on_answer, r);
    r->in_start = 0;
    if (r->finished) {
        free(r);
        return NULL;
    }
    return r;
}

void
dns_cancel(struct dns_req *r)
{
    if (!r || r->finished)
        return;             /* done() ran: the request freed itself */
    r->cancelled = 1;
    if (r->req)
        evdns_getaddrinfo_cancel(r->req);  /* calls on_answer with EAI_CANCEL */
    else
        free(r);
}
