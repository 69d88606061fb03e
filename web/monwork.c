/* monwork.c - work items to scheduler sources (monwork.h). */
#include "web/monwork.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

int
monwork_cmp(const void *a, const void *b)
{
    const struct monwork_ent *x = a, *y = b;
    int c = strcmp(x->uuid, y->uuid);

    return c ? c : (int)x->via - (int)y->via;
}

static enum sch_kind
sch_kind_of(enum monwire_kind k)
{
    switch (k) {
    case MONWIRE_SRV_V4:
    case MONWIRE_IP_V4: return SCH_NTS_V4;
    case MONWIRE_SRV_V6:
    case MONWIRE_IP_V6: return SCH_NTS_V6;
    case MONWIRE_POOL_V4: return SCH_POOL_V4;
    case MONWIRE_POOL_V6: return SCH_POOL_V6;
    }
    return SCH_NTS_V4;
}

/* The work list as scheduler sources (merged by uuid and route). */
struct monwork_ent *
monwork_build(const struct monwire_work *w, const char *key, size_t *nout, size_t *skipped)
{
    struct monwork_ent *v = calloc(w->n ? w->n : 1, sizeof(*v));
    size_t n = 0, skipped_via = 0;

    if (!v)
        return NULL;
    for (size_t i = 0; i < w->n; i++) {
        const struct monwire_item *it = &w->items[i];
        bool via = it->kind == MONWIRE_IP_V4 || it->kind == MONWIRE_IP_V6;
        struct monwork_ent *e = &v[n++];

        if (via && !w->poolke[0]) {
            skipped_via++;
            n--;
            continue;
        }
        snprintf(e->uuid, sizeof(e->uuid), "%s", it->uuid);
        e->via = via;
        snprintf(e->host, sizeof(e->host), "%s", via ? w->poolke : it->domain);
        e->port = via ? w->poolke_port : it->port;
        snprintf(e->token, sizeof(e->token), "%s", via ? key : it->token);
        e->kinds = SCH_KIND_BIT(sch_kind_of(it->kind));
        snprintf(e->name[sch_kind_of(it->kind)], MONWIRE_NAME_MAX, "%s", it->name);
    }
    qsort(v, n, sizeof(*v), monwork_cmp);
    /* Merge the kinds of one (uuid, route). */
    {
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            if (o > 0 && monwork_cmp(&v[o - 1], &v[i]) == 0) {
                struct monwork_ent *d = &v[o - 1];
                for (int k = 0; k < SCH_KINDS; k++)
                    if (v[i].name[k][0])
                        memcpy(d->name[k], v[i].name[k], MONWIRE_NAME_MAX);
                d->kinds |= v[i].kinds;
                if (!d->token[0])
                    memcpy(d->token, v[i].token, sizeof(d->token));
                util_wipe(v[i].token, sizeof(v[i].token));
                continue;
            }
            if (o != i)
                v[o] = v[i];
            o++;
        }
        n = o;
    }
    *nout = n;
    *skipped = skipped_via;
    return v;
}

