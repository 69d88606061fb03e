/* sources.c - time sources and monitors: adding, looking up, soft-deleting
 * and rekeying sources (their NTS token is derived from the base secret, the
 * uuid and the randomizer, never stored), and the monitor accounts with their
 * hashed keys.  Source rows are never removed (samples refer to them);
 * deleted ones drop out of the lists and the work list.  The scores and
 * status of sources are in status.c. */
#include "db/db_int.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/log.h"

/* ---- time sources --------------------------------------------------------------- */

void
db_source_row(sqlite3_stmt *s, struct db_source *x)
{
    x->id = sqlite3_column_int64(s, 0);
    db_column_text(s, 1, x->uuid, sizeof(x->uuid));
    x->owner = sqlite3_column_int64(s, 2);
    db_column_text(s, 3, x->host, sizeof(x->host));
    x->port = sqlite3_column_int(s, 4);
    db_column_text(s, 5, x->randomizer, sizeof(x->randomizer));
    x->created = sqlite3_column_int64(s, 6);
    x->deleted = sqlite3_column_int64(s, 7);    /* NULL reads as 0 */
    x->codepoints = sqlite3_column_int(s, 8); /* NULL: unknown, 0 */
}

static void
fill_source(sqlite3_stmt *s, void *arg)
{
    db_source_row(s, arg);
}

int
db_source_add(struct db *db, int64_t owner, const char *host, int port, int64_t now,
              struct db_source *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_ADD);
    struct db_source x;

    memset(&x, 0, sizeof(x));
    if (strlen(host) >= sizeof(x.host) || port <= 0 || port > 65535) {
        log_err("db: source add: bad host or port");
        return -1;
    }
    if (db_uuid_new(x.uuid) < 0)
        return -1;
    sqlite3_bind_text(s, 1, x.uuid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, owner);
    sqlite3_bind_text(s, 3, host, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, port);
    sqlite3_bind_int64(s, 5, now);
    db->src_changes++;
    if (db_exec_stmt(db, s, "source add") < 0)
        return -1;
    /* The one statement both checks for an active twin and inserts, so two
       adds of one server cannot both pass (the partial unique index). */
    if (sqlite3_changes(db->h) == 0)
        return 1;
    x.id = sqlite3_last_insert_rowid(db->h);
    x.owner = owner;
    snprintf(x.host, sizeof(x.host), "%s", host);
    x.port = port;
    x.created = now;
    *out = x;
    return 0;
}

int
db_source_find(struct db *db, const char *host, int port, struct db_source *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_FIND);

    sqlite3_bind_text(s, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, port);
    return db_lookup(db, s, "source find", fill_source, out);
}

int
db_source_set_codepoints(struct db *db, int64_t id, int codepoints)
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_CODEPOINTS);

    if (codepoints != DB_CODEPOINTS_UNKNOWN && codepoints != DB_CODEPOINTS_PERMANENT &&
        codepoints != DB_CODEPOINTS_EXPERIMENTAL) {
        log_err("db: source %lld: no codepoints %d", (long long)id, codepoints);
        return -1;
    }
    sqlite3_bind_int64(s, 1, id);
    if (codepoints != DB_CODEPOINTS_UNKNOWN)
        sqlite3_bind_int(s, 2, codepoints);
    return db_exec_stmt(db, s, "source codepoints");
}

int
db_source_count(struct db *db, int64_t *active)
{
    sqlite3_stmt *s = db_stmt(db, ST_SRC_COUNT);
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        *active = sqlite3_column_int64(s, 0);
    else
        db_log_error(db, "source count");
    db_stmt_done(db, s);
    return rc == SQLITE_ROW ? 0 : -1;
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
    int deleted;

    if (db_tx_begin(db) < 0)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, owner);
    sqlite3_bind_int64(s, 3, now);
    db->src_changes++;
    if (db_exec_stmt(db, s, "source delete") < 0)
        goto fail;
    deleted = sqlite3_changes(db->h) > 0;
    /* Its alerts still waiting are given up: nobody asked about it any more. */
    if (deleted) {
        s = db_stmt(db, ST_ALERT_CANCEL_SOURCE);
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, now);
        if (db_exec_stmt(db, s, "cancel alerts") < 0)
            goto fail;
    }
    if (db_tx_commit(db) < 0)
        return -1;
    return deleted;
fail:
    db_tx_rollback(db);
    return -1;
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
    db->src_changes++;
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

uint64_t
db_sources_generation(const struct db *db)
{
    return db->src_changes;
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
    m->samples = sqlite3_column_int64(s, 5);
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
        const void *stored = sqlite3_column_blob(s, 6);
        /* The index found the row by hash; compare once more in constant
           time so that no byte-wise early exit depends on the key. */
        match = stored && sqlite3_column_bytes(s, 6) == DB_HASH_LEN &&
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
db_monitor_by_name(struct db *db, const char *name, struct db_monitor *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_MON_BY_NAME);

    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    return db_lookup(db, s, "monitor by name", fill_monitor, out);
}

int
db_monitor_get(struct db *db, int64_t id, struct db_monitor *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_MON_GET);

    sqlite3_bind_int64(s, 1, id);
    return db_lookup(db, s, "monitor get", fill_monitor, out);
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
