/* fuzz_http.c - libFuzzer target for the small parsers of request fields,
 * all fed the same text (the input up to its first NUL): the Cookie header
 * (webparse_cookie, the session cookie), the Authorization header
 * (webparse_bearer), a Content-Type (webparse_form_type), a host name from
 * a user (web_host_normalize), an id in a path (web_parse_id) and an e-mail
 * address (web_email_ok).  Each result is checked against what its header
 * promises, not just for crashes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"
#include "web/web.h"
#include "web/web_int.h"
#include "web/webparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
http_cookie(const char *s)
{
    char out[66], key[sizeof(SESSION_COOKIE) + 1];
    const char *p;
    size_t n;

    if (webparse_cookie(s, SESSION_COOKIE, out, sizeof(out)) != 0)
        return;
    n = strlen(out);
    if (n >= sizeof(out) || strchr(out, ';') || (n && out[n - 1] == ' '))
        __builtin_trap();
    /* The value follows "ntspool_session=" at the start of a cookie. */
    memcpy(key, SESSION_COOKIE "=", sizeof(key));
    for (p = s; (p = strstr(p, key)); p++)
        if ((p == s || p[-1] == ' ' || p[-1] == ';') &&
            strncmp(p + sizeof(key) - 1, out, n) == 0)
            break;
    if (!p)
        __builtin_trap();
    if (webparse_hex(out, 64) != (n == 64 && strspn(out, "0123456789abcdef") == 64))
        __builtin_trap();
}

static void
http_bearer(const char *s)
{
    const char *tok = NULL;
    int rc = webparse_bearer(s, 128, &tok);
    bool prefix = strncasecmp(s, "Bearer ", 7) == 0;

    if ((rc == -1) == prefix || rc < -2 || rc > 0)
        __builtin_trap();
    if (rc == 0 && (tok < s + 7 || tok > s + strlen(s) || *tok == ' ' || !*tok ||
                    strlen(tok) > 128 || !util_utf8_valid(tok, strlen(tok), true) ||
                    strspn(s + 7, " ") != (size_t)(tok - s - 7)))
        __builtin_trap();
}

static void
http_host(const char *s, size_t len)
{
    char *out = malloc(len + 1), again[300];
    size_t n, label = 0;
    bool digits = true;

    if (!out)
        return;
    if (web_host_normalize(s, out, len + 1) != 0) {
        free(out);
        return;
    }
    n = strlen(out);
    if (n == 0 || n > 253 || (len != n && !(len == n + 1 && s[n] == '.')) ||
        strncasecmp(s, out, n) != 0)
        __builtin_trap();
    for (size_t i = 0; i <= n; i++) {
        char c = out[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || out[i - 1] == '-' || out[i - label] == '-')
                __builtin_trap();
            if (c == '\0' && digits)
                __builtin_trap();
            label = 0;
            digits = true;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            __builtin_trap();
        if (c < '0' || c > '9')
            digits = false;
        label++;
    }
    /* Idempotent, and a buffer one byte short is refused, not overrun. */
    if (web_host_normalize(out, again, sizeof(again)) != 0 || strcmp(again, out) != 0)
        __builtin_trap();
    if (web_host_normalize(out, again, n) == 0)
        __builtin_trap();
    free(out);
}

static void
http_id(const char *s)
{
    int64_t id = -1, v = 0;
    size_t n = web_parse_id(s, &id), digits = strspn(s, "0123456789");

    if (n == 0) {
        if (s[0] >= '1' && s[0] <= '9' && digits <= 18)
            __builtin_trap();
        return;
    }
    if (n != digits || n > 18 || s[0] == '0')
        __builtin_trap();
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    if (v != id || id < 1)
        __builtin_trap();
}

static void
http_email(const char *s)
{
    const char *at;

    if (!web_email_ok(s))
        return;
    at = strchr(s, '@');
    if (!at || at == s || !at[1] || strchr(at + 1, '@') || strlen(s) >= DB_EMAIL_MAX ||
        strpbrk(s, " \t<>\"'") || !util_utf8_valid(s, strlen(s), true))
        __builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    size_t len;

    if (size > 4096)
        return 0;
    s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    len = strlen(s);
    http_cookie(s);
    http_bearer(s);
    if (webparse_form_type(s) !=
        (strncasecmp(s, "application/x-www-form-urlencoded", 33) == 0 &&
         (s[33] == '\0' || s[33] == ';')))
        __builtin_trap();
    http_host(s, len);
    http_id(s);
    http_email(s);
    free(s);
    return 0;
}
