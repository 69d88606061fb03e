/* wal.c - the write-ahead log: how big the files are, and who writes the
 * WAL back into the database.  By default the connection of db_open does it
 * itself (wal_autocheckpoint), inside the commit that fills the log past the
 * threshold, which stalls that commit, and with it the event loop, for as
 * long as the hot pages take to write and fsync.  The service can instead
 * turn that off (db_set_autocheckpoint 0) and run db_ckpt_run from a worker
 * thread on a second connection: a PASSIVE checkpoint takes no lock a writer
 * waits for, so commits go on while it copies.  Each connection stays with
 * one thread at a time, which is all SQLite's multi-thread mode asks; the
 * connections are opened without their own mutex (SQLITE_OPEN_NOMUTEX), as
 * db_open's is. */
#include "db/db_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/log.h"

struct db_ckpt {
    sqlite3 *h;
};

/* The size of the file at path in *bytes; a missing file is 0 bytes. */
static int
file_size(const char *path, int64_t *bytes)
{
    struct stat st;

    *bytes = 0;
    if (!path || !*path) /* a temporary or in-memory database */
        return 0;
    if (stat(path, &st) == 0) {
        *bytes = (int64_t)st.st_size;
        return 0;
    }
    if (errno == ENOENT)
        return 0;
    log_err("db: size of %s: %s", path, strerror(errno));
    return -1;
}

int
db_size(struct db *db, int64_t *main_bytes, int64_t *wal_bytes)
{
    const char *f = sqlite3_db_filename(db->h, "main");

    *main_bytes = *wal_bytes = 0;
    if (!f || !*f)
        return 0;
    if (file_size(f, main_bytes) < 0)
        return -1;
    return file_size(sqlite3_filename_wal(f), wal_bytes);
}

int
db_set_autocheckpoint(struct db *db, int pages)
{
    /* The C interface of PRAGMA wal_autocheckpoint: no statement to
       prepare, and <= 0 turns it off. */
    if (sqlite3_wal_autocheckpoint(db->h, pages > 0 ? pages : 0) != SQLITE_OK) {
        db_log_error(db, "wal_autocheckpoint");
        return -1;
    }
    return 0;
}

/* The connection's journal mode is WAL: 0, else -1 with *err. */
static int
check_wal(sqlite3 *h, char **err)
{
    sqlite3_stmt *s = NULL;
    int ok = 0;

    if (sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL) != SQLITE_OK) {
        db_seterr(err, "%s", sqlite3_errmsg(h));
        return -1;
    }
    if (sqlite3_step(s) == SQLITE_ROW) {
        const unsigned char *mode = sqlite3_column_text(s, 0);

        ok = mode && sqlite3_stricmp((const char *)mode, "wal") == 0;
        if (!ok)
            db_seterr(err, "journal mode is %s, not wal", mode ? (const char *)mode : "?");
    } else {
        db_seterr(err, "%s", sqlite3_errmsg(h));
    }
    sqlite3_finalize(s);
    return ok ? 0 : -1;
}

struct db_ckpt *
db_ckpt_open(const char *path, char **err)
{
    struct db_ckpt *c;
    int rc;

    if (err)
        *err = NULL;
    /* Built with SQLITE_THREADSAFE=0 there are no mutexes at all, and two
       connections in two threads would share unguarded state. */
    if (sqlite3_threadsafe() == 0) {
        db_seterr(err, "%s: checkpointer: SQLite was built without thread support",
                  path);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        db_seterr(err, "out of memory");
        return NULL;
    }
    /* No SQLITE_OPEN_CREATE: the checkpointer comes after db_open made
       the file; creating an empty one here would hide a wrong path. */
    rc = sqlite3_open_v2(path, &c->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        db_seterr(err, "%s: checkpointer: %s", path,
                  c->h ? sqlite3_errmsg(c->h) : sqlite3_errstr(rc));
        db_ckpt_close(c);
        return NULL;
    }
    sqlite3_extended_result_codes(c->h, 1);
    /* A new connection opens the file lazily and does not know the WAL is
       there until it reads: a checkpoint before that finds no log (and
       reports -1 frames).  Reading the journal mode opens it, and refuses
       a database db_open has not switched to WAL. */
    if (check_wal(c->h, err) < 0) {
        char *e = err ? *err : NULL;

        if (err)
            *err = NULL;
        db_seterr(err, "%s: checkpointer: %s", path, e ? e : "?");
        free(e);
        db_ckpt_close(c);
        return NULL;
    }
    return c;
}

int
db_ckpt_run(struct db_ckpt *c, int *wal_frames, int *done_frames)
{
    int n_log = 0, n_done = 0;
    int rc = sqlite3_wal_checkpoint_v2(c->h, NULL, SQLITE_CHECKPOINT_PASSIVE, &n_log,
                                       &n_done);

    if (wal_frames)
        *wal_frames = 0;
    if (done_frames)
        *done_frames = 0;
    /* SQLITE_BUSY: another connection holds the checkpoint lock (its own
       checkpoint, or closing as the last one); the work is being done. */
    if ((rc & 0xff) == SQLITE_BUSY)
        return 0;
    if (rc != SQLITE_OK) {
        log_err("db: checkpoint: %s", sqlite3_errmsg(c->h));
        return -1;
    }
    if (wal_frames)
        *wal_frames = n_log > 0 ? n_log : 0;
    if (done_frames)
        *done_frames = n_done > 0 ? n_done : 0;
    return 0;
}

void
db_ckpt_close(struct db_ckpt *c)
{
    if (!c)
        return;
    if (c->h && sqlite3_close(c->h) != SQLITE_OK)
        log_err("db: checkpointer close: %s", sqlite3_errmsg(c->h));
    free(c);
}
