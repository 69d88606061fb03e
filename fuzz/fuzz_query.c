/* fuzz_query.c - libFuzzer target for query strings and form bodies
 * (webparse_query, as web_query and page_form call it): the input, up to
 * its first NUL, parsed with each route's value limit.  Checks: 0, -1 or
 * -2; nothing left in the list after an error; on success every key and
 * value valid UTF-8 text without controls and within the limit, and as many
 * fields as evhttp's own parse gives. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "util/util.h"
#include "web/web_int.h"
#include "web/webparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
query_count(struct evkeyvalq *q)
{
    struct evkeyval *kv;
    size_t n = 0;

    TAILQ_FOREACH(kv, q, next)
        n++;
    return n;
}

static void
query_one(const char *s, size_t max)
{
    struct evkeyvalq q, raw;
    struct evkeyval *kv;
    int rc = webparse_query(s, max, &q);

    TAILQ_INIT(&raw);
    if (evhttp_parse_query_str(s, &raw) != 0) {
        if (rc != -1)
            __builtin_trap();
    } else if (rc == -1) {
        __builtin_trap();
    }
    if (rc != 0) {
        if ((rc != -1 && rc != -2) || !TAILQ_EMPTY(&q))
            __builtin_trap();
        evhttp_clear_headers(&raw);
        return;
    }
    if (query_count(&q) != query_count(&raw))
        __builtin_trap();
    TAILQ_FOREACH(kv, &q, next) {
        if (!kv->key || !kv->value || strlen(kv->value) > max ||
            !util_utf8_valid(kv->value, strlen(kv->value), true) ||
            !util_utf8_valid(kv->key, strlen(kv->key), true))
            __builtin_trap();
    }
    evhttp_clear_headers(&q);
    evhttp_clear_headers(&raw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;

    if (size > PAGE_FORM_MAX)
        return 0;
    s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    query_one(s, 256);            /* web_query's PARAM_MAX */
    query_one(s, PAGE_FIELD_MAX); /* page_form */
    free(s);
    return 0;
}
