/* fuzz_jsonw.c - libFuzzer target for the JSON writer (web/jsonw.c).  The
 * input is a double (8 bytes), an int64 (8 bytes), a number of decimals (1
 * byte), then a string (up to its first NUL).  Checks jsonw.h's promises
 * with jansson as the judge: the text parses (json_loads); the string reads
 * back as the input with each byte that is not valid UTF-8 as U+FFFD, is
 * plain ASCII, and equals jansson's own JSON_ENSURE_ASCII dump; the integer
 * reads back exactly; a finite real reads back within half a unit of the
 * last decimal (plus an ulp), exactly on the %.17g path, never as "-0", and
 * a non-finite one is null; jsonw_real writes what jansson's dump of the
 * real writes. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "tests/unit/evtext.h"
#include "util/util.h"
#include "web/jsonw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What w wrote, flushed, w->b emptied. */
static char *
jsonw_text(struct jsonw *w)
{
    jsonw_flush(w);
    return evtext_take(w->b);
}

/* The input with every byte outside a valid UTF-8 sequence as U+FFFD,
   decided by util_utf8_valid (an independent decoder). */
static char *
jsonw_expected(const char *s)
{
    size_t len = strlen(s), o = 0;
    char *out = malloc(len * 3 + 1);

    if (!out)
        abort();
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

        if (i + n <= len && util_utf8_valid(s + i, n, false)) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

static void
jsonw_check_str(struct jsonw *w, const char *s)
{
    char *text, *want, *dump;
    json_error_t e;
    json_t *j, *js;

    jsonw_str(w, s);
    text = jsonw_text(w);
    for (const char *p = text; *p; p++)
        if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
            __builtin_trap();
    j = json_loads(text, JSON_DECODE_ANY, &e);
    want = jsonw_expected(s);
    if (!json_is_string(j) || strcmp(json_string_value(j), want) != 0 ||
        json_string_length(j) != strlen(want))
        __builtin_trap();
    js = json_string(want);
    dump = js ? json_dumps(js, JSON_ENCODE_ANY | JSON_ENSURE_ASCII | JSON_COMPACT) : NULL;
    if (dump && strcmp(dump, text) != 0)
        __builtin_trap();
    free(dump);
    json_decref(js);
    json_decref(j);
    free(want);
    free(text);
}

static void
jsonw_check_num(struct jsonw *w, double v, int64_t i, int decimals)
{
    char buf[JSONW_NUM_MAX], *text, *dump;
    size_t n = jsonw_format_fixed(buf, v, decimals);
    json_error_t e;
    json_t *j;

    if (n != strlen(buf) || n >= JSONW_NUM_MAX)
        __builtin_trap();
    jsonw_fixed(w, v, decimals);
    text = jsonw_text(w);
    if (strcmp(text, buf) != 0)
        __builtin_trap();
    j = json_loads(text, JSON_DECODE_ANY, &e);
    if (!isfinite(v)) {
        if (!json_is_null(j))
            __builtin_trap();
    } else {
        int d = decimals < 0 ? 0 : decimals > JSONW_DECIMALS_MAX ? JSONW_DECIMALS_MAX : decimals;
        double got = json_number_value(j), unit = pow(10, -d);
        if (!json_is_number(j) || strcmp(text, "-0") == 0)
            __builtin_trap();
        if (fabs(v * pow(10, d)) >= 9007199254740992.0) {
            if (got != v)
                __builtin_trap();
        } else if (!(fabs(got - v) <= unit / 2 + 2 * fabs(nextafter(v, INFINITY) - v) +
                                           fabs(v) * 1e-15)) {
            __builtin_trap();
        }
    }
    json_decref(j);
    free(text);

    /* jsonw_real: jansson's own dump of the real, byte for byte. */
    jsonw_real(w, v);
    text = jsonw_text(w);
    j = json_real(v);
    dump = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (strcmp(text, dump ? dump : isfinite(v) ? "(no dump)" : "null") != 0)
        __builtin_trap();
    free(dump);
    json_decref(j);
    free(text);

    jsonw_int(w, i);
    text = jsonw_text(w);
    j = json_loads(text, JSON_DECODE_ANY, &e);
    if (!json_is_integer(j) || json_integer_value(j) != i)
        __builtin_trap();
    json_decref(j);
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jsonw w;
    double v;
    int64_t i;
    char *s;

    if (size < 17 || size > 4096)
        return 0;
    memcpy(&v, data, 8);
    memcpy(&i, data + 8, 8);
    memset(&w, 0, sizeof(w));
    w.b = evbuffer_new();
    s = malloc(size - 17 + 1);
    if (!w.b || !s)
        abort();
    memcpy(s, data + 17, size - 17);
    s[size - 17] = '\0';
    jsonw_check_num(&w, v, i, (int)(int8_t)data[16] % 12);
    jsonw_check_str(&w, s);
    if (w.failed)
        __builtin_trap();
    evbuffer_free(w.b);
    free(s);
    return 0;
}
