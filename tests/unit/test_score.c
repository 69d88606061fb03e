/* test_score.c - SCORING.md as a table: every rule of the step (first match
 * wins), the check values of offset_step, the caps, convergence, the median
 * across fresh monitors and the in-pool verdict with its human reason. */
#include "scorer/score.h"

#include <math.h>

#include "tests/unit/check.h"

/* A perfect probe: KE ok, two exchanges of 5 ms offset, stratum 2, 2 of 2
   cookies each. */
static void
good(struct probe_result *r)
{
    result_probe_init(r);
    r->kind = PROBE_KIND_NTS;
    r->family = 4;
    r->ke.status = KE_OK;
    r->ke.cookies = 8;
    r->n_ntp = 2;
    for (int i = 0; i < 2; i++) {
        struct ntp_result *x = &r->ntp[i];
        x->status = NTP_OK;
        x->offset = 0.005;
        x->delay = 0.010;
        x->stratum = 2;
        x->leap = 0;
        x->cookies_requested = 2;
        x->cookies_received = 2;
    }
}

/* One row of the rule table: a mutation of the perfect probe and the
   expected outcome. */
struct rule_case {
    const char *name;
    void (*mutate)(struct probe_result *r);
    enum probe_reason reason;
    bool discard;
    double step, cap;
};

static void
m_none(struct probe_result *r)
{
    (void)r;
}
static void
m_local(struct probe_result *r)
{
    r->ke.status = KE_LOCAL_ERROR;
    r->n_ntp = 0;
}
static void
m_ntp_local(struct probe_result *r)
{
    /* Our own NTP failure outranks even a DENY in the other exchange. */
    r->ntp[0].status = NTP_KOD_DENY;
    r->ntp[1].status = NTP_LOCAL_ERROR;
}
static void
m_nosuch(struct probe_result *r)
{
    r->ke.status = KE_NO_SUCH_SERVER;
    r->n_ntp = 0;
}
static void
m_notatt(struct probe_result *r)
{
    r->ke.status = KE_NOT_ATTEMPTED;
    r->n_ntp = 0;
}
static void
m_deny(struct probe_result *r)
{
    r->ntp[1].status = NTP_KOD_DENY;
}
static void
m_rstr(struct probe_result *r)
{
    r->ntp[0].status = NTP_KOD_RSTR;
}
static void
m_deny_rate(struct probe_result *r)
{
    r->ntp[0].status = NTP_KOD_RATE;
    r->ntp[1].status = NTP_KOD_DENY;
}
static void
m_rate(struct probe_result *r)
{
    r->ntp[0].status = NTP_KOD_RATE;
}
static void
m_rate_timeout(struct probe_result *r)
{
    r->ntp[0].status = NTP_TIMEOUT;
    r->ntp[1].status = NTP_KOD_RATE;
}
static void
m_dns(struct probe_result *r)
{
    r->ke.status = KE_DNS_FAILED;
    r->n_ntp = 0;
}
static void
m_refused(struct probe_result *r)
{
    r->ke.status = KE_CONNECT_REFUSED;
    r->n_ntp = 0;
}
static void
m_cert(struct probe_result *r)
{
    r->ke.status = KE_CERT_EXPIRED;
    r->n_ntp = 0;
}
static void
m_token(struct probe_result *r)
{
    r->ke.status = KE_TOKEN_REJECTED;
    r->n_ntp = 0;
}
static void
m_nocookies(struct probe_result *r)
{
    r->ke.status = KE_NO_COOKIES;
    r->n_ntp = 0;
}
static void
m_ketimeout(struct probe_result *r)
{
    r->ke.status = KE_TIMEOUT;
    r->n_ntp = 0;
}
static void
m_ntptimeout(struct probe_result *r)
{
    r->ntp[1].status = NTP_TIMEOUT;
}
static void
m_timeout_nak(struct probe_result *r)
{
    r->ntp[0].status = NTP_NTS_NAK;
    r->ntp[1].status = NTP_TIMEOUT;
}
static void
m_nak(struct probe_result *r)
{
    r->ntp[0].status = NTP_NTS_NAK;
}
static void
m_send(struct probe_result *r)
{
    r->ntp[1].status = NTP_SEND_FAILED;
}
static void
m_ntpdns(struct probe_result *r)
{
    r->ntp[0].status = NTP_DNS_FAILED;
}
static void
m_one(struct probe_result *r)
{
    r->n_ntp = 1;
}
static void
m_stratum0(struct probe_result *r)
{
    r->ntp[1].stratum = 0;
}
static void
m_leap3(struct probe_result *r)
{
    r->ntp[0].leap = 3;
}
static void
m_unsync_over3(struct probe_result *r)
{
    r->ntp[0].leap = 3;
    r->ntp[1].offset = 5;
}
static void
m_over3(struct probe_result *r)
{
    r->ntp[0].offset = 3.5;
}
static void
m_under3neg(struct probe_result *r)
{
    r->ntp[0].offset = -3.5;
}
static void
m_nan(struct probe_result *r)
{
    r->ntp[0].offset = NAN;
}
static void
m_over3_strat(struct probe_result *r)
{
    r->ntp[0].offset = -4;
    r->ntp[1].stratum = 9;
}
static void
m_strat8(struct probe_result *r)
{
    r->ntp[1].stratum = 8;
}
static void
m_strat7(struct probe_result *r)
{
    r->ntp[1].stratum = 7;
}
static void
m_off_10_100(struct probe_result *r)
{
    r->ntp[0].offset = 0.010;
    r->ntp[1].offset = 0.100;
}
static void
m_off_neg(struct probe_result *r)
{
    /* The absolute value counts: a server that is behind is no better. */
    r->ntp[0].offset = -0.0625;
    r->ntp[1].offset = -0.0625;
}
static void
m_off_big(struct probe_result *r)
{
    r->ntp[0].offset = 0.751;
    r->ntp[1].offset = -0.750;
}
static void
m_short(struct probe_result *r)
{
    r->ntp[1].cookies_received = 1;
}
static void
m_short_off(struct probe_result *r)
{
    r->ntp[0].cookies_received = 0;
    r->ntp[0].offset = 0.100;
    r->ntp[1].offset = 0.100;
}
static void
m_exact3(struct probe_result *r)
{
    r->ntp[0].offset = 3.0;
}

static const struct rule_case rule_cases[] = {
    {"perfect", m_none, PROBE_OK, false, 1.0, INFINITY},
    {"rule 1 local error", m_local, PROBE_MONITOR_FAULT, true, NAN, INFINITY},
    {"rule 1 ntp local error", m_ntp_local, PROBE_MONITOR_FAULT, true, NAN, INFINITY},
    {"rule 1 pool KE no such server", m_nosuch, PROBE_MONITOR_FAULT, true, NAN, INFINITY},
    {"rule 1 KE not attempted", m_notatt, PROBE_MONITOR_FAULT, true, NAN, INFINITY},
    {"rule 2 DENY", m_deny, PROBE_KOD_DENY, false, -10, -50},
    {"rule 2 RSTR", m_rstr, PROBE_KOD_DENY, false, -10, -50},
    {"rule 2 before 3", m_deny_rate, PROBE_KOD_DENY, false, -10, -50},
    {"rule 3 RATE", m_rate, PROBE_KOD_RATE, false, -3.5, INFINITY},
    {"rule 3 before 4", m_rate_timeout, PROBE_KOD_RATE, false, -3.5, INFINITY},
    {"rule 4 source DNS", m_dns, PROBE_KE_FAILED, false, -5, INFINITY},
    {"rule 4 connect", m_refused, PROBE_KE_FAILED, false, -5, INFINITY},
    {"rule 4 certificate", m_cert, PROBE_KE_FAILED, false, -5, INFINITY},
    {"rule 4 token", m_token, PROBE_KE_FAILED, false, -5, INFINITY},
    {"rule 4 no cookies", m_nocookies, PROBE_KE_FAILED, false, -5, INFINITY},
    {"rule 4 KE timeout", m_ketimeout, PROBE_KE_FAILED, false, -5, INFINITY},
    {"rule 4 NTP timeout", m_ntptimeout, PROBE_NTP_TIMEOUT, false, -5, INFINITY},
    {"rule 4 before 5", m_timeout_nak, PROBE_NTP_TIMEOUT, false, -5, INFINITY},
    {"rule 5 NTS NAK", m_nak, PROBE_NTP_FAILED, false, -4, INFINITY},
    {"rule 5 send error", m_send, PROBE_NTP_FAILED, false, -4, INFINITY},
    {"rule 5 NTP DNS", m_ntpdns, PROBE_NTP_FAILED, false, -4, INFINITY},
    {"rule 5 one exchange only", m_one, PROBE_NTP_FAILED, false, -4, INFINITY},
    {"rule 6 stratum 0", m_stratum0, PROBE_UNSYNCHRONIZED, false, -4, INFINITY},
    {"rule 6 leap 3", m_leap3, PROBE_UNSYNCHRONIZED, false, -4, INFINITY},
    {"rule 6 before 7", m_unsync_over3, PROBE_UNSYNCHRONIZED, false, -4, INFINITY},
    {"rule 7 +3.5 s", m_over3, PROBE_OFFSET_OVER_3S, false, -4, -20},
    {"rule 7 -3.5 s", m_under3neg, PROBE_OFFSET_OVER_3S, false, -4, -20},
    {"rule 7 NAN offset", m_nan, PROBE_OFFSET_OVER_3S, false, -4, -20},
    {"rule 7 before 8", m_over3_strat, PROBE_OFFSET_OVER_3S, false, -4, -20},
    {"rule 8 stratum 8", m_strat8, PROBE_STRATUM_TOO_HIGH, false, -4, INFINITY},
    {"rule 9 stratum 7", m_strat7, PROBE_OK, false, 1.0, INFINITY},
    {"rule 9 exactly 3 s", m_exact3, PROBE_OFFSET, false, (-2.0 + 1.0) / 2, INFINITY},
    {"rule 9 10 ms + 100 ms", m_off_10_100, PROBE_OFFSET, false, 0.75, INFINITY},
    {"rule 9 absolute offset", m_off_neg, PROBE_OFFSET, false, 0.75, INFINITY},
    {"rule 9 751 ms / -750 ms", m_off_big, PROBE_OFFSET, false, -1.5, INFINITY},
    {"rule 9 cookie shortfall", m_short, PROBE_COOKIES_SHORT, false, 0.0, INFINITY},
    {"rule 9 shortfall + offset", m_short_off, PROBE_COOKIES_SHORT, false, -0.5,
     INFINITY},
};

static void
test_rules(void)
{
    for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
        const struct rule_case *c = &rule_cases[i];
        struct probe_result r;
        struct score_step s;

        good(&r);
        c->mutate(&r);
        score_step_of(&r, &s);
        if (s.reason != c->reason || s.discard != c->discard)
            fprintf(stderr, "case \"%s\": reason %s\n", c->name,
                    result_probe_reason_str(s.reason));
        CHECK_STR(result_probe_reason_str(s.reason), result_probe_reason_str(c->reason));
        CHECK_INT(s.discard, c->discard);
        if (c->discard) {
            CHECK(isnan(s.step));
        } else {
            CHECK_NEAR(s.step, c->step, 0); /* exact: see test_offset_step */
        }
        CHECK(s.cap == c->cap);
        if (!c->discard) /* what a replay from stored samples uses */
            CHECK(score_cap_of(s.reason) == c->cap);
    }
}

static void
test_clock(void)
{
    struct probe_result r;
    struct score_step s;

    good(&r);
    score_step_of_clock(&r, 0.009, &s);
    CHECK_INT(s.reason, PROBE_OK);
    score_step_of_clock(&r, -0.0101, &s);
    CHECK(s.discard);
    CHECK_INT(s.reason, PROBE_MONITOR_FAULT);
    score_step_of_clock(&r, NAN, &s);
    CHECK(s.discard);
}

static void
test_offset_step(void)
{
    static const struct {
        double o, step;
    } t[] = {
        {0, 1},          {0.025, 1},   {-0.025, 1},    {0.0625, 0.75},
        {-0.0625, 0.75}, {0.100, 0.5}, {0.425, -0.25}, {0.750, -1},
        {-0.750, -1},    {0.751, -2},  {-0.751, -2},   {100, -2},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        CHECK_NEAR(score_offset_step(t[i].o), t[i].step, 0);
    CHECK_NEAR(score_offset_step(NAN), -2, 0);
    /* The check values of SCORING.md, exactly (in seconds, 100 ms came out
       as 0.49999999999999989). */
    CHECK(score_offset_step(0.0625) == 0.75);
    CHECK(score_offset_step(0.100) == 0.5);
    CHECK(score_offset_step(0.750) == -1);
    CHECK(score_offset_step(0.751) == -2);
    CHECK((score_offset_step(0.010) + score_offset_step(0.100)) / 2 == 0.75);
    /* Continuity at the band edges. */
    CHECK_NEAR(score_offset_step(0.025 + 1e-9), 1, 1e-6);
    CHECK_NEAR(score_offset_step(0.100 + 1e-9), 0.5, 1e-6);
    CHECK_NEAR(score_offset_step(0.750 - 1e-9), -1, 1e-6);
}

static void
test_update(void)
{
    double s = 0;
    int n = 0;

    CHECK_NEAR(score_update(0, 1, INFINITY), 1, 0);
    CHECK_NEAR(score_update(10, 1, INFINITY), 10.5, 1e-12);
    /* Caps: DENY never leaves the score above -50, over 3 s above -20. */
    CHECK_NEAR(score_update(20, -10, -50), -50, 0);
    CHECK_NEAR(score_update(-100, -10, -50), -105, 1e-12);
    CHECK_NEAR(score_update(20, -4, -20), -20, 0);
    CHECK_NEAR(score_update(-30, -4, -20), -32.5, 1e-12);
    /* From 0, 14 perfect probes take the score above 10 (13 do not). */
    for (n = 0; s <= SCORE_IN_POOL; n++)
        s = score_update(s, 1, INFINITY);
    CHECK_INT(n, 14);
    /* Convergence: always +1 -> 20, always -5 -> -100, always -4 -> -80. */
    s = 0;
    for (int i = 0; i < 2000; i++)
        s = score_update(s, 1, INFINITY);
    CHECK_NEAR(s, 20, 1e-9);
    CHECK(s <= 20);
    s = 0;
    for (int i = 0; i < 2000; i++)
        s = score_update(s, -5, INFINITY);
    CHECK_NEAR(s, -100, 1e-9);
    s = 0;
    for (int i = 0; i < 2000; i++)
        s = score_update(s, -4, INFINITY);
    CHECK_NEAR(s, -80, 1e-9);
}

static void
test_median(void)
{
    double one[] = {7}, two[] = {9, 3}, three[] = {5, -1, 12}, four[] = {4, 20, -3, 11};
    double dup[] = {2, 2, 1, 2}, withnan[] = {NAN, 8, 1};

    CHECK_NEAR(score_median(one, 1), 7, 0);
    CHECK_NEAR(score_median(two, 2), 3, 0); /* lower median */
    CHECK_NEAR(score_median(three, 3), 5, 0);
    CHECK_NEAR(score_median(four, 4), 4, 0);
    CHECK_NEAR(score_median(dup, 4), 2, 0);
    CHECK_NEAR(score_median(withnan, 3), 1, 0);
    CHECK(isnan(score_median(one, 0)));
}

static struct score_monitor
mon(int64_t time, double score)
{
    struct score_monitor m;

    memset(&m, 0, sizeof(m));
    m.time = time;
    m.sample_time = time;
    m.score = score;
    return m;
}

static void
test_current(void)
{
    const int64_t now = 1000000;
    const int64_t stale = now - 3 * SCORE_INTERVAL_DEFAULT - 1;
    struct score_monitor m[5];
    struct score_current c;

    CHECK(score_is_fresh(now - 3 * 241, now, 0));
    CHECK(!score_is_fresh(now - 3 * 241 - 1, now, 241));
    CHECK(score_is_fresh(now + 5, now, 241));
    /* Within the skew a report from the future is fresh, beyond it never:
       a monitor whose clock runs ahead must not stay fresh for years. */
    CHECK(score_is_fresh(now + SCORE_FUTURE_SKEW, now, 241));
    CHECK(!score_is_fresh(now + SCORE_FUTURE_SKEW + 1, now, 241));
    CHECK(!score_is_fresh(now + 3 * 365 * 86400LL, now, 241));
    CHECK(score_is_fresh(now - 50, now, 20));
    CHECK(!score_is_fresh(now - 61, now, 20));

    score_current(m, 0, now, &c);
    CHECK_INT(c.state, SCORE_STATE_NONE);
    CHECK(isnan(c.score));

    m[0] = mon(now - 10, 15);
    score_current(m, 1, now, &c);
    CHECK_INT(c.state, SCORE_STATE_SCORED);
    CHECK_NEAR(c.score, 15, 0);
    CHECK_INT(c.n_fresh, 1);

    m[1] = mon(now - 20, 5);
    score_current(m, 2, now, &c);
    CHECK_NEAR(c.score, 5, 0); /* lower median of two */

    m[2] = mon(now - 30, 18);
    score_current(m, 3, now, &c);
    CHECK_NEAR(c.score, 15, 0);

    m[3] = mon(now - 40, 19);
    score_current(m, 4, now, &c);
    CHECK_NEAR(c.score, 15, 0); /* 5 15 18 19 -> 15 */
    CHECK_INT(c.n_fresh, 4);

    /* A stale monitor does not count: a maximum would let it keep a broken
       source in; with it stale, the median is of the other four. */
    m[4] = mon(stale, 20);
    score_current(m, 5, now, &c);
    CHECK_NEAR(c.score, 15, 0);
    CHECK_INT(c.n_fresh, 4);
    m[0].time = m[1].time = m[2].time = m[3].time = stale;
    score_current(m, 5, now, &c);
    CHECK_INT(c.state, SCORE_STATE_NONE);
    m[4].time = now;
    score_current(m, 5, now, &c);
    CHECK_NEAR(c.score, 20, 0);

    /* Not applicable: every fresh monitor says so. */
    m[0] = mon(now, NAN);
    m[0].not_applicable = true;
    score_current(m, 1, now, &c);
    CHECK_INT(c.state, SCORE_STATE_NA);
    m[1] = mon(now, 12);
    score_current(m, 2, now, &c);
    CHECK_INT(c.state, SCORE_STATE_SCORED);
    CHECK_NEAR(c.score, 12, 0);

    /* The reason comes from the latest failing sample among the monitors
       holding the median down. */
    m[0] = mon(now - 100, 3);
    m[0].reason = PROBE_KE_FAILED;
    m[0].ke_status = KE_CERT_EXPIRED;
    m[1] = mon(now - 50, 4);
    m[1].reason = PROBE_KE_FAILED;
    m[1].ke_status = KE_TOKEN_REJECTED;
    score_current(m, 2, now, &c);
    CHECK(c.has_reason);
    CHECK_INT(c.ke_status, KE_CERT_EXPIRED); /* the lower median is m[0]'s */
    m[0].score = 5;
    score_current(m, 2, now, &c);
    CHECK_INT(c.ke_status, KE_TOKEN_REJECTED);

    /* Two monitors see the token rejected, a healthy one reports after them:
       the median is theirs, and so is the reason (the healthy monitor's
       "rising" would describe a monitor that does not count). */
    m[0] = mon(now - 100, -20);
    m[0].reason = PROBE_KE_FAILED;
    m[0].ke_status = KE_TOKEN_REJECTED;
    m[1] = m[0];
    m[1].time = m[1].sample_time = now - 90;
    m[2] = mon(now - 10, 15);
    score_current(m, 3, now, &c);
    CHECK_NEAR(c.score, -20, 0);
    CHECK_INT(c.reason, PROBE_KE_FAILED);
    CHECK_INT(c.ke_status, KE_TOKEN_REJECTED);
    /* Rising: every monitor at or below the median is ok now. */
    m[0].reason = m[1].reason = PROBE_OK;
    m[0].ke_status = m[1].ke_status = KE_OK;
    score_current(m, 3, now, &c);
    CHECK_INT(c.reason, PROBE_OK);
    /* One of them ok, the other still failing, earlier: the failure wins. */
    m[1].reason = PROBE_NTP_TIMEOUT;
    m[1].time = m[1].sample_time = now - 200;
    score_current(m, 3, now, &c);
    CHECK_INT(c.reason, PROBE_NTP_TIMEOUT);
    /* A failing monitor above the median does not explain it. */
    m[0] = mon(now - 100, 2);
    m[1] = mon(now - 90, 3);
    m[2] = mon(now - 10, 15);
    m[2].reason = PROBE_KE_FAILED;
    m[2].ke_status = KE_CERT_EXPIRED;
    score_current(m, 3, now, &c);
    CHECK_NEAR(c.score, 3, 0);
    CHECK_INT(c.reason, PROBE_OK);
    {
        struct score_current k[SCORE_KINDS];
        char why[SCORE_REASON_MAX];

        memset(k, 0, sizeof(k));
        for (int i = 0; i < SCORE_KINDS; i++)
            k[i].state = SCORE_STATE_NA;
        m[0] = mon(now - 100, -20);
        m[0].reason = PROBE_KE_FAILED;
        m[0].ke_status = KE_TOKEN_REJECTED;
        m[1] = m[0];
        m[2] = mon(now - 10, 15);
        score_current(m, 3, now, &k[SCORE_KIND_POOL_V4]);
        CHECK(!score_in_pool(k, why, sizeof(why)));
        CHECK_STR(why, "pool-v4: token not accepted by the server");
    }

    /* Freshness per monitor: each by the interval it reported with (a
       source at or below -90 may be probed every 15 minutes). */
    m[0] = mon(now - 2000, -95);
    m[0].interval = 900;
    m[1] = mon(now - 2000, 12);
    m[1].interval = 241;
    score_current(m, 2, now, &c);
    CHECK_INT(c.n_fresh, 1);
    CHECK_NEAR(c.score, -95, 0);
    m[0].time = now - 2701;
    score_current(m, 2, now, &c);
    CHECK_INT(c.state, SCORE_STATE_NONE);
    m[1] = mon(now - 723, 12); /* 0: the default interval, 3 x 241 = 723 */
    score_current(m, 2, now, &c);
    CHECK_INT(c.n_fresh, 1);
    CHECK_NEAR(c.score, 12, 0);
    /* A monitor dated far ahead is not fresh: it cannot hold the median. */
    m[0] = mon(now + 86400, 19);
    m[1] = mon(now - 10, 2);
    score_current(m, 2, now, &c);
    CHECK_INT(c.n_fresh, 1);
    CHECK_NEAR(c.score, 2, 0);
}

static void
scored(struct score_current *c, double score, enum probe_reason r, enum ke_status ke,
       enum ntp_status ntp)
{
    memset(c, 0, sizeof(*c));
    c->state = SCORE_STATE_SCORED;
    c->score = score;
    c->n_fresh = 1;
    c->has_reason = true;
    c->reason = r;
    c->ke_status = ke;
    c->ntp_status = ntp;
}

static void
test_verdict(void)
{
    struct score_current c[SCORE_KINDS];
    char why[SCORE_REASON_MAX];

    for (int k = 0; k < SCORE_KINDS; k++)
        scored(&c[k], 19.5, PROBE_OK, KE_OK, NTP_OK);
    CHECK(score_in_pool(c, why, sizeof(why)));
    CHECK_STR(why, "");

    /* Exactly 10 is not above 10. */
    c[SCORE_KIND_NTS_V6].score = 10.0;
    CHECK(!score_in_pool(c, why, sizeof(why)));
    CHECK_STR(why, "nts-v6: score 10.0, rising (needs above 10)");

    /* "not applicable" kinds are excluded. */
    c[SCORE_KIND_NTS_V6].state = SCORE_STATE_NA;
    c[SCORE_KIND_POOL_V6].state = SCORE_STATE_NA;
    CHECK(score_in_pool(c, why, sizeof(why)));

    scored(&c[SCORE_KIND_POOL_V4], -12, PROBE_KE_FAILED, KE_TOKEN_REJECTED, NTP_OK);
    CHECK(!score_in_pool(c, why, sizeof(why)));
    CHECK_STR(why, "pool-v4: token not accepted by the server");

    scored(&c[SCORE_KIND_POOL_V6], -12, PROBE_KE_FAILED, KE_TOKEN_REJECTED, NTP_OK);
    scored(&c[SCORE_KIND_NTS_V4], 2, PROBE_NTP_TIMEOUT, KE_OK, NTP_TIMEOUT);
    CHECK(!score_in_pool(c, why, sizeof(why)));
    CHECK_STR(why, "nts-v4: NTP port unreachable; "
                   "pool-v4, pool-v6: token not accepted by the server");

    /* A kind without a fresh monitor has no current score: out. */
    for (int k = 0; k < SCORE_KINDS; k++)
        scored(&c[k], 19.5, PROBE_OK, KE_OK, NTP_OK);
    memset(&c[SCORE_KIND_NTS_V4], 0, sizeof(c[0]));
    CHECK(!score_in_pool(c, why, sizeof(why)));
    CHECK_STR(why, "nts-v4: no recent measurement");

    /* Nothing applicable at all. */
    for (int k = 0; k < SCORE_KINDS; k++)
        c[k].state = SCORE_STATE_NA;
    CHECK(!score_in_pool(c, why, sizeof(why)));
    CHECK_STR(why, "no address in any family");

    /* A small buffer is truncated, not overrun. */
    for (int k = 0; k < SCORE_KINDS; k++)
        scored(&c[k], 1, PROBE_KE_FAILED, (enum ke_status)(KE_DNS_FAILED + k), NTP_OK);
    CHECK(!score_in_pool(c, why, 12));
    CHECK_INT(strlen(why), 11);
}

static void
test_texts(void)
{
    CHECK_STR(score_reason_text(PROBE_KE_FAILED, KE_TOKEN_REJECTED, NTP_OK),
              "token not accepted by the server");
    CHECK_STR(score_reason_text(PROBE_KE_FAILED, KE_CERT_EXPIRED, NTP_OK),
              "certificate expired");
    CHECK_STR(score_reason_text(PROBE_NTP_TIMEOUT, KE_OK, NTP_TIMEOUT),
              "NTP port unreachable");
    CHECK_STR(score_reason_text(PROBE_KE_FAILED, KE_DNS_FAILED, NTP_OK),
              "name does not resolve");
    CHECK_STR(score_reason_text(PROBE_NTP_FAILED, KE_OK, NTP_NTS_NAK),
              "NTP server rejected the cookie (NTS NAK)");
    /* Every code has a text of its own. */
    for (int i = KE_OK; i <= KE_NOT_ATTEMPTED; i++)
        CHECK(strcmp(score_reason_text(PROBE_KE_FAILED, (enum ke_status)i, NTP_OK),
                     "unknown") != 0);
    for (int i = PROBE_OK; i <= PROBE_COOKIES_SHORT; i++)
        CHECK(strcmp(score_reason_text((enum probe_reason)i, KE_OK, NTP_OK), "unknown") !=
              0);
}

static void
test_kinds(void)
{
    enum score_kind k;

    CHECK_INT(score_kind_of(PROBE_KIND_NTS, 4, &k), 0);
    CHECK_INT(k, SCORE_KIND_NTS_V4);
    CHECK_INT(score_kind_of(PROBE_KIND_POOL, 6, &k), 0);
    CHECK_INT(k, SCORE_KIND_POOL_V6);
    CHECK_INT(score_kind_of(PROBE_KIND_POOL, 5, &k), -1);
    for (int i = 0; i < SCORE_KINDS; i++) {
        CHECK_INT(score_kind_parse(score_kind_str((enum score_kind)i), &k), 0);
        CHECK_INT(k, i);
    }
    CHECK_INT(score_kind_parse("nts", &k), -1);
    CHECK_STR(score_kind_str(SCORE_KIND_POOL_V4), "pool-v4");
}

int
main(void)
{
    test_rules();
    test_clock();
    test_offset_step();
    test_update();
    test_median();
    test_current();
    test_verdict();
    test_texts();
    test_kinds();
    return check_finish("test_score");
}
