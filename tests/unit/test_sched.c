/* test_sched.c - the scheduler (sched.h) on a real event loop: timing of the
 * first and later starts, the cap on probes in flight and its queue,
 * cancellation by removal and by sch_free, updates, "not applicable", the
 * private-address filter, the AEAD and address rotations and the code point
 * detection against our own test server (build/tests/ntstestd, started here
 * on loopback ports 15000-15999 with a CA made here), and the self-check with
 * a name server that never answers.  Each case runs the loop for a bounded
 * wall-clock time.  Exit 0 pass, 1 fail. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "monitor/dns.h"
#include "monitor/sched.h"
#include "monitor/tlsctx.h"

#include "tests/unit/check.h"

#define MAX_RECS 1024

struct rec {
    enum sch_event_type type;
    int64_t source;
    enum sch_kind kind;
    enum ke_status ke;
    int aead;
    char address[RESULT_ADDR_MAX];
    char detail[RESULT_DETAIL_MAX];
    enum sch_codepoints cp;
    int interval;
    int n_ntp;
    enum ntp_status ntp0;
    double lag, duration, at;
};

static struct event_base *base;
static struct evdns_base *dns;
static struct tlsctx *tls;
static struct sch *sched;
static struct rec recs[MAX_RECS];
static int nrecs;
static char tmpdir[256];
static char srv_path[PATH_MAX];
static double t0;
static void (*hook)(const struct sch_event *ev);   /* re-entrancy tests */
static int max_in_flight_seen;

static double
now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sink(const struct sch_event *ev, void *arg)
{
    struct rec *r;
    struct sch_stats st;

    (void)arg;
    sch_stats(sched, &st);
    if (st.in_flight > max_in_flight_seen)
        max_in_flight_seen = st.in_flight;
    if (nrecs >= MAX_RECS)
        abort();
    r = &recs[nrecs++];
    memset(r, 0, sizeof(*r));
    r->type = ev->type;
    r->source = ev->source;
    r->kind = ev->kind;
    r->cp = ev->codepoints;
    r->interval = ev->interval;
    r->lag = ev->lag;
    r->duration = ev->duration;
    r->at = now_mono() - t0;
    if (ev->res) {
        r->ke = ev->res->ke.status;
        r->aead = ev->res->ke.aead;
        r->n_ntp = ev->res->n_ntp;
        r->ntp0 = ev->res->ntp[0].status;
        snprintf(r->address, sizeof(r->address), "%s", ev->res->address);
        snprintf(r->detail, sizeof(r->detail), "%s", ev->res->ke.detail);
    }
    if (hook)
        hook(ev);
}

static void
run_loop(double s)
{
    struct timeval tv = {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};

    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* Run until pred() or limit seconds; sample the in-flight count meanwhile. */
static bool
run_until(bool (*pred)(void), double limit)
{
    double end = now_mono() + limit;

    while (now_mono() < end) {
        struct sch_stats st;

        if (pred && pred())
            return true;
        run_loop(0.01);
        if (sched) {
            sch_stats(sched, &st);
            if (st.in_flight > max_in_flight_seen)
                max_in_flight_seen = st.in_flight;
        }
    }
    return pred ? pred() : true;
}

static struct sch_config
config(int interval, int max_in_flight, bool allow_private)
{
    struct sch_config c = {.interval = interval, .ke_timeout_ms = 2000,
                           .ntp_timeout_ms = 500, .max_in_flight = max_in_flight,
                           .codepoints = SCH_CP_AUTO, .allow_private = allow_private};
    return c;
}

static void
begin(const struct sch_config *c, struct evdns_base *d)
{
    nrecs = 0;
    hook = NULL;
    max_in_flight_seen = 0;
    sched = sch_new(base, d ? d : dns, tls, c, sink, NULL);
    if (!sched)
        abort();
    t0 = now_mono();
}

static void
end(void)
{
    sch_free(sched);
    sched = NULL;
    hook = NULL;
}

static void
put(int64_t id, const char *host, uint16_t port, unsigned kinds, const char *token,
    enum sch_codepoints cp, enum sch_start how)
{
    struct sch_source s;

    memset(&s, 0, sizeof(s));
    s.id = id;
    snprintf(s.host, sizeof(s.host), "%s", host);
    s.port = port;
    s.kinds = kinds;
    snprintf(s.token, sizeof(s.token), "%s", token ? token : "");
    s.codepoints = cp;
    CHECK_INT(sch_source_put(sched, &s, how), 0);
}

static int
count(enum sch_event_type type, int64_t source)
{
    int n = 0;

    for (int i = 0; i < nrecs; i++)
        n += recs[i].type == type && (source < 0 || recs[i].source == source);
    return n;
}

/* A loopback TCP port: closed (nothing listens) or silent (listens, never
   accepts: the handshake never starts).  Returns the fd (-1 when closed). */
static int
tcp_port(bool listening, uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        abort();
    *port = ntohs(sa.sin_port);
    if (!listening) {
        close(fd);
        return -1;
    }
    if (listen(fd, 64) != 0)
        abort();
    return fd;
}

/* ---- ntstestd ---- */

struct srv {
    pid_t pid;
    uint16_t ke;
};

static int
sh(const char *cmd)
{
    int rc = system(cmd);

    return rc == 0 ? 0 : -1;
}

static int
make_ca(void)
{
    char cmd[4096];

    snprintf(cmd, sizeof(cmd),
             "cd '%s' && "
             "printf 'subjectAltName=DNS:localhost,DNS:multi.test,IP:127.0.0.1,"
             "IP:127.0.0.2\\nbasicConstraints=CA:FALSE\\n' >ext.cnf && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout ca.key -out ca.crt -days 2 -subj /CN=test_sched-ca "
             "-addext basicConstraints=critical,CA:TRUE "
             "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout srv.key -out srv.csr -subj /CN=localhost 2>/dev/null && "
             "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out srv.crt -days 2 -extfile ext.cnf 2>/dev/null && "
             "printf '127.0.0.1 multi.test\\n127.0.0.2 multi.test\\n' >hosts",
             tmpdir);
    return sh(cmd);
}

static void
srv_stop(struct srv *v)
{
    int st;

    if (v->pid <= 0)
        return;
    kill(v->pid, SIGTERM);
    waitpid(v->pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    v->pid = 0;
}

/* Start ntstestd with extra arguments (NULL-terminated) on a port of
   15000-15999, serving 127.0.0.1 and 127.0.0.2.  0 or -1. */
static int
srv_start(struct srv *v, const char *const *extra)
{
    static int n;

    for (int attempt = 0; attempt < 10; attempt++) {
        char ready[PATH_MAX + 16], port[8];
        const char *argv[40];
        int a = 0, st;
        pid_t pid;

        v->ke = (uint16_t)(15000 + ((unsigned)getpid() * 7 + (unsigned)n++ * 13) % 1000);
        snprintf(port, sizeof(port), "%u", (unsigned)v->ke);
        snprintf(ready, sizeof(ready), "%s/ready", tmpdir);
        unlink(ready);
        argv[a++] = srv_path;
        argv[a++] = "--cert";
        argv[a++] = "srv.crt";
        argv[a++] = "--key";
        argv[a++] = "srv.key";
        argv[a++] = "--listen";
        argv[a++] = "127.0.0.1";
        argv[a++] = "--listen";
        argv[a++] = "127.0.0.2";
        argv[a++] = "--ke-port";
        argv[a++] = port;
        argv[a++] = "--ntp-port";
        argv[a++] = port;
        argv[a++] = "--ready-file";
        argv[a++] = "ready";
        for (int i = 0; extra && extra[i] && a < 38; i++)
            argv[a++] = extra[i];
        argv[a] = NULL;
        pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            if (chdir(tmpdir) != 0)
                _exit(127);
            execv(srv_path, (char *const *)(uintptr_t)argv);
            _exit(127);
        }
        for (int i = 0; i < 200; i++) {
            struct stat sb;

            if (stat(ready, &sb) == 0 && sb.st_size > 0) {
                v->pid = pid;
                return 0;
            }
            if (waitpid(pid, &st, WNOHANG) == pid) {
                pid = 0;
                break;              /* port taken, probably: another one */
            }
            usleep(25000);
        }
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
    }
    return -1;
}

/* ---- cases ---- */

static void
test_private(void)
{
    static const struct {
        const char *a;
        bool priv;
    } t[] = {
        {"127.0.0.1", true},     {"10.1.2.3", true},       {"172.16.0.1", true},
        {"172.31.255.255", true}, {"172.32.0.1", false},   {"192.168.1.1", true},
        {"169.254.1.1", true},   {"100.64.0.1", true},     {"100.127.255.255", true},
        {"100.128.0.1", false},  {"0.0.0.0", true},        {"224.0.0.1", true},
        {"255.255.255.255", true}, {"8.8.8.8", false},     {"192.0.2.1", false},
        {"::", true},            {"::1", true},            {"fc00::1", true},
        {"fd12::1", true},       {"fe80::1", true},        {"ff02::1", true},
        {"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true},
        {"::ffff:8.8.8.8", false}, {"2001:db8::1", false}, {"2606:4700::1111", false},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sockaddr_storage ss;

        memset(&ss, 0, sizeof(ss));
        if (strchr(t[i].a, ':')) {
            ss.ss_family = AF_INET6;
            CHECK(inet_pton(AF_INET6, t[i].a, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1);
        } else {
            ss.ss_family = AF_INET;
            CHECK(inet_pton(AF_INET, t[i].a, &((struct sockaddr_in *)&ss)->sin_addr) == 1);
        }
        if (dns_addr_is_private((struct sockaddr *)&ss) != t[i].priv) {
            fprintf(stderr, "dns_addr_is_private(%s) != %d\n", t[i].a, t[i].priv);
            CHECK(0);
        }
    }
    {
        /* The two policies over one private and one public address. */
        struct dns_result res;
        struct sockaddr_in *a = (struct sockaddr_in *)&res.addr[0];
        struct sockaddr_in *b = (struct sockaddr_in *)&res.addr[1];

        memset(&res, 0, sizeof(res));
        CHECK(!dns_result_is_refused(&res, DNS_REFUSE_ALL_PRIVATE)); /* no address */
        CHECK(!dns_result_is_refused(&res, DNS_REFUSE_ANY_PRIVATE));
        a->sin_family = b->sin_family = AF_INET;
        CHECK(inet_pton(AF_INET, "10.0.0.1", &a->sin_addr) == 1);
        CHECK(inet_pton(AF_INET, "8.8.8.8", &b->sin_addr) == 1);
        res.n = 1;
        CHECK(dns_result_is_refused(&res, DNS_REFUSE_ALL_PRIVATE));
        CHECK(dns_result_is_refused(&res, DNS_REFUSE_ANY_PRIVATE));
        res.n = 2;
        CHECK(!dns_result_is_refused(&res, DNS_REFUSE_ALL_PRIVATE));
        CHECK(dns_result_is_refused(&res, DNS_REFUSE_ANY_PRIVATE));
        res.addr[0] = res.addr[1];
        CHECK(!dns_result_is_refused(&res, DNS_REFUSE_ALL_PRIVATE));
        CHECK(!dns_result_is_refused(&res, DNS_REFUSE_ANY_PRIVATE));
    }
    CHECK(dns_error_is_local(EVUTIL_EAI_AGAIN));
    CHECK(dns_error_is_local(EVUTIL_EAI_MEMORY));
    CHECK(!dns_error_is_local(EVUTIL_EAI_NONAME));
    CHECK(!dns_error_is_local(EVUTIL_EAI_FAIL));
    CHECK_STR(sch_health_str(SCH_HEALTH_RESOLVER_DOWN), "resolver_down");
}

/* 20 sources spread over interval 2: first starts cover the interval, none
   later; a source put SOON starts within SCH_NEW_DELAY_MS. */
static bool
have20(void)
{
    return count(SCH_EV_RESULT, -1) >= 20;
}

static void
test_spread(void)
{
    struct sch_config c = config(2, 100, true);
    uint16_t closed;
    double first = 1e9, last = 0;
    int early = 0;

    tcp_port(false, &closed);
    begin(&c, NULL);
    for (int i = 0; i < 20; i++)
        put(i + 1, "127.0.0.1", closed, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO,
            SCH_START_SPREAD);
    CHECK(run_until(have20, 2.5));
    for (int i = 0; i < nrecs && i < 20; i++) {
        double st = recs[i].at - recs[i].duration;
        CHECK_INT(recs[i].ke, KE_CONNECT_REFUSED);
        CHECK_INT(recs[i].n_ntp, 2);
        CHECK_INT(recs[i].ntp0, NTP_NOT_ATTEMPTED);
        first = st < first ? st : first;
        last = st > last ? st : last;
        early += st < 1.0;
    }
    CHECK(first >= 0 && first < 1.0);
    CHECK(last > 1.0 && last < 2.05);
    CHECK(early > 0 && early < 20);
    end();

    c = config(100, 10, true);
    begin(&c, NULL);
    put(7, "127.0.0.1", closed, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO, SCH_START_SOON);
    run_until(NULL, SCH_NEW_DELAY_MS / 1000.0 + 0.3);
    CHECK_INT(count(SCH_EV_RESULT, 7), 1);
    CHECK(nrecs == 0 || recs[0].at - recs[0].duration <= SCH_NEW_DELAY_MS / 1000.0 + 0.05);
    CHECK(nrecs == 0 || recs[0].interval == 100);
    end();
}

/* Interval 1: starts 1 s +- 5 % apart (from the due time, no drift), lag
   near 0; interval 2 likewise. */
static void
test_interval(void)
{
    uint16_t closed;

    tcp_port(false, &closed);
    for (int iv = 1; iv <= 2; iv++) {
        struct sch_config c = config(iv, 10, true);
        double prev = -1;
        int gaps = 0;

        begin(&c, NULL);
        put(1, "127.0.0.1", closed, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO,
            SCH_START_SOON);
        run_until(NULL, iv == 1 ? 5.2 : 7.2);
        CHECK(nrecs >= 4);
        for (int i = 0; i < nrecs; i++) {
            double st = recs[i].at - recs[i].duration;
            if (!(recs[i].lag >= 0 && recs[i].lag < 0.1)) {
                fprintf(stderr, "interval %d: #%d lag %.4f s\n", iv, i, recs[i].lag);
                CHECK(0);
            }
            if (prev >= 0) {
                double gap = st - prev;
                gaps++;
                if (!(gap >= iv * (1 - SCH_JITTER) - 0.03 && gap <= iv * (1 + SCH_JITTER) + 0.03)) {
                    fprintf(stderr, "interval %d: gap %.3f s\n", iv, gap);
                    CHECK(0);
                }
            }
            prev = st;
        }
        CHECK(gaps >= 3);
        end();
    }
}

/* max_in_flight 2, 5 sources against a silent listener: never more than 2
   at once, the others queued and started in turn (lag grows). */
static bool
have5(void)
{
    return count(SCH_EV_RESULT, -1) >= 5;
}

static void
test_cap(void)
{
    struct sch_config c = config(30, 2, true);
    uint16_t port;
    int fd = tcp_port(true, &port);
    int max_queued = 0;
    double end_t;

    c.ke_timeout_ms = 800;
    begin(&c, NULL);
    for (int i = 0; i < 5; i++)
        put(i + 1, "127.0.0.1", port, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO,
            SCH_START_SOON);
    end_t = now_mono() + 4.5;
    while (!have5() && now_mono() < end_t) {
        struct sch_stats st;
        run_loop(0.01);
        sch_stats(sched, &st);
        if (st.queued > max_queued)
            max_queued = st.queued;
        CHECK(st.in_flight <= 2);
        CHECK_INT(st.sources, 5);
    }
    CHECK(have5());
    CHECK(max_in_flight_seen <= 2 && max_in_flight_seen >= 1);
    CHECK(max_queued >= 1);
    {
        double maxlag = 0;
        for (int i = 0; i < nrecs; i++) {
            CHECK_INT(recs[i].ke, KE_TIMEOUT);
            CHECK(recs[i].duration >= 0.79);
            maxlag = recs[i].lag > maxlag ? recs[i].lag : maxlag;
        }
        CHECK(maxlag >= 0.5);           /* someone waited for a place */
    }
    end();
    close(fd);
}

/* Removal cancels probes in flight and queued entries without a sink call;
   the sink may remove and put re-entrantly, the reported source included. */
static bool
some_in_flight(void)
{
    struct sch_stats st;

    sch_stats(sched, &st);
    return st.in_flight >= 2 && st.queued >= 1;
}

static bool
one_in_flight(void)
{
    struct sch_stats st;

    sch_stats(sched, &st);
    return st.in_flight >= 1;
}

static void
reenter(const struct sch_event *ev)
{
    if (ev->source == 1) {
        sch_source_remove(sched, 1);    /* the source being reported */
        put(10, "127.0.0.1", 9, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO,
            SCH_START_SOON);
        sch_source_remove(sched, 2);    /* another one, maybe queued */
    }
}

static void
test_remove(void)
{
    struct sch_config c = config(30, 2, true);
    uint16_t port, closed;
    int fd = tcp_port(true, &port);
    struct sch_stats st;

    tcp_port(false, &closed);
    c.ke_timeout_ms = 2000;
    begin(&c, NULL);
    for (int i = 0; i < 4; i++)
        put(i + 1, "127.0.0.1", port, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO,
            SCH_START_SOON);
    CHECK(run_until(some_in_flight, 2));
    for (int i = 0; i < 4; i++)
        sch_source_remove(sched, i + 1);
    sch_source_remove(sched, 99);       /* unknown: ignored */
    sch_stats(sched, &st);
    CHECK_INT(st.in_flight, 0);
    CHECK_INT(st.queued, 0);
    CHECK_INT(st.sources, 0);
    run_until(NULL, 1.2);
    CHECK_INT(nrecs, 0);
    end();

    /* Re-entrant: source 1's report removes it, adds 10, removes 2. */
    begin(&c, NULL);
    hook = reenter;
    put(1, "127.0.0.1", closed, SCH_KIND_BIT(SCH_NTS_V4) | SCH_KIND_BIT(SCH_NTS_V6), NULL,
        SCH_CP_AUTO, SCH_START_SOON);
    put(2, "127.0.0.1", port, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO, SCH_START_SOON);
    run_until(NULL, 2.5);
    CHECK(count(SCH_EV_RESULT, 1) + count(SCH_EV_NOT_APPLICABLE, 1) == 1);
    CHECK_INT(count(SCH_EV_RESULT, 10), 1);
    sch_stats(sched, &st);
    CHECK_INT(st.sources, 1);
    end();
    close(fd);
}

static bool
have1(void)
{
    return count(SCH_EV_RESULT, -1) >= 1;
}

/* Update: kinds removed stop (in flight cancelled), new port applies. */
static void
test_update(void)
{
    struct sch_config c = config(1, 10, true);
    uint16_t port, closed;
    int fd = tcp_port(true, &port);
    struct sch_stats st;
    int n;

    tcp_port(false, &closed);
    c.ke_timeout_ms = 3000;
    begin(&c, NULL);
    put(1, "127.0.0.1", closed, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO, SCH_START_SOON);
    CHECK(run_until(have1, 1.5));
    CHECK_INT(recs[0].ke, KE_CONNECT_REFUSED);
    /* To the silent port: a probe in flight there ... */
    put(1, "127.0.0.1", port, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO, SCH_START_SOON);
    CHECK(run_until(one_in_flight, 1.2));
    sch_stats(sched, &st);
    CHECK_INT(st.in_flight, 1);
    n = nrecs;
    /* ... is cancelled when its kind goes; the source stays. */
    put(1, "127.0.0.1", port, 0, NULL, SCH_CP_AUTO, SCH_START_SOON);
    sch_stats(sched, &st);
    CHECK_INT(st.in_flight, 0);
    CHECK_INT(st.sources, 1);
    /* Pool kinds without a token are not probed. */
    put(1, "127.0.0.1", port, SCH_KIND_BIT(SCH_POOL_V4), NULL, SCH_CP_AUTO, SCH_START_SOON);
    run_until(NULL, 1.5);
    CHECK_INT(nrecs, n);
    sch_stats(sched, &st);
    CHECK_INT(st.in_flight, 0);
    end();
    close(fd);
}

/* 127.0.0.1 has no IPv6 address: nts-v6 is not applicable.  Without
   allow_private, loopback is not probed. */
static void
test_applicable_private(void)
{
    struct sch_config c = config(100, 10, true);
    uint16_t closed;

    tcp_port(false, &closed);
    begin(&c, NULL);
    put(1, "127.0.0.1", closed, SCH_KIND_BIT(SCH_NTS_V4) | SCH_KIND_BIT(SCH_NTS_V6), NULL,
        SCH_CP_AUTO, SCH_START_SOON);
    run_until(NULL, 1.2);
    CHECK_INT(count(SCH_EV_RESULT, 1), 1);
    CHECK_INT(count(SCH_EV_NOT_APPLICABLE, 1), 1);
    for (int i = 0; i < nrecs; i++) {
        if (recs[i].type == SCH_EV_NOT_APPLICABLE)
            CHECK_INT(recs[i].kind, SCH_NTS_V6);
        else
            CHECK_INT(recs[i].ke, KE_CONNECT_REFUSED);
    }
    end();

    c.allow_private = false;
    begin(&c, NULL);
    put(1, "127.0.0.1", closed, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO, SCH_START_SOON);
    run_until(NULL, 1.2);
    CHECK_INT(count(SCH_EV_RESULT, 1), 1);
    if (nrecs > 0) {
        CHECK_INT(recs[0].ke, KE_DNS_FAILED);
        CHECK_STR(recs[0].detail, "resolves only to private addresses (allow_private = no)");
        CHECK_INT(recs[0].n_ntp, 2);
    }
    end();
}

/* Against ntstestd: each probe offers the next rotation of 15, 17, 30, and
   walks the name's addresses (multi.test: 127.0.0.1 and 127.0.0.2 from a
   hosts file of our own). */
static void
test_rotation(struct evdns_base *hdns)
{
    struct srv v = {0};
    struct sch_config c = config(1, 10, true);
    int aead[16], na = 0, a1 = 0, a2 = 0;

    if (srv_start(&v, NULL) != 0) {
        CHECK(!"ntstestd did not start");
        return;
    }
    begin(&c, hdns);
    put(1, "multi.test", v.ke, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO, SCH_START_SOON);
    run_until(NULL, 4.8);
    for (int i = 0; i < nrecs && na < 16; i++) {
        CHECK_INT(recs[i].ke, KE_OK);
        CHECK_INT(recs[i].ntp0, NTP_OK);
        aead[na++] = recs[i].aead;
        a1 += strcmp(recs[i].address, "127.0.0.1") == 0;
        a2 += strcmp(recs[i].address, "127.0.0.2") == 0;
        if (i > 0)
            CHECK(strcmp(recs[i].address, recs[i - 1].address) != 0);
    }
    CHECK(na >= 4);
    for (int i = 0; i + 3 < na; i++)
        CHECK_INT(aead[i], aead[i + 3]);
    if (na >= 3) {
        int seen15 = 0, seen17 = 0, seen30 = 0;
        for (int i = 0; i < 3; i++) {
            seen15 += aead[i] == 15;
            seen17 += aead[i] == 17;
            seen30 += aead[i] == 30;
        }
        CHECK(seen15 == 1 && seen17 == 1 && seen30 == 1);
        for (int i = 0; i + 1 < na; i++)
            CHECK(aead[i + 1] == (aead[i] == 15 ? 17 : aead[i] == 17 ? 30 : 15));
    }
    CHECK(a1 >= 2 && a2 >= 2);
    end();
    srv_stop(&v);
}

/* Pool kinds, AUTO: ntstestd understanding only one set.  An experimental-
   only server: permanent first, pool_unsupported, the retry in the
   experimental set works: CODEPOINTS then one ok result; later probes go
   straight to it.  Known-but-changed, and a fixed config, likewise. */
static void
test_codepoints(void)
{
    static const char *const exp_only[] = {"--token", "tok-1", "--codepoints",
                                           "experimental", NULL};
    static const char *const perm_only[] = {"--token", "tok-1", "--codepoints",
                                            "permanent", NULL};
    struct srv ex = {0}, pm = {0};
    struct sch_config c = config(1, 10, true);
    int aead[8], na = 0;

    if (srv_start(&ex, exp_only) != 0 || srv_start(&pm, perm_only) != 0) {
        CHECK(!"ntstestd did not start");
        srv_stop(&ex);
        return;
    }
    begin(&c, NULL);
    put(1, "127.0.0.1", ex.ke, SCH_KIND_BIT(SCH_POOL_V4), "tok-1", SCH_CP_AUTO,
        SCH_START_SOON);
    put(2, "127.0.0.1", pm.ke, SCH_KIND_BIT(SCH_POOL_V4), "tok-1", SCH_CP_AUTO,
        SCH_START_SOON);
    /* Known permanent, but the server moved to experimental. */
    put(3, "127.0.0.1", ex.ke, SCH_KIND_BIT(SCH_POOL_V4), "tok-1", SCH_CP_PERMANENT,
        SCH_START_SOON);
    /* Known experimental and right: no event. */
    put(4, "127.0.0.1", ex.ke, SCH_KIND_BIT(SCH_POOL_V4), "tok-1", SCH_CP_EXPERIMENTAL,
        SCH_START_SOON);
    run_until(NULL, 3.5);
    CHECK_INT(count(SCH_EV_CODEPOINTS, 1), 1);
    CHECK_INT(count(SCH_EV_CODEPOINTS, 2), 1);
    CHECK_INT(count(SCH_EV_CODEPOINTS, 3), 1);
    CHECK_INT(count(SCH_EV_CODEPOINTS, 4), 0);
    CHECK(count(SCH_EV_RESULT, 1) >= 2);
    for (int i = 0; i < nrecs; i++) {
        if (recs[i].type == SCH_EV_CODEPOINTS) {
            CHECK_INT(recs[i].cp, recs[i].source == 2 ? SCH_CP_PERMANENT
                                                      : SCH_CP_EXPERIMENTAL);
            /* the result of the same probe follows */
            CHECK(i + 1 < nrecs && recs[i + 1].type == SCH_EV_RESULT &&
                  recs[i + 1].source == recs[i].source);
        } else if (recs[i].type == SCH_EV_RESULT) {
            CHECK_INT(recs[i].ke, KE_OK);
            CHECK_INT(recs[i].ntp0, NTP_OK);
            if (recs[i].source == 1 && na < 8)
                aead[na++] = recs[i].aead;
        } else {
            CHECK(0);
        }
    }
    /* pool kind: our preference order rotates too */
    for (int i = 0; i + 1 < na; i++)
        CHECK(aead[i + 1] == (aead[i] == 15 ? 17 : aead[i] == 17 ? 30 : 15));
    end();

    /* Config EXPERIMENTAL: always that set, no retry, no detection. */
    c.codepoints = SCH_CP_EXPERIMENTAL;
    c.interval = 100;
    begin(&c, NULL);
    put(1, "127.0.0.1", pm.ke, SCH_KIND_BIT(SCH_POOL_V4), "tok-1", SCH_CP_AUTO,
        SCH_START_SOON);
    run_until(NULL, 1.3);
    CHECK_INT(count(SCH_EV_CODEPOINTS, -1), 0);
    CHECK_INT(count(SCH_EV_RESULT, 1), 1);
    CHECK(nrecs == 0 || recs[0].ke == KE_POOL_UNSUPPORTED);
    end();
    srv_stop(&ex);
    srv_stop(&pm);
}

/* A name server that never answers: after the names of 3 sources failed,
   the monitor blames its resolver and results become local_error. */
static bool
three_blamed(void)
{
    int n = 0;

    for (int i = 0; i < nrecs; i++)
        n += recs[i].type == SCH_EV_RESULT && recs[i].ke == KE_LOCAL_ERROR;
    return n >= 3;
}

static void
test_resolver_down(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct evdns_base *silent = evdns_base_new(base, 0);
    struct sch_config c = config(1, 10, true);
    struct sch_stats st;
    char ns[64];
    int dnsf = 0, blamed = 0;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ufd < 0 || bind(ufd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(ufd, (struct sockaddr *)&sa, &len) != 0 || !silent)
        abort();
    snprintf(ns, sizeof(ns), "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    CHECK(evdns_base_nameserver_ip_add(silent, ns) == 0);
    evdns_base_set_option(silent, "timeout:", "0.2");
    evdns_base_set_option(silent, "attempts:", "1");
    begin(&c, silent);
    put(1, "a.sched-test.example", 4460, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO,
        SCH_START_SOON);
    put(2, "b.sched-test.example", 4460, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO,
        SCH_START_SOON);
    put(3, "c.sched-test.example", 4460, SCH_KIND_BIT(SCH_NTS_V4) | SCH_KIND_BIT(SCH_NTS_V6),
        NULL, SCH_CP_AUTO, SCH_START_SOON);
    /* blamed from the second round (1 s interval); bounded for a loaded machine */
    CHECK(run_until(three_blamed, 10.0));
    for (int i = 0; i < nrecs; i++) {
        CHECK_INT(recs[i].type, SCH_EV_RESULT);
        dnsf += recs[i].ke == KE_DNS_FAILED;
        if (recs[i].ke == KE_LOCAL_ERROR) {
            blamed++;
            CHECK(strncmp(recs[i].detail, "monitor resolver down: ", 23) == 0);
        }
    }
    CHECK(dnsf >= 1 && dnsf <= 3);      /* before the third source failed */
    CHECK(blamed >= 3);
    sch_stats(sched, &st);
    CHECK_INT(st.health, SCH_HEALTH_RESOLVER_DOWN);
    CHECK(strstr(st.health_detail, "3 sources") != NULL);
    end();
    /* cancelled requests are delivered by evdns from the loop */
    run_loop(0.3);
    evdns_base_free(silent, 1);
    close(ufd);
}

/* sch_free with probes in flight, queued slots and a resolution pending:
   no sink call, nothing leaks (ASan); sch_set_tls hands back the context
   still in use until those probes end. */
static void
test_free_tls(void)
{
    struct sch_config c = config(30, 2, true);
    uint16_t port;
    int fd = tcp_port(true, &port);
    struct tlsctx *tls2, *old;
    char err[256];
    char ca[PATH_MAX + 8];

    snprintf(ca, sizeof(ca), "%s/ca.crt", tmpdir);
    tls2 = tlsctx_new(ca, true, err, sizeof(err));
    CHECK(tls2 != NULL);
    c.ke_timeout_ms = 5000;
    begin(&c, NULL);
    for (int i = 0; i < 4; i++)
        put(i + 1, "127.0.0.1", port, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO,
            SCH_START_SOON);
    CHECK(run_until(some_in_flight, 2));
    CHECK(sch_tls_idle(sched));
    old = sch_set_tls(sched, tls2);
    CHECK(old == tls);
    CHECK(!sch_tls_idle(sched));
    CHECK(sch_set_tls(sched, tls2) == NULL || !sch_tls_idle(sched));
    end();                              /* with 2 in flight, 2 queued */
    run_until(NULL, 0.3);
    CHECK_INT(nrecs, 0);

    /* Idle once the old context's probes are gone. */
    c.ke_timeout_ms = 300;
    begin(&c, NULL);
    put(1, "127.0.0.1", port, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO, SCH_START_SOON);
    CHECK(run_until(one_in_flight, 1.2));
    old = sch_set_tls(sched, tls2);
    CHECK(old == tls);
    run_until(NULL, 0.5);
    CHECK(sch_tls_idle(sched));
    CHECK(sch_set_tls(sched, tls) == NULL);
    end();
    tlsctx_free(tls2);
    close(fd);
}

/* A listener whose accept queue is full drops further SYNs, so connecting
   to it times out, as to a host out of reach.  Three sources that all time
   out, none connected: network down, and their results become local_error. */
static void
test_network_down(void)
{
    struct sch_config c = config(1, 10, true);
    struct sch_stats st;
    uint16_t port;
    int fd = tcp_port(false, &port), fill[4], nfill = 0, blamed = 0, timeouts = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 0) != 0)
        abort();
    for (int i = 0; i < 4; i++) {
        fill[nfill] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fill[nfill] < 0)
            abort();
        if (connect(fill[nfill], (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
            errno != EINPROGRESS)
            abort();
        nfill++;
    }
    usleep(100000);
    c.ke_timeout_ms = 300;
    begin(&c, NULL);
    for (int i = 1; i <= 3; i++)
        put(i, "127.0.0.1", port, SCH_KIND_BIT(SCH_NTS_V4), NULL, SCH_CP_AUTO,
            SCH_START_SOON);
    run_until(NULL, 2.5);
    for (int i = 0; i < nrecs; i++) {
        timeouts += recs[i].ke == KE_CONNECT_TIMEOUT;
        if (recs[i].ke == KE_LOCAL_ERROR) {
            blamed++;
            CHECK(strncmp(recs[i].detail, "monitor network down: TCP connect", 33) == 0);
        }
    }
    CHECK(timeouts >= 1 && timeouts <= 2);  /* until the third source failed */
    CHECK(blamed >= 2);
    CHECK_INT(timeouts + blamed, nrecs);
    sch_stats(sched, &st);
    CHECK_INT(st.health, SCH_HEALTH_NETWORK_DOWN);
    end();
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    close(fd);
}

/* 10,000 sources x 4 kinds: put, update and remove stay cheap (no scans). */
static void
test_many(void)
{
    struct sch_config c = config(3600, 100, true);
    struct sch_stats st;
    double t;

    begin(&c, NULL);
    t = now_mono();
    for (int i = 0; i < 10000; i++)
        put(i + 1, "192.0.2.1", 4460, SCH_KINDS_ALL, "tok", SCH_CP_AUTO, SCH_START_SPREAD);
    for (int i = 0; i < 10000; i += 2)
        put(i + 1, "192.0.2.2", 4460, SCH_KIND_BIT(SCH_NTS_V4), "", SCH_CP_AUTO,
            SCH_START_SPREAD);
    sch_stats(sched, &st);
    CHECK_INT(st.sources, 10000);
    for (int i = 0; i < 10000; i += 3)
        sch_source_remove(sched, i + 1);
    sch_stats(sched, &st);
    CHECK_INT(st.sources, 10000 - 3334);
    t = now_mono() - t;
    fprintf(stderr, "test_sched: 10000 sources put, 5000 updated, 3334 removed in %.3f s\n",
            t);
    CHECK(t < 2.0);
    end();                              /* frees the other 6666 */
}

static int
find_server(const char *argv0)
{
    const char *b = getenv("BUILD");
    const char *slash = strrchr(argv0, '/');
    char rel[PATH_MAX];
    int n;

    if (b && *b)
        n = snprintf(rel, sizeof(rel), "%.3000s/tests/ntstestd", b);
    else if (slash)
        n = snprintf(rel, sizeof(rel), "%.*s/../ntstestd",
                     (int)(slash - argv0 < 3000 ? slash - argv0 : 3000), argv0);
    else
        n = snprintf(rel, sizeof(rel), "../ntstestd");
    if (n < 0 || !realpath(rel, srv_path))
        return -1;
    return access(srv_path, X_OK);
}

int
main(int argc, char **argv)
{
    char err[256], ca[PATH_MAX + 8], hosts[PATH_MAX + 8], cmd[PATH_MAX + 16];
    struct evdns_base *hdns;

    (void)argc;
    signal(SIGPIPE, SIG_IGN);
    if (find_server(argv[0]) != 0) {
        fprintf(stderr, "test_sched: %s missing (make build/tests/ntstestd)\n", srv_path);
        return 1;
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s/test_sched.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir) || make_ca() != 0) {
        fprintf(stderr, "test_sched: cannot make a test CA in %s\n", tmpdir);
        return 1;
    }
    snprintf(ca, sizeof(ca), "%s/ca.crt", tmpdir);
    snprintf(hosts, sizeof(hosts), "%s/hosts", tmpdir);
    base = event_base_new();
    dns = base ? evdns_base_new(base, 0) : NULL;
    hdns = base ? evdns_base_new(base, 0) : NULL;
    tls = tlsctx_new(ca, true, err, sizeof(err));
    if (!base || !dns || !hdns || !tls || evdns_base_load_hosts(hdns, hosts) != 0) {
        fprintf(stderr, "test_sched: setup: %s\n", tls ? "libevent" : err);
        return 1;
    }

    test_private();
    test_many();
    test_spread();
    test_interval();
    test_cap();
    test_remove();
    test_update();
    test_applicable_private();
    test_rotation(hdns);
    test_codepoints();
    test_resolver_down();
    test_free_tls();
    test_network_down();

    tlsctx_free(tls);
    evdns_base_free(hdns, 0);
    evdns_base_free(dns, 0);
    event_base_free(base);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (sh(cmd) != 0)
        fprintf(stderr, "test_sched: could not remove %s\n", tmpdir);
    return check_finish("test_sched");
}
