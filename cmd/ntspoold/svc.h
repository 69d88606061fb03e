/* svc.h - what the files of ntspoold share: its limits, the service's
 * state (struct svc), the write queue with its checkpoint thread (store.c)
 * and the administration commands (admin.c).  ntspoold.c wires them into
 * the event loop. */
#ifndef NTSPOOL_CMD_NTSPOOLD_SVC_H
#define NTSPOOL_CMD_NTSPOOLD_SVC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "db/db.h"
#include "monitor/clockcheck.h"
#include "monitor/result.h"
#include "monitor/sched.h"
#include "scorer/score.h"
#include "util/config.h"

struct event;
struct event_base;
struct evdns_base;
struct tlsctx;
struct web;
struct metrics;
struct alerts;

#define EXIT_CONFIG      3
#define DEFAULT_CONFIG   "/etc/ntspool/ntspoold.conf"
#define BUILTIN_NAME     "builtin"
#define FLUSH_MS         50    /* results wait at most this long for their batch */
#define FLUSH_RUN        16    /* results stored per transaction on the loop: a
                                  batch stalls every request, ~0.3 ms a sample at
                                  2M samples, so keep it short; more batches
                                  follow after the loop has polled (a timer) */
#define BATCH_MAX        512   /* results stored per transaction at most (the
                                  stop, when nobody waits) */
#define QUEUE_MAX        16384 /* results waiting; beyond, the oldest are dropped */
#define RETENTION_S      60    /* retention runs this often when idle */
#define RETENTION_BUSY_MS 100  /* ... and this often while it has work left */
#define CKPT_S           1     /* the checkpoint thread's period */
/* The WAL bound: a PASSIVE checkpoint never waits for writers, so under a
   steady stream of commits it may never catch up, and SQLite restarts the
   log from its beginning only once a checkpoint has caught up.  Past this
   length, writes pause (the built-in monitor's results stay queued, monitor
   submits get 503 and Retry-After) until the checkpointer has copied the
   whole log back; the next commit then starts the log again from the top
   (and journal_size_limit trims the file). */
#define WAL_PAUSE_FRAMES 16384 /* 64 MiB of 4 KiB pages (db.c's page size) */
#define HEALTH_S         1     /* clock check and old TLS context collection */

enum pend_type { PEND_RESULT, PEND_NA, PEND_CODEPOINTS };

struct pend {
    enum pend_type type;
    int64_t source;
    enum score_kind kind;
    int64_t time;
    int interval;
    int codepoints;
    double clock_error;
    double lag, duration;
    struct probe_result res;
};

struct svc {
    struct config cfg;
    const char *cfg_path; /* NULL: defaults only */
    struct event_base *base;
    struct evdns_base *dns;
    struct tlsctx *tls, *old_tls;
    struct db *db;
    unsigned char secret[DB_SECRET_LEN];
    struct sch *sch;
    struct web *web;
    struct metrics *metrics;
    int64_t builtin_id;

    struct pend *q; /* ring of queued results */
    size_t q_head, q_len;
    struct db_sample *batch;
    struct db_stored *stored;
    struct pend **batch_pend;
    int64_t *touched; /* sources of a stored batch, for the alerts */
    struct alerts *alerts;

    struct event *flush_ev, *retention_ev, *health_ev;
    struct event *sig_term, *sig_int, *sig_hup;

    double clock_error; /* NAN: unsynchronised */
    char clock_detail[CLOCKCHECK_DETAIL_MAX];
    char health[SCH_DETAIL_MAX + CLOCKCHECK_DETAIL_MAX + 32];

    pthread_t ckpt;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ckpt_running, ckpt_stop;
    /* Set by the checkpoint thread (under mu): its last run copied the
       whole WAL back into the database. */
    bool ckpt_caught_up;
    int ckpt_wal_frames; /* the log's length at its last run, in pages */
    bool writes_paused; /* the loop holds writes back (WAL_PAUSE_FRAMES) */
    bool stopping;
};

/* ---- store.c: the write queue and the checkpoint thread ---------------------- */

/* mkdir the directory of a file path (one level, 0700) when missing. 0/-1. */
int svc_make_parent(const char *path);
/* db_open the configured database (its directory made); NULL logged. */
struct db *svc_open_db(const struct config *c);
/* A slot at the end of the queue (the oldest dropped, counted, when full);
   schedules the flush. */
struct pend *svc_queue_push(struct svc *s);
/* Store up to max queued items in one transaction (see store.c). */
void svc_flush(struct svc *s, size_t max);
void svc_on_flush(evutil_socket_t fd, short what, void *arg);
/* web_hooks.writes_held: true while writes wait for the checkpointer. */
bool svc_hook_writes_held(void *arg);
/* The checkpoint thread's main (pthread_create with the svc). */
void *svc_ckpt_main(void *arg);

/* ---- admin.c: user-add, token-add, monitor-add --------------------------------- */

/* Run the command argv[0] with its arguments; the exit status. */
int svc_admin(const struct config *c, int argc, char **argv);

#endif
