/* score.h - the scoring rules of SCORING.md as pure functions: the step of
 * one probe result, the score update, the median across monitors and the
 * in-pool verdict.  No I/O, no clock: callers pass times in. */
#ifndef NTSPOOL_SCORER_SCORE_H
#define NTSPOOL_SCORER_SCORE_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/result.h"

#define SCORE_MAX 20.0              /* steady state of always +1 */
#define SCORE_IN_POOL 10.0          /* in the pool only while strictly above */
#define SCORE_DECAY 0.95

struct score_step {
    enum probe_reason reason;
    bool discard;                   /* rule 1: the monitor's fault, no step */
    double step;                    /* NAN when discarded */
    double cap;                     /* upper bound of the new score; INFINITY none */
};

/* offset_step(|offset|) of SCORING.md, o in seconds (sign ignored). */
double score_offset_step(double o);

/* The step of one full probe (KE + two NTP exchanges), first matching rule. */
void score_step_of(const struct probe_result *r, struct score_step *out);

/* min(prev * 0.95 + step, cap). */
double score_update(double prev, double step, double cap);

/* Median of n scores (lower median for even n); n >= 1. */
double score_median(const double *scores, size_t n);

#endif
