/* samples.c - storing and scoring samples, and the queries of the pages.
 *
 * Storage layout (measured in bench/bench_db.c): the full result JSON of a
 * probe is ~900 bytes, more than twice the per-sample budget, but most of it
 * (certificate, cipher, cookie counts, server, details) repeats from one
 * probe of a (source, kind) to the next.  So a sample is split:
 *   - the volatile numbers (offsets, delays, root delay/dispersion,
 *     durations) and the indexed facts go into typed columns of samples;
 *   - the rest, the result JSON with those fields removed, is stored once in
 *     sample_details and shared by every sample with the same text (found by
 *     a fingerprint of the result, see detail_fingerprint).
 * db_sample_json() puts the two back together, so the full result stays
 * retrievable.  Detail rows are shared within an epoch of sample time (a
 * week): a row is written once per combination and epoch and never updated,
 * and retention drops the epochs older than the oldest remaining sample, so
 * no index on samples.detail and no per-sample bookkeeping is needed.
 *
 * Ids are time-ordered: time * 2^DB_ID_SHIFT plus a counter within the
 * second (the next free one, looked up at the right edge of the table, where
 * samples arrive).  So the table is kept in time order by its own key:
 * retention takes the oldest samples as a range at its front and needs no
 * index on time, which every insert would otherwise pay for.
 *
 * Scoring: the previous score comes from the scores table (one row per
 * source, kind, monitor), the step and the update from scorer/ (pure); both
 * happen inside the batch's transaction, so a score never misses or doubles
 * a stored sample, even with another writer on the file.  Dates are checked
 * against the service's clock first: a monitor whose clock runs ahead must
 * not be able to freeze a score (rule 1), and a sample older than what
 * retention folded must not be counted twice. */
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

/* The fingerprint of what r's detail text is made of: a digest of the whole
   result with the volatile fields (those only the full JSON has, see
   sample_json.c) zeroed.  Hashing the struct rather than the text saves
   building the JSON of every sample (a third of the time of a store) when,
   as for almost every probe, the detail is already stored.  Whatever else
   differs between two results (unused bytes, fields the text leaves out)
   only makes two rows of one text, never one row for two texts: a field
   zeroed here must never reach the detail text. */
static int
detail_fingerprint(const struct probe_result *r, unsigned char fp[16])
{
    struct probe_result c = *r;

    c.start_time = 0;
    c.start_time_frac = 0;
    c.step = 0;
    c.ke.duration = c.ke.connect_time = c.ke.handshake_time = 0;
    for (int i = 0; i < RESULT_NTP_EXCHANGES; i++) {
        struct ntp_result *x = &c.ntp[i];

        x->t1 = x->t2 = x->t3 = x->t4 = 0;
        x->offset = x->delay = x->root_delay = x->root_dispersion = 0;
    }
    return db_digest128(&c, sizeof(c), fp);
}

/* The shared detail row of r in its epoch, added when new; *id set. */
static int
detail_id(struct db *db, const struct probe_result *r, int64_t *id)
{
    sqlite3_stmt *s = db_stmt(db, ST_DETAIL_GET);
    int64_t epoch = r->start_time / DB_DETAIL_EPOCH;
    unsigned char fp[16];
    char *text;
    int rc;

    /* Keyed by a 128-bit digest (collisions are not a practical concern),
       so the index stays small and lookups compare 16 bytes.  Look first:
       almost every probe repeats a known detail, and a read dirties no
       page. */
    if (detail_fingerprint(r, fp) < 0)
        return -1;
    sqlite3_bind_int64(s, 1, epoch);
    sqlite3_bind_blob(s, 2, fp, sizeof(fp), SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(s, 0);
    else if (rc != SQLITE_DONE)
        db_log_error(db, "sample detail");
    db_stmt_done(db, s);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_ROW ? 0 : -1;
    text = db_result_detail_text(r);
    if (!text) {
        log_err("db: sample: cannot encode the result");
        return -1;
    }
    s = db_stmt(db, ST_DETAIL_ADD);
    sqlite3_bind_int64(s, 1, epoch);
    sqlite3_bind_blob(s, 2, fp, sizeof(fp), SQLITE_STATIC);
    sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
    rc = db_exec_stmt(db, s, "sample detail add");
    free(text);
    if (rc < 0)
        return -1;
    *id = sqlite3_last_insert_rowid(db->h);
    return 0;
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

/* The next free id in the second `time` (see the top of the file). */
static int
next_id(struct db *db, int64_t time, int64_t *id)
{
    sqlite3_stmt *s = db_stmt(db, ST_SAMPLE_LAST_ID);
    int64_t first = time * ((int64_t)1 << DB_ID_SHIFT), last = first - 1;
    int rc;

    sqlite3_bind_int64(s, 1, time);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_int64(s, 0) >= first)
        last = sqlite3_column_int64(s, 0);
    else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        db_log_error(db, "sample id");
    db_stmt_done(db, s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    if (last + 1 - first >= ((int64_t)1 << DB_ID_SHIFT)) {
        log_err("db: sample id: more than 2^%d samples in one second", DB_ID_SHIFT);
        return -1;
    }
    *id = last + 1;
    return 0;
}

static int
insert_sample(struct db *db, const struct db_sample *in, const struct probe_result *r,
              int kind, int64_t detail, double score, bool *inserted, int64_t *id_out)
{
    sqlite3_stmt *s;
    double off, del;
    int which, nst = first_ntp_status(r);
    bool m0 = measured(r, 0), m1 = measured(r, 1);
    int64_t id;

    if (next_id(db, r->start_time, &id) < 0)
        return -1;
    s = db_stmt(db, ST_SAMPLE_INSERT);

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
    sqlite3_bind_int64(s, 25, id);
    if (db_exec_stmt(db, s, "sample insert") < 0)
        return -1;
    *inserted = sqlite3_changes(db->h) > 0;
    if (*inserted) {
        *id_out = id;
        db->sample_stores[db_stamp_slot(in->source)]++; /* db_history_stamp */
    }
    return 0;
}

static int
interval_of(int interval)
{
    return interval > 0 ? interval : SCORE_INTERVAL_DEFAULT;
}

static int
upsert_score(struct db *db, const struct db_sample *in, const struct probe_result *r,
             int kind, double score, int64_t now)
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
    sqlite3_bind_int(s, 10, interval_of(in->interval));
    sqlite3_bind_int64(s, 11, now + SCORE_FUTURE_SKEW);
    return db_exec_stmt(db, s, "score upsert");
}

/* Store one sample of a batch; `oldest` is the earliest start time still
   accepted. */
static int
store_one(struct db *db, const struct db_sample *in, int64_t now, int64_t oldest,
          struct db_stored *out)
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
    if (score_kind_of(r.kind, r.family, &kind) < 0 || r.start_time < 0) {
        out->outcome = DB_INVALID;
        return 0;
    }
    out->kind = kind;
    if (r.start_time > now + SCORE_FUTURE_SKEW) {
        out->outcome = DB_FUTURE;
        out->reason = PROBE_MONITOR_FAULT;
        return 0;
    }
    if (r.start_time < oldest) {
        out->outcome = DB_TOO_OLD;
        return 0;
    }
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
           score, which must follow the probes in time order.  A last time
           beyond now + skew cannot be right (a database written before
           future samples were refused): it does not hold the score. */
        late = prev_time != 0 && r.start_time <= prev_time &&
               prev_time <= now + SCORE_FUTURE_SKEW;
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
    if (upsert_score(db, in, &r, (int)kind, score, now) < 0)
        return -1;
    out->outcome = DB_STORED;
    out->score = score;
    return 0;
}

static int
count_add(struct db *db, int64_t monitor, int64_t n)
{
    sqlite3_stmt *st = db_stmt(db, ST_MON_COUNT_ADD);

    sqlite3_bind_int64(st, 1, monitor);
    sqlite3_bind_int64(st, 2, n);
    return db_exec_stmt(db, st, "monitor sample count");
}

int
db_store_samples(struct db *db, const struct db_sample *s, size_t n, int64_t now,
                 struct db_stored *out)
{
    int64_t oldest = now - (int64_t)DB_RETENTION_DAYS * 86400, horizon = 0;
    int64_t run_monitor = 0, run_n = 0;
    int rc;

    if (n == 0)
        return 0;
    if (db_tx_begin(db) < 0)
        return -1;
    /* Read inside the transaction: a fold cannot slip in between. */
    rc = db_meta_get(db, DB_META_FOLD_HORIZON, &horizon);
    if (rc < 0) {
        db_tx_rollback(db);
        return -1;
    }
    if (rc > 0 && horizon > oldest)
        oldest = horizon;
    for (size_t i = 0; i < n; i++) {
        struct db_stored tmp, *o = out ? &out[i] : &tmp;
        if (store_one(db, &s[i], now, oldest, o) < 0) {
            db_tx_rollback(db);
            return -1;
        }
        /* Each monitor's count of samples sent (monitors.samples): one
           update per run of samples of one monitor (a batch is usually one
           monitor's). */
        if (o->outcome == DB_STORED || o->outcome == DB_DISCARDED || o->outcome == DB_LATE) {
            if (run_n > 0 && s[i].monitor != run_monitor &&
                count_add(db, run_monitor, run_n) < 0) {
                db_tx_rollback(db);
                return -1;
            }
            if (run_n == 0 || s[i].monitor != run_monitor) {
                run_monitor = s[i].monitor;
                run_n = 0;
            }
            run_n++;
        }
    }
    if (run_n > 0 && count_add(db, run_monitor, run_n) < 0) {
        db_tx_rollback(db);
        return -1;
    }
    return db_tx_commit(db);
}

int
db_store_not_applicable(struct db *db, int64_t source, enum score_kind kind,
                        int64_t monitor, int64_t time, int interval, int64_t now)
{
    sqlite3_stmt *s = db_stmt(db, ST_SCORE_NA);

    if (time > now + SCORE_FUTURE_SKEW)
        return 1;
    sqlite3_bind_int64(s, 1, source);
    sqlite3_bind_int(s, 2, (int)kind);
    sqlite3_bind_int64(s, 3, monitor);
    sqlite3_bind_int64(s, 4, time);
    sqlite3_bind_int(s, 5, interval_of(interval));
    sqlite3_bind_int64(s, 6, now + SCORE_FUTURE_SKEW);
    return db_exec_stmt(db, s, "score n/a");
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

static void
fill_history_row(sqlite3_stmt *s, void *arg)
{
    struct db_sample_row *x = arg;
    int which;

    x->time = sqlite3_column_int64(s, 0);
    x->kind = (enum score_kind)sqlite3_column_int(s, 1);
    x->monitor = sqlite3_column_int64(s, 2);
    x->reason = (enum probe_reason)sqlite3_column_int(s, 3);
    db_pick_measurement(db_column_real(s, 4), db_column_real(s, 5), db_column_real(s, 6),
                        db_column_real(s, 7), &x->offset, &x->delay, &which);
    x->step = db_column_real(s, 8);
    x->score = db_column_real(s, 9);
    x->id = sqlite3_column_int64(s, 10);
    x->aead = -1;
    x->stratum = -1;
}

int
db_history_page(struct db *db, const struct db_sample_query *q,
                struct db_sample_row **out, size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, ST_HISTORY_PAGE);
    void *v;
    int rc;

    sqlite3_bind_int64(s, 1, q->source);
    sqlite3_bind_int(s, 2, q->kind);
    sqlite3_bind_int64(s, 3, q->monitor);
    sqlite3_bind_int64(s, 4, q->since);
    sqlite3_bind_int64(s, 5, q->limit > 0 ? (sqlite3_int64)q->limit : DB_HISTORY_LIMIT);
    rc = db_collect(db, s, "history", sizeof(**out), fill_history_row, &v, n);
    *out = v;
    for (size_t i = 0; rc == 0 && i < *n; i++)
        (*out)[i].source = q->source;
    return rc;
}

size_t
db_stamp_slot(int64_t source)
{
    return (size_t)(((uint64_t)source * 0x9E3779B97F4A7C15ULL) >> 32) % DB_STAMP_SLOTS;
}

void
db_history_stamp(const struct db *db, int64_t source, struct db_history_stamp *out)
{
    out->deletes = db->sample_deletes;
    out->stores = db->sample_stores[db_stamp_slot(source)];
}

bool
db_history_stamp_same(const struct db_history_stamp *a, const struct db_history_stamp *b)
{
    return a->deletes == b->deletes && a->stores == b->stores;
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

int
db_last_failure(struct db *db, int64_t source, enum score_kind kind, int64_t since,
                struct db_sample_row *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_SAMPLE_LAST_FAILURE);
    void *v;
    size_t n;

    sqlite3_bind_int64(s, 1, source);
    sqlite3_bind_int(s, 2, (int)kind);
    sqlite3_bind_int64(s, 3, since);
    if (db_collect(db, s, "last failure", sizeof(*out), fill_sample_row, &v, &n) < 0)
        return -1;
    if (n > 0)
        *out = *(struct db_sample_row *)v;
    free(v);
    return n > 0;
}

/* The detail row's parse (db_result_from_json) into *r, from the cache when
   it holds that row; 0 or -1. */
static int
detail_parse(sqlite3_stmt *s, struct db_detail_cache *cache, struct probe_result *r)
{
    int64_t detail = sqlite3_column_int64(s, 19);
    json_t *j;
    int rc;

    for (int i = 0; cache && detail > 0 && i < DB_DETAIL_CACHE; i++)
        if (cache->id[i] == detail) {
            *r = cache->r[i];
            return 0;
        }
    j = json_loads((const char *)sqlite3_column_text(s, 18), 0, NULL);
    rc = j ? db_result_from_json(j, r) : -1;
    json_decref(j);
    if (rc == 0 && cache && detail > 0) {
        cache->id[cache->next] = detail;
        cache->r[cache->next] = *r;
        cache->next = (cache->next + 1) % DB_DETAIL_CACHE;
    }
    return rc;
}

int
db_sample_result(struct db *db, int64_t id, struct db_detail_cache *cache,
                 struct probe_result *r)
{
    sqlite3_stmt *s = db_stmt(db, ST_SAMPLE_GET);
    int rc;

    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE)
            db_log_error(db, "sample get");
        db_stmt_done(db, s);
        return -1;
    }
    if (detail_parse(s, cache, r) < 0) {
        log_err("db: sample %lld: bad stored detail", (long long)id);
        db_stmt_done(db, s);
        return -1;
    }
    r->start_time = sqlite3_column_int64(s, 1);
    r->step = db_column_real(s, 17);
    r->ke.duration = column_us(s, 14, 0);
    r->ke.connect_time = column_us(s, 15, -1);
    r->ke.handshake_time = column_us(s, 16, -1);
    for (int i = 0; i < r->n_ntp && i < RESULT_NTP_EXCHANGES; i++) {
        r->ntp[i].offset = db_column_real(s, 6 + 2 * i);
        r->ntp[i].delay = db_column_real(s, 7 + 2 * i);
        r->ntp[i].root_delay = column_short(s, 10 + 2 * i);
        r->ntp[i].root_dispersion = column_short(s, 11 + 2 * i);
    }
    db_stmt_done(db, s);
    return 0;
}

json_t *
db_sample_json(struct db *db, int64_t id)
{
    struct probe_result r;

    return db_sample_result(db, id, NULL, &r) == 0 ? db_result_to_json(&r) : NULL;
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
