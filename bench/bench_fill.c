/* bench_fill.c - fill a database for the service benchmarks
 * (scripts/bench-monitor.sh, scripts/bench-api.sh), through db_ calls only.
 *
 * Creates one account (bench@example.org) with an API token, printed on
 * stdout, and S time sources: source i is the host s<i / P>.DOMAIN (default
 * bench.test) on port PORTS[i % P] when -p gives P ports (so S = names x
 * ports, every (host, port) pair distinct); or, with -L, s<i>.DOMAIN on
 * port PORTS[0] for the first L sources, and for the others (j = i - L)
 * d<j / D>.DOMAIN on DEAD[j % D], the D ports of -D (closed ports: the
 * monitor's connect is refused).  Sources
 * have no randomizer (no token): ntspoold probes their nts kinds only; with
 * -k each gets one (a rekey), so get_work hands out its pool kinds too.
 *
 * With -r R it also stores R rounds of samples of every source and kind
 * (4 kinds) from one monitor ("bench"), as a long-running monitor would have
 * left them: the rounds end shortly before now, 241 s apart, results like
 * bench_db.c's (mostly good, a few percent failures), in source order,
 * batches of 1000 through db_store_samples.  10,000 sources x 50 rounds =
 * 2M samples.  With -a AGE the rounds end AGE seconds before now instead
 * (scripts/soak.sh: samples old enough for the retention job to fold).  Progress and the rate go to stderr. */
#include "bench/benchutil.h"
#include "db/db.h"
#include "web/web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INTERVAL 241
#define BATCH    1000
#define MAX_PORTS 64

/* A plausible result of kind k (0..3: nts-v4, nts-v6, pool-v4, pool-v6). */
static void
make_result(struct probe_result *r, const char *host, int port, int src, int k, int64_t t)
{
    double u = bench_urand();

    result_probe_init(r);
    r->kind = k >= 2 ? PROBE_KIND_POOL : PROBE_KIND_NTS;
    r->family = k % 2 ? 6 : 4;
    snprintf(r->host, sizeof(r->host), "%s", host);
    r->port = port;
    snprintf(r->address, sizeof(r->address), "%s", r->family == 4 ? "127.0.0.1" : "::1");
    r->start_time = t;
    r->ke.duration = 0.002 + 0.01 * bench_urand();
    r->ke.connect_time = r->ke.duration * 0.1;
    r->ke.handshake_time = r->ke.duration * 0.7;
    if (u < 0.02) {
        r->ke.status = KE_CONNECT_REFUSED;
        snprintf(r->ke.detail, sizeof(r->ke.detail), "Connection refused");
        return;
    }
    r->ke.status = KE_OK;
    snprintf(r->ke.tls_version, sizeof(r->ke.tls_version), "TLSv1.3");
    snprintf(r->ke.cipher, sizeof(r->ke.cipher), "TLS_AES_256_GCM_SHA384");
    snprintf(r->ke.alpn, sizeof(r->ke.alpn), "ntske/1");
    snprintf(r->ke.subject, sizeof(r->ke.subject), "CN=localhost");
    snprintf(r->ke.issuer, sizeof(r->ke.issuer), "CN=ntspool bench CA");
    r->ke.not_after = 1790000000;
    r->ke.next_protocol = 0;
    r->ke.aead = 15;
    r->ke.cookies = 8;
    r->ke.cookie_size = 100;
    snprintf(r->ke.ntp_server, sizeof(r->ke.ntp_server), "%s", r->address);
    r->ke.ntp_port = 123;
    r->n_ntp = 2;
    for (int i = 0; i < 2; i++) {
        struct ntp_result *x = &r->ntp[i];

        snprintf(x->address, sizeof(x->address), "%s", r->address);
        x->port = 123;
        x->status = NTP_OK;
        x->offset = (bench_urand() - 0.5) * 0.002;
        x->delay = 0.0001 + 0.001 * bench_urand();
        x->stratum = 2;
        x->precision = -24;
        x->root_delay = 0.001;
        x->root_dispersion = 0.002;
        x->refid = 0xC0000201u + (uint32_t)(src % 4);
        x->cookies_requested = 2;
        x->cookies_received = 2;
    }
}

static void
usage(void)
{
    fprintf(stderr, "usage: bench_fill -d DB -n SOURCES [-H DOMAIN] -p PORT[,PORT...] "
                    "[-L LIVE -D DEAD_PORT[,DEAD_PORT...]] [-r ROUNDS [-a AGE_S]] [-k]\n");
}

int
main(int argc, char **argv)
{
    const char *path = NULL, *domain = "bench.test";
    int nsrc = 0, nports = 0, live = -1, ndead = 0, rounds = 0, age = 0, opt;
    bool rekey = false;
    int ports[MAX_PORTS], dead[MAX_PORTS];
    char *err = NULL, token[WEB_TOKEN_LEN + 1];
    unsigned char hash[DB_HASH_LEN];
    int64_t user, tok, mon = 0, *ids, now = (int64_t)time(NULL);
    struct db *db;
    char (*hosts)[DB_HOST_MAX];
    int *sport;

    while ((opt = getopt(argc, argv, "d:n:H:p:L:D:r:a:k")) != -1) {
        switch (opt) {
        case 'd': path = optarg; break;
        case 'n': nsrc = atoi(optarg); break;
        case 'H': domain = optarg; break;
        case 'p':
            for (char *p = optarg; *p && nports < MAX_PORTS;) {
                ports[nports++] = (int)strtol(p, &p, 10);
                if (*p == ',')
                    p++;
            }
            break;
        case 'L': live = atoi(optarg); break;
        case 'D':
            for (char *p = optarg; *p && ndead < MAX_PORTS;) {
                dead[ndead++] = (int)strtol(p, &p, 10);
                if (*p == ',')
                    p++;
            }
            break;
        case 'r': rounds = atoi(optarg); break;
        case 'a': age = atoi(optarg); break;
        case 'k': rekey = true; break;
        default: usage(); return 2;
        }
    }
    if (!path || nsrc <= 0 || nports <= 0 || (live >= 0 && ndead <= 0) || age < 0) {
        usage();
        return 2;
    }
    ids = calloc((size_t)nsrc, sizeof(*ids));
    hosts = calloc((size_t)nsrc, sizeof(*hosts));
    sport = calloc((size_t)nsrc, sizeof(*sport));
    if (!ids || !hosts || !sport)
        return 1;
    db = db_open(path, &err);
    if (!db) {
        fprintf(stderr, "bench_fill: %s: %s\n", path, err ? err : "cannot open");
        free(err);
        return 1;
    }
    if (db_begin(db) != 0 || db_user_add(db, "bench@example.org", "", false, now, &user) != 0 ||
        web_token_new(token, WEB_TOKEN_PREFIX) != 0 || db_hash(token, hash) != 0 ||
        db_api_token_add(db, user, "bench", hash, now, &tok) != 0)
        return 1;
    for (int i = 0; i < nsrc; i++) {
        struct db_source s;

        if (live >= 0) {
            if (i < live) {
                snprintf(hosts[i], sizeof(hosts[i]), "s%d.%s", i, domain);
                sport[i] = ports[0];
            } else {
                snprintf(hosts[i], sizeof(hosts[i]), "d%d.%s", (i - live) / ndead, domain);
                sport[i] = dead[(i - live) % ndead];
            }
        } else {
            snprintf(hosts[i], sizeof(hosts[i]), "s%d.%s", i / nports, domain);
            sport[i] = ports[i % nports];
        }
        if (db_source_add(db, user, hosts[i], sport[i], now, &s) != 0) {
            fprintf(stderr, "bench_fill: cannot add %s:%d\n", hosts[i], sport[i]);
            return 1;
        }
        ids[i] = s.id;
        if (rekey) {
            /* Any secret: the randomizer is what is stored; the service
               derives the tokens with its own. */
            static const unsigned char secret[32] = {1};
            char stok[DB_TOKEN_LEN + 1];

            if (db_source_rekey(db, s.id, -1, secret, sizeof(secret), stok) != 1) {
                fprintf(stderr, "bench_fill: cannot rekey %s:%d\n", hosts[i], sport[i]);
                return 1;
            }
        }
    }
    if (rounds > 0 && db_monitor_add(db, "bench", "bench-monitor-key-unused", now, &mon) != 0)
        return 1;
    if (db_commit(db) != 0)
        return 1;
    if (rounds > 0) {
        struct probe_result *res = calloc(BATCH, sizeof(*res));
        struct db_sample *batch = calloc(BATCH, sizeof(*batch));
        long long total = (long long)nsrc * 4 * rounds, done = 0;
        double t0 = bench_now();
        int n = 0;

        if (!res || !batch)
            return 1;
        for (int round = 0; round < rounds; round++) {
            int64_t t = now - age - (int64_t)(rounds - round) * INTERVAL;
            for (int i = 0; i < nsrc; i++)
                for (int k = 0; k < 4; k++) {
                    make_result(&res[n], hosts[i], sport[i], i, k, t + i % INTERVAL);
                    batch[n] = (struct db_sample){ids[i], mon, &res[n], 0, INTERVAL};
                    if (++n == BATCH) {
                        if (db_store_samples(db, batch, (size_t)n, now, NULL) != 0)
                            return 1;
                        done += n;
                        n = 0;
                    }
                }
            if ((round + 1) % 10 == 0)
                fprintf(stderr, "bench_fill: %lld/%lld samples, %.0f/s\n", done, total,
                        done / (bench_now() - t0));
        }
        if (n > 0 && db_store_samples(db, batch, (size_t)n, now, NULL) != 0)
            return 1;
        done += n;
        fprintf(stderr, "bench_fill: %lld samples stored in %.1f s (%.0f/s)\n", done,
                bench_now() - t0, done / (bench_now() - t0));
        free(res);
        free(batch);
    }
    db_close(db);
    printf("%s\n", token);
    free(ids);
    free(hosts);
    free(sport);
    return 0;
}
