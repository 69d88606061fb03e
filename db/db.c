/* db.c - the SQLite connection: pragmas, versioned migrations, every
 * prepared statement of db/, transactions, and the account, time-source and
 * monitor tables.  Samples, scores and retention live in samples.c and
 * retention.c but their SQL is here, so one file shows every query.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/log.h"

/* ---- schema --------------------------------------------------------------------- */

/* The hourly count of each probe reason but ok (enum probe_reason 1..11, in
   order).  A new reason code needs a column: a migration, and these lists. */
_Static_assert(PROBE_COOKIES_SHORT == 11, "a new probe reason needs an hourly column");
#define HOURLY_REASON_DEFS                                                               \
    "  n_monitor_fault INTEGER NOT NULL DEFAULT 0,"                                      \
    "  n_kod_deny INTEGER NOT NULL DEFAULT 0,"                                           \
    "  n_kod_rate INTEGER NOT NULL DEFAULT 0,"                                           \
    "  n_ke_failed INTEGER NOT NULL DEFAULT 0,"                                          \
    "  n_ntp_timeout INTEGER NOT NULL DEFAULT 0,"                                        \
    "  n_ntp_failed INTEGER NOT NULL DEFAULT 0,"                                         \
    "  n_unsynchronized INTEGER NOT NULL DEFAULT 0,"                                     \
    "  n_offset_over_3s INTEGER NOT NULL DEFAULT 0,"                                     \
    "  n_stratum_too_high INTEGER NOT NULL DEFAULT 0,"                                   \
    "  n_offset INTEGER NOT NULL DEFAULT 0,"                                             \
    "  n_cookies_short INTEGER NOT NULL DEFAULT 0,"
#define HOURLY_REASON_COLS                                                               \
    "n_monitor_fault, n_kod_deny, n_kod_rate, n_ke_failed, n_ntp_timeout, "              \
    "n_ntp_failed, n_unsynchronized, n_offset_over_3s, n_stratum_too_high, n_offset, "   \
    "n_cookies_short"
#define HOURLY_REASON_ADD(c) c " = " c " + excluded." c ", "

/* migrations[i] takes the schema from version i to i + 1.  Append only: a
   released migration never changes (databases in the field ran it).  (2 and
   3 were reworked after review, before any release or deployment.) */
static const char *const migrations[DB_SCHEMA_VERSION] = {
    /* 1: accounts, time sources, monitors. */
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  password_hash TEXT NOT NULL,"
    "  is_admin INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE sessions ("
    "  id BLOB PRIMARY KEY," /* SHA-256 of the cookie value */
    "  user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  csrf TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX sessions_user ON sessions(user);"
    "CREATE INDEX sessions_expires ON sessions(expires);"
    "CREATE TABLE api_tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  hash BLOB NOT NULL UNIQUE," /* SHA-256 of the token */
    "  created INTEGER NOT NULL,"
    "  last_used INTEGER);"
    "CREATE INDEX api_tokens_user ON api_tokens(user);"
    "CREATE TABLE time_sources ("
    "  id INTEGER PRIMARY KEY,"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  owner INTEGER NOT NULL REFERENCES users(id),"
    "  host TEXT NOT NULL,"
    "  port INTEGER NOT NULL DEFAULT 4460,"
    "  randomizer TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL,"
    "  deleted INTEGER);" /* NULL while active; rows are never removed */
    "CREATE INDEX time_sources_owner ON time_sources(owner);"
    "CREATE TABLE monitors ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  key_hash BLOB NOT NULL UNIQUE,"     /* SHA-256 of the key */
    "  status INTEGER NOT NULL DEFAULT 0," /* enum db_monitor_status; never deleted */
    "  created INTEGER NOT NULL,"
    "  last_seen INTEGER);",

    /* 2: samples and the latest score per (source, kind, monitor).
       A sample row holds the indexed facts and the volatile numbers as typed
       columns; the rest of the result (certificate, cookies, details...),
       which repeats from probe to probe, is one shared sample_details row
       per epoch (a week of sample time).  The id is time-ordered (time *
       2^20 + a counter, see samples.c), so the table itself is in time
       order: retention takes its oldest rows as one range at the front, and
       no index on time is needed.  samples_key makes inserts idempotent and
       serves every per-source query.  Scoring reads scores only. */
    "CREATE TABLE sample_details ("
    "  id INTEGER PRIMARY KEY,"
    "  epoch INTEGER NOT NULL," /* sample time / DB_DETAIL_EPOCH */
    "  hash BLOB NOT NULL,"     /* fingerprint of the result (samples.c) */
    "  json TEXT NOT NULL,"     /* the result JSON less the volatile fields */
    "  UNIQUE (epoch, hash));"
    "CREATE TABLE samples ("
    "  id INTEGER PRIMARY KEY," /* time * 2^20 + n */
    "  source INTEGER NOT NULL REFERENCES time_sources(id),"
    "  kind INTEGER NOT NULL," /* enum score_kind */
    "  monitor INTEGER NOT NULL REFERENCES monitors(id),"
    "  time INTEGER NOT NULL," /* probe start, Unix s */
    "  address TEXT,"
    "  aead INTEGER,"
    "  reason INTEGER NOT NULL,"    /* enum probe_reason */
    "  ke_status INTEGER NOT NULL," /* enum ke_status */
    "  ntp_status INTEGER,"         /* first failed exchange, else 0; NULL none */
    "  stratum INTEGER,"
    "  offset1 REAL, delay1 REAL, offset2 REAL, delay2 REAL,"
    "  rdelay1 INTEGER, rdisp1 INTEGER, rdelay2 INTEGER, rdisp2 INTEGER," /* 2^-16 s */
    "  ke_us INTEGER, connect_us INTEGER, handshake_us INTEGER,"
    "  step REAL,"                /* NULL: discarded (rule 1) */
    "  score REAL,"               /* NULL: did not move the score */
    "  detail INTEGER NOT NULL);" /* sample_details.id */
    "CREATE UNIQUE INDEX samples_key ON samples(source, time, kind, monitor);"
    "CREATE TABLE scores ("
    "  source INTEGER NOT NULL REFERENCES time_sources(id),"
    "  kind INTEGER NOT NULL,"
    "  monitor INTEGER NOT NULL REFERENCES monitors(id),"
    "  time INTEGER NOT NULL,"         /* latest report: scored sample or n/a */
    "  interval INTEGER NOT NULL,"     /* the monitor's probe interval at it, s */
    "  na INTEGER NOT NULL DEFAULT 0," /* that report was 'not applicable' */
    "  score REAL,"                    /* NULL before the first scored sample */
    "  sample_time INTEGER,"           /* of the latest scored sample */
    "  reason INTEGER, ke_status INTEGER, ntp_status INTEGER,"
    "  cert_not_after INTEGER,"
    "  PRIMARY KEY (source, kind, monitor)) WITHOUT ROWID;",

    /* 3: hourly aggregates of folded samples (kept forever), keyed by
       source then hour so that the recent hours of a source are one range;
       the count per probe reason other than ok is a column each (append a
       column with a new reason code).  meta keeps the fold horizon: the
       latest cutoff retention used, before which no sample is accepted
       again (a retried batch must not count twice). */
    "CREATE TABLE hourly ("
    "  source INTEGER NOT NULL,"
    "  hour INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  monitor INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  n_measured INTEGER NOT NULL DEFAULT 0,"
    "  offset_min REAL, offset_sum REAL NOT NULL DEFAULT 0, offset_max REAL,"
    "  delay_min REAL, delay_sum REAL NOT NULL DEFAULT 0, delay_max REAL,"
    "  last_score REAL, last_time INTEGER," HOURLY_REASON_DEFS
    "  PRIMARY KEY (source, hour, kind, monitor)) WITHOUT ROWID;"
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL) WITHOUT ROWID;",
};

#define SRC_COLS "id, uuid, owner, host, port, randomizer, created, deleted"
#define SRC_COLS_S                                                                       \
    "s.id, s.uuid, s.owner, s.host, s.port, s.randomizer, s.created, s.deleted"
/* What samples.c reads of a score row (fill_score_row), from column 0 on. */
#define SCORE_COLS_SC                                                                    \
    "sc.kind, sc.monitor, sc.time, sc.na, sc.score, sc.sample_time, sc.reason, "         \
    "sc.ke_status, sc.ntp_status, sc.cert_not_after, sc.interval"
#define SAMPLE_ROW_COLS                                                                  \
    "id, source, kind, monitor, time, address, aead, reason, ke_status, "                \
    "ntp_status, offset1, delay1, offset2, delay2, stratum, step, score"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT db_tx",
    [ST_RELEASE] = "RELEASE db_tx",
    [ST_ROLLBACK_TO] = "ROLLBACK TO db_tx",
    [ST_INTEGRITY] = "PRAGMA integrity_check",
    [ST_FK_CHECK] = "PRAGMA foreign_key_check",

    [ST_USER_ADD] =
        "INSERT OR IGNORE INTO users(email, password_hash, is_admin, created) "
        "VALUES(?1, ?2, ?3, ?4)",
    [ST_USER_GET] = "SELECT id, email, password_hash, is_admin, created FROM users "
                    "WHERE id = ?1",
    [ST_USER_BY_EMAIL] = "SELECT id, email, password_hash, is_admin, created FROM users "
                         "WHERE email = ?1",
    [ST_USERS_LIST] = "SELECT id, email, password_hash, is_admin, created FROM users "
                      "ORDER BY id",
    [ST_SESSION_ADD] = "INSERT INTO sessions(id, user, csrf, created, expires) "
                       "VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_SESSION_GET] = "SELECT user, csrf, created, expires FROM sessions "
                       "WHERE id = ?1 AND expires > ?2",
    [ST_SESSION_DEL] = "DELETE FROM sessions WHERE id = ?1",
    [ST_SESSIONS_EXPIRE] = "DELETE FROM sessions WHERE expires <= ?1",
    [ST_APITOK_ADD] = "INSERT INTO api_tokens(user, name, hash, created) "
                      "VALUES(?1, ?2, ?3, ?4)",
    [ST_APITOK_USER] = "SELECT id, user, last_used FROM api_tokens WHERE hash = ?1",
    [ST_APITOK_TOUCH] = "UPDATE api_tokens SET last_used = ?2 WHERE id = ?1",
    [ST_APITOK_DEL] = "DELETE FROM api_tokens WHERE id = ?1 AND user = ?2",

    [ST_SRC_ADD] = "INSERT INTO time_sources(uuid, owner, host, port, created) "
                   "VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_SRC_GET] = "SELECT " SRC_COLS " FROM time_sources WHERE id = ?1",
    [ST_SRC_BY_UUID] = "SELECT " SRC_COLS " FROM time_sources WHERE uuid = ?1",
    [ST_SRC_DEL] = "UPDATE time_sources SET deleted = ?3 "
                   "WHERE id = ?1 AND (?2 < 0 OR owner = ?2) AND deleted IS NULL",
    [ST_SRC_REKEY] = "UPDATE time_sources SET randomizer = ?3 "
                     "WHERE id = ?1 AND (?2 < 0 OR owner = ?2) AND deleted IS NULL "
                     "RETURNING uuid",
    [ST_SRC_ACTIVE] = "SELECT " SRC_COLS " FROM time_sources "
                      "WHERE deleted IS NULL AND id > ?1 ORDER BY id LIMIT ?2",
    /* The owner's list (through time_sources_owner) and the admin's, each
       with every score row in one ordered join: no query per source. */
    [ST_STATUS_OF_OWNER] = "SELECT " SRC_COLS_S ", " SCORE_COLS_SC
                           " FROM time_sources s LEFT JOIN scores sc ON sc.source = s.id "
                           "WHERE s.owner = ?1 AND s.deleted IS NULL "
                           "ORDER BY s.id, sc.kind, sc.monitor",
    [ST_STATUS_ALL] = "SELECT " SRC_COLS_S ", " SCORE_COLS_SC
                      " FROM time_sources s LEFT JOIN scores sc ON sc.source = s.id "
                      "WHERE s.deleted IS NULL ORDER BY s.id, sc.kind, sc.monitor",

    [ST_MON_ADD] = "INSERT OR IGNORE INTO monitors(name, key_hash, created) "
                   "VALUES(?1, ?2, ?3)",
    [ST_MON_BY_HASH] =
        "SELECT id, name, status, created, last_seen, key_hash FROM monitors "
        "WHERE key_hash = ?1",
    [ST_MON_TOUCH] = "UPDATE monitors SET last_seen = ?2 WHERE id = ?1",
    [ST_MON_STATUS] = "UPDATE monitors SET status = ?2 WHERE id = ?1",
    [ST_MON_LIST] =
        "SELECT id, name, status, created, last_seen FROM monitors ORDER BY id",

    [ST_DETAIL_GET] = "SELECT id FROM sample_details WHERE epoch = ?1 AND hash = ?2",
    [ST_DETAIL_ADD] = "INSERT INTO sample_details(epoch, hash, json) VALUES(?1, ?2, ?3)",
    [ST_SCORE_GET] = "SELECT score, sample_time FROM scores "
                     "WHERE source = ?1 AND kind = ?2 AND monitor = ?3",
    /* The last id given to a sample of the second ?1 (see samples.c). */
    [ST_SAMPLE_LAST_ID] = "SELECT id FROM samples WHERE id < (?1 + 1) * 1048576 "
                          "ORDER BY id DESC LIMIT 1",
    [ST_SAMPLE_INSERT] =
        "INSERT OR IGNORE INTO samples(id, source, kind, monitor, time, address, aead, "
        "reason, ke_status, ntp_status, stratum, offset1, delay1, offset2, delay2, "
        "rdelay1, rdisp1, rdelay2, rdisp2, ke_us, connect_us, handshake_us, step, score, "
        "detail) VALUES(?25, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
        "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
    /* A sample newer than the row's latest report takes it over, n/a
       included; an older one (the n/a came later) updates the score but
       leaves the report, so na is not cleared.  A row time past ?11 (now +
       skew) is not trusted and is replaced. */
    [ST_SCORE_UPSERT] =
        "INSERT INTO scores(source, kind, monitor, time, interval, na, score, "
        "sample_time, reason, ke_status, ntp_status, cert_not_after) "
        "VALUES(?1, ?2, ?3, ?4, ?10, 0, ?5, ?4, ?6, ?7, ?8, ?9) "
        "ON CONFLICT(source, kind, monitor) DO UPDATE SET "
        "na = CASE WHEN excluded.time >= time OR time > ?11 THEN 0 ELSE na END, "
        "interval = CASE WHEN excluded.time >= time OR time > ?11 "
        "  THEN excluded.interval ELSE interval END, "
        "time = CASE WHEN excluded.time >= time OR time > ?11 "
        "  THEN excluded.time ELSE time END, "
        "score = excluded.score, sample_time = excluded.sample_time, "
        "reason = excluded.reason, ke_status = excluded.ke_status, "
        "ntp_status = excluded.ntp_status, "
        "cert_not_after = coalesce(excluded.cert_not_after, cert_not_after)",
    [ST_SCORE_NA] = "INSERT INTO scores(source, kind, monitor, time, interval, na) "
                    "VALUES(?1, ?2, ?3, ?4, ?5, 1) "
                    "ON CONFLICT(source, kind, monitor) DO UPDATE SET "
                    "time = excluded.time, interval = excluded.interval, na = 1 "
                    "WHERE excluded.time >= time OR time > ?6",
    [ST_SCORES_OF_SOURCE] = "SELECT " SCORE_COLS_SC ", m.name "
                            "FROM scores sc JOIN monitors m ON m.id = sc.monitor "
                            "WHERE sc.source = ?1 ORDER BY sc.kind, sc.monitor",
    [ST_SAMPLES_PAGE] = "SELECT " SAMPLE_ROW_COLS " FROM samples "
                        "WHERE source = ?1 AND (?2 < 0 OR kind = ?2) "
                        "AND (?3 < 0 OR monitor = ?3) AND time >= ?4 AND time < ?5 "
                        "ORDER BY time DESC, kind DESC, monitor DESC LIMIT ?6 OFFSET ?7",
    [ST_SAMPLE_GET] =
        "SELECT s.kind, s.time, s.address, s.aead, s.reason, s.ke_status, "
        "s.offset1, s.delay1, s.offset2, s.delay2, s.rdelay1, s.rdisp1, "
        "s.rdelay2, s.rdisp2, s.ke_us, s.connect_us, s.handshake_us, s.step, "
        "d.json FROM samples s JOIN sample_details d ON d.id = s.detail "
        "WHERE s.id = ?1",
    [ST_SAMPLE_COUNT] = "SELECT count(*) FROM samples",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_MAX] = "INSERT INTO meta(key, value) VALUES(?1, ?2) "
                    "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",

    /* Retention: the oldest rows are a range at the front of samples. */
    [ST_FOLD_SELECT] = "SELECT id, source, kind, monitor, time, reason, offset1, delay1, "
                       "offset2, delay2, score FROM samples WHERE id < ?1 * 1048576 "
                       "ORDER BY id LIMIT ?2",
    [ST_HOURLY_UPSERT] =
        "INSERT INTO hourly(source, kind, monitor, hour, count, n_measured, offset_min, "
        "offset_sum, offset_max, delay_min, delay_sum, delay_max, last_score, last_time, "
        HOURLY_REASON_COLS ") "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
        "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25) "
        "ON CONFLICT(source, hour, kind, monitor) DO UPDATE SET "
        "count = count + excluded.count, n_measured = n_measured + excluded.n_measured, "
        "offset_min = CASE WHEN offset_min IS NULL OR excluded.offset_min < offset_min "
        "  THEN excluded.offset_min ELSE offset_min END, "
        "offset_max = CASE WHEN offset_max IS NULL OR excluded.offset_max > offset_max "
        "  THEN excluded.offset_max ELSE offset_max END, "
        "offset_sum = offset_sum + excluded.offset_sum, "
        "delay_min = CASE WHEN delay_min IS NULL OR excluded.delay_min < delay_min "
        "  THEN excluded.delay_min ELSE delay_min END, "
        "delay_max = CASE WHEN delay_max IS NULL OR excluded.delay_max > delay_max "
        "  THEN excluded.delay_max ELSE delay_max END, "
        "delay_sum = delay_sum + excluded.delay_sum, " HOURLY_REASON_ADD("n_monitor_fault")
            HOURLY_REASON_ADD("n_kod_deny") HOURLY_REASON_ADD("n_kod_rate")
                HOURLY_REASON_ADD("n_ke_failed") HOURLY_REASON_ADD("n_ntp_timeout")
                    HOURLY_REASON_ADD("n_ntp_failed") HOURLY_REASON_ADD("n_unsynchronized")
                        HOURLY_REASON_ADD("n_offset_over_3s")
                            HOURLY_REASON_ADD("n_stratum_too_high")
                                HOURLY_REASON_ADD("n_offset")
                                    HOURLY_REASON_ADD("n_cookies_short")
        "last_score = CASE WHEN excluded.last_time IS NOT NULL AND "
        "  (last_time IS NULL OR excluded.last_time >= last_time) "
        "  THEN excluded.last_score ELSE last_score END, "
        "last_time = CASE WHEN excluded.last_time IS NOT NULL AND "
        "  (last_time IS NULL OR excluded.last_time >= last_time) "
        "  THEN excluded.last_time ELSE last_time END",
    [ST_SAMPLE_DELETE_TO] = "DELETE FROM samples WHERE id <= ?1",
    /* Details no remaining sample can use: the epochs before the oldest
       sample's (the front of samples, so no scan). */
    [ST_DETAILS_GC] =
        "DELETE FROM sample_details WHERE id IN (SELECT id FROM sample_details "
        "WHERE epoch < coalesce((SELECT id FROM samples ORDER BY id LIMIT 1) "
        "/ 1048576 / ?1, 9223372036854775807) LIMIT ?2)",
    /* The newest ?5 hours of a source since ?4: a range of the key, read
       backwards from the newest, so old hours are never visited. */
    [ST_HOURLY_LIST] =
        "SELECT source, kind, monitor, hour, count, n_measured, offset_min, "
        "offset_sum, offset_max, delay_min, delay_sum, delay_max, last_score, "
        HOURLY_REASON_COLS " FROM hourly WHERE source = ?1 AND hour >= ?4 "
        "AND (?2 < 0 OR kind = ?2) AND (?3 < 0 OR monitor = ?3) "
        "ORDER BY hour DESC, kind DESC, monitor DESC LIMIT ?5",
};

/* ---- helpers -------------------------------------------------------------------- */

_Static_assert((1 << DB_ID_SHIFT) == 1048576, "the SQL above spells 2^DB_ID_SHIFT");

#define NEWER_FMT                                                                        \
    "database schema version %d is newer than this program's %d: "                       \
    "refusing to open it (run a newer ntspool)"

/* Page cache and page size: see bench/bench_db.c for the measurements. */
#define DB_PAGE_SIZE        "4096"
#define DB_CACHE_KIB        "-65536"
#define DB_CHECKPOINT_PAGES "40000"

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

    snprintf(buf, len, "%s", t ? (const char *)t : "");
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
                      "PRAGMA mmap_size=268435456;",
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

        if (run_script(h, migrations[v], &e) < 0) {
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
        if (sqlite3_prepare_v3(db->h, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
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
    if (db->user_tx || db->tx_depth)
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
db_begin(struct db *db)
{
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
    bool nested = db->user_tx || db->tx_depth > 0;

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
    nested = db->user_tx || db->tx_depth > 0;
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
    if (db->user_tx || db->tx_depth > 0) {
        if (db_exec_stmt(db, db_stmt(db, ST_ROLLBACK_TO), "rollback") == 0)
            db_exec_stmt(db, db_stmt(db, ST_RELEASE), "release");
    } else if (!sqlite3_get_autocommit(db->h)) {
        db_exec_stmt(db, db_stmt(db, ST_ROLLBACK), "rollback");
    }
}

/* ---- users, sessions, API tokens ------------------------------------------------ */

static void
user_row(sqlite3_stmt *s, struct db_user *u)
{
    u->id = sqlite3_column_int64(s, 0);
    db_column_text(s, 1, u->email, sizeof(u->email));
    db_column_text(s, 2, u->password_hash, sizeof(u->password_hash));
    u->is_admin = sqlite3_column_int(s, 3) != 0;
    u->created = sqlite3_column_int64(s, 4);
}

int
db_user_add(struct db *db, const char *email, const char *password_hash, bool is_admin,
            int64_t now, int64_t *id)
{
    sqlite3_stmt *s = db_stmt(db, ST_USER_ADD);

    sqlite3_bind_text(s, 1, email, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, is_admin);
    sqlite3_bind_int64(s, 4, now);
    if (db_exec_stmt(db, s, "user add") < 0)
        return -1;
    if (sqlite3_changes(db->h) == 0)
        return 1;
    *id = sqlite3_last_insert_rowid(db->h);
    return 0;
}

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

static void
fill_user(sqlite3_stmt *s, void *arg)
{
    user_row(s, arg);
}

int
db_user_get(struct db *db, int64_t id, struct db_user *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_USER_GET);

    sqlite3_bind_int64(s, 1, id);
    return db_lookup(db, s, "user get", fill_user, out);
}

int
db_user_by_email(struct db *db, const char *email, struct db_user *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_USER_BY_EMAIL);

    sqlite3_bind_text(s, 1, email, -1, SQLITE_STATIC);
    return db_lookup(db, s, "user by email", fill_user, out);
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

int
db_users_list(struct db *db, struct db_user **out, size_t *n)
{
    void *v;
    int rc = db_collect(db, db_stmt(db, ST_USERS_LIST), "users list", sizeof(**out),
                        fill_user, &v, n);

    *out = v;
    return rc;
}

int
db_session_add(struct db *db, const unsigned char id_hash[DB_HASH_LEN], int64_t user,
               const char *csrf, int64_t now, int64_t expires)
{
    sqlite3_stmt *s = db_stmt(db, ST_SESSION_ADD);

    sqlite3_bind_blob(s, 1, id_hash, DB_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, user);
    sqlite3_bind_text(s, 3, csrf, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now);
    sqlite3_bind_int64(s, 5, expires);
    return db_exec_stmt(db, s, "session add");
}

static void
fill_session(sqlite3_stmt *s, void *arg)
{
    struct db_session *x = arg;

    x->user = sqlite3_column_int64(s, 0);
    db_column_text(s, 1, x->csrf, sizeof(x->csrf));
    x->created = sqlite3_column_int64(s, 2);
    x->expires = sqlite3_column_int64(s, 3);
}

int
db_session_get(struct db *db, const unsigned char id_hash[DB_HASH_LEN], int64_t now,
               struct db_session *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_SESSION_GET);

    sqlite3_bind_blob(s, 1, id_hash, DB_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    return db_lookup(db, s, "session get", fill_session, out);
}

int
db_session_delete(struct db *db, const unsigned char id_hash[DB_HASH_LEN])
{
    sqlite3_stmt *s = db_stmt(db, ST_SESSION_DEL);

    sqlite3_bind_blob(s, 1, id_hash, DB_HASH_LEN, SQLITE_STATIC);
    return db_exec_stmt(db, s, "session delete");
}

int
db_sessions_expire(struct db *db, int64_t now)
{
    sqlite3_stmt *s = db_stmt(db, ST_SESSIONS_EXPIRE);

    sqlite3_bind_int64(s, 1, now);
    if (db_exec_stmt(db, s, "sessions expire") < 0)
        return -1;
    return sqlite3_changes(db->h);
}

int
db_api_token_add(struct db *db, int64_t user, const char *name,
                 const unsigned char hash[DB_HASH_LEN], int64_t now, int64_t *id)
{
    sqlite3_stmt *s = db_stmt(db, ST_APITOK_ADD);

    sqlite3_bind_int64(s, 1, user);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, hash, DB_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now);
    if (db_exec_stmt(db, s, "api token add") < 0)
        return -1;
    *id = sqlite3_last_insert_rowid(db->h);
    return 0;
}

struct token_row {
    int64_t id, user, last_used;
};

static void
fill_token(sqlite3_stmt *s, void *arg)
{
    struct token_row *t = arg;

    t->id = sqlite3_column_int64(s, 0);
    t->user = sqlite3_column_int64(s, 1);
    t->last_used = sqlite3_column_int64(s, 2); /* NULL (never) reads as 0 */
}

int
db_api_token_user(struct db *db, const unsigned char hash[DB_HASH_LEN], int64_t now,
                  int64_t *user)
{
    sqlite3_stmt *s = db_stmt(db, ST_APITOK_USER);
    struct token_row t;
    int rc;

    sqlite3_bind_blob(s, 1, hash, DB_HASH_LEN, SQLITE_STATIC);
    rc = db_lookup(db, s, "api token", fill_token, &t);
    if (rc <= 0)
        return rc;
    *user = t.user;
    /* A write per request would make every API read a write transaction;
       last_used only needs minute precision. */
    if (t.last_used != 0 && now - t.last_used < DB_TOUCH_INTERVAL)
        return 1;
    s = db_stmt(db, ST_APITOK_TOUCH);
    sqlite3_bind_int64(s, 1, t.id);
    sqlite3_bind_int64(s, 2, now);
    return db_exec_stmt(db, s, "api token touch") < 0 ? -1 : 1;
}

int
db_api_token_delete(struct db *db, int64_t id, int64_t user)
{
    sqlite3_stmt *s = db_stmt(db, ST_APITOK_DEL);

    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, user);
    if (db_exec_stmt(db, s, "api token delete") < 0)
        return -1;
    return sqlite3_changes(db->h) > 0;
}

/* ---- time sources --------------------------------------------------------------- */

static void
fill_source(sqlite3_stmt *s, void *arg)
{
    struct db_source *x = arg;

    x->id = sqlite3_column_int64(s, 0);
    db_column_text(s, 1, x->uuid, sizeof(x->uuid));
    x->owner = sqlite3_column_int64(s, 2);
    db_column_text(s, 3, x->host, sizeof(x->host));
    x->port = sqlite3_column_int(s, 4);
    db_column_text(s, 5, x->randomizer, sizeof(x->randomizer));
    x->created = sqlite3_column_int64(s, 6);
    x->deleted = sqlite3_column_int64(s, 7); /* NULL reads as 0 */
}

int
db_source_add(struct db *db, int64_t owner, const char *host, int port, int64_t now,
              struct db_source *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_ADD);

    memset(out, 0, sizeof(*out));
    if (strlen(host) >= sizeof(out->host) || port <= 0 || port > 65535) {
        log_err("db: source add: bad host or port");
        return -1;
    }
    if (db_uuid_new(out->uuid) < 0)
        return -1;
    sqlite3_bind_text(s, 1, out->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, owner);
    sqlite3_bind_text(s, 3, host, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, port);
    sqlite3_bind_int64(s, 5, now);
    if (db_exec_stmt(db, s, "source add") < 0)
        return -1;
    out->id = sqlite3_last_insert_rowid(db->h);
    out->owner = owner;
    snprintf(out->host, sizeof(out->host), "%s", host);
    out->port = port;
    out->created = now;
    return 0;
}

int
db_source_get(struct db *db, int64_t id, struct db_source *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_GET);

    sqlite3_bind_int64(s, 1, id);
    return db_lookup(db, s, "source get", fill_source, out);
}

int
db_source_by_uuid(struct db *db, const char *uuid, struct db_source *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_BY_UUID);

    sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
    return db_lookup(db, s, "source by uuid", fill_source, out);
}

int
db_source_delete(struct db *db, int64_t id, int64_t owner, int64_t now)
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_DEL);

    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, owner);
    sqlite3_bind_int64(s, 3, now);
    if (db_exec_stmt(db, s, "source delete") < 0)
        return -1;
    return sqlite3_changes(db->h) > 0;
}

int
db_source_rekey(struct db *db, int64_t id, int64_t owner, const unsigned char *secret,
                size_t secret_len, char token[DB_TOKEN_LEN + 1])
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_REKEY);
    char randomizer[DB_RANDOMIZER_LEN + 1], uuid[DB_UUID_LEN + 1];
    int rc;

    if (db_token_randomizer(randomizer) < 0)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, owner);
    sqlite3_bind_text(s, 3, randomizer, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        db_column_text(s, 0, uuid, sizeof(uuid));
        rc = sqlite3_step(s);
    } else if (rc == SQLITE_DONE) {
        db_stmt_done(db, s);
        return 0;
    }
    if (rc != SQLITE_DONE) {
        db_log_error(db, "source rekey");
        db_stmt_done(db, s);
        return -1;
    }
    db_stmt_done(db, s);
    return db_token_derive(secret, secret_len, uuid, randomizer, token) < 0 ? -1 : 1;
}

int
db_source_token(struct db *db, int64_t id, const unsigned char *secret, size_t secret_len,
                char token[DB_TOKEN_LEN + 1])
{
    struct db_source src;
    int rc = db_source_get(db, id, &src);

    if (rc <= 0)
        return rc;
    return db_token_derive(secret, secret_len, src.uuid, src.randomizer, token) < 0 ? -1
                                                                                    : 1;
}

int
db_sources_active(struct db *db, int64_t after, size_t max, struct db_source **out,
                  size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_ACTIVE);
    void *v;
    int rc;

    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    rc = db_collect(db, s, "sources active", sizeof(**out), fill_source, &v, n);
    *out = v;
    return rc;
}

/* ---- monitors ------------------------------------------------------------------- */

const char *
db_monitor_status_str(enum db_monitor_status st)
{
    switch (st) {
    case DB_MONITOR_ACTIVE: return "active";
    case DB_MONITOR_PAUSED: return "paused";
    case DB_MONITOR_REVOKED: return "revoked";
    }
    return "unknown";
}

static void
fill_monitor(sqlite3_stmt *s, void *arg)
{
    struct db_monitor *m = arg;

    m->id = sqlite3_column_int64(s, 0);
    db_column_text(s, 1, m->name, sizeof(m->name));
    m->status = (enum db_monitor_status)sqlite3_column_int(s, 2);
    m->created = sqlite3_column_int64(s, 3);
    m->last_seen = sqlite3_column_int64(s, 4);
}

int
db_monitor_add(struct db *db, const char *name, const char *key, int64_t now, int64_t *id)
{
    sqlite3_stmt *s = db_stmt(db, ST_MON_ADD);
    unsigned char h[DB_HASH_LEN];

    if (db_hash(key, h) < 0)
        return -1;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, h, sizeof(h), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, now);
    if (db_exec_stmt(db, s, "monitor add") < 0)
        return -1;
    if (sqlite3_changes(db->h) == 0)
        return 1;
    *id = sqlite3_last_insert_rowid(db->h);
    return 0;
}

int
db_monitor_auth(struct db *db, const char *key, int64_t now, struct db_monitor *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_MON_BY_HASH);
    unsigned char h[DB_HASH_LEN];
    bool match = false;
    int rc;

    if (db_hash(key, h) < 0)
        return -1;
    sqlite3_bind_blob(s, 1, h, sizeof(h), SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const void *stored = sqlite3_column_blob(s, 5);
        /* The index found the row by hash; compare once more in constant
           time so that no byte-wise early exit depends on the key. */
        match = stored && sqlite3_column_bytes(s, 5) == DB_HASH_LEN &&
                CRYPTO_memcmp(stored, h, DB_HASH_LEN) == 0;
        if (match)
            fill_monitor(s, out);
    } else if (rc != SQLITE_DONE) {
        db_log_error(db, "monitor auth");
        db_stmt_done(db, s);
        return -1;
    }
    db_stmt_done(db, s);
    if (!match || out->status != DB_MONITOR_ACTIVE)
        return 0;
    if (out->last_seen != 0 && now - out->last_seen < DB_TOUCH_INTERVAL)
        return 1;
    s = db_stmt(db, ST_MON_TOUCH);
    sqlite3_bind_int64(s, 1, out->id);
    sqlite3_bind_int64(s, 2, now);
    if (db_exec_stmt(db, s, "monitor touch") < 0)
        return -1;
    out->last_seen = now;
    return 1;
}

int
db_monitor_set_status(struct db *db, int64_t id, enum db_monitor_status st)
{
    sqlite3_stmt *s = db_stmt(db, ST_MON_STATUS);

    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, (int)st);
    if (db_exec_stmt(db, s, "monitor status") < 0)
        return -1;
    return sqlite3_changes(db->h) > 0;
}

int
db_monitors_list(struct db *db, struct db_monitor **out, size_t *n)
{
    void *v;
    int rc = db_collect(db, db_stmt(db, ST_MON_LIST), "monitors list", sizeof(**out),
                        fill_monitor, &v, n);

    *out = v;
    return rc;
}
