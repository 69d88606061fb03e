/* monapi.c - the monitor API of the service (MONITOR-API.md): GET
 * /monitoring/get_work and POST /monitoring/submit for remote monitors,
 * authenticated by their bearer monitor key (db_monitor_auth: only the hash
 * is stored, compared in constant time; an unknown, paused or revoked key
 * gets 401).  The JSON shapes are monwire's.
 *
 * get_work lists every active source as Srvv4 and Srvv6 items and, with the
 * source's token, as Poolv4 and Poolv6 items.  A token is a credential of
 * the operator's server: ntspoold itself speaks plain HTTP, so tokens go
 * only to a loopback peer (a local agent, or the TLS-terminating proxy in
 * front of the service); other peers get the Srv items only.
 *
 * The list of items is the same for every monitor: it is rendered once per
 * variant (with or without the tokens) and kept as JSON text until the
 * sources change (db_sources_generation); each answer references that text
 * (refcounted, not copied) between its own few fields.  Rendering 10,000
 * sources (~5 MB) takes ~150 ms of the loop, which many agents fetching it
 * would otherwise spend again and again (scripts/bench-getwork.sh).
 *
 * submit checks each result on its own (monwire_sample_parse, then: a kind
 * we hand out, an active source) and refuses a bad one with a reason while
 * keeping the others; the valid ones are stored in one short transaction
 * through db_store_samples, the path of the built-in monitor's batches, so
 * a kind's score is the median over the built-in and the remote monitors.
 * A resubmitted result is a duplicate (same monitor, source, kind and start
 * second), not a second sample.  The whole request runs on the loop: one
 * bounded body (MONWIRE_MAX_BODY), at most MONWIRE_MAX_ITEMS results, one
 * transaction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>

#include "util/log.h"
#include "util/util.h"
#include "web/monwire.h"
#include "web/web_int.h"
#include "web/webparse.h"

#define WORK_PAGE          1000 /* sources read per query */
/* Bytes a get_work answer may write per pass of the loop.  libevent's
   default, 16 KiB, makes a 2 MB list take 120 passes, each long when the
   loop is busy probing (scripts/soak.sh saw fetches of 3-13 s). */
#define WORK_WRITE_MAX     (1024 * 1024)
#define UPDATE_INTERVAL_S  300
/* Results per submit: an agent sends one batch at a time, so it delivers
   a batch per round trip.  The existing pool's 10 did not keep up with
   10,000 sources (scripts/soak.sh: two agents delivered 16 batches/s between
   them and spooled half their results), so unless [monitor] result_batchsize
   sets it, it grows with the work list: one per 100 items, within these
   bounds. */
#define RESULT_BATCH_MIN   10
#define RESULT_BATCH_MAX   100
#define KEY_MAX            128

/* Authenticate the bearer monitor key: 0 and *m, or -1 after a reply. */
static int
monitor_auth(struct web_req *r, struct db_monitor *m)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req),
                                       "Authorization");
    const char *key;
    int rc;

    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        web_reply_error(r, 401, "unauthorized", "a monitor key is required "
                                                "(Authorization: Bearer KEY)");
        return -1;
    }
    key = h + 7;
    while (*key == ' ')
        key++;
    if (!*key || strlen(key) > KEY_MAX || !web_text_ok(key, strlen(key))) {
        web_reply_error(r, 401, "unauthorized", "unknown monitor key");
        return -1;
    }
    rc = db_monitor_auth(r->w->p.db, key, r->now, m);
    if (rc < 0) {
        web_reply_error(r, 500, "internal", "database error");
        return -1;
    }
    if (rc == 0) {
        web_reply_error(r, 401, "unauthorized", "unknown or revoked monitor key");
        return -1;
    }
    return 0;
}

/* True when the request's peer is a loopback address. */
static bool
peer_is_loopback(struct web_req *r)
{
    struct evhttp_connection *c = evhttp_request_get_connection(r->req);
    const struct sockaddr *sa = c ? evhttp_connection_get_addr(c) : NULL;

    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        const unsigned char *b = in6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127;
    }
    return false;
}

/* A rendered list of items, shared by the cache and the answers sending it. */
struct work_text {
    int refs;
    bool secret; /* holds tokens: wiped when freed */
    size_t items, len;
    char *text;
};

struct monapi_cache {
    struct work_text *t[2]; /* [tokens] */
    uint64_t gen[2];
};

static void
text_unref(struct work_text *t)
{
    if (!t || --t->refs > 0)
        return;
    if (t->secret)
        util_wipe(t->text, t->len);
    free(t->text);
    free(t);
}

/* evbuffer_add_reference's cleanup: the answer has been sent or dropped. */
static void
text_sent(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    text_unref(arg);
}

void
monapi_free(struct web *w)
{
    if (!w->work)
        return;
    for (int i = 0; i < 2; i++)
        text_unref(w->work->t[i]);
    free(w->work);
    w->work = NULL;
}

static int
add_item(json_t *list, const char *kind, const struct db_source *d, const char *token)
{
    json_t *o = json_pack("{s:s,s:s,s:i}", "uuid", d->uuid, "domain", d->host, "port",
                          d->port);

    if (!o)
        return -1;
    if (token && json_object_set_new(o, "token", json_string(token)) != 0) {
        json_decref(o);
        return -1;
    }
    return json_array_append_new(list, json_pack("[s,o]", kind, o));
}

/* The items of every active source as JSON text (a new reference), or
   NULL after a reply. */
static struct work_text *
render_list(struct web_req *r, bool tokens)
{
    int64_t after = 0;
    json_t *list = json_array();
    struct work_text *t;

    for (;;) {
        struct db_source *page = NULL;
        size_t n = 0;

        if (!list || db_sources_active(r->w->p.db, after, WORK_PAGE, &page, &n) != 0) {
            json_decref(list);
            web_reply_error(r, 500, "internal", "database error");
            return NULL;
        }
        for (size_t i = 0; i < n; i++) {
            const struct db_source *d = &page[i];
            char token[DB_TOKEN_LEN + 1];
            int rc = add_item(list, "Srvv4", d, NULL) | add_item(list, "Srvv6", d, NULL);

            if (tokens && d->randomizer[0] && rc == 0) {
                if (db_token_derive(r->w->p.secret, DB_SECRET_LEN, d->uuid, d->randomizer,
                                    token) != 0)
                    rc = -1;
                else
                    rc = add_item(list, "Poolv4", d, token) |
                         add_item(list, "Poolv6", d, token);
                util_wipe(token, sizeof(token));
            }
            if (rc != 0) {
                free(page);
                json_decref(list);
                web_reply_error(r, 500, "internal", "out of memory");
                return NULL;
            }
            after = d->id;
        }
        free(page);
        if (n < WORK_PAGE)
            break;
    }
    t = calloc(1, sizeof(*t));
    if (t) {
        t->refs = 1;
        t->secret = tokens;
        t->items = json_array_size(list);
        t->text = json_dumps(list, JSON_COMPACT | JSON_ENSURE_ASCII);
        t->len = t->text ? strlen(t->text) : 0;
    }
    json_decref(list);
    if (!t || !t->text) {
        free(t);
        web_reply_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    return t;
}

/* The variant's list from the cache, rendered again when the sources may
   have changed (a new reference), or NULL after a reply. */
static struct work_text *
cached_list(struct web_req *r, bool tokens)
{
    struct web *w = r->w;
    uint64_t gen = db_sources_generation(w->p.db);
    struct work_text *t;

    if (!w->work && !(w->work = calloc(1, sizeof(*w->work)))) {
        web_reply_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    t = w->work->t[tokens];
    if (!t || w->work->gen[tokens] != gen) {
        if (!(t = render_list(r, tokens)))
            return NULL;
        text_unref(w->work->t[tokens]);
        w->work->t[tokens] = t;
        w->work->gen[tokens] = gen;
    }
    t->refs++;
    return t;
}

/* The fields after the list, as JSON text without its opening brace, then
   a newline: ',"poolke":null,...}\n' (malloc'd), or NULL. */
static char *
work_tail(const struct config *cfg, size_t items)
{
    size_t batch = cfg->result_batchsize > 0 ? (size_t)cfg->result_batchsize : items / 100;
    char endpoint[CONFIG_URL_MAX + 32], *s, *out = NULL;
    json_t *j;

    snprintf(endpoint, sizeof(endpoint), "%s/monitoring/submit", cfg->public_url);
    j = json_pack("{s:n,s:s,s:i,s:o,s:o,s:o,s:o,s:o}", "poolke", "result_endpoint", endpoint,
                  "result_batchsize",
                  (int)(cfg->result_batchsize > 0      ? batch
                        : batch < RESULT_BATCH_MIN   ? RESULT_BATCH_MIN
                        : batch > RESULT_BATCH_MAX ? RESULT_BATCH_MAX
                                                   : batch),
                  "result_max_waittime",
                  monwire_duration_json(cfg->result_max_waittime), "update_interval",
                  monwire_duration_json(UPDATE_INTERVAL_S), "probe_interval",
                  monwire_duration_json(cfg->interval), "nts_timeout",
                  monwire_duration_json(cfg->ke_timeout), "ntp_timeout",
                  monwire_duration_json(cfg->ntp_timeout));
    s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(j);
    if (s && s[0] == '{' && (out = malloc(strlen(s) + 2)) != NULL)
        sprintf(out, ",%s\n", s + 1);
    free(s);
    return out;
}

void
monapi_get_work(struct web_req *r)
{
    struct db_monitor m;
    bool tokens = peer_is_loopback(r);
    struct work_text *t;
    struct evbuffer *b;
    char *tail;
    static const char head[] = "{\"timesources\":";

    if (r->method != EVHTTP_REQ_GET) {
        web_reply_error(r, 405, "method_not_allowed", "use GET");
        return;
    }
    if (monitor_auth(r, &m) != 0)
        return;
    if (!(t = cached_list(r, tokens)))
        return;
    tail = work_tail(r->w->p.cfg, t->items);
    b = evbuffer_new();
    /* head, the shared list (referenced: t's reference passes to b), tail */
    if (!tail || !b || evbuffer_add(b, head, sizeof(head) - 1) != 0 ||
        evbuffer_add_reference(b, t->text, t->len, text_sent, t) != 0) {
        text_unref(t);
        free(tail);
        if (b)
            evbuffer_free(b);
        web_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    if (evbuffer_add(b, tail, strlen(tail)) != 0) {
        free(tail);
        evbuffer_free(b);
        web_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    free(tail);
    log_debug("monitor %s: work list of %zu items%s", m.name, t->items,
              tokens ? "" : " (no pool items: not a loopback peer)");
    {
        struct evhttp_connection *c = evhttp_request_get_connection(r->req);
        struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;

        if (bev)
            bufferevent_set_max_single_write(bev, WORK_WRITE_MAX);
    }
    web_reply(r, 200, "application/json", b);
    evbuffer_free(b);
}

/* ---- submit --------------------------------------------------------------------- */

enum item_state { IT_REFUSED = 0, IT_SAMPLE, IT_NA, IT_STORED, IT_DUPLICATE };

struct item {
    enum item_state state;
    char why[MONWIRE_REASON_MAX];
    int64_t source;
    size_t sample; /* index into the batch (IT_SAMPLE) */
};

/* The active source of a uuid: 1 and *out, 0 none, -1 error.  A one-entry
   cache: a batch usually holds several kinds of one source in a row. */
static int
source_of(struct web_req *r, const char *uuid, struct db_source *cache, int *cached,
          struct db_source *out)
{
    int rc;

    if (*cached >= 0 && strcmp(cache->uuid, uuid) == 0) {
        *out = *cache;
        return *cached;
    }
    rc = db_source_by_uuid(r->w->p.db, uuid, cache);
    if (rc < 0)
        return -1;
    if (rc == 1 && cache->deleted)
        rc = 0;
    if (rc == 0)
        snprintf(cache->uuid, sizeof(cache->uuid), "%s", uuid);
    *cached = rc;
    *out = *cache;
    return rc;
}

static json_t *
outcome_json(const struct item *it)
{
    static const char *const names[] = {"refused", "stored", "stored", "stored",
                                        "duplicate"};

    if (it->state == IT_REFUSED)
        return json_pack("{s:s,s:s}", "status", "refused", "reason", it->why);
    return json_pack("{s:s}", "status", names[it->state]);
}

/* Check each entry: fills items[i] and, for results to store, samples. */
static int
check_items(struct web_req *r, const struct db_monitor *m, json_t *arr,
            struct monwire_sample *smp, struct item *items)
{
    const struct config *cfg = r->w->p.cfg;
    int64_t oldest = r->now - (int64_t)cfg->retention_days * 86400;
    struct db_source cache, src;
    int cached = -1;

    memset(&cache, 0, sizeof(cache));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        struct item *it = &items[i];
        struct monwire_sample *s = &smp[i];
        int rc;

        if (monwire_sample_parse(json_array_get(arr, i), oldest,
                                 r->now + SCORE_FUTURE_SKEW, s, it->why,
                                 sizeof(it->why)) != 0)
            continue;
        if (s->kind == MONWIRE_IP_V4 || s->kind == MONWIRE_IP_V6) {
            snprintf(it->why, sizeof(it->why), "not_assigned");
            continue;
        }
        rc = source_of(r, s->uuid, &cache, &cached, &src);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            snprintf(it->why, sizeof(it->why), "unknown_source");
            continue;
        }
        if (s->res.kind == PROBE_KIND_POOL && !src.randomizer[0]) {
            snprintf(it->why, sizeof(it->why), "not_assigned");
            continue;
        }
        snprintf(s->res.host, sizeof(s->res.host), "%s", src.host);
        s->res.port = (uint16_t)src.port;
        util_utf8_sanitize(s->res.ke.detail);
        it->source = src.id;
        it->state = s->not_applicable ? IT_NA : IT_SAMPLE;
        (void)m;
    }
    return 0;
}

void
monapi_submit(struct web_req *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in), n, nsamples = 0;
    const struct config *cfg = r->w->p.cfg;
    struct monwire_sample *smp = NULL;
    struct db_sample *batch = NULL;
    struct db_stored *stored = NULL;
    struct item *items = NULL;
    struct db_monitor m;
    size_t count[5] = {0};
    json_error_t e;
    json_t *arr, *res = NULL;
    const char *p;

    if (r->method != EVHTTP_REQ_POST) {
        web_reply_error(r, 405, "method_not_allowed", "use POST");
        return;
    }
    if (monitor_auth(r, &m) != 0)
        return;
    if (r->w->p.hooks.writes_held && r->w->p.hooks.writes_held(r->w->p.hooks.arg)) {
        /* The agent keeps the batch (spool) and sends it again. */
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", "1");
        web_reply_error(r, 503, "busy", "the database is catching up; send again shortly");
        return;
    }
    if (len > MONWIRE_MAX_BODY) {
        web_reply_error(r, 413, "too_large", "the body is over %d bytes", MONWIRE_MAX_BODY);
        return;
    }
    p = (const char *)evbuffer_pullup(in, -1);
    if (p && webparse_json_depth(p, len, WEBPARSE_JSON_DEPTH) > WEBPARSE_JSON_DEPTH) {
        web_reply_error(r, 400, "bad_json", "arrays and objects nest deeper than %d",
                        WEBPARSE_JSON_DEPTH);
        return;
    }
    arr = p && len ? json_loadb(p, len, JSON_REJECT_DUPLICATES, &e) : NULL;
    if (!json_is_array(arr)) {
        json_decref(arr);
        web_reply_error(r, 400, "bad_json", "a JSON array of results is expected");
        return;
    }
    n = json_array_size(arr);
    if (n > MONWIRE_MAX_ITEMS) {
        json_decref(arr);
        web_reply_error(r, 413, "too_many", "more than %d results", MONWIRE_MAX_ITEMS);
        return;
    }
    smp = calloc(n ? n : 1, sizeof(*smp));
    items = calloc(n ? n : 1, sizeof(*items));
    batch = calloc(n ? n : 1, sizeof(*batch));
    stored = calloc(n ? n : 1, sizeof(*stored));
    if (!smp || !items || !batch || !stored) {
        web_reply_error(r, 500, "internal", "out of memory");
        goto out;
    }
    if (check_items(r, &m, arr, smp, items) != 0) {
        web_reply_error(r, 500, "internal", "database error");
        goto out;
    }
    if (db_begin(r->w->p.db) != 0) {
        web_reply_error(r, 503, "busy", "database busy, try again");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        if (it->state == IT_NA) {
            enum score_kind k;
            if (score_kind_of(smp[i].res.kind, smp[i].res.family, &k) != 0 ||
                db_store_not_applicable(r->w->p.db, it->source, k, m.id, smp[i].time,
                                        cfg->interval, r->now) < 0)
                goto rollback;
        } else if (it->state == IT_SAMPLE) {
            batch[nsamples].source = it->source;
            batch[nsamples].monitor = m.id;
            batch[nsamples].res = &smp[i].res;
            batch[nsamples].clock_error = smp[i].clock_error;
            batch[nsamples].interval = cfg->interval;
            it->sample = nsamples++;
        }
    }
    if (nsamples && db_store_samples(r->w->p.db, batch, nsamples, r->now, stored) != 0)
        goto rollback;
    if (db_commit(r->w->p.db) != 0)
        goto rollback;
    res = json_array();
    for (size_t i = 0; res && i < n; i++) {
        struct item *it = &items[i];
        if (it->state == IT_SAMPLE) {
            switch (stored[it->sample].outcome) {
            case DB_STORED:
            case DB_DISCARDED:
            case DB_LATE:
                it->state = IT_STORED;
                metrics_remote_probe(r->w->p.metrics, stored[it->sample].kind,
                                     stored[it->sample].outcome == DB_DISCARDED
                                         ? PROBE_MONITOR_FAULT
                                         : stored[it->sample].reason);
                break;
            case DB_DUPLICATE: it->state = IT_DUPLICATE; break;
            case DB_INVALID: snprintf(it->why, sizeof(it->why), "malformed"); break;
            case DB_FUTURE: snprintf(it->why, sizeof(it->why), "bad_time"); break;
            case DB_TOO_OLD: snprintf(it->why, sizeof(it->why), "too_old"); break;
            }
            if (it->state == IT_SAMPLE)
                it->state = IT_REFUSED;
        } else if (it->state == IT_NA) {
            it->state = IT_STORED;
        }
        count[it->state]++;
        if (json_array_append_new(res, outcome_json(it)) != 0) {
            json_decref(res);
            res = NULL;
        }
    }
    metrics_samples_stored(r->w->p.metrics, count[IT_STORED]);
    if (r->w->p.hooks.scored && nsamples) {
        int64_t *ids = calloc(nsamples, sizeof(*ids));
        for (size_t i = 0; ids && i < nsamples; i++)
            ids[i] = batch[i].source;
        if (ids)
            r->w->p.hooks.scored(r->w->p.hooks.arg, ids, nsamples);
        free(ids);
    }
    if (count[IT_REFUSED])
        log_info("monitor %s: submit of %zu: %zu stored, %zu duplicate, %zu refused", m.name,
                 n, count[IT_STORED], count[IT_DUPLICATE], count[IT_REFUSED]);
    web_reply_json(r, 200,
                   res ? json_pack("{s:I,s:I,s:I,s:o}", "stored", (json_int_t)count[IT_STORED],
                                   "duplicate", (json_int_t)count[IT_DUPLICATE], "refused",
                                   (json_int_t)count[IT_REFUSED], "results", res)
                       : NULL);
    goto out;
rollback:
    db_rollback(r->w->p.db);
    web_reply_error(r, 503, "store_failed", "the results could not be stored; retry");
out:
    json_decref(arr);
    free(smp);
    free(items);
    free(batch);
    free(stored);
}
