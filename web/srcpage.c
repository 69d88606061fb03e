/* srcpage.c - the Time sources pages (PRODUCT.md "Web UI"): the list of the
 * user's sources under the add form, adding (answered with the token page),
 * and the confirmation steps of Rekey and Delete.  details.c draws
 * /time-sources/{id}; srcop.c does the work the JSON API does too.
 *
 * A token is shown once: the POST that made it answers 200 with the token
 * page itself (not a redirect), so no URL and no later GET carries it, and
 * the page says so.  Another user's source is 404 on every path, before the
 * form is even read, exactly like a source that does not exist.
 *
 * Every value reaches the markup through html_printf's escaping %s or %u;
 * the host was checked by the host rule when added, but is escaped anyway. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "util/util.h"
#include "web/html.h"
#include "web/snip.h"
#include "web/web_int.h"

#define CERT_WARN_DAYS 14 /* a certificate expiring this soon is flagged */

/* ---- pieces shared with details.c ----------------------------------------------- */

const char *
srcpage_label(char out[SRCPAGE_LABEL_MAX], const char *host, int port)
{
    if (port == SRCOP_DEFAULT_PORT)
        snprintf(out, SRCPAGE_LABEL_MAX, "%s", host);
    else
        snprintf(out, SRCPAGE_LABEL_MAX, "%s:%d", host, port);
    return out;
}

const char *
srcpage_score_text(char out[16], double v)
{
    if (!isfinite(v))
        return "n/a";
    if (fabs(v) < 0.05)
        v = 0; /* no "-0.0" */
    snprintf(out, 16, "%.1f", v);
    return out;
}

int
srcpage_score_td(struct evbuffer *b, const struct score_current *cur, const char *label)
{
    char num[16];
    bool scored = cur->state == SCORE_STATE_SCORED;
    const char *cls = html_score_class(cur->state != SCORE_STATE_NA, scored, cur->score);

    if (cur->state == SCORE_STATE_NA)
        return html_printf(b, "<td class=\"%s\" data-label=\"%s\">n/a</td>", cls, label);
    if (!scored)
        return html_printf(b, "<td class=\"%s\" data-label=\"%s\">no score yet</td>", cls,
                           label);
    return html_printf(b, "<td class=\"num %s\" data-label=\"%s\">%s</td>", cls, label,
                       srcpage_score_text(num, cur->score));
}

int
srcpage_cert(struct evbuffer *b, int64_t not_after, int64_t now)
{
    char t[HTML_TIME_LEN];
    int64_t left = not_after - now;

    if (not_after <= 0)
        return html_printf(b, "<span class=\"muted\">not seen yet</span>");
    if (left <= 0)
        return html_printf(b, "<span class=\"warn\">expired %s</span>",
                           html_time(t, not_after));
    if (left <= (int64_t)CERT_WARN_DAYS * 86400) {
        int64_t days = left / 86400;
        return html_printf(b, "<span class=\"warn\">expires in %s%j day%s (%s)</span>",
                           days == 0 ? "less than " : "", days == 0 ? (int64_t)1 : days,
                           days > 1 ? "s" : "", html_time(t, not_after));
    }
    return html_printf(b, "%s", html_time(t, not_after));
}

/* ---- the list and the add form --------------------------------------------------- */

/* What the add form shows again after a refused POST. */
struct add_form {
    const char *host, *port; /* as typed; NULL: empty */
    const char *host_err, *port_err;
};

/* One labelled input with its hint and, when refused, the error next to it
   (tied to the input by aria-describedby, so screen readers read it). */
static void
field(struct evbuffer *b, const char *name, const char *label, const char *hint,
      const char *value, const char *err, bool required, const char *extra)
{
    html_printf(b, "<p class=\"field%r\"><label for=\"f-%s\">%s</label>",
                err ? " invalid" : "", name, label);
    if (hint)
        html_printf(b, "<span class=\"hint\" id=\"h-%s\">%s</span>", name, hint);
    html_printf(b, "<input id=\"f-%s\" name=\"%s\" type=\"text\" value=\"%s\"%r%r",
                name, name, value ? value : "", required ? " required" : "", extra);
    if (err || hint)
        html_printf(b, " aria-describedby=\"%s%s%s%s\"", hint ? "h-" : "", hint ? name : "",
                    err && hint ? " e-" : err ? "e-" : "", err ? name : "");
    if (err)
        html_printf(b, " aria-invalid=\"true\">"
                       "<span class=\"field-error\" id=\"e-%s\" role=\"alert\">%s</span>",
                    name, err);
    else
        html_printf(b, ">");
    html_printf(b, "</p>\n");
}

static void
add_form_html(struct web_req *r, struct evbuffer *b, const struct add_form *f)
{
    html_printf(b, "<section class=\"add\" aria-labelledby=\"add-h\">\n"
                   "<h2 id=\"add-h\">Add a time source</h2>\n");
    html_form_begin(b, "/time-sources", "add-form", r->sess.csrf);
    field(b, "host", "Host name", "The DNS name clients use, e.g. time.example.org",
          f->host, f->host_err, true, " maxlength=\"253\" autocomplete=\"off\" "
          "spellcheck=\"false\" autocapitalize=\"none\"");
    field(b, "port", "NTS-KE port", "Optional; 4460 when empty", f->port, f->port_err,
          false, " maxlength=\"5\" inputmode=\"numeric\" autocomplete=\"off\"");
    html_printf(b, "<p><button type=\"submit\">Add</button></p></form>\n</section>\n");
}

static void
empty_state(struct evbuffer *b)
{
    html_printf(b,
                "<div class=\"empty\">\n<p><strong>No time sources yet.</strong> To add "
                "one:</p>\n<ol>\n"
                "<li>Run an NTS server (ntpd-rs 1.9 or later, or chrony or NTPsec with "
                "NTS pool support) that is reachable from the internet, with a "
                "certificate for its host name.</li>\n"
                "<li>Enter its host name above (and its NTS-KE port if it is not "
                "4460), then Add.</li>\n"
                "<li>Put the token you get into the server's configuration: the next "
                "page shows the lines for each server.</li>\n</ol>\n"
                "<p>The first probe runs within seconds; the source serves pool traffic "
                "once every kind is above 10.</p>\n</div>\n");
}

static void
table(struct web_req *r, struct evbuffer *b, const struct db_source_status *list, size_t n)
{
    char t[HTML_TIME_LEN], label[SRCPAGE_LABEL_MAX];

    html_printf(b, "<p class=\"caption\" id=\"sources-legend\">Scores: above 10 counts "
                   "for the pool; 0 to 10 rising; below 0 failing; n/a: the host name has "
                   "no address of that family.</p>\n<div class=\"table-wrap\">"
                   "<table class=\"sources\" aria-describedby=\"sources-legend\">\n"
                   "<thead><tr><th scope=\"col\">Server</th>");
    for (int k = 0; k < SCORE_KINDS; k++)
        html_printf(b, "<th scope=\"col\">%s</th>", score_kind_str((enum score_kind)k));
    html_printf(b, "<th scope=\"col\">In the pool</th><th scope=\"col\">Last probe</th>"
                   "<th scope=\"col\">Certificate</th><th scope=\"col\">Actions</th>"
                   "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const struct db_source_status *st = &list[i];
        char id[24];

        snprintf(id, sizeof(id), "%lld", (long long)st->src.id);
        html_printf(b, "<tr><th scope=\"row\"><a href=\"/time-sources/%u\">%s</a></th>", id,
                    srcpage_label(label, st->src.host, st->src.port));
        for (int k = 0; k < SCORE_KINDS; k++)
            srcpage_score_td(b, &st->kind[k].cur, score_kind_str((enum score_kind)k));
        if (st->in_pool)
            html_printf(b, "<td class=\"score-good\" data-label=\"In the pool\">yes</td>");
        else
            html_printf(b, "<td class=\"out\" data-label=\"In the pool\">no: %s</td>",
                        st->why);
        html_printf(b, "<td class=\"nowrap\" data-label=\"Last probe\">%s</td>"
                       "<td data-label=\"Certificate\">",
                    html_time(t, st->last_probe));
        srcpage_cert(b, st->cert_not_after, r->now);
        html_printf(b, "</td><td class=\"actions\" data-label=\"Actions\"><a class=\"button\" "
                       "href=\"/time-sources/%u/rekey\">Rekey</a> <a class=\"button "
                       "danger\" href=\"/time-sources/%u/delete\">Delete</a></td></tr>\n",
                    id, id);
    }
    html_printf(b, "</tbody></table></div>\n");
}

/* The list page with the add form (f: its state after a refused POST). */
static void
list_page(struct web_req *r, int status, const struct add_form *f, const char *notice)
{
    static const struct add_form blank = {NULL, NULL, NULL, NULL};
    struct db_source_status *list = NULL;
    struct evbuffer *b;
    size_t n = 0;

    if (db_sources_of_owner(r->w->p.db, r->user, r->now, &list, &n) != 0) {
        page_error(r, 500, "Database error; try again.");
        return;
    }
    if (!(b = evbuffer_new())) {
        free(list);
        web_reply(r, 500, NULL, NULL);
        return;
    }
    page_begin(r, b, "Time sources");
    if (notice)
        html_notice(b, "ok", notice);
    if (f && (f->host_err || f->port_err))
        html_notice(b, "error", "The time source was not added: see below.");
    add_form_html(r, b, f ? f : &blank);
    html_printf(b, "<h2>Your time sources</h2>\n");
    if (n == 0)
        empty_state(b);
    else
        table(r, b, list, n);
    free(list);
    page_reply(r, status, b);
    evbuffer_free(b);
}

/* ---- the token page ------------------------------------------------------------- */

static void
token_page(struct web_req *r, int64_t id, const char *host, int port, const char *token,
           bool added)
{
    struct evbuffer *b = evbuffer_new();
    char label[SRCPAGE_LABEL_MAX], title[SRCPAGE_LABEL_MAX + 16], sid[24];
    char snip[SNIP_MAX];

    if (!b) {
        web_reply(r, 500, NULL, NULL);
        return;
    }
    srcpage_label(label, host, port);
    snprintf(title, sizeof(title), "Token for %s", label);
    snprintf(sid, sizeof(sid), "%lld", (long long)id);
    page_begin(r, b, title);
    html_notice(b, "ok", added ? "The time source was added."
                               : "A new token was made. The old one no longer works: "
                                 "configure this one now.");
    html_printf(b, "<h2>The token</h2>\n<p><strong>Shown only this once:</strong> copy it "
                   "now. Reloading or coming back to this page will not show it again; "
                   "if it is lost, Rekey makes a new one.</p>\n"
                   "<p class=\"secret\" id=\"token\">%s</p>\n"
                   "<h2>Configure your server</h2>\n<p>Add the token to the NTS-KE server "
                   "of %s, then reload or restart it. Pick the lines of your server:</p>\n",
                token, label);
    for (int s = 0; s < SNIP_SERVERS; s++) {
        if (snip_config((enum snip_server)s, token, host, (uint16_t)port, snip,
                        sizeof(snip)) < 0)
            continue;
        html_printf(b, "<h3>%s</h3>\n<pre class=\"config\"><code>%s</code></pre>\n",
                    snip_server_name((enum snip_server)s), snip);
    }
    util_wipe(snip, sizeof(snip));
    html_printf(b, "<h2>What happens next</h2>\n<p>The first probe runs within seconds; "
                   "the source serves pool traffic once every kind is above 10. Until the "
                   "token is configured, the pool kinds (pool-v4, pool-v6) fail with "
                   "\"token not accepted by the server\".</p>\n"
                   "<p><a href=\"/time-sources/%u\">Follow its score on the details "
                   "page</a> &middot; <a href=\"/time-sources\">All your time sources</a>"
                   "</p>\n",
                sid);
    page_reply(r, 200, b);
    evbuffer_free(b);
}

/* ---- add -------------------------------------------------------------------------- */

/* The port field: empty means the default. */
static bool
parse_port(const char *s, long *port)
{
    *port = SRCOP_DEFAULT_PORT;
    if (!s || !*s)
        return true;
    if (strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
        return false;
    *port = strtol(s, NULL, 10);
    return *port >= 1 && *port <= 65535;
}

static void
added(struct web_req *r, enum srcop_status st, const char *host, int port, int64_t id,
      const char *token)
{
    struct add_form f = {host, NULL, NULL, NULL};
    char ptext[8];

    if (st == SRCOP_OK) {
        token_page(r, id, host, port, token, true);
        return;
    }
    if (port != SRCOP_DEFAULT_PORT) {
        snprintf(ptext, sizeof(ptext), "%d", port);
        f.port = ptext;
    }
    f.host_err = srcop_message(st);
    list_page(r, st == SRCOP_DUPLICATE ? 409 : st == SRCOP_PRIVATE ? 400 : 503, &f, NULL);
}

static void
add(struct web_req *r)
{
    struct evkeyvalq q;
    struct add_form f;
    char host[DB_HOST_MAX];
    enum srcop_status st;
    long port;
    bool port_ok;

    if (page_form(r, &q) != 0)
        return;
    f.host = evhttp_find_header(&q, "host");
    f.port = evhttp_find_header(&q, "port");
    f.host_err = f.port_err = NULL;
    port_ok = parse_port(f.port, &port);
    /* With a bad port, still check the host, to show both errors at once. */
    st = srcop_check(r, f.host ? f.host : "", port_ok ? port : SRCOP_DEFAULT_PORT, host);
    if (st == SRCOP_OK && port_ok) {
        evhttp_clear_headers(&q);
        srcop_add(r, host, (int)port, added);
        return;
    }
    if (!port_ok)
        f.port_err = srcop_message(SRCOP_INVALID_PORT);
    if (st != SRCOP_OK && (st != SRCOP_DUPLICATE || port_ok))
        f.host_err = srcop_message(st); /* a duplicate only of the default port is not */
    list_page(r, st == SRCOP_DUPLICATE && port_ok ? 409 : st == SRCOP_ERROR ? 500 : 400, &f,
              NULL);
    evhttp_clear_headers(&q);
}

/* ---- rekey and delete: a confirmation (GET), then the act (POST) ---------------- */

static void
confirm_page(struct web_req *r, const struct db_source_status *st, bool rekey)
{
    struct evbuffer *b = evbuffer_new();
    char label[SRCPAGE_LABEL_MAX], title[SRCPAGE_LABEL_MAX + 32], action[64], sid[24];

    if (!b) {
        web_reply(r, 500, NULL, NULL);
        return;
    }
    srcpage_label(label, st->src.host, st->src.port);
    snprintf(title, sizeof(title), "%s %s?", rekey ? "Rekey" : "Delete", label);
    snprintf(sid, sizeof(sid), "%lld", (long long)st->src.id);
    snprintf(action, sizeof(action), "/time-sources/%s/%s", sid, rekey ? "rekey" : "delete");
    page_begin(r, b, title);
    if (rekey)
        html_printf(b, "<p>A new token replaces the current one at once. Until you "
                       "configure the new token on %s, the pool's checks (pool-v4, "
                       "pool-v6) fail and the source leaves the pool.</p>\n",
                    label);
    else
        html_printf(b, "<p>Probing of %s stops and it leaves the pool at once. This "
                       "cannot be undone: adding the name again makes a new time source "
                       "with a new token and no history.</p>\n",
                    label);
    html_form_begin(b, action, "confirm", r->sess.csrf);
    html_printf(b, "<p><button type=\"submit\"%r>%s</button> <a href=\"/time-sources/%u\">"
                   "Cancel</a></p></form>\n",
                rekey ? "" : " class=\"danger\"",
                rekey ? "Make a new token" : "Delete this time source", sid);
    page_reply(r, 200, b);
    evbuffer_free(b);
}

static void
rekey_or_delete(struct web_req *r, const struct db_source_status *st, bool rekey)
{
    struct evkeyvalq q;
    char token[DB_TOKEN_LEN + 1];
    int rc;

    if (r->method == EVHTTP_REQ_GET) {
        confirm_page(r, st, rekey);
        return;
    }
    if (page_form(r, &q) != 0)
        return;
    evhttp_clear_headers(&q);
    rc = rekey ? srcop_rekey(r, st->src.id, token) : srcop_delete(r, st->src.id);
    if (rc != 1) {
        page_error(r, rc == 0 ? 404 : 500,
                   rc == 0 ? "There is no such time source." : "Database error; try again.");
        return;
    }
    if (!rekey) {
        page_redirect(r, "/time-sources?deleted=1");
        return;
    }
    token_page(r, st->src.id, st->src.host, st->src.port, token, false);
    util_wipe(token, sizeof(token));
}

/* ---- routing ---------------------------------------------------------------------- */

void
srcpage_page(struct web_req *r, const char *sub)
{
    struct db_source_status st;
    const char *rest;
    int64_t id;
    size_t n;
    int rc;

    if (r->method != EVHTTP_REQ_GET && r->method != EVHTTP_REQ_POST) {
        page_error(r, 405, "Use GET, or POST with the page's form.");
        return;
    }
    if (page_user(r) != 0)
        return;
    if (!*sub || strcmp(sub, "/") == 0) {
        if (r->method == EVHTTP_REQ_POST) {
            add(r);
        } else {
            struct evkeyvalq q;
            bool deleted = false;

            if (page_query(r, &q) != 0)
                return;
            deleted = evhttp_find_header(&q, "deleted") != NULL;
            evhttp_clear_headers(&q);
            list_page(r, 200, NULL, deleted ? "The time source was deleted." : NULL);
        }
        return;
    }
    if (sub[0] != '/' || (n = web_parse_id(sub + 1, &id)) == 0 ||
        (sub[1 + n] != '\0' && sub[1 + n] != '/')) {
        page_error(r, 404, "There is no such page.");
        return;
    }
    rest = sub + 1 + n;
    if (*rest && strcmp(rest, "/rekey") != 0 && strcmp(rest, "/delete") != 0) {
        page_error(r, 404, "There is no such page.");
        return;
    }
    rc = db_source_status(r->w->p.db, id, r->now, &st);
    if (rc < 0) {
        page_error(r, 500, "Database error; try again.");
        return;
    }
    if (rc == 0 || st.src.owner != r->user) {
        page_error(r, 404, "There is no such time source.");
        return;
    }
    if (!*rest) {
        if (r->method != EVHTTP_REQ_GET)
            page_error(r, 405, "Use GET.");
        else
            details_page(r, &st);
        return;
    }
    rekey_or_delete(r, &st, strcmp(rest, "/rekey") == 0);
}
