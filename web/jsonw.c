/* jsonw.c - JSON values appended to an evbuffer (see jsonw.h), gathered
 * in the struct's buffer first.
 *
 * Reals: the value times 10^decimals is rounded to an integer (llround) and
 * printed with integer arithmetic, so no locale and no printf on the hot
 * path.  The rounding happens on the scaled double, so a value within an
 * ulp of a tie may round either way: the result is within half a unit of
 * the last decimal plus one ulp of the value, which is far below what the
 * stored numbers mean (offsets are measured to ~1 ns at best). */
#include "web/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

static const int64_t pow10i[JSONW_DECIMALS_MAX + 1] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
};

#define EXACT_LIMIT 9007199254740992.0 /* 2^53: every integer below is a double */

void
jsonw_flush(struct jsonw *w)
{
    if (!w->failed && w->len > 0 && evbuffer_add(w->b, w->buf, w->len) != 0)
        w->failed = true;
    w->len = 0;
}

/* Called when n bytes do not fit in what is left of w->buf. */
void
jsonw_add_slow(struct jsonw *w, const void *p, size_t n)
{
    if (w->failed || n == 0)
        return;
    jsonw_flush(w);
    if (n >= sizeof(w->buf)) {
        if (!w->failed && evbuffer_add(w->b, p, n) != 0)
            w->failed = true;
        return;
    }
    memcpy(w->buf, p, n);
    w->len = n;
}

/* Room for n bytes at w->buf + w->len (n < JSONW_BUF). */
static void
room(struct jsonw *w, size_t n)
{
    if (n > sizeof(w->buf) - w->len)
        jsonw_flush(w);
}

static const char digits2[] = "00010203040506070809101112131415161718192021222324252627282930"
                              "31323334353637383940414243444546474849505152535455565758596061"
                              "62636465666768697071727374757677787980818283848586878889909192"
                              "93949596979899";

/* u's decimal digits ending at `end`, two at a time: returns where they
   start. */
static char *
utoa_back(char *end, uint64_t u)
{
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);

        u /= 100;
        end -= 2;
        memcpy(end, digits2 + 2 * r, 2);
    }
    if (u >= 10) {
        end -= 2;
        memcpy(end, digits2 + 2 * u, 2);
    } else {
        *--end = (char)('0' + u);
    }
    return end;
}

void
jsonw_int(struct jsonw *w, int64_t v)
{
    char buf[24], *end = buf + sizeof(buf), *p;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    p = utoa_back(end, u);
    if (v < 0)
        *--p = '-';
    jsonw_add(w, p, (size_t)(end - p));
}

void
jsonw_bool(struct jsonw *w, bool v)
{
    jsonw_raw(w, v ? "true" : "false");
}

size_t
jsonw_format_fixed(char buf[JSONW_NUM_MAX], double v, int decimals)
{
    double scaled;
    uint64_t u, ip, fp;
    int64_t n;
    size_t len = 0;
    char *p;

    if (!isfinite(v)) {
        memcpy(buf, "null", 5);
        return 4;
    }
    if (decimals < 0)
        decimals = 0;
    if (decimals > JSONW_DECIMALS_MAX)
        decimals = JSONW_DECIMALS_MAX;
    scaled = v * (double)pow10i[decimals];
    if (!(fabs(scaled) < EXACT_LIMIT)) {
        int k = snprintf(buf, JSONW_NUM_MAX, "%.17g", v);

        /* A locale with a decimal comma would make this invalid JSON. */
        for (char *c = buf; *c; c++)
            if (*c == ',')
                *c = '.';
        return k > 0 ? (size_t)k : 0;
    }
    /* llround without the call: scaled is below 2^53, so its integer part
       and the rest are exact. */
    n = (int64_t)scaled;
    if (scaled - (double)n >= 0.5)
        n++;
    else if (scaled - (double)n <= -0.5)
        n--;
    u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    if (n < 0)
        buf[len++] = '-';
    ip = u / (uint64_t)pow10i[decimals];
    fp = u % (uint64_t)pow10i[decimals];
    /* The digits straight into buf: ip's count first, then written
       backwards from its end. */
    {
        size_t nd = 1;

        for (uint64_t x = ip; x >= 10; x /= 10)
            nd++;
        len += nd;
        utoa_back(buf + len, ip);
    }
    if (fp) {
        /* All `decimals` digits (leading zeros included), then the
           trailing zeros dropped: fp != 0, so a digit other than 0 stays. */
        char *first = buf + len + 1, *end = first + decimals;

        buf[len] = '.';
        p = utoa_back(end, fp);
        while (p > first)
            *--p = '0';
        while (end[-1] == '0')
            end--;
        len = (size_t)(end - buf);
    }
    buf[len] = '\0';
    return len;
}

void
jsonw_real(struct jsonw *w, double v)
{
    char buf[JSONW_NUM_MAX], *e;
    int n;

    if (!isfinite(v)) {
        jsonw_raw(w, "null");
        return;
    }
    n = snprintf(buf, sizeof(buf) - 2, "%.17g", v);
    if (n <= 0 || (size_t)n >= sizeof(buf) - 2) {
        w->failed = true;
        return;
    }
    for (char *c = buf; *c; c++) /* a locale's decimal comma, as jansson's from_locale */
        if (*c == ',')
            *c = '.';
    e = strchr(buf, 'e');
    if (!e && !strchr(buf, '.')) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    } else if (e) {
        char *from = e + 1, *to = e + 1;

        if (*from == '+')
            from++;
        else if (*from == '-')
            from = ++to;
        while (*from == '0' && from[1])
            from++;
        memmove(to, from, strlen(from) + 1);
        n = (int)strlen(buf);
    }
    jsonw_add(w, buf, (size_t)n);
}

void
jsonw_fixed(struct jsonw *w, double v, int decimals)
{
    /* Formatted in place: one copy less per number. */
    room(w, JSONW_NUM_MAX);
    w->len += jsonw_format_fixed(w->buf + w->len, v, decimals);
}

/* ---- strings ------------------------------------------------------------------ */

static void
add_u(struct jsonw *w, unsigned cp)
{
    static const char hex[] = "0123456789ABCDEF";
    char e[6] = {'\\', 'u', hex[(cp >> 12) & 15], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15],
                 hex[cp & 15]};

    jsonw_add(w, e, sizeof(e));
}

/* Decode one UTF-8 sequence at s: its code point and length; 0 when the
   bytes are not valid UTF-8 (then one byte is consumed). */
static size_t
utf8_next(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0], min;
    size_t n;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        *cp = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        *cp = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        *cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

void
jsonw_str(struct jsonw *w, const char *str)
{
    const unsigned char *s = (const unsigned char *)str, *run;

    if (!s) {
        jsonw_raw(w, "null");
        return;
    }
    jsonw_add(w, "\"", 1);
    run = s;
    while (*s) {
        unsigned c = *s, cp;
        size_t n;
        const char *esc = NULL;

        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            s++;
            continue;
        }
        jsonw_add(w, run, (size_t)(s - run));
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: break;
        }
        if (esc) {
            jsonw_add(w, esc, 2);
            s++;
        } else if (c < 0x80) {
            add_u(w, c);
            s++;
        } else if ((n = utf8_next(s, &cp)) == 0) {
            add_u(w, 0xfffd);
            s++;
        } else {
            if (cp >= 0x10000) {
                cp -= 0x10000;
                add_u(w, 0xd800 | (cp >> 10));
                add_u(w, 0xdc00 | (cp & 0x3ff));
            } else {
                add_u(w, cp);
            }
            s += n;
        }
        run = s;
    }
    jsonw_add(w, run, (size_t)(s - run));
    jsonw_add(w, "\"", 1);
}
