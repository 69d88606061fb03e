/* samples.c - storing and scoring samples, and the queries of the pages.
 *
 * Storage layout (measured in bench/bench_db.c): the full result JSON of a
 * probe is ~900 bytes, more than twice the per-sample budget, but most of it
 * (certificate, cipher, cookie counts, server, details) repeats from one
 * probe of a (source, kind) to the next.  So a sample is split:
 *   - the volatile numbers (offsets, delays, root delay/dispersion,
 *     durations) and the indexed facts go into typed columns of samples;
 *   - the rest, the result JSON with those fields removed, is stored once in
 *     sample_details and shared by every sample with the same text.
 * db_sample_json() puts the two back together, so the full result stays
 * retrievable.  Detail rows are shared within an epoch of sample time (a
 * week): a row is written once per combination and epoch and never updated,
 * and retention drops the epochs older than the oldest remaining sample, so
 * no index on samples.detail and no per-sample bookkeeping is needed.
 *
 * Scoring: the previous score comes from the scores table (one row per
 * source, kind, monitor), the step and the update from scorer/ (pure); both
 * happen inside the batch's transaction, so a score never misses or doubles
 * a stored sample, even with another writer on the file. */
#include "db/db_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* First failed exchange, else NTP_OK; -1 when none was attempted. */
static int
first_ntp_status(const struct probe_result *r)
{
    int n = r->n_ntp < RESULT_NTP_EXCHANGES ? r->n_ntp : RESULT_NTP_EXCHANGES;

    if (n <= 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (r->ntp[i].status != NTP_OK)
            return (int)r->ntp[i].status;
    return NTP_OK;
}

static bool
measured(const struct probe_result *r, int i)
{
    return i < r->n_ntp && r->ntp[i].status == NTP_OK && isfinite(r->ntp[i].offset);
}

static int
bind_opt_int(sqlite3_stmt *s, int i, bool have, int64_t v)
{
    return have ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

/* Seconds as integer microseconds, or NULL when negative/unknown. */
static int
bind_us(sqlite3_stmt *s, int i, double secs)
{
    return bind_opt_int(s, i, isfinite(secs) && secs >= 0, (int64_t)llround(secs * 1e6));
}

/* Root delay/dispersion come from NTP short format (16.16), so they are
   whole multiples of 2^-16 s: stored as integers, losslessly and small. */
static int
bind_short(sqlite3_stmt *s, int i, bool have, double secs)
{
    return bind_opt_int(s, i, have && isfinite(secs), (int64_t)llround(secs * 65536.0));
}

static double
column_us(sqlite3_stmt *s, int i, double missing)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? missing
                                                    : sqlite3_column_int64(s, i) / 1e6;
}

static double
column_short(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL
               ? NAN
               : sqlite3_column_int64(s, i) / 65536.0;
}

/* The shared detail row of r in its epoch, added when new; *id set. */
static int
detail_id(struct db *db, const struct probe_result *r, int64_t *id)
{
    sqlite3_stmt *s = db_stmt(db, ST_DETAIL_GET);
    int64_t epoch = r->start_time / DB_DETAIL_EPOCH;
    char *text = db_result_detail_text(r);
    unsigned char hash[16];
    int rc;

    if (!text) {
        log_err("db: sample: cannot encode the result");
        return -1;
    }
    /* Keyed by a 128-bit prefix of SHA-256 (collisions are not a practical
       concern), so the index stays small and lookups compare 16 bytes, not
       the text.  Look first: almost every probe repeats a known detail, and
       a read dirties no page. */
    if (db_digest128(text, strlen(text), hash) < 0) {
        free(text);
        return -1;
    }
    sqlite3_bind_int64(s, 1, epoch);
    sqlite3_bind_blob(s, 2, hash, sizeof(hash), SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(s, 0);
    db_stmt_done(db, s);
    if (rc == SQLITE_DONE) {
        s = db_stmt(db, ST_DETAIL_ADD);
        sqlite3_bind_int64(s, 1, epoch);
        sqlite3_bind_blob(s, 2, hash, sizeof(hash), SQLITE_STATIC);
        sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
        if (db_exec_stmt(db, s, "sample detail add") == 0) {
            *id = sqlite3_last_insert_rowid(db->h);
            rc = SQLITE_ROW;
        }
    } else if (rc != SQLITE_ROW) {
        db_log_error(db, "sample detail");
    }
    free(text);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* The previous score of (source, kind, monitor): 1 with *score and *time
   (time 0 when it has none yet), 0 none, -1 error. */
static int
previous_score(struct db *db, int64_t source, int kind, int64_t monitor, double *score,
               int64_t *time)
{
    sqlite3_stmt *s = db_stmt(db, ST_SCORE_GET);
    int rc;

    sqlite3_bind_int64(s, 1, source);
    sqlite3_bind_int(s, 2, kind);
    sqlite3_bind_int64(s, 3, monitor);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *score = db_column_real(s, 0);
        *time = sqlite3_column_int64(s, 1);
        db_stmt_done(db, s);
        return isnan(*score) ? 0 : 1;
    }
    if (rc != SQLITE_DONE)
        db_log_error(db, "score get");
    db_stmt_done(db, s);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int
insert_sample(struct db *db, const struct db_sample *in, const struct probe_result *r,
              int kind, int64_t detail, double score, bool *inserted, int64_t *id_out)
{
    sqlite3_stmt *s = db_stmt(db, ST_SAMPLE_INSERT);
    double off, del;
    int which, nst = first_ntp_status(r);
    bool m0 = measured(r, 0), m1 = measured(r, 1);

    db_pick_measurement(m0 ? r->ntp[0].offset : NAN, m0 ? r->ntp[0].delay : NAN,
                        m1 ? r->ntp[1].offset : NAN, m1 ? r->ntp[1].delay : NAN, &off,
                        &del, &which);
    sqlite3_bind_int64(s, 1, in->source);
    sqlite3_bind_int(s, 2, kind);
    sqlite3_bind_int64(s, 3, in->monitor);
    sqlite3_bind_int64(s, 4, r->start_time);
    if (r->address[0])
        sqlite3_bind_text(s, 5, r->address, -1, SQLITE_STATIC);
    bind_opt_int(s, 6, r->ke.aead >= 0, r->ke.aead);
    sqlite3_bind_int(s, 7, (int)r->reason);
    sqlite3_bind_int(s, 8, (int)r->ke.status);
    bind_opt_int(s, 9, nst >= 0, nst);
    bind_opt_int(s, 10, which > 0, which > 0 ? r->ntp[which - 1].stratum : 0);
    db_bind_real(s, 11, m0 ? r->ntp[0].offset : NAN);
    db_bind_real(s, 12, m0 ? r->ntp[0].delay : NAN);
    db_bind_real(s, 13, m1 ? r->ntp[1].offset : NAN);
    db_bind_real(s, 14, m1 ? r->ntp[1].delay : NAN);
    bind_short(s, 15, m0, r->ntp[0].root_delay);
    bind_short(s, 16, m0, r->ntp[0].root_dispersion);
    bind_short(s, 17, m1, r->ntp[1].root_delay);
    bind_short(s, 18, m1, r->ntp[1].root_dispersion);
    bind_us(s, 19, r->ke.duration);
    bind_us(s, 20, r->ke.connect_time);
    bind_us(s, 21, r->ke.handshake_time);
    db_bind_real(s, 22, r->step);
    db_bind_real(s, 23, score);
    sqlite3_bind_int64(s, 24, detail);
    if (db_exec_stmt(db, s, "sample insert") < 0)
        return -1;
    *inserted = sqlite3_changes(db->h) > 0;
    if (*inserted)
        *id_out = sqlite3_last_insert_rowid(db->h);
    return 0;
}

static int
upsert_score(struct db *db, const struct db_sample *in, const struct probe_result *r,
             int kind, double score)
{
    sqlite3_stmt *s = db_stmt(db, ST_SCORE_UPSERT);
    int nst = first_ntp_status(r);

    sqlite3_bind_int64(s, 1, in->source);
    sqlite3_bind_int(s, 2, kind);
    sqlite3_bind_int64(s, 3, in->monitor);
    sqlite3_bind_int64(s, 4, r->start_time);
    sqlite3_bind_double(s, 5, score);
    sqlite3_bind_int(s, 6, (int)r->reason);
    sqlite3_bind_int(s, 7, (int)r->ke.status);
    sqlite3_bind_int(s, 8, nst >= 0 ? nst : NTP_OK);
    bind_opt_int(s, 9, r->ke.not_after != 0, r->ke.not_after);
    return db_exec_stmt(db, s, "score upsert");
}

static int
store_one(struct db *db, const struct db_sample *in, struct db_stored *out)
{
    struct probe_result r = *in->res;
    struct score_step st;
    enum score_kind kind;
    int64_t detail = 0, prev_time = 0;
    double prev = 0, score = NAN;
    bool inserted = false, late = false;
    int have;

    memset(out, 0, sizeof(*out));
    out->step = out->score = NAN;
    if (score_kind_of(r.kind, r.family, &kind) < 0) {
        out->outcome = DB_INVALID;
        return 0;
    }
    out->kind = kind;
    score_step_of_clock(&r, in->clock_error, &st);
    r.reason = st.reason;
    r.step = st.discard ? NAN : st.step;
    out->reason = st.reason;
    out->step = r.step;
    have = previous_score(db, in->source, (int)kind, in->monitor, &prev, &prev_time);
    if (have < 0)
        return -1;
    if (!st.discard) {
        /* A sample older than the last one scored (a monitor's spool
           delivering late) is kept with its step but does not rewrite the
           score, which must follow the probes in time order. */
        late = prev_time != 0 && r.start_time <= prev_time;
        if (!late)
            score = score_update(have ? prev : 0.0, st.step, st.cap);
    }
    if (detail_id(db, &r, &detail) < 0)
        return -1;
    if (insert_sample(db, in, &r, (int)kind, detail, score, &inserted, &out->id) < 0)
        return -1;
    if (!inserted) {
        out->outcome = DB_DUPLICATE;
        return 0;
    }
    if (st.discard) {
        out->outcome = DB_DISCARDED;
        return 0;
    }
    if (late) {
        out->outcome = DB_LATE;
        return 0;
    }
    if (upsert_score(db, in, &r, (int)kind, score) < 0)
        return -1;
    out->outcome = DB_STORED;
    out->score = score;
    return 0;
}

int
db_store_samples(struct db *db, const struct db_sample *s, size_t n,
                 struct db_stored *out)
{
    if (n == 0)
        return 0;
    if (db_tx_begin(db) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct db_stored tmp;
        if (store_one(db, &s[i], out ? &out[i] : &tmp) < 0) {
            db_tx_rollback(db);
            return -1;
        }
    }
    return db_tx_commit(db);
}

int
db_store_not_applicable(struct db *db, int64_t source, enum score_kind kind,
                        int64_t monitor, int64_t time)
{
    sqlite3_stmt *s = db_stmt(db, ST_SCORE_NA);

    sqlite3_bind_int64(s, 1, source);
    sqlite3_bind_int(s, 2, (int)kind);
    sqlite3_bind_int64(s, 3, monitor);
    sqlite3_bind_int64(s, 4, time);
    return db_exec_stmt(db, s, "score n/a");
}

/* ---- status of sources ---------------------------------------------------------- */

struct score_row {
    struct db_monitor_score ms;
    int64_t cert_not_after;
};

static void
fill_score_row(sqlite3_stmt *s, void *arg)
{
    struct score_row *x = arg;
    struct score_monitor *m = &x->ms.m;

    x->ms.kind = (enum score_kind)sqlite3_column_int(s, 0);
    x->ms.monitor = sqlite3_column_int64(s, 1);
    m->time = sqlite3_column_int64(s, 2);
    m->not_applicable = sqlite3_column_int(s, 3) != 0;
    m->score = db_column_real(s, 4);
    m->sample_time = sqlite3_column_int64(s, 5);
    m->reason = (enum probe_reason)sqlite3_column_int(s, 6);
    m->ke_status = (enum ke_status)sqlite3_column_int(s, 7);
    m->ntp_status = (enum ntp_status)sqlite3_column_int(s, 8);
    x->cert_not_after = sqlite3_column_int64(s, 9);
    db_column_text(s, 10, x->ms.monitor_name, sizeof(x->ms.monitor_name));
}

static int
score_rows(struct db *db, int64_t source, struct score_row **rows, size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, ST_SCORES_OF_SOURCE);
    void *v;
    int rc;

    sqlite3_bind_int64(s, 1, source);
    rc = db_collect(db, s, "scores of source", sizeof(**rows), fill_score_row, &v, n);
    *rows = v;
    return rc;
}

/* Fill out->kind[], verdict and times from the source's score rows. */
static int
fill_status(struct db *db, int64_t now, int interval, struct db_source_status *out)
{
    struct score_row *rows = NULL;
    struct score_monitor *m = NULL;
    struct score_current cur[SCORE_KINDS];
    int64_t cert_time = 0;
    size_t n = 0;

    if (score_rows(db, out->src.id, &rows, &n) < 0)
        return -1;
    if (n > 0 && !(m = calloc(n, sizeof(*m)))) {
        free(rows);
        return -1;
    }
    for (int k = 0; k < SCORE_KINDS; k++) {
        struct db_kind_status *ks = &out->kind[k];
        size_t nk = 0;

        for (size_t i = 0; i < n; i++) {
            if ((int)rows[i].ms.kind != k)
                continue;
            m[nk++] = rows[i].ms.m;
            if (!rows[i].ms.m.not_applicable && rows[i].ms.m.sample_time > ks->last_probe)
                ks->last_probe = rows[i].ms.m.sample_time;
            if (rows[i].cert_not_after && rows[i].ms.m.sample_time >= cert_time) {
                cert_time = rows[i].ms.m.sample_time;
                out->cert_not_after = rows[i].cert_not_after;
            }
        }
        ks->n_monitors = (int)nk;
        score_current(m, nk, now, interval, &ks->cur);
        cur[k] = ks->cur;
        if (ks->last_probe > out->last_probe)
            out->last_probe = ks->last_probe;
    }
    out->in_pool = score_in_pool(cur, out->why, sizeof(out->why));
    free(m);
    free(rows);
    return 0;
}

int
db_source_status(struct db *db, int64_t source, int64_t now, int interval,
                 struct db_source_status *out)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = db_source_get(db, source, &out->src);
    if (rc <= 0)
        return rc;
    if (out->src.deleted)
        return 0;
    return fill_status(db, now, interval, out) < 0 ? -1 : 1;
}

static void
fill_source_status(sqlite3_stmt *s, void *arg)
{
    struct db_source_status *x = arg;
    struct db_source *src = &x->src;

    src->id = sqlite3_column_int64(s, 0);
    db_column_text(s, 1, src->uuid, sizeof(src->uuid));
    src->owner = sqlite3_column_int64(s, 2);
    db_column_text(s, 3, src->host, sizeof(src->host));
    src->port = sqlite3_column_int(s, 4);
    db_column_text(s, 5, src->randomizer, sizeof(src->randomizer));
    src->created = sqlite3_column_int64(s, 6);
    src->deleted = sqlite3_column_int64(s, 7);
}

int
db_sources_of_owner(struct db *db, int64_t owner, int64_t now, int interval,
                    struct db_source_status **out, size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_OF_OWNER);
    void *v;

    sqlite3_bind_int64(s, 1, owner);
    if (db_collect(db, s, "sources of owner", sizeof(**out), fill_source_status, &v, n) <
        0)
        return -1;
    *out = v;
    for (size_t i = 0; i < *n; i++) {
        if (fill_status(db, now, interval, &(*out)[i]) < 0) {
            free(*out);
            *out = NULL;
            *n = 0;
            return -1;
        }
    }
    return 0;
}

int
db_source_monitor_scores(struct db *db, int64_t source, int64_t now, int interval,
                         struct db_monitor_score **out, size_t *n)
{
    struct score_row *rows;

    *out = NULL;
    if (score_rows(db, source, &rows, n) < 0)
        return -1;
    if (*n == 0)
        return 0;
    *out = calloc(*n, sizeof(**out));
    if (!*out) {
        free(rows);
        return -1;
    }
    for (size_t i = 0; i < *n; i++) {
        (*out)[i] = rows[i].ms;
        (*out)[i].fresh = score_is_fresh(rows[i].ms.m.time, now, interval);
    }
    free(rows);
    return 0;
}

/* ---- history and samples -------------------------------------------------------- */

static void
fill_sample_row(sqlite3_stmt *s, void *arg)
{
    struct db_sample_row *x = arg;
    int which;

    x->id = sqlite3_column_int64(s, 0);
    x->source = sqlite3_column_int64(s, 1);
    x->kind = (enum score_kind)sqlite3_column_int(s, 2);
    x->monitor = sqlite3_column_int64(s, 3);
    x->time = sqlite3_column_int64(s, 4);
    db_column_text(s, 5, x->address, sizeof(x->address));
    x->aead = sqlite3_column_type(s, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 6);
    x->reason = (enum probe_reason)sqlite3_column_int(s, 7);
    x->ke_status = (enum ke_status)sqlite3_column_int(s, 8);
    x->ntp_status = (enum ntp_status)sqlite3_column_int(s, 9);
    db_pick_measurement(db_column_real(s, 10), db_column_real(s, 11),
                        db_column_real(s, 12), db_column_real(s, 13), &x->offset,
                        &x->delay, &which);
    x->stratum =
        sqlite3_column_type(s, 14) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 14);
    x->step = db_column_real(s, 15);
    x->score = db_column_real(s, 16);
}

static int
samples_page(struct db *db, const struct db_sample_query *q, size_t offset,
             struct db_sample_row **out, size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, ST_SAMPLES_PAGE);
    void *v;
    int rc;

    sqlite3_bind_int64(s, 1, q->source);
    sqlite3_bind_int(s, 2, q->kind);
    sqlite3_bind_int64(s, 3, q->monitor);
    sqlite3_bind_int64(s, 4, q->since);
    sqlite3_bind_int64(s, 5, q->before > 0 ? q->before : INT64_MAX);
    sqlite3_bind_int64(s, 6, q->limit > 0 ? (sqlite3_int64)q->limit : 100);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)offset);
    rc = db_collect(db, s, "samples", sizeof(**out), fill_sample_row, &v, n);
    *out = v;
    return rc;
}

int
db_score_history(struct db *db, const struct db_sample_query *q,
                 struct db_sample_row **out, size_t *n)
{
    if (samples_page(db, q, 0, out, n) < 0)
        return -1;
    for (size_t i = 0; i < *n / 2; i++) {
        struct db_sample_row t = (*out)[i];
        (*out)[i] = (*out)[*n - 1 - i];
        (*out)[*n - 1 - i] = t;
    }
    return 0;
}

int
db_recent_samples(struct db *db, const struct db_sample_query *q,
                  struct db_sample_row **out, size_t *n)
{
    return samples_page(db, q, q->offset, out, n);
}

json_t *
db_sample_json(struct db *db, int64_t id)
{
    sqlite3_stmt *s = db_stmt(db, ST_SAMPLE_GET);
    struct probe_result r;
    json_t *detail, *j = NULL;
    int rc;

    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE)
            db_log_error(db, "sample get");
        db_stmt_done(db, s);
        return NULL;
    }
    detail = json_loads((const char *)sqlite3_column_text(s, 18), 0, NULL);
    if (!detail || db_result_from_json(detail, &r) < 0) {
        log_err("db: sample %lld: bad stored detail", (long long)id);
        goto done;
    }
    r.start_time = sqlite3_column_int64(s, 1);
    r.step = db_column_real(s, 17);
    r.ke.duration = column_us(s, 14, 0);
    r.ke.connect_time = column_us(s, 15, -1);
    r.ke.handshake_time = column_us(s, 16, -1);
    for (int i = 0; i < r.n_ntp && i < RESULT_NTP_EXCHANGES; i++) {
        r.ntp[i].offset = db_column_real(s, 6 + 2 * i);
        r.ntp[i].delay = db_column_real(s, 7 + 2 * i);
        r.ntp[i].root_delay = column_short(s, 10 + 2 * i);
        r.ntp[i].root_dispersion = column_short(s, 11 + 2 * i);
    }
    j = db_result_to_json(&r);
done:
    json_decref(detail);
    db_stmt_done(db, s);
    return j;
}

int64_t
db_sample_count(struct db *db)
{
    sqlite3_stmt *s = db_stmt(db, ST_SAMPLE_COUNT);
    int64_t n = -1;

    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    else
        db_log_error(db, "sample count");
    db_stmt_done(db, s);
    return n;
}
