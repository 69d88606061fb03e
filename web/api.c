/* api.c - the JSON API of time sources (PRODUCT.md "JSON API"): list,
 * create (the token shown once), get, delete, rekey, samples and scores.
 *
 * Every route authenticates first, and a source that is not the caller's
 * is 404, exactly like one that does not exist, so ids reveal nothing.
 * Input is checked before it reaches the database: the host by the
 * PRODUCT.md rule, the port as a JSON integer, query parameters as bounded
 * numbers or known names.  Checking, adding (with the DNS check of private
 * addresses), rekeying and deleting are srcop.c's, shared with the pages. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "util/log.h"
#include "util/util.h"
#include "web/jsonw.h"
#include "web/web_int.h"

static json_t *
real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static const char *
codepoints_str(int cp)
{
    return cp == 1 ? "permanent" : cp == 2 ? "experimental" : NULL;
}

/* PRODUCT.md's SOURCE object, with "token" last when token is not NULL:
   the text json_dumps(JSON_COMPACT | JSON_ENSURE_ASCII) wrote for the same
   jansson object, byte for byte (jsonw_real is jansson's real), without a
   tree per source (a third of GET /api/v1/time-sources/{id}). */
static void
write_source(struct jsonw *w, const struct db_source_status *st, const char *token)
{
    const char *cp = codepoints_str(st->src.codepoints);

    jsonw_raw(w, "{\"id\":");
    jsonw_int(w, st->src.id);
    jsonw_raw(w, ",\"uuid\":");
    jsonw_str(w, st->src.uuid);
    jsonw_raw(w, ",\"host\":");
    jsonw_str(w, st->src.host);
    jsonw_raw(w, ",\"port\":");
    jsonw_int(w, st->src.port);
    jsonw_raw(w, ",\"created\":");
    jsonw_int(w, st->src.created);
    jsonw_raw(w, ",\"in_pool\":");
    jsonw_bool(w, st->in_pool);
    jsonw_raw(w, ",\"reason\":");
    jsonw_str(w, st->in_pool || !st->why[0] ? NULL : st->why);
    jsonw_raw(w, ",\"cert_not_after\":");
    if (st->cert_not_after > 0)
        jsonw_int(w, st->cert_not_after);
    else
        jsonw_raw(w, "null");
    jsonw_raw(w, ",\"codepoints\":");
    jsonw_str(w, cp);
    jsonw_raw(w, ",\"kinds\":{");
    for (int k = 0; k < SCORE_KINDS; k++) {
        const struct db_kind_status *ks = &st->kind[k];

        jsonw_raw(w, k ? ",\"" : "\"");
        jsonw_raw(w, score_kind_str((enum score_kind)k)); /* plain ASCII */
        jsonw_raw(w, "\":{\"applicable\":");
        jsonw_bool(w, ks->cur.state != SCORE_STATE_NA);
        jsonw_raw(w, ",\"score\":");
        jsonw_real(w, ks->cur.state == SCORE_STATE_SCORED ? ks->cur.score : NAN);
        jsonw_raw(w, ",\"monitors\":");
        jsonw_int(w, ks->cur.n_fresh);
        jsonw_raw(w, ",\"last_probe\":");
        if (ks->last_probe > 0)
            jsonw_int(w, ks->last_probe);
        else
            jsonw_raw(w, "null");
        jsonw_raw(w, ",\"reason\":");
        jsonw_str(w, ks->has_last ? result_probe_reason_str(ks->last_reason) : NULL);
        jsonw_raw(w, "}");
    }
    jsonw_raw(w, "}");
    if (token) {
        jsonw_raw(w, ",\"token\":");
        jsonw_str(w, token);
    }
    jsonw_raw(w, "}");
}

/* Reply with what write_source writes for st, or with PRODUCT.md's list
   of list[0..n) when st is NULL (list may then be NULL: none). */
static void
reply_sources(struct web_req *r, int status, const struct db_source_status *st,
              const char *token, const struct db_source_status *list, size_t n)
{
    struct evbuffer *b = evbuffer_new();
    struct jsonw w = {.b = b};

    if (!b) {
        web_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    if (!st) {
        jsonw_raw(&w, "{\"time_sources\":[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                jsonw_raw(&w, ",");
            write_source(&w, &list[i], NULL);
        }
        jsonw_raw(&w, "]}");
    } else {
        write_source(&w, st, token);
    }
    jsonw_raw(&w, "\n");
    web_reply_jsonw(r, status, &w);
}

static void
list_sources(struct web_req *r)
{
    struct db_source_status *list = NULL;
    size_t n = 0;

    if (db_sources_of_owner(r->w->p.db, r->user, r->now, &list, &n) != 0) {
        web_reply_error(r, 500, "internal", "database error");
        return;
    }
    reply_sources(r, 200, NULL, NULL, list, n);
    free(list);
}

/* ---- create ------------------------------------------------------------------- */

static void
created(struct web_req *r, enum srcop_status st, const char *host, int port, int64_t id,
        const char *token)
{
    struct db_source_status ss;

    switch (st) {
    case SRCOP_OK: break;
    case SRCOP_DUPLICATE:
        web_reply_error(r, 409, "duplicate", "%s port %d is already registered", host, port);
        return;
    case SRCOP_PRIVATE:
        web_reply_error(r, 400, "invalid_host",
                        "%s resolves only to loopback, private or link-local addresses",
                        host);
        return;
    case SRCOP_BUSY: web_reply_error(r, 503, "busy", "database busy, try again"); return;
    case SRCOP_INVALID_HOST:
    case SRCOP_INVALID_PORT:
    case SRCOP_ERROR: web_reply_error(r, 500, "internal", "database error"); return;
    }
    if (db_source_status(r->w->p.db, id, r->now, &ss) != 1) {
        web_reply_error(r, 500, "internal", "database error");
        return;
    }
    reply_sources(r, 201, &ss, token, NULL, 0);
}

static void
create_source(struct web_req *r)
{
    json_t *body, *jh, *jp;
    char host[DB_HOST_MAX];
    long port = SRCOP_DEFAULT_PORT;
    enum srcop_status st;

    if (web_body_json(r, &body) != 0)
        return;
    jh = json_object_get(body, "host");
    jp = json_object_get(body, "port");
    if (jp && !json_is_null(jp))
        port = json_is_integer(jp) && json_integer_value(jp) >= 1 &&
                       json_integer_value(jp) <= 65535
                   ? (long)json_integer_value(jp)
                   : -1;
    st = srcop_check(r, json_is_string(jh) ? json_string_value(jh) : NULL, port, host);
    json_decref(body);
    switch (st) {
    case SRCOP_OK: srcop_add(r, host, (int)port, created); return;
    case SRCOP_INVALID_HOST:
        web_reply_error(r, 400, "invalid_host",
                        "host must be a DNS name (letters, digits, hyphens, dots; "
                        "no IP address)");
        return;
    case SRCOP_INVALID_PORT:
        web_reply_error(r, 400, "invalid_port", "port must be an integer in 1..65535");
        return;
    case SRCOP_DUPLICATE:
    case SRCOP_PRIVATE:
    case SRCOP_BUSY:
    case SRCOP_ERROR: created(r, st, host, (int)port, 0, NULL); return;
    }
}

void
api_sources(struct web_req *r)
{
    if (r->method != EVHTTP_REQ_GET && r->method != EVHTTP_REQ_POST) {
        web_reply_error(r, 405, "method_not_allowed", "use GET or POST");
        return;
    }
    if (web_auth(r) != 0)
        return;
    if (r->method == EVHTTP_REQ_GET)
        list_sources(r);
    else
        create_source(r);
}

/* ---- one source --------------------------------------------------------------- */

/* A string json_pack's "s" takes (json_string: not NULL, valid UTF-8). */
static bool
packable(const char *s)
{
    return s && util_utf8_valid(s, strlen(s), false);
}

/* The samples reply, written straight into the body (web/jsonw.h): the
   jansson tree of a page of full results cost ~40x a page of scores.  Each
   row's "probe" is its stored result (db_sample_result, the shared part of
   a page parsed once per detail row) written by db_result_write into a
   buffer of its own, and left out when it fails, as db_sample_json's NULL
   left it out.  The text is what json_dumps(JSON_COMPACT |
   JSON_ENSURE_ASCII) wrote of the tree before, byte for byte. */
static void
reply_samples(struct web_req *r, const struct db_sample_row *rows, size_t n)
{
    struct evbuffer *b = evbuffer_new(), *pb = evbuffer_new();
    struct db_detail_cache *cache = calloc(1, sizeof(*cache));
    struct probe_result *res = malloc(sizeof(*res));
    struct jsonw w = {.b = b};
    bool ok = b && pb && cache && res;

    jsonw_raw(&w, "{\"samples\":[");
    for (size_t i = 0; ok && i < n; i++) {
        const struct db_sample_row *s = &rows[i];
        const char *mon = monsel_name(r->w, s->monitor, r->now);
        struct jsonw pw = {.b = pb};

        if (!packable(score_kind_str(s->kind)) || !packable(mon) || !packable(s->address) ||
            !packable(result_probe_reason_str(s->reason))) {
            ok = false;
            break;
        }
        jsonw_raw(&w, i ? ",{\"time\":" : "{\"time\":");
        jsonw_int(&w, s->time);
        jsonw_raw(&w, ",\"kind\":");
        jsonw_str(&w, score_kind_str(s->kind));
        jsonw_raw(&w, ",\"monitor\":");
        jsonw_str(&w, mon);
        jsonw_raw(&w, ",\"monitor_id\":");
        jsonw_int(&w, s->monitor);
        jsonw_raw(&w, ",\"address\":");
        jsonw_str(&w, s->address);
        jsonw_raw(&w, ",\"reason\":");
        jsonw_str(&w, result_probe_reason_str(s->reason));
        jsonw_raw(&w, ",\"step\":");
        jsonw_real(&w, s->step);
        jsonw_raw(&w, ",\"score\":");
        jsonw_real(&w, s->score);
        if (db_sample_result(r->w->p.db, s->id, cache, res) == 0) {
            int rc = db_result_write(&pw, res);

            jsonw_flush(&pw);
            if (rc == 0 && !pw.failed) {
                jsonw_raw(&w, ",\"probe\":");
                jsonw_flush(&w);
                if (evbuffer_add_buffer(b, pb) != 0)
                    w.failed = true;
            }
            evbuffer_drain(pb, evbuffer_get_length(pb));
        }
        jsonw_raw(&w, "}");
    }
    jsonw_raw(&w, "]}\n");
    jsonw_flush(&w);
    if (ok && !w.failed)
        web_reply(r, 200, "application/json", b);
    else
        web_reply_error(r, 500, "internal", "out of memory");
    if (b)
        evbuffer_free(b);
    if (pb)
        evbuffer_free(pb);
    free(cache);
    free(res);
}

static void
samples_or_scores(struct web_req *r, int64_t id, bool scores)
{
    struct db_sample_query q;
    struct db_sample_row *rows = NULL;
    size_t n = 0;
    json_t *arr;

    memset(&q, 0, sizeof(q));
    q.source = id;
    if (monsel_query(r, &q) != 0)
        return;
    if (db_recent_samples(r->w->p.db, &q, &rows, &n) != 0) {
        web_reply_error(r, 500, "internal", "database error");
        return;
    }
    if (!scores) {
        reply_samples(r, rows, n);
        free(rows);
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        const struct db_sample_row *s = &rows[i];
        json_t *o = json_pack("{s:I,s:s,s:s,s:o,s:o}", "time", (json_int_t)s->time, "kind",
                              score_kind_str(s->kind), "monitor",
                              monsel_name(r->w, s->monitor, r->now), "score",
                              real_or_null(s->score), "step", real_or_null(s->step));

        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(rows);
    web_reply_json(r, 200, arr ? json_pack("{s:o}", "scores", arr) : NULL);
}

void
api_source(struct web_req *r, int64_t id, const char *sub)
{
    struct web *w = r->w;
    struct db_source_status st;
    char token[DB_TOKEN_LEN + 1];
    int rc;

    if (web_auth(r) != 0)
        return;
    rc = db_source_status(w->p.db, id, r->now, &st);
    if (rc < 0) {
        web_reply_error(r, 500, "internal", "database error");
        return;
    }
    if (rc == 0 || st.src.owner != r->user) {
        web_reply_error(r, 404, "not_found", "no such time source");
        return;
    }
    if (!*sub) {
        if (r->method == EVHTTP_REQ_GET) {
            reply_sources(r, 200, &st, NULL, NULL, 0);
        } else if (r->method == EVHTTP_REQ_DELETE) {
            rc = srcop_delete(r, id);
            if (rc != 1) {
                web_reply_error(r, rc == 0 ? 404 : 500, rc == 0 ? "not_found" : "internal",
                                rc == 0 ? "no such time source" : "database error");
                return;
            }
            web_reply_empty(r, 204);
        } else {
            web_reply_error(r, 405, "method_not_allowed", "use GET or DELETE");
        }
        return;
    }
    if (strcmp(sub, "rekey") == 0) {
        if (r->method != EVHTTP_REQ_POST) {
            web_reply_error(r, 405, "method_not_allowed", "use POST");
            return;
        }
        rc = srcop_rekey(r, id, token);
        if (rc != 1) {
            web_reply_error(r, rc == 0 ? 404 : 500, rc == 0 ? "not_found" : "internal",
                            rc == 0 ? "no such time source" : "database error");
            return;
        }
        web_reply_json(r, 200, json_pack("{s:s}", "token", token));
        util_wipe(token, sizeof(token));
        return;
    }
    if (r->method != EVHTTP_REQ_GET) {
        web_reply_error(r, 405, "method_not_allowed", "use GET");
        return;
    }
    samples_or_scores(r, id, strcmp(sub, "scores") == 0);
}
