/* admin.c - the administrators' pages (PRODUCT.md "Admin"): an overview,
 * users (block, unblock), monitors (create: the key shown once; revoke) and
 * every time source.  Only accounts made with `user-add --admin` see them;
 * to anyone else every /admin path is 404, as if it did not exist.
 *
 * Per-monitor sample counts are not shown: samples are indexed by source
 * first (samples_key), so a count per monitor would scan the whole table;
 * the last time each monitor was seen is shown instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "util/log.h"
#include "util/util.h"
#include "web/html.h"
#include "web/web_int.h"

#define BUILTIN_MONITOR "builtin" /* the service's own monitor (cmd/ntspoold.c) */

static struct evbuffer *
page_new(struct web_req *r, const char *title)
{
    struct evbuffer *b = evbuffer_new();

    if (!b) {
        web_reply(r, 500, NULL, NULL);
        return NULL;
    }
    page_begin(r, b, title);
    html_printf(b, "<p><a href=\"/admin\">Admin</a>: <a href=\"/admin/users\">Users</a> "
                   "&middot; <a href=\"/admin/monitors\">Monitors</a> &middot; "
                   "<a href=\"/admin/sources\">All sources</a></p>\n");
    return b;
}

static void
overview(struct web_req *r)
{
    struct db_user *users = NULL;
    struct db_monitor *mons = NULL;
    size_t nu = 0, nm = 0, active = 0;
    int64_t sources = 0;
    struct evbuffer *b;

    if (db_users_list(r->w->p.db, &users, &nu) != 0 ||
        db_monitors_list(r->w->p.db, &mons, &nm) != 0 ||
        db_source_count(r->w->p.db, &sources) != 0) {
        free(users);
        free(mons);
        page_error(r, 500, "Database error; try again.");
        return;
    }
    for (size_t i = 0; i < nm; i++)
        active += mons[i].status == DB_MONITOR_ACTIVE;
    free(users);
    free(mons);
    if (!(b = page_new(r, "Admin")))
        return;
    html_printf(b, "<ul>\n<li><a href=\"/admin/users\">Users</a>: %j</li>\n"
                   "<li><a href=\"/admin/monitors\">Monitors</a>: %j (%j active)</li>\n"
                   "<li><a href=\"/admin/sources\">Time sources</a>: %j</li>\n</ul>\n",
                (int64_t)nu, (int64_t)nm, (int64_t)active, sources);
    page_reply(r, 200, b);
    evbuffer_free(b);
}

static void
action_form(struct web_req *r, struct evbuffer *b, const char *what, int64_t id,
            const char *verb, const char *label, bool danger)
{
    char action[96];

    snprintf(action, sizeof(action), "/admin/%s/%lld/%s", what, (long long)id, verb);
    html_form_begin(b, action, "inline", r->sess.csrf);
    html_printf(b, "<button type=\"submit\"%r>%s</button></form>",
                danger ? " class=\"danger\"" : "", label);
}

static void
users_page(struct web_req *r)
{
    struct db_user *u = NULL;
    struct evbuffer *b;
    char t[HTML_TIME_LEN];
    size_t n = 0;

    if (db_users_list(r->w->p.db, &u, &n) != 0) {
        page_error(r, 500, "Database error; try again.");
        return;
    }
    if (!(b = page_new(r, "Users"))) {
        free(u);
        return;
    }
    html_printf(b, "<p>A blocked user cannot log in; their sessions end and their API "
                   "tokens stop working until unblocked. Their sources keep being "
                   "probed.</p>\n<div class=\"table-wrap\"><table>\n<thead><tr>"
                   "<th scope=\"col\">Id</th><th scope=\"col\">E-mail</th>"
                   "<th scope=\"col\">Role</th><th scope=\"col\">Password</th>"
                   "<th scope=\"col\">Made</th><th scope=\"col\">State</th>"
                   "<th scope=\"col\">Action</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        html_printf(b, "<tr><td class=\"num\">%j</td><td>%s</td><td>%s</td><td>%s</td>"
                       "<td>%s</td><td>%s</td><td>",
                    u[i].id, u[i].email, u[i].is_admin ? "admin" : "user",
                    u[i].password_hash[0] ? "set" : "not yet", html_time(t, u[i].created),
                    u[i].blocked ? "blocked" : "active");
        if (u[i].id == r->user)
            html_printf(b, "<span class=\"muted\">you</span>");
        else if (u[i].blocked)
            action_form(r, b, "users", u[i].id, "unblock", "Unblock", false);
        else
            action_form(r, b, "users", u[i].id, "block", "Block", true);
        html_printf(b, "</td></tr>\n");
    }
    html_printf(b, "</tbody></table></div>\n");
    util_wipe(u, n * sizeof(*u));
    free(u);
    page_reply(r, 200, b);
    evbuffer_free(b);
}

static void
monitors_page(struct web_req *r)
{
    struct db_monitor *m = NULL;
    struct evbuffer *b;
    char c[HTML_TIME_LEN], s[HTML_TIME_LEN];
    size_t n = 0;

    if (db_monitors_list(r->w->p.db, &m, &n) != 0) {
        page_error(r, 500, "Database error; try again.");
        return;
    }
    if (!(b = page_new(r, "Monitors"))) {
        free(m);
        return;
    }
    html_printf(b, "<div class=\"table-wrap\"><table>\n<thead><tr>"
                   "<th scope=\"col\">Id</th><th scope=\"col\">Name</th>"
                   "<th scope=\"col\">Status</th><th scope=\"col\">Made</th>"
                   "<th scope=\"col\">Last seen</th><th scope=\"col\">Samples sent</th>"
                   "<th scope=\"col\">Action</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        html_printf(b, "<tr><td class=\"num\">%j</td><td>%s</td><td>%s</td><td>%s</td>"
                       "<td>%s</td><td class=\"num\">%j</td><td>",
                    m[i].id, m[i].name, db_monitor_status_str(m[i].status),
                    html_time(c, m[i].created),
                    strcmp(m[i].name, BUILTIN_MONITOR) == 0 ? "(built in)"
                                                            : html_time(s, m[i].last_seen),
                    m[i].samples);
        if (m[i].status != DB_MONITOR_REVOKED && strcmp(m[i].name, BUILTIN_MONITOR) != 0)
            action_form(r, b, "monitors", m[i].id, "revoke", "Revoke", true);
        html_printf(b, "</td></tr>\n");
    }
    html_printf(b, "</tbody></table></div>\n<h2>New monitor</h2>\n"
                   "<p>Its key is shown once; give it to the <code>ntspool-monitor</code> "
                   "it belongs to (<code>key_file</code>).</p>\n");
    free(m);
    html_form_begin(b, "/admin/monitors", NULL, r->sess.csrf);
    html_field(b, "text", "name", "Name (its place, e.g. fra1)", NULL, "off",
               DB_NAME_MAX - 1);
    html_form_end(b, "Make a monitor");
    page_reply(r, 200, b);
    evbuffer_free(b);
}

static void
monitor_new(struct web_req *r, struct evkeyvalq *q)
{
    const char *name = evhttp_find_header(q, "name");
    char key[WEB_TOKEN_LEN + 1];
    struct evbuffer *b;
    int64_t id;
    int rc;

    if (!name || !*name || strlen(name) >= DB_NAME_MAX) {
        page_error(r, 400, "Give the monitor a name of 1 to 63 bytes.");
        return;
    }
    if (web_token_new(key, "ntspm_") != 0) {
        page_error(r, 500, "No random bytes; try again.");
        return;
    }
    rc = db_monitor_add(r->w->p.db, name, key, r->now, &id);
    if (rc != 0) {
        util_wipe(key, sizeof(key));
        page_error(r, rc == 1 ? 409 : 500,
                   rc == 1 ? "A monitor with this name exists." : "Database error.");
        return;
    }
    log_info("http: admin %lld made monitor %lld", (long long)r->user, (long long)id);
    if (!(b = page_new(r, "New monitor"))) {
        util_wipe(key, sizeof(key));
        return;
    }
    html_notice(b, "ok", "The monitor is made. Copy its key now: it is not shown again.");
    html_printf(b, "<p>Monitor <strong>%s</strong>, key:</p>\n<p class=\"secret\">%s</p>\n"
                   "<p><a href=\"/admin/monitors\">Back to the monitors</a></p>\n",
                name, key);
    util_wipe(key, sizeof(key));
    page_reply(r, 200, b);
    evbuffer_free(b);
}

static void
all_sources_page(struct web_req *r)
{
    struct db_source_status *s = NULL;
    struct db_user *u = NULL;
    struct evbuffer *b;
    char t[HTML_TIME_LEN];
    size_t n = 0, nu = 0;

    if (db_sources_of_owner(r->w->p.db, -1, r->now, &s, &n) != 0 ||
        db_users_list(r->w->p.db, &u, &nu) != 0) {
        free(s);
        page_error(r, 500, "Database error; try again.");
        return;
    }
    if (!(b = page_new(r, "All time sources"))) {
        free(s);
        free(u);
        return;
    }
    html_printf(b, "<p>%j active sources.</p>\n<div class=\"table-wrap\"><table>\n"
                   "<thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Server</th>"
                   "<th scope=\"col\">Owner</th><th scope=\"col\">Added</th>"
                   "<th scope=\"col\">In the pool</th></tr></thead>\n<tbody>\n",
                (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        const char *owner = "?";
        /* Users come ordered by id: a binary search finds the owner. */
        size_t lo = 0, hi = nu;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (u[mid].id < s[i].src.owner)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < nu && u[lo].id == s[i].src.owner)
            owner = u[lo].email;
        html_printf(b, "<tr><td class=\"num\">%j</td><td>%s:%d</td><td>%s</td><td>%s</td>"
                       "<td>%s%s%s</td></tr>\n",
                    s[i].src.id, s[i].src.host, s[i].src.port, owner,
                    html_time(t, s[i].src.created), s[i].in_pool ? "yes" : "no",
                    s[i].in_pool ? "" : ": ", s[i].in_pool ? "" : s[i].why);
    }
    html_printf(b, "</tbody></table></div>\n");
    free(s);
    util_wipe(u, nu * sizeof(*u));
    free(u);
    page_reply(r, 200, b);
    evbuffer_free(b);
}

/* POST /admin/users/{id}/block|unblock, /admin/monitors/{id}/revoke */
static void
act(struct web_req *r, const char *what, int64_t id)
{
    int rc;

    if (strcmp(what, "revoke") == 0) {
        struct db_monitor m;
        rc = db_monitor_get(r->w->p.db, id, &m);
        if (rc == 1 && strcmp(m.name, BUILTIN_MONITOR) == 0)
            rc = 0; /* the service's own: stop it with [monitor] builtin = no */
        if (rc == 1)
            rc = db_monitor_set_status(r->w->p.db, id, DB_MONITOR_REVOKED);
    } else {
        if (id == r->user)
            rc = 0; /* not oneself: an admin locked out by mistake needs the shell */
        else
            rc = db_user_set_blocked(r->w->p.db, id, strcmp(what, "block") == 0);
    }
    if (rc < 0) {
        page_error(r, 500, "Database error; try again.");
        return;
    }
    if (rc == 0) {
        page_error(r, 404, "There is no such entry.");
        return;
    }
    log_info("http: admin %lld: %s %lld", (long long)r->user, what, (long long)id);
    page_redirect(r, strcmp(what, "revoke") == 0 ? "/admin/monitors" : "/admin/users");
}

void
admin_page(struct web_req *r, const char *sub)
{
    struct evkeyvalq q;
    const char *what = NULL;
    int64_t id = 0;
    size_t n;

    if (page_user(r) != 0)
        return;
    if (!r->sess.is_admin) {
        page_error(r, 404, "There is no such page.");
        return;
    }
    if (strncmp(sub, "/users/", 7) == 0 && (n = web_parse_id(sub + 7, &id)) > 0 &&
        (strcmp(sub + 7 + n, "/block") == 0 || strcmp(sub + 7 + n, "/unblock") == 0))
        what = sub + 7 + n + 1;
    else if (strncmp(sub, "/monitors/", 10) == 0 && (n = web_parse_id(sub + 10, &id)) > 0 &&
             strcmp(sub + 10 + n, "/revoke") == 0)
        what = "revoke";
    else if (strcmp(sub, "/monitors") == 0 && r->method == EVHTTP_REQ_POST)
        what = "new";
    if (what) {
        if (page_form(r, &q) != 0)
            return;
        if (strcmp(what, "new") == 0)
            monitor_new(r, &q);
        else
            act(r, what, id);
        evhttp_clear_headers(&q);
        return;
    }
    if (r->method != EVHTTP_REQ_GET) {
        page_error(r, 405, "Use GET.");
        return;
    }
    if (!*sub || strcmp(sub, "/") == 0)
        overview(r);
    else if (strcmp(sub, "/users") == 0)
        users_page(r);
    else if (strcmp(sub, "/monitors") == 0)
        monitors_page(r);
    else if (strcmp(sub, "/sources") == 0)
        all_sources_page(r);
    else
        page_error(r, 404, "There is no such page.");
}
