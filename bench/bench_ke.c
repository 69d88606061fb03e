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
 *
 * The fair baseline under load (-j J -r RATE, PORT a comma-separated list):
 * J processes share the N exchanges, spread over the ports in turn and
 * paced to RATE exchanges per second in all, so the servers and the machine
 * carry the load they carry while the service probes at that rate; the CPU
 * per exchange is then the sum over the processes (each measures itself
 * after its warm-up and reports through a pipe).
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
#include <sys/wait.h>
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

/* Sleep until t (CLOCK_MONOTONIC seconds); no-op when past. */
static void
sleep_until(double t)
{
    double d = t - now_s();
    struct timespec ts;

    if (d <= 0)
        return;
    ts.tv_sec = (time_t)d;
    ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

/* Worker k of j: exchanges k, k+j, k+2j, ... of n (after its share of the
   warm-up), exchange i on ports[i % nports] and, with rate > 0, not before
   start + i / rate.  Sets *cpu to its CPU seconds over the measured part. */
static int
worker(struct tlsctx *t, const char *host, const int *ports, int nports, int n, int warm,
       int k, int j, double rate, double *cpu, double *wall, int *done)
{
    double c0, start;
    int i;

    for (i = k; i < warm; i += j)
        if (one(t, host, ports[i % nports]) != 0)
            return -1;
    *done = 0;
    c0 = cpu_s();
    start = now_s();
    for (i = k; i < n; i += j) {
        if (rate > 0)
            sleep_until(start + i / rate);
        if (one(t, host, ports[i % nports]) != 0)
            return -1;
        (*done)++;
    }
    *cpu = cpu_s() - c0;
    *wall = now_s() - start;
    return 0;
}

#define MAX_PORTS 64

int
main(int argc, char **argv)
{
    const char *ca = NULL, *host = "localhost";
    int ports[MAX_PORTS], nports = 0, n = 1000, warm = 50, jobs = 1, opt, total = 0;
    double rate = 0, cpu = 0, w0, w1;
    char err[256], *p, *end;
    struct tlsctx *t;
    int fds[2];

    while ((opt = getopt(argc, argv, "c:H:p:n:w:j:r:")) != -1) {
        switch (opt) {
        case 'c': ca = optarg; break;
        case 'H': host = optarg; break;
        case 'p':
            for (p = optarg; *p && nports < MAX_PORTS; p = *end ? end + 1 : end) {
                ports[nports] = (int)strtol(p, &end, 10);
                if (ports[nports] <= 0 || (*end && *end != ','))
                    goto usage;
                nports++;
            }
            break;
        case 'n': n = atoi(optarg); break;
        case 'w': warm = atoi(optarg); break;
        case 'j': jobs = atoi(optarg); break;
        case 'r': rate = atof(optarg); break;
        default: goto usage;
        }
    }
    if (!ca || nports == 0 || n <= 0 || jobs < 1 || jobs > 256 || rate < 0)
        goto usage;
    t = tlsctx_new(ca, false, err, sizeof(err));
    if (!t) {
        fprintf(stderr, "bench_ke: %s\n", err);
        return 1;
    }
    if (jobs == 1) {
        double wall;

        if (worker(t, host, ports, nports, n, warm, 0, 1, rate, &cpu, &wall, &total) != 0)
            return 1;
        w0 = 0;
        w1 = wall;
    } else {
        if (pipe(fds) != 0) {
            perror("bench_ke: pipe");
            return 1;
        }
        w0 = now_s();
        for (int k = 0; k < jobs; k++) {
            pid_t pid = fork();

            if (pid < 0) {
                perror("bench_ke: fork");
                return 1;
            }
            if (pid == 0) {
                double c = 0, wall;
                int d = 0;
                char line[64];
                int len;

                close(fds[0]);
                if (worker(t, host, ports, nports, n, warm, k, jobs, rate, &c, &wall, &d) != 0)
                    _exit(1);
                len = snprintf(line, sizeof(line), "%.6f %d\n", c, d);
                _exit(write(fds[1], line, (size_t)len) == len ? 0 : 1);
            }
        }
        close(fds[1]);
        for (int k = 0; k < jobs; k++) {
            int st;

            if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "bench_ke: a worker failed\n");
                return 1;
            }
        }
        w1 = now_s();
        {
            FILE *f = fdopen(fds[0], "r");
            double c;
            int d;

            while (f && fscanf(f, "%lf %d", &c, &d) == 2) {
                cpu += c;
                total += d;
            }
            if (f)
                fclose(f);
        }
    }
    if (total != n) {
        fprintf(stderr, "bench_ke: %d exchanges of %d measured\n", total, n);
        return 1;
    }
    /* One line, key=value, for the scripts (wall includes the warm-up with -j). */
    printf("bench_ke n=%d jobs=%d rate=%.1f cpu_per_ke_us=%.1f wall_per_ke_us=%.1f\n", n, jobs,
           rate, cpu / n * 1e6, (w1 - w0) / n * 1e6);
    tlsctx_free(t);
    return 0;
usage:
    fprintf(stderr, "usage: bench_ke -c CA -p PORT[,PORT...] [-H HOST] [-n N] [-w WARMUP]"
                    " [-j JOBS] [-r RATE]\n");
    return 2;
}
