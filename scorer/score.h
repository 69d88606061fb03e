/* score.h - the scoring rules of SCORING.md as pure functions: the step of
 * one probe result, the score update, freshness and the median across
 * monitors, the current score of a (source, kind) and the in-pool verdict
 * with a human reason.  No I/O, no clock, no allocation: callers pass times
 * in and own every buffer.  The store (db/) calls these inside its
 * transactions; the pages get the results through db/. */
#ifndef NTSPOOL_SCORER_SCORE_H
#define NTSPOOL_SCORER_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/result.h"

#define SCORE_MAX               20.0 /* steady state of always +1 (not a cap) */
#define SCORE_IN_POOL           10.0 /* in the pool only while strictly above */
#define SCORE_DECAY             0.95
#define SCORE_INTERVAL_DEFAULT  241   /* s, probe interval per (source, kind, monitor) */
#define SCORE_FRESH_INTERVALS   3     /* a monitor is fresh within 3 intervals */
#define SCORE_FUTURE_SKEW       60    /* s: a report dated further ahead of now is a
                                         monitor clock fault (SCORING.md rule 1) */
#define SCORE_MONITOR_CLOCK_MAX 0.010 /* s: a monitor clock off by more is at fault */
#define SCORE_REASON_MAX        256   /* human reason text, NUL included */

/* The four probe kinds of SCORING.md.  The numbers are stored: append only. */
enum score_kind {
    SCORE_KIND_NTS_V4 = 0,
    SCORE_KIND_NTS_V6 = 1,
    SCORE_KIND_POOL_V4 = 2,
    SCORE_KIND_POOL_V6 = 3,
};
#define SCORE_KINDS 4

struct score_step {
    enum probe_reason reason;
    bool discard; /* rule 1: the monitor's fault, no step */
    double step;  /* NAN when discarded */
    double cap;   /* upper bound of the new score; INFINITY none */
};

/* "nts-v4", "nts-v6", "pool-v4", "pool-v6"; never NULL. */
const char *score_kind_str(enum score_kind k);
/* Parse a name of score_kind_str; 0 and *out set, or -1. */
int score_kind_parse(const char *s, enum score_kind *out);
/* The kind of a probe of `kind` over address family `family` (4 or 6);
   0 and *out set, or -1 for an unknown family. */
int score_kind_of(enum probe_kind kind, int family, enum score_kind *out);

/* offset_step(|offset|) of SCORING.md, o in seconds (sign ignored; NAN
   counts as hopeless: -2). */
double score_offset_step(double o);

/* The step of one full probe (KE + two NTP exchanges), first matching rule. */
void score_step_of(const struct probe_result *r, struct score_step *out);

/* score_step_of for a monitor that also reports its own clock: clock_error is
   its absolute offset from true time in s, NAN when unsynchronised.  Off by
   more than SCORE_MONITOR_CLOCK_MAX, or unsynchronised, discards (rule 1). */
void score_step_of_clock(const struct probe_result *r, double clock_error,
                         struct score_step *out);

/* The cap of a sample with this reason code: -50 for kod_deny, -20 for
   offset_over_3s, INFINITY (none) otherwise.  With the stored step and
   reason, a score can be replayed from the stored samples alone. */
double score_cap_of(enum probe_reason reason);

/* min(prev * 0.95 + step, cap). */
double score_update(double prev, double step, double cap);

/* Lower median of the n scores that are not NAN (with one, that one);
   NAN when none. */
double score_median(const double *scores, size_t n);

/* True when a monitor that last reported at `last` is fresh at `now`:
   within SCORE_FRESH_INTERVALS of its probe intervals (interval <= 0: the
   default).  A report up to SCORE_FUTURE_SKEW ahead of now (clock skew
   between hosts) is fresh; one further ahead is not: a monitor whose clock
   runs fast must not keep its score current for as long as it is wrong. */
bool score_is_fresh(int64_t last, int64_t now, int interval);

/* The latest state of one monitor for one (source, kind). */
struct score_monitor {
    int64_t time;             /* its latest report: scored sample or n/a */
    int interval;             /* its probe interval for this (source, kind), s, at
                                 that report (SCORING.md lets it vary, e.g. 15 min
                                 for sources at or below -90); <= 0: the default */
    bool not_applicable;      /* that report: no address in the family */
    double score;             /* its current score; NAN when none yet */
    int64_t sample_time;      /* time of its latest scored sample */
    enum probe_reason reason; /* reason codes of that sample */
    enum ke_status ke_status;
    enum ntp_status ntp_status; /* first failed exchange, else NTP_OK */
};

enum score_state {
    SCORE_STATE_NONE = 0, /* no fresh monitor: no current score */
    SCORE_STATE_NA = 1,   /* fresh monitors say: not applicable */
    SCORE_STATE_SCORED = 2,
};

/* The current score of one (source, kind) across monitors. */
struct score_current {
    enum score_state state;
    double score;             /* median of the fresh scores; NAN unless SCORED */
    int n_fresh;              /* fresh monitors with a score */
    bool has_reason;          /* the fields below are set */
    enum probe_reason reason; /* codes of the latest sample that is not ok among the
                                 fresh monitors at or below the median (those that
                                 hold it down); PROBE_OK when all of theirs are ok */
    enum ke_status ke_status;
    enum ntp_status ntp_status;
};

/* Aggregate the latest states of n monitors (any order) at `now`: the median
   of the scores of the fresh monitors (SCORING.md "Per (time source, kind)"),
   each fresh by its own interval.  The kind is n/a when every fresh monitor
   says so. */
void score_current(const struct score_monitor *m, size_t n, int64_t now,
                   struct score_current *out);

/* A short human phrase for one sample's codes, e.g. "token not accepted by
   the server", "certificate expired", "NTP port unreachable".  Static text;
   never NULL. */
const char *score_reason_text(enum probe_reason reason, enum ke_status ke,
                              enum ntp_status ntp);

/* The in-pool verdict of a source from its kinds' current scores (cur[k] for
   enum score_kind k): in the pool when every applicable kind has a current
   score > 10 and at least one kind applies.  When out, writes a human reason
   into why (e.g. "pool-v4, pool-v6: token not accepted by the server");
   when in, why is "".  Returns the verdict. */
bool score_in_pool(const struct score_current cur[SCORE_KINDS], char *why, size_t len);

#endif
