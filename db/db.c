/* db.c - the SQLite connection: pragmas, applying the migrations, preparing
 * every statement, transactions, and the helpers the other files of db/
 * share.  The SQL text itself is in schema.c; the queries of each table
 * family are in users.c, sources.c, samples.c and retention.c.
 *
 * WAL with synchronous=NORMAL: a commit survives a crash of the process (the
 * WAL is written before COMMIT returns) though not necessarily a power cut,
 * the trade the NTP pool makes too for ~2,000 samples/s.  Statements are
 * prepared once with SQLITE_PREPARE_PERSISTENT and reset after each use
 * (sqlite.h on statement lifetimes); db_close finalizes them all before
 * closing, so sqlite3_close never meets a leaked statement. */
#include "db/db_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* ---- helpers -------------------------------------------------------------------- */

#define NEWER_FMT                                                                        \
    "database schema version %d is newer than this program's %d: "                       \
    "refusing to open it (run a newer ntspool)"

/* Page cache and page size: see bench/bench_db.c for the measurements. */
#define DB_PAGE_SIZE        "4096"
#define DB_CACHE_KIB        "-65536"
#define DB_CHECKPOINT_PAGES "40000"
/* Map the file rather than copy its pages into the page cache for reads:
   the history pages of a read are scattered over the whole file (a
   source's rows are spread by time), so a mapping smaller than the file
   (it was 256 MB, the bench database is 324 MB) sends the reads beyond it
   through read() and the cache.  Only address space is reserved; the
   kernel's page cache holds what is touched, so a small deployment pays
   for its own file size only.  SQLite caps it at SQLITE_MAX_MMAP_SIZE
   (about 2 GB by default). */
#if UINTPTR_MAX > 0xffffffffu
#define DB_MMAP_BYTES "2147483648"
#else
#define DB_MMAP_BYTES "268435456"
#endif

void
db_seterr(char **err, const char *fmt, ...)
{
    va_list ap;
    char buf[512];

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    free(*err);
    *err = strdup(buf);
}

void
db_log_error(struct db *db, const char *what)
{
    log_err("db: %s: %s", what, sqlite3_errmsg(db->h));
}

sqlite3_stmt *
db_stmt(struct db *db, enum db_stmt id)
{
    return db->st[id];
}

void
db_stmt_done(struct db *db, sqlite3_stmt *s)
{
    /* sqlite3_reset repeats the error of the last step; that one was
       handled by the caller, so only a reset of a good run is checked. */
    (void)db;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

int
db_exec_stmt(struct db *db, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);

    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        db_log_error(db, what);
        db_stmt_done(db, s);
        return -1;
    }
    db_stmt_done(db, s);
    return 0;
}

int
db_bind_real(sqlite3_stmt *s, int i, double v)
{
    return isnan(v) ? sqlite3_bind_null(s, i) : sqlite3_bind_double(s, i, v);
}

double
db_column_real(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? NAN : sqlite3_column_double(s, i);
}

void
db_column_text(sqlite3_stmt *s, int i, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    size_t n;

    /* What snprintf(buf, len, "%s", t) keeps, without its cost (a status
       list reads several texts per source). */
    if (len == 0)
        return;
    n = t ? strnlen((const char *)t, len - 1) : 0;
    memcpy(buf, t ? (const char *)t : "", n);
    buf[n] = '\0';
}

void
db_pick_measurement(double off1, double del1, double off2, double del2, double *offset,
                    double *delay, int *which)
{
    bool have1 = !isnan(off1), have2 = !isnan(off2);

    if (have2 && (!have1 || del2 < del1)) {
        *offset = off2;
        *delay = del2;
        *which = 2;
    } else if (have1) {
        *offset = off1;
        *delay = del1;
        *which = 1;
    } else {
        *offset = *delay = NAN;
        *which = 0;
    }
}

/* Run a script of constant SQL (migrations, pragmas), statement by statement. */
static int
run_script(sqlite3 *h, const char *sql, char **err)
{
    while (sql && *sql) {
        sqlite3_stmt *s = NULL;
        const char *tail = NULL;
        int rc = sqlite3_prepare_v2(h, sql, -1, &s, &tail);

        if (rc != SQLITE_OK) {
            db_seterr(err, "%s", sqlite3_errmsg(h));
            return -1;
        }
        if (s) {
            while ((rc = sqlite3_step(s)) == SQLITE_ROW)
                ;
            sqlite3_finalize(s);
            if (rc != SQLITE_DONE) {
                db_seterr(err, "%s", sqlite3_errmsg(h));
                return -1;
            }
        }
        sql = tail;
    }
    return 0;
}

static int
read_int(sqlite3 *h, const char *sql, int *out, char **err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(h, sql, -1, &s, NULL);

    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
        return 0;
    }
    db_seterr(err, "%s", sqlite3_errmsg(h));
    sqlite3_finalize(s);
    return -1;
}

static int
configure(sqlite3 *h, char **err)
{
    sqlite3_stmt *s = NULL;
    int ok, version = 0;

    sqlite3_busy_timeout(h, DB_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(h, 1);
    /* The version first: a database of a newer program is refused before
       anything here writes to it (switching it to WAL would). */
    if (read_int(h, "PRAGMA user_version", &version, err) < 0)
        return -1;
    if (version > DB_SCHEMA_VERSION) {
        db_seterr(err, NEWER_FMT, version, DB_SCHEMA_VERSION);
        return -1;
    }
    /* Only a new, empty database takes a page size (WAL fixes it at the
       first write); see bench/bench_db.c for the measurements. */
    if (run_script(h, "PRAGMA page_size=" DB_PAGE_SIZE, err) < 0)
        return -1;
    if (sqlite3_prepare_v2(h, "PRAGMA journal_mode=WAL", -1, &s, NULL) != SQLITE_OK) {
        db_seterr(err, "%s", sqlite3_errmsg(h));
        return -1;
    }
    ok = sqlite3_step(s) == SQLITE_ROW &&
         sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (!ok) {
        db_seterr(err, "cannot switch to WAL mode: %s", sqlite3_errmsg(h));
        return -1;
    }
    return run_script(h,
                      "PRAGMA synchronous=NORMAL;"
                      "PRAGMA foreign_keys=ON;"
                      "PRAGMA cache_size=" DB_CACHE_KIB ";"
                      "PRAGMA temp_store=MEMORY;"
                      /* Checkpoint every ~160 MB of WAL rather than 4 MB: a
                         checkpoint writes back (and fsyncs) the hot pages,
                         whose number hardly grows with the WAL (scores, the
                         per-source index ends), so fewer, larger ones cost
                         far less per sample: 10,000 pages halves the store
                         rate of 40,000 at 2M samples (bench/bench_db.c). */
                      "PRAGMA wal_autocheckpoint=" DB_CHECKPOINT_PAGES ";"
                      "PRAGMA mmap_size=" DB_MMAP_BYTES ";"
                      /* When the log starts again from the top, trim the
                         file back to this size instead of keeping its peak. */
                      "PRAGMA journal_size_limit=67108864;",
                      err);
}

/* Bring an open handle to `target`, all steps in one transaction. */
static int
migrate(sqlite3 *h, int target, char **err)
{
    int version = 0;
    char sql[64];

    if (run_script(h, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    if (read_int(h, "PRAGMA user_version", &version, err) < 0)
        goto fail;
    if (version > DB_SCHEMA_VERSION) {
        db_seterr(err, NEWER_FMT, version, DB_SCHEMA_VERSION);
        goto fail;
    }
    for (int v = version; v < target; v++) {
        char *e = NULL;

        if (run_script(h, db_migrations[v], &e) < 0) {
            db_seterr(err, "migration to version %d failed: %s", v + 1, e ? e : "?");
            free(e);
            goto fail;
        }
    }
    if (target > version) {
        snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", target);
        if (run_script(h, sql, err) < 0)
            goto fail;
    }
    if (run_script(h, "COMMIT", err) < 0)
        goto fail;
    if (target > version)
        log_info("db: schema migrated from version %d to %d", version, target);
    return 0;
fail:
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static sqlite3 *
open_handle(const char *path, char **err)
{
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(
        path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);

    if (rc != SQLITE_OK) {
        db_seterr(err, "%s: %s", path, h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return NULL;
    }
    if (configure(h, err) < 0) {
        char *e = err ? *err : NULL;
        if (err)
            *err = NULL;
        db_seterr(err, "%s: %s", path, e ? e : "cannot configure");
        free(e);
        sqlite3_close(h);
        return NULL;
    }
    return h;
}

int
db_migrate(const char *path, int version, char **err)
{
    sqlite3 *h;
    int rc;

    if (err)
        *err = NULL;
    if (version < 0 || version > DB_SCHEMA_VERSION) {
        db_seterr(err, "no schema version %d", version);
        return -1;
    }
    h = open_handle(path, err);
    if (!h)
        return -1;
    rc = migrate(h, version, err);
    sqlite3_close(h);
    return rc;
}

struct db *
db_open(const char *path, char **err)
{
    struct db *db = calloc(1, sizeof(*db));

    if (err)
        *err = NULL;
    if (!db) {
        db_seterr(err, "out of memory");
        return NULL;
    }
    db->h = open_handle(path, err);
    if (!db->h)
        goto fail;
    if (migrate(db->h, DB_SCHEMA_VERSION, err) < 0)
        goto fail;
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(db->h, db_stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &db->st[i], NULL) != SQLITE_OK) {
            db_seterr(err, "%s: preparing statement %d: %s", path, i, sqlite3_errmsg(db->h));
            goto fail;
        }
    }
    return db;
fail:
    db_close(db);
    return NULL;
}

void
db_close(struct db *db)
{
    if (!db)
        return;
    if (db->user_tx || db->tx_depth || db->read_tx)
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(db->st[i]);
    if (db->h && sqlite3_close(db->h) != SQLITE_OK)
        log_err("db: close: %s", sqlite3_errmsg(db->h));
    free(db);
}

int
db_meta_get(struct db *db, const char *key, int64_t *value)
{
    sqlite3_stmt *s = db_stmt(db, ST_META_GET);
    int rc;

    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *value = sqlite3_column_int64(s, 0);
    else if (rc != SQLITE_DONE)
        db_log_error(db, "meta get");
    db_stmt_done(db, s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

void
db_counters(struct db *db, struct db_counters *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < ST_COUNT; i++) {
        out->statements += sqlite3_stmt_status(db->st[i], SQLITE_STMTSTATUS_RUN, 0);
        out->fullscan_steps +=
            sqlite3_stmt_status(db->st[i], SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
        out->vm_steps += sqlite3_stmt_status(db->st[i], SQLITE_STMTSTATUS_VM_STEP, 0);
    }
}

int
db_schema_version(struct db *db)
{
    int v = -1;
    char *e = NULL;

    if (read_int(db->h, "PRAGMA user_version", &v, &e) < 0) {
        log_err("db: user_version: %s", e ? e : "?");
        free(e);
    }
    return v;
}

int
db_check(struct db *db, char **err)
{
    sqlite3_stmt *s = db_stmt(db, ST_INTEGRITY);
    int rc;

    if (err)
        *err = NULL;
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
        db_seterr(err, "integrity_check: %s",
               rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0)
                                : sqlite3_errmsg(db->h));
        db_stmt_done(db, s);
        return -1;
    }
    db_stmt_done(db, s);
    s = db_stmt(db, ST_FK_CHECK);
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        db_seterr(err, "foreign_key_check: %s",
               rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0)
                                : sqlite3_errmsg(db->h));
        db_stmt_done(db, s);
        return -1;
    }
    db_stmt_done(db, s);
    return 0;
}

/* ---- transactions --------------------------------------------------------------- */

int
db_read_begin(struct db *db)
{
    if (db->read_tx || db->user_tx || db->tx_depth || !sqlite3_get_autocommit(db->h))
        return 0;
    if (db_exec_stmt(db, db_stmt(db, ST_BEGIN_READ), "begin read") < 0)
        return -1;
    db->read_tx = true;
    return 0;
}

int
db_read_end(struct db *db)
{
    if (!db->read_tx)
        return 0;
    db->read_tx = false;
    /* Only the read transaction is open here (db_begin ends it, internal
       ones are savepoints in it); SQLite may have rolled it back already. */
    if (db->user_tx || db->tx_depth || sqlite3_get_autocommit(db->h))
        return 0;
    return db_exec_stmt(db, db_stmt(db, ST_COMMIT), "end read");
}

int
db_begin(struct db *db)
{
    if (db->read_tx && db_read_end(db) < 0)
        return -1;
    if (db->user_tx || db->tx_depth) {
        log_err("db: begin: a transaction is already open");
        return -1;
    }
    if (db_exec_stmt(db, db_stmt(db, ST_BEGIN), "begin") < 0)
        return -1;
    db->user_tx = true;
    return 0;
}

int
db_commit(struct db *db)
{
    if (!db->user_tx)
        return -1;
    if (db_exec_stmt(db, db_stmt(db, ST_COMMIT), "commit") < 0) {
        db_rollback(db);
        return -1;
    }
    db->user_tx = false;
    return 0;
}

int
db_rollback(struct db *db)
{
    if (!db->user_tx)
        return -1;
    db->user_tx = false;
    /* ROLLBACK may fail when SQLite already rolled back (e.g. disk full). */
    if (sqlite3_get_autocommit(db->h))
        return 0;
    return db_exec_stmt(db, db_stmt(db, ST_ROLLBACK), "rollback");
}

int
db_tx_begin(struct db *db)
{
    bool nested = db->user_tx || db->tx_depth > 0 || db->read_tx;

    if (db_exec_stmt(db, db_stmt(db, nested ? ST_SAVEPOINT : ST_BEGIN), "begin") < 0)
        return -1;
    db->tx_depth++;
    return 0;
}

int
db_tx_commit(struct db *db)
{
    bool nested;

    db->tx_depth--;
    nested = db->user_tx || db->tx_depth > 0 || db->read_tx;
    if (db_exec_stmt(db, db_stmt(db, nested ? ST_RELEASE : ST_COMMIT), "commit") < 0) {
        db->tx_depth++;
        db_tx_rollback(db);
        return -1;
    }
    return 0;
}

void
db_tx_rollback(struct db *db)
{
    db->tx_depth--;
    if (db->user_tx || db->tx_depth > 0 || db->read_tx) {
        if (db_exec_stmt(db, db_stmt(db, ST_ROLLBACK_TO), "rollback") == 0)
            db_exec_stmt(db, db_stmt(db, ST_RELEASE), "release");
    } else if (!sqlite3_get_autocommit(db->h)) {
        db_exec_stmt(db, db_stmt(db, ST_ROLLBACK), "rollback");
    }
}

/* ---- lookups ------------------------------------------------------------------ */

int
db_lookup(struct db *db, sqlite3_stmt *s, const char *what,
          void (*fill)(sqlite3_stmt *, void *), void *arg)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW) {
        fill(s, arg);
        db_stmt_done(db, s);
        return 1;
    }
    if (rc != SQLITE_DONE)
        db_log_error(db, what);
    db_stmt_done(db, s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
db_collect(struct db *db, sqlite3_stmt *s, const char *what, size_t size,
           void (*fill)(sqlite3_stmt *, void *), void **out, size_t *n)
{
    char *v = NULL;
    size_t cap = 0, len = 0;
    int rc;

    *out = NULL;
    *n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            char *nv = realloc(v, ncap * size);
            if (!nv) {
                log_err("db: %s: out of memory", what);
                free(v);
                db_stmt_done(db, s);
                return -1;
            }
            v = nv;
            cap = ncap;
        }
        memset(v + len * size, 0, size);
        fill(s, v + len * size);
        len++;
    }
    if (rc != SQLITE_DONE) {
        db_log_error(db, what);
        free(v);
        db_stmt_done(db, s);
        return -1;
    }
    db_stmt_done(db, s);
    *out = v;
    *n = len;
    return 0;
}
