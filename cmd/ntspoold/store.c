/* store.c - ntspoold's write queue and its checkpoint thread.  Results of
 * the scheduler are queued and stored in one short transaction per batch
 * of FLUSH_RUN (every FLUSH_MS, or soon when a batch is full, one batch per
 * pass of the loop so that requests are served in between).  In WAL mode
 * with synchronous=NORMAL a commit is a write to the page cache; the fsyncs
 * happen in WAL checkpoints, which the thread here runs on its own
 * connection.  The WAL is kept bounded (WAL_PAUSE_FRAMES). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>

#include "cmd/ntspoold/svc.h"
#include "util/log.h"
#include "web/alerts.h"
#include "web/metrics.h"

/* Create the directory of a file path (one level, 0700) when missing. */
int
svc_make_parent(const char *path)
{
    char dir[CONFIG_PATH_MAX];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        log_err("cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

struct db *
svc_open_db(const struct config *c)
{
    struct db *db;
    char *err = NULL;

    if (svc_make_parent(c->database) != 0)
        return NULL;
    db = db_open(c->database, &err);
    if (!db) {
        log_err("database %s: %s", c->database, err ? err : "cannot open");
        free(err);
    }
    return db;
}

/* ---- the write queue ------------------------------------------------------------ */

struct pend *
svc_queue_push(struct svc *s)
{
    struct pend *p;

    if (s->q_len == QUEUE_MAX) {
        /* The database is not keeping up (or failing): drop the oldest, counted. */
        s->q_head = (s->q_head + 1) % QUEUE_MAX;
        s->q_len--;
        metrics_samples_dropped(s->metrics, 1);
        log_warn("store: write queue full, oldest result dropped");
    }
    p = &s->q[(s->q_head + s->q_len) % QUEUE_MAX];
    s->q_len++;
    if (s->q_len == FLUSH_RUN) {
        struct timeval tv = {0, 0}; /* a batch is full: store it soon */
        evtimer_add(s->flush_ev, &tv);
    } else if (!evtimer_pending(s->flush_ev, NULL)) {
        struct timeval tv = {0, FLUSH_MS * 1000};
        evtimer_add(s->flush_ev, &tv);
    }
    return p;
}

static double
mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* True while writes must wait for the checkpointer (WAL_PAUSE_FRAMES); the
   first call past the bound wakes the checkpointer at once.  Never while
   stopping: the last results are stored whatever the log's size. */
static bool
writes_held(struct svc *s)
{
    bool caught_up;

    if (!s->ckpt_running || s->stopping)
        return false;
    pthread_mutex_lock(&s->mu);
    caught_up = s->ckpt_caught_up;
    if (!s->writes_paused) {
        if (s->ckpt_wal_frames > WAL_PAUSE_FRAMES && !caught_up) {
            s->writes_paused = true;
            pthread_cond_signal(&s->cv);
            log_info("store: the WAL holds %d pages: writes wait for the checkpoint",
                     s->ckpt_wal_frames);
        }
    } else if (caught_up) {
        s->writes_paused = false;
        log_info("store: checkpoint caught up: writes resume");
    } else {
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return s->writes_paused;
}

bool
svc_hook_writes_held(void *arg)
{
    return writes_held(arg);
}

/* Store up to max (<= BATCH_MAX) queued items in one transaction.  On a
   database error nothing is taken off the queue: the next flush retries. */
void
svc_flush(struct svc *s, size_t max)
{
    size_t n = s->q_len < max ? s->q_len : max, nres = 0;
    int64_t now = (int64_t)time(NULL);
    double t0 = mono();

    if (n == 0)
        return;
    if (writes_held(s)) {
        struct timeval tv = {0, 50 * 1000};
        if (!s->stopping)
            evtimer_add(s->flush_ev, &tv);
        return;
    }
    if (db_begin(s->db) != 0)
        goto retry;
    for (size_t i = 0; i < n; i++) {
        struct pend *p = &s->q[(s->q_head + i) % QUEUE_MAX];
        switch (p->type) {
        case PEND_RESULT:
            s->batch[nres].source = p->source;
            s->batch[nres].monitor = s->builtin_id;
            s->batch[nres].res = &p->res;
            s->batch[nres].clock_error = p->clock_error;
            s->batch[nres].interval = p->interval;
            s->batch_pend[nres] = p;
            nres++;
            break;
        case PEND_NA:
            if (db_store_not_applicable(s->db, p->source, p->kind, s->builtin_id, p->time,
                                        p->interval, now) < 0)
                goto rollback;
            break;
        case PEND_CODEPOINTS:
            if (db_source_set_codepoints(s->db, p->source, p->codepoints) != 0)
                goto rollback;
            break;
        }
    }
    if (nres && db_store_samples(s->db, s->batch, nres, now, s->stored) != 0)
        goto rollback;
    if (db_commit(s->db) != 0)
        goto rollback;
    for (size_t i = 0; i < n; i++)
        s->touched[i] = s->q[(s->q_head + i) % QUEUE_MAX].source;
    alerts_check(s->alerts, s->touched, n, now);
    for (size_t i = 0; i < nres; i++) {
        const struct db_stored *o = &s->stored[i];
        enum probe_reason reason = o->outcome == DB_DISCARDED ? PROBE_MONITOR_FAULT : o->reason;
        if (o->outcome == DB_STORED || o->outcome == DB_DISCARDED || o->outcome == DB_LATE) {
            metrics_samples_stored(s->metrics, 1);
            metrics_probe(s->metrics, o->kind, reason, s->batch_pend[i]->duration,
                          s->batch_pend[i]->lag);
        }
        log_debug("store: source %lld %s: %s step %g score %g",
                  (long long)s->batch_pend[i]->source, score_kind_str(o->kind),
                  result_probe_reason_str(reason), o->step, o->score);
    }
    s->q_head = (s->q_head + n) % QUEUE_MAX;
    s->q_len -= n;
    metrics_db_batch(s->metrics, mono() - t0);
    if (s->q_len > 0 && !s->stopping) {
        /* The next run once the loop has served what arrived meanwhile. */
        struct timeval tv = {0, 0};
        evtimer_add(s->flush_ev, &tv);
    }
    return;
rollback:
    db_rollback(s->db);
retry:
    log_warn("store: batch of %zu not stored, retrying", n);
    if (!s->stopping) {
        struct timeval tv = {1, 0};
        evtimer_add(s->flush_ev, &tv);
    }
}

void
svc_on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    svc_flush(arg, FLUSH_RUN);
}

/* ---- checkpoint thread ---------------------------------------------------------- */

void *
svc_ckpt_main(void *arg)
{
    struct svc *s = arg;
    char *err = NULL;
    struct db_ckpt *c = db_ckpt_open(s->cfg.database, &err);

    if (!c) {
        log_err("checkpoint: %s", err ? err : "cannot open the database");
        free(err);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->ckpt_stop) {
        struct timespec until;
        int wal = 0, done = 0;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += CKPT_S;
        pthread_cond_timedwait(&s->cv, &s->mu, &until);
        if (s->ckpt_stop)
            break;
        pthread_mutex_unlock(&s->mu);
        if (db_ckpt_run(c, &wal, &done) != 0)
            log_warn("checkpoint: failed (wal %d frames)", wal);
        pthread_mutex_lock(&s->mu);
        s->ckpt_caught_up = done >= wal;
        s->ckpt_wal_frames = wal;
    }
    pthread_mutex_unlock(&s->mu);
    db_ckpt_close(c);
    return NULL;
}
