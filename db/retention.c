/* retention.c - raw samples are kept DB_RETENTION_DAYS days, then folded
 * into hourly aggregates per (source, kind, monitor) that are kept for good
 * (PRODUCT.md "Scale").  The service calls db_fold_old_samples from its event
 * loop, so one call is bounded twice: by rows, and by a time budget checked
 * between steps of DB_FOLD_STEP_ROWS, all in one short transaction (an
 * autocheckpoint that falls due in its commit is not part of the budget).  The
 * oldest samples are a range at the front of the table (time-ordered ids, see
 * samples.c), read and deleted as such; what costs is the per-source index,
 * whose entries of the oldest samples are scattered over it (one page per
 * sample, on a large database mostly not in the cache), hence the budget.
 * An hour split across calls or steps is merged by the upsert (counts and
 * sums add, minima and maxima combine, the later score wins), so the
 * chunking never shows in the aggregates.  The cutoff of every fold is kept
 * as the fold horizon: samples older than it are refused from then on, so a
 * retried batch cannot be folded twice.  The same calls prune the history
 * of alerts (alert_log) after DB_ALERT_LOG_DAYS, the same way. */
#include "db/db_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

struct fold_row {
    int64_t id, source, monitor, time, hour;
    int kind, reason;
    double offset, delay, score;
};

static int
cmp_row(const void *a, const void *b)
{
    const struct fold_row *x = a, *y = b;

    if (x->source != y->source)
        return x->source < y->source ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->monitor != y->monitor)
        return x->monitor < y->monitor ? -1 : 1;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static bool
same_group(const struct fold_row *x, const struct fold_row *y)
{
    return x->source == y->source && x->kind == y->kind && x->monitor == y->monitor &&
           x->hour == y->hour;
}

/* Upsert the aggregate of rows[0..n), which share one group. */
static int
fold_group(struct db *db, const struct fold_row *rows, size_t n)
{
    sqlite3_stmt *s = db_stmt(db, ST_HOURLY_UPSERT);
    int64_t by_reason[PROBE_COOKIES_SHORT + 1] = {0}, n_measured = 0, last_time = 0;
    double omin = NAN, omax = NAN, osum = 0, dmin = NAN, dmax = NAN, dsum = 0;
    double last_score = NAN;

    for (size_t i = 0; i < n; i++) {
        const struct fold_row *r = &rows[i];

        if (r->reason >= 0 && r->reason <= PROBE_COOKIES_SHORT)
            by_reason[r->reason]++;
        if (!isnan(r->offset)) {
            n_measured++;
            osum += r->offset;
            dsum += r->delay;
            if (isnan(omin) || r->offset < omin)
                omin = r->offset;
            if (isnan(omax) || r->offset > omax)
                omax = r->offset;
            if (isnan(dmin) || r->delay < dmin)
                dmin = r->delay;
            if (isnan(dmax) || r->delay > dmax)
                dmax = r->delay;
        }
        if (!isnan(r->score) && r->time >= last_time) {
            last_time = r->time;
            last_score = r->score;
        }
    }
    sqlite3_bind_int64(s, 1, rows[0].source);
    sqlite3_bind_int(s, 2, rows[0].kind);
    sqlite3_bind_int64(s, 3, rows[0].monitor);
    sqlite3_bind_int64(s, 4, rows[0].hour);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)n);
    sqlite3_bind_int64(s, 6, n_measured);
    db_bind_real(s, 7, omin);
    sqlite3_bind_double(s, 8, osum);
    db_bind_real(s, 9, omax);
    db_bind_real(s, 10, dmin);
    sqlite3_bind_double(s, 11, dsum);
    db_bind_real(s, 12, dmax);
    db_bind_real(s, 13, last_score);
    if (isnan(last_score))
        sqlite3_bind_null(s, 14);
    else
        sqlite3_bind_int64(s, 14, last_time);
    /* ?15.. are the counts of reasons 1..PROBE_COOKIES_SHORT. */
    for (int reason = PROBE_OK + 1; reason <= PROBE_COOKIES_SHORT; reason++)
        sqlite3_bind_int64(s, 14 + reason, by_reason[reason]);
    return db_exec_stmt(db, s, "hourly upsert");
}

/* Up to max_rows of the oldest samples before cutoff, in id order. */
static int
select_old(struct db *db, int64_t cutoff, int max_rows, struct fold_row *rows, size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, ST_FOLD_SELECT);
    int rc;

    *n = 0;
    sqlite3_bind_int64(s, 1, cutoff);
    sqlite3_bind_int(s, 2, max_rows);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct fold_row *r = &rows[(*n)++];
        int which;

        r->id = sqlite3_column_int64(s, 0);
        r->source = sqlite3_column_int64(s, 1);
        r->kind = sqlite3_column_int(s, 2);
        r->monitor = sqlite3_column_int64(s, 3);
        r->time = sqlite3_column_int64(s, 4);
        /* Floor division: an hour starts at a multiple of 3600 s. */
        r->hour = r->time - ((r->time % 3600) + 3600) % 3600;
        r->reason = sqlite3_column_int(s, 5);
        db_pick_measurement(db_column_real(s, 6), db_column_real(s, 7),
                            db_column_real(s, 8), db_column_real(s, 9), &r->offset,
                            &r->delay, &which);
        r->score = db_column_real(s, 10);
    }
    if (rc != SQLITE_DONE) {
        db_log_error(db, "fold select");
        db_stmt_done(db, s);
        return -1;
    }
    db_stmt_done(db, s);
    return 0;
}

/* Fold and delete up to `max` of the oldest samples before cutoff; *n gets
   how many. */
static int
fold_step(struct db *db, int64_t cutoff, int max, struct fold_row *rows, size_t *n)
{
    sqlite3_stmt *s;

    if (select_old(db, cutoff, max, rows, n) < 0)
        return -1;
    if (*n == 0)
        return 0;
    /* The selected rows are every row up to the last id, so one range
       delete removes exactly them. */
    s = db_stmt(db, ST_SAMPLE_DELETE_TO);
    sqlite3_bind_int64(s, 1, rows[*n - 1].id);
    db->sample_deletes++; /* db_history_stamp, even if this fails */
    if (db_exec_stmt(db, s, "sample delete") < 0)
        return -1;
    qsort(rows, *n, sizeof(*rows), cmp_row);
    for (size_t i = 0, j; i < *n; i = j) {
        for (j = i + 1; j < *n && same_group(&rows[i], &rows[j]); j++)
            ;
        if (fold_group(db, rows + i, j - i) < 0)
            return -1;
    }
    return 0;
}

static double
elapsed_ms(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

int
db_fold_old_samples(struct db *db, int64_t now, int days, int max_rows, int budget_ms)
{
    struct fold_row *rows;
    struct timespec t0;
    int64_t cutoff;
    size_t total = 0, n = 0;
    int step;
    sqlite3_stmt *s;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (days <= 0)
        days = DB_RETENTION_DAYS;
    if (max_rows <= 0)
        max_rows = DB_FOLD_MAX_ROWS;
    if (budget_ms <= 0)
        budget_ms = DB_FOLD_BUDGET_MS;
    step = max_rows < DB_FOLD_STEP_ROWS ? max_rows : DB_FOLD_STEP_ROWS;
    cutoff = now - (int64_t)days * 86400;
    rows = malloc((size_t)step * sizeof(*rows));
    if (!rows) {
        log_err("db: fold: out of memory");
        return -1;
    }
    if (db_tx_begin(db) < 0) {
        free(rows);
        return -1;
    }
    /* The horizon first: from this transaction on, samples before the
       cutoff are refused, whether or not they were here to fold. */
    s = db_stmt(db, ST_META_MAX);
    sqlite3_bind_text(s, 1, DB_META_FOLD_HORIZON, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, cutoff);
    if (db_exec_stmt(db, s, "fold horizon") < 0)
        goto fail;
    /* Steps stop at a third of the budget: the commit writes every page
       they changed (about two per row: the sample's entry in the per-source
       index and its hourly row, both scattered), which takes about twice as
       long as the steps (bench/bench_db.c). */
    do {
        int want = max_rows - (int)total < step ? max_rows - (int)total : step;

        if (fold_step(db, cutoff, want, rows, &n) < 0)
            goto fail;
        total += n;
    } while (n == (size_t)step && (int)total < max_rows &&
             3 * elapsed_ms(&t0) < budget_ms);
    /* Then details no remaining sample can use (see samples.c), in steps,
       with what is left of the budget: at least one step per call, so that
       they go even when there is no sample to fold. */
    do {
        s = db_stmt(db, ST_DETAILS_GC);
        sqlite3_bind_int64(s, 1, DB_DETAIL_EPOCH);
        sqlite3_bind_int(s, 2, step);
        if (db_exec_stmt(db, s, "details gc") < 0)
            goto fail;
    } while (sqlite3_changes(db->h) == step && 3 * elapsed_ms(&t0) < budget_ms);
    /* And the history of alerts: finished messages past their age. */
    do {
        s = db_stmt(db, ST_ALERT_PRUNE);
        sqlite3_bind_int64(s, 1, now - (int64_t)DB_ALERT_LOG_DAYS * 86400);
        sqlite3_bind_int(s, 2, step);
        if (db_exec_stmt(db, s, "alert log prune") < 0)
            goto fail;
    } while (sqlite3_changes(db->h) == step && 3 * elapsed_ms(&t0) < budget_ms);
    free(rows);
    if (db_tx_commit(db) < 0)
        return -1;
    return (int)total;
fail:
    db_tx_rollback(db);
    free(rows);
    return -1;
}

static void
fill_hourly(sqlite3_stmt *s, void *arg)
{
    struct db_hourly *h = arg;
    int64_t other = 0;

    h->source = sqlite3_column_int64(s, 0);
    h->kind = (enum score_kind)sqlite3_column_int(s, 1);
    h->monitor = sqlite3_column_int64(s, 2);
    h->hour = sqlite3_column_int64(s, 3);
    h->count = sqlite3_column_int64(s, 4);
    h->n_measured = sqlite3_column_int64(s, 5);
    h->offset_min = db_column_real(s, 6);
    h->offset_mean =
        h->n_measured ? sqlite3_column_double(s, 7) / (double)h->n_measured : NAN;
    h->offset_max = db_column_real(s, 8);
    h->delay_min = db_column_real(s, 9);
    h->delay_mean =
        h->n_measured ? sqlite3_column_double(s, 10) / (double)h->n_measured : NAN;
    h->delay_max = db_column_real(s, 11);
    h->last_score = db_column_real(s, 12);
    /* Columns 13.. are the counts of reasons 1..PROBE_COOKIES_SHORT. */
    for (int reason = PROBE_OK + 1; reason <= PROBE_COOKIES_SHORT; reason++) {
        h->by_reason[reason] = sqlite3_column_int64(s, 12 + reason);
        other += h->by_reason[reason];
    }
    h->by_reason[PROBE_OK] = h->count - other;
}

int
db_hourly_list(struct db *db, int64_t source, int kind, int64_t monitor, int64_t since,
               size_t limit, struct db_hourly **out, size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, ST_HOURLY_LIST);
    void *v;

    sqlite3_bind_int64(s, 1, source);
    sqlite3_bind_int(s, 2, kind);
    sqlite3_bind_int64(s, 3, monitor);
    sqlite3_bind_int64(s, 4, since);
    sqlite3_bind_int64(s, 5, limit > 0 && limit < INT64_MAX ? (sqlite3_int64)limit : -1);
    if (db_collect(db, s, "hourly", sizeof(**out), fill_hourly, &v, n) < 0)
        return -1;
    *out = v;
    /* Read newest first (so the limit keeps the newest): turn it around. */
    for (size_t i = 0; i < *n / 2; i++) {
        struct db_hourly t = (*out)[i];
        (*out)[i] = (*out)[*n - 1 - i];
        (*out)[*n - 1 - i] = t;
    }
    return 0;
}
