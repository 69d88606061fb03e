/* score.c - SCORING.md, rule by rule.  The offset bands and the 0.95 decay
 * follow the NTP pool; offsets are judged by their absolute value, so a
 * server that is behind cannot score +1 (SCORING.md, marked fix). */
#include "scorer/score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double
score_offset_step(double o)
{
    o = fabs(o);
    if (o <= 0.025)
        return 1.0;
    if (o <= 0.100)
        return 1.0 - 0.5 * (o - 0.025) / 0.075;
    if (o <= 0.750)
        return 0.5 - 1.5 * (o - 0.100) / 0.650;
    return -2.0;
}

static void
set(struct score_step *s, enum probe_reason reason, double step, double cap)
{
    s->reason = reason;
    s->discard = false;
    s->step = step;
    s->cap = cap;
}

void
score_step_of(const struct probe_result *r, struct score_step *out)
{
    bool deny = false, rate = false, timeout = false, other = false;
    bool unsync = false, over3 = false, strat = false, short_cookies = false;
    double sum = 0;
    int n = r->n_ntp;

    if (result_ke_is_monitor_fault(r->ke.status)) {
        out->reason = PROBE_MONITOR_FAULT;
        out->discard = true;
        out->step = NAN;
        out->cap = INFINITY;
        return;
    }
    for (int i = 0; i < n; i++) {
        const struct ntp_result *x = &r->ntp[i];
        switch (x->status) {
        case NTP_OK: break;
        case NTP_KOD_DENY:
        case NTP_KOD_RSTR: deny = true; break;
        case NTP_KOD_RATE: rate = true; break;
        case NTP_TIMEOUT: timeout = true; break;
        case NTP_NTS_NAK:
        case NTP_SEND_FAILED:
        case NTP_DNS_FAILED:
        case NTP_NOT_ATTEMPTED: other = true; break;
        }
    }
    if (deny) {
        set(out, PROBE_KOD_DENY, -10, -50);
        return;
    }
    if (rate) {
        set(out, PROBE_KOD_RATE, -3.5, INFINITY);
        return;
    }
    if (r->ke.status != KE_OK) {
        set(out, PROBE_KE_FAILED, -5, INFINITY);
        return;
    }
    if (timeout) {
        set(out, PROBE_NTP_TIMEOUT, -5, INFINITY);
        return;
    }
    if (other || n < RESULT_NTP_EXCHANGES) {
        set(out, PROBE_NTP_FAILED, -4, INFINITY);
        return;
    }
    for (int i = 0; i < n; i++) {
        const struct ntp_result *x = &r->ntp[i];
        unsync |= x->stratum == 0 || x->leap == 3;
        over3 |= !(fabs(x->offset) <= 3.0);
        strat |= x->stratum >= 8;
        short_cookies |= x->cookies_received < x->cookies_requested;
        sum += score_offset_step(x->offset);
    }
    if (unsync) {
        set(out, PROBE_UNSYNCHRONIZED, -4, INFINITY);
        return;
    }
    if (over3) {
        set(out, PROBE_OFFSET_OVER_3S, -4, -20);
        return;
    }
    if (strat) {
        set(out, PROBE_STRATUM_TOO_HIGH, -4, INFINITY);
        return;
    }
    sum /= n;
    if (short_cookies)
        set(out, PROBE_COOKIES_SHORT, sum - 1, INFINITY);
    else
        set(out, sum < 1 ? PROBE_OFFSET : PROBE_OK, sum, INFINITY);
}

double
score_update(double prev, double step, double cap)
{
    double s = prev * SCORE_DECAY + step;

    return s < cap ? s : cap;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double
score_median(const double *scores, size_t n)
{
    double tmp[64];
    double *v = n <= 64 ? tmp : malloc(n * sizeof(*v));
    double m;

    if (!v)
        return NAN;
    memcpy(v, scores, n * sizeof(*v));
    qsort(v, n, sizeof(*v), cmp_double);
    m = v[(n - 1) / 2];
    if (v != tmp)
        free(v);
    return m;
}
