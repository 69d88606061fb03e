/* evtext.h - what a writer appended to an evbuffer, as a C string: for the
 * unit tests and the fuzz targets that compare the text of web/jsonw.c,
 * web/html.c or web/graph.c with what they expect.  A static inline in a
 * header (as check.h), so the fuzz targets, built one file each against
 * libntspool.a, need no extra object. */
#ifndef NTSPOOL_TESTS_EVTEXT_H
#define NTSPOOL_TESTS_EVTEXT_H

#include <stdlib.h>

#include <event2/buffer.h>

/* b's contents as a malloc'd NUL-terminated string, which the caller frees;
   b is left empty.  Aborts when out of memory (a test cannot go on). */
static inline char *
evtext_take(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);

    if (!s || evbuffer_remove(b, s, n) != (int)n)
        abort();
    s[n] = '\0';
    return s;
}

#endif
