/* bench_ingest.c - the store's own rate for scripts/bench-ingest.sh: the
 * baseline of the monitor API's submit path, without HTTP and without JSON.
 *
 * Opens a database (a copy of the one ntspoold serves in the same run), takes
 * its active sources and the monitors whose name starts with PREFIX, and
 * stores samples through db_store_samples in batches of B for T seconds:
 * each batch comes from one monitor (round robin, as one submit does), each
 * monitor walks its own shuffled list of (source, Srvv4 | Srvv6), so a pair
 * comes back only after every other pair of that monitor (no duplicates),
 * dated now.  The results are what the submit path would store: one entry in
 * the shape of tests/data/monitor-api/submit-existing.json per kind, parsed
 * once by monwire_sample_parse (outside the timing), then only the start
 * time and the offsets change per sample.  The interval is ntspoold's
 * default (241 s), as monapi passes cfg->interval.
 *
 * With -c the store checkpoints as ntspoold does (cmd/ntspoold.c): no
 * autocheckpoint on the writer's connection, a thread running a PASSIVE
 * db_ckpt_run every second on a connection of its own; without it, as
 * db_open leaves it (the writer checkpoints when the WAL passes its
 * threshold).  The WAL's size at the end is printed (wal_mb).
 *
 * Prints one line of key=value pairs: batch, samples, secs (time inside
 * db_store_samples), rate (samples/s over that time), wall_rate, stored,
 * duplicate, other (outcomes), p50_ms and p99_ms per call, cpu_us (this
 * process's CPU time per sample: a figure the machine's noise moves less).
 *   bench_ingest -d DB -b BATCH [-t SECONDS] [-p PREFIX] [-S SEED] [-c] */
#include "bench/benchutil.h"
#include "db/db.h"
#include "web/monwire.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define INTERVAL    241
#define MAX_MONITORS 64
#define MAX_CALLS   (1 << 20)

/* The checkpoint thread of -c, as ntspoold's: a PASSIVE checkpoint every
   second until told to stop. */
struct ckpt {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct db_ckpt *c;
};

static void *
ckpt_main(void *arg)
{
    struct ckpt *k = arg;

    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&k->cv, &k->mu, &until);
        if (k->stop)
            break;
        pthread_mutex_unlock(&k->mu);
        db_ckpt_run(k->c, NULL, NULL);
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

/* The submit entry of the fixture's shape for kind `name`, parsed. */
static int
template_of(const char *name, int64_t now, struct monwire_sample *out)
{
    static const char uuid[] = "00000000-0000-4000-8000-000000000000";
    char why[64];
    json_t *ntp[2], *e;
    int rc;

    for (int i = 0; i < 2; i++)
        ntp[i] = json_pack("{s:s,s:I,s:f,s:f,s:f,s:i,s:b,s:i,s:i}", "status", "Success",
                           "request_sent", (json_int_t)now, "roundtrip_duration", 0.00819,
                           "remote_residence_time", 0.000075, "offset", 0.0000463,
                           "stratum", 2, "leap_indicates_synchronized", 1,
                           "requested_cookies", 1, "received_cookies", 1);
    e = json_pack("[[s,s],{s:{s:s,s:s,s:I,s:f,s:i},s:o,s:o}]", name, uuid, "keyexchange",
                  "status", "Success", "description", "", "exchange_start",
                  (json_int_t)now, "exchange_duration", 0.0655, "num_cookies", 8,
                  "ntp_with_ke_cookie", ntp[0], "ntp_with_ntp_cookie", ntp[1]);
    if (!e)
        return -1;
    rc = monwire_sample_parse(e, now - 86400, now + 60, out, why, sizeof(why));
    if (rc != 0)
        fprintf(stderr, "bench_ingest: template %s: %s\n", name, why);
    json_decref(e);
    return rc;
}

static void
usage(void)
{
    fprintf(stderr, "usage: bench_ingest -d DB -b BATCH [-t SECONDS] [-p PREFIX] [-S SEED]\n");
}

int
main(int argc, char **argv)
{
    const char *path = NULL, *prefix = "ingest-";
    int batch = 0, opt, nmon = 0;
    double secs = 10, busy = 0, wall0, cpu0, *ms;
    int64_t mon[MAX_MONITORS], now = (int64_t)time(NULL), after = 0;
    struct monwire_sample tmpl[2];
    struct db_source *src = NULL;
    size_t nsrc = 0, npairs, cursor[MAX_MONITORS] = {0}, calls = 0;
    struct db_monitor *mons = NULL;
    size_t nmons = 0;
    long long samples = 0, outcome[7] = {0};
    unsigned long long seed = 1;
    uint32_t **perm;
    struct probe_result *res;
    struct db_sample *b;
    struct db_stored *st;
    char *err = NULL, wal[600];
    struct db *db;
    bool service_ckpt = false;
    struct ckpt ck = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, NULL};
    pthread_t th;
    struct stat stw;

    while ((opt = getopt(argc, argv, "d:b:t:p:S:c")) != -1) {
        switch (opt) {
        case 'd': path = optarg; break;
        case 'b': batch = atoi(optarg); break;
        case 't': secs = atof(optarg); break;
        case 'p': prefix = optarg; break;
        case 'S': seed = strtoull(optarg, NULL, 10); break;
        case 'c': service_ckpt = true; break;
        default: usage(); return 2;
        }
    }
    if (!path || batch <= 0 || batch > MONWIRE_MAX_ITEMS || !(secs > 0)) {
        usage();
        return 2;
    }
    bench_seed(0x9E3779B97F4A7C15ull ^ seed * 0x2545F4914F6CDD1Dull);
    db = db_open(path, &err);
    if (!db) {
        fprintf(stderr, "bench_ingest: %s: %s\n", path, err ? err : "cannot open");
        free(err);
        return 1;
    }
    for (;;) { /* every active source, in pages */
        struct db_source *page = NULL, *grown;
        size_t n = 0;

        if (db_sources_active(db, after, 1000, &page, &n) != 0)
            return 1;
        grown = realloc(src, (nsrc + n + 1) * sizeof(*src));
        if (!grown)
            return 1;
        src = grown;
        memcpy(src + nsrc, page, n * sizeof(*page));
        nsrc += n;
        if (n)
            after = page[n - 1].id;
        free(page);
        if (n < 1000)
            break;
    }
    if (db_monitors_list(db, &mons, &nmons) != 0)
        return 1;
    for (size_t i = 0; i < nmons && nmon < MAX_MONITORS; i++)
        if (strncmp(mons[i].name, prefix, strlen(prefix)) == 0 &&
            mons[i].status == DB_MONITOR_ACTIVE)
            mon[nmon++] = mons[i].id;
    free(mons);
    if (nsrc == 0 || nmon == 0) {
        fprintf(stderr, "bench_ingest: %zu sources, %d monitors named %s*\n", nsrc, nmon,
                prefix);
        return 1;
    }
    if (template_of("Srvv4", now, &tmpl[0]) != 0 || template_of("Srvv6", now, &tmpl[1]) != 0)
        return 1;
    /* Each monitor's own shuffled walk over (source, kind). */
    npairs = 2 * nsrc;
    perm = calloc((size_t)nmon, sizeof(*perm));
    if (!perm)
        return 1;
    for (int m = 0; m < nmon; m++) {
        perm[m] = calloc(npairs, sizeof(**perm));
        if (!perm[m])
            return 1;
        bench_permutation(perm[m], npairs);
    }
    res = calloc((size_t)batch, sizeof(*res));
    b = calloc((size_t)batch, sizeof(*b));
    st = calloc((size_t)batch, sizeof(*st));
    ms = calloc(MAX_CALLS, sizeof(*ms));
    if (!res || !b || !st || !ms)
        return 1;
    if (service_ckpt) {
        ck.c = db_ckpt_open(path, &err);
        if (!ck.c || db_set_autocheckpoint(db, 0) != 0 ||
            pthread_create(&th, NULL, ckpt_main, &ck) != 0) {
            fprintf(stderr, "bench_ingest: checkpointer: %s\n", err ? err : "cannot start");
            return 1;
        }
    }
    wall0 = bench_now();
    cpu0 = bench_cpu();
    while (bench_now() - wall0 < secs && calls < MAX_CALLS) {
        int m = (int)(calls % (size_t)nmon);
        double t0;

        now = (int64_t)time(NULL);
        for (int i = 0; i < batch; i++) {
            uint32_t pair = perm[m][cursor[m]++ % npairs];
            struct probe_result *r = &res[i];

            *r = tmpl[pair & 1].res;
            snprintf(r->host, sizeof(r->host), "%s", src[pair >> 1].host);
            r->port = (uint16_t)src[pair >> 1].port;
            r->start_time = now;
            r->start_time_frac = (double)(cursor[m] % 1000) / 1000.0;
            for (int k = 0; k < 2; k++) {
                double d = ((double)(bench_rand64() % 2001) - 1000.0) * 1e-7;
                r->ntp[k].offset += d;
                r->ntp[k].t2 += d;
                r->ntp[k].t3 += d;
            }
            b[i] = (struct db_sample){src[pair >> 1].id, mon[m], r, 0, INTERVAL};
        }
        t0 = bench_now();
        if (db_store_samples(db, b, (size_t)batch, now, st) != 0) {
            fprintf(stderr, "bench_ingest: store failed\n");
            return 1;
        }
        ms[calls] = (bench_now() - t0) * 1000;
        busy += ms[calls] / 1000;
        calls++;
        samples += batch;
        for (int i = 0; i < batch; i++)
            outcome[st[i].outcome]++;
    }
    wall0 = bench_now() - wall0;
    cpu0 = bench_cpu() - cpu0;
    snprintf(wal, sizeof(wal), "%s-wal", path);
    if (stat(wal, &stw) != 0)
        stw.st_size = 0;
    if (service_ckpt) {
        pthread_mutex_lock(&ck.mu);
        ck.stop = true;
        pthread_cond_signal(&ck.cv);
        pthread_mutex_unlock(&ck.mu);
        pthread_join(th, NULL);
        db_ckpt_close(ck.c);
    }
    qsort(ms, calls, sizeof(*ms), bench_cmp_double);
    printf("batch=%d samples=%lld secs=%.3f rate=%.0f wall_rate=%.0f stored=%lld "
           "duplicate=%lld other=%lld p50_ms=%.3f p99_ms=%.3f cpu_us=%.1f wal_mb=%.0f\n",
           batch, samples, busy, samples / busy, samples / wall0,
           outcome[DB_STORED] + outcome[DB_DISCARDED] + outcome[DB_LATE],
           outcome[DB_DUPLICATE], outcome[DB_INVALID] + outcome[DB_FUTURE] + outcome[DB_TOO_OLD],
           ms[calls / 2], ms[calls * 99 / 100], cpu0 * 1e6 / (double)samples,
           (double)stw.st_size / 1048576.0);
    db_close(db);
    for (int m = 0; m < nmon; m++)
        free(perm[m]);
    free(perm);
    free(src);
    free(res);
    free(b);
    free(st);
    free(ms);
    return 0;
}
