/* throttle.h - slowing down password guessing: failed attempts counted per
 * key (the caller hashes an account's e-mail or a client address into a
 * 64-bit key), in a fixed table in memory.
 *
 * The first `free` failures of a key (a table's setting) cost nothing; after
 * them each further attempt must wait 2^(failures - free) s after the latest
 * failure, at most THROTTLE_MAX_WAIT s.  A key with no failure for THROTTLE_FORGET s
 * is forgotten.  The table has a fixed number of slots; a new key takes the
 * stalest of the few slots it may use, so memory is bounded whatever the
 * number of keys (a flood of keys can evict an entry: the per-address key
 * of the same attempt still holds).  Pure: the caller passes the time
 * (monotonic s).  Not thread-safe: the event loop owns it. */
#ifndef NTSPOOL_WEB_THROTTLE_H
#define NTSPOOL_WEB_THROTTLE_H

#include <stdint.h>

#define THROTTLE_FREE_ACCOUNT 5  /* failures per account before any wait */
#define THROTTLE_FREE_ADDRESS 25 /* per client address: several people may share one */
#define THROTTLE_MAX_WAIT 300    /* s */
#define THROTTLE_FORGET   900    /* s after the latest failure */
#define THROTTLE_SLOTS    4096   /* power of two */

struct throttle;

/* A table of THROTTLE_SLOTS entries whose keys have free_failures free
   failures; NULL when out of memory. */
struct throttle *throttle_new(int free_failures);
void throttle_free(struct throttle *t);

/* Seconds (rounded up) before an attempt with key is allowed: 0 now. */
int throttle_wait(struct throttle *t, uint64_t key, double now);
/* Count a failed attempt with key at now. */
void throttle_fail(struct throttle *t, uint64_t key, double now);
/* Forget key's failures (a successful login). */
void throttle_clear(struct throttle *t, uint64_t key);

#endif
