/* bench_db.c - how fast the store takes samples and how much disk they use.
 *
 * Simulates the pool of PRODUCT.md "Scale": S sources x 4 kinds x M monitors
 * (default 10,000 x 4 x 3), R probe rounds 241 s apart (default 16: ~1.9M
 * samples, a database of several hundred MB), submitted in batches of B
 * through db_store_samples (insert + score + latest-score upsert, one
 * transaction per batch).
 *
 * Within a round the samples arrive in a random order (seeded, -S): every
 * batch touches ~B different sources, as a central service sees ten monitors
 * delivering at once, with no locality to flatter the indexes.  Their times
 * follow the arrival order (a sample's time is when it was probed, which is
 * shortly before it arrives).
 *
 * The headline is the steady-state rate, the mean of the last L rounds
 * (default 4) on the grown database, next to the overall rate; every round's
 * rate is printed too, so a decline with size shows.  Then retention: folding
 * calls on the grown database, with the time of each call (the service runs
 * them in its event loop).  Then bytes per stored sample.  Because the machine
 * is shared and noisy, the same run also measures two baselines on the same
 * rows: db_store_samples with one sample per transaction, and raw SQLite
 * inserts into an unindexed table of the same columns (the floor); their
 * ratios travel better than absolute rates.  Run through scripts/bench-db.sh,
 * which builds it. */
#include "bench/benchutil.h"
#include "db/db.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define T0       1700000000 /* time of the first round */
#define INTERVAL 241

struct opts {
    int sources, monitors, rounds, last, warmup, batch, single, raw, folds;
    unsigned long long seed;
    const char *dir;
};

/* A plausible result for source src, kind k, at time t of round `round`:
   mostly good, a few percent of the failures real pools see. */
static void
make_result(struct probe_result *r, int src, int k, int64_t t, int round)
{
    int family = k % 2 ? 6 : 4;
    double u = bench_urand();

    result_probe_init(r);
    r->kind = k >= 2 ? PROBE_KIND_POOL : PROBE_KIND_NTS;
    r->family = family;
    snprintf(r->host, sizeof(r->host), "nts%d.example.org", src);
    r->port = 4460;
    /* Two addresses per family, probed in rotation. */
    if (family == 4)
        snprintf(r->address, sizeof(r->address), "198.51.%d.%d", (src >> 7) & 255,
                 (src & 127) * 2 + round % 2);
    else
        snprintf(r->address, sizeof(r->address), "2001:db8:%x::%x", src, 1 + round % 2);
    r->start_time = t;
    r->ke.duration = 0.005 + 0.1 * bench_urand();
    r->ke.connect_time = r->ke.duration * 0.2;
    r->ke.handshake_time = r->ke.duration * 0.6;
    if (u < 0.02) {
        r->ke.status = KE_CONNECT_TIMEOUT;
        snprintf(r->ke.detail, sizeof(r->ke.detail),
                 "TCP connect did not complete in 10.0 s");
        return;
    }
    if (u < 0.03 && r->kind == PROBE_KIND_POOL) {
        r->ke.status = KE_TOKEN_REJECTED;
        snprintf(r->ke.detail, sizeof(r->ke.detail), "Error record 1 (bad request)");
        return;
    }
    r->ke.status = KE_OK;
    snprintf(r->ke.tls_version, sizeof(r->ke.tls_version), "TLSv1.3");
    snprintf(r->ke.cipher, sizeof(r->ke.cipher), "TLS_AES_256_GCM_SHA384");
    snprintf(r->ke.alpn, sizeof(r->ke.alpn), "ntske/1");
    snprintf(r->ke.subject, sizeof(r->ke.subject), "CN=nts%d.example.org", src);
    snprintf(r->ke.issuer, sizeof(r->ke.issuer), "CN=R11,O=Let's Encrypt,C=US");
    r->ke.not_after = 1790000000 + src * 3600;
    r->ke.next_protocol = 0;
    r->ke.aead = round % 3 == 2 ? 30 : round % 3 == 1 ? 17 : 15;
    r->ke.cookies = 8;
    r->ke.cookie_size = 100;
    snprintf(r->ke.ntp_server, sizeof(r->ke.ntp_server), "%s", r->address);
    r->ke.ntp_port = 123;
    if (r->kind == PROBE_KIND_POOL) {
        r->ke.n_supported_aeads = 2;
        r->ke.supported_aeads[0].id = 15;
        r->ke.supported_aeads[0].key_length = 32;
        r->ke.supported_aeads[1].id = 17;
        r->ke.supported_aeads[1].key_length = 64;
        r->ke.n_supported_protocols = 1;
    }
    r->n_ntp = 2;
    for (int i = 0; i < 2; i++) {
        struct ntp_result *x = &r->ntp[i];

        snprintf(x->address, sizeof(x->address), "%s", r->address);
        x->port = 123;
        if (u > 0.99 && i == 1) {
            x->status = NTP_TIMEOUT;
            snprintf(x->detail, sizeof(x->detail), "no answer in 1000 ms");
            continue;
        }
        x->status = NTP_OK;
        x->offset = (bench_urand() - 0.5) * 0.004;
        x->delay = 0.002 + 0.05 * bench_urand();
        x->stratum = 2;
        x->leap = 0;
        x->precision = -24;
        x->root_delay = (double)(int)(bench_urand() * 2000) / 65536.0;
        x->root_dispersion = (double)(int)(bench_urand() * 3000) / 65536.0;
        x->refid = 0xC0000201u + (uint32_t)(src % 4);
        x->cookies_requested = 2;
        x->cookies_received = 2;
    }
}

/* The two calls of the store this program times. */
static int
store(struct db *db, const struct db_sample *s, size_t n, int64_t now)
{
    return db_store_samples(db, s, n, now, NULL);
}

static int
fold(struct db *db, int64_t now)
{
    return db_fold_old_samples(db, now, 15, 0, 0); /* default chunk and budget */
}

static long long
file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Set up users, sources and monitors; returns the db. */
static struct db *
setup(const char *path, const struct opts *o, int64_t *src_ids, int64_t *mon_ids)
{
    char *err = NULL;
    struct db *db = db_open(path, &err);
    int64_t user;

    if (!db) {
        fprintf(stderr, "bench: %s\n", err);
        free(err);
        exit(1);
    }
    if (db_begin(db) < 0 ||
        db_user_add(db, "bench@example.org", "x", false, 1, &user) != 0)
        exit(1);
    for (int i = 0; i < o->sources; i++) {
        struct db_source s;
        char host[64];
        snprintf(host, sizeof(host), "nts%d.example.org", i);
        if (db_source_add(db, user, host, 4460, 1, &s) < 0)
            exit(1);
        src_ids[i] = s.id;
    }
    for (int m = 0; m < o->monitors; m++) {
        char name[32], key[32];
        snprintf(name, sizeof(name), "monitor%d", m);
        snprintf(key, sizeof(key), "key%d", m);
        if (db_monitor_add(db, name, key, 1, &mon_ids[m]) != 0)
            exit(1);
    }
    if (db_commit(db) < 0)
        exit(1);
    return db;
}

/* The raw floor: the same rows, one prepared INSERT into a table without any
   index, in batches of o->batch per transaction. */
static double
raw_baseline(const char *path, const struct opts *o, int n)
{
    sqlite3 *h;
    sqlite3_stmt *s;
    struct probe_result r;
    double t0, total = 0;

    if (sqlite3_open(path, &h) != SQLITE_OK)
        return NAN;
    sqlite3_exec(
        h,
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE raw(id INTEGER PRIMARY KEY, source, kind, monitor, time, "
        "address, aead, reason, ke_status, ntp_status, stratum, offset1, delay1, "
        "offset2, delay2, ke_us, step, score)",
        NULL, NULL, NULL);
    sqlite3_prepare_v2(
        h,
        "INSERT INTO raw(source, kind, monitor, time, address, aead, "
        "reason, ke_status, ntp_status, stratum, offset1, delay1, offset2, "
        "delay2, ke_us, step, score) "
        "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        -1, &s, NULL);
    for (int i = 0; i < n;) {
        int64_t t = T0 + (int64_t)(i / (o->sources * 4)) * INTERVAL;
        t0 = bench_now();
        sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
        for (int j = 0; j < o->batch && i < n; j++, i++) {
            make_result(&r, i % o->sources, (i / o->sources) % 4, t, 0);
            sqlite3_bind_int(s, 1, i % o->sources);
            sqlite3_bind_int(s, 2, (i / o->sources) % 4);
            sqlite3_bind_int(s, 3, 1);
            sqlite3_bind_int64(s, 4, t);
            sqlite3_bind_text(s, 5, r.address, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(s, 6, r.ke.aead);
            sqlite3_bind_int(s, 7, 0);
            sqlite3_bind_int(s, 8, r.ke.status);
            sqlite3_bind_int(s, 9, r.ntp[0].status);
            sqlite3_bind_int(s, 10, r.ntp[0].stratum);
            sqlite3_bind_double(s, 11, r.ntp[0].offset);
            sqlite3_bind_double(s, 12, r.ntp[0].delay);
            sqlite3_bind_double(s, 13, r.ntp[1].offset);
            sqlite3_bind_double(s, 14, r.ntp[1].delay);
            sqlite3_bind_int64(s, 15, (sqlite3_int64)(r.ke.duration * 1e6));
            sqlite3_bind_double(s, 16, 1.0);
            sqlite3_bind_double(s, 17, 12.5);
            sqlite3_step(s);
            sqlite3_reset(s);
        }
        sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
        total += bench_now() - t0;
    }
    sqlite3_finalize(s);
    sqlite3_close(h);
    return n / total;
}

/* Per-table bytes from the dbstat virtual table, when SQLite has it. */
static void
print_dbstat(const char *path, long long samples)
{
    sqlite3 *h;
    sqlite3_stmt *s;

    if (sqlite3_open(path, &h) != SQLITE_OK)
        return;
    if (sqlite3_prepare_v2(h,
                           "SELECT name, sum(pgsize) FROM dbstat GROUP BY name "
                           "ORDER BY 2 DESC",
                           -1, &s, NULL) == SQLITE_OK) {
        printf("  by table/index (bytes per sample):");
        while (sqlite3_step(s) == SQLITE_ROW) {
            double b = sqlite3_column_double(s, 1) / (double)samples;
            if (b >= 0.5)
                printf(" %s %.1f", (const char *)sqlite3_column_text(s, 0), b);
        }
        printf("\n");
    }
    sqlite3_finalize(s);
    sqlite3_close(h);
}

static void
usage(void)
{
    fprintf(stderr, "usage: bench_db -d DIR [-s sources] [-m monitors] [-r rounds] "
                    "[-l last rounds (steady state)] [-w warm-up rounds (bytes)] "
                    "[-b batch] [-S seed] [-f fold calls] [-1 single-tx samples] "
                    "[-R raw samples]\n");
}

int
main(int argc, char **argv)
{
    struct opts o = {10000, 3, 16, 4, 8, 1000, 20000, 200000, 100, 0, NULL};
    char path[512], single_path[512], raw_path[512];
    int opt, per_round;
    uint32_t *order;
    int64_t *src_ids, *mon_ids, now = 0;
    struct probe_result *res;
    struct db_sample *batch;
    struct db *db;
    double *round_rate;
    long long stored = 0, base_size, json_bytes = 0, json_count = 0;
    long long warm_size = 0, warm_stored = 0, inserted;
    double busy = 0, wall0, rate, steady = 0, single_rate = NAN, raw_rate = NAN;

    o.seed = (unsigned long long)time(NULL);
    while ((opt = getopt(argc, argv, "s:m:r:l:w:b:S:f:1:R:d:")) != -1) {
        switch (opt) {
        case 's': o.sources = atoi(optarg); break;
        case 'm': o.monitors = atoi(optarg); break;
        case 'r': o.rounds = atoi(optarg); break;
        case 'l': o.last = atoi(optarg); break;
        case 'w': o.warmup = atoi(optarg); break;
        case 'b': o.batch = atoi(optarg); break;
        case 'S': o.seed = strtoull(optarg, NULL, 10); break;
        case 'f': o.folds = atoi(optarg); break;
        case '1': o.single = atoi(optarg); break;
        case 'R': o.raw = atoi(optarg); break;
        case 'd': o.dir = optarg; break;
        default: usage(); return 2;
        }
    }
    if (!o.dir || o.sources <= 0 || o.monitors <= 0 || o.rounds <= 0 || o.batch <= 0) {
        usage();
        return 2;
    }
    if (o.last <= 0 || o.last > o.rounds)
        o.last = o.rounds;
    bench_seed(o.seed * 0x9E3779B97F4A7C15ull + 1);
    snprintf(path, sizeof(path), "%s/bench.db", o.dir);
    snprintf(single_path, sizeof(single_path), "%s/single.db", o.dir);
    snprintf(raw_path, sizeof(raw_path), "%s/raw.db", o.dir);
    per_round = o.sources * 4 * o.monitors;
    src_ids = calloc((size_t)o.sources, sizeof(*src_ids));
    mon_ids = calloc((size_t)o.monitors, sizeof(*mon_ids));
    res = calloc((size_t)o.batch, sizeof(*res));
    batch = calloc((size_t)o.batch, sizeof(*batch));
    order = calloc((size_t)per_round, sizeof(*order));
    round_rate = calloc((size_t)o.rounds, sizeof(*round_rate));
    if (!src_ids || !mon_ids || !res || !batch || !order || !round_rate)
        return 1;

    printf("bench_db: %d sources x 4 kinds x %d monitors = %d samples per round, "
           "%d rounds, batches of %d, random order within a round (seed %llu)\n",
           o.sources, o.monitors, per_round, o.rounds, o.batch, o.seed);
    db = setup(path, &o, src_ids, mon_ids);
    db_close(db);
    base_size = file_size(path);
    db = setup(single_path, &o, src_ids, mon_ids); /* baseline file, same setup */
    db_close(db);
    {
        char *err = NULL;
        db = db_open(path, &err);
        free(err);
        if (!db)
            return 1;
    }
    wall0 = bench_now();
    for (int round = 0; round < o.rounds; round++) {
        double rbusy = 0;
        int64_t t_round = T0 + (int64_t)round * INTERVAL;

        bench_permutation(order, (size_t)per_round);
        for (int i = 0; i < per_round;) {
            int n = 0;
            double t0;

            for (; n < o.batch && i < per_round; n++, i++) {
                int x = (int)order[i];
                int src = x % o.sources, k = (x / o.sources) % 4, m = x / (o.sources * 4);
                /* Probed evenly over the interval, in arrival order. */
                int64_t t = t_round + (int64_t)i * INTERVAL / per_round;

                make_result(&res[n], src, k, t, round);
                batch[n] = (struct db_sample){src_ids[src], mon_ids[m], &res[n], 0, 0};
                now = t + 1;
                if (json_count < 2000) {
                    json_t *j = db_result_to_json(&res[n]);
                    char *text = json_dumps(j, JSON_COMPACT);
                    json_bytes += (long long)strlen(text);
                    json_count++;
                    free(text);
                    json_decref(j);
                }
            }
            t0 = bench_now();
            if (store(db, batch, (size_t)n, now) < 0) {
                fprintf(stderr, "bench: store failed\n");
                return 1;
            }
            rbusy += bench_now() - t0;
            stored += n;
        }
        busy += rbusy;
        round_rate[round] = per_round / rbusy;
        printf("  round %d: %.0f samples/s (%lld samples in the database)\n", round + 1,
               round_rate[round], stored);
        if (round + 1 == o.warmup && o.warmup < o.rounds) {
            /* Sizes after warm-up: every address and AEAD of the rotation
               has been seen, so later rounds add only per-sample data, as
               every round does in a pool that has run for a while. */
            char *err = NULL;
            db_close(db);
            warm_size = file_size(path);
            warm_stored = stored;
            db = db_open(path, &err);
            free(err);
            if (!db)
                return 1;
        }
    }
    for (int round = o.rounds - o.last; round < o.rounds; round++)
        steady += per_round / round_rate[round];
    steady = per_round * o.last / steady;
    rate = stored / busy;
    inserted = stored;
    printf("stored and scored: %lld samples in %.2f s (%.2f s wall)\n", stored, busy,
           bench_now() - wall0);
    printf("HEADLINE steady state (last %d rounds, %lld-%lld samples in the database): "
           "%.0f samples/s; overall %.0f samples/s; first round %.0f samples/s\n",
           o.last, (long long)per_round * (o.rounds - o.last), stored, steady, rate,
           round_rate[0]);
    if (o.folds > 0) {
        /* Retention on the grown database: every row is older than 15 days at
           now + 30 days.  Each call is what the service's event loop runs.
           The WAL the rounds left is checkpointed first, so that the calls
           pay only for the checkpoints their own writes cause. */
        double *ms = calloc((size_t)o.folds, sizeof(*ms)), sum = 0;
        long long rows = 0;
        int calls = 0;
        sqlite3 *h;

        if (!ms)
            return 1;
        if (sqlite3_open(path, &h) == SQLITE_OK)
            sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        sqlite3_close(h);
        for (; calls < o.folds; calls++) {
            double t0 = bench_now();
            int n = fold(db, now + 30 * 86400);

            ms[calls] = (bench_now() - t0) * 1000;
            if (n < 0)
                return 1;
            if (n == 0)
                break;
            rows += n;
            sum += ms[calls];
        }
        if (calls > 0) {
            qsort(ms, (size_t)calls, sizeof(*ms), bench_cmp_double);
            printf("HEADLINE retention: %d calls folded %lld rows, %.0f rows/call: "
                   "median %.2f ms, mean %.2f ms, 90th percentile %.2f ms, worst %.2f ms "
                   "per call; %.0f rows/s\n",
                   calls, rows, (double)rows / calls, ms[calls / 2], sum / calls,
                   ms[calls * 9 / 10], ms[calls - 1], rows / sum * 1000);
        }
        free(ms);
        stored -= rows;
    }
    db_close(db); /* checkpoints, removes the WAL */
    printf("database: %lld bytes for %lld samples: %.1f bytes/sample overall "
           "(full result JSON alone would be %.0f bytes/sample)\n",
           file_size(path) - base_size, stored,
           (double)(file_size(path) - base_size) / stored,
           (double)json_bytes / (double)json_count);
    if (warm_stored > 0)
        printf(
            "database, steady state (rounds %d-%d, after warm-up): %.1f bytes/sample\n",
            o.warmup + 1, o.rounds,
            (double)(file_size(path) - warm_size) / (double)(inserted - warm_stored));
    print_dbstat(path, stored);

    /* Baseline 1: one sample per transaction, same API, same rows. */
    if (o.single > 0) {
        char *err = NULL;
        double t0;
        int n = o.single < per_round ? o.single : per_round;

        db = db_open(single_path, &err);
        free(err);
        if (!db)
            return 1;
        bench_permutation(order, (size_t)per_round);
        t0 = bench_now();
        for (int i = 0; i < n; i++) {
            int x = (int)order[i], src = x % o.sources, k = (x / o.sources) % 4;
            int64_t t = T0 + (int64_t)i * INTERVAL / per_round;

            make_result(&res[0], src, k, t, 0);
            batch[0] = (struct db_sample){src_ids[src], mon_ids[0], &res[0], 0, 0};
            if (store(db, batch, 1, t + 1) < 0)
                return 1;
        }
        single_rate = n / (bench_now() - t0);
        db_close(db);
        printf("baseline, one sample per transaction (empty database): %.0f samples/s "
               "(batched at steady state is %.1fx)\n",
               single_rate, steady / single_rate);
    }
    /* Baseline 2: raw SQLite inserts, no index, no scoring: the floor. */
    if (o.raw > 0) {
        raw_rate = raw_baseline(raw_path, &o, o.raw);
        printf("baseline, raw SQLite insert without indexes: %.0f samples/s "
               "(the store at steady state reaches %.0f%% of it)\n",
               raw_rate, 100 * steady / raw_rate);
    }
    free(src_ids);
    free(mon_ids);
    free(res);
    free(batch);
    free(order);
    free(round_rate);
    return 0;
}
