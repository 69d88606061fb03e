/* dns.h - asynchronous name resolution for the probe engine, on evdns:
 * numeric literals without a query, /etc/hosts, then DNS.  Results are
 * de-duplicated, filtered by family and ordered v4 first. */
#ifndef NTSPOOL_MONITOR_DNS_H
#define NTSPOOL_MONITOR_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct evdns_base;
struct dns_req;

#define DNS_MAX_ADDRS 16

struct dns_result {
    int error;                      /* 0, or an EVUTIL_EAI_* code */
    char detail[128];               /* human text when error != 0 */
    size_t n;
    struct sockaddr_storage addr[DNS_MAX_ADDRS]; /* port already set */
    socklen_t addrlen[DNS_MAX_ADDRS];
};

typedef void dns_done_fn(const struct dns_result *r, void *arg);

/* Resolve host for port; family 0 (both), 4 or 6.  done() runs exactly
   once, possibly before dns_resolve returns when the answer is immediate
   (numeric host, hosts file).  Returns NULL when done() already ran or on
   failure to start (then done() got the error). */
struct dns_req *dns_resolve(struct evdns_base *base, const char *host, uint16_t port,
                            int family, dns_done_fn *done, void *arg);
/* Cancel a request in flight; done() is not called after this.  Inside
   done() it does nothing; after done() has returned the request is gone and
   must not be named again (callers clear their pointer in done()). */
void dns_cancel(struct dns_req *r);

/* True when host is an IPv4 or IPv6 literal. */
int dns_is_ip_literal(const char *host);

/* True when a failed resolution (EVUTIL_EAI_* code) is the monitor's own
   fault, not the name's: its resolver out of memory or failing at the system
   level (EAI_AGAIN, EAI_MEMORY, EAI_SYSTEM).  A name that does not exist or
   has no address is the server's problem (false). */
int dns_error_is_local(int eai);

/* True for an address that is not on the public Internet: unspecified,
   loopback, private (RFC 1918, fc00::/7), link-local, CGNAT (100.64.0.0/10),
   multicast, reserved/broadcast (240.0.0.0/4), site-local fec0::/10, and the
   IPv4-mapped IPv6 forms (::ffff:a.b.c.d) of the IPv4 ones.  Any family other
   than AF_INET and AF_INET6 counts as private. */
bool dns_addr_is_private(const struct sockaddr *sa);

/* Which names resolving to private addresses (dns_addr_is_private) a caller
   refuses: a time source only when every address is private (a name with a
   public address can be probed at it, and a pool name may mix in a local
   one); a webhook when any is (the sender must never reach inside). */
enum dns_private_policy {
    DNS_REFUSE_ALL_PRIVATE = 1, /* refuse when there are addresses and all are private */
    DNS_REFUSE_ANY_PRIVATE = 2, /* refuse when one address is private */
};

/* True when the addresses of res are refused under policy.  A result
   without addresses is never refused here (the caller decides what a name
   that does not resolve means). */
bool dns_result_is_refused(const struct dns_result *res, enum dns_private_policy policy);

#endif
