/* jsonw.h - JSON text appended straight to an evbuffer, for the hot
 * replies (a page of history rows) where building a jansson tree per row
 * costs more than the query.  The caller writes the structure (braces,
 * keys, commas) and these calls write the values.
 *
 * The output is what web_reply_json (json_dumps with JSON_COMPACT |
 * JSON_ENSURE_ASCII) would write for the same keys in the same order: for
 * reals, jsonw_real writes what jansson writes (%.17g: "19.0",
 * "0.00012345678901234567"), jsonw_fixed the value rounded to a stated
 * number of decimals with the trailing zeros dropped ("19", "0.000123457").  Numbers never depend on
 * the locale (integer arithmetic; the %.17g fallback has its decimal mark
 * checked).
 *
 * The text is gathered in the struct and appended to the evbuffer by the
 * kilobyte (jsonw_flush): an evbuffer_add per value cost more than the
 * values.  Errors are sticky: a failed append (out of memory) sets
 * w->failed, later calls do nothing, and the caller checks w->failed once at
 * the end, after jsonw_flush. */
#ifndef NTSPOOL_WEB_JSONW_H
#define NTSPOOL_WEB_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct evbuffer;

#define JSONW_BUF 2048 /* bytes gathered before they go to the evbuffer */

/* Start with struct jsonw w = {.b = buffer}; end with jsonw_flush(&w). */
struct jsonw {
    struct evbuffer *b; /* borrowed */
    bool failed;
    size_t len;         /* bytes in buf, not yet in b */
    char buf[JSONW_BUF]; /* one evbuffer_add per JSONW_BUF bytes, not per value */
};

#define JSONW_NUM_MAX     40 /* bytes of a formatted number, NUL included */
#define JSONW_DECIMALS_MAX 9

/* Append what the calls below gathered to w->b: before w->b is read or
   sent (and before w->failed is checked for the last time). */
void jsonw_flush(struct jsonw *w);

/* n bytes of literal JSON text: gathered in w->buf while they fit (inline:
   structure and keys are most of a reply's calls), else jsonw_add_slow.
   Bytes gathered after a failure are never sent (jsonw_flush drops them). */
void jsonw_add_slow(struct jsonw *w, const void *p, size_t n);
static inline void
jsonw_add(struct jsonw *w, const void *p, size_t n)
{
    if (n <= sizeof(w->buf) - w->len) {
        memcpy(w->buf + w->len, p, n);
        w->len += n;
    } else {
        jsonw_add_slow(w, p, n);
    }
}

/* Literal JSON text (structure and keys the caller knows are plain ASCII
   without quotes to escape), e.g. ",\"ts\":"; a literal's length is known
   at compile time. */
static inline void
jsonw_raw(struct jsonw *w, const char *text)
{
    jsonw_add(w, text, strlen(text));
}

/* s as a JSON string: quoted; '"', '\\' and control characters escaped as
   jansson does (\b \f \n \r \t, else \u00XX); every character beyond ASCII
   as \uXXXX (a surrogate pair above U+FFFF).  A byte that is not part of
   valid UTF-8 (overlong, surrogate, beyond U+10FFFF, truncated) becomes
   \uFFFD. NULL writes null. */
void jsonw_str(struct jsonw *w, const char *s);

void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_bool(struct jsonw *w, bool v);

/* v rounded to `decimals` (0..JSONW_DECIMALS_MAX) decimals, trailing zeros
   and a trailing point dropped, no "-0"; null when v is not finite.
   Values whose scaled magnitude reaches 2^53 fall back to %.17g (exact). */
void jsonw_fixed(struct jsonw *w, double v, int decimals);

/* v as jansson's json_dumps writes a real, byte for byte: %.17g, ".0"
   appended when that has neither a point nor an exponent, the exponent
   without '+' and leading zeros ("1e20", "1.0000000000000001e-5"); null
   when v is not finite (jansson has no such real). */
void jsonw_real(struct jsonw *w, double v);

/* The text jsonw_fixed writes, into buf (JSONW_NUM_MAX bytes); its length. */
size_t jsonw_format_fixed(char buf[JSONW_NUM_MAX], double v, int decimals);

#endif
