/* conn.h - the HTTP connection guard: limits on open connections (in all
 * and per client address) and deadlines on reading a request, which
 * libevent 2.1's evhttp does not have (its read timeout restarts with every
 * byte, so a client sending a byte every few seconds would hold a
 * connection for ever).
 *
 * - A connection over max_total, or over max_per_addr from one address
 *   (IPv4: the address; IPv6: its /64), is closed right after the accept,
 *   before anything is read, and counted.
 * - A request's headers must be complete header_timeout s after the accept
 *   (or after the previous reply on a kept-alive connection), and its body
 *   body_timeout s after the end of the headers; else the connection is
 *   closed and counted.  While a handler works on a request there is no
 *   deadline (evhttp's write timeout covers sending the reply).
 *
 * How, with 2.1.12's public API only: evhttp_set_bevcb lets us make each
 * connection's bufferevent, before evhttp gives it the accepted socket; an
 * event activated there runs in the same loop iteration, once the accept is
 * done, and finds the socket and the connection (the bufferevent's callback
 * argument, which is the evhttp_connection in evhttp 2.1), whose close
 * callback then tells us when it is gone.  An evbuffer callback on the
 * input sees the bytes as they arrive and finds the end of the headers. */
#ifndef NTSPOOL_WEB_CONN_H
#define NTSPOOL_WEB_CONN_H

#include <stdint.h>

struct event_base;
struct evhttp;
struct evhttp_request;
struct metrics;
struct conn_guard;

struct conn_limits {
    int max_total;      /* open connections in all */
    int max_per_addr;   /* from one address (IPv6: one /64) */
    int header_timeout; /* s */
    int body_timeout;   /* s */
};

/* The total a configured value of max (0: automatic, at most 10000) comes
   to with the descriptors available: RLIMIT_NOFILE's soft limit less a
   reserve for reserve_fds other descriptors (probes, database, logs), or a
   quarter of the limit when the reserve would leave less. */
int conn_total_limit(int max, int reserve_fds);

/* Guard the connections of http (before it listens).  NULL on no memory. */
struct conn_guard *conn_guard_new(struct event_base *base, struct evhttp *http,
                                  const struct conn_limits *l, struct metrics *m);
/* Watch a listener of http: when accept() fails for want of descriptors,
   stop accepting for a second rather than spin (libevent calls again at
   once while the socket stays readable). */
struct evconnlistener;
void conn_guard_listener(struct conn_guard *g, struct evconnlistener *lev);
/* Call before evhttp_free(http): connections still open forget the guard. */
void conn_guard_free(struct conn_guard *g);
/* req is complete and goes to a handler: no deadline until its reply is
   sent, then the next request's header deadline starts. */
void conn_dispatched(struct conn_guard *g, struct evhttp_request *req);
/* Connections open now. */
int64_t conn_open(const struct conn_guard *g);

#endif
