/* webparse.c - request header and body parsing without a request
 * (webparse.h). */
#include "web/webparse.h"

#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "util/util.h"

int
webparse_cookie(const char *h, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);

    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        if (strncmp(h, name, nl) == 0 && h[nl] == '=') {
            const char *v = h + nl + 1;
            size_t n = strcspn(v, ";");

            while (n > 0 && v[n - 1] == ' ')
                n--;
            if (n >= outlen)
                return -1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 0;
        }
        h = strchr(h, ';');
    }
    return -1;
}

bool
webparse_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[n] == '\0';
}

int
webparse_bearer(const char *h, size_t max, const char **tok)
{
    const char *t;
    size_t n;

    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return -1;
    t = h + 7;
    while (*t == ' ')
        t++;
    n = strlen(t);
    if (n == 0 || n > max || !util_utf8_valid(t, n, true))
        return -2;
    *tok = t;
    return 0;
}

bool
webparse_form_type(const char *ct)
{
    return ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0 &&
           (ct[33] == '\0' || ct[33] == ';');
}

int
webparse_query(const char *s, size_t value_max, struct evkeyvalq *q)
{
    struct evkeyval *kv;

    TAILQ_INIT(q);
    /* A decoded NUL would end the value early ("a%00b" read as "a"): no
       text we take has one. */
    if (strstr(s, "%00"))
        return -2;
    if (evhttp_parse_query_str(s, q) != 0) {
        evhttp_clear_headers(q);
        return -1;
    }
    TAILQ_FOREACH(kv, q, next) {
        size_t n = strlen(kv->value);
        if (n > value_max || !util_utf8_valid(kv->value, n, true) ||
            !util_utf8_valid(kv->key, strlen(kv->key), true)) {
            evhttp_clear_headers(q);
            return -2;
        }
    }
    return 0;
}

int
webparse_json_depth(const char *p, size_t len, int max)
{
    int depth = 0, deepest = 0;
    bool in_str = false;

    for (size_t i = 0; i < len; i++) {
        char c = p[i];

        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"')
            in_str = true;
        else if (c == '[' || c == '{') {
            if (++depth > deepest && (deepest = depth) > max)
                return max + 1;
        } else if ((c == ']' || c == '}') && depth > 0)
            depth--;
    }
    return deepest;
}
