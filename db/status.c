/* status.c - the state of sources from their score rows (one row per
 * source, kind and monitor, written by samples.c): per kind the median of
 * the fresh monitors and the in-pool verdict, for one source, an owner's
 * list, or a source looked up with its rows in one query (the NTP pool's
 * score page).  The score rows are read once per call, never the samples. */
#include "db/db_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* ---- status of sources ---------------------------------------------------------- */

struct score_row {
    struct db_monitor_score ms;
    int64_t cert_not_after;
};

/* The score columns (SCORE_COLS_SC in schema.c) from column `c` on, and the
   monitor's name when name_col >= 0. */
static void
score_row_at(sqlite3_stmt *s, int c, int name_col, struct score_row *x)
{
    struct score_monitor *m = &x->ms.m;

    x->ms.kind = (enum score_kind)sqlite3_column_int(s, c);
    x->ms.monitor = sqlite3_column_int64(s, c + 1);
    m->time = sqlite3_column_int64(s, c + 2);
    m->not_applicable = sqlite3_column_int(s, c + 3) != 0;
    m->score = db_column_real(s, c + 4);
    m->sample_time = sqlite3_column_int64(s, c + 5);
    m->reason = (enum probe_reason)sqlite3_column_int(s, c + 6);
    m->ke_status = (enum ke_status)sqlite3_column_int(s, c + 7);
    m->ntp_status = (enum ntp_status)sqlite3_column_int(s, c + 8);
    x->cert_not_after = sqlite3_column_int64(s, c + 9);
    m->interval = sqlite3_column_int(s, c + 10);
    if (name_col >= 0)
        db_column_text(s, name_col, x->ms.monitor_name, sizeof(x->ms.monitor_name));
}

static void
fill_score_row(sqlite3_stmt *s, void *arg)
{
    score_row_at(s, 0, 11, arg);
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

/* Fill out->kind[], verdict and times from the source's n score rows (any
   order).  m has room for n monitors. */
static void
fill_status(const struct score_row *rows, size_t n, int64_t now, struct score_monitor *m,
            struct db_source_status *out)
{
    struct score_current cur[SCORE_KINDS];
    int64_t cert_time = 0;

    for (int k = 0; k < SCORE_KINDS; k++) {
        struct db_kind_status *ks = &out->kind[k];
        size_t nk = 0;

        for (size_t i = 0; i < n; i++) {
            if ((int)rows[i].ms.kind != k)
                continue;
            m[nk++] = rows[i].ms.m;
            if (!rows[i].ms.m.not_applicable &&
                rows[i].ms.m.sample_time > ks->last_probe) {
                ks->last_probe = rows[i].ms.m.sample_time;
                ks->has_last = true;
                ks->last_reason = rows[i].ms.m.reason;
            }
            if (rows[i].cert_not_after && rows[i].ms.m.sample_time >= cert_time) {
                cert_time = rows[i].ms.m.sample_time;
                out->cert_not_after = rows[i].cert_not_after;
            }
        }
        ks->n_monitors = (int)nk;
        score_current(m, nk, now, &ks->cur);
        cur[k] = ks->cur;
        if (ks->last_probe > out->last_probe)
            out->last_probe = ks->last_probe;
    }
    out->in_pool = score_in_pool(cur, out->why, sizeof(out->why));
}

int
db_source_status(struct db *db, int64_t source, int64_t now,
                 struct db_source_status *out)
{
    struct score_row *rows = NULL;
    struct score_monitor *m = NULL;
    size_t n = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = db_source_get(db, source, &out->src);
    if (rc <= 0)
        return rc;
    if (out->src.deleted)
        return 0;
    if (score_rows(db, out->src.id, &rows, &n) < 0)
        return -1;
    if (n > 0 && !(m = calloc(n, sizeof(*m)))) {
        log_err("db: source status: out of memory");
        free(rows);
        return -1;
    }
    fill_status(rows, n, now, m, out);
    free(m);
    free(rows);
    return 1;
}

/* v (of *cap elements of `size`) grown to hold at least `need`; NULL when
   out of memory, v then unchanged. */
static void *
grow(void *v, size_t *cap, size_t need, size_t size)
{
    size_t ncap = *cap ? *cap : 16;
    void *nv;

    if (need <= *cap)
        return v;
    while (ncap < need)
        ncap *= 2;
    nv = realloc(v, ncap * size);
    if (nv)
        *cap = ncap;
    return nv;
}

/* The statuses of a bound ST_STATUS_* statement's rows. */
static int
status_list(struct db *db, sqlite3_stmt *s, int64_t now, struct db_source_status **out,
            size_t *n)
{
    struct db_source_status *list = NULL, *cur = NULL;
    struct score_row *rows = NULL;
    struct score_monitor *m = NULL;
    size_t cap = 0, len = 0, rcap = 0, mcap = 0, nrows = 0;
    int rc;

    *out = NULL;
    *n = 0;
    /* One row per (source, score row), ordered by source: a source's rows
       are gathered, then turned into its status when the next one starts. */
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);

        if (!cur || cur->src.id != id) {
            void *nl;

            if (cur)
                fill_status(rows, nrows, now, m, cur);
            nl = grow(list, &cap, len + 1, sizeof(*list));
            if (!nl)
                goto oom;
            list = nl;
            cur = &list[len++];
            memset(cur, 0, sizeof(*cur));
            db_source_row(s, &cur->src);
            nrows = 0;
        }
        /* The score columns follow the source's. */
        if (sqlite3_column_type(s, DB_SOURCE_COLS) == SQLITE_NULL) /* no score row */
            continue;
        if (nrows == rcap) {
            void *nr = grow(rows, &rcap, nrows + 1, sizeof(*rows)), *nm;

            if (!nr)
                goto oom;
            rows = nr;
            nm = grow(m, &mcap, nrows + 1, sizeof(*m));
            if (!nm)
                goto oom;
            m = nm;
        }
        memset(&rows[nrows], 0, sizeof(rows[nrows]));
        score_row_at(s, DB_SOURCE_COLS, -1, &rows[nrows++]);
    }
    if (rc != SQLITE_DONE) {
        db_log_error(db, "source statuses");
        goto fail;
    }
    if (cur)
        fill_status(rows, nrows, now, m, cur);
    db_stmt_done(db, s);
    free(rows);
    free(m);
    *out = list;
    *n = len;
    return 0;
oom:
    log_err("db: source statuses: out of memory");
fail:
    db_stmt_done(db, s);
    free(rows);
    free(m);
    free(list);
    return -1;
}

int
db_sources_of_owner(struct db *db, int64_t owner, int64_t now,
                    struct db_source_status **out, size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, owner < 0 ? ST_STATUS_ALL : ST_STATUS_OF_OWNER);

    if (owner >= 0)
        sqlite3_bind_int64(s, 1, owner);
    return status_list(db, s, now, out, n);
}

int
db_sources_status_page(struct db *db, int64_t after, size_t max, int64_t now,
                       struct db_source_status **out, size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, ST_STATUS_PAGE);

    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int64(s, 2, (int64_t)max);
    return status_list(db, s, now, out, n);
}

int
db_source_monitor_scores(struct db *db, int64_t source, int64_t now,
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
        (*out)[i].fresh = score_is_fresh(rows[i].ms.m.time, now, rows[i].ms.m.interval);
    }
    free(rows);
    return 0;
}

/* ---- a source and its score rows in one query ----------------------------------- */

/* Step s (a source's columns, then its score rows' SCORE_COLS_SC and the
   monitor's name, one row per score row, or one with NULL score columns):
   1 and *out for a row, 0 none, -1 error. */
static int
source_scores(struct db *db, sqlite3_stmt *s, const char *what, int64_t now,
              struct db_source_scores *out)
{
    struct score_row *rows = NULL;
    struct score_monitor *m = NULL;
    size_t cap = 0, n = 0;
    bool found = false;
    int rc;

    memset(out, 0, sizeof(*out));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!found) {
            db_source_row(s, &out->st.src);
            found = true;
        }
        if (sqlite3_column_type(s, DB_SOURCE_COLS) == SQLITE_NULL) /* no score row */
            continue;
        if (n == cap) {
            void *nr = grow(rows, &cap, n + 1, sizeof(*rows));

            if (!nr)
                goto oom;
            rows = nr;
        }
        memset(&rows[n], 0, sizeof(rows[n]));
        score_row_at(s, DB_SOURCE_COLS, DB_SOURCE_COLS + 11, &rows[n++]);
    }
    if (rc != SQLITE_DONE) {
        db_log_error(db, what);
        goto fail;
    }
    db_stmt_done(db, s);
    if (!found) {
        free(rows);
        return 0;
    }
    if (n > 0) {
        m = calloc(n, sizeof(*m));
        out->ms = calloc(n, sizeof(*out->ms));
        if (!m || !out->ms) {
            free(m);
            free(out->ms);
            out->ms = NULL;
            free(rows);
            log_err("db: %s: out of memory", what);
            return -1;
        }
    }
    fill_status(rows, n, now, m, &out->st);
    for (size_t i = 0; i < n; i++) {
        out->ms[i] = rows[i].ms;
        out->ms[i].fresh = score_is_fresh(rows[i].ms.m.time, now, rows[i].ms.m.interval);
    }
    out->n = n;
    free(m);
    free(rows);
    return 1;
oom:
    log_err("db: %s: out of memory", what);
fail:
    db_stmt_done(db, s);
    free(rows);
    return -1;
}

int
db_source_scores_find(struct db *db, const char *host, int port, int64_t now,
                      struct db_source_scores *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_SCORES_FIND);

    sqlite3_bind_text(s, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, port);
    return source_scores(db, s, "source scores", now, out);
}

int
db_source_scores_by_uuid(struct db *db, const char *uuid, int64_t now,
                         struct db_source_scores *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_SCORES_UUID);

    sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
    return source_scores(db, s, "source scores", now, out);
}

void
db_source_scores_free(struct db_source_scores *x)
{
    if (!x)
        return;
    free(x->ms);
    x->ms = NULL;
    x->n = 0;
}
