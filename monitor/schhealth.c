/* schhealth.c - the scheduler's network self-check (SCORING.md rule 1): a
 * ring of the last HEALTH_RING failing sources per failure class (name
 * resolution, connection), O(1) per event.  When every one of at least
 * SCH_HEALTH_SOURCES distinct sources failed within SCH_HEALTH_WINDOW and
 * nothing worked since, the failure is the monitor's own. */
#include "monitor/sched_int.h"

#include <stdio.h>
#include <string.h>

#include <event2/util.h>

#include "monitor/result.h"

void
schhealth_init(struct hring *h)
{
    for (int i = 0; i < HEALTH_RING; i++)
        h->t[i] = NEVER;
    h->ok = NEVER;
}

void
schhealth_fail(struct hring *h, int64_t id, double now)
{
    int oldest = 0;

    for (int i = 0; i < HEALTH_RING; i++) {
        if (h->t[i] > NEVER && h->id[i] == id) {
            h->t[i] = now;
            return;
        }
        if (h->t[i] < h->t[oldest])
            oldest = i;
    }
    h->id[oldest] = id;
    h->t[oldest] = now;
}

int
schhealth_failing(const struct hring *h, double now)
{
    int n = 0;

    if (now - h->ok <= SCH_HEALTH_WINDOW)
        return 0;
    for (int i = 0; i < HEALTH_RING; i++)
        n += now - h->t[i] <= SCH_HEALTH_WINDOW;
    return n;
}

static bool
resolver_down(const struct sch *s, double now)
{
    return schhealth_failing(&s->dns_h, now) >= SCH_HEALTH_SOURCES;
}

static bool
network_down(const struct sch *s, double now)
{
    return schhealth_failing(&s->net_h, now) >= SCH_HEALTH_SOURCES;
}

/* A failed resolution the self-check counts: the resolver failed or timed
   out; "no such name" and "no data" are answers, which prove nothing. */
bool
schhealth_dns_counts(int eai)
{
    return eai != 0 && eai != EVUTIL_EAI_NONAME && eai != EVUTIL_EAI_NODATA &&
           eai != EVUTIL_EAI_CANCEL;
}

/* A key exchange that never reached the server: timeout or no route. */
bool
schhealth_ke_unreached(const struct ke_result *k)
{
    return (k->status == KE_CONNECT_TIMEOUT || k->status == KE_LOCAL_ERROR) &&
           k->connect_time < 0;
}

static void
blame(char *detail, const char *why)
{
    char orig[RESULT_DETAIL_MAX];

    snprintf(orig, sizeof(orig), "%s", detail);
    snprintf(detail, RESULT_DETAIL_MAX, "%s%.*s", why,
             (int)(RESULT_DETAIL_MAX - 1 - strlen(why)), orig);
}

/* SCORING.md rule 1: failures the self-check blames on the monitor become
   local_error, keeping what was seen. */
void
schhealth_rewrite(const struct sch *s, struct probe_result *r, bool from_resolver, double now)
{
    static const char rdown[] = "monitor resolver down: ", ndown[] = "monitor network down: ";

    if (resolver_down(s, now)) {
        if (from_resolver && r->ke.status == KE_DNS_FAILED) {
            r->ke.status = KE_LOCAL_ERROR;
            blame(r->ke.detail, rdown);
        }
        for (int i = 0; i < r->n_ntp && i < RESULT_NTP_EXCHANGES; i++) {
            if (r->ntp[i].status == NTP_DNS_FAILED) {
                r->ntp[i].status = NTP_LOCAL_ERROR;
                blame(r->ntp[i].detail, rdown);
            }
        }
    }
    if (r->ke.status == KE_CONNECT_TIMEOUT && network_down(s, now)) {
        r->ke.status = KE_LOCAL_ERROR;
        blame(r->ke.detail, ndown);
    }
}

void
schhealth_stats(const struct sch *s, double now, struct sch_stats *out)
{
    int n;

    if ((n = schhealth_failing(&s->dns_h, now)) >= SCH_HEALTH_SOURCES) {
        out->health = SCH_HEALTH_RESOLVER_DOWN;
        snprintf(out->health_detail, sizeof(out->health_detail),
                 "name resolution of %d sources failed within %d s, none succeeded", n,
                 SCH_HEALTH_WINDOW);
    } else if ((n = schhealth_failing(&s->net_h, now)) >= SCH_HEALTH_SOURCES) {
        out->health = SCH_HEALTH_NETWORK_DOWN;
        snprintf(out->health_detail, sizeof(out->health_detail),
                 "key exchanges with %d sources found no route or timed out within %d s, "
                 "none connected", n, SCH_HEALTH_WINDOW);
    }
}
