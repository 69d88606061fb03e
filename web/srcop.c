/* srcop.c - what the JSON API (api.c) and the Time sources pages
 * (srcpage.c) both do to a time source: check a new one (host rule, port
 * range, duplicate), add it (after a DNS check of private addresses unless
 * allow_private is on) with its first token, rekey it and delete it.  Each
 * caller turns the outcome into its own reply (JSON errors, or a form shown
 * again with the error next to the field).
 *
 * A name that does not resolve yet is accepted: the score will say so, which
 * is what an operator setting up DNS needs.  The private-address check only
 * refuses a name whose every address is loopback, private or link-local. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/dns.h"
#include "util/log.h"
#include "util/util.h"
#include "web/web_int.h"

enum srcop_status
srcop_check(struct web_req *r, const char *in, long port, char host[DB_HOST_MAX])
{
    struct db_source dup;
    int rc;

    if (!in || strlen(in) >= DB_HOST_MAX || web_host_normalize(in, host, DB_HOST_MAX) != 0)
        return SRCOP_INVALID_HOST;
    if (port < 1 || port > 65535)
        return SRCOP_INVALID_PORT;
    rc = db_source_find(r->w->p.db, host, (int)port, &dup);
    return rc == 0 ? SRCOP_OK : rc > 0 ? SRCOP_DUPLICATE : SRCOP_ERROR;
}

const char *
srcop_message(enum srcop_status st)
{
    switch (st) {
    case SRCOP_OK: return "done";
    case SRCOP_INVALID_HOST:
        return "Enter a DNS name: letters, digits, hyphens and dots, labels of at most 63 "
               "characters not starting or ending with a hyphen; no IP address.";
    case SRCOP_INVALID_PORT: return "The port must be a whole number from 1 to 65535.";
    case SRCOP_DUPLICATE: return "This name and port are already registered.";
    case SRCOP_PRIVATE:
        return "This name resolves only to loopback, private or link-local addresses, "
               "which the pool cannot reach.";
    case SRCOP_BUSY: return "The database is busy; try again.";
    case SRCOP_ERROR: return "Database error; try again.";
    }
    return "error";
}

/* Add the source and make its first token in one transaction. */
static void
add_now(struct web_req *r, const char *host, int port, srcop_added_fn *done)
{
    struct web *w = r->w;
    struct db_source src;
    char token[DB_TOKEN_LEN + 1];
    int rc;

    if (db_begin(w->p.db) != 0) {
        done(r, SRCOP_BUSY, host, port, 0, NULL);
        return;
    }
    rc = db_source_add(w->p.db, r->user, host, port, r->now, &src);
    if (rc == 0)
        rc = db_source_rekey(w->p.db, src.id, r->user, w->p.secret, DB_SECRET_LEN, token) == 1
                 ? 0
                 : -1;
    if (rc != 0 || db_commit(w->p.db) != 0) {
        db_rollback(w->p.db);
        done(r, rc == 1 ? SRCOP_DUPLICATE : SRCOP_ERROR, host, port, 0, NULL);
        return;
    }
    log_info("web: user %lld added source %lld (%s port %d)", (long long)r->user,
             (long long)src.id, host, port);
    if (w->p.hooks.source_changed)
        w->p.hooks.source_changed(w->p.hooks.arg, src.id, false);
    done(r, SRCOP_OK, host, port, src.id, token);
    util_wipe(token, sizeof(token));
}

struct add_wait {
    struct web_req *r;
    struct dns_req *dns;
    srcop_added_fn *done;
    char host[DB_HOST_MAX];
    int port;
};

static void
add_cancel(struct web_req *r)
{
    struct add_wait *a = r->wait;

    if (a->dns)
        dns_cancel(a->dns);
    free(a);
    web_req_abandon(r);
}

static void
add_resolved(const struct dns_result *res, void *arg)
{
    struct add_wait *a = arg;
    struct web_req *r = a->r;
    srcop_added_fn *done = a->done;
    char host[DB_HOST_MAX];
    int port = a->port;

    a->dns = NULL;
    memcpy(host, a->host, sizeof(host));
    web_req_unwait(r);
    free(a);
    if (dns_result_is_refused(res, DNS_REFUSE_ALL_PRIVATE))
        done(r, SRCOP_PRIVATE, host, port, 0, NULL);
    else
        add_now(r, host, port, done);
}

void
srcop_add(struct web_req *r, const char *host, int port, srcop_added_fn *done)
{
    struct add_wait *a;
    struct dns_req *d;

    if (r->w->allow_private) {
        add_now(r, host, port, done);
        return;
    }
    a = calloc(1, sizeof(*a));
    if (!a) {
        done(r, SRCOP_ERROR, host, port, 0, NULL);
        return;
    }
    a->r = r;
    a->done = done;
    a->port = port;
    snprintf(a->host, sizeof(a->host), "%s", host);
    web_req_wait(r, add_cancel, a);
    /* add_resolved may run before dns_resolve returns (hosts file, failure to
       start): then a is already freed and the returned pointer is NULL. */
    d = dns_resolve(r->w->p.dns, a->host, (uint16_t)port, 0, add_resolved, a);
    if (d)
        a->dns = d;
}

int
srcop_rekey(struct web_req *r, int64_t id, char token[DB_TOKEN_LEN + 1])
{
    struct web *w = r->w;
    int rc = db_source_rekey(w->p.db, id, r->user, w->p.secret, DB_SECRET_LEN, token);

    if (rc != 1)
        return rc;
    log_info("web: user %lld rekeyed source %lld", (long long)r->user, (long long)id);
    if (w->p.hooks.source_changed)
        w->p.hooks.source_changed(w->p.hooks.arg, id, false);
    return 1;
}

int
srcop_delete(struct web_req *r, int64_t id)
{
    struct web *w = r->w;
    int rc = db_source_delete(w->p.db, id, r->user, r->now);

    if (rc != 1)
        return rc;
    log_info("web: user %lld deleted source %lld", (long long)r->user, (long long)id);
    if (w->p.hooks.source_changed)
        w->p.hooks.source_changed(w->p.hooks.arg, id, true);
    return 1;
}
