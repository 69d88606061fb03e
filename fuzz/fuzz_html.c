/* fuzz_html.c - libFuzzer target for the escaping of web/html.c with an
 * arbitrary string (the input up to its first NUL): html_text never lets a
 * '<', '>', '"', '\'' through and unescapes back to the input; html_escape
 * agrees with it and truncates at a whole entity; html_url leaves only
 * unreserved bytes and %XX and decodes back; html_printf, html_field and
 * html_notice put the string in text and attribute context without adding
 * one '<' or '"' to what the same markup holds with an empty string. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "tests/unit/evtext.h"
#include "web/html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
html_count(const char *s, char c)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == c;
    return n;
}

/* Undo html_text: the input again, or a trap on anything it would not write. */
static void
html_unescape_check(const char *e, const char *orig)
{
    static const char *const ent[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
    static const char chr[] = "&<>\"'";
    size_t i = 0;

    while (*e) {
        char c = *e;
        if (c == '<' || c == '>' || c == '"' || c == '\'')
            __builtin_trap();
        if (c == '&') {
            size_t k;
            for (k = 0; k < 5; k++)
                if (strncmp(e, ent[k], strlen(ent[k])) == 0)
                    break;
            if (k == 5)
                __builtin_trap();
            c = chr[k];
            e += strlen(ent[k]);
        } else {
            e++;
        }
        if (orig[i++] != c)
            __builtin_trap();
    }
    if (orig[i] != '\0')
        __builtin_trap();
}

static int
html_hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void
html_url_check(const char *u, const char *orig)
{
    size_t i = 0;

    while (*u) {
        unsigned char c = (unsigned char)*u;
        if (c == '%') {
            int hi = html_hexval(u[1]), lo = hi < 0 ? -1 : html_hexval(u[2]);
            if (lo < 0)
                __builtin_trap();
            c = (unsigned char)(hi * 16 + lo);
            u += 3;
        } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '.' || c == '_' || c == '~') {
            u++;
        } else {
            __builtin_trap();
        }
        if ((unsigned char)orig[i++] != c)
            __builtin_trap();
    }
    if (orig[i] != '\0')
        __builtin_trap();
}

/* Markup of the pieces that take a string, with s and with "". */
static char *
html_markup(struct evbuffer *b, const char *s)
{
    if (html_printf(b, "<p class=\"%s\">%s<a href=\"/x?q=%u\">%d</a>%j %r%%</p>", s, s, s, -7,
                    (int64_t)INT64_MIN, "<br>") != 0 ||
        html_field(b, "text", "name", s, s, s, 12) != 0 || html_notice(b, "error", s) != 0 ||
        html_form_begin(b, "/account", s, s) != 0 || html_form_end(b, s) != 0)
        __builtin_trap();
    return evtext_take(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evbuffer *b;
    char *s, *text, *url, *with, *without, *out;
    size_t need, cut;

    if (size > 4096)
        return 0;
    s = malloc(size + 1);
    b = evbuffer_new();
    if (!s || !b)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';

    if (html_text(b, s) != 0)
        __builtin_trap();
    text = evtext_take(b);
    html_unescape_check(text, s);
    need = html_escape(NULL, 0, s);
    if (need != strlen(text))
        __builtin_trap();
    /* Truncated: a prefix of the whole escape, cut at an entity's start. */
    cut = size ? data[0] % (need + 2) : 0;
    out = malloc(cut + 1);
    if (!out)
        abort();
    if (html_escape(out, cut + 1, s) != need)
        __builtin_trap();
    if (strlen(out) > cut || strncmp(out, text, strlen(out)) != 0 ||
        (text[strlen(out)] != '\0' && strlen(out) + 6 <= cut) ||
        (strlen(out) > 0 && strrchr(out, '&') && !strchr(strrchr(out, '&'), ';')))
        __builtin_trap();
    free(out);

    if (html_url(b, s) != 0)
        __builtin_trap();
    url = evtext_take(b);
    html_url_check(url, s);

    with = html_markup(b, s);
    without = html_markup(b, "");
    if (html_count(with, '<') != html_count(without, '<') ||
        html_count(with, '>') != html_count(without, '>') ||
        html_count(with, '"') != html_count(without, '"') ||
        html_count(with, '\'') != html_count(without, '\''))
        __builtin_trap();
    /* A conversion html_printf does not know appends nothing more. */
    if (html_printf(b, "<i>%x</i>", s) != -1)
        __builtin_trap();
    free(evtext_take(b));

    free(with);
    free(without);
    free(text);
    free(url);
    free(s);
    evbuffer_free(b);
    return 0;
}
