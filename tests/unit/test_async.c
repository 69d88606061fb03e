/* test_async.c - the asynchronous machinery of the probe engine against
 * loopback sockets this test makes itself: peers that never speak TLS or
 * speak something else, closed ports, a name server that never answers, the
 * whole-probe deadline and cancellation.  Each case runs one event loop with
 * a bounded wall-clock limit. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "monitor/ke.h"
#include "monitor/ntpx.h"
#include "monitor/probe.h"
#include "monitor/tlsctx.h"

#include "tests/unit/check.h"

static struct event_base *base;
static struct tlsctx *tls;

/* A socket bound to 127.0.0.1 on a free port; returns fd, port in *port. */
static int
bound(int type, uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        abort();
    *port = ntohs(sa.sin_port);
    return fd;
}

static struct sockaddr_in
loopback(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

static void
run_loop(double limit_s)
{
    struct timeval tv = {(time_t)limit_s, (suseconds_t)((limit_s - (time_t)limit_s) * 1e6)};

    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* ---- key exchanges ---- */

static int ke_calls;
static struct ke_result ke_res;

static void
on_ke(const struct ke_result *r, const struct ke_secrets *sec, void *arg)
{
    (void)arg;
    CHECK(sec == NULL || r->status == KE_OK);
    ke_res = *r;
    ke_calls++;
    event_base_loopbreak(base);
}

/* One exchange to t, run to its end. */
static enum ke_status
ke_run(const struct ke_target *t)
{
    ke_calls = 0;
    CHECK(ke_start(base, tls, t, on_ke, NULL) != NULL);
    CHECK_INT(ke_calls, 0);             /* never from inside ke_start */
    run_loop(5);
    CHECK_INT(ke_calls, 1);
    return ke_res.status;
}

static enum ke_status
ke_to(uint16_t port, int timeout_ms)
{
    struct sockaddr_in sa = loopback(port);
    struct nke_request req = {.shape = NKE_SHAPE_PLAIN, .aeads = {15}, .naeads = 1};
    struct ke_target t = {.host = "127.0.0.1", .addr = (struct sockaddr *)&sa,
                          .addrlen = sizeof(sa), .req = &req, .timeout_ms = timeout_ms};

    return ke_run(&t);
}

/* A listener that accepts and then says `banner` (or nothing) forever. */
static const char *banner;

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
          void *arg)
{
    int *kept = arg;

    (void)l;
    (void)sa;
    (void)len;
    if (banner && write(fd, banner, strlen(banner)) < 0)
        abort();
    *kept = fd;                         /* closed by the test */
}

static void
test_ke(void)
{
    uint16_t port;
    int fd, kept = -1;
    struct evconnlistener *l;
    struct sockaddr_in sa;
    double t0;

    /* Closed port: refused at once. */
    fd = bound(SOCK_STREAM, &port);
    close(fd);
    CHECK_INT(ke_to(port, 2000), KE_CONNECT_REFUSED);

    /* A port that accepts TCP but never speaks TLS: ke_timeout, never
       connect_timeout, after the limit and not much later. */
    fd = bound(SOCK_STREAM, &port);
    CHECK(listen(fd, 4) == 0);
    t0 = ke_monotime();
    CHECK_INT(ke_to(port, 300), KE_TIMEOUT);
    CHECK(ke_monotime() - t0 >= 0.29 && ke_monotime() - t0 < 2.0);
    CHECK(ke_res.connect_time >= 0);
    CHECK(strstr(ke_res.detail, "TLS handshake") != NULL);
    close(fd);

    /* A peer that is not TLS at all (an SSH banner): tls_failed, not
       tls_version. */
    banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
    fd = bound(SOCK_STREAM, &port);
    close(fd);
    sa = loopback(port);
    l = evconnlistener_new_bind(base, on_accept, &kept, LEV_OPT_CLOSE_ON_FREE |
                                LEV_OPT_REUSEABLE, 4, (struct sockaddr *)&sa, sizeof(sa));
    CHECK(l != NULL);
    if (l) {
        CHECK_INT(ke_to(port, 2000), KE_TLS_FAILED);
        CHECK(strstr(ke_res.detail, "does not speak TLS") != NULL);
        evconnlistener_free(l);
    }
    if (kept >= 0)
        close(kept);
    banner = NULL;

    /* A failure found inside ke_start (an address longer than any) comes
       from the loop at once, through the deadline timer, not at the limit. */
    {
        struct nke_request req = {.shape = NKE_SHAPE_PLAIN, .aeads = {15}, .naeads = 1};
        struct sockaddr_storage big[2];
        struct ke_target t = {.host = "127.0.0.1", .addr = (struct sockaddr *)big,
                              .addrlen = sizeof(big), .req = &req, .timeout_ms = 5000};

        memset(big, 0, sizeof(big));
        t0 = ke_monotime();
        CHECK_INT(ke_run(&t), KE_LOCAL_ERROR);
        CHECK(strstr(ke_res.detail, "bad address") != NULL);
        CHECK(ke_monotime() - t0 < 1.0);
    }

    /* Cancel before anything happened: no callback, no leak. */
    {
        struct nke_request req = {.shape = NKE_SHAPE_PLAIN, .aeads = {15}, .naeads = 1};
        struct ke_target t;
        struct ke *k;

        fd = bound(SOCK_STREAM, &port);
        CHECK(listen(fd, 4) == 0);
        sa = loopback(port);
        t = (struct ke_target){.host = "127.0.0.1", .addr = (struct sockaddr *)&sa,
                               .addrlen = sizeof(sa), .req = &req, .timeout_ms = 1000};
        ke_calls = 0;
        k = ke_start(base, tls, &t, on_ke, NULL);
        CHECK(k != NULL);
        ke_cancel(k);
        run_loop(0.2);
        CHECK_INT(ke_calls, 0);
        close(fd);
    }
}

/* ---- NTP exchanges ---- */

static int ntp_calls;
static struct ntp_result ntp_res;

static void
on_ntp(const struct ntp_result *r, const uint8_t *cookie, size_t len, void *arg)
{
    (void)arg;
    CHECK(cookie == NULL || r->status == NTP_OK);
    (void)len;
    ntp_res = *r;
    ntp_calls++;
    event_base_loopbreak(base);
}

static void
test_ntp(void)
{
    static const uint8_t key[32] = {1}, cookie[100] = {2};
    uint16_t dns_port, udp_port;
    int dns_fd = bound(SOCK_DGRAM, &dns_port);
    int udp_fd;
    struct evdns_base *dns = evdns_base_new(base, 0);
    char ns[64];
    struct ntpx_target t = {.port = 123, .family = 4, .aead = 15, .key_len = 32,
                            .c2s = key, .s2c = key, .cookie = cookie, .cookie_len = 100,
                            .cookies_wanted = 2, .timeout_ms = 300};
    double t0;

    /* A Server record naming a host whose name server never answers: the
       resolution is bounded and then cancelled (the cancel path once wrote
       to freed memory). */
    CHECK(dns != NULL);
    snprintf(ns, sizeof(ns), "127.0.0.1:%u", (unsigned)dns_port);
    CHECK(evdns_base_nameserver_ip_add(dns, ns) == 0);
    t.server = "ntp.slow.example";
    t.dns_timeout_ms = 200;
    ntp_calls = 0;
    CHECK(ntpx_start(base, dns, &t, on_ntp, NULL) != NULL);
    run_loop(3);
    CHECK_INT(ntp_calls, 1);
    CHECK_INT(ntp_res.status, NTP_DNS_FAILED);
    CHECK(strstr(ntp_res.detail, "took over 200 ms") != NULL);
    run_loop(0.3);                      /* let evdns deliver the cancellation */
    evdns_base_free(dns, 1);
    close(dns_fd);

    /* A silent UDP port: timeout after the limit, the request counted. */
    udp_fd = bound(SOCK_DGRAM, &udp_port);
    t.server = "127.0.0.1";
    t.port = udp_port;
    ntp_calls = 0;
    t0 = ke_monotime();
    CHECK(ntpx_start(base, NULL, &t, on_ntp, NULL) != NULL);
    CHECK_INT(ntp_calls, 0);
    run_loop(3);
    CHECK_INT(ntp_calls, 1);
    CHECK_INT(ntp_res.status, NTP_TIMEOUT);
    CHECK(ke_monotime() - t0 >= 0.29);
    CHECK_INT(ntp_res.cookies_requested, 2);
    {
        uint8_t buf[2048];
        ssize_t n = recv(udp_fd, buf, sizeof(buf), MSG_DONTWAIT);
        CHECK(n > 48 + 36 + 104);           /* header, UID, cookie, placeholder... */
        CHECK_INT(n > 0 ? buf[0] & 7 : 0, 3);   /* mode 3 */
    }
    /* A closed UDP port: ICMP port unreachable must not end it early. */
    close(udp_fd);
    ntp_calls = 0;
    t0 = ke_monotime();
    CHECK(ntpx_start(base, NULL, &t, on_ntp, NULL) != NULL);
    run_loop(3);
    CHECK_INT(ntp_res.status, NTP_TIMEOUT);
    CHECK(ke_monotime() - t0 >= 0.29);
}

/* ---- whole probes ---- */

static int probe_calls;
static struct probe_result probe_res;

static void
on_probe(const struct probe_result *r, void *arg)
{
    (void)arg;
    probe_res = *r;
    probe_calls++;
    event_base_loopbreak(base);
}

static void
test_probe(void)
{
    uint16_t port;
    int fd = bound(SOCK_STREAM, &port);
    struct sockaddr_in sa = loopback(port);
    struct probe_target t = {.host = "127.0.0.1", .port = port,
                             .addr = (struct sockaddr *)&sa, .addrlen = sizeof(sa),
                             .kind = PROBE_KIND_NTS, .aeads = {15}, .naeads = 1,
                             .ke_timeout_ms = 5000, .ntp_timeout_ms = 1000,
                             .deadline_ms = 250};
    struct probe *p;
    double t0;

    CHECK(listen(fd, 4) == 0);
    /* The whole-probe deadline ends a key exchange that would go on. */
    probe_calls = 0;
    t0 = ke_monotime();
    CHECK(probe_start(base, NULL, tls, &t, on_probe, NULL) != NULL);
    run_loop(3);
    CHECK_INT(probe_calls, 1);
    CHECK_INT(probe_res.ke.status, KE_TIMEOUT);
    CHECK(strstr(probe_res.ke.detail, "deadline") != NULL);
    CHECK(ke_monotime() - t0 < 1.0);
    CHECK_INT(probe_res.n_ntp, 2);
    CHECK_INT(probe_res.ntp[0].status, NTP_NOT_ATTEMPTED);
    CHECK_INT(probe_res.family, 4);
    CHECK_STR(probe_res.address, "127.0.0.1");

    /* Cancelled in flight: no callback. */
    probe_calls = 0;
    p = probe_start(base, NULL, tls, &t, on_probe, NULL);
    CHECK(p != NULL);
    run_loop(0.05);
    probe_cancel(p);
    run_loop(0.4);
    CHECK_INT(probe_calls, 0);

    /* Bad arguments are refused, not overflowed. */
    t.naeads = PROBE_MAX_AEADS + 1;
    CHECK(probe_start(base, NULL, tls, &t, on_probe, NULL) == NULL);
    t.naeads = 0;
    CHECK(probe_start(base, NULL, tls, &t, on_probe, NULL) == NULL);
    close(fd);
}

int
main(void)
{
    char err[256];

    base = event_base_new();
    tls = tlsctx_new(NULL, true, err, sizeof(err));
    if (!base || !tls) {
        fprintf(stderr, "setup: %s\n", err);
        return 1;
    }
    test_ke();
    test_ntp();
    test_probe();
    tlsctx_free(tls);
    event_base_free(base);
    return check_finish("test_async");
}
