/* score.c - SCORING.md, rule by rule.  The offset bands and the 0.95 decay
 * follow the NTP pool; offsets are judged by their absolute value, so a
 * server that is behind cannot score +1 (SCORING.md, marked fix).  Medians
 * are computed by selection, without sorting a copy: the number of monitors
 * is small, and a pure function should not allocate. */
#include "scorer/score.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *
score_kind_str(enum score_kind k)
{
    switch (k) {
    case SCORE_KIND_NTS_V4: return "nts-v4";
    case SCORE_KIND_NTS_V6: return "nts-v6";
    case SCORE_KIND_POOL_V4: return "pool-v4";
    case SCORE_KIND_POOL_V6: return "pool-v6";
    }
    return "unknown";
}

int
score_kind_parse(const char *s, enum score_kind *out)
{
    for (int k = 0; k < SCORE_KINDS; k++) {
        if (strcmp(s, score_kind_str((enum score_kind)k)) == 0) {
            *out = (enum score_kind)k;
            return 0;
        }
    }
    return -1;
}

int
score_kind_of(enum probe_kind kind, int family, enum score_kind *out)
{
    if (family != 4 && family != 6)
        return -1;
    switch (kind) {
    case PROBE_KIND_NTS:
        *out = family == 4 ? SCORE_KIND_NTS_V4 : SCORE_KIND_NTS_V6;
        return 0;
    case PROBE_KIND_POOL:
        *out = family == 4 ? SCORE_KIND_POOL_V4 : SCORE_KIND_POOL_V6;
        return 0;
    }
    return -1;
}

double
score_offset_step(double o)
{
    /* In milliseconds, where the band edges are whole numbers: in seconds
       0.100 - 0.025 is not 0.075 in binary, and offset_step(100 ms) came out
       as 0.49999999999999989 instead of the check value 0.5.  The products
       below are exact for the check values of SCORING.md. */
    double ms = fabs(o) * 1000.0;

    if (ms <= 25)
        return 1.0;
    if (ms <= 100)
        return 1.0 - (ms - 25) / 150;
    if (ms <= 750)
        return 0.5 - 1.5 * (ms - 100) / 650;
    return -2.0; /* also NAN: no comparison above held */
}

double
score_cap_of(enum probe_reason reason)
{
    return reason == PROBE_KOD_DENY ? -50 : reason == PROBE_OFFSET_OVER_3S ? -20 : INFINITY;
}

static void
set(struct score_step *s, enum probe_reason reason, double step)
{
    s->reason = reason;
    s->discard = false;
    s->step = step;
    s->cap = score_cap_of(reason);
}

static void
discard(struct score_step *s)
{
    s->reason = PROBE_MONITOR_FAULT;
    s->discard = true;
    s->step = NAN;
    s->cap = INFINITY;
}

void
score_step_of(const struct probe_result *r, struct score_step *out)
{
    bool deny = false, rate = false, timeout = false, other = false;
    bool unsync = false, over3 = false, strat = false, short_cookies = false;
    double sum = 0;
    int n = r->n_ntp;

    if (n < 0)
        n = 0;
    if (n > RESULT_NTP_EXCHANGES)
        n = RESULT_NTP_EXCHANGES;
    /* Rule 1.  A key exchange that was never attempted measured nothing about
       the source either: the monitor did not do its job. */
    if (result_ke_is_monitor_fault(r->ke.status) || r->ke.status == KE_NOT_ATTEMPTED) {
        discard(out);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (result_ntp_is_monitor_fault(r->ntp[i].status)) {
            discard(out);
            return;
        }
    }
    for (int i = 0; i < n; i++) {
        switch (r->ntp[i].status) {
        case NTP_OK: break;
        case NTP_KOD_DENY:
        case NTP_KOD_RSTR: deny = true; break;
        case NTP_KOD_RATE: rate = true; break;
        case NTP_TIMEOUT: timeout = true; break;
        case NTP_NTS_NAK:
        case NTP_SEND_FAILED:
        case NTP_DNS_FAILED:
        case NTP_NOT_ATTEMPTED: other = true; break;
        case NTP_LOCAL_ERROR: break;    /* discarded above */
        }
    }
    if (deny) { /* rule 2 */
        set(out, PROBE_KOD_DENY, -10);
        return;
    }
    if (rate) { /* rule 3 */
        set(out, PROBE_KOD_RATE, -3.5);
        return;
    }
    if (r->ke.status != KE_OK) { /* rule 4 */
        set(out, PROBE_KE_FAILED, -5);
        return;
    }
    if (timeout) {
        set(out, PROBE_NTP_TIMEOUT, -5);
        return;
    }
    /* Rule 5; an exchange missing after a good key exchange is a failure too. */
    if (other || n < RESULT_NTP_EXCHANGES) {
        set(out, PROBE_NTP_FAILED, -4);
        return;
    }
    for (int i = 0; i < n; i++) {
        const struct ntp_result *x = &r->ntp[i];
        unsync |= x->stratum == 0 || x->leap == 3;
        over3 |= !(fabs(x->offset) <= 3.0); /* NAN too */
        strat |= x->stratum >= 8;
        short_cookies |= x->cookies_received < x->cookies_requested;
        sum += score_offset_step(x->offset);
    }
    if (unsync) { /* rule 6 */
        set(out, PROBE_UNSYNCHRONIZED, -4);
        return;
    }
    if (over3) { /* rule 7 */
        set(out, PROBE_OFFSET_OVER_3S, -4);
        return;
    }
    if (strat) { /* rule 8 */
        set(out, PROBE_STRATUM_TOO_HIGH, -4);
        return;
    }
    sum /= n; /* rule 9 */
    if (short_cookies)
        set(out, PROBE_COOKIES_SHORT, sum - 1);
    else
        set(out, sum < 1 ? PROBE_OFFSET : PROBE_OK, sum);
}

void
score_step_of_clock(const struct probe_result *r, double clock_error,
                    struct score_step *out)
{
    if (!(fabs(clock_error) <= SCORE_MONITOR_CLOCK_MAX)) {
        discard(out);
        return;
    }
    score_step_of(r, out);
}

double
score_update(double prev, double step, double cap)
{
    double s = prev * SCORE_DECAY + step;

    return s < cap ? s : cap;
}

/* Lower median by selection: the value v[i] whose rank range among the
   counted values contains (count - 1) / 2.  use(i) says which to count. */
#define LOWER_MEDIAN(n, use, val, result)                                                \
    do {                                                                                 \
        size_t cnt_ = 0, k_;                                                             \
        (result) = NAN;                                                                  \
        for (size_t i_ = 0; i_ < (n); i_++)                                              \
            cnt_ += (use(i_)) ? 1 : 0;                                                   \
        if (cnt_ == 0)                                                                   \
            break;                                                                       \
        k_ = (cnt_ - 1) / 2;                                                             \
        for (size_t i_ = 0; i_ < (n); i_++) {                                            \
            size_t less_ = 0, eq_ = 0;                                                   \
            if (!(use(i_)))                                                              \
                continue;                                                                \
            for (size_t j_ = 0; j_ < (n); j_++) {                                        \
                if (!(use(j_)))                                                          \
                    continue;                                                            \
                less_ += val(j_) < val(i_);                                              \
                eq_ += val(j_) == val(i_);                                               \
            }                                                                            \
            if (less_ <= k_ && k_ < less_ + eq_) {                                       \
                (result) = val(i_);                                                      \
                break;                                                                   \
            }                                                                            \
        }                                                                                \
    } while (0)

double
score_median(const double *scores, size_t n)
{
    double m;

#define USE(i) (!isnan(scores[i]))
#define VAL(i) (scores[i])
    LOWER_MEDIAN(n, USE, VAL, m);
#undef USE
#undef VAL
    return m;
}

bool
score_is_fresh(int64_t last, int64_t now, int interval)
{
    if (interval <= 0)
        interval = SCORE_INTERVAL_DEFAULT;
    return last >= now - (int64_t)SCORE_FRESH_INTERVALS * interval &&
           last <= now + SCORE_FUTURE_SKEW;
}

static bool
fresh_scored(const struct score_monitor *m, int64_t now)
{
    return !m->not_applicable && !isnan(m->score) &&
           score_is_fresh(m->time, now, m->interval);
}

void
score_current(const struct score_monitor *m, size_t n, int64_t now,
              struct score_current *out)
{
    size_t n_fresh = 0, n_na = 0;
    const struct score_monitor *why = NULL;
    bool why_bad = false;

    memset(out, 0, sizeof(*out));
    out->score = NAN;
    for (size_t i = 0; i < n; i++) {
        if (!score_is_fresh(m[i].time, now, m[i].interval))
            continue;
        if (m[i].not_applicable)
            n_na++;
        else if (!isnan(m[i].score))
            n_fresh++;
    }
#define USE(i) fresh_scored(&m[i], now)
#define VAL(i) (m[i].score)
    LOWER_MEDIAN(n, USE, VAL, out->score);
#undef USE
#undef VAL
    out->n_fresh = (int)n_fresh;
    if (n_fresh > 0)
        out->state = SCORE_STATE_SCORED;
    else if (n_na > 0)
        out->state = SCORE_STATE_NA;
    else
        out->state = SCORE_STATE_NONE;
    /* The reason must describe the monitors that hold the median down, not
       whichever reported last: with two monitors seeing a rejected token and a
       healthy one reporting after them, the median is theirs and so is the
       reason.  Among them the latest sample that is not ok wins; only when
       all of their latest samples are ok is the score merely rising. */
    for (size_t i = 0; i < n; i++) {
        bool bad;

        if (!fresh_scored(&m[i], now) || !(m[i].score <= out->score))
            continue;
        bad = m[i].reason != PROBE_OK;
        if (!why || (bad && !why_bad) ||
            (bad == why_bad && m[i].sample_time > why->sample_time)) {
            why = &m[i];
            why_bad = bad;
        }
    }
    if (why) {
        out->has_reason = true;
        out->reason = why->reason;
        out->ke_status = why->ke_status;
        out->ntp_status = why->ntp_status;
    }
}

static const char *
ke_text(enum ke_status ke)
{
    switch (ke) {
    case KE_OK: return "key exchange ok";
    case KE_DNS_FAILED: return "name does not resolve";
    case KE_CONNECT_REFUSED: return "KE port refuses connections";
    case KE_CONNECT_TIMEOUT: return "KE port unreachable";
    case KE_TLS_FAILED: return "TLS handshake failed";
    case KE_TLS_VERSION: return "server does not offer TLS 1.3";
    case KE_CERT_UNTRUSTED: return "certificate not trusted";
    case KE_CERT_NAME_MISMATCH: return "certificate does not match the host name";
    case KE_CERT_EXPIRED: return "certificate expired";
    case KE_ALPN_MISMATCH: return "server does not speak NTS-KE (ALPN ntske/1)";
    case KE_ERROR: return "key exchange answered with an error";
    case KE_WARNING: return "key exchange answered with a warning";
    case KE_MALFORMED: return "malformed key exchange response";
    case KE_AEAD_UNEXPECTED: return "server chose an AEAD algorithm it was not offered";
    case KE_AEAD_NONE: return "no AEAD algorithm in common";
    case KE_NO_COOKIES: return "key exchange returned no cookies";
    case KE_TOKEN_REJECTED: return "token not accepted by the server";
    case KE_POOL_UNSUPPORTED:
        return "server does not support pool key exchange "
               "(token not configured?)";
    case KE_NO_SUCH_SERVER: return "pool key exchange does not know the server";
    case KE_RESPONSE_TOO_LARGE: return "key exchange response too large";
    case KE_TIMEOUT: return "key exchange timed out";
    case KE_LOCAL_ERROR: return "monitor error";
    case KE_NOT_ATTEMPTED: return "not probed";
    }
    return "key exchange failed";
}

static const char *
ntp_text(enum ntp_status ntp)
{
    switch (ntp) {
    case NTP_OK: return "NTP ok";
    case NTP_DNS_FAILED: return "NTP server name does not resolve";
    case NTP_SEND_FAILED: return "NTP request could not be sent";
    case NTP_TIMEOUT: return "NTP port unreachable";
    case NTP_NTS_NAK: return "NTP server rejected the cookie (NTS NAK)";
    case NTP_KOD_DENY: return "NTP server denies access (kiss-o'-death DENY)";
    case NTP_KOD_RSTR: return "NTP server restricts access (kiss-o'-death RSTR)";
    case NTP_KOD_RATE: return "NTP server rate-limits the monitor (kiss-o'-death RATE)";
    case NTP_NOT_ATTEMPTED: return "NTP exchange not attempted";
    case NTP_LOCAL_ERROR: return "monitor error";
    }
    return "NTP exchange failed";
}

const char *
score_reason_text(enum probe_reason reason, enum ke_status ke, enum ntp_status ntp)
{
    switch (reason) {
    case PROBE_OK: return "good, score rising";
    case PROBE_MONITOR_FAULT: return "monitor fault, sample discarded";
    case PROBE_KOD_DENY:
        return ntp == NTP_KOD_RSTR || ntp == NTP_KOD_DENY ? ntp_text(ntp)
                                                          : ntp_text(NTP_KOD_DENY);
    case PROBE_KOD_RATE: return ntp_text(NTP_KOD_RATE);
    case PROBE_KE_FAILED: return ke == KE_OK ? "key exchange failed" : ke_text(ke);
    case PROBE_NTP_TIMEOUT: return ntp_text(NTP_TIMEOUT);
    case PROBE_NTP_FAILED: return ntp == NTP_OK ? "NTP exchange failed" : ntp_text(ntp);
    case PROBE_UNSYNCHRONIZED: return "server not synchronised";
    case PROBE_OFFSET_OVER_3S: return "time off by more than 3 s";
    case PROBE_STRATUM_TOO_HIGH: return "stratum too high (8 or more)";
    case PROBE_OFFSET: return "time offset too large";
    case PROBE_COOKIES_SHORT: return "fewer cookies than requested";
    }
    return "unknown";
}

/* The phrase explaining why one applicable kind keeps the source out. */
static void
kind_phrase(const struct score_current *c, char *buf, size_t len)
{
    if (c->state == SCORE_STATE_NONE) {
        snprintf(buf, len, "no recent measurement");
    } else if (c->has_reason && c->reason == PROBE_OK) {
        snprintf(buf, len, "score %.1f, rising (needs above %.0f)", c->score,
                 SCORE_IN_POOL);
    } else if (c->has_reason) {
        snprintf(buf, len, "%s",
                 score_reason_text(c->reason, c->ke_status, c->ntp_status));
    } else {
        snprintf(buf, len, "score %.1f (needs above %.0f)", c->score, SCORE_IN_POOL);
    }
}

bool
score_in_pool(const struct score_current cur[SCORE_KINDS], char *why, size_t len)
{
    char phrase[SCORE_KINDS][SCORE_REASON_MAX];
    bool out[SCORE_KINDS] = {false}, done[SCORE_KINDS] = {false};
    int applicable = 0, n_out = 0;
    size_t used = 0;

    if (len > 0)
        why[0] = '\0';
    for (int k = 0; k < SCORE_KINDS; k++) {
        if (cur[k].state == SCORE_STATE_NA)
            continue;
        applicable++;
        if (cur[k].state == SCORE_STATE_SCORED && cur[k].score > SCORE_IN_POOL)
            continue;
        out[k] = true;
        n_out++;
        kind_phrase(&cur[k], phrase[k], sizeof(phrase[k]));
    }
    if (applicable == 0) {
        snprintf(why, len, "no address in any family");
        return false;
    }
    if (n_out == 0)
        return true;
    /* Group the kinds that share a phrase: "pool-v4, pool-v6: token ...". */
    for (int k = 0; k < SCORE_KINDS; k++) {
        if (!out[k] || done[k])
            continue;
        for (int j = k; j < SCORE_KINDS; j++) {
            if (!out[j] || done[j] || strcmp(phrase[j], phrase[k]) != 0)
                continue;
            done[j] = true;
            if (used < len)
                used += (size_t)snprintf(why + used, len - used, "%s%s",
                                         j == k ? (used ? "; " : "") : ", ",
                                         score_kind_str((enum score_kind)j));
        }
        if (used < len)
            used += (size_t)snprintf(why + used, len - used, ": %s", phrase[k]);
    }
    return false;
}
