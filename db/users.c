/* users.c - accounts, web sessions and API tokens.  Secrets never reach
 * the database: sessions and API tokens are looked up by the SHA-256 of
 * their value (db_hash), and the password hash is the KDF output web/ made.
 * Authenticating writes last_used at most once per DB_TOUCH_INTERVAL, so an
 * API read is not a write transaction. */
#include "db/db_int.h"

/* ---- users, sessions, API tokens ------------------------------------------------ */

static void
user_row(sqlite3_stmt *s, struct db_user *u)
{
    u->id = sqlite3_column_int64(s, 0);
    db_column_text(s, 1, u->email, sizeof(u->email));
    db_column_text(s, 2, u->password_hash, sizeof(u->password_hash));
    u->is_admin = sqlite3_column_int(s, 3) != 0;
    u->created = sqlite3_column_int64(s, 4);
    u->blocked = sqlite3_column_int(s, 5) != 0;
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
db_users_list(struct db *db, struct db_user **out, size_t *n)
{
    void *v;
    int rc = db_collect(db, db_stmt(db, ST_USERS_LIST), "users list", sizeof(**out),
                        fill_user, &v, n);

    *out = v;
    return rc;
}

int
db_user_set_password(struct db *db, int64_t id, const char *password_hash,
                     bool only_if_empty)
{
    sqlite3_stmt *s = db_stmt(db, ST_USER_SET_PW);

    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, only_if_empty);
    if (db_exec_stmt(db, s, "user set password") < 0)
        return -1;
    return sqlite3_changes(db->h) > 0;
}

int
db_user_set_blocked(struct db *db, int64_t id, bool blocked)
{
    sqlite3_stmt *s;
    int changed;

    if (db_tx_begin(db) != 0)
        return -1;
    s = db_stmt(db, ST_USER_SET_BLOCKED);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, blocked);
    if (db_exec_stmt(db, s, "user set blocked") < 0)
        goto fail;
    changed = sqlite3_changes(db->h) > 0;
    if (changed && blocked && db_sessions_delete_user(db, id) != 0)
        goto fail;
    if (db_tx_commit(db) != 0)
        return -1;
    return changed;
fail:
    db_tx_rollback(db);
    return -1;
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
db_session_touch(struct db *db, const unsigned char id_hash[DB_HASH_LEN], int64_t expires)
{
    sqlite3_stmt *s = db_stmt(db, ST_SESSION_TOUCH);

    sqlite3_bind_blob(s, 1, id_hash, DB_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, expires);
    return db_exec_stmt(db, s, "session touch");
}

int
db_sessions_delete_user(struct db *db, int64_t user)
{
    sqlite3_stmt *s = db_stmt(db, ST_SESSIONS_DEL_USER);

    sqlite3_bind_int64(s, 1, user);
    return db_exec_stmt(db, s, "sessions of user delete");
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

static void
fill_token_entry(sqlite3_stmt *s, void *arg)
{
    struct db_api_token *t = arg;

    t->id = sqlite3_column_int64(s, 0);
    db_column_text(s, 1, t->name, sizeof(t->name));
    t->created = sqlite3_column_int64(s, 2);
    t->last_used = sqlite3_column_int64(s, 3); /* NULL (never) reads as 0 */
}

int
db_api_tokens_of_user(struct db *db, int64_t user, struct db_api_token **out, size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, ST_APITOK_LIST);
    void *v;
    int rc;

    sqlite3_bind_int64(s, 1, user);
    rc = db_collect(db, s, "api tokens of user", sizeof(**out), fill_token_entry, &v, n);
    *out = v;
    return rc;
}
