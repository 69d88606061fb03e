/* compat.c - the score history in the NTP pool's public shapes
 * (PRODUCT.md): /scores/{host}/json and /scores/{host}/log (CSV), without
 * authentication, like the NTP pool's.  {host} is the host name (the source
 * on port 4460), host:port, or the source's uuid.
 *
 * Differences a client may meet: a source has four kinds where an NTP pool
 * server is one address, so each history row and monitor entry carries an
 * extra "kind" (the CSV keeps the NTP pool's columns exactly; `kind=` selects
 * one kind); offsets are in seconds and rtt in milliseconds, as the NTP
 * pool's; rows are newest first.
 *
 * The history rows come through web/histcache.c: a source asked for again
 * costs an index range instead of a row read per sample, and is never
 * stale. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "util/util.h"
#include "web/histcache.h"
#include "web/jsonw.h"
#include "web/web_int.h"

#define COMPAT_PORT 4460

/* The source a {host} names, with its status and score rows (one query):
   1 found (active; free with db_source_scores_free), 0 not, -1 error. */
static int
find_source(struct web *w, const char *raw, int64_t now, struct db_source_scores *out)
{
    char *dec = NULL, host[DB_HOST_MAX], *colon;
    size_t len = 0;
    long port = COMPAT_PORT;
    int rc = 0;

    dec = evhttp_uridecode(raw, 0, &len);
    if (!dec)
        return -1;
    if (len != strlen(dec) || len == 0 || len >= DB_HOST_MAX + 8)
        goto out;
    if (len == DB_UUID_LEN && strchr(dec, '-')) {
        rc = db_source_scores_by_uuid(w->p.db, dec, now, out);
        goto out;
    }
    colon = strrchr(dec, ':');
    if (colon) {
        *colon = '\0';
        if (util_parse_long(colon + 1, 1, 65535, &port) != 0)
            goto out;
    }
    if (web_host_normalize(dec, host, sizeof(host)) != 0)
        goto out;
    rc = db_source_scores_find(w->p.db, host, (int)port, now, out);
out:
    free(dec);
    return rc;
}

static void
csv_field(struct evbuffer *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        evbuffer_add(b, s, strlen(s));
        return;
    }
    evbuffer_add(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            evbuffer_add(b, "\"", 1);
        evbuffer_add(b, s, 1);
    }
    evbuffer_add(b, "\"", 1);
}

/* v with `decimals` decimals (a negative count: %g), nothing when not finite. */
static void
csv_num(struct evbuffer *b, double v, int decimals)
{
    if (!isfinite(v))
        return;
    if (decimals < 0)
        evbuffer_add_printf(b, "%g", v);
    else
        evbuffer_add_printf(b, "%.*f", decimals, v);
}

/* The JSON reply, written straight into the body (web/jsonw.h): a page of
   history is the hot path of this route.  Keys and their order are those
   jansson wrote before (PRODUCT.md); reals are rounded to a stated
   precision: offsets in s to 9 decimals (1 ns), rtt in ms to 6 (1 ns),
   steps and scores to 6. */
#define OFFSET_DECIMALS 9
#define RTT_DECIMALS    6
#define SCORE_DECIMALS  6

static void
render_json(struct web_req *r, const struct db_source_scores *sc,
            const struct db_sample_row *rows, size_t n)
{
    const struct db_source_status *st = &sc->st;
    const struct db_source *src = &st->src;
    struct evbuffer *b = evbuffer_new();
    struct jsonw w = {.b = b};

    if (!b) {
        web_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    jsonw_raw(&w, "{\"history\":[");
    for (size_t i = 0; i < n; i++) {
        const struct db_sample_row *s = &rows[i];

        jsonw_raw(&w, i ? ",{\"ts\":" : "{\"ts\":");
        jsonw_int(&w, s->time);
        jsonw_raw(&w, ",\"offset\":");
        jsonw_fixed(&w, s->offset, OFFSET_DECIMALS);
        jsonw_raw(&w, ",\"step\":");
        jsonw_fixed(&w, s->step, SCORE_DECIMALS);
        jsonw_raw(&w, ",\"score\":");
        jsonw_fixed(&w, s->score, SCORE_DECIMALS);
        jsonw_raw(&w, ",\"monitor_id\":");
        jsonw_int(&w, s->monitor);
        jsonw_raw(&w, ",\"rtt\":");
        jsonw_fixed(&w, isfinite(s->delay) ? s->delay * 1e3 : NAN, RTT_DECIMALS);
        /* A kind's name is plain ASCII (score.c): no escaping to do. */
        jsonw_raw(&w, ",\"kind\":\"");
        jsonw_raw(&w, score_kind_str(s->kind));
        jsonw_raw(&w, "\"}");
    }
    jsonw_raw(&w, "],\"monitors\":[");
    for (size_t i = 0; i < sc->n; i++) {
        const struct db_monitor_score *ms = &sc->ms[i];

        jsonw_raw(&w, i ? ",{\"id\":" : "{\"id\":");
        jsonw_int(&w, ms->monitor);
        jsonw_raw(&w, ",\"name\":");
        jsonw_str(&w, ms->monitor_name);
        jsonw_raw(&w, ",\"type\":\"monitor\",\"ts\":");
        jsonw_int(&w, ms->m.time);
        jsonw_raw(&w, ",\"score\":");
        jsonw_fixed(&w, ms->m.score, SCORE_DECIMALS);
        jsonw_raw(&w, ms->fresh ? ",\"status\":\"active\",\"kind\":"
                                : ",\"status\":\"stale\",\"kind\":");
        jsonw_str(&w, score_kind_str(ms->kind));
        jsonw_raw(&w, "}");
    }
    jsonw_raw(&w, "],\"server\":{\"id\":");
    jsonw_int(&w, src->id);
    jsonw_raw(&w, ",\"uuid\":");
    jsonw_str(&w, src->uuid);
    jsonw_raw(&w, ",\"host\":");
    jsonw_str(&w, src->host);
    jsonw_raw(&w, ",\"port\":");
    jsonw_int(&w, src->port);
    jsonw_raw(&w, ",\"in_pool\":");
    jsonw_bool(&w, st->in_pool);
    jsonw_raw(&w, ",\"scores\":{");
    for (int k = 0; k < SCORE_KINDS; k++) {
        jsonw_raw(&w, k ? ",\"" : "\"");
        jsonw_raw(&w, score_kind_str((enum score_kind)k));
        jsonw_raw(&w, "\":");
        jsonw_fixed(&w,
                    st->kind[k].cur.state == SCORE_STATE_SCORED ? st->kind[k].cur.score
                                                                : NAN,
                    SCORE_DECIMALS);
    }
    jsonw_raw(&w, "}}}\n");
    web_reply_jsonw(r, 200, &w);
}

static void
render_csv(struct web_req *r, const struct db_sample_row *rows, size_t n)
{
    struct evbuffer *b = evbuffer_new();

    if (!b) {
        web_reply(r, 500, NULL, NULL);
        return;
    }
    evbuffer_add_printf(b, "ts_epoch,ts,offset,step,score,monitor_id,monitor_name,rtt,leap,"
                           "error\n");
    for (size_t i = 0; i < n; i++) {
        const struct db_sample_row *s = &rows[i];
        time_t t = (time_t)s->time;
        struct tm tm;
        char when[32] = "";

        if (gmtime_r(&t, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        evbuffer_add_printf(b, "%lld,%s,", (long long)s->time, when);
        csv_num(b, s->offset, 9);
        evbuffer_add(b, ",", 1);
        csv_num(b, s->step, -1);
        evbuffer_add(b, ",", 1);
        csv_num(b, s->score, 3);
        evbuffer_add_printf(b, ",%lld,", (long long)s->monitor);
        csv_field(b, monsel_name(r->w, s->monitor, r->now));
        evbuffer_add(b, ",", 1);
        csv_num(b, isfinite(s->delay) ? s->delay * 1e3 : NAN, 3);
        /* leap: not kept per row; error: the scoring reason when not ok. */
        evbuffer_add(b, ",,", 2);
        if (s->reason != PROBE_OK)
            csv_field(b, result_probe_reason_str(s->reason));
        evbuffer_add(b, "\n", 1);
    }
    web_reply(r, 200, "text/csv; charset=utf-8", b);
    evbuffer_free(b);
}

void
compat_scores(struct web_req *r, const char *host, const char *what)
{
    struct db_source_scores sc;
    struct db_sample_query q;
    const struct db_sample_row *rows = NULL;
    size_t n = 0;
    int rc;

    if (r->method != EVHTTP_REQ_GET) {
        web_reply_error(r, 405, "method_not_allowed", "use GET");
        return;
    }
    rc = find_source(r->w, host, r->now, &sc);
    if (rc <= 0) {
        if (rc < 0)
            web_reply_error(r, 500, "internal", "database error");
        else
            web_reply_error(r, 404, "not_found", "no such time source");
        return;
    }
    memset(&q, 0, sizeof(q));
    q.source = sc.st.src.id;
    if (monsel_query(r, &q) != 0) {
        db_source_scores_free(&sc);
        return;
    }
    if (histcache_rows(r->w, &q, &rows, &n) != 0) {
        db_source_scores_free(&sc);
        web_reply_error(r, 500, "internal", "database error");
        return;
    }
    if (strcmp(what, "json") == 0)
        render_json(r, &sc, rows, n);
    else
        render_csv(r, rows, n);
    db_source_scores_free(&sc);
}
