/* mon.h - what the files of ntspool-monitor share: its limits, the agent's
 * state (struct mon) and the configuration at start and on SIGHUP
 * (reload.c).  ntspool-monitor.c fetches, probes and delivers. */
#ifndef NTSPOOL_CMD_NTSPOOL_MONITOR_MON_H
#define NTSPOOL_CMD_NTSPOOL_MONITOR_MON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "monitor/clockcheck.h"
#include "monitor/sched.h"
#include "util/config.h"
#include "web/monwire.h"
#include "web/monwork.h"

struct event;
struct event_base;
struct evdns_base;
struct tlsctx;
struct curlev;
struct curlev_req;
struct spool;

#define EXIT_CONFIG     3
#define DEFAULT_CONFIG  "/etc/ntspool/ntspool-monitor.conf"
#define KEY_MAX         128
#define FETCH_TIMEOUT_MS 60000L
#define SEND_TIMEOUT_MS 30000L
#define SEND_MAX_ANSWER (4L << 20)
#define BACKOFF_MIN     1.0   /* s: first retry */
#define BACKOFF_MAX     30.0  /* s: retries at least this often */
#define MAX_IN_FLIGHT   1000
#define STATS_S         60
#define UNKNOWN_LOGGED  16

struct mon {
    struct config cfg;
    const char *cfg_path; /* for SIGHUP */
    int verbose;          /* -v given: added to [log] level */
    char key[KEY_MAX];
    char work_url[CONFIG_URL_MAX + 32];
    char endpoint[MONWIRE_URL_MAX];
    struct event_base *base;
    struct evdns_base *dns;
    struct tlsctx *tls;
    struct sch *sch;
    struct sch_config sc;
    struct curlev *http;
    struct spool *spool;

    struct monwork_ent *ents; /* sorted by (uuid, via) */
    size_t nents;
    struct monwork_ent **by_id; /* sorted by id */
    int64_t next_id;
    bool have_work;
    int batchsize;
    double waittime, update_interval;
    char unknown[UNKNOWN_LOGGED][MONWIRE_NAME_MAX];
    int nunknown;

    json_t *batch;
    struct curlev_req *fetch_req, *send_req;
    char *sending;
    size_t sending_len, sending_n;
    bool sending_spooled;
    uint64_t sending_seq;
    double fetch_backoff, send_backoff;
    bool send_failing, fetch_failing;

    struct event *fetch_ev, *flush_ev, *send_ev, *health_ev, *stats_ev;
    struct event *sig_term, *sig_int, *sig_hup;
    double clock_error;
    char clock_detail[CLOCKCHECK_DETAIL_MAX];
    bool stopping;

    /* Counters (the stats line). */
    uint64_t n_results, n_samples, n_na, n_delivered, n_stored, n_duplicate, n_refused,
        n_lost, dropped_logged;
};

/* The scheduler options that come from the configuration (not from the
   work list) into sc. */
void mon_sch_options(const struct config *c, struct sch_config *sc);
/* SIGHUP: read m->cfg_path again and apply what can change while running
   (log level, key_file, service_ca_file, allow_private, codepoints,
   clock_check); CONFIG_RESTART_KEYS_MONITOR keep their running values.  A
   file that does not load, or a key file that does not read, changes
   nothing.  A new key fetches the work list again at once. */
void mon_reload(struct mon *m);
/* Fetch the work list now, unless a fetch is in flight (ntspool-monitor.c). */
void mon_fetch(struct mon *m);

#endif
