/* schema.c - the SQL text of db/: the versioned migrations and the SQL of
 * every prepared statement, in one file, so one place shows the whole schema
 * and every query.  db.c runs the migrations and prepares the statements in
 * db_open; users.c, sources.c, samples.c and retention.c run them by id
 * (enum db_stmt in db_int.h).  Nothing here executes anything. */
#include "db/db_int.h"

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
const char *const db_migrations[DB_SCHEMA_VERSION] = {
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

    /* 4: the pool-record codepoints a source answers to (NULL unknown, 1
       permanent, 2 experimental), which the monitor's `auto` mode learns
       and remembers; and at most one active source per host (DNS names
       compare case-insensitively) and port, which is what makes an add of
       the same server twice a 409.  A database that already holds such
       twins keeps the oldest active one: the later ones are marked
       deleted now (still there for their history), or the index could not
       be built and the service would never start. */
    "ALTER TABLE time_sources ADD COLUMN codepoints INTEGER;"
    "UPDATE time_sources SET deleted = CAST(strftime('%s', 'now') AS INTEGER) "
    "WHERE deleted IS NULL AND EXISTS (SELECT 1 FROM time_sources o "
    "  WHERE o.deleted IS NULL AND o.host = time_sources.host COLLATE NOCASE "
    "  AND o.port = time_sources.port AND o.id < time_sources.id);"
    "CREATE UNIQUE INDEX time_sources_active_host "
    "ON time_sources(host COLLATE NOCASE, port) WHERE deleted IS NULL;",

    /* 5: an administrator can block an account: a blocked user cannot log
       in, and their sessions and API tokens stop working (the lookups
       below join users and require blocked = 0). */
    "ALTER TABLE users ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;",

    /* 6 (alerts): the last in-pool verdict an alert was based on, per
       source (NULL: never seen in the pool, so no "left_pool" before it
       joined once; 0 out, 1 in), kept here so that a restart does not alert
       again; each account's alert channels; and the log of alert messages,
       one row per (event, channel), which is also the retry queue (status 0
       pending with next_try) and the memory of the 24 h limit per source and
       cause.  payload is the webhook body (JSON), from which the mail is
       written too. */
    "ALTER TABLE time_sources ADD COLUMN alert_in_pool INTEGER;"
    "CREATE TABLE alert_settings ("
    "  user INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
    "  email TEXT,"
    "  webhook TEXT);"
    "CREATE TABLE alert_log ("
    "  id INTEGER PRIMARY KEY,"
    "  time INTEGER NOT NULL,"           /* of the event */
    "  user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  source INTEGER NOT NULL REFERENCES time_sources(id),"
    "  cause INTEGER NOT NULL,"          /* enum db_alert_cause */
    "  channel INTEGER NOT NULL,"        /* enum db_alert_channel */
    "  status INTEGER NOT NULL,"         /* enum db_alert_status */
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_try INTEGER NOT NULL,"       /* while pending */
    "  updated INTEGER NOT NULL,"        /* last attempt or creation */
    "  detail TEXT NOT NULL DEFAULT '',"  /* why the last attempt failed */
    "  payload TEXT NOT NULL);"
    "CREATE INDEX alert_log_user ON alert_log(user, time);"
    "CREATE INDEX alert_log_source ON alert_log(source, cause, time);"
    "CREATE INDEX alert_log_due ON alert_log(next_try) WHERE status = 0;",

    /* 7: how many samples each monitor has sent (the admin page), kept as a
       counter so that showing it never scans the samples: stored samples
       and those retention already folded into hourly rows, counted once
       here (the only full scan, at migration). */
    "ALTER TABLE monitors ADD COLUMN samples INTEGER NOT NULL DEFAULT 0;"
    "UPDATE monitors SET samples = "
    "  (SELECT count(*) FROM samples WHERE samples.monitor = monitors.id) + "
    "  (SELECT coalesce(sum(count), 0) FROM hourly WHERE hourly.monitor = monitors.id);",
};

/* What user_row reads (users.c). */
#define USER_COLS "id, email, password_hash, is_admin, created, blocked"
/* What db_source_row reads (sources.c), DB_SOURCE_COLS columns. */
#define SRC_COLS "id, uuid, owner, host, port, randomizer, created, deleted, codepoints"
#define SRC_COLS_S                                                                       \
    "s.id, s.uuid, s.owner, s.host, s.port, s.randomizer, s.created, s.deleted, "       \
    "s.codepoints"
/* What samples.c reads of a score row (fill_score_row), from column 0 on. */
#define SCORE_COLS_SC                                                                    \
    "sc.kind, sc.monitor, sc.time, sc.na, sc.score, sc.sample_time, sc.reason, "         \
    "sc.ke_status, sc.ntp_status, sc.cert_not_after, sc.interval"
#define SAMPLE_ROW_COLS                                                                  \
    "id, source, kind, monitor, time, address, aead, reason, ke_status, "                \
    "ntp_status, offset1, delay1, offset2, delay2, stratum, step, score"

/* What db/alertlog.c reads of an alert_log row (a) with its source (s). */
#define ALERT_COLS                                                                       \
    "a.id, a.time, a.user, a.source, s.host, s.port, a.cause, a.channel, a.status, "     \
    "a.attempts, a.next_try, a.updated, a.detail"

/* Pending messages of a deleted source are given up, never sent. */
#define ALERT_SOURCE_GONE                                                                \
    "(SELECT deleted FROM time_sources WHERE id = alert_log.source) IS NOT NULL"
#define ALERT_GONE_DETAIL "the time source was deleted"

const char *const db_stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_BEGIN_READ] = "BEGIN DEFERRED",
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
    [ST_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
    [ST_USER_BY_EMAIL] = "SELECT " USER_COLS " FROM users WHERE email = ?1",
    [ST_USERS_LIST] = "SELECT " USER_COLS " FROM users ORDER BY id",
    [ST_USER_SET_PW] = "UPDATE users SET password_hash = ?2 "
                       "WHERE id = ?1 AND (?3 = 0 OR password_hash = '')",
    [ST_USER_SET_BLOCKED] = "UPDATE users SET blocked = ?2 WHERE id = ?1",
    [ST_SESSION_ADD] = "INSERT INTO sessions(id, user, csrf, created, expires) "
                       "VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_SESSION_GET] = "SELECT s.user, s.csrf, s.created, s.expires FROM sessions s "
                       "JOIN users u ON u.id = s.user "
                       "WHERE s.id = ?1 AND s.expires > ?2 AND u.blocked = 0",
    [ST_SESSION_TOUCH] = "UPDATE sessions SET expires = ?2 WHERE id = ?1",
    [ST_SESSION_DEL] = "DELETE FROM sessions WHERE id = ?1",
    [ST_SESSIONS_DEL_USER] = "DELETE FROM sessions WHERE user = ?1",
    [ST_SESSIONS_EXPIRE] = "DELETE FROM sessions WHERE expires <= ?1",
    [ST_APITOK_ADD] = "INSERT INTO api_tokens(user, name, hash, created) "
                      "VALUES(?1, ?2, ?3, ?4)",
    [ST_APITOK_USER] = "SELECT t.id, t.user, t.last_used FROM api_tokens t "
                       "JOIN users u ON u.id = t.user WHERE t.hash = ?1 AND u.blocked = 0",
    [ST_APITOK_LIST] = "SELECT id, name, created, last_used FROM api_tokens "
                       "WHERE user = ?1 ORDER BY id",
    [ST_APITOK_TOUCH] = "UPDATE api_tokens SET last_used = ?2 WHERE id = ?1",
    [ST_APITOK_DEL] = "DELETE FROM api_tokens WHERE id = ?1 AND user = ?2",

    /* An active twin (time_sources_active_host) makes it a no-op. */
    [ST_SRC_ADD] = "INSERT INTO time_sources(uuid, owner, host, port, created) "
                   "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
    [ST_SRC_FIND] = "SELECT " SRC_COLS " FROM time_sources "
                    "WHERE host = ?1 COLLATE NOCASE AND port = ?2 AND deleted IS NULL",
    [ST_SRC_CODEPOINTS] = "UPDATE time_sources SET codepoints = ?2 WHERE id = ?1",
    [ST_SRC_COUNT] = "SELECT count(*) FROM time_sources WHERE deleted IS NULL",
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
    [ST_STATUS_PAGE] = "SELECT " SRC_COLS_S ", " SCORE_COLS_SC
                       " FROM time_sources s LEFT JOIN scores sc ON sc.source = s.id "
                       "WHERE s.id IN (SELECT id FROM time_sources WHERE deleted IS NULL "
                       "AND id > ?1 ORDER BY id LIMIT ?2) ORDER BY s.id, sc.kind, sc.monitor",

    /* alerts (db/alertlog.c) */
    [ST_ALERT_SETTINGS_GET] = "SELECT email, webhook FROM alert_settings WHERE user = ?1",
    [ST_ALERT_SETTINGS_SET] =
        "INSERT INTO alert_settings(user, email, webhook) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(user) DO UPDATE SET email = excluded.email, "
        "webhook = excluded.webhook",
    [ST_ALERT_STATE_GET] = "SELECT alert_in_pool FROM time_sources WHERE id = ?1",
    [ST_ALERT_STATE_SET] = "UPDATE time_sources SET alert_in_pool = ?2 WHERE id = ?1",
    [ST_ALERT_LAST] = "SELECT max(time) FROM alert_log WHERE source = ?1 AND cause = ?2",
    [ST_ALERT_ADD] =
        "INSERT INTO alert_log(time, user, source, cause, channel, status, attempts, "
        "next_try, updated, detail, payload) VALUES(?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?1, ?8, ?9)",
    [ST_ALERT_DUE] = "SELECT " ALERT_COLS ", a.payload FROM alert_log a "
                     "JOIN time_sources s ON s.id = a.source "
                     "WHERE a.status = 0 AND a.next_try <= ?1 AND s.deleted IS NULL "
                     "ORDER BY a.next_try LIMIT ?2",
    /* A retry (?2 = 0) of a message whose source was deleted meanwhile (the
       attempt was in flight) is given up instead. */
    [ST_ALERT_UPDATE] =
        "UPDATE alert_log SET status = CASE WHEN ?2 = 0 AND " ALERT_SOURCE_GONE
        " THEN 2 ELSE ?2 END, attempts = ?3, next_try = ?4, updated = ?5, "
        "detail = CASE WHEN ?2 = 0 AND " ALERT_SOURCE_GONE " THEN '" ALERT_GONE_DETAIL
        "' ELSE ?6 END WHERE id = ?1",
    [ST_ALERT_CANCEL_SOURCE] = "UPDATE alert_log SET status = 2, next_try = ?2, updated = ?2, "
                               "detail = '" ALERT_GONE_DETAIL "' "
                               "WHERE source = ?1 AND status = 0",
    [ST_ALERT_LIST] = "SELECT " ALERT_COLS " FROM alert_log a "
                      "JOIN time_sources s ON s.id = a.source "
                      "WHERE a.user = ?1 ORDER BY a.time DESC, a.id DESC LIMIT ?2",
    /* Finished messages (sent or failed) from before ?1 among the ?2 oldest
       rows: the front of the table, where ids and times grow together, so
       no scan; a pending row there waits for its last attempt. */
    [ST_ALERT_PRUNE] = "DELETE FROM alert_log WHERE id IN (SELECT id FROM alert_log "
                       "ORDER BY id LIMIT ?2) AND time < ?1 AND status != 0",
    /* A source by host and port (time_sources_active_host) or uuid with its
       score rows and their monitors' names, in the order of the scores key. */
    [ST_SRC_SCORES_FIND] =
        "SELECT " SRC_COLS_S ", " SCORE_COLS_SC ", m.name "
        "FROM time_sources s LEFT JOIN scores sc ON sc.source = s.id "
        "LEFT JOIN monitors m ON m.id = sc.monitor "
        "WHERE s.host = ?1 COLLATE NOCASE AND s.port = ?2 AND s.deleted IS NULL "
        "ORDER BY sc.kind, sc.monitor",
    [ST_SRC_SCORES_UUID] =
        "SELECT " SRC_COLS_S ", " SCORE_COLS_SC ", m.name "
        "FROM time_sources s LEFT JOIN scores sc ON sc.source = s.id "
        "LEFT JOIN monitors m ON m.id = sc.monitor "
        "WHERE s.uuid = ?1 AND s.deleted IS NULL ORDER BY sc.kind, sc.monitor",

    [ST_MON_ADD] = "INSERT OR IGNORE INTO monitors(name, key_hash, created) "
                   "VALUES(?1, ?2, ?3)",
    [ST_MON_BY_HASH] =
        "SELECT id, name, status, created, last_seen, samples, key_hash FROM monitors "
        "WHERE key_hash = ?1",
    [ST_MON_TOUCH] = "UPDATE monitors SET last_seen = ?2 WHERE id = ?1",
    [ST_MON_STATUS] = "UPDATE monitors SET status = ?2 WHERE id = ?1",
    [ST_MON_GET] =
        "SELECT id, name, status, created, last_seen, samples FROM monitors WHERE id = ?1",
    [ST_MON_BY_NAME] =
        "SELECT id, name, status, created, last_seen, samples FROM monitors "
        "WHERE name = ?1",
    [ST_MON_LIST] =
        "SELECT id, name, status, created, last_seen, samples FROM monitors ORDER BY id",
    [ST_MON_COUNT_ADD] = "UPDATE monitors SET samples = samples + ?2 WHERE id = ?1",

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
    /* What a history row shows, newest first. */
    [ST_HISTORY_PAGE] = "SELECT time, kind, monitor, reason, offset1, delay1, offset2, "
                        "delay2, step, score, id FROM samples "
                        "WHERE source = ?1 AND (?2 < 0 OR kind = ?2) "
                        "AND (?3 < 0 OR monitor = ?3) AND time >= ?4 "
                        "ORDER BY time DESC, kind DESC, monitor DESC LIMIT ?5",
    [ST_SAMPLE_GET] =
        "SELECT s.kind, s.time, s.address, s.aead, s.reason, s.ke_status, "
        "s.offset1, s.delay1, s.offset2, s.delay2, s.rdelay1, s.rdisp1, "
        "s.rdelay2, s.rdisp2, s.ke_us, s.connect_us, s.handshake_us, s.step, "
        "d.json, s.detail FROM samples s JOIN sample_details d ON d.id = s.detail "
        "WHERE s.id = ?1",
    /* Backwards along samples_key from the newest sample of the source: a
       healthy source is read back to its first failure or to ?3. */
    [ST_SAMPLE_LAST_FAILURE] = "SELECT " SAMPLE_ROW_COLS " FROM samples "
                               "WHERE source = ?1 AND kind = ?2 AND time >= ?3 "
                               "AND reason != 0 ORDER BY time DESC LIMIT 1",
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

_Static_assert((1 << DB_ID_SHIFT) == 1048576, "the SQL above spells 2^DB_ID_SHIFT");
