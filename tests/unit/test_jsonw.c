/* test_jsonw.c - the JSON writer (web/jsonw.h): strings byte for byte as
 * jansson's compact ASCII dump writes them, numbers that jansson parses back
 * to the value rounded to the stated decimals, and whole documents that
 * jansson parses.  Randomised: prints its seed, -s SEED repeats a run. */
#include "web/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "check.h"
#include "evtext.h"

/* What w wrote, as a malloc'd C string (flushed, the buffer drained). */
static char *
take(struct jsonw *w)
{
    jsonw_flush(w);
    return evtext_take(w->b);
}

static void
check_str_same(struct evbuffer *b, const char *s)
{
    struct jsonw w = {.b = b};
    json_t *j = json_string(s);
    char *want = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    char *got;

    jsonw_str(&w, s);
    got = take(&w);
    CHECK(!w.failed);
    CHECK(want != NULL);
    if (want)
        CHECK_STR(got, want);
    free(want);
    free(got);
    json_decref(j);
}

static void
test_strings(struct evbuffer *b)
{
    static const char *const cases[] = {
        "", "plain", "a\"b", "back\\slash", "tab\tnl\nret\rff\fbs\b", "\x01\x1f\x7f",
        "/slash/", "caf\xc3\xa9", "\xe2\x82\xac euro", "\xf0\x9f\x98\x80 emoji",
        "\xef\xbf\xbf", "\xe2\x80\xa8 line sep", "mixed \"\xc3\xa9\"\n\\",
    };
    struct jsonw w = {.b = b};
    char *got;
    json_t *j;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_str_same(b, cases[i]);
    /* Invalid UTF-8: U+FFFD per bad byte, and still JSON. */
    jsonw_str(&w, "a\xff" "b\xc3" "\xed\xa0\x80");
    got = take(&w);
    CHECK_STR(got, "\"a\\uFFFDb\\uFFFD\\uFFFD\\uFFFD\\uFFFD\"");
    j = json_loads(got, JSON_DECODE_ANY, NULL);
    CHECK(j && json_is_string(j));
    json_decref(j);
    free(got);
    jsonw_str(&w, NULL);
    got = take(&w);
    CHECK_STR(got, "null");
    free(got);
}

static void
check_fixed(double v, int d, const char *want)
{
    char buf[JSONW_NUM_MAX];

    jsonw_format_fixed(buf, v, d);
    CHECK_STR(buf, want);
}

static void
test_numbers(struct evbuffer *b, unsigned seed)
{
    struct jsonw w = {.b = b};
    char *got;

    check_fixed(0, 6, "0");
    check_fixed(-0.0, 6, "0");
    check_fixed(19, 6, "19");
    check_fixed(-20, 6, "-20");
    check_fixed(19.5, 6, "19.5");
    check_fixed(-0.0000004, 6, "0");
    check_fixed(-0.0000006, 6, "-0.000001");
    check_fixed(0.000123456789, 9, "0.000123457");
    check_fixed(-1.5e-9, 9, "-0.000000002");
    check_fixed(1234.56789, 3, "1234.568");
    check_fixed(2.5, 0, "3");
    check_fixed(NAN, 6, "null");
    check_fixed(INFINITY, 6, "null");
    check_fixed(1e300, 6, "1.0000000000000001e+300");
    jsonw_int(&w, 0);
    jsonw_raw(&w, ",");
    jsonw_int(&w, -9223372036854775807LL - 1);
    jsonw_raw(&w, ",");
    jsonw_int(&w, 1772323200);
    jsonw_raw(&w, ",");
    jsonw_bool(&w, true);
    got = take(&w);
    CHECK_STR(got, "0,-9223372036854775808,1772323200,true");
    free(got);

    /* Random values of the ranges the API writes: jansson reads back the
       value rounded to d decimals. */
    srand(seed);
    for (int i = 0; i < 20000; i++) {
        int d = rand() % (JSONW_DECIMALS_MAX + 1);
        double mag = pow(10, rand() % 14 - 9);
        double v = ((double)rand() / RAND_MAX - 0.5) * 2 * mag;
        char buf[JSONW_NUM_MAX], ref[64];
        json_t *j;
        double x, r;

        jsonw_format_fixed(buf, v, d);
        j = json_loads(buf, JSON_DECODE_ANY, NULL);
        CHECK(j && json_is_number(j));
        x = j ? json_number_value(j) : NAN;
        json_decref(j);
        snprintf(ref, sizeof(ref), "%.*f", d, v);
        r = strtod(ref, NULL);
        /* Equal to printf's rounding but for a tie within an ulp. */
        if (fabs(x - r) > fabs(v) * 1e-15 + 1e-300 &&
            fabs(fabs(v * pow(10, d) - trunc(v * pow(10, d))) - 0.5) > 1e-6) {
            CHECK(x == r);
            fprintf(stderr, "v=%.17g d=%d got %s want %s\n", v, d, buf, ref);
        }
        CHECK(fabs(x - v) <= 0.5 / pow(10, d) * (1 + 1e-9) + fabs(v) * 1e-15);
    }
}

/* jsonw_real writes v as jansson's dump of json_real(v), byte for byte. */
static void
check_real_same(struct evbuffer *b, double v)
{
    struct jsonw w = {.b = b};
    json_t *j = json_real(v);
    char *want = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII)
                   : strdup("null");
    char *got;

    jsonw_real(&w, v);
    got = take(&w);
    CHECK(!w.failed);
    if (want && strcmp(got, want) != 0)
        fprintf(stderr, "jsonw_real(%a): %s, jansson %s\n", v, got, want);
    CHECK(want && strcmp(got, want) == 0);
    free(want);
    free(got);
    json_decref(j);
}

static void
test_reals(struct evbuffer *b, unsigned seed)
{
    static const double cases[] = {0.0, -0.0, 1.0, -2.0, 19.0, 0.5, 1e16, 1e17, 1e20, 1e21, 1e22,
                                   1e100, 1e300, -1e-5, 1e-4, 1e-7, 1e-300, 5e-324, 2.5e-308,
                                   1.7976931348623157e308, 0.1, 123456789012345678.0, 4.6e-5,
                                   NAN, INFINITY, -INFINITY};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_real_same(b, cases[i]);
    /* Random bit patterns (every exponent), and values of the API's ranges. */
    srand(seed);
    for (int i = 0; i < 20000; i++) {
        uint64_t u = 0;
        double v;

        for (int k = 0; k < 4; k++)
            u = u << 16 | (uint64_t)(rand() & 0xffff);
        memcpy(&v, &u, sizeof(v));
        check_real_same(b, v);
        check_real_same(b, ((double)rand() / RAND_MAX - 0.5) * pow(10, rand() % 14 - 9));
        check_real_same(b, (double)(rand() % 100000));
    }
}

/* A document like compat.c's, parsed back by jansson. */
static void
test_document(struct evbuffer *b)
{
    struct jsonw w = {.b = b};
    char *got;
    json_t *j, *h;
    json_error_t e;

    jsonw_raw(&w, "{\"history\":[");
    for (int i = 0; i < 3; i++) {
        jsonw_raw(&w, i ? ",{\"ts\":" : "{\"ts\":");
        jsonw_int(&w, 1772323200 + i);
        jsonw_raw(&w, ",\"offset\":");
        jsonw_fixed(&w, i == 1 ? NAN : -0.000012345 * i, 9);
        jsonw_raw(&w, ",\"kind\":");
        jsonw_str(&w, "nts-v4");
        jsonw_raw(&w, "}");
    }
    jsonw_raw(&w, "]}");
    got = take(&w);
    CHECK(!w.failed);
    j = json_loads(got, 0, &e);
    CHECK(j != NULL);
    h = json_object_get(j, "history");
    CHECK_INT(json_array_size(h), 3);
    CHECK(json_is_null(json_object_get(json_array_get(h, 1), "offset")));
    CHECK(fabs(json_number_value(json_object_get(json_array_get(h, 2), "offset")) +
               0.00002469) < 1e-15);
    CHECK_STR(json_string_value(json_object_get(json_array_get(h, 0), "kind")), "nts-v4");
    json_decref(j);
    free(got);
}

/* Text across the gathering buffer's end, and one string longer than the
   buffer: every byte arrives once, in order. */
static void
test_buffer(struct evbuffer *b)
{
    struct jsonw w = {.b = b};
    char *big = malloc(3 * JSONW_BUF), *got, *want;
    size_t n = 0, cap = 8 * JSONW_BUF;

    want = malloc(cap);
    if (!big || !want)
        abort();
    memset(big, 'x', 3 * JSONW_BUF - 1);
    big[3 * JSONW_BUF - 1] = '\0';
    for (int i = 0; i < 2000; i++) { /* about 4 buffers of small values */
        n += (size_t)snprintf(want + n, cap - n, "%d,", i);
        jsonw_int(&w, i);
        jsonw_raw(&w, ",");
    }
    CHECK(evbuffer_get_length(b) > 0); /* full buffers went out */
    CHECK(evbuffer_get_length(b) < n); /* the rest waits for the flush */
    n += (size_t)snprintf(want + n, cap - n, "\"%s\"", big);
    jsonw_str(&w, big);
    got = take(&w);
    CHECK(!w.failed);
    CHECK_INT(strlen(got), n);
    CHECK(strcmp(got, want) == 0);
    CHECK_INT(w.len, 0);
    free(got);
    free(want);
    free(big);
}

int
main(int argc, char **argv)
{
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    struct evbuffer *b = evbuffer_new();
    int opt;

    while ((opt = getopt(argc, argv, "s:")) != -1)
        if (opt == 's')
            seed = (unsigned)strtoul(optarg, NULL, 10);
    if (!b)
        return 1;
    fprintf(stderr, "test_jsonw: seed %u\n", seed);
    test_strings(b);
    test_numbers(b, seed);
    test_reals(b, seed);
    test_buffer(b);
    test_document(b);
    evbuffer_free(b);
    printf("test_jsonw ... %s (%d checks)\n", check_failed ? "FAIL" : "PASS", check_count);
    return check_failed ? 1 : 0;
}
