/* svg.h - small pieces for writing SVG as text into an evbuffer: XML
 * escaping of data text, point glyphs, and a series writer that reduces a
 * time series to at most two points per pixel column and breaks it at gaps.
 *
 * Pure text building, no I/O; web/graph.c lays the graph out with these.
 * Nothing here writes a style attribute: callers give presentation
 * attributes (stroke, fill, stroke-dasharray), which a strict
 * Content-Security-Policy allows. */
#ifndef NTSPOOL_WEB_SVG_H
#define NTSPOOL_WEB_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define SVG_MAX_MARKS 32 /* markers kept along one line series */

/* Shapes of a point, as path data around (x, y): dots drawn with a wide round
   or square line cap, a plus, a cross, and a triangle for a point drawn at
   the edge of its axis (pointing up when clamp > 0, else down). */
enum svg_glyph {
    SVG_ROUND = 0,
    SVG_SQUARE = 1,
    SVG_PLUS = 2,
    SVG_CROSS = 3,
    SVG_TRI = 4,
};
#define SVG_DOT_SHAPES 4 /* the shapes of unclamped points */

struct svg_pt {
    double x, y;
    int64_t t;
    int clamp; /* +1 beyond the top of its axis, -1 beyond the bottom, 0 within */
};

/* One series being written as the d attribute of a <path> (the caller writes
   the element around it).  Fields are private to svg.c except marks and
   n_marks (points where a line wants a marker) and last (its last point). */
struct svg_series {
    struct evbuffer *b;
    bool dots;           /* a glyph per point, else a polyline */
    enum svg_glyph glyph;
    double x0;           /* x of column 0 */
    double gap;          /* s: a longer silence between points breaks the line */
    double mark_spacing; /* px between markers */
    int col;
    bool have;
    struct svg_pt lo, hi;
    bool started;
    int64_t last_t;
    int seg_n; /* line: points written in this segment; dots: 1 after the first */
    bool held; /* line: the last point, not yet written */
    struct svg_pt hold, last;
    struct svg_pt marks[SVG_MAX_MARKS];
    int n_marks;
    double next_mark;
    int err; /* non-zero once an append failed */
};

/* Start a series writing to b.  gap should be at least two columns' worth of
   time (then a gap never splits a column, and each column holds at most two
   points).  Markers (lines only) go at the first point at or after
   first_mark, then every mark_spacing px. */
void svg_series_init(struct svg_series *s, struct evbuffer *b, bool dots,
                     enum svg_glyph g, double x0, double gap, double first_mark,
                     double mark_spacing);
/* Add a point at time t (not decreasing), drawn at (x, y).  Each pixel column
   keeps its lowest and highest point, in time order; a line drops the middle
   of three points at one height; a dot on top of the previous one is left out. */
void svg_series_add(struct svg_series *s, int64_t t, double x, double y, int clamp);
/* Write what is pending; a line segment of one point becomes a dot ("h0"). */
void svg_series_finish(struct svg_series *s);

/* Path data of one glyph at (x, y); *err set non-zero when b cannot grow. */
void svg_glyph(struct evbuffer *b, enum svg_glyph g, int clamp, double x, double y,
               int *err);

/* Append s escaped for XML text and attribute values, at most max_chars
   characters and then an ellipsis; control characters and invalid UTF-8
   become '?'.  Returns the characters written. */
size_t svg_put_text(struct evbuffer *b, const char *s, size_t max_chars, int *err);
/* The characters svg_put_text would write for s (for layout). */
size_t svg_text_chars(const char *s, size_t max_chars);

#endif
