/* bench_inflight.c - memory held per probe in flight (issue "ntspoold",
 * benchmark b).
 *
 * One program, four modes, each run in a fresh process by
 * scripts/bench-inflight.sh so that no mode reuses pages another one touched:
 *
 *   listen   a silent listener on 127.0.0.1..A:PORT: it accepts every
 *            connection, reads and drops whatever arrives, never writes,
 *            and closes a connection only when the client does.  Every probe
 *            against it sits in the TLS handshake until its timeout.  With
 *            -b it never accepts: its backlog fills at once and every later
 *            SYN is dropped, so probes against it wait for the TCP connect.
 *   probes   the real engine through the scheduler: sch_new() with
 *            max_in_flight = N and N sources (IP literals, kind nts v4)
 *            pointing at PORT, a long interval and long KE and NTP timeouts.
 *            RSS is read once every source is queued (before) and once all N
 *            probes are in flight, in the stage -S names (going by their
 *            sockets in /proc/net/tcp), and the heap has not changed for
 *            SETTLE_MS: tls (the silent listener), connect (the -b one), ke
 *            (ntstestd --misbehave ke-silent: TLS done, the request sent, no
 *            response) or ntp (ntstestd --misbehave ntp-silent: the key
 *            exchange done, the NTP request sent, no reply).
 *   tcp      baseline: N bare connected TCP sockets, no libevent, no TLS.
 *   ssl      baseline: N connected sockets, each with an SSL object of the
 *            engine's context (tlsctx_ssl_new) after its ClientHello, waiting
 *            for the ServerHello: OpenSSL's share of a probe, without
 *            libevent and without our own state.  With -S ke (against
 *            ntstestd ke-silent, -c its CA) the whole handshake is done,
 *            blocking, certificate checked: OpenSSL's share of a probe
 *            waiting for the NTS-KE response.
 *
 * Each measuring mode prints one line of key=value pairs: N, RSS before and
 * with everything open (kB, /proc/self/status VmRSS), RSS bytes per
 * connection, glibc's heap bytes in use per connection (mallinfo2), and RSS
 * again after malloc_trim(0) has given back the whole free pages (what is
 * left is what the connections hold plus the partly used pages).
 * With -d it then lists OpenSSL's allocations per connection by source line.
 *
 * File descriptors: a mode holds N client sockets and the listener holds N
 * accepted ones, so both raise RLIMIT_NOFILE's soft limit to the hard one and
 * refuse to run when N does not fit.  Unlike the rest of the tree this file
 * includes OpenSSL headers, for the ssl baseline and -d only. */
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
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "monitor/sched.h"
#include "monitor/tlsctx.h"

/* Where the probes are held while RSS is read (-S). */
enum stage {
    STAGE_TLS,      /* the silent listener: in the TLS handshake */
    STAGE_CONNECT,  /* a listener with a full backlog: waiting for the SYN-ACK */
    STAGE_KE,       /* ntstestd --misbehave ke-silent: TLS up, no KE response */
    STAGE_NTP,      /* ntstestd --misbehave ntp-silent: KE done, no NTP reply */
};

static const char *const stage_names[] = {"tls", "connect", "ke", "ntp"};

struct opts {
    const char *mode;
    int n;                      /* connections */
    int port;
    int naddrs;                 /* 127.0.0.1 .. 127.0.0.naddrs */
    int ke_timeout_ms;
    int wait_s;                 /* give up waiting for all N after this */
    int settle_ms;              /* probes: the heap unchanged this long */
    const char *ready_file;     /* listen: written once listening */
    bool full_backlog;          /* listen: never accept (connections stay SYN_SENT) */
    enum stage stage;           /* probes: where they are held */
    const char *ca_file;        /* probes: the CA of ntstestd's certificate */
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

/* ---- -d: OpenSSL's allocations by source line ----
 * CRYPTO_set_mem_functions() (before OpenSSL allocates anything) routes
 * every OpenSSL allocation through these hooks, which keep a 32-byte header
 * per block: a list of the live blocks and the source line that asked.  At
 * the two measurements the live bytes of each line are summed; the lines
 * that grew by 16 bytes or more per connection are printed with how much of
 * their whole pages is resident (/proc/self/pagemap's present bit): a block
 * that was allocated but never written costs no RSS.  The headers add 32
 * bytes per block, so the figures of a -d run are a little higher. */

struct ahdr {
    struct ahdr *prev, *next;
    size_t size;
    uint32_t site;
    uint32_t pad;
};

#define NSITES 8192

struct site {
    const char *file;
    int line;
    long long bytes, bytes0;
    long n, n0;
};

static struct site sites[NSITES];
static struct ahdr live_head = {&live_head, &live_head, 0, 0, 0};
static bool detail;

static uint32_t
site_of(const char *file, int line)
{
    uint32_t h = (uint32_t)(((uintptr_t)file >> 4) * 2654435761u) ^ (uint32_t)line * 40503u;

    for (uint32_t i = 0; i < NSITES; i++) {
        struct site *s = &sites[(h + i) % NSITES];

        if (s->file == file && s->line == line)
            return (h + i) % NSITES;
        if (!s->file) {
            s->file = file ? file : "?";
            s->line = line;
            return (h + i) % NSITES;
        }
    }
    return 0;                   /* full: lump the rest into slot 0 */
}

static void
hdr_link(struct ahdr *h, size_t size, const char *file, int line)
{
    h->size = size;
    h->site = site_of(file, line);
    sites[h->site].bytes += (long long)size;
    sites[h->site].n++;
    h->next = live_head.next;
    h->prev = &live_head;
    live_head.next->prev = h;
    live_head.next = h;
}

static void
hdr_unlink(struct ahdr *h)
{
    sites[h->site].bytes -= (long long)h->size;
    sites[h->site].n--;
    h->prev->next = h->next;
    h->next->prev = h->prev;
}

static void *
d_malloc(size_t n, const char *file, int line)
{
    struct ahdr *h = malloc(sizeof(*h) + n);

    if (!h)
        return NULL;
    hdr_link(h, n, file, line);
    return h + 1;
}

static void
d_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    if (p) {
        struct ahdr *h = (struct ahdr *)p - 1;

        hdr_unlink(h);
        free(h);
    }
}

static void *
d_realloc(void *p, size_t n, const char *file, int line)
{
    struct ahdr *h;

    if (!p)
        return d_malloc(n, file, line);
    h = (struct ahdr *)p - 1;
    hdr_unlink(h);
    h = realloc(h, sizeof(*h) + n);
    if (!h) {
        /* The old block stands: count it again where it was. */
        h = (struct ahdr *)p - 1;
        hdr_link(h, h->size, sites[h->site].file, sites[h->site].line);
        return NULL;
    }
    hdr_link(h, n, file, line);
    return h + 1;
}

static void
detail_install(void)
{
    detail = CRYPTO_set_mem_functions(d_malloc, d_realloc, d_free) == 1;
    if (!detail)
        fprintf(stderr, "bench_inflight: -d: OpenSSL allocated before main\n");
}

static void
detail_mark(void)
{
    for (int i = 0; i < NSITES; i++) {
        sites[i].bytes0 = sites[i].bytes;
        sites[i].n0 = sites[i].n;
    }
}

/* Bytes of whole pages inside [p, p + n) that are not resident. */
static size_t
untouched(int pm, const unsigned char *p, size_t n)
{
    size_t pg = 4096, out = 0;
    uintptr_t a = ((uintptr_t)p + pg - 1) / pg, b = ((uintptr_t)p + n) / pg;

    for (uintptr_t v = a; v < b; v++) {
        uint64_t e;

        if (pread(pm, &e, sizeof(e), (off_t)(v * sizeof(e))) == (ssize_t)sizeof(e) &&
            !(e >> 63 & 1))
            out += pg;
    }
    return out;
}

struct drow {
    int site;
    double bytes, untouched;
};

static int
drow_cmp(const void *a, const void *b)
{
    const struct drow *x = a, *y = b;

    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

/* Print the lines whose live bytes grew by >= 16 per connection. */
static void
detail_report(int nconn, double heap_per_conn)
{
    static struct drow rows[NSITES];
    static double unt[NSITES];
    int pm = nconn > 0 ? open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC) : -1, nrows = 0;
    double total = 0, total_unt = 0, other = 0;

    if (!detail || nconn <= 0)
        return;
    memset(unt, 0, sizeof(unt));
    if (pm >= 0) {
        for (struct ahdr *h = live_head.next; h != &live_head; h = h->next)
            if (h->size >= 4096)
                unt[h->site] += (double)untouched(pm, (unsigned char *)(h + 1), h->size);
        close(pm);
    }
    for (int i = 0; i < NSITES; i++) {
        double d = (double)(sites[i].bytes - sites[i].bytes0) / nconn;

        if (!sites[i].file)
            continue;
        total += d;
        if (d >= 16) {
            rows[nrows].site = i;
            rows[nrows].bytes = d;
            rows[nrows].untouched = unt[i] / nconn;
            total_unt += unt[i] / nconn;
            nrows++;
        } else {
            other += d;
        }
    }
    qsort(rows, (size_t)nrows, sizeof(rows[0]), drow_cmp);
    for (int i = 0; i < nrows; i++) {
        const struct site *s = &sites[rows[i].site];

        printf("  openssl %8.0f B/conn %5.2f blocks/conn  %6.0f B untouched  %s:%d\n",
               rows[i].bytes, (double)(s->n - s->n0) / nconn, rows[i].untouched,
               s->file, s->line);
    }
    printf("  openssl %8.0f B/conn in smaller lines\n", other);
    printf("  openssl %8.0f B/conn in all (%.0f B of whole pages untouched)\n", total,
           total_unt);
    printf("  other   %8.0f B/conn (glibc heap less OpenSSL's: libevent, ours, the "
           "headers of -d)\n", heap_per_conn - total);
    fflush(stdout);
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

/* Client sockets to the listener's port in TCP state st (1 established,
   2 SYN sent), from /proc/net/tcp. */
static int
tcp_count(int port, unsigned state)
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
        n += rport == (unsigned)port && st == state;
    }
    fclose(f);
    return n;
}

static void
report(const struct opts *o, int open, long before, long during, size_t h0, size_t h1,
       double secs)
{
    long trimmed;

    /* What of the RSS is freed memory glibc still holds: give back every
       whole free page (malloc_trim) and read it again. */
    malloc_trim(0);
    trimmed = rss_kib();
    printf("mode=%s%s%s n=%d open=%d rss_before_kib=%ld rss_inflight_kib=%ld "
           "rss_bytes_per_conn=%.0f heap_bytes_per_conn=%.0f rss_trimmed_kib=%ld "
           "rss_trimmed_bytes_per_conn=%.0f wait_s=%.1f\n",
           o->mode, strcmp(o->mode, "tcp") != 0 ? "/" : "",
           strcmp(o->mode, "tcp") != 0 ? stage_names[o->stage] : "", o->n, open, before, during,
           open ? (double)(during - before) * 1024.0 / open : 0.0,
           open ? ((double)h1 - (double)h0) / open : 0.0, trimmed,
           open ? (double)(trimmed - before) * 1024.0 / open : 0.0, secs);
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
            listen(lfd[i], o->full_backlog ? 0 : 4096) != 0) {
            fprintf(stderr, "bench_inflight listen: 127.0.0.%d:%d: %s\n", i + 1, o->port,
                    strerror(errno));
            free(lfd);
            return 1;
        }
        ev.data.u64 = (uint64_t)i << 32 | 1u; /* low bit: a listening socket */
        /* -b: never accepted, the queue stays full and Linux drops every
           further SYN (the clients retransmit it, in SYN_SENT). */
        if (!o->full_backlog)
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
    double t0, t_all, t_heap;
    size_t heap_last;
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

/* Are all N probes where the stage holds them, going by the sockets? */
static bool
stage_reached(const struct opts *o)
{
    int est = tcp_count(o->port, 1);

    switch (o->stage) {
    case STAGE_CONNECT:
        /* The few the full backlog let through are in the handshake. */
        return tcp_count(o->port, 2) + est >= o->n;
    case STAGE_NTP:
        /* Every key exchange over: only the UDP sockets are left. */
        return est == 0 && tcp_count(o->port, 2) == 0;
    case STAGE_TLS:
    case STAGE_KE:
        break;
    }
    return est >= o->n;
}

/* Measure once every probe is in flight, the sockets say they are in the
   stage, and the heap has not changed for settle_ms (nothing is still on
   its way: a probe whose socket is up may not have sent its ClientHello
   yet, and 10,000 ClientHellos take a while); or at wait_s whatever. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct pstate *ps = arg;
    struct sch_stats st;
    double now = now_s();
    struct timeval tv = {0, 250000};
    size_t heap = heap_used();
    bool all, late = now - ps->t0 > ps->o->wait_s;

    (void)fd;
    (void)what;
    if (heap != ps->heap_last) {
        ps->heap_last = heap;
        ps->t_heap = now;
    }
    sch_stats(ps->sch, &st);
    all = st.in_flight == ps->o->n && stage_reached(ps->o);
    if (late || (all && (now - ps->t_heap) * 1000 >= ps->o->settle_ms)) {
        ps->t_all = now;
        ps->rss_during = rss_kib();
        ps->heap_during = heap_used();
        ps->open = all ? st.in_flight : 0;
        if (!all)
            fprintf(stderr, "bench_inflight: the probes did not all reach stage %s in %d s "
                    "(%d in flight, %d established, %d connecting)\n",
                    stage_names[ps->o->stage], ps->o->wait_s, st.in_flight,
                    tcp_count(ps->o->port, 1), tcp_count(ps->o->port, 2));
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
                             .ntp_timeout_ms = o->ke_timeout_ms,
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
    tls = tlsctx_new(o->ca_file, true, err, sizeof(err));
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
    detail_mark();
    ps.t0 = now_s();
    evtimer_add(ps.tick, &tv);
    event_base_dispatch(ps.base);
    report(o, ps.open, before, ps.rss_during, h0, ps.heap_during, ps.t_all - ps.t0);
    detail_report(ps.open, ps.open ? ((double)ps.heap_during - (double)h0) / ps.open : 0);
    if (ps.results > 0) {
        fprintf(stderr, "bench_inflight: %d probes ended before the measurement\n",
                ps.results);
        rc = 1;
    }
    if (ps.open < o->n)
        rc = 1;
    sch_free(ps.sch);
    /* The bufferevents of cancelled exchanges are freed by their deferred
       callbacks: let the loop run them. */
    for (int i = 0; i < 4; i++)
        event_base_loop(ps.base, EVLOOP_NONBLOCK);
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
    if (with_ssl && !(tls = tlsctx_new(o->ca_file, true, err, sizeof(err)))) {
        fprintf(stderr, "bench_inflight: %s\n", err);
        return 1;
    }
    before = rss_kib();
    h0 = heap_used();
    detail_mark();
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

            /* -S ke: the whole handshake, blocking, certificate checked;
               else only the ClientHello. */
            if (o->stage != STAGE_KE)
                fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK);
            snprintf(host, sizeof(host), "127.0.0.%d", i % o->naddrs + 1);
            ssl[i] = tlsctx_ssl_new(tls, host);
            if (!ssl[i] || !SSL_set_fd(ssl[i], fd[i])) {
                rc = 1;
                break;
            }
            r = SSL_connect(ssl[i]);
            if (o->stage == STAGE_KE ? r != 1
                                     : r != -1 || SSL_get_error(ssl[i], r) != SSL_ERROR_WANT_READ) {
                fprintf(stderr, "bench_inflight: SSL_connect %d: unexpected %d\n", i, r);
                rc = 1;
                break;
            }
        }
    }
    during = rss_kib();
    h1 = heap_used();
    report(o, open, before, during, h0, h1, now_s() - t0);
    detail_report(open, open ? ((double)h1 - (double)h0) / open : 0);
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
            "         [-t TIMEOUT_MS] [-w WAIT_S] [-s SETTLE_MS] [-r READY_FILE] [-d]\n"
            "         [-S tls|connect|ke|ntp] [-c CA_FILE] [-b]\n"
            "  -S  probes: the stage they are held in (default tls: a silent listener;\n"
            "      connect: a listener -b; ke, ntp: ntstestd ke-silent, ntp-silent)\n"
            "  -t  probes: the KE and the NTP timeout (default 60000)\n"
            "  -b  listen: never accept, so the backlog fills and SYNs go unanswered\n"
            "  -d  also print OpenSSL's live allocations per connection by source line\n");
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
    while ((c = getopt(argc, argv, "n:p:a:t:w:s:r:dbS:c:")) != -1) {
        switch (c) {
        case 'n': o.n = (int)strtol(optarg, NULL, 10); break;
        case 'p': o.port = (int)strtol(optarg, NULL, 10); break;
        case 'a': o.naddrs = (int)strtol(optarg, NULL, 10); break;
        case 't': o.ke_timeout_ms = (int)strtol(optarg, NULL, 10); break;
        case 'w': o.wait_s = (int)strtol(optarg, NULL, 10); break;
        case 's': o.settle_ms = (int)strtol(optarg, NULL, 10); break;
        case 'r': o.ready_file = optarg; break;
        case 'd': detail = true; break;
        case 'b': o.full_backlog = true; break;
        case 'c': o.ca_file = optarg; break;
        case 'S':
            o.stage = (enum stage)-1;
            for (size_t i = 0; i < sizeof(stage_names) / sizeof(stage_names[0]); i++)
                if (strcmp(optarg, stage_names[i]) == 0)
                    o.stage = (enum stage)i;
            if ((int)o.stage < 0) {
                usage();
                return 2;
            }
            break;
        default: usage(); return 2;
        }
    }
    if (o.n < 1 || o.port < 1 || o.port > 65535 || o.naddrs < 1 || o.naddrs > 254 ||
        o.ke_timeout_ms < 1 || o.wait_s < 1 || o.settle_ms < 0) {
        usage();
        return 2;
    }
    if (detail)
        detail_install();
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
