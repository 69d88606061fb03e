/* benchutil.h - what the benchmark programs bench/bench_*.c share: clocks,
 * a seeded generator (so a run can be repeated with its seed) and sorting
 * for percentiles.  Linked into each of them (Makefile), not into
 * libntspool.a. */
#ifndef NTSPOOL_BENCH_BENCHUTIL_H
#define NTSPOOL_BENCH_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>

/* The monotonic clock, s. */
double bench_now(void);

/* CPU time of this process (user + system), s. */
double bench_cpu(void);

/* The generator (xorshift64): its state is set by bench_seed (non-zero;
   the default until then is a fixed constant), bench_rand64 steps it and
   returns it, bench_urand gives a double in [0, 1) from it. */
void bench_seed(uint64_t state);
uint64_t bench_rand64(void);
double bench_urand(void);

/* v[0..n) = a random permutation of 0..n-1 (Fisher-Yates, bench_rand64). */
void bench_permutation(uint32_t *v, size_t n);

/* qsort comparator of doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);

#endif
