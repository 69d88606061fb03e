/* db.h - the store: SQLite (WAL) schema, migrations and every SQL statement
 * of the project, behind plain C calls.
 *
 * One struct db per process, opened by db_open(), which applies the pending
 * migrations in one transaction and prepares every statement once.  Calls
 * are short and synchronous; nothing here keeps a transaction open between
 * calls, except db_begin()/db_commit() when the caller asks for one.
 * Results come back as plain structs; strings in them are copies owned by the
 * struct (fixed buffers) or by an array the caller frees with free().  A
 * struct db belongs to one thread; the only other connection is a
 * checkpointer's (db_ckpt_open), for a worker thread of its own.
 *
 * Samples (SCORING.md, PRODUCT.md "Scale"): db_store_samples() inserts a batch
 * of probe results, computes each step and new score with scorer/ (pure) and
 * upserts the latest score per (source, kind, monitor), all in one
 * transaction.  Scoring reads one row of the latest-score table, never the
 * history.  Retention folds old samples into hourly aggregates in bounded
 * chunks within a time budget (db_fold_old_samples).
 *
 * Return conventions: 0 ok / -1 error (logged with log_err) unless stated;
 * lookups return 1 found, 0 not found, -1 error. */
#ifndef NTSPOOL_DB_DB_H
#define NTSPOOL_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "monitor/result.h"
#include "scorer/score.h"

struct jsonw;

struct db; /* opaque */

#define DB_SCHEMA_VERSION  7  /* the version this program writes */
#define DB_RETENTION_DAYS  15 /* default raw-sample retention */
#define DB_DETAIL_EPOCH    (7 * 86400) /* s: the shared part of results is stored
                                          once per epoch of sample time; retention
                                          drops epochs older than the oldest sample */
#define DB_BUSY_TIMEOUT_MS 5000
#define DB_TOUCH_INTERVAL  60 /* s: last_seen / last_used are refreshed at most this
                                 often, so authenticating is not a write each time */
#define DB_SECRET_LEN      32 /* base secret of the tokens */
#define DB_TOKEN_LEN       64 /* hex SHA3-256 */
#define DB_RANDOMIZER_LEN  22
#define DB_UUID_LEN        36
#define DB_HASH_LEN        32 /* SHA-256 of keys, API tokens, session ids */
#define DB_EMAIL_MAX       256
#define DB_HOST_MAX        256
#define DB_NAME_MAX        64
#define DB_CSRF_MAX        64
#define DB_PWHASH_MAX      256

/* ---- connection, schema --------------------------------------------------------- */

/* Open (creating if needed) the database at path: WAL, synchronous=NORMAL,
   busy timeout, foreign keys; apply pending migrations in one transaction;
   prepare every statement.  A database written by a newer version is refused.
   On failure returns NULL and sets *err to a malloc'd message (caller frees). */
struct db *db_open(const char *path, char **err);

/* Finalize every statement and close; db_close(NULL) does nothing. */
void db_close(struct db *db);

/* The sizes in bytes of the database file and of its write-ahead log (0 when
   there is none), by stat(): no query, cheap enough for /metrics.  0 / -1. */
int db_size(struct db *db, int64_t *main_bytes, int64_t *wal_bytes);

/* PRAGMA wal_autocheckpoint for this connection: checkpoint when a commit
   leaves the WAL longer than `pages` pages; 0 turns it off (the service then
   checkpoints from a thread, see db_ckpt_open).  db_open sets a default
   (db.c).  0 / -1. */
int db_set_autocheckpoint(struct db *db, int pages);

/* A checkpointer: its own connection to the database at path, for a worker
   thread, so that writing the WAL back into the database never stalls the
   event loop's commits.  Each connection is used by one thread at a time (the
   thread that runs db_ckpt_run needs not be the one that opened it), which
   SQLite allows when built thread-safe (checked: sqlite3_threadsafe()).  The
   database must exist (the service opens it with db_open first).  NULL and
   *err (malloc'd, caller frees) on failure. */
struct db_ckpt;
struct db_ckpt *db_ckpt_open(const char *path, char **err);
/* One PRAGMA wal_checkpoint(PASSIVE), via sqlite3_wal_checkpoint_v2: copy
   back as many frames as no reader still needs, never waiting for readers
   or writers (the busy handler is not called).  *wal_frames (may be NULL)
   gets the frames in the WAL, *done_frames (may be NULL) those now in the
   database.  A checkpoint already running on another connection is not an
   error: 0 with both counts 0.  0 / -1 (logged). */
int db_ckpt_run(struct db_ckpt *c, int *wal_frames, int *done_frames);
/* Close the connection; db_ckpt_close(NULL) does nothing. */
void db_ckpt_close(struct db_ckpt *c);

/* Bring the database at path to schema `version` (0..DB_SCHEMA_VERSION) and
   close it; for tests and tools (db_open does this itself).  One already at
   or past `version` is left as it is (no downgrades); one newer than
   DB_SCHEMA_VERSION is refused.  0 / -1 with *err (malloc'd). */
int db_migrate(const char *path, int version, char **err);

/* The schema version of an open database. */
int db_schema_version(struct db *db);

/* PRAGMA integrity_check and foreign_key_check; 0 when both are clean,
   -1 with *err (malloc'd) describing the first problem. */
int db_check(struct db *db, char **err);

/* Group several calls in one transaction (BEGIN IMMEDIATE). Calls that make
   their own transaction join an open one instead. db_rollback undoes it. */
int db_begin(struct db *db);
int db_commit(struct db *db);
int db_rollback(struct db *db);

/* Bracket a run of reads (one web request) with one read transaction, so
   that each query does not open and close its own: one snapshot, one lock
   round trip.  db_read_begin opens a deferred transaction when none is
   open, and joins nothing (does nothing) when one is (a write
   transaction, or a read one).  Calls in between that write (a token's
   last_used) turn it into a write transaction, committed by db_read_end;
   their own transactions become savepoints in it.  db_begin() in between
   ends the read transaction first.  db_read_end commits what
   db_read_begin opened, if still open, and is harmless otherwise.  A read
   transaction must not stay open across a return to the event loop: the
   checkpointer cannot copy back past its snapshot.  0 / -1 (logged). */
int db_read_begin(struct db *db);
int db_read_end(struct db *db);

/* ---- secrets, tokens, hashes (db/token.c) --------------------------------------- */

/* Read the base secret from path; at first start create it from 32 random
   bytes, atomically and durably: written and fsynced in a temporary file
   (mode 0600) of the same directory, linked to path (when another process won
   the race, its secret is read instead), and the directory fsynced, so no
   reader ever sees a partial file and a power cut cannot silently replace the
   secret (which would change every token).  What is read must be a regular
   file (a symlink is not followed) owned by the effective user, without group
   or other permission bits, of exactly DB_SECRET_LEN bytes; anything else is
   refused.  0 / -1 with *err (malloc'd). */
int db_secret_load(const char *path, unsigned char secret[DB_SECRET_LEN], char **err);

/* NTS.md section 2: lowercase hex SHA3-256(secret || uuid || randomizer).
   out gets DB_TOKEN_LEN characters and a NUL. */
int db_token_derive(const unsigned char *secret, size_t secret_len, const char *uuid,
                    const char *randomizer, char out[DB_TOKEN_LEN + 1]);

/* 22 random alphanumerics and a NUL (uniform, from RAND_bytes). */
int db_token_randomizer(char out[DB_RANDOMIZER_LEN + 1]);

/* A random (version 4) UUID in canonical lowercase text, and a NUL. */
int db_uuid_new(char out[DB_UUID_LEN + 1]);

/* Lowercase hex HMAC-SHA256 with key (key_len bytes) of label, a NUL, then
   msg: the label keeps one use of a key apart from every other.  out gets
   DB_MAC_LEN characters and a NUL.  0 / -1. */
#define DB_MAC_LEN 64
int db_token_mac(const unsigned char *key, size_t key_len, const char *label,
                 const char *msg, char out[DB_MAC_LEN + 1]);

/* Constant-time equality of two strings (the time depends on lengths only). */
bool db_token_equal(const char *a, const char *b);

/* SHA-256 of a key, API token or session id: what the database keeps. */
int db_hash(const char *key, unsigned char out[DB_HASH_LEN]);

/* ---- users, sessions, API tokens ------------------------------------------------ */

struct db_user {
    int64_t id;
    char email[DB_EMAIL_MAX];
    char password_hash[DB_PWHASH_MAX]; /* the KDF's encoded output (web/ makes it) */
    bool is_admin;
    bool blocked; /* an administrator blocked the account (no login, no tokens) */
    int64_t created;
};

/* Add a user; *id set.  An email already taken (case-insensitive) returns 1. */
int db_user_add(struct db *db, const char *email, const char *password_hash,
                bool is_admin, int64_t now, int64_t *id);
int db_user_get(struct db *db, int64_t id, struct db_user *out);             /* 1/0/-1 */
int db_user_by_email(struct db *db, const char *email, struct db_user *out); /* 1/0/-1 */
/* All users, ordered by id: *out is a malloc'd array the caller frees. */
int db_users_list(struct db *db, struct db_user **out, size_t *n);
/* Replace the password hash of user id.  With only_if_empty, only an account
   that has none yet (made by `ntspoold user-add`) takes it.  1 set, 0 no such
   user (or it has a password and only_if_empty), -1 error. */
int db_user_set_password(struct db *db, int64_t id, const char *password_hash,
                         bool only_if_empty);
/* Block or unblock user id; blocking also deletes every session of the user.
   1 done, 0 no such user, -1 error. */
int db_user_set_blocked(struct db *db, int64_t id, bool blocked);

struct db_session {
    int64_t user;
    char csrf[DB_CSRF_MAX];
    int64_t created, expires;
};

/* Sessions are keyed by the hash of the cookie value, never the value. */
int db_session_add(struct db *db, const unsigned char id_hash[DB_HASH_LEN], int64_t user,
                   const char *csrf, int64_t now, int64_t expires);
/* 1 and *out when a session exists, has not expired at now and its user is
   not blocked. */
int db_session_get(struct db *db, const unsigned char id_hash[DB_HASH_LEN], int64_t now,
                   struct db_session *out);
/* Move the expiry of a session (idle timeout extended on use; the caller
   writes at most about once a minute).  0 / -1. */
int db_session_touch(struct db *db, const unsigned char id_hash[DB_HASH_LEN],
                     int64_t expires);
int db_session_delete(struct db *db, const unsigned char id_hash[DB_HASH_LEN]);
/* Delete every session of user (log out everywhere).  0 / -1. */
int db_sessions_delete_user(struct db *db, int64_t user);
/* Delete expired sessions; returns how many, or -1. */
int db_sessions_expire(struct db *db, int64_t now);

int db_api_token_add(struct db *db, int64_t user, const char *name,
                     const unsigned char hash[DB_HASH_LEN], int64_t now, int64_t *id);
/* 1 and *user when the token hash is known and its user is not blocked
   (last_used set to now when it is DB_TOUCH_INTERVAL or more behind). */
int db_api_token_user(struct db *db, const unsigned char hash[DB_HASH_LEN], int64_t now,
                      int64_t *user);
int db_api_token_delete(struct db *db, int64_t id, int64_t user); /* 1/0/-1 */

/* An API token as its owner's account page lists it (never the token). */
struct db_api_token {
    int64_t id;
    char name[DB_NAME_MAX];
    int64_t created;
    int64_t last_used; /* 0 never */
};
/* The tokens of user, ordered by id: *out malloc'd (NULL when none), caller
   frees.  0 / -1. */
int db_api_tokens_of_user(struct db *db, int64_t user, struct db_api_token **out,
                          size_t *n);

/* ---- time sources --------------------------------------------------------------- */

struct db_source {
    int64_t id;
    char uuid[DB_UUID_LEN + 1];
    int64_t owner;
    char host[DB_HOST_MAX];
    int port;
    char randomizer[DB_RANDOMIZER_LEN + 1];
    int64_t created;
    int64_t deleted; /* 0 while active */
    int codepoints;  /* 0 unknown, 1 permanent, 2 experimental */
};

/* Pool-record codepoints a source answers to (struct db_source.codepoints). */
#define DB_CODEPOINTS_UNKNOWN      0
#define DB_CODEPOINTS_PERMANENT    1
#define DB_CODEPOINTS_EXPERIMENTAL 2

/* Add a source with a new UUID and an empty randomizer: 0 and out filled.
   1, out untouched, when an active source (of any owner) has the same host,
   compared case-insensitively, and port: the API's 409.  A deleted source's
   host and port may be added again (a new source, new UUID).  -1 error. */
int db_source_add(struct db *db, int64_t owner, const char *host, int port, int64_t now,
                  struct db_source *out);
/* The active source by host (case-insensitive) and port: 1/0/-1. */
int db_source_find(struct db *db, const char *host, int port, struct db_source *out);
/* Remember the codepoints a source answers to (DB_CODEPOINTS_*; UNKNOWN
   forgets them).  An unknown id is not an error.  0 / -1. */
int db_source_set_codepoints(struct db *db, int64_t id, int codepoints);
/* The number of active sources, in *active.  0 / -1. */
int db_source_count(struct db *db, int64_t *active);
int db_source_get(struct db *db, int64_t id, struct db_source *out); /* 1/0/-1 */
int db_source_by_uuid(struct db *db, const char *uuid,
                      struct db_source *out); /* 1/0/-1 */
/* Mark deleted at now (kept for history; no longer listed or probed) and
   give up its pending alerts (failed, "the time source was deleted"; one in
   flight is not retried, see db_alert_update).  owner < 0: any owner
   (admin).  1 deleted, 0 no such active source of owner. */
int db_source_delete(struct db *db, int64_t id, int64_t owner, int64_t now);
/* Replace the randomizer with 22 fresh characters and write the new token.
   owner < 0: any owner.  1 done, 0 no such active source of owner. */
int db_source_rekey(struct db *db, int64_t id, int64_t owner, const unsigned char *secret,
                    size_t secret_len, char token[DB_TOKEN_LEN + 1]);
/* The current token of a source (derived, never stored). 1/0/-1. */
int db_source_token(struct db *db, int64_t id, const unsigned char *secret,
                    size_t secret_len, char token[DB_TOKEN_LEN + 1]);
/* Active sources with id > after, ordered by id, at most max: the work list
   in pages.  *out malloc'd, caller frees. */
int db_sources_active(struct db *db, int64_t after, size_t max, struct db_source **out,
                      size_t *n);
/* A value that changes whenever what db_sources_active lists may have
   changed through this connection: a source added, deleted or rekeyed (even
   in a transaction rolled back later).  For the service's cache of the work
   list: sources change only through its own connection (the administration
   commands never touch them).  Not PRAGMA data_version: a WAL checkpoint
   of another connection changes that too (scripts/soak.sh saw the list
   rendered again every few seconds). */
uint64_t db_sources_generation(const struct db *db);

/* ---- monitors ------------------------------------------------------------------- */

enum db_monitor_status {
    DB_MONITOR_ACTIVE = 0,
    DB_MONITOR_PAUSED = 1,
    DB_MONITOR_REVOKED = 2,
};

struct db_monitor {
    int64_t id;
    char name[DB_NAME_MAX];
    enum db_monitor_status status;
    int64_t created;
    int64_t last_seen; /* 0 never */
    int64_t samples;   /* samples it has sent that were stored, ever */
};

/* Add a monitor whose key is `key` (only its SHA-256 is stored).  A name
   already taken returns 1. */
int db_monitor_add(struct db *db, const char *name, const char *key, int64_t now,
                   int64_t *id);
/* Authenticate a bearer key: 1 and *out for an active monitor with that key
   (the hashes compared in constant time), 0 otherwise.  Sets last_seen to now
   when it is DB_TOUCH_INTERVAL or more behind. */
int db_monitor_auth(struct db *db, const char *key, int64_t now, struct db_monitor *out);
/* A monitor by name (case-sensitive, as stored) or by id, whatever its
   status.  1/0/-1. */
int db_monitor_by_name(struct db *db, const char *name, struct db_monitor *out);
int db_monitor_get(struct db *db, int64_t id, struct db_monitor *out);
/* Set the status of monitor id: 1 done, 0 no such monitor, -1 error. */
int db_monitor_set_status(struct db *db, int64_t id, enum db_monitor_status st);
int db_monitors_list(struct db *db, struct db_monitor **out, size_t *n);
const char *db_monitor_status_str(enum db_monitor_status st);

/* ---- samples and scores (db/samples.c) ------------------------------------------ */

/* One probe result to store. */
struct db_sample {
    int64_t source;                 /* time_sources.id */
    int64_t monitor;                /* monitors.id */
    const struct probe_result *res; /* borrowed; kind and family pick the kind */
    double clock_error;             /* the monitor's |clock error| in s, NAN when
                                       unsynchronised; 0 when it does not say */
    int interval;                   /* the monitor's probe interval for this source
                                       and kind, s (it may probe a source at or
                                       below -90 less often); <= 0: the default */
};

/* What happened to each sample of a batch. */
enum db_outcome {
    DB_STORED = 0,    /* stored and scored */
    DB_DUPLICATE = 1, /* already stored: ignored */
    DB_DISCARDED = 2, /* stored, rule 1: no step, score unchanged */
    DB_LATE = 3,      /* stored with its step, but older than the
                                               latest scored sample: score unchanged */
    DB_INVALID = 4,   /* unknown kind/family, negative time: not stored */
    DB_FUTURE = 5,    /* dated more than SCORE_FUTURE_SKEW after now: the
                         monitor's clock is wrong (rule 1); not stored */
    DB_TOO_OLD = 6,   /* older than the retention window, or than what retention
                         already folded: not stored (see db_store_samples) */
};

struct db_stored {
    enum db_outcome outcome;
    int64_t id; /* samples.id, 0 unless stored: time-ordered, start time * 2^20
                   plus a count within that second */
    enum score_kind kind;
    enum probe_reason reason;
    double step;  /* NAN when discarded */
    double score; /* the new score; NAN when unchanged */
};

/* Store n samples in one transaction at time `now` (the service's clock):
   insert each (a sample already stored, same monitor, source, kind and start
   time in s, is ignored), compute its step with score_step_of_clock and its
   new score from the latest-score table with score_update, and upsert that
   table.  A discarded sample (rule 1) or a late one is stored but leaves the
   score and the monitor's freshness alone.  Not stored at all: a sample dated
   more than SCORE_FUTURE_SKEW after now (DB_FUTURE: stored, it would head
   every newest-first page until its time came, and scoring it would freeze
   the score), and one older than DB_RETENTION_DAYS before now or than the
   latest fold cutoff (DB_TOO_OLD: retention may have folded it already, and a
   retried batch must not count twice in the hourly aggregates).  out (may be
   NULL) gets n entries.  An unknown source or monitor id fails the call; on
   any error nothing of the batch is stored.  One writer process per database
   file (the service). */
int db_store_samples(struct db *db, const struct db_sample *s, size_t n, int64_t now,
                     struct db_stored *out);

/* Record that `monitor`, probing every `interval` s (<= 0: the default),
   found no address of the kind's family for source at time: the kind is "not
   applicable" while the fresh monitors say so.  0 recorded (or older than the
   monitor's latest report: nothing to do), 1 refused as dated more than
   SCORE_FUTURE_SKEW after now, -1 error. */
int db_store_not_applicable(struct db *db, int64_t source, enum score_kind kind,
                            int64_t monitor, int64_t time, int interval, int64_t now);

/* The current state of one source: per kind, the median of the fresh
   monitors, and the in-pool verdict with its human reason. */
struct db_kind_status {
    struct score_current cur;
    int n_monitors;     /* monitors with a score row, fresh or not */
    int64_t last_probe; /* latest sample time of any monitor; 0 none */
    bool has_last;      /* last_reason is set (exactly when last_probe is) */
    enum probe_reason last_reason; /* reason of the newest scored sample of any
                                      monitor of the kind (sample_time), for the
                                      API's KIND.reason: the sample of
                                      last_probe (monitors whose latest report
                                      is "not applicable" left out, as there) */
};

struct db_source_status {
    struct db_source src;
    struct db_kind_status kind[SCORE_KINDS];
    bool in_pool;
    char why[SCORE_REASON_MAX]; /* "" when in the pool */
    int64_t last_probe;         /* 0 never */
    int64_t cert_not_after;     /* of the latest certificate seen; 0 unknown */
};

/* The status of one active source at now (each monitor fresh by the interval
   it reported with). 1/0/-1. */
int db_source_status(struct db *db, int64_t source, int64_t now,
                     struct db_source_status *out);
/* The active sources of an owner (owner < 0: all), ordered by id, with their
   status: one query (sources joined with their score rows), whatever the
   number of sources.  *out malloc'd, caller frees. */
int db_sources_of_owner(struct db *db, int64_t owner, int64_t now,
                        struct db_source_status **out, size_t *n);
/* The same for the active sources with id > after, at most max, ordered by
   id: all sources in pages (the alerts' sweep). */
int db_sources_status_page(struct db *db, int64_t after, size_t max, int64_t now,
                           struct db_source_status **out, size_t *n);

/* The latest score of each monitor for a source, for the details page. */
struct db_monitor_score {
    enum score_kind kind;
    int64_t monitor;
    char monitor_name[DB_NAME_MAX];
    struct score_monitor m;
    bool fresh;
};
int db_source_monitor_scores(struct db *db, int64_t source, int64_t now,
                             struct db_monitor_score **out, size_t *n);

/* An active source found by host (case-insensitive) and port, or by uuid,
   with its status and the latest score of each monitor (names included,
   ordered by kind then monitor id, fresh at now), all from one query: the
   source joined with its score rows, which are read once.  What db_source_find
   + db_source_status + db_source_monitor_scores give, for the NTP pool's score
   page.  1 found (out->ms malloc'd, free with db_source_scores_free), 0 no
   such active source, -1 error. */
struct db_source_scores {
    struct db_source_status st; /* st.src is the source */
    struct db_monitor_score *ms;
    size_t n;
};
int db_source_scores_find(struct db *db, const char *host, int port, int64_t now,
                          struct db_source_scores *out);
int db_source_scores_by_uuid(struct db *db, const char *uuid, int64_t now,
                             struct db_source_scores *out);
void db_source_scores_free(struct db_source_scores *x);

/* A stored sample as the history and the samples pages see it. */
struct db_sample_row {
    int64_t id;
    int64_t source;
    enum score_kind kind;
    int64_t monitor;
    int64_t time;
    char address[RESULT_ADDR_MAX];
    int aead; /* -1 none */
    enum probe_reason reason;
    enum ke_status ke_status;
    enum ntp_status ntp_status; /* first failed exchange, else NTP_OK */
    double offset, delay;       /* the exchange with the smaller delay; NAN */
    int stratum;                /* -1 none */
    double step;                /* NAN when discarded */
    double score;               /* NAN when the sample did not move it */
};

/* Selection of samples of one source. */
struct db_sample_query {
    int64_t source;
    int kind;        /* enum score_kind, or -1 for all */
    int64_t monitor; /* -1 for all */
    int64_t since;   /* time >= since (0: all) */
    int64_t before;  /* time < before (0: no bound) */
    size_t limit;    /* at most this many (0: 100) */
    size_t offset;   /* skip this many of the newest (paging) */
};

/* Score history: the newest `limit` samples matching q (offset ignored),
   returned oldest first.  *out malloc'd, caller frees. */
int db_score_history(struct db *db, const struct db_sample_query *q,
                     struct db_sample_row **out, size_t *n);
/* Recent samples, newest first, one page (q->offset, q->limit). */
int db_recent_samples(struct db *db, const struct db_sample_query *q,
                      struct db_sample_row **out, size_t *n);
/* The newest sample of source's kind whose reason is not ok, at or after
   since (the bound keeps the read of a healthy source short): 1 and *out,
   0 none, -1 error.  For the details page's diagnosis. */
int db_last_failure(struct db *db, int64_t source, enum score_kind kind, int64_t since,
                    struct db_sample_row *out);
/* The score history's page: like db_recent_samples (newest first, q->offset
   ignored), but only the fields a history row shows are read and set (time,
   kind, monitor, reason, offset, delay, step, score; source is q->source,
   id; the others are 0, -1 or "").  A covering index that would spare the row
   reads was measured and dropped (its write cost; see the commit log).
   *out malloc'd, caller frees. */
#define DB_HISTORY_LIMIT 100 /* db_history_page's limit when q->limit is 0 */
int db_history_page(struct db *db, const struct db_sample_query *q,
                    struct db_sample_row **out, size_t *n);
/* What tells one state of a source's samples from another, for a cache of
   them (web/histcache.c): it changes whenever a sample of the source is
   stored and whenever any sample is deleted (retention) through this
   connection, even in a transaction rolled back later; it may also change
   when a sample of another source is stored (sources share DB_STAMP_SLOTS
   counters).  Samples change only through the service's own connection (the
   administration commands never touch them; not PRAGMA data_version: another
   connection's WAL checkpoint changes that too).  Read from memory: no
   query. */
#define DB_STAMP_SLOTS 16384
struct db_history_stamp {
    uint64_t deletes; /* samples deletes on this connection */
    uint32_t stores;  /* samples stored of the sources of the source's slot */
};
void db_history_stamp(const struct db *db, int64_t source, struct db_history_stamp *out);
bool db_history_stamp_same(const struct db_history_stamp *a, const struct db_history_stamp *b);
/* The full stored result of one sample as the JSON of db_result_to_json
   (new reference, caller decrefs); NULL when not found or on error. */
json_t *db_sample_json(struct db *db, int64_t id);

/* The parsed shared parts (sample_details rows) of the last few samples
   db_sample_result read: the samples of a page share a handful, each parsed
   once.  Zero it before the first use; it holds no resource. */
#define DB_DETAIL_CACHE 8
struct db_detail_cache {
    int64_t id[DB_DETAIL_CACHE]; /* the detail rows held; 0: none */
    struct probe_result r[DB_DETAIL_CACHE];
    unsigned next;               /* the slot to fill next */
};

/* The full stored result of sample id into *out, as db_sample_json has it;
   cache (NULL: none) keeps the parsed detail rows for the next calls.  0,
   or -1 when there is no such sample or its stored detail does not parse
   (logged). */
int db_sample_result(struct db *db, int64_t id, struct db_detail_cache *cache,
                     struct probe_result *out);

/* Number of raw samples stored, -1 on error.  A full scan of samples (tens of
   millions of rows at scale): for tests and tools, not for /metrics. */
int64_t db_sample_count(struct db *db);

/* Work counters of the connection, summed over its prepared statements since
   db_open (sqlite3_stmt_status): for tests and metrics. */
struct db_counters {
    int64_t statements;     /* statement runs */
    int64_t fullscan_steps; /* rows stepped through by full table scans */
    int64_t vm_steps;       /* virtual machine steps: the work done */
};
void db_counters(struct db *db, struct db_counters *out);

/* ---- alerts (db/alertlog.c) ----------------------------------------------------- */

#define DB_URL_MAX          1024 /* bytes of a webhook URL, NUL included */
#define DB_ALERT_DETAIL_MAX 256
#define DB_ALERT_PAYLOAD_MAX 4096

/* The codes are stored: append, never renumber. */
enum db_alert_cause {
    DB_ALERT_LEFT_POOL = 0,
    DB_ALERT_BACK_IN_POOL = 1,
    DB_ALERT_CERT_EXPIRING = 2,
};
enum db_alert_channel {
    DB_ALERT_EMAIL = 0,
    DB_ALERT_WEBHOOK = 1,
};
enum db_alert_status {
    DB_ALERT_PENDING = 0, /* waiting for its (next) attempt */
    DB_ALERT_SENT = 1,
    DB_ALERT_FAILED = 2,  /* given up (detail says why) */
};
/* "left_pool", "back_in_pool", "cert_expiring"; "email", "webhook";
   "pending", "sent", "failed": the API's words. */
const char *db_alert_cause_str(enum db_alert_cause c);
const char *db_alert_channel_str(enum db_alert_channel c);
const char *db_alert_status_str(enum db_alert_status s);

/* An account's alert channels; "" when not set. */
struct db_alert_settings {
    char email[DB_EMAIL_MAX];
    char webhook[DB_URL_MAX];
};
/* 1 and *out, 0 none set (out emptied), -1 error. */
int db_alert_settings_get(struct db *db, int64_t user, struct db_alert_settings *out);
/* Replace both channels (NULL or "" clears one).  0 / -1. */
int db_alert_settings_set(struct db *db, int64_t user, const char *email,
                          const char *webhook);

/* The in-pool verdict alerts last acted on: *state -1 never in the pool, 0
   out, 1 in.  1/0 (no such source)/-1. */
int db_source_alert_state(struct db *db, int64_t source, int *state);
int db_source_alert_state_set(struct db *db, int64_t source, int state); /* 0 / -1 */

/* The time of the newest alert_log row of (source, cause), any channel or
   status: 1 and *time, 0 none, -1 error (the 24 h limit). */
int db_alert_last(struct db *db, int64_t source, enum db_alert_cause cause,
                  int64_t *time);

/* One alert message (a row of alert_log with its source's host and port). */
struct db_alert {
    int64_t id;
    int64_t time; /* of the event */
    int64_t user, source;
    char host[DB_HOST_MAX];
    int port;
    enum db_alert_cause cause;
    enum db_alert_channel channel;
    enum db_alert_status status;
    int attempts;
    int64_t next_try, updated;
    char detail[DB_ALERT_DETAIL_MAX];
    char payload[DB_ALERT_PAYLOAD_MAX]; /* db_alerts_due only; "" otherwise */
};

/* Queue a message: a row with status (PENDING, or FAILED when it cannot be
   sent at all, detail saying why), next_try = a->time.  *id may be NULL. */
int db_alert_add(struct db *db, const struct db_alert *a, int64_t *id);
/* Pending messages of active sources due at now (next_try <= now), oldest
   first, at most max, payload included.  *out malloc'd, caller frees. */
int db_alerts_due(struct db *db, int64_t now, size_t max, struct db_alert **out,
                  size_t *n);
/* Record an attempt: new status, attempts, next_try, detail (NULL: "").
   A retry (PENDING) of a message whose source was deleted meanwhile is
   recorded as FAILED, "the time source was deleted".  0 / -1. */
int db_alert_update(struct db *db, int64_t id, enum db_alert_status st, int attempts,
                    int64_t next_try, int64_t now, const char *detail);
/* An account's messages, newest first, at most max (the API's "sent", the
   account page); payload left empty.  *out malloc'd, caller frees. */
int db_alert_log(struct db *db, int64_t user, size_t max, struct db_alert **out,
                 size_t *n);

/* ---- retention (db/retention.c) ------------------------------------------------- */

/* Fold raw samples older than `days` days before now (days <= 0: the
   default) into hourly aggregates and delete them, oldest first, in one
   short transaction: at most max_rows (<= 0: DB_FOLD_MAX_ROWS), in steps of
   DB_FOLD_STEP_ROWS while the call is within its budget of budget_ms (<= 0:
   DB_FOLD_BUDGET_MS), commit included (at least one step is always done);
   what is left of the budget drops detail rows no sample uses any more, and
   then alert_log rows (sent or failed) older than DB_ALERT_LOG_DAYS before
   now, oldest first, in steps of DB_FOLD_STEP_ROWS (at least one a call).
   From then on, samples older than the cutoff are refused (DB_TOO_OLD).
   Returns rows folded (0: nothing left to fold), or -1.  Call it from the
   event loop again soon while it returns more than 0 (it keeps up with ten
   monitors at one call every 100 ms), else e.g. once a minute. */
#define DB_ALERT_LOG_DAYS 90 /* alerts sent or given up are listed this long */
#define DB_FOLD_MAX_ROWS  2000
#define DB_FOLD_STEP_ROWS 100
#define DB_FOLD_BUDGET_MS 5
int db_fold_old_samples(struct db *db, int64_t now, int days, int max_rows,
                        int budget_ms);

/* One hourly aggregate of one (source, kind, monitor). */
struct db_hourly {
    int64_t source;
    enum score_kind kind;
    int64_t monitor;
    int64_t hour;                               /* Unix time of the hour's start */
    int64_t count;                              /* samples folded */
    int64_t by_reason[PROBE_COOKIES_SHORT + 1]; /* count by probe reason, ok included */
    int64_t n_measured;                         /* samples with an offset */
    double offset_min, offset_mean, offset_max; /* NAN when none measured */
    double delay_min, delay_mean, delay_max;
    double last_score; /* NAN when no scored sample */
};

/* The newest `limit` (0: all) hourly aggregates of a source since `since`
   (kind/monitor -1: all), returned oldest first, reason counts included, in
   one query; the work grows with the hours read, not with the source's
   history.  *out malloc'd, caller frees. */
int db_hourly_list(struct db *db, int64_t source, int kind, int64_t monitor,
                   int64_t since, size_t limit, struct db_hourly **out, size_t *n);

/* ---- the result as JSON (db/sample_json.c) -------------------------------------- */

/* A probe result as the per-probe object of PRODUCT.md's "ntspool-probe
   --json" (plus "start_time"), compact-ready: fields that do not apply are
   omitted, not null.  New reference; NULL on allocation failure. */
json_t *db_result_to_json(const struct probe_result *r);

/* The same object as JSON text appended to w: byte for byte what
   json_dumps(db_result_to_json(r), JSON_COMPACT | JSON_ENSURE_ASCII)
   writes, without the tree.  0, or -1 where db_result_to_json would give
   NULL (a string that is not valid UTF-8, out of memory: w->failed); then
   w holds part of the object, so write it into a buffer of its own. */
int db_result_write(struct jsonw *w, const struct probe_result *r);

/* Parse db_result_to_json's shape back into *r (absent fields keep the
   result_probe_init defaults).  0, or -1 when a required field is missing
   or malformed, or a code (kind, family, reason, statuses) is unknown. */
int db_result_from_json(const json_t *j, struct probe_result *r);

#endif
