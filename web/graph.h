/* graph.h - the score and offset history of one time source as a
 * server-rendered SVG (PRODUCT.md "Source details page").
 *
 * Pure: rows in, text out.  No I/O, no database, no clock; the caller reads
 * the rows (db_score_history) and the monitor names and gives the window.
 * The SVG uses presentation attributes only (no style attribute, no <style>
 * element, no script), so a page under a strict Content-Security-Policy shows
 * it inline.  Every text that comes from data (host, monitor names) is
 * escaped for XML here.
 *
 * What it draws: per kind (nts-v4, nts-v6, pool-v4, pool-v6), the score as
 * the pages compute it (the lower median of the fresh monitors' latest
 * scores at each sample), on the left axis, a signed square-root scale that
 * gives 0..20 room and compresses the negatives (gridlines at 20, 10, 0,
 * -20, -50, -100); per monitor, the measured offset as dots on the right
 * axis in ms (symmetric, from 0.5 ms up to GRAPH_OFFSET_MAX_MS; offsets
 * beyond it are drawn at the edge as triangles); hour and day ticks in UTC.
 * Each kind has its own dash pattern and marker shape and each monitor its
 * own dot shape, all named in a text legend, so colour is never the only cue.
 * No line crosses a gap of more than 3 probe intervals.  Each series keeps at
 * most 2 points per pixel column (the extremes of the column), so the size
 * of the output is bounded whatever the number of rows: graph_size_max(). */
#ifndef NTSPOOL_WEB_GRAPH_H
#define NTSPOOL_WEB_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

struct evbuffer;

#define GRAPH_MAX_MONITORS  8      /* offset series drawn; more are named in the text */
#define GRAPH_MIN_WIDTH     320    /* px of the viewBox; opts are clamped to these */
#define GRAPH_MAX_WIDTH     2000
#define GRAPH_MIN_HEIGHT    200
#define GRAPH_MAX_HEIGHT    1200
#define GRAPH_OFFSET_MAX_MS 1000.0 /* widest offset axis: +-1 s */
#define GRAPH_NAME_CHARS    24     /* monitor names are shortened to this many characters */

/* A monitor's display name; rows whose monitor is not listed are shown as
   "monitor N". */
struct graph_monitor {
    int64_t id;
    const char *name; /* borrowed; UTF-8 (invalid bytes are shown as '?') */
};

struct graph_opts {
    int64_t from, to;  /* the window, Unix s, from < to (e.g. now - 2 days, now) */
    int width, height; /* viewBox size in px, clamped to the GRAPH_MIN/MAX_* bounds;
                          0: 800 x 320.  The height grows when the legend needs it */
    int interval;      /* probe interval, s, for the gaps and freshness; <= 0: 241 */
    const char *host;  /* named in the title; may be NULL */
    const char *id;    /* prefix of the element ids (title, desc) so that two graphs
                          can share a page: [A-Za-z0-9_-], up to 32; NULL: "graph" */
};

/* Append one complete <svg> element to out: the rows of one source
   (any order; rows outside [from, to], and scores and offsets that are NAN,
   are skipped) with the names of n_mons monitors.  Returns 0, or -1 on bad
   opts (from >= to, a bad id) or when out cannot grow; on -1, out may hold
   part of the element.  Without any point in the window it draws the axes
   and a "no measurements" notice. */
int graph_render(struct evbuffer *out, const struct db_sample_row *rows, size_t n,
                 const struct graph_monitor *mons, size_t n_mons,
                 const struct graph_opts *opts);

/* An upper bound, in bytes, of what graph_render appends for these opts,
   whatever the rows and names: about 700 KB at the default width of 800
   (test_graph measures 300 KB for random scores and offsets every minute
   from 10 monitors); two days of a real source seen by 3 monitors are about
   60 KB, mostly offset dots, and a steady one with one monitor a few KB. */
size_t graph_size_max(const struct graph_opts *opts);

#endif
