/* details.c - the details page of one time source (PRODUCT.md "Source
 * details page"): its state, the current score per kind and per monitor,
 * the graph of the last two days (graph.c, inline SVG: markup, which the CSP
 * allows), a plain-words diagnosis of the latest failure of each kind
 * (diag.c) and the recent samples, filtered by kind and monitor (a GET form)
 * and paged.
 *
 * srcpage.c routes here after checking that the source is the caller's.  The
 * work is bounded whatever the history: the graph reads at most
 * GRAPH_ROWS_MAX rows of the window (through web/histcache.c: a page shown
 * again reads only its rows' index range while nothing changed), each kind's latest failure is looked for
 * within the window only, and a page of samples is one LIMIT/OFFSET query. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "util/util.h"
#include "web/diag.h"
#include "web/graph.h"
#include "web/histcache.h"
#include "web/html.h"
#include "web/web_int.h"

#define WINDOW         (2 * 86400) /* s: the graph and the failures looked at */
#define PER_PAGE       50          /* samples per page */
#define MAX_PAGE       100000      /* ?page= bound */
#define GRAPH_ROWS_MAX 50000       /* rows the graph reads at most (newest kept) */

/* What ?kind=&monitor=&page= asked for. */
struct sel {
    int kind;        /* enum score_kind, -1 all */
    int64_t monitor; /* -1 all */
    long page;       /* 1.. */
};

static const char *
monitor_name(const struct db_monitor *m, size_t n, int64_t id, char buf[32])
{
    for (size_t i = 0; i < n; i++)
        if (m[i].id == id)
            return m[i].name;
    snprintf(buf, 32, "monitor %lld", (long long)id);
    return buf;
}

static const char *
aead_name(int id)
{
    switch (id) {
    case -1: return "-";
    case 15: return "AES-SIV-CMAC-256";
    case 16: return "AES-SIV-CMAC-384";
    case 17: return "AES-SIV-CMAC-512";
    case 30: return "AES-128-GCM-SIV";
    default: return "other";
    }
}

/* t as "YYYY-MM-DD HH:MM:SS" (UTC: the page says so once). */
static const char *
time_s(char out[HTML_TIME_LEN], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(out, HTML_TIME_LEN, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, HTML_TIME_LEN, "never");
    return out;
}

/* ?kind=&monitor=&page=: 0, or -1 after a 400 page. */
static int
parse_sel(struct web_req *r, struct sel *s)
{
    struct evkeyvalq q;
    const char *kind, *mon, *page;
    const char *bad = NULL;
    char why[128];

    s->kind = -1;
    s->monitor = -1;
    s->page = 1;
    if (page_query(r, &q) != 0)
        return -1;
    kind = evhttp_find_header(&q, "kind");
    mon = evhttp_find_header(&q, "monitor");
    page = evhttp_find_header(&q, "page");
    if (kind && *kind) {
        enum score_kind k;
        if (score_kind_parse(kind, &k) == 0)
            s->kind = (int)k;
        else
            bad = "Unknown kind: pick one of the list.";
    }
    if (!bad && monsel_parse(r, mon, &s->monitor, why, sizeof(why)) != 0)
        bad = "Unknown monitor: pick one of the list.";
    if (!bad && page && *page && util_parse_long(page, 1, MAX_PAGE, &s->page) != 0)
        bad = "The page number must be a whole number from 1.";
    evhttp_clear_headers(&q);
    if (bad) {
        page_error(r, 400, bad);
        return -1;
    }
    return 0;
}

static void
summary(struct web_req *r, struct evbuffer *b, const struct db_source_status *st,
        const char *sid)
{
    char t[HTML_TIME_LEN];
    const char *cp = st->src.codepoints == DB_CODEPOINTS_PERMANENT      ? "permanent"
                     : st->src.codepoints == DB_CODEPOINTS_EXPERIMENTAL ? "experimental"
                                                                        : "not known yet";

    html_printf(b, "<dl class=\"facts\">\n<dt>In the pool</dt><dd>");
    if (st->in_pool)
        html_printf(b, "<span class=\"score-good\">yes</span>");
    else
        html_printf(b, "<span class=\"out\">no: %s</span>", st->why);
    html_printf(b, "</dd>\n<dt>Last probe</dt><dd>%s</dd>\n<dt>Certificate</dt><dd>",
                html_time(t, st->last_probe));
    srcpage_cert(b, st->cert_not_after, r->now);
    html_printf(b, "</dd>\n<dt>Pool record code points</dt><dd>%s</dd>\n"
                   "<dt>Added</dt><dd>%s</dd>\n<dt>UUID</dt><dd><code>%s</code></dd>\n</dl>\n"
                   "<p class=\"actions\"><a class=\"button\" href=\"/time-sources/%u/rekey\">"
                   "Rekey</a> <a class=\"button danger\" href=\"/time-sources/%u/delete\">"
                   "Delete</a> <a href=\"/time-sources\">All your time sources</a></p>\n",
                cp, html_time(t, st->src.created), st->src.uuid, sid, sid);
}

static void
scores(struct evbuffer *b, const struct db_source_status *st,
       const struct db_monitor_score *ms, size_t nms)
{
    char t[HTML_TIME_LEN], num[16];

    html_printf(b, "<h2>Current scores</h2>\n<div class=\"table-wrap\"><table>\n"
                   "<caption>Per kind: the median of the monitors that reported within "
                   "the last 3 probe intervals.</caption>\n<thead><tr>"
                   "<th scope=\"col\">Kind</th><th scope=\"col\">Score</th>"
                   "<th scope=\"col\">Fresh monitors</th><th scope=\"col\">Last probe</th>"
                   "<th scope=\"col\">Latest result</th></tr></thead>\n<tbody>\n");
    for (int k = 0; k < SCORE_KINDS; k++) {
        const struct db_kind_status *ks = &st->kind[k];
        html_printf(b, "<tr><th scope=\"row\">%s</th>", score_kind_str((enum score_kind)k));
        srcpage_score_td(b, &ks->cur, "Score");
        html_printf(b, "<td class=\"num\">%d</td><td>%s</td><td>%s</td></tr>\n",
                    ks->cur.n_fresh, html_time(t, ks->last_probe),
                    ks->has_last ? diag_reason_text(ks->last_reason) : "no probe yet");
    }
    html_printf(b, "</tbody></table></div>\n<h3>Per monitor</h3>\n");
    if (nms == 0) {
        html_printf(b, "<p>No monitor has reported yet.</p>\n");
        return;
    }
    html_printf(b, "<div class=\"table-wrap\"><table>\n<thead><tr>"
                   "<th scope=\"col\">Monitor</th><th scope=\"col\">Kind</th>"
                   "<th scope=\"col\">Score</th><th scope=\"col\">Counted</th>"
                   "<th scope=\"col\">Last report</th><th scope=\"col\">Latest result</th>"
                   "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < nms; i++) {
        const struct db_monitor_score *m = &ms[i];
        bool scored = isfinite(m->m.score) && !m->m.not_applicable;
        html_printf(b, "<tr><td>%s</td><td>%s</td><td class=\"num %s\">%s</td>"
                       "<td>%s</td><td>%s</td><td>%s</td></tr>\n",
                    m->monitor_name, score_kind_str(m->kind),
                    html_score_class(!m->m.not_applicable, scored, m->m.score),
                    m->m.not_applicable ? "n/a" : scored ? srcpage_score_text(num, m->m.score)
                                                         : "no score yet",
                    m->fresh ? "yes" : "no: stale", html_time(t, m->m.time),
                    m->m.not_applicable ? "no address of this family"
                    : m->m.sample_time > 0
                        ? score_reason_text(m->m.reason, m->m.ke_status, m->m.ntp_status)
                        : "no sample yet");
    }
    html_printf(b, "</tbody></table></div>\n");
}

static int
graph(struct web_req *r, struct evbuffer *b, const struct db_source_status *st,
      const struct db_monitor *mons, size_t nm)
{
    struct db_sample_query q;
    const struct db_sample_row *rows = NULL;
    struct graph_monitor gm[GRAPH_MAX_MONITORS * 4];
    struct graph_opts o;
    size_t n = 0, ngm = 0;
    int rc;

    memset(&q, 0, sizeof(q));
    q.source = st->src.id;
    q.kind = -1;
    q.monitor = -1;
    q.since = r->now - WINDOW;
    q.limit = GRAPH_ROWS_MAX;
    if (histcache_rows(r->w, &q, &rows, &n) != 0)
        return -1;
    for (size_t i = 0; i < nm && ngm < sizeof(gm) / sizeof(gm[0]); i++) {
        gm[ngm].id = mons[i].id;
        gm[ngm++].name = mons[i].name;
    }
    memset(&o, 0, sizeof(o));
    o.from = r->now - WINDOW;
    o.to = r->now;
    o.interval = r->w->p.cfg->interval;
    o.host = st->src.host;
    o.id = "history";
    html_printf(b, "<h2>The last two days</h2>\n<figure class=\"graph\">\n");
    rc = graph_render(b, rows, n, gm, ngm, &o);
    html_printf(b, "<figcaption>Score per kind (left axis) and measured offset per "
                   "monitor (right axis, ms), in UTC.%r</figcaption>\n</figure>\n",
                n == GRAPH_ROWS_MAX ? " Only the newest measurements are drawn." : "");
    return rc;
}

static void
failures(struct web_req *r, struct evbuffer *b, const struct db_source_status *st,
         const struct db_monitor *mons, size_t nm)
{
    unsigned cp = st->src.codepoints == DB_CODEPOINTS_PERMANENT      ? DIAG_CP_PERMANENT
                  : st->src.codepoints == DB_CODEPOINTS_EXPERIMENTAL ? DIAG_CP_EXPERIMENTAL
                                                                     : 0;

    html_printf(b, "<h2>Latest failure of each kind</h2>\n<p>The newest probe of the last "
                   "two days that was not ok, explained.</p>\n");
    for (int k = 0; k < SCORE_KINDS; k++) {
        struct db_sample_row row;
        struct probe_result res;
        struct diag_input in;
        struct diag d;
        char t[HTML_TIME_LEN], mb[32];
        json_t *j;
        int rc;

        html_printf(b, "<section class=\"diag\"><h3>%s</h3>\n",
                    score_kind_str((enum score_kind)k));
        if (st->kind[k].cur.state == SCORE_STATE_NA) {
            html_printf(b, "<p>Not applicable: the host name has no address of this "
                           "family.</p></section>\n");
            continue;
        }
        rc = db_last_failure(r->w->p.db, st->src.id, (enum score_kind)k, r->now - WINDOW,
                             &row);
        j = rc == 1 ? db_sample_json(r->w->p.db, row.id) : NULL;
        if (rc == 0) {
            html_printf(b, "<p class=\"score-good\">No failure in the last two days.</p>"
                           "</section>\n");
            continue;
        }
        if (!j || db_result_from_json(j, &res) != 0) {
            json_decref(j);
            html_printf(b, "<p>The stored result cannot be read.</p></section>\n");
            continue;
        }
        json_decref(j);
        memset(&in, 0, sizeof(in));
        in.res = &res;
        in.host = st->src.host;
        in.port = (uint16_t)st->src.port;
        in.kind = (enum score_kind)k;
        in.codepoints = cp;
        in.now = r->now;
        diag_explain(&in, &d);
        html_printf(b, "<p><strong>%s</strong></p>\n<p>%s</p>\n<p class=\"muted\">%s UTC, "
                       "monitor %s, address %s, reason code <code>%s</code>%r.</p>"
                       "</section>\n",
                    d.headline, d.detail, time_s(t, row.time),
                    monitor_name(mons, nm, row.monitor, mb), row.address[0] ? row.address : "-",
                    result_probe_reason_str(row.reason),
                    d.scored ? "" : "; not scored: the monitor's own fault");
    }
}

/* A link to another page of samples with the same filters. */
static void
page_link(struct evbuffer *b, const char *sid, const struct sel *s, long page,
          const char *text, const char *rel)
{
    char ps[24], ms[24];

    snprintf(ps, sizeof(ps), "%ld", page);
    snprintf(ms, sizeof(ms), "%lld", (long long)s->monitor);
    html_printf(b, "<a rel=\"%r\" href=\"/time-sources/%u?kind=%u&amp;monitor=%u&amp;"
                   "page=%u#samples\">%s</a>",
                rel, sid, s->kind >= 0 ? score_kind_str((enum score_kind)s->kind) : "",
                s->monitor >= 0 ? ms : "", ps, text);
}

static void
filter_form(struct evbuffer *b, const char *sid, const struct sel *s,
            const struct db_monitor *mons, size_t nm)
{
    html_printf(b, "<form method=\"get\" action=\"/time-sources/%u#samples\" "
                   "class=\"filters\">\n<p><label for=\"f-kind\">Kind</label>"
                   "<select id=\"f-kind\" name=\"kind\"><option value=\"\">all</option>",
                sid);
    for (int k = 0; k < SCORE_KINDS; k++)
        html_printf(b, "<option%r>%s</option>", k == s->kind ? " selected" : "",
                    score_kind_str((enum score_kind)k));
    html_printf(b, "</select></p>\n<p><label for=\"f-monitor\">Monitor</label>"
                   "<select id=\"f-monitor\" name=\"monitor\"><option value=\"\">all"
                   "</option>");
    for (size_t i = 0; i < nm; i++) {
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)mons[i].id);
        html_printf(b, "<option value=\"%s\"%r>%s</option>", id,
                    mons[i].id == s->monitor ? " selected" : "", mons[i].name);
    }
    html_printf(b, "</select></p>\n<p><button type=\"submit\">Show</button></p></form>\n");
}

static int
samples(struct web_req *r, struct evbuffer *b, const struct db_source_status *st,
        const char *sid, const struct sel *s, const struct db_monitor *mons, size_t nm)
{
    struct db_sample_query q;
    struct db_sample_row *rows = NULL;
    size_t n = 0;

    memset(&q, 0, sizeof(q));
    q.source = st->src.id;
    q.kind = s->kind;
    q.monitor = s->monitor;
    q.limit = PER_PAGE + 1; /* one more tells whether a next page exists */
    q.offset = (size_t)(s->page - 1) * PER_PAGE;
    if (db_recent_samples(r->w->p.db, &q, &rows, &n) != 0)
        return -1;
    html_printf(b, "<h2 id=\"samples\">Recent samples</h2>\n");
    filter_form(b, sid, s, mons, nm);
    if (n == 0) {
        html_printf(b, "<p>%s</p>\n", s->page > 1 ? "No samples on this page."
                                                  : "No samples match yet.");
    } else {
        html_printf(b, "<div class=\"table-wrap\"><table class=\"samples\">\n<caption>"
                       "Newest first, page %j; times in UTC; the step is what the sample "
                       "added to the monitor's score.</caption>\n<thead><tr>"
                       "<th scope=\"col\">Time</th><th scope=\"col\">Kind</th>"
                       "<th scope=\"col\">Monitor</th><th scope=\"col\">Address</th>"
                       "<th scope=\"col\">AEAD</th><th scope=\"col\">Key exchange</th>"
                       "<th scope=\"col\">NTP</th><th scope=\"col\">Offset (ms)</th>"
                       "<th scope=\"col\">Step</th><th scope=\"col\">Score</th>"
                       "<th scope=\"col\">Why</th></tr></thead>\n<tbody>\n",
                    (int64_t)s->page);
    }
    for (size_t i = 0; i < n && i < PER_PAGE; i++) {
        const struct db_sample_row *x = &rows[i];
        char t[HTML_TIME_LEN], mb[32], off[32], step[32], sc[16];

        if (isfinite(x->offset))
            snprintf(off, sizeof(off), "%.3f", x->offset * 1000.0);
        else
            snprintf(off, sizeof(off), "-");
        if (isfinite(x->step))
            snprintf(step, sizeof(step), "%+.2f", x->step);
        else
            snprintf(step, sizeof(step), "discarded");
        html_printf(b, "<tr><td class=\"nowrap\">%s</td><td>%s</td><td>%s</td>"
                       "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"num\">%s</td>"
                       "<td class=\"num\">%s</td><td class=\"num %s\">%s</td><td>%s</td>"
                       "</tr>\n",
                    time_s(t, x->time), score_kind_str(x->kind),
                    monitor_name(mons, nm, x->monitor, mb), x->address[0] ? x->address : "-",
                    aead_name(x->aead), result_ke_status_str(x->ke_status),
                    x->ke_status == KE_OK ? result_ntp_status_str(x->ntp_status) : "-", off,
                    step, html_score_class(true, isfinite(x->score), x->score),
                    isfinite(x->score) ? srcpage_score_text(sc, x->score) : "unchanged",
                    diag_reason_text(x->reason));
    }
    if (n > 0)
        html_printf(b, "</tbody></table></div>\n");
    if (s->page > 1 || n > PER_PAGE) {
        html_printf(b, "<nav class=\"pager\" aria-label=\"Pages of samples\">");
        if (s->page > 1)
            page_link(b, sid, s, s->page - 1, "Newer", "prev");
        html_printf(b, " <span>Page %j</span> ", (int64_t)s->page);
        if (n > PER_PAGE && s->page < MAX_PAGE)
            page_link(b, sid, s, s->page + 1, "Older", "next");
        html_printf(b, "</nav>\n");
    }
    free(rows);
    return 0;
}

void
details_page(struct web_req *r, const struct db_source_status *st)
{
    struct db_monitor *mons = NULL;
    struct db_monitor_score *ms = NULL;
    struct evbuffer *b = NULL;
    char label[SRCPAGE_LABEL_MAX], sid[24];
    size_t nm = 0, nms = 0;
    struct sel s;

    if (db_monitors_list(r->w->p.db, &mons, &nm) != 0) {
        page_error(r, 500, "Database error; try again.");
        return;
    }
    if (parse_sel(r, &s) != 0)
        goto out;
    if (db_source_monitor_scores(r->w->p.db, st->src.id, r->now, &ms, &nms) != 0) {
        page_error(r, 500, "Database error; try again.");
        goto out;
    }
    if (!(b = evbuffer_new())) {
        web_reply(r, 500, NULL, NULL);
        goto out;
    }
    snprintf(sid, sizeof(sid), "%lld", (long long)st->src.id);
    page_begin(r, b, srcpage_label(label, st->src.host, st->src.port));
    summary(r, b, st, sid);
    scores(b, st, ms, nms);
    if (graph(r, b, st, mons, nm) != 0 || (failures(r, b, st, mons, nm), 0) ||
        samples(r, b, st, sid, &s, mons, nm) != 0) {
        page_error(r, 500, "Database error; try again.");
        goto out;
    }
    page_reply(r, 200, b);
out:
    if (b)
        evbuffer_free(b);
    free(ms);
    free(mons);
}
