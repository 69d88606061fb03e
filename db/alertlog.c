/* alertlog.c - the store of alerts: each account's channels (e-mail address,
 * webhook URL), the in-pool verdict the last alert decision was based on,
 * per source, and alert_log, which is at once the retry queue (pending rows
 * with their next attempt time), the history the API and the account page
 * list, and the memory of the "once per 24 h per source and cause" limit.
 * Deciding and sending are web/alerts.c's. */
#include "db/db_int.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"

const char *
db_alert_cause_str(enum db_alert_cause c)
{
    switch (c) {
    case DB_ALERT_LEFT_POOL: return "left_pool";
    case DB_ALERT_BACK_IN_POOL: return "back_in_pool";
    case DB_ALERT_CERT_EXPIRING: return "cert_expiring";
    }
    return "unknown";
}

const char *
db_alert_channel_str(enum db_alert_channel c)
{
    switch (c) {
    case DB_ALERT_EMAIL: return "email";
    case DB_ALERT_WEBHOOK: return "webhook";
    }
    return "unknown";
}

const char *
db_alert_status_str(enum db_alert_status s)
{
    switch (s) {
    case DB_ALERT_PENDING: return "pending";
    case DB_ALERT_SENT: return "sent";
    case DB_ALERT_FAILED: return "failed";
    }
    return "unknown";
}

static void
fill_settings(sqlite3_stmt *s, void *arg)
{
    struct db_alert_settings *x = arg;

    db_column_text(s, 0, x->email, sizeof(x->email));
    db_column_text(s, 1, x->webhook, sizeof(x->webhook));
}

int
db_alert_settings_get(struct db *db, int64_t user, struct db_alert_settings *out)
{
    sqlite3_stmt *s = db_stmt(db, ST_ALERT_SETTINGS_GET);

    memset(out, 0, sizeof(*out));
    sqlite3_bind_int64(s, 1, user);
    return db_lookup(db, s, "alert settings", fill_settings, out);
}

static int
bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
    return v && *v ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(s, i);
}

int
db_alert_settings_set(struct db *db, int64_t user, const char *email, const char *webhook)
{
    sqlite3_stmt *s = db_stmt(db, ST_ALERT_SETTINGS_SET);

    sqlite3_bind_int64(s, 1, user);
    bind_text_or_null(s, 2, email);
    bind_text_or_null(s, 3, webhook);
    return db_exec_stmt(db, s, "set alert settings");
}

static void
fill_state(sqlite3_stmt *s, void *arg)
{
    int *state = arg;

    *state = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 0);
}

int
db_source_alert_state(struct db *db, int64_t source, int *state)
{
    sqlite3_stmt *s = db_stmt(db, ST_ALERT_STATE_GET);

    *state = -1;
    sqlite3_bind_int64(s, 1, source);
    return db_lookup(db, s, "alert state", fill_state, state);
}

int
db_source_alert_state_set(struct db *db, int64_t source, int state)
{
    sqlite3_stmt *s = db_stmt(db, ST_ALERT_STATE_SET);

    sqlite3_bind_int64(s, 1, source);
    if (state < 0)
        sqlite3_bind_null(s, 2);
    else
        sqlite3_bind_int(s, 2, state ? 1 : 0);
    return db_exec_stmt(db, s, "set alert state");
}

static void
fill_time(sqlite3_stmt *s, void *arg)
{
    int64_t *t = arg;

    *t = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0);
}

int
db_alert_last(struct db *db, int64_t source, enum db_alert_cause cause, int64_t *time)
{
    sqlite3_stmt *s = db_stmt(db, ST_ALERT_LAST);
    int rc;

    *time = -1;
    sqlite3_bind_int64(s, 1, source);
    sqlite3_bind_int(s, 2, (int)cause);
    rc = db_lookup(db, s, "last alert", fill_time, time);
    if (rc < 0)
        return -1;
    return *time >= 0 ? 1 : 0; /* max() of no rows is one NULL row */
}

int
db_alert_add(struct db *db, const struct db_alert *a, int64_t *id)
{
    sqlite3_stmt *s = db_stmt(db, ST_ALERT_ADD);

    sqlite3_bind_int64(s, 1, a->time);
    sqlite3_bind_int64(s, 2, a->user);
    sqlite3_bind_int64(s, 3, a->source);
    sqlite3_bind_int(s, 4, (int)a->cause);
    sqlite3_bind_int(s, 5, (int)a->channel);
    sqlite3_bind_int(s, 6, (int)a->status);
    sqlite3_bind_int64(s, 7, a->time);
    sqlite3_bind_text(s, 8, a->detail, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 9, a->payload, -1, SQLITE_TRANSIENT);
    if (db_exec_stmt(db, s, "add alert") != 0)
        return -1;
    if (id)
        *id = sqlite3_last_insert_rowid(db->h);
    return 0;
}

/* ALERT_COLS (schema.c), and the payload after them when present. */
static void
fill_alert(sqlite3_stmt *s, void *arg)
{
    struct db_alert *x = arg;

    x->id = sqlite3_column_int64(s, 0);
    x->time = sqlite3_column_int64(s, 1);
    x->user = sqlite3_column_int64(s, 2);
    x->source = sqlite3_column_int64(s, 3);
    db_column_text(s, 4, x->host, sizeof(x->host));
    x->port = sqlite3_column_int(s, 5);
    x->cause = (enum db_alert_cause)sqlite3_column_int(s, 6);
    x->channel = (enum db_alert_channel)sqlite3_column_int(s, 7);
    x->status = (enum db_alert_status)sqlite3_column_int(s, 8);
    x->attempts = sqlite3_column_int(s, 9);
    x->next_try = sqlite3_column_int64(s, 10);
    x->updated = sqlite3_column_int64(s, 11);
    db_column_text(s, 12, x->detail, sizeof(x->detail));
    if (sqlite3_column_count(s) > 13)
        db_column_text(s, 13, x->payload, sizeof(x->payload));
}

int
db_alerts_due(struct db *db, int64_t now, size_t max, struct db_alert **out, size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, ST_ALERT_DUE);

    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (int64_t)max);
    return db_collect(db, s, "alerts due", sizeof(**out), fill_alert, (void **)out, n);
}

int
db_alert_update(struct db *db, int64_t id, enum db_alert_status st, int attempts,
                int64_t next_try, int64_t now, const char *detail)
{
    sqlite3_stmt *s = db_stmt(db, ST_ALERT_UPDATE);

    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, (int)st);
    sqlite3_bind_int(s, 3, attempts);
    sqlite3_bind_int64(s, 4, next_try);
    sqlite3_bind_int64(s, 5, now);
    sqlite3_bind_text(s, 6, detail ? detail : "", -1, SQLITE_TRANSIENT);
    return db_exec_stmt(db, s, "update alert");
}

int
db_alert_log(struct db *db, int64_t user, size_t max, struct db_alert **out, size_t *n)
{
    sqlite3_stmt *s = db_stmt(db, ST_ALERT_LIST);

    sqlite3_bind_int64(s, 1, user);
    sqlite3_bind_int64(s, 2, (int64_t)max);
    return db_collect(db, s, "alert log", sizeof(**out), fill_alert, (void **)out, n);
}
