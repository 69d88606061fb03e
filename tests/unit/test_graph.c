/* test_graph.c - the history graph (web/graph.h): well-formed XML (a small
 * checker here, and xmllint when installed: scripts/setup.sh installs it),
 * gridlines and labels, escaping of hostile names, gaps, the per-column
 * bound and graph_size_max, the empty state, no style attribute or script.
 * Writes an example to $BUILD/graph-example.svg (default build/) to look at,
 * e.g. rsvg-convert -o graph.png build/graph-example.svg. */
#include "web/graph.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "check.h"
#include "evtext.h"

#define T0    1772323200 /* 2026-03-01 00:00:00 UTC */
#define HOUR  3600
#define DAY   86400
#define IVL   241
#define COLOR_NTS_V4 "stroke=\"#1f4e9c\" stroke-width=\"2\""

static unsigned rng_state = 12345;

static double
rnd(void) /* uniform in [0, 1) */
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (double)((rng_state >> 8) & 0xFFFFFF) / 16777216.0;
}

/* Render into a NUL-terminated malloc'd string; NULL on failure. */
static char *
render(const struct db_sample_row *rows, size_t n, const struct graph_monitor *m,
       size_t nm, const struct graph_opts *o)
{
    struct evbuffer *b = evbuffer_new();
    char *s = NULL;

    if (!b)
        return NULL;
    if (graph_render(b, rows, n, m, nm, o) == 0)
        s = evtext_take(b);
    evbuffer_free(b);
    return s;
}

/* ---- a small well-formedness checker -------------------------------------------- */

static bool
entity_ok(const char **p)
{
    static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};

    for (size_t i = 0; i < 5; i++)
        if (strncmp(*p, ents[i], strlen(ents[i])) == 0) {
            *p += strlen(ents[i]);
            return true;
        }
    return false;
}

static bool
name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == ':' || c == '_';
}

/* Tags nest and match, attributes are name="value", entities are known,
   no '<' in values, no control characters; one root element. */
static bool
xml_ok(const char *s)
{
    const char *stack[64];
    size_t nstack[64];
    int depth = 0, roots = 0;
    const char *p = s;

    while (*p) {
        if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r')
            return false;
        if (*p == '&') {
            if (!entity_ok(&p))
                return false;
            continue;
        }
        if (*p != '<') {
            if (depth == 0 && *p != '\n')
                return false; /* text outside the root */
            p++;
            continue;
        }
        p++;
        if (*p == '/') {
            const char *nm = ++p;
            while (name_char(*p)) p++;
            if (depth == 0 || (size_t)(p - nm) != nstack[depth - 1] ||
                strncmp(nm, stack[depth - 1], nstack[depth - 1]) || *p != '>')
                return false;
            depth--;
            p++;
            continue;
        }
        {
            const char *nm = p;
            while (name_char(*p)) p++;
            if (p == nm || depth >= 64)
                return false;
            if (depth == 0 && ++roots > 1)
                return false;
            stack[depth] = nm;
            nstack[depth] = (size_t)(p - nm);
            for (;;) {
                while (*p == ' ' || *p == '\n') p++;
                if (*p == '>') { p++; depth++; break; }
                if (p[0] == '/' && p[1] == '>') { p += 2; break; }
                if (!name_char(*p))
                    return false;
                while (name_char(*p)) p++;
                if (p[0] != '=' || p[1] != '"')
                    return false;
                p += 2;
                while (*p != '"') {
                    if (*p == '\0' || *p == '<')
                        return false;
                    if (*p == '&') {
                        if (!entity_ok(&p))
                            return false;
                    } else {
                        p++;
                    }
                }
                p++;
            }
        }
    }
    return depth == 0 && roots == 1;
}

/* xmllint --noout on the text: 1 ok, 0 not well-formed, -1 no xmllint. */
static int
xmllint_ok(const char *svg)
{
    char path[] = "/tmp/test_graph_XXXXXX";
    char cmd[128];
    int fd, rc;
    FILE *f;

    if (system("command -v xmllint >/dev/null 2>&1") != 0)
        return -1;
    fd = mkstemp(path);
    if (fd < 0 || !(f = fdopen(fd, "w")))
        return 0;
    fputs(svg, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "xmllint --noout %s", path);
    rc = system(cmd);
    remove(path);
    return rc == 0;
}

static int xmllint_missing;

static void
check_wellformed(const char *svg)
{
    int lint;

    CHECK(svg != NULL);
    if (!svg)
        return;
    CHECK(xml_ok(svg));
    lint = xmllint_ok(svg);
    if (lint < 0)
        xmllint_missing = 1;
    else
        CHECK(lint == 1);
    CHECK(strstr(svg, "style=") == NULL);
    CHECK(strstr(svg, "<style") == NULL);
    CHECK(strstr(svg, "<script") == NULL);
    {
        static const char head[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"";
        CHECK(strncmp(svg, head, strlen(head)) == 0);
    }
    CHECK(strstr(svg, "role=\"img\"") != NULL);
    CHECK(strstr(svg, "<title id=") != NULL);
    CHECK(strstr(svg, "<desc id=") != NULL);
}

static size_t
count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The d attribute of the first path that starts with prefix, as a copy. */
static char *
path_d(const char *svg, const char *prefix)
{
    const char *p = strstr(svg, prefix), *d, *e;
    char *out;

    if (!p || !(d = strstr(p, " d=\"")))
        return NULL;
    d += 4;
    e = strchr(d, '"');
    out = malloc((size_t)(e - d) + 1);
    memcpy(out, d, (size_t)(e - d));
    out[e - d] = '\0';
    return out;
}

static size_t
points_of(const char *d)
{
    return count(d, "M") + count(d, "L");
}

/* ---- data ----------------------------------------------------------------------- */

static struct db_sample_row
row(int64_t t, enum score_kind k, int64_t mon, double score, double offset)
{
    static int64_t id;
    struct db_sample_row r;

    memset(&r, 0, sizeof(r));
    r.id = ++id;
    r.source = 1;
    r.kind = k;
    r.monitor = mon;
    r.time = t;
    r.offset = offset;
    r.delay = 0.01;
    r.stratum = 2;
    r.step = 1;
    r.score = score;
    r.aead = 15;
    return r;
}

/* Two days of a plausible source: all kinds rise from 0; pool-v4 fails for
   six hours (token removed) and recovers; nts-v6 is silent for three hours;
   one monitor sees a 30-40 ms offset for a while. */
static size_t
example_rows(struct db_sample_row *rows, size_t cap)
{
    size_t n = 0;
    double score[SCORE_KINDS][3] = {{0}};

    for (int64_t t = T0; t < T0 + 2 * DAY; t += IVL) {
        for (int k = 0; k < SCORE_KINDS; k++) {
            for (int m = 0; m < 3; m++) {
                int64_t ts = t + k * 7 + m * 60;
                double step = 1, ofs = (rnd() - 0.5) * 0.002 + (m == 1 ? 0.0008 : 0);

                if (k == SCORE_KIND_NTS_V6 && ts > T0 + 20 * HOUR && ts < T0 + 23 * HOUR)
                    continue;
                if (k == SCORE_KIND_POOL_V4 && ts > T0 + 26 * HOUR && ts < T0 + 32 * HOUR)
                    step = -5, ofs = NAN;
                if (m == 2 && ts > T0 + 8 * HOUR && ts < T0 + 11 * HOUR)
                    ofs = 0.030 + rnd() * 0.010, step = 0.8;
                score[k][m] = score[k][m] * 0.95 + step;
                if (n < cap)
                    rows[n++] = row(ts, (enum score_kind)k, 10 + m, score[k][m], ofs);
            }
        }
    }
    return n;
}

/* ---- tests ---------------------------------------------------------------------- */

static void
test_example(void)
{
    static struct db_sample_row rows[3 * 4 * 720];
    const struct graph_monitor mons[] = {{10, "Zurich"}, {11, "Frankfurt"},
                                         {12, "Singapore (AWS)"}};
    struct graph_opts o = {.from = T0, .to = T0 + 2 * DAY, .host = "time.example.org"};
    size_t n = example_rows(rows, sizeof(rows) / sizeof(rows[0]));
    char *svg = render(rows, n, mons, 3, &o);
    const char *dir = getenv("BUILD");
    char path[512];
    FILE *f;

    check_wellformed(svg);
    if (!svg)
        return;
    snprintf(path, sizeof(path), "%s/graph-example.svg", dir ? dir : "build");
    if ((f = fopen(path, "w"))) {
        fputs(svg, f);
        fclose(f);
    }
    /* Score gridlines and their labels. */
    CHECK(strstr(svg, ">20</text>") && strstr(svg, ">10</text>") &&
          strstr(svg, ">0</text>") && strstr(svg, ">-20</text>") &&
          strstr(svg, ">-50</text>") && strstr(svg, ">-100</text>"));
    CHECK(strstr(svg, "in the pool above 10") != NULL);
    /* Time axis in UTC: dates at midnight, hours. */
    CHECK(strstr(svg, ">2026-03-02</text>") != NULL);
    CHECK(strstr(svg, ">12:00</text>") != NULL);
    CHECK(strstr(svg, ">offset (ms)</text>") != NULL);
    /* Legend names every kind and monitor; one dash pattern per dashed kind. */
    CHECK(strstr(svg, ">nts-v4 score</text>") && strstr(svg, ">pool-v6 score</text>"));
    CHECK(strstr(svg, ">offset, Singapore (AWS)</text>") != NULL);
    CHECK(strstr(svg, "stroke-dasharray=\"8 3\"") && strstr(svg, "stroke-dasharray=\"2 3\"") &&
          strstr(svg, "stroke-dasharray=\"9 3 2 3\""));
    CHECK(strstr(svg, "time.example.org</title>") != NULL);
    /* The nts-v6 silence of 3 h breaks its line: two segments. */
    {
        char *d = path_d(svg, "<path fill=\"none\" stroke=\"#7b2b9e\" stroke-width=\"2\"");
        CHECK(d != NULL);
        if (d)
            CHECK_INT(count(d, "M"), 2);
        free(d);
    }
    /* A steady run folds to few points. */
    CHECK(strlen(svg) < 80000);
    printf("example: %zu rows, %zu bytes (bound %zu)\n", n, strlen(svg), graph_size_max(&o));
    free(svg);
}

static void
test_hostile_names(void)
{
    struct db_sample_row rows[4];
    const struct graph_monitor mons[] = {{1, "<script>&\"'x"}, {2, "bad\xC3\x28utf8\x01"}};
    struct graph_opts o = {.from = T0, .to = T0 + DAY, .host = "<b>&host"};
    char *svg;

    rows[0] = row(T0 + 100, SCORE_KIND_NTS_V4, 1, 1, 0.001);
    rows[1] = row(T0 + 400, SCORE_KIND_NTS_V4, 1, 1.95, 0.001);
    rows[2] = row(T0 + 100, SCORE_KIND_NTS_V4, 2, 1, 0.002);
    rows[3] = row(T0 + 500, SCORE_KIND_NTS_V4, 3, 1, 0.002); /* no name given */
    svg = render(rows, 4, mons, 2, &o);
    check_wellformed(svg);
    if (!svg)
        return;
    CHECK(strstr(svg, "&lt;script&gt;&amp;&quot;&#39;x") != NULL);
    CHECK(strstr(svg, "bad?(utf8?") != NULL);
    CHECK(strstr(svg, "&lt;b&gt;&amp;host</title>") != NULL);
    CHECK(strstr(svg, "offset, monitor 3</text>") != NULL);
    free(svg);

    /* Long names are shortened, never split inside a character. */
    {
        const struct graph_monitor lm[] = {{1, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                                               "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                                               "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                                               "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                                               "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                                               "\xC3\xA9\xC3\xA9"}};
        svg = render(rows, 2, lm, 1, &o);
        check_wellformed(svg);
        CHECK(svg && strstr(svg, "\xC3\xA9\xE2\x80\xA6</text>") != NULL);
        free(svg);
    }
}

static void
test_gaps(void)
{
    static struct db_sample_row rows[400];
    struct graph_opts o = {.from = T0, .to = T0 + 2 * DAY};
    size_t n = 0;
    char *svg, *d;

    /* 10 h, a silence of 2 h, 10 h more; then a pause of 2.5 intervals. */
    for (int64_t t = T0; t < T0 + 10 * HOUR; t += IVL)
        rows[n++] = row(t, SCORE_KIND_NTS_V4, 1, 5 + (double)(t - T0) / HOUR, NAN);
    for (int64_t t = T0 + 12 * HOUR; t < T0 + 22 * HOUR; t += IVL)
        rows[n++] = row(t, SCORE_KIND_NTS_V4, 1, 15 - (double)(t - T0) / HOUR / 3, NAN);
    for (int64_t t = T0 + 22 * HOUR + 600; t < T0 + 24 * HOUR; t += IVL)
        rows[n++] = row(t, SCORE_KIND_NTS_V4, 1, 9, NAN);
    svg = render(rows, n, NULL, 0, &o);
    check_wellformed(svg);
    d = svg ? path_d(svg, "<path fill=\"none\" " COLOR_NTS_V4) : NULL;
    CHECK(d != NULL);
    if (d)
        CHECK_INT(count(d, "M"), 2);
    free(d);
    /* No offsets: no offset legend.  Kinds without data say so. */
    CHECK(svg && strstr(svg, "offset, ") == NULL);
    CHECK(svg && strstr(svg, ">pool-v6 score (no data)</text>") != NULL);
    free(svg);

    /* A lone sample between gaps is still drawn (a dot: "h0"). */
    n = 0;
    rows[n++] = row(T0 + HOUR, SCORE_KIND_NTS_V4, 1, 3, NAN);
    rows[n++] = row(T0 + 5 * HOUR, SCORE_KIND_NTS_V4, 1, 4, NAN);
    rows[n++] = row(T0 + 5 * HOUR + IVL, SCORE_KIND_NTS_V4, 1, 5, NAN);
    svg = render(rows, n, NULL, 0, &o);
    d = svg ? path_d(svg, "<path fill=\"none\" " COLOR_NTS_V4) : NULL;
    CHECK(d && count(d, "M") == 2 && strstr(d, "h0") != NULL);
    free(d);
    free(svg);
}

/* Dense noise from 10 monitors (8 drawn) at every width: at most 2 points per
   pixel column per series, and the whole within graph_size_max. */
static void
test_bound(void)
{
    const size_t nmon = 10;
    size_t cap = (size_t)(2 * DAY / 60) * SCORE_KINDS * nmon, n = 0;
    struct db_sample_row *rows = malloc(cap * sizeof(*rows));
    struct graph_monitor mons[10];
    char names[10][DB_NAME_MAX];
    static const int widths[] = {0, 320, 1000, 2000};

    for (size_t m = 0; m < nmon; m++) {
        memset(names[m], '&', DB_NAME_MAX - 1); /* the longest escape */
        names[m][DB_NAME_MAX - 1] = '\0';
        mons[m].id = (int64_t)m + 1;
        mons[m].name = names[m];
    }
    for (int64_t t = T0; t < T0 + 2 * DAY; t += 60)
        for (int k = 0; k < SCORE_KINDS; k++)
            for (size_t m = 0; m < nmon && n < cap; m++)
                rows[n++] = row(t, (enum score_kind)k, (int64_t)m + 1, rnd() * 125 - 105,
                                (rnd() - 0.5) * (rnd() < 0.01 ? 10 : 1.6));
    for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
        struct graph_opts o = {.from = T0, .to = T0 + 2 * DAY, .width = widths[w],
                               .height = 10000};
        char *svg = render(rows, n, mons, nmon, &o);
        int cols = (widths[w] ? widths[w] : 800) - 44 - 66 + 1;
        char *d;

        check_wellformed(svg);
        if (!svg)
            continue;
        CHECK(strlen(svg) <= graph_size_max(&o));
        d = path_d(svg, "<path fill=\"none\" " COLOR_NTS_V4);
        CHECK(d && points_of(d) <= (size_t)(2 * cols));
        CHECK(d && points_of(d) > (size_t)cols); /* noise keeps both extremes */
        free(d);
        /* Offsets of monitor 1: round dots, at most 2 per column. */
        d = path_d(svg, "<path fill=\"none\" stroke=\"#d6604d\"");
        CHECK(d && count(d, "M") <= (size_t)(2 * cols));
        free(d);
        CHECK(strstr(svg, "offsets of 2 more monitors not drawn") != NULL);
        CHECK(strstr(svg, "drawn at the edge") != NULL); /* the 5 s offsets */
        CHECK(strstr(svg, "height=\"1200\"") != NULL);   /* clamped height */
        printf("dense: width %d: %zu rows, %zu bytes (bound %zu)\n",
               widths[w] ? widths[w] : 800, n, strlen(svg), graph_size_max(&o));
        free(svg);
    }
    free(rows);
}

static void
test_empty_and_opts(void)
{
    struct graph_opts o = {.from = T0, .to = T0 + 2 * DAY};
    struct db_sample_row r = row(T0 - 10, SCORE_KIND_NTS_V4, 1, 3, 0.001);
    struct evbuffer *b = evbuffer_new();
    char *svg = render(NULL, 0, NULL, 0, &o);

    check_wellformed(svg);
    CHECK(svg && strstr(svg, "No measurements in this period</text>") != NULL);
    CHECK(svg && strstr(svg, ">-100</text>") != NULL);
    free(svg);
    /* A row outside the window: the same empty state. */
    svg = render(&r, 1, NULL, 0, &o);
    CHECK(svg && strstr(svg, "No measurements in this period</text>") != NULL);
    free(svg);
    /* Bad window or id. */
    o.to = o.from;
    CHECK_INT(graph_render(b, NULL, 0, NULL, 0, &o), -1);
    o.to = o.from + DAY;
    o.id = "a\"b";
    CHECK_INT(graph_render(b, NULL, 0, NULL, 0, &o), -1);
    o.id = "src-7";
    CHECK_INT(graph_render(b, NULL, 0, NULL, 0, &o), 0);
    evbuffer_free(b);
}

/* Order does not matter: the rows are sorted by time. */
static void
test_order(void)
{
    static struct db_sample_row rows[3 * 4 * 720], shuffled[3 * 4 * 720];
    struct graph_opts o = {.from = T0, .to = T0 + 2 * DAY};
    size_t n = example_rows(rows, sizeof(rows) / sizeof(rows[0]));
    char *a, *b;

    memcpy(shuffled, rows, n * sizeof(rows[0]));
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(rnd() * (double)(i + 1));
        struct db_sample_row t = shuffled[i];
        shuffled[i] = shuffled[j];
        shuffled[j] = t;
    }
    a = render(rows, n, NULL, 0, &o);
    b = render(shuffled, n, NULL, 0, &o);
    CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
}

int
main(void)
{
    test_example();
    test_hostile_names();
    test_gaps();
    test_bound();
    test_empty_and_opts();
    test_order();
    if (xmllint_missing) {
        fprintf(stderr, "xmllint not found (scripts/setup.sh installs libxml2-utils): "
                        "only the built-in XML checker ran\n");
        if (getenv("CI") && strcmp(getenv("CI"), "true") == 0)
            check_failed++;
    }
    return check_finish("test_graph");
}
