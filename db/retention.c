/* retention.c - raw samples are kept DB_RETENTION_DAYS days, then folded
 * into hourly aggregates per (source, kind, monitor) that are kept for good
 * (PRODUCT.md "Scale").  Each call folds at most max_rows of the oldest
 * samples in one short transaction, so the service can call it from its
 * event loop (e.g. once a second) without stalling writers: a chunk of a few
 * thousand rows takes milliseconds.  An hour split across chunks is merged by
 * the upserts (counts and sums add, minima and maxima combine, the later
 * score wins), so the chunking never shows in the aggregates. */
#include "db/db_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define FOLD_DEFAULT_ROWS 2000

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
    if (db_exec_stmt(db, s, "hourly upsert") < 0)
        return -1;
    for (int reason = PROBE_OK + 1; reason <= PROBE_COOKIES_SHORT; reason++) {
        if (by_reason[reason] == 0)
            continue;
        s = db_stmt(db, ST_HOURLY_REASON_UPSERT);
        sqlite3_bind_int64(s, 1, rows[0].source);
        sqlite3_bind_int(s, 2, rows[0].kind);
        sqlite3_bind_int64(s, 3, rows[0].monitor);
        sqlite3_bind_int64(s, 4, rows[0].hour);
        sqlite3_bind_int(s, 5, reason);
        sqlite3_bind_int64(s, 6, by_reason[reason]);
        if (db_exec_stmt(db, s, "hourly reason upsert") < 0)
            return -1;
    }
    return 0;
}

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

int
db_fold_old_samples(struct db *db, int64_t now, int days, int max_rows)
{
    struct fold_row *rows;
    int64_t cutoff;
    size_t n = 0;
    sqlite3_stmt *s;

    if (days <= 0)
        days = DB_RETENTION_DAYS;
    if (max_rows <= 0)
        max_rows = FOLD_DEFAULT_ROWS;
    cutoff = now - (int64_t)days * 86400;
    rows = malloc((size_t)max_rows * sizeof(*rows));
    if (!rows) {
        log_err("db: fold: out of memory");
        return -1;
    }
    if (db_tx_begin(db) < 0) {
        free(rows);
        return -1;
    }
    if (select_old(db, cutoff, max_rows, rows, &n) < 0)
        goto fail;
    qsort(rows, n, sizeof(*rows), cmp_row);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && same_group(&rows[i], &rows[j]); j++)
            ;
        if (fold_group(db, rows + i, j - i) < 0)
            goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        s = db_stmt(db, ST_SAMPLE_DELETE);
        sqlite3_bind_int64(s, 1, rows[i].id);
        if (db_exec_stmt(db, s, "sample delete") < 0)
            goto fail;
    }
    /* Details no remaining sample can use (see samples.c), in a bounded step. */
    s = db_stmt(db, ST_DETAILS_GC);
    sqlite3_bind_int64(s, 1, DB_DETAIL_EPOCH);
    sqlite3_bind_int(s, 2, max_rows);
    if (db_exec_stmt(db, s, "details gc") < 0)
        goto fail;
    if (db_tx_commit(db) < 0) {
        free(rows);
        return -1;
    }
    free(rows);
    return (int)n;
fail:
    db_tx_rollback(db);
    free(rows);
    return -1;
}

static void
fill_hourly(sqlite3_stmt *s, void *arg)
{
    struct db_hourly *h = arg;

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
}

int
db_hourly_list(struct db *db, int64_t source, int kind, int64_t monitor, int64_t since,
               struct db_hourly **out, size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, ST_HOURLY_LIST);
    void *v;

    sqlite3_bind_int64(s, 1, source);
    sqlite3_bind_int(s, 2, kind);
    sqlite3_bind_int64(s, 3, monitor);
    sqlite3_bind_int64(s, 4, since);
    if (db_collect(db, s, "hourly", sizeof(**out), fill_hourly, &v, n) < 0)
        return -1;
    *out = v;
    for (size_t i = 0; i < *n; i++) {
        struct db_hourly *h = &(*out)[i];
        int64_t other = 0;
        int rc;

        s = db_stmt(db, ST_HOURLY_REASONS);
        sqlite3_bind_int64(s, 1, h->source);
        sqlite3_bind_int(s, 2, (int)h->kind);
        sqlite3_bind_int64(s, 3, h->monitor);
        sqlite3_bind_int64(s, 4, h->hour);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int reason = sqlite3_column_int(s, 0);
            int64_t c = sqlite3_column_int64(s, 1);

            if (reason > PROBE_OK && reason <= PROBE_COOKIES_SHORT) {
                h->by_reason[reason] = c;
                other += c;
            }
        }
        db_stmt_done(db, s);
        if (rc != SQLITE_DONE) {
            db_log_error(db, "hourly reasons");
            free(*out);
            *out = NULL;
            *n = 0;
            return -1;
        }
        h->by_reason[PROBE_OK] = h->count - other;
    }
    return 0;
}
