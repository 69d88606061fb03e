/* benchutil.c - clocks, the seeded generator and a comparator of the
 * benchmark programs (see benchutil.h). */
#include "bench/benchutil.h"

#include <sys/resource.h>
#include <time.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;

double
bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bench_cpu(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void
bench_seed(uint64_t state)
{
    rng = state ? state : 1;
}

uint64_t
bench_rand64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

double
bench_urand(void)
{
    return (double)(bench_rand64() >> 11) / 9007199254740992.0;
}

void
bench_permutation(uint32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(bench_rand64() % i);
        uint32_t t = v[i - 1];

        v[i - 1] = v[j];
        v[j] = t;
    }
}

int
bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}
