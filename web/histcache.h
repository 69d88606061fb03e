/* histcache.h - the newest samples of the sources asked for lately (the
 * score history of /scores/{host}/json and /log, the details page's graph),
 * kept in memory and checked against the database on every use, so that a
 * source asked for again reads an index range instead of its rows
 * (histcache.c). */
#ifndef NTSPOOL_WEB_HISTCACHE_H
#define NTSPOOL_WEB_HISTCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define HISTCACHE_BYTES   (32u << 20) /* rows kept, all sources (~64 B a row) */
#define HISTCACHE_BUCKETS 4096        /* hash buckets, by source id */

struct web;
struct histcache;

/* What db_history_page returns for q (source, kind, monitor, since, limit;
   newest first, with the fields it sets and the id): from the cache when
   those samples are still the database's, else read and kept (the least
   recently used sources make room).  *rows is valid until the next call;
   0, or -1 on a database error or out of memory. */
int histcache_rows(struct web *w, const struct db_sample_query *q,
                   const struct db_sample_row **rows, size_t *n);

/* Queries answered from the cache, and read from the database, so far. */
void histcache_counts(const struct histcache *c, uint64_t *hits, uint64_t *misses);

/* Free the cache (web_free).  NULL ok. */
void histcache_free(struct histcache *c);

#endif
