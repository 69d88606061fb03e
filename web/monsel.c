/* monsel.c - the monitor names the web shows, cached, and the selection of
 * samples a query string makes (kind=, monitor=, since=, limit=), one
 * implementation for the JSON API (api.c), the NTP-pool-compatible history
 * (compat.c) and the source page's filter (details.c).
 *
 * monitor= is a monitor's name or its numeric id ("*" or empty: all).  A
 * name is looked up first, so a monitor named "7" is found by its name.  A
 * monitor that does not exist is a 400 bad_parameter saying which (the
 * query named something that cannot match, which is the caller's mistake,
 * not an empty result). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "util/util.h"
#include "web/web_int.h"

/* Monitors are few, never deleted, and a monitor's name never changes (db/:
   no rename), so a name found in the cache is right for good; a miss (a
   monitor added since, by this process or an administration command) reloads
   the list, at most once every MONSEL_RETRY_S so that a wrong name in a
   query cannot make every request a query. */
#define MONSEL_RETRY_S 1

static int
load(struct web *w, int64_t now)
{
    struct db_monitor *m = NULL;
    size_t n = 0;

    w->mons_loaded = now;
    if (db_monitors_list(w->p.db, &m, &n) != 0)
        return -1;
    free(w->mons);
    w->mons = m;
    w->nmons = n;
    w->mons_valid = true;
    return 0;
}

const struct db_monitor *
monsel_find(struct web *w, int64_t id, const char *name, int64_t now)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < w->nmons; i++)
            if (id >= 0 ? w->mons[i].id == id : strcmp(w->mons[i].name, name) == 0)
                return &w->mons[i];
        if (pass == 0 && (!w->mons_valid || now - w->mons_loaded >= MONSEL_RETRY_S ||
                          now < w->mons_loaded)) {
            if (load(w, now) != 0)
                return NULL;
        } else {
            break;
        }
    }
    return NULL;
}

const char *
monsel_name(struct web *w, int64_t id, int64_t now)
{
    const struct db_monitor *m = monsel_find(w, id, NULL, now);

    return m ? m->name : "";
}

int
monsel_parse(struct web_req *r, const char *mon, int64_t *id, char *why, size_t whylen)
{
    const struct db_monitor *m;
    long n;

    *id = -1;
    if (!mon || !*mon || strcmp(mon, "*") == 0)
        return 0;
    m = monsel_find(r->w, -1, mon, r->now);
    if (!m && util_parse_long(mon, 1, INT64_MAX / 2, &n) == 0) {
        m = monsel_find(r->w, n, NULL, r->now);
        if (!m) {
            snprintf(why, whylen, "unknown monitor: no monitor has id %ld", n);
            return -1;
        }
    }
    if (!m) {
        snprintf(why, whylen, "unknown monitor: no monitor is named \"%.*s\"",
                 MONSEL_ECHO_MAX, mon);
        return -1;
    }
    *id = m->id;
    return 0;
}

int
monsel_query(struct web_req *r, struct db_sample_query *q)
{
    struct evkeyvalq params;
    const char *kind;
    char why[128];
    long since = 0, limit = 100;
    int rc = -1;

    if (web_query(r, &params) != 0)
        return -1;
    q->kind = -1;
    q->monitor = -1;
    kind = evhttp_find_header(&params, "kind");
    if (kind && *kind) {
        enum score_kind k;
        if (score_kind_parse(kind, &k) != 0) {
            web_reply_error(r, 400, "bad_parameter",
                            "kind must be nts-v4, nts-v6, pool-v4 or pool-v6");
            goto out;
        }
        q->kind = (int)k;
    }
    if (monsel_parse(r, evhttp_find_header(&params, "monitor"), &q->monitor, why,
                     sizeof(why)) != 0) {
        web_reply_error(r, 400, "bad_parameter", "%s", why);
        goto out;
    }
    if (web_param_int(r, &params, "since", 0, INT64_MAX / 2, &since) != 0 ||
        web_param_int(r, &params, "limit", 1, 1000000, &limit) != 0)
        goto out;
    q->since = since;
    q->limit = limit > WEB_MAX_PAGE ? WEB_MAX_PAGE : (size_t)limit;
    rc = 0;
out:
    evhttp_clear_headers(&params);
    return rc;
}

void
monsel_free(struct web *w)
{
    free(w->mons);
    w->mons = NULL;
    w->nmons = 0;
    w->mons_valid = false;
}
