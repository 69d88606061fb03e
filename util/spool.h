/* spool.h - a bounded, durable FIFO of batches on disk: ntspool-monitor's
 * results while the service cannot take them (PRODUCT.md: nothing is
 * dropped silently).
 *
 * One directory; each batch is one file "SEQ-COUNT.batch" (SEQ a 20-digit
 * sequence number, COUNT the results in it), written atomically and durably
 * before spool_put returns 0: a temporary file is written and fsynced,
 * renamed into place, and the directory fsynced, so a crash leaves either
 * the whole batch or none.  Stray temporary files are removed at open.
 * When more than `max` results are kept, the oldest batches are deleted and
 * their results counted as dropped (spool_dropped); the caller logs it.
 * Synchronous file I/O: called from the event loop, it costs a couple of
 * fsyncs per batch spooled, and nothing while the service is reachable. */
#ifndef NTSPOOL_UTIL_SPOOL_H
#define NTSPOOL_UTIL_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

#define SPOOL_MAX_BATCH (16L << 20) /* bytes of one batch file read back */

/* Open (creating it 0700 when missing) the spool directory dir, keeping at
   most max results.  NULL with a message in err. */
struct spool *spool_open(const char *dir, long max, char *err, size_t errlen);
/* Close; spool_close(NULL) does nothing. */
void spool_close(struct spool *s);

/* Keep len bytes holding nresults results as the newest batch, then drop
   the oldest batches while more than max results are kept.  0, or -1 (the
   batch is not kept; errno-based message logged). */
int spool_put(struct spool *s, const void *data, size_t len, size_t nresults);

/* Reserve a place in the order for a batch that is being delivered from
   memory: if delivery fails, spool_put_at(seq) keeps it before every batch
   spooled since.  Returns the sequence number. */
uint64_t spool_reserve(struct spool *s);
/* spool_put at a reserved place. */
int spool_put_at(struct spool *s, uint64_t seq, const void *data, size_t len,
                 size_t nresults);

/* The oldest batch: 1 with *data (malloc'd, NUL-terminated, caller frees),
   *len and *nresults; 0 when the spool is empty; -1 on error (an unreadable
   or oversized file is dropped, counted and logged, then -1). */
int spool_peek(struct spool *s, char **data, size_t *len, size_t *nresults);

/* Delete the oldest batch (after it was delivered).  0 / -1. */
int spool_pop(struct spool *s);

size_t spool_batches(const struct spool *s);
uint64_t spool_results(const struct spool *s);
/* Results dropped so far, because the spool was full or a file unreadable. */
uint64_t spool_dropped(const struct spool *s);

#endif
