/* svg.c - SVG text pieces (svg.h): XML escaping, glyphs, and the series
 * writer that bounds a graph's size.
 *
 * The column reducer keeps the lowest and highest point of each pixel
 * column, which is all a screen can show of it; the line writer then folds
 * horizontal runs, so a steady score is a handful of points.  Coordinates
 * are printed with one decimal: finer is invisible and costs bytes. */
#include "web/svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

/* ---- text ----------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t
utf8_len(const unsigned char *s)
{
    size_t n, i;
    unsigned cp;

    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) n = 2, cp = s[0] & 0x1Fu;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) n = 3, cp = s[0] & 0x0Fu;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) n = 4, cp = s[0] & 0x07u;
    else return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
        return 0;
    return n;
}

size_t
svg_put_text(struct evbuffer *b, const char *s, size_t max_chars, int *err)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;

    while (*p) {
        size_t n = utf8_len(p);
        const char *rep = NULL;

        if (chars == max_chars) {
            *err |= evbuffer_add(b, "\xE2\x80\xA6", 3);
            return chars + 1;
        }
        if (n == 0) {
            rep = "?";
            n = 1;
        } else if (*p == '&') rep = "&amp;";
        else if (*p == '<') rep = "&lt;";
        else if (*p == '>') rep = "&gt;";
        else if (*p == '"') rep = "&quot;";
        else if (*p == '\'') rep = "&#39;";
        else if (*p < 0x20 || *p == 0x7F) rep = "?";
        *err |= rep ? evbuffer_add(b, rep, strlen(rep)) : evbuffer_add(b, p, n);
        p += n;
        chars++;
    }
    return chars;
}

size_t
svg_text_chars(const char *s, size_t max_chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0, n;

    for (; *p && chars <= max_chars; p += n ? n : 1)
        n = utf8_len(p), chars++;
    return chars > max_chars ? max_chars + 1 : chars;
}

/* ---- series --------------------------------------------------------------------- */

void
svg_series_init(struct svg_series *s, struct evbuffer *b, bool dots, enum svg_glyph g,
                double x0, double gap, double first_mark, double mark_spacing)
{
    memset(s, 0, sizeof(*s));
    s->b = b;
    s->dots = dots;
    s->glyph = g;
    s->x0 = x0;
    s->gap = gap;
    s->next_mark = first_mark;
    s->mark_spacing = mark_spacing;
}

void
svg_glyph(struct evbuffer *b, enum svg_glyph g, int clamp, double x, double y, int *err)
{
    int r = 0;

    switch (clamp ? SVG_TRI : g) {
    case SVG_ROUND:
    case SVG_SQUARE: r = evbuffer_add_printf(b, "M%.1f,%.1fh0", x, y); break;
    case SVG_PLUS: r = evbuffer_add_printf(b, "M%.1f,%.1fh6m-3,-3v6", x - 3, y); break;
    case SVG_CROSS:
        r = evbuffer_add_printf(b, "M%.1f,%.1fl5,5m0,-5l-5,5", x - 2.5, y - 2.5);
        break;
    case SVG_TRI:
        r = evbuffer_add_printf(b, "M%.1f,%.1fl-3.5,%dh7z", x, y, clamp > 0 ? 6 : -6);
        break;
    }
    *err |= r < 0;
}

static bool
same_y(const struct svg_pt *a, const struct svg_pt *b)
{
    return lround(a->y * 10) == lround(b->y * 10);
}

static void
line_write(struct svg_series *s, const struct svg_pt *p, char cmd)
{
    s->err |= evbuffer_add_printf(s->b, "%c%.1f,%.1f", cmd, p->x, p->y) < 0;
    s->last = *p;
    s->seg_n++;
}

/* A point of a line: the middle of three points at one height is dropped. */
static void
line_point(struct svg_series *s, const struct svg_pt *p)
{
    if (p->x >= s->next_mark && s->n_marks < SVG_MAX_MARKS) {
        s->marks[s->n_marks++] = *p;
        s->next_mark = p->x + s->mark_spacing;
    }
    if (s->seg_n == 0) {
        line_write(s, p, 'M');
        return;
    }
    if (s->held && !(same_y(&s->last, &s->hold) && same_y(&s->hold, p)))
        line_write(s, &s->hold, 'L');
    s->hold = *p;
    s->held = true;
}

static void
segment_end(struct svg_series *s)
{
    if (s->dots)
        return;
    if (s->held)
        line_write(s, &s->hold, 'L');
    if (s->seg_n == 1)
        s->err |= evbuffer_add(s->b, "h0", 2); /* a lone sample: a dot */
    s->seg_n = 0;
    s->held = false;
}

/* A dot that would land on the previous one (dots are 4 px wide) is left
   out; a line gets every point. */
static void
emit(struct svg_series *s, const struct svg_pt *p)
{
    if (!s->dots) {
        line_point(s, p);
        return;
    }
    if (s->seg_n && p->clamp == s->last.clamp && fabs(p->x - s->last.x) < 2 &&
        fabs(p->y - s->last.y) < (p->clamp ? 4 : 1.5))
        return;
    svg_glyph(s->b, s->glyph, p->clamp, p->x, p->y, &s->err);
    s->last = *p;
    s->seg_n = 1;
}

static void
column_flush(struct svg_series *s)
{
    const struct svg_pt *a, *b;

    if (!s->have)
        return;
    a = s->lo.t <= s->hi.t ? &s->lo : &s->hi;
    b = a == &s->lo ? &s->hi : &s->lo;
    emit(s, a);
    if (!same_y(a, b) || a->clamp != b->clamp)
        emit(s, b);
    s->have = false;
}

void
svg_series_add(struct svg_series *s, int64_t t, double x, double y, int clamp)
{
    struct svg_pt p = {x, y, t, clamp};
    int col = (int)floor(p.x - s->x0);

    if (s->started && (double)(t - s->last_t) > s->gap) {
        column_flush(s);
        segment_end(s);
    } else if (s->have && col != s->col) {
        column_flush(s);
    }
    if (!s->have) {
        s->lo = s->hi = p;
        s->col = col;
        s->have = true;
    } else if (p.y < s->hi.y) {
        s->hi = p; /* highest on screen */
    } else if (p.y > s->lo.y) {
        s->lo = p;
    }
    s->last_t = t;
    s->started = true;
}

void
svg_series_finish(struct svg_series *s)
{
    column_flush(s);
    segment_end(s);
}

