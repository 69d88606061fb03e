/* db_int.h - what the files of db/ share and nobody else sees: the
 * connection struct, the prepared statements (their SQL and the migrations
 * are in schema.c, the only file with query text; db.c and wal.c hold just
 * the pragmas that set up a connection), and small helpers. */
#ifndef NTSPOOL_DB_DB_INT_H
#define NTSPOOL_DB_DB_INT_H

#include <sqlite3.h>

#include "db/db.h"

enum db_stmt {
    ST_BEGIN,
    ST_BEGIN_READ,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_INTEGRITY,
    ST_FK_CHECK,
    /* users, sessions, API tokens */
    ST_USER_ADD,
    ST_USER_GET,
    ST_USER_BY_EMAIL,
    ST_USERS_LIST,
    ST_USER_SET_PW,
    ST_USER_SET_BLOCKED,
    ST_SESSION_ADD,
    ST_SESSION_GET,
    ST_SESSION_TOUCH,
    ST_SESSION_DEL,
    ST_SESSIONS_DEL_USER,
    ST_SESSIONS_EXPIRE,
    ST_APITOK_ADD,
    ST_APITOK_USER,
    ST_APITOK_TOUCH,
    ST_APITOK_DEL,
    ST_APITOK_LIST,
    /* time sources */
    ST_SRC_ADD,
    ST_SRC_GET,
    ST_SRC_BY_UUID,
    ST_SRC_DEL,
    ST_SRC_REKEY,
    ST_SRC_ACTIVE,
    ST_SRC_FIND,
    ST_SRC_CODEPOINTS,
    ST_SRC_COUNT,
    ST_STATUS_OF_OWNER,
    ST_STATUS_ALL,
    ST_STATUS_PAGE,
    ST_SRC_SCORES_FIND,
    ST_SRC_SCORES_UUID,
    /* monitors */
    ST_MON_ADD,
    ST_MON_BY_HASH,
    ST_MON_TOUCH,
    ST_MON_STATUS,
    ST_MON_GET,
    ST_MON_BY_NAME,
    ST_MON_LIST,
    ST_MON_COUNT_ADD,
    /* samples and scores */
    ST_DETAIL_GET,
    ST_DETAIL_ADD,
    ST_SCORE_GET,
    ST_SAMPLE_LAST_ID,
    ST_SAMPLE_INSERT,
    ST_SCORE_UPSERT,
    ST_SCORE_NA,
    ST_SCORES_OF_SOURCE,
    ST_SAMPLES_PAGE,
    ST_HISTORY_PAGE,
    ST_SAMPLE_GET,
    ST_SAMPLE_LAST_FAILURE,
    ST_SAMPLE_COUNT,
    ST_META_GET,
    ST_META_MAX,
    /* retention */
    ST_FOLD_SELECT,
    ST_HOURLY_UPSERT,
    ST_SAMPLE_DELETE_TO,
    ST_DETAILS_GC,
    ST_HOURLY_LIST,
    /* alerts */
    ST_ALERT_SETTINGS_GET,
    ST_ALERT_SETTINGS_SET,
    ST_ALERT_STATE_GET,
    ST_ALERT_STATE_SET,
    ST_ALERT_LAST,
    ST_ALERT_ADD,
    ST_ALERT_DUE,
    ST_ALERT_UPDATE,
    ST_ALERT_LIST,
    ST_ALERT_PRUNE,
    ST_ALERT_CANCEL_SOURCE,
    ST_COUNT
};

/* The SQL text (schema.c): migrations[i] takes the schema from version i to
   i + 1; stmt_sql[id] is prepared into db->st[id] by db_open. */
extern const char *const db_migrations[DB_SCHEMA_VERSION];
extern const char *const db_stmt_sql[ST_COUNT];

struct db {
    sqlite3 *h;
    sqlite3_stmt *st[ST_COUNT];
    bool user_tx; /* db_begin() is open */
    int tx_depth; /* internal transactions/savepoints open */
    bool read_tx; /* db_read_begin() opened a read transaction */
    uint64_t src_changes; /* adds, deletes, rekeys of sources on this connection
                             (db_sources_generation) */
    uint64_t sample_deletes;                /* db_history_stamp */
    uint32_t sample_stores[DB_STAMP_SLOTS]; /* by db_stamp_slot(source) */
};

/* The counter of db->sample_stores that source's stores bump. */
size_t db_stamp_slot(int64_t source);

/* Begin an internal transaction: BEGIN IMMEDIATE, or a savepoint inside an
   open one.  Pair with db_tx_commit or db_tx_rollback. */
int db_tx_begin(struct db *db);
int db_tx_commit(struct db *db);
void db_tx_rollback(struct db *db);

/* The prepared statement id, ready for binding (reset by its last user). */
sqlite3_stmt *db_stmt(struct db *db, enum db_stmt id);
/* Reset and clear a statement after use (a failed step was reported by
   the caller; reset only repeats its error). */
void db_stmt_done(struct db *db, sqlite3_stmt *s);
/* Step a statement that returns no rows, then reset it; 0 or -1 (logged). */
int db_exec_stmt(struct db *db, sqlite3_stmt *s, const char *what);
/* Log the connection's last error about `what`. */
void db_log_error(struct db *db, const char *what);

/* Replace *err (malloc'd, freed first; err may be NULL) with a formatted
   message.  *err must be NULL or a message from an earlier call. */
void db_seterr(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Bind v, or NULL when v is NAN. */
int db_bind_real(sqlite3_stmt *s, int i, double v);
/* Column i as a double; NAN when NULL. */
double db_column_real(sqlite3_stmt *s, int i);
/* Copy column i's text into buf (truncated, NUL-terminated; "" when NULL). */
void db_column_text(sqlite3_stmt *s, int i, char *buf, size_t len);

/* A time_sources row as SRC_COLS (schema.c) lists it, from column 0 on:
   DB_SOURCE_COLS columns (sources.c). */
#define DB_SOURCE_COLS 9
void db_source_row(sqlite3_stmt *s, struct db_source *out);

/* Step a one-row lookup: 1 and fill(s, arg) for a row, 0 none, -1 error;
   the statement is reset either way. */
int db_lookup(struct db *db, sqlite3_stmt *s, const char *what,
              void (*fill)(sqlite3_stmt *, void *), void *arg);
/* Step s to the end, filling a malloc'd array of elements of `size` (each
   zeroed, then fill()ed); *out NULL when empty.  0 or -1. */
int db_collect(struct db *db, sqlite3_stmt *s, const char *what, size_t size,
               void (*fill)(sqlite3_stmt *, void *), void **out, size_t *n);

/* The shared part of a result (db_result_to_json less the per-probe
   numbers: start_time, step, durations, days_left, offsets, delays, root
   delay and dispersion) as compact JSON text; malloc'd, or NULL. */
char *db_result_detail_text(const struct probe_result *r);

/* The first 16 bytes of SHA-256(data): the key of a detail row. */
int db_digest128(const void *data, size_t len, unsigned char out[16]);

/* A sample's id is its time * 2^DB_ID_SHIFT plus a counter within that
   second, so id order is time order (samples.c). */
#define DB_ID_SHIFT 20

/* meta key of the fold horizon: the latest cutoff retention folded before;
   samples older than it are refused (db/retention.c). */
#define DB_META_FOLD_HORIZON "fold_horizon"

/* A meta value: 1 and *value, 0 none, -1 error. */
int db_meta_get(struct db *db, const char *key, int64_t *value);

/* The offset, delay, stratum that represent a sample: those of the exchange
   with the smaller delay (the usual NTP choice). */
void db_pick_measurement(double off1, double del1, double off2, double del2,
                         double *offset, double *delay, int *which);

#endif
