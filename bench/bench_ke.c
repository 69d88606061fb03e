/* bench_ke.c - the baseline of scripts/bench-monitor.sh: the CPU time of one
 * bare NTS-KE, done as plainly as OpenSSL allows.
 *
 * N times, one after the other, on blocking sockets: TCP connect to
 * 127.0.0.1:PORT, a TLS 1.3 handshake with the monitor's own client context
 * (tlsctx_new: peer verification against the system roots plus the CA file,
 * ALPN ntske/1, no tickets; tlsctx_ssl_new: SNI and the name check for HOST),
 * one NTS-KE request built by nke_build_request (RFC 8915 plain, AEAD 15),
 * the response read to End of Message and parsed by nke_parse_response, the
 * C2S/S2C keys exported, close.  No event loop, no name resolution, no NTP
 * exchange, no database.  Prints the user+system CPU time of this process per
 * key exchange (getrusage, after W warm-up exchanges) and the wall time.
 * Includes OpenSSL itself: a benchmark tool, not part of the library. */
#include "monitor/nke.h"
#include "monitor/tlsctx.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

static double
cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One key exchange; 0 ok, -1 failed (reported). */
static int
one(struct tlsctx *t, const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct nke_request req = {.shape = NKE_SHAPE_PLAIN, .aeads = {15}, .naeads = 1};
    struct nke_response resp;
    uint8_t reqbuf[NKE_MAX_REQ_LEN], buf[NKE_MAX_MSG_LEN], c2s[64], s2c[64];
    char detail[RESULT_DETAIL_MAX] = "";
    size_t len = 0, end = 0;
    long reqlen;
    int fd, one_ = 1, rc = -1;
    SSL *ssl;

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("bench_ke: connect");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_));
    ssl = tlsctx_ssl_new(t, host);
    if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1) {
        fprintf(stderr, "bench_ke: TLS handshake failed\n");
        goto out;
    }
    reqlen = nke_build_request(&req, reqbuf, sizeof(reqbuf));
    if (reqlen < 0 || SSL_write(ssl, reqbuf, (int)reqlen) != (int)reqlen)
        goto out;
    while (nke_message_end(buf, len, &end) == 0) {
        int n;
        if (len == sizeof(buf) || (n = SSL_read(ssl, buf + len, (int)(sizeof(buf) - len))) <= 0) {
            fprintf(stderr, "bench_ke: short response\n");
            goto out;
        }
        len += (size_t)n;
    }
    if (nke_parse_response(buf, end, &req, &resp, detail) != KE_OK) {
        fprintf(stderr, "bench_ke: bad response: %s\n", detail);
        goto out;
    }
    if (tlsctx_export_keys(ssl, 0, 15, 32, c2s, s2c) != 0)
        goto out;
    rc = 0;
out:
    if (ssl)
        tlsctx_ssl_free(ssl);
    close(fd);
    return rc;
}

int
main(int argc, char **argv)
{
    const char *ca = NULL, *host = "localhost";
    int port = 0, n = 1000, warm = 50, opt;
    char err[256];
    struct tlsctx *t;
    double c0, w0, c1, w1;

    while ((opt = getopt(argc, argv, "c:H:p:n:w:")) != -1) {
        switch (opt) {
        case 'c': ca = optarg; break;
        case 'H': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'n': n = atoi(optarg); break;
        case 'w': warm = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: bench_ke -c CA -p PORT [-H HOST] [-n N] [-w WARMUP]\n");
            return 2;
        }
    }
    if (!ca || port <= 0 || n <= 0) {
        fprintf(stderr, "usage: bench_ke -c CA -p PORT [-H HOST] [-n N] [-w WARMUP]\n");
        return 2;
    }
    t = tlsctx_new(ca, false, err, sizeof(err));
    if (!t) {
        fprintf(stderr, "bench_ke: %s\n", err);
        return 1;
    }
    for (int i = 0; i < warm; i++)
        if (one(t, host, port) != 0)
            return 1;
    c0 = cpu_s();
    w0 = now_s();
    for (int i = 0; i < n; i++)
        if (one(t, host, port) != 0)
            return 1;
    c1 = cpu_s();
    w1 = now_s();
    /* One line, key=value, for the scripts. */
    printf("bench_ke n=%d cpu_per_ke_us=%.1f wall_per_ke_us=%.1f\n", n, (c1 - c0) / n * 1e6,
           (w1 - w0) / n * 1e6);
    tlsctx_free(t);
    return 0;
}
