/* check.h - the minimal assertion kit of the unit tests.
 *
 * Each tests/unit/test_<module>.c is one program: it runs its checks, prints
 * "test_<module> ... PASS" or "... FAIL" and exits 0 on pass, 1 on failure
 * (77 would mean skip, which tests/run.sh counts as a failure under CI).
 * Randomised tests print their seed and accept -s SEED. */
#ifndef NTSPOOL_TESTS_CHECK_H
#define NTSPOOL_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failed;
static int check_count;

#define CHECK(cond)                                                             \
    do {                                                                        \
        check_count++;                                                          \
        if (!(cond)) {                                                          \
            check_failed++;                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                     \
        }                                                                       \
    } while (0)

#define CHECK_INT(a, b)                                                         \
    do {                                                                        \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);         \
        check_count++;                                                          \
        if (check_a_ != check_b_) {                                             \
            check_failed++;                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n",   \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);            \
        }                                                                       \
    } while (0)

#define CHECK_STR(a, b)                                                         \
    do {                                                                        \
        const char *check_a_ = (a), *check_b_ = (b);                            \
        check_count++;                                                          \
        if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_)) {\
            check_failed++;                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n",\
                    __FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)", \
                    check_b_ ? check_b_ : "(null)");                            \
        }                                                                       \
    } while (0)

#define CHECK_MEM(a, b, n)                                                      \
    do {                                                                        \
        check_count++;                                                          \
        if (memcmp((a), (b), (n)) != 0) {                                       \
            check_failed++;                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%zu bytes)\n",      \
                    __FILE__, __LINE__, #a, #b, (size_t)(n));                   \
        }                                                                       \
    } while (0)

#define CHECK_NEAR(a, b, eps)                                                   \
    do {                                                                        \
        double check_a_ = (a), check_b_ = (b);                                  \
        check_count++;                                                          \
        if (!(check_a_ - check_b_ <= (eps) && check_b_ - check_a_ <= (eps))) {  \
            check_failed++;                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s ~ %s (%.9g vs %.9g)\n",    \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);            \
        }                                                                       \
    } while (0)

/* Decode a hex string (whitespace ignored) into out; returns the length. */
static inline size_t
check_hex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *hex; hex++) {
        int v;
        if (*hex >= '0' && *hex <= '9') v = *hex - '0';
        else if (*hex >= 'a' && *hex <= 'f') v = *hex - 'a' + 10;
        else if (*hex >= 'A' && *hex <= 'F') v = *hex - 'A' + 10;
        else continue;
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap) abort();
            out[n++] = (unsigned char)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) abort();
    return n;
}

static inline int
check_finish(const char *name)
{
    printf("%s ... %s (%d checks, %d failed)\n", name, check_failed ? "FAIL" : "PASS",
           check_count, check_failed);
    return check_failed ? 1 : 0;
}

#endif
