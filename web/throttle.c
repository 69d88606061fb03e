/* throttle.c - failure counters in a fixed open-addressing table (see
 * throttle.h).  A key looks at THROTTLE_PROBE consecutive slots; when it is
 * in none, it takes an empty or forgotten one, else the one whose latest
 * failure is oldest.  Key 0 is stored as 1 (0 marks an empty slot). */
#include "web/throttle.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#define THROTTLE_PROBE 8

struct slot {
    uint64_t key; /* 0: empty */
    int failures;
    double last; /* monotonic s of the latest failure */
};

struct throttle {
    int free;
    struct slot s[THROTTLE_SLOTS];
};

_Static_assert((THROTTLE_SLOTS & (THROTTLE_SLOTS - 1)) == 0, "a power of two");

struct throttle *
throttle_new(int free_failures)
{
    struct throttle *t = calloc(1, sizeof(struct throttle));

    if (t)
        t->free = free_failures > 0 ? free_failures : 0;
    return t;
}

void
throttle_free(struct throttle *t)
{
    free(t);
}

static bool
forgotten(const struct slot *e, double now)
{
    return e->key == 0 || now - e->last >= THROTTLE_FORGET;
}

/* The slot of key, or NULL; with make, a slot taken for it (reset). */
static struct slot *
find(struct throttle *t, uint64_t key, double now, bool make)
{
    struct slot *victim = NULL;
    size_t base;

    if (key == 0)
        key = 1;
    base = (size_t)(key ^ (key >> 32)) & (THROTTLE_SLOTS - 1);
    for (size_t i = 0; i < THROTTLE_PROBE; i++) {
        struct slot *e = &t->s[(base + i) & (THROTTLE_SLOTS - 1)];

        if (e->key == key)
            return e;
        if (!victim || (!forgotten(victim, now) &&
                        (forgotten(e, now) || e->last < victim->last)))
            victim = e;
    }
    if (!make)
        return NULL;
    victim->key = key;
    victim->failures = 0;
    victim->last = now;
    return victim;
}

static double
delay_of(const struct throttle *t, int failures)
{
    double d;

    if (failures < t->free)
        return 0;
    if (failures - t->free >= 9) /* 2^9 > THROTTLE_MAX_WAIT */
        return THROTTLE_MAX_WAIT;
    d = (double)(1u << (failures - t->free));
    return d > THROTTLE_MAX_WAIT ? THROTTLE_MAX_WAIT : d;
}

int
throttle_wait(struct throttle *t, uint64_t key, double now)
{
    struct slot *e = find(t, key, now, false);
    double left;

    if (!e || forgotten(e, now))
        return 0;
    left = e->last + delay_of(t, e->failures) - now;
    return left > 0 ? (int)ceil(left) : 0;
}

void
throttle_fail(struct throttle *t, uint64_t key, double now)
{
    struct slot *e = find(t, key, now, true);

    if (forgotten(e, now))
        e->failures = 0;
    if (e->failures < 1000)
        e->failures++;
    e->last = now;
}

void
throttle_clear(struct throttle *t, uint64_t key)
{
    struct slot *e = find(t, key, 0, false);

    if (e) {
        e->key = 0;
        e->failures = 0;
    }
}
