/* monwork.h - an agent's work list (monwire.h) as scheduler sources
 * (monitor/sched.h): one source per (uuid, route), the route being direct
 * (Srv/Nts and Pool kinds, to the item's domain and port) or through the
 * pool's KE (Ipv4/Ipv6, to poolke with the monitor key as token).  Pure:
 * ntspool-monitor gives the sources ids and hands them to the scheduler. */
#ifndef NTSPOOL_WEB_MONWORK_H
#define NTSPOOL_WEB_MONWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/sched.h"
#include "web/monwire.h"

struct monwork_ent {
    int64_t id;                          /* the caller's */
    char uuid[MONWIRE_UUID_MAX];
    bool via;                            /* through poolke */
    char host[MONWIRE_HOST_MAX];
    uint16_t port;
    char token[MONWIRE_TOKEN_MAX];       /* pool token, or the monitor key (via) */
    unsigned kinds;                      /* SCH_KIND_BIT mask */
    char name[SCH_KINDS][MONWIRE_NAME_MAX]; /* each kind as the list spelt it */
};

/* The sources of w, sorted by (uuid, via) (monwork_cmp), kinds of one
   (uuid, route) merged.  Ipv4/Ipv6 items without a poolke are skipped and
   counted in *skipped.  malloc'd array of *n (caller wipes the tokens and
   frees); NULL when out of memory. */
struct monwork_ent *monwork_build(const struct monwire_work *w, const char *key, size_t *n,
                                  size_t *skipped);
/* Order by (uuid, via), for qsort and bsearch. */
int monwork_cmp(const void *a, const void *b);

#endif
