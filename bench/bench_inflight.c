/* bench_inflight.c - memory held per probe in flight (issue "ntspoold",
 * benchmark b).
 *
 * One program, four modes, each run in a fresh process by
 * scripts/bench-inflight.sh so that no mode reuses pages another one touched:
 *
 *   listen   a silent listener on 127.0.0.1..A:PORT: it accepts every
 *            connection, reads and drops whatever arrives, never writes,
 *            and closes a connection only when the client does.  Every probe
 *            against it sits in the TLS handshake until its timeout.
 *   probes   the real engine through the scheduler: sch_new() with
 *            max_in_flight = N and N sources (IP literals, kind nts v4)
 *            pointing at the listener, a long interval and a long KE timeout.
 *            RSS is read once every source is queued (before) and once all N
 *            connections are established and the loop has settled (in flight).
 *   tcp      baseline: N bare connected TCP sockets, no libevent, no TLS.
 *   ssl      baseline: N connected sockets, each with an SSL object of the
 *            engine's context (tlsctx_ssl_new) after its ClientHello, waiting
 *            for the ServerHello: OpenSSL's share of a probe, without
 *            libevent and without our own state.
 *
 * Each measuring mode prints one line of key=value pairs: N, RSS before and
 * with everything open (kB, /proc/self/status VmRSS), RSS bytes per
 * connection, and glibc's heap bytes in use per connection (mallinfo2).
 *
 * File descriptors: a mode holds N client sockets and the listener holds N
 * accepted ones, so both raise RLIMIT_NOFILE's soft limit to the hard one and
 * refuse to run when N does not fit.  Unlike the rest of the tree this file
 * includes OpenSSL headers, for the ssl baseline only. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "monitor/sched.h"
#include "monitor/tlsctx.h"

struct opts {
    const char *mode;
    int n;                      /* connections */
    int port;
    int naddrs;                 /* 127.0.0.1 .. 127.0.0.naddrs */
    int ke_timeout_ms;
    int wait_s;                 /* give up waiting for all N after this */
    int settle_ms;              /* loop time after all N are established */
    const char *ready_file;     /* listen: written once listening */
};

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS in kB, or -1. */
static long
rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static size_t
heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

static int
raise_nofile(int need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)need) {
        fprintf(stderr,
                "bench_inflight: RLIMIT_NOFILE hard limit %llu < %d descriptors needed "
                "(raise it: ulimit -Hn, /etc/security/limits.conf)\n",
                (unsigned long long)rl.rlim_max, need);
        return -1;
    }
    return 0;
}

static void
addr_of(const struct opts *o, int i, struct sockaddr_in *sin)
{
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)o->port);
    sin->sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(i % o->naddrs));
}

/* Client sockets established to the listener's port, from /proc/net/tcp. */
static int
established(int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512];
    int n = 0;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        unsigned rport, st;
        char *colon;

        /* "  sl: local:port rem:port st ..." */
        colon = strchr(line, ':');
        if (!colon || sscanf(colon + 1, " %*x:%*x %*x:%x %x", &rport, &st) != 2)
            continue;
        n += rport == (unsigned)port && st == 1;
    }
    fclose(f);
    return n;
}

static void
report(const struct opts *o, int open, long before, long during, size_t h0, size_t h1,
       double secs)
{
    printf("mode=%s n=%d open=%d rss_before_kib=%ld rss_inflight_kib=%ld "
           "rss_bytes_per_conn=%.0f heap_bytes_per_conn=%.0f wait_s=%.1f\n",
           o->mode, o->n, open, before, during,
           open ? (double)(during - before) * 1024.0 / open : 0.0,
           open ? ((double)h1 - (double)h0) / open : 0.0, secs);
    fflush(stdout);
}

/* ---- listen ---- */

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int
run_listen(const struct opts *o)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event evs[256];
    int *lfd = calloc((size_t)o->naddrs, sizeof(*lfd));
    int held = 0, one = 1;
    char buf[4096];
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (ep < 0 || !lfd)
        return 1;
    for (int i = 0; i < o->naddrs; i++) {
        struct sockaddr_in sin;
        struct epoll_event ev = {.events = EPOLLIN};

        addr_of(o, i, &sin);
        lfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (lfd[i] < 0 ||
            setsockopt(lfd[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
            bind(lfd[i], (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
            listen(lfd[i], 4096) != 0) {
            fprintf(stderr, "bench_inflight listen: 127.0.0.%d:%d: %s\n", i + 1, o->port,
                    strerror(errno));
            return 1;
        }
        ev.data.u64 = (uint64_t)i << 32 | 1u; /* low bit: a listening socket */
        epoll_ctl(ep, EPOLL_CTL_ADD, lfd[i], &ev);
    }
    if (o->ready_file) {
        FILE *f = fopen(o->ready_file, "w");
        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
    }
    while (!stop) {
        int n = epoll_wait(ep, evs, 256, 500);

        for (int k = 0; k < n; k++) {
            if (evs[k].data.u64 & 1u) {
                int l = lfd[evs[k].data.u64 >> 32], c;

                while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};

                    ev.data.u64 = (uint64_t)c << 32;
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) != 0)
                        close(c);
                    else
                        held++;
                }
            } else {
                int c = (int)(evs[k].data.u64 >> 32);
                ssize_t r;

                /* Silent: drop what arrives; close when the client does. */
                while ((r = read(c, buf, sizeof(buf))) > 0)
                    ;
                if (r == 0 || (r < 0 && errno != EAGAIN) ||
                    (evs[k].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
                    close(c);
                    held--;
                }
            }
        }
    }
    fprintf(stderr, "bench_inflight listen: stopping with %d connections held\n", held);
    free(lfd);
    return 0;
}

/* ---- probes ---- */

struct pstate {
    const struct opts *o;
    struct event_base *base;
    struct sch *sch;
    struct event *tick;
    double t0, t_all;
    int results;
    int open;
    long rss_during;
    size_t heap_during;
};

static void
sink(const struct sch_event *ev, void *arg)
{
    struct pstate *ps = arg;

    if (ev->type == SCH_EV_RESULT) {
        if (ps->results++ < 5)
            fprintf(stderr, "bench_inflight: early result: %s: %s\n",
                    result_ke_status_str(ev->res->ke.status), ev->res->ke.detail);
    }
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct pstate *ps = arg;
    struct sch_stats st;
    double now = now_s();
    struct timeval tv = {0, 250000};

    (void)fd;
    (void)what;
    sch_stats(ps->sch, &st);
    if (ps->t_all == 0) {
        int est = st.in_flight == ps->o->n ? established(ps->o->port) : 0;

        if (est >= ps->o->n || now - ps->t0 > ps->o->wait_s) {
            ps->t_all = now;
            ps->open = est;
            if (est < ps->o->n)
                fprintf(stderr, "bench_inflight: only %d of %d established after %d s "
                        "(%d in flight)\n", est, ps->o->n, ps->o->wait_s, st.in_flight);
        }
    } else if ((now - ps->t_all) * 1000 >= ps->o->settle_ms) {
        ps->rss_during = rss_kib();
        ps->heap_during = heap_used();
        if (ps->open >= ps->o->n)
            ps->open = st.in_flight;
        event_base_loopbreak(ps->base);
        return;
    }
    evtimer_add(ps->tick, &tv);
}

static int
run_probes(const struct opts *o)
{
    struct pstate ps;
    struct sch_config cfg = {.interval = 3600,
                             .ke_timeout_ms = o->ke_timeout_ms,
                             .ntp_timeout_ms = 1000,
                             .max_in_flight = o->n,
                             .codepoints = SCH_CP_AUTO,
                             .allow_private = true};
    char err[256];
    struct evdns_base *dns;
    struct tlsctx *tls;
    struct timeval tv = {0, 250000};
    long before;
    size_t h0;
    int rc = 0;

    memset(&ps, 0, sizeof(ps));
    ps.o = o;
    ps.base = event_base_new();
    dns = ps.base ? evdns_base_new(ps.base, 0) : NULL;
    tls = tlsctx_new(NULL, true, err, sizeof(err));
    if (!ps.base || !dns || !tls) {
        fprintf(stderr, "bench_inflight: setup failed: %s\n", tls ? "libevent" : err);
        return 1;
    }
    ps.sch = sch_new(ps.base, dns, tls, &cfg, sink, &ps);
    ps.tick = evtimer_new(ps.base, on_tick, &ps);
    if (!ps.sch || !ps.tick)
        return 1;
    for (int i = 0; i < o->n; i++) {
        struct sch_source src;

        memset(&src, 0, sizeof(src));
        src.id = i + 1;
        snprintf(src.host, sizeof(src.host), "127.0.0.%d", i % o->naddrs + 1);
        src.port = (uint16_t)o->port;
        src.kinds = SCH_KIND_BIT(SCH_NTS_V4);
        if (sch_source_put(ps.sch, &src, SCH_START_SOON) != 0) {
            fprintf(stderr, "bench_inflight: sch_source_put failed\n");
            return 1;
        }
    }
    /* Before: the scheduler knows every source, no probe has started (the
       first timers fire once the loop runs). */
    before = rss_kib();
    h0 = heap_used();
    ps.t0 = now_s();
    evtimer_add(ps.tick, &tv);
    event_base_dispatch(ps.base);
    report(o, ps.open, before, ps.rss_during, h0, ps.heap_during, ps.t_all - ps.t0);
    if (ps.results > 0) {
        fprintf(stderr, "bench_inflight: %d probes ended before the measurement\n",
                ps.results);
        rc = 1;
    }
    if (ps.open < o->n)
        rc = 1;
    sch_free(ps.sch);
    event_free(ps.tick);
    evdns_base_free(dns, 0);
    tlsctx_free(tls);
    event_base_free(ps.base);
    return rc;
}

/* ---- tcp and ssl baselines ---- */

static int
run_bare(const struct opts *o, bool with_ssl)
{
    int *fd = calloc((size_t)o->n, sizeof(*fd));
    SSL **ssl = with_ssl ? calloc((size_t)o->n, sizeof(*ssl)) : NULL;
    struct tlsctx *tls = NULL;
    char err[256];
    long before, during;
    size_t h0, h1;
    double t0;
    int open = 0, rc = 0;

    if (!fd || (with_ssl && !ssl))
        return 1;
    if (with_ssl && !(tls = tlsctx_new(NULL, true, err, sizeof(err)))) {
        fprintf(stderr, "bench_inflight: %s\n", err);
        return 1;
    }
    before = rss_kib();
    h0 = heap_used();
    t0 = now_s();
    for (int i = 0; i < o->n; i++) {
        struct sockaddr_in sin;
        int one = 1;

        addr_of(o, i, &sin);
        fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd[i] < 0 || connect(fd[i], (struct sockaddr *)&sin, sizeof(sin)) != 0) {
            fprintf(stderr, "bench_inflight: connect %d: %s\n", i, strerror(errno));
            rc = 1;
            break;
        }
        setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        open++;
        if (with_ssl) {
            char host[32];
            int r;

            fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK);
            snprintf(host, sizeof(host), "127.0.0.%d", i % o->naddrs + 1);
            ssl[i] = tlsctx_ssl_new(tls, host);
            if (!ssl[i] || !SSL_set_fd(ssl[i], fd[i])) {
                rc = 1;
                break;
            }
            r = SSL_connect(ssl[i]);
            if (r != -1 || SSL_get_error(ssl[i], r) != SSL_ERROR_WANT_READ) {
                fprintf(stderr, "bench_inflight: SSL_connect %d: unexpected %d\n", i, r);
                rc = 1;
                break;
            }
        }
    }
    during = rss_kib();
    h1 = heap_used();
    report(o, open, before, during, h0, h1, now_s() - t0);
    for (int i = 0; i < open; i++) {
        if (ssl && ssl[i])
            SSL_free(ssl[i]);
        close(fd[i]);
    }
    free(ssl);
    free(fd);
    tlsctx_free(tls);
    return rc;
}

static void
usage(void)
{
    fprintf(stderr,
            "usage: bench_inflight listen|probes|tcp|ssl [-n N] [-p PORT] [-a ADDRS]\n"
            "         [-t KE_TIMEOUT_MS] [-w WAIT_S] [-s SETTLE_MS] [-r READY_FILE]\n");
}

int
main(int argc, char **argv)
{
    struct opts o = {.n = 10000, .port = 30123, .naddrs = 1, .ke_timeout_ms = 60000,
                     .wait_s = 30, .settle_ms = 2000};
    int c;

    if (argc < 2) {
        usage();
        return 2;
    }
    o.mode = argv[1];
    optind = 2;
    while ((c = getopt(argc, argv, "n:p:a:t:w:s:r:")) != -1) {
        switch (c) {
        case 'n': o.n = (int)strtol(optarg, NULL, 10); break;
        case 'p': o.port = (int)strtol(optarg, NULL, 10); break;
        case 'a': o.naddrs = (int)strtol(optarg, NULL, 10); break;
        case 't': o.ke_timeout_ms = (int)strtol(optarg, NULL, 10); break;
        case 'w': o.wait_s = (int)strtol(optarg, NULL, 10); break;
        case 's': o.settle_ms = (int)strtol(optarg, NULL, 10); break;
        case 'r': o.ready_file = optarg; break;
        default: usage(); return 2;
        }
    }
    if (o.n < 1 || o.port < 1 || o.port > 65535 || o.naddrs < 1 || o.naddrs > 254 ||
        o.ke_timeout_ms < 1 || o.wait_s < 1 || o.settle_ms < 0) {
        usage();
        return 2;
    }
    if (raise_nofile(o.n + 64) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(o.mode, "listen") == 0)
        return run_listen(&o);
    if (strcmp(o.mode, "probes") == 0)
        return run_probes(&o);
    if (strcmp(o.mode, "tcp") == 0)
        return run_bare(&o, false);
    if (strcmp(o.mode, "ssl") == 0)
        return run_bare(&o, true);
    usage();
    return 2;
}
