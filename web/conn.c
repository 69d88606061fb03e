/* conn.c - the HTTP connection guard (conn.h).
 *
 * Each connection gets a struct conn when evhttp asks for its bufferevent
 * (bevcb).  It waits on the pending list for the accept to finish (the
 * check event runs later in the same loop iteration, before any read), then
 * is admitted (counted per address, close callback set, header deadline
 * armed) or refused (evhttp_connection_free: the socket is closed at once).
 * The closecb of an admitted connection uncounts and frees it.  While
 * pending, the bufferevent holds a reference of ours, so a connection evhttp
 * dropped meanwhile (no memory) is seen by its cleared callbacks. */
#include "web/conn.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "monitor/tlsctx.h"
#include "util/log.h"
#include "web/metrics.h"

#define CONN_AUTO_MAX 10000 /* automatic total: at most this many */
#define CONN_MIN      16    /* nor fewer than this */
#define ADDR_KEY      16    /* bytes: IPv4-mapped address or IPv6 /64 */

enum conn_phase {
    PHASE_PENDING = 0, /* accepted, not yet checked */
    PHASE_HEADERS,     /* reading a request's headers */
    PHASE_BODY,        /* reading its body */
    PHASE_BUSY,        /* a handler has it: no deadline */
};

struct addr_count {
    unsigned char key[ADDR_KEY];
    int n;
    struct addr_count *next;
};

struct conn {
    struct conn_guard *g; /* NULL once the guard is gone */
    struct bufferevent *bev;
    struct evhttp_connection *evcon;
    struct evbuffer_cb_entry *incb;
    struct event *deadline;
    struct addr_count *addr;
    enum conn_phase phase;
    bool line_start; /* the header scanner is at the start of a line */
    int fd;
    struct conn *prev, *next; /* pending or admitted list of the guard */
};

struct conn_guard {
    struct event_base *base;
    struct metrics *m;
    struct conn_limits l;
    struct event *check;       /* runs the pending list */
    struct event *resume;      /* turns the listeners back on after EMFILE */
    struct evconnlistener *lev[8];
    size_t nlev;
    struct conn *pending;      /* accepted, not yet checked */
    struct conn *open;         /* admitted */
    int64_t nopen;
    struct conn **byfd;        /* admitted, by socket */
    size_t nbyfd;
    struct addr_count **addrs; /* counts by address key, chained */
    size_t naddrs;             /* buckets: a power of two */
    uint64_t seed;
};

int
conn_total_limit(int max, int reserve_fds)
{
    struct rlimit rl = {1024, 1024};
    long long avail;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        rl.rlim_cur = 1024;
    avail = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 20) ? 1LL << 20
                                                                      : (long long)rl.rlim_cur;
    if (avail - reserve_fds < avail / 4) {
        /* The probes in flight could take nearly all: leave the HTTP side a
           quarter (accept() failing then pauses, see on_accept_error). */
        log_warn("http: RLIMIT_NOFILE %lld leaves few descriptors beside %d for probes and "
                 "files: HTTP connections get a quarter",
                 avail, reserve_fds);
        avail /= 4;
    } else
        avail -= reserve_fds;
    if (max == 0)
        max = avail > CONN_AUTO_MAX ? CONN_AUTO_MAX : (int)avail;
    else if (max > avail) {
        log_warn("http: max_connections %d lowered to %lld: RLIMIT_NOFILE leaves no more "
                 "descriptors",
                 max, avail);
        max = (int)avail;
    }
    return max < CONN_MIN ? CONN_MIN : max;
}

/* ---- addresses --------------------------------------------------------------- */

static void
addr_key(const struct sockaddr_storage *ss, unsigned char key[ADDR_KEY])
{
    memset(key, 0, ADDR_KEY);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &s4->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        /* A mapped IPv4 address counts as that address; IPv6 by its /64,
           which one client usually has whole. */
        if (memcmp(s6->sin6_addr.s6_addr, mapped, 12) == 0)
            memcpy(key, s6->sin6_addr.s6_addr, 16);
        else
            memcpy(key, s6->sin6_addr.s6_addr, 8);
    }
}

static struct addr_count **
addr_slot(struct conn_guard *g, const unsigned char key[ADDR_KEY])
{
    uint64_t h = g->seed ^ 0xcbf29ce484222325ULL;
    struct addr_count **pp;

    for (size_t i = 0; i < ADDR_KEY; i++)
        h = (h ^ key[i]) * 0x100000001b3ULL;
    h ^= h >> 29;
    for (pp = &g->addrs[h & (g->naddrs - 1)]; *pp; pp = &(*pp)->next)
        if (memcmp((*pp)->key, key, ADDR_KEY) == 0)
            break;
    return pp;
}

static void
addr_release(struct conn_guard *g, struct addr_count *a)
{
    if (--a->n > 0)
        return;
    struct addr_count **pp = addr_slot(g, a->key);
    *pp = a->next;
    free(a);
}

/* ---- deadlines ------------------------------------------------------------------ */

static void
arm(struct conn *c, enum conn_phase phase)
{
    struct timeval tv = {0, 0};

    if (!c->g)
        return; /* the guard is gone (shutting down) */
    c->phase = phase;
    if (phase == PHASE_HEADERS) {
        c->line_start = false;
        tv.tv_sec = c->g->l.header_timeout;
    } else if (phase == PHASE_BODY)
        tv.tv_sec = c->g->l.body_timeout;
    if (phase == PHASE_HEADERS || phase == PHASE_BODY)
        evtimer_add(c->deadline, &tv);
    else
        evtimer_del(c->deadline);
}

static void
conn_unlink(struct conn *c, struct conn **head)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void
conn_push(struct conn *c, struct conn **head)
{
    c->prev = NULL;
    c->next = *head;
    if (*head)
        (*head)->prev = c;
    *head = c;
}

/* evhttp frees the connection (closecb, before it frees the bufferevent). */
static void
on_close(struct evhttp_connection *evcon, void *arg)
{
    struct conn *c = arg;
    struct conn_guard *g = c->g;

    (void)evcon;
    evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->incb);
    if (g) {
        conn_unlink(c, &g->open);
        g->nopen--;
        if ((size_t)c->fd < g->nbyfd && g->byfd[c->fd] == c)
            g->byfd[c->fd] = NULL;
        addr_release(g, c->addr);
    }
    if (c->deadline)
        event_free(c->deadline);
    free(c);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    (void)what;
    metrics_conn(c->g->m, c->phase == PHASE_BODY ? METRICS_CONN_BODY_TIMEOUT
                                                 : METRICS_CONN_HEADER_TIMEOUT);
    log_debug("http: closing a connection: its request's %s took too long",
              c->phase == PHASE_BODY ? "body" : "headers");
    evhttp_connection_free(c->evcon); /* calls on_close: c is gone */
}

/* New bytes in the connection's input: look for the end of the headers (an
   empty line, "\n" or "\r\n", as evhttp's line reader sees it). */
static void
on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;
    struct evbuffer_ptr pos;
    struct evbuffer_iovec v[8];
    size_t left = info->n_added;
    int n;

    if (c->phase != PHASE_HEADERS || info->n_added == 0)
        return;
    if (evbuffer_ptr_set(buf, &pos, info->orig_size - info->n_deleted, EVBUFFER_PTR_SET) != 0)
        return;
    while (left > 0 && (n = evbuffer_peek(buf, (ev_ssize_t)left, &pos, v, 8)) > 0) {
        for (int i = 0; i < n && i < 8 && left > 0; i++) {
            const unsigned char *p = v[i].iov_base;
            size_t len = v[i].iov_len < left ? v[i].iov_len : left;

            for (size_t k = 0; k < len; k++) {
                if (p[k] == '\n') {
                    if (c->line_start) {
                        arm(c, PHASE_BODY);
                        return;
                    }
                    c->line_start = true;
                } else if (p[k] != '\r')
                    c->line_start = false;
            }
            left -= len;
            if (evbuffer_ptr_set(buf, &pos, len, EVBUFFER_PTR_ADD) != 0)
                return;
        }
    }
}

/* The reply to a request went out (evhttp_send_done; the connection may be
   freed right after): the next request's header deadline starts. */
static void
on_replied(struct evhttp_request *req, void *arg)
{
    (void)req;
    arm(arg, PHASE_HEADERS);
}

/* ---- admission -------------------------------------------------------------------- */

static bool
byfd_put(struct conn_guard *g, struct conn *c)
{
    if ((size_t)c->fd >= g->nbyfd) {
        size_t n = g->nbyfd ? g->nbyfd : 256;
        struct conn **t;

        while (n <= (size_t)c->fd)
            n *= 2;
        t = realloc(g->byfd, n * sizeof(*t));
        if (!t)
            return false;
        memset(t + g->nbyfd, 0, (n - g->nbyfd) * sizeof(*t));
        g->byfd = t;
        g->nbyfd = n;
    }
    g->byfd[c->fd] = c;
    return true;
}

/* Admit c or say why not (a metrics event); false when it was refused. */
static bool
admit(struct conn_guard *g, struct conn *c)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    unsigned char key[ADDR_KEY];
    struct addr_count **pp, *a;

    memset(&ss, 0, sizeof(ss));
    c->fd = bufferevent_getfd(c->bev);
    if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&ss, &sl) != 0)
        return false;
    if (g->nopen >= g->l.max_total) {
        metrics_conn(g->m, METRICS_CONN_REFUSED_TOTAL);
        return false;
    }
    addr_key(&ss, key);
    pp = addr_slot(g, key);
    if (*pp && (*pp)->n >= g->l.max_per_addr) {
        metrics_conn(g->m, METRICS_CONN_REFUSED_ADDRESS);
        return false;
    }
    c->deadline = evtimer_new(g->base, on_deadline, c);
    if (!c->deadline || !byfd_put(g, c))
        return false;
    if (!*pp) {
        a = calloc(1, sizeof(*a));
        if (!a)
            return false;
        memcpy(a->key, key, ADDR_KEY);
        *pp = a;
    }
    c->addr = *pp;
    c->addr->n++;
    g->nopen++;
    conn_push(c, &g->open);
    evhttp_connection_set_closecb(c->evcon, on_close, c);
    arm(c, PHASE_HEADERS);
    return true;
}

static void
on_check(evutil_socket_t fd, short what, void *arg)
{
    struct conn_guard *g = arg;
    struct conn *c;

    (void)fd;
    (void)what;
    while ((c = g->pending) != NULL) {
        struct bufferevent *bev = c->bev;
        bufferevent_data_cb rcb = NULL;
        void *cbarg = NULL;

        conn_unlink(c, &g->pending);
        bufferevent_getcb(bev, &rcb, NULL, NULL, &cbarg);
        /* evhttp 2.1 sets the connection as the bufferevent's callback
           argument; check it is one, whose bufferevent is ours. */
        c->evcon = cbarg;
        if (!rcb || !cbarg || evhttp_connection_get_bufferevent(c->evcon) != bev) {
            evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->incb);
            free(c);
        } else if (!admit(g, c)) {
            if (c->fd >= 0 && (size_t)c->fd < g->nbyfd && g->byfd[c->fd] == c)
                g->byfd[c->fd] = NULL;
            evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->incb);
            if (c->deadline)
                event_free(c->deadline);
            free(c);
            evhttp_connection_free(cbarg); /* the socket is closed at once */
        }
        bufferevent_decref(bev);
    }
}

static struct bufferevent *
on_bev(struct event_base *base, void *arg)
{
    struct conn_guard *g = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    struct conn *c = calloc(1, sizeof(*c));

    if (!bev || !c) {
        free(c);
        return bev; /* evhttp goes on unguarded: no memory anyway */
    }
    c->g = g;
    c->bev = bev;
    c->fd = -1;
    c->incb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
    if (!c->incb) {
        free(c);
        return bev;
    }
    bufferevent_incref(bev);
    conn_push(c, &g->pending);
    event_active(g->check, EV_TIMEOUT, 0);
    return bev;
}

/* ---- out of descriptors ------------------------------------------------------- */

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct conn_guard *g = arg;

    (void)fd;
    (void)what;
    for (size_t i = 0; i < g->nlev; i++)
        evconnlistener_enable(g->lev[i]);
}

/* accept() failed for another reason than a retry (EMFILE, ENFILE,
   ENOBUFS): the socket stays readable, so libevent would call again at once,
   for ever.  Stop listening for a second instead. */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct conn_guard *g = arg;
    struct timeval tv = {1, 0};
    int err = EVUTIL_SOCKET_ERROR();

    (void)lev;
    if (evtimer_pending(g->resume, NULL))
        return;
    log_warn("http: accept: %s; not accepting for 1 s (%lld connections open)",
             evutil_socket_error_to_string(err), (long long)g->nopen);
    for (size_t i = 0; i < g->nlev; i++)
        evconnlistener_disable(g->lev[i]);
    evtimer_add(g->resume, &tv);
}

void
conn_guard_listener(struct conn_guard *g, struct evconnlistener *lev)
{
    if (!g || !lev || g->nlev >= sizeof(g->lev) / sizeof(g->lev[0]))
        return;
    g->lev[g->nlev++] = lev;
    evconnlistener_set_error_cb(lev, on_accept_error);
}

/* ---- the guard ------------------------------------------------------------------- */

struct conn_guard *
conn_guard_new(struct event_base *base, struct evhttp *http, const struct conn_limits *l,
               struct metrics *m)
{
    struct conn_guard *g = calloc(1, sizeof(*g));
    size_t n = 64;

    if (!g)
        return NULL;
    while (n < (size_t)l->max_total * 2 && n < (1u << 20))
        n *= 2;
    g->base = base;
    g->m = m;
    g->l = *l;
    g->naddrs = n;
    g->addrs = calloc(n, sizeof(*g->addrs));
    g->check = event_new(base, -1, 0, on_check, g);
    g->resume = evtimer_new(base, on_resume, g);
    if (!g->addrs || !g->check || !g->resume || tlsctx_random(&g->seed, sizeof(g->seed)) != 0) {
        conn_guard_free(g);
        return NULL;
    }
    evhttp_set_bevcb(http, on_bev, g);
    return g;
}

void
conn_guard_free(struct conn_guard *g)
{
    struct conn *c;

    if (!g)
        return;
    /* Pending ones were never admitted: evhttp frees their connections. */
    while ((c = g->pending) != NULL) {
        conn_unlink(c, &g->pending);
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->incb);
        bufferevent_decref(c->bev);
        free(c);
    }
    /* Admitted ones stay until evhttp frees them, without deadline. */
    for (c = g->open; c; c = c->next) {
        event_free(c->deadline);
        c->deadline = NULL;
        c->g = NULL;
        c->phase = PHASE_BUSY;
    }
    for (size_t i = 0; i < g->naddrs && g->addrs; i++)
        while (g->addrs[i]) {
            struct addr_count *a = g->addrs[i];
            g->addrs[i] = a->next;
            free(a);
        }
    if (g->check)
        event_free(g->check);
    if (g->resume)
        event_free(g->resume);
    free(g->addrs);
    free(g->byfd);
    free(g);
}

void
conn_dispatched(struct conn_guard *g, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    int fd = bev ? bufferevent_getfd(bev) : -1;
    struct conn *c;

    if (!g || fd < 0 || (size_t)fd >= g->nbyfd || !(c = g->byfd[fd]) || c->evcon != evcon)
        return;
    arm(c, PHASE_BUSY);
    evhttp_request_set_on_complete_cb(req, on_replied, c);
}

int64_t
conn_open(const struct conn_guard *g)
{
    return g ? g->nopen : 0;
}
