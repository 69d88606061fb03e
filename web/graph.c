/* graph.c - the history graph of one source as SVG text (graph.h).
 *
 * The rows are sorted once by time and then walked once per series: four
 * score lines and one offset series per drawn monitor.  Every point goes
 * through a column reducer that keeps the lowest and highest point of each
 * pixel column, which is what bounds the output; a line series also folds
 * horizontal runs (a steady score of 20 is a handful of points).  The page
 * framework escapes nothing here: this file writes XML and escapes its own
 * data text.  Coordinates are printed with one decimal. */
#include "web/graph.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "scorer/score.h"
#include "web/svg.h"

#define DEF_WIDTH    800
#define DEF_HEIGHT   320
#define MARGIN_L     44
#define MARGIN_R     66
#define MARGIN_T     24
#define AXIS_H       34  /* hour labels and dates under the plot */
#define LEGEND_ROW   18
#define LEGEND_PAD   6
#define MIN_PLOT_H   90
#define MARK_SPACING 96  /* px between the markers of one score line */
#define SCORE_TOP    25.0
#define SCORE_BOTTOM -105.0
#define CHAR_W       6.2 /* rough advance of an 11 px sans-serif character */

static const char *const kind_color[SCORE_KINDS] = {"#1f4e9c", "#7b2b9e", "#17803d",
                                                     "#b35a00"};
/* NULL: a solid line. */
static const char *const kind_dash[SCORE_KINDS] = {NULL, "8 3", "2 3", "9 3 2 3"};
static const char *const kind_mark_name[SCORE_KINDS] = {"circles", "squares",
                                                        "triangles", "diamonds"};
static const char *const mon_color[GRAPH_MAX_MONITORS] = {
    "#d6604d", "#2b9fb5", "#a6a61e", "#8c564b", "#e377c2", "#4d4d4d", "#ff9f1c",
    "#6a7fdb"};
static const int score_grid[] = {20, 10, 0, -20, -50, -100};
static const double offset_ladder[] = {0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500,
                                       GRAPH_OFFSET_MAX_MS};

struct layout {
    int64_t from, to;
    int width, height;
    double x0, x1, y0, y1; /* plot box */
    double ofs_range;      /* ms, half the offset axis */
    double gap;            /* s: a longer silence breaks a line */
    int64_t fresh;         /* s: a monitor's score counts this long */
    int legend_rows;
};

struct mon {
    int64_t id;
    const char *name; /* NULL: "monitor N" */
    int order;        /* position in the caller's list, else n_mons + rank */
    int slot;         /* offset series drawn, or -1 */
    size_t n_ofs, n_clamped;
    double last_ofs;
    double score[SCORE_KINDS];
    int64_t score_time[SCORE_KINDS];
    bool has_score[SCORE_KINDS];
};

/* ---- text ----------------------------------------------------------------------- */

static void
put_monitor_name(struct evbuffer *b, const struct mon *m, int *err)
{
    if (m->name && m->name[0])
        svg_put_text(b, m->name, GRAPH_NAME_CHARS, err);
    else
        *err |= evbuffer_add_printf(b, "monitor %lld", (long long)m->id) < 0;
}

static size_t
monitor_name_chars(const struct mon *m)
{
    char tmp[32];

    if (m->name && m->name[0])
        return svg_text_chars(m->name, GRAPH_NAME_CHARS);
    return (size_t)snprintf(tmp, sizeof(tmp), "monitor %lld", (long long)m->id);
}

enum tfmt { T_DATE, T_HOUR, T_FULL };

static void
fmt_utc(char *buf, size_t len, int64_t t, enum tfmt f)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm)) {
        snprintf(buf, len, "?");
        return;
    }
    switch (f) {
    case T_DATE:
        snprintf(buf, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        break;
    case T_HOUR: snprintf(buf, len, "%02d:%02d", tm.tm_hour, tm.tm_min); break;
    case T_FULL:
        snprintf(buf, len, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min);
        break;
    }
}

/* ---- scales --------------------------------------------------------------------- */

static double
x_of(const struct layout *L, int64_t t)
{
    return L->x0 + (double)(t - L->from) * (L->x1 - L->x0) / (double)(L->to - L->from);
}

static double
signed_sqrt(double v)
{
    return v < 0 ? -sqrt(-v) : sqrt(v);
}

/* Signed square root: 0..20 gets about a third of the height, -100 still
   fits; the NTP pool's graph compresses its negative scores the same way. */
static double
y_of_score(const struct layout *L, double s)
{
    double top = signed_sqrt(SCORE_TOP), bot = signed_sqrt(SCORE_BOTTOM);

    s = s > SCORE_TOP ? SCORE_TOP : s < SCORE_BOTTOM ? SCORE_BOTTOM : s;
    return L->y0 + (top - signed_sqrt(s)) / (top - bot) * (L->y1 - L->y0);
}

/* Offset in ms on the right axis; *clamp set when beyond it (drawn at the edge). */
static double
y_of_offset(const struct layout *L, double ms, int *clamp)
{
    double mid = (L->y0 + L->y1) / 2, half = (L->y1 - L->y0) / 2 - 4;

    *clamp = ms > L->ofs_range ? 1 : ms < -L->ofs_range ? -1 : 0;
    if (*clamp)
        ms = *clamp * L->ofs_range;
    return mid - ms / L->ofs_range * half;
}

/* ---- input ---------------------------------------------------------------------- */

struct input {
    const struct db_sample_row **row; /* in the window, by time */
    size_t n;
    int *mon;                         /* row -> index into mons */
    double *median;                   /* row -> its kind's score then, or NAN */
    struct mon *mons;
    size_t n_mons;
    struct mon **drawn;               /* offset series, by slot */
    int n_drawn, n_undrawn;
    size_t kind_n[SCORE_KINDS];
    double kind_last[SCORE_KINDS];
    size_t n_ofs, n_clamped;
};

static int
cmp_row(const void *a, const void *b)
{
    const struct db_sample_row *x = *(const struct db_sample_row *const *)a;
    const struct db_sample_row *y = *(const struct db_sample_row *const *)b;

    if (x->time != y->time) return x->time < y->time ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int
cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int
cmp_mon_id(const void *key, const void *elem)
{
    int64_t k = *(const int64_t *)key, id = ((const struct mon *)elem)->id;
    return k < id ? -1 : k > id;
}

static int
cmp_order(const void *a, const void *b)
{
    const struct mon *x = *(struct mon *const *)a, *y = *(struct mon *const *)b;
    return x->order - y->order;
}

static void
input_free(struct input *in)
{
    free(in->row);
    free(in->mon);
    free(in->median);
    free(in->mons);
    free(in->drawn);
}

/* The lower median of the kind's scores of the monitors fresh at t. */
static double
fresh_median(struct mon *mons, size_t n_mons, int k, int64_t t, int64_t fresh,
             double *tmp)
{
    size_t n = 0;

    for (size_t i = 0; i < n_mons; i++)
        if (mons[i].has_score[k] && t - mons[i].score_time[k] <= fresh)
            tmp[n++] = mons[i].score[k];
    /* Insertion sort: a handful of monitors. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && tmp[j - 1] > tmp[j]; j--) {
            double v = tmp[j];
            tmp[j] = tmp[j - 1];
            tmp[j - 1] = v;
        }
    return n ? tmp[(n - 1) / 2] : NAN;
}

static int
input_load(struct input *in, const struct db_sample_row *rows, size_t n,
           const struct graph_monitor *names, size_t n_names, const struct layout *L)
{
    int64_t *ids = NULL;
    double *tmp = NULL;
    size_t k = 0;

    memset(in, 0, sizeof(*in));
    for (size_t i = 0; i < SCORE_KINDS; i++)
        in->kind_last[i] = NAN;
    in->row = calloc(n ? n : 1, sizeof(*in->row));
    ids = calloc(n ? n : 1, sizeof(*ids));
    if (!in->row || !ids)
        goto fail;
    for (size_t i = 0; i < n; i++)
        if (rows[i].time >= L->from && rows[i].time <= L->to &&
            (unsigned)rows[i].kind < SCORE_KINDS)
            in->row[in->n++] = &rows[i];
    qsort(in->row, in->n, sizeof(*in->row), cmp_row);
    for (size_t i = 0; i < in->n; i++)
        ids[i] = in->row[i]->monitor;
    qsort(ids, in->n, sizeof(*ids), cmp_id);
    for (size_t i = 0; i < in->n; i++)
        if (k == 0 || ids[k - 1] != ids[i])
            ids[k++] = ids[i];
    in->n_mons = k;
    in->mons = calloc(k ? k : 1, sizeof(*in->mons));
    in->drawn = calloc(k ? k : 1, sizeof(*in->drawn));
    in->mon = calloc(in->n ? in->n : 1, sizeof(*in->mon));
    in->median = calloc(in->n ? in->n : 1, sizeof(*in->median));
    tmp = calloc(k ? k : 1, sizeof(*tmp));
    if (!in->mons || !in->drawn || !in->mon || !in->median || !tmp)
        goto fail;
    for (size_t i = 0; i < k; i++) {
        struct mon *m = &in->mons[i];
        m->id = ids[i];
        m->order = (int)(n_names + i);
        m->slot = -1;
        for (size_t j = 0; j < n_names; j++)
            if (names[j].id == m->id) {
                m->name = names[j].name;
                m->order = (int)j;
                break;
            }
    }
    for (size_t i = 0; i < in->n; i++) {
        const struct db_sample_row *r = in->row[i];
        struct mon *m = bsearch(&r->monitor, in->mons, k, sizeof(*m), cmp_mon_id);

        in->mon[i] = (int)(m - in->mons);
        in->median[i] = NAN;
        if (isfinite(r->offset)) {
            m->n_ofs++;
            m->last_ofs = r->offset * 1000;
        }
        if (isfinite(r->score)) {
            m->score[r->kind] = r->score;
            m->score_time[r->kind] = r->time;
            m->has_score[r->kind] = true;
            in->median[i] = fresh_median(in->mons, k, r->kind, r->time, L->fresh, tmp);
            in->kind_n[r->kind]++;
            in->kind_last[r->kind] = in->median[i];
        }
    }
    /* Offset series: the caller's monitors first, in its order. */
    for (size_t i = 0; i < k; i++)
        if (in->mons[i].n_ofs)
            in->drawn[in->n_drawn++] = &in->mons[i];
    qsort(in->drawn, (size_t)in->n_drawn, sizeof(*in->drawn), cmp_order);
    if (in->n_drawn > GRAPH_MAX_MONITORS) {
        in->n_undrawn = in->n_drawn - GRAPH_MAX_MONITORS;
        in->n_drawn = GRAPH_MAX_MONITORS;
    }
    for (int i = 0; i < in->n_drawn; i++)
        in->drawn[i]->slot = i;
    free(ids);
    free(tmp);
    return 0;
fail:
    free(ids);
    free(tmp);
    input_free(in);
    return -1;
}

static double
offset_axis(const struct input *in)
{
    double max_ms = 0;
    size_t i;

    for (i = 0; i < in->n; i++)
        if (isfinite(in->row[i]->offset) && fabs(in->row[i]->offset * 1000) > max_ms)
            max_ms = fabs(in->row[i]->offset * 1000);
    for (i = 0; i < sizeof(offset_ladder) / sizeof(offset_ladder[0]) - 1; i++)
        if (max_ms <= offset_ladder[i])
            break;
    return offset_ladder[i];
}

/* ---- drawing -------------------------------------------------------------------- */

static void
put_marker(struct evbuffer *b, int kind, double x, double y, int *err)
{
    int r = 0;

    switch (kind) {
    case SCORE_KIND_NTS_V4:
        r = evbuffer_add_printf(b, "M%.1f,%.1fa3.2,3.2 0 1,0 6.4,0a3.2,3.2 0 1,0 -6.4,0",
                                x - 3.2, y);
        break;
    case SCORE_KIND_NTS_V6: r = evbuffer_add_printf(b, "M%.1f,%.1fh6v6h-6z", x - 3, y - 3); break;
    case SCORE_KIND_POOL_V4:
        r = evbuffer_add_printf(b, "M%.1f,%.1fl3.8,6.4h-7.6z", x, y - 4);
        break;
    default: r = evbuffer_add_printf(b, "M%.1f,%.1fl4,4l-4,4l-4,-4z", x, y - 4); break;
    }
    *err |= r < 0;
}

static void
put_glyph_attrs(struct evbuffer *b, int slot, bool clamped, int *err)
{
    const char *c = mon_color[slot];
    int r;

    if (clamped)
        r = evbuffer_add_printf(b, "<path fill=\"%s\" stroke=\"%s\" stroke-width=\"1\" d=\"",
                                c, c);
    else if (slot % SVG_DOT_SHAPES <= SVG_SQUARE)
        r = evbuffer_add_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"4\" "
                                "stroke-linecap=\"%s\" d=\"", c,
                                slot % SVG_DOT_SHAPES == SVG_ROUND ? "round" : "square");
    else
        r = evbuffer_add_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" "
                                "d=\"", c);
    *err |= r < 0;
}

static void
put_line_attrs(struct evbuffer *b, int k, int *err)
{
    *err |= evbuffer_add_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                                "stroke-linejoin=\"round\" stroke-linecap=\"round\"%s%s%s d=\"",
                                kind_color[k], kind_dash[k] ? " stroke-dasharray=\"" : "",
                                kind_dash[k] ? kind_dash[k] : "",
                                kind_dash[k] ? "\"" : "") < 0;
}

static void
draw_offsets(struct evbuffer *b, const struct input *in, const struct layout *L, int *err)
{
    for (int slot = 0; slot < in->n_drawn; slot++) {
        const struct mon *m = in->drawn[slot];

        for (int pass = 0; pass < 2; pass++) {
            struct svg_series s;
            bool any = false;

            svg_series_init(&s, b, true, (enum svg_glyph)(slot % SVG_DOT_SHAPES), L->x0, L->gap,
                            L->x1 + 1, MARK_SPACING);
            for (size_t i = 0; i < in->n; i++) {
                int clamp;
                double y;

                if (&in->mons[in->mon[i]] != m || !isfinite(in->row[i]->offset))
                    continue;
                y = y_of_offset(L, in->row[i]->offset * 1000, &clamp);
                if ((clamp != 0) != (pass == 1))
                    continue;
                if (!any)
                    put_glyph_attrs(b, slot, pass == 1, err);
                any = true;
                svg_series_add(&s, in->row[i]->time, x_of(L, in->row[i]->time), y, clamp);
            }
            svg_series_finish(&s);
            *err |= s.err;
            if (any)
                *err |= evbuffer_add_printf(b, "\"/>\n") < 0;
        }
    }
}

static void
draw_scores(struct evbuffer *b, const struct input *in, const struct layout *L, int *err)
{
    for (int k = 0; k < SCORE_KINDS; k++) {
        struct svg_series s;

        if (in->kind_n[k] == 0)
            continue;
        svg_series_init(&s, b, false, SVG_ROUND, L->x0, L->gap, L->x0 + 10 + 24 * k,
                        MARK_SPACING);
        put_line_attrs(b, k, err);
        for (size_t i = 0; i < in->n; i++)
            if ((int)in->row[i]->kind == k && isfinite(in->median[i]))
                svg_series_add(&s, in->row[i]->time, x_of(L, in->row[i]->time),
                               y_of_score(L, in->median[i]), 0);
        svg_series_finish(&s);
        *err |= s.err;
        /* The last point gets a marker too, unless one is close. */
        if (s.n_marks < SVG_MAX_MARKS && s.seg_n == 0 &&
            (s.n_marks == 0 || s.last.x - s.marks[s.n_marks - 1].x > MARK_SPACING / 3))
            s.marks[s.n_marks++] = s.last;
        *err |= evbuffer_add_printf(b, "\"/>\n<path fill=\"%s\" stroke=\"#ffffff\" "
                                    "stroke-width=\"0.8\" d=\"", kind_color[k]) < 0;
        for (int i = 0; i < s.n_marks; i++)
            put_marker(b, k, s.marks[i].x, s.marks[i].y, err);
        *err |= evbuffer_add_printf(b, "\"/>\n") < 0;
    }
}

static void
draw_score_axis(struct evbuffer *b, const struct layout *L, int *err)
{
    for (size_t i = 0; i < sizeof(score_grid) / sizeof(score_grid[0]); i++) {
        int v = score_grid[i];
        double y = y_of_score(L, v);

        *err |= evbuffer_add_printf(b, "<path stroke=\"%s\" stroke-width=\"1\" d=\"M%.1f,%.1fH%.1f\"/>"
                                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%d</text>\n",
                                    v == 10 ? "#8a8a8a" : v == 0 ? "#b0b0b0" : "#e0e0e0",
                                    L->x0, y, L->x1, L->x0 - 5, y + 4, v) < 0;
    }
    *err |= evbuffer_add_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#6a6a6a\" "
                                "font-size=\"9\">in the pool above 10</text>\n"
                                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\">score</text>\n",
                                L->x0 + 4, y_of_score(L, 10) - 3, L->x0 - 5,
                                MARGIN_T - 10) < 0;
}

static void
draw_offset_axis(struct evbuffer *b, const struct layout *L, int *err)
{
    static const double frac[] = {1, 0.5, 0, -0.5, -1};

    *err |= evbuffer_add_printf(b, "<path stroke=\"#8a8a8a\" d=\"") < 0;
    for (size_t i = 0; i < 5; i++) {
        int clamp;
        double y = y_of_offset(L, frac[i] * L->ofs_range, &clamp);
        *err |= evbuffer_add_printf(b, "M%.1f,%.1fh5", L->x1, y) < 0;
    }
    *err |= evbuffer_add_printf(b, "\"/>\n") < 0;
    for (size_t i = 0; i < 5; i++) {
        int clamp;
        double v = frac[i] * L->ofs_range;
        double y = y_of_offset(L, v, &clamp);
        *err |= evbuffer_add_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%s%g</text>\n",
                                    L->x1 + 7, y + 4, v > 0 ? "+" : "", v) < 0;
    }
    *err |= evbuffer_add_printf(b, "<text x=\"%.1f\" y=\"%d\">offset (ms)</text>\n",
                                L->x1 + 7, MARGIN_T - 10) < 0;
}

/* Hour and day ticks in UTC: day lines and dates, labelled hours every
   `step` hours (at least 44 px apart), a tick mark every hour when there is
   room (4 px), else every day. */
static void
draw_time_axis(struct evbuffer *b, const struct layout *L, int *err)
{
    static const int steps[] = {1, 2, 3, 6, 12, 24, 48, 168, 720};
    double pph = (L->x1 - L->x0) * 3600.0 / (double)(L->to - L->from);
    int64_t step = 720, minor = pph >= 4 ? 1 : 24, t, first_day = -1;
    double ylab = L->y1 + 14, ydate = L->y1 + 27;
    char buf[64];

    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (steps[i] * pph >= 44) {
            step = steps[i];
            break;
        }
    if (step > 24 && step % 24 == 0)
        minor = 24;
    /* Grid lines: days strong, labelled hours light. */
    for (int pass = 0; pass < 3; pass++) {
        *err |= evbuffer_add_printf(b, "<path stroke=\"%s\" d=\"",
                                    pass == 0 ? "#ececec" : pass == 1 ? "#bdbdbd"
                                                                      : "#8a8a8a") < 0;
        for (t = (L->from + 3599) / 3600 * 3600; t <= L->to; t += 3600 * minor) {
            double x = x_of(L, t);
            bool day = t % 86400 == 0, label = (t / 3600) % step == 0;

            if (pass == 0 && label && !day)
                *err |= evbuffer_add_printf(b, "M%.1f,%.1fV%.1f", x, L->y0, L->y1) < 0;
            else if (pass == 1 && day)
                *err |= evbuffer_add_printf(b, "M%.1f,%.1fV%.1f", x, L->y0, L->y1) < 0;
            else if (pass == 2)
                *err |= evbuffer_add_printf(b, "M%.1f,%.1fv%d", x, L->y1, label ? 5 : 3) < 0;
        }
        *err |= evbuffer_add_printf(b, "\"/>\n") < 0;
    }
    for (t = (L->from + 3599) / 3600 * 3600; t <= L->to; t += 3600 * minor) {
        double x = x_of(L, t);

        if (t % 86400 == 0) {
            if (first_day < 0)
                first_day = t;
            if (x + 66 <= L->x1 + MARGIN_R) {
                fmt_utc(buf, sizeof(buf), t, T_DATE);
                *err |= evbuffer_add_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                                            x + 2, ydate, buf) < 0;
            }
        }
        if ((t / 3600) % step == 0 && step < 24) {
            fmt_utc(buf, sizeof(buf), t, T_HOUR);
            *err |= evbuffer_add_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                                        "%s</text>\n", x, ylab, buf) < 0;
        }
    }
    /* The date of the partial first day, when there is room before midnight. */
    if (first_day < 0 || x_of(L, first_day) - L->x0 >= 70) {
        fmt_utc(buf, sizeof(buf), L->from, T_DATE);
        *err |= evbuffer_add_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", L->x0,
                                    ydate, buf) < 0;
    }
}

/* ---- legend, text, the element ---------------------------------------------------- */

enum item_type { IT_KIND, IT_MON, IT_CLAMP, IT_MORE };

/* Lay the legend out in rows under the axis (draw: also write it). Returns
   the number of rows. */
static int
legend(struct evbuffer *b, const struct input *in, const struct layout *L, bool draw,
       int *err)
{
    int n_items = SCORE_KINDS + in->n_drawn + (in->n_clamped > 0) + (in->n_undrawn > 0);
    double x = L->x0, right = L->x1 + MARGIN_R - 8;
    double ytop = L->y1 + AXIS_H + LEGEND_PAD;
    int row = 0;

    for (int i = 0; i < n_items; i++) {
        enum item_type t = i < SCORE_KINDS ? IT_KIND
                           : i < SCORE_KINDS + in->n_drawn ? IT_MON
                           : i == SCORE_KINDS + in->n_drawn && in->n_clamped ? IT_CLAMP
                                                                            : IT_MORE;
        int k = i, slot = i - SCORE_KINDS;
        double chars = 0, w, y;

        switch (t) {
        case IT_KIND: chars = 12 + (in->kind_n[k] ? 0 : 10); break;
        case IT_MON: chars = 8 + (double)monitor_name_chars(in->drawn[slot]); break;
        case IT_CLAMP: chars = 34; break;
        case IT_MORE: chars = 28; break;
        }
        w = (t == IT_KIND ? 34 : 16) + chars * CHAR_W + 14;
        if (x > L->x0 && x + w > right) {
            row++;
            x = L->x0;
        }
        y = ytop + row * LEGEND_ROW + 6;
        if (draw) {
            switch (t) {
            case IT_KIND:
                put_line_attrs(b, k, err);
                *err |= evbuffer_add_printf(b, "M%.1f,%.1fh28\"/><path fill=\"%s\" "
                                            "stroke=\"#ffffff\" stroke-width=\"0.8\" d=\"",
                                            x, y, kind_color[k]) < 0;
                put_marker(b, k, x + 14, y, err);
                *err |= evbuffer_add_printf(b, "\"/><text x=\"%.1f\" y=\"%.1f\">%s score%s"
                                            "</text>\n", x + 34, y + 4,
                                            score_kind_str((enum score_kind)k),
                                            in->kind_n[k] ? "" : " (no data)") < 0;
                break;
            case IT_MON: {
                put_glyph_attrs(b, slot, false, err);
                svg_glyph(b, (enum svg_glyph)(slot % SVG_DOT_SHAPES), 0, x + 6, y, err);
                *err |= evbuffer_add_printf(b, "\"/><text x=\"%.1f\" y=\"%.1f\">offset, ",
                                            x + 16, y + 4) < 0;
                put_monitor_name(b, in->drawn[slot], err);
                *err |= evbuffer_add_printf(b, "</text>\n") < 0;
                break;
            }
            case IT_CLAMP:
                *err |= evbuffer_add_printf(b, "<path fill=\"#4d4d4d\" d=\"M%.1f,%.1fl-3.5,6h7z"
                                            "\"/><text x=\"%.1f\" y=\"%.1f\">offset beyond "
                                            "\xC2\xB1%g ms, drawn at the edge</text>\n",
                                            x + 6, y - 4, x + 16, y + 4, L->ofs_range) < 0;
                break;
            case IT_MORE:
                *err |= evbuffer_add_printf(b, "<text x=\"%.1f\" y=\"%.1f\">offsets of %d more "
                                            "monitors not drawn</text>\n", x, y + 4,
                                            in->n_undrawn) < 0;
                break;
            }
        }
        x += w;
    }
    return row + 1;
}

static void
put_desc(struct evbuffer *b, const struct input *in, const struct layout *L, int *err)
{
    char a[64], z[64];

    fmt_utc(a, sizeof(a), L->from, T_FULL);
    fmt_utc(z, sizeof(z), L->to, T_FULL);
    *err |= evbuffer_add_printf(b, "Score per kind from %s to %s UTC on the left axis "
                                "(square-root scale, gridlines at 20, 10, 0, -20, -50 and "
                                "-100; a source is in the pool above 10) and the offset "
                                "measured by each monitor in milliseconds on the right axis "
                                "(\xC2\xB1%g ms).", a, z, L->ofs_range) < 0;
    if (in->n == 0) {
        *err |= evbuffer_add_printf(b, " No measurements in this period.") < 0;
        return;
    }
    for (int k = 0; k < SCORE_KINDS; k++) {
        const char *name = score_kind_str((enum score_kind)k);
        if (in->kind_n[k])
            *err |= evbuffer_add_printf(b, " %s: %zu scored samples, latest score %.1f, "
                                        "line style %s with %s.", name, in->kind_n[k],
                                        in->kind_last[k],
                                        kind_dash[k] ? "dashed" : "solid",
                                        kind_mark_name[k]) < 0;
        else
            *err |= evbuffer_add_printf(b, " %s: no scored samples.", name) < 0;
    }
    for (int i = 0; i < in->n_drawn; i++) {
        const struct mon *m = in->drawn[i];
        *err |= evbuffer_add_printf(b, " Offset from ") < 0;
        put_monitor_name(b, m, err);
        *err |= evbuffer_add_printf(b, ": %zu samples, latest %+.3f ms", m->n_ofs,
                                    m->last_ofs) < 0;
        if (m->n_clamped)
            *err |= evbuffer_add_printf(b, ", %zu beyond the axis", m->n_clamped) < 0;
        *err |= evbuffer_add(b, ".", 1);
    }
    if (in->n_undrawn)
        *err |= evbuffer_add_printf(b, " Offsets of %d more monitors are not drawn.",
                                    in->n_undrawn) < 0;
}

static bool
id_ok(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > 32)
        return false;
    for (; *id; id++)
        if (!(*id == '-' || *id == '_' || (*id >= '0' && *id <= '9') ||
              (*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z')))
            return false;
    return true;
}

static int
clampi(int v, int def, int lo, int hi)
{
    return v <= 0 ? def : v < lo ? lo : v > hi ? hi : v;
}

int
graph_render(struct evbuffer *b, const struct db_sample_row *rows, size_t n,
             const struct graph_monitor *mons, size_t n_mons,
             const struct graph_opts *o)
{
    const char *id = o->id ? o->id : "graph";
    struct layout L = {0};
    struct input in;
    int err = 0, interval = o->interval > 0 ? o->interval : SCORE_INTERVAL_DEFAULT;

    if (o->from >= o->to || !id_ok(id))
        return -1;
    L.from = o->from;
    L.to = o->to;
    L.width = clampi(o->width, DEF_WIDTH, GRAPH_MIN_WIDTH, GRAPH_MAX_WIDTH);
    L.height = clampi(o->height, DEF_HEIGHT, GRAPH_MIN_HEIGHT, GRAPH_MAX_HEIGHT);
    L.x0 = MARGIN_L;
    L.x1 = L.width - MARGIN_R;
    L.fresh = (int64_t)SCORE_FRESH_INTERVALS * interval;
    /* A gap narrower than two columns would not show: it never splits a column. */
    L.gap = (double)L.fresh;
    if (L.gap < 2.0 * (double)(L.to - L.from) / (L.x1 - L.x0))
        L.gap = 2.0 * (double)(L.to - L.from) / (L.x1 - L.x0);
    if (input_load(&in, rows, n, mons, n_mons, &L) != 0)
        return -1;
    L.ofs_range = offset_axis(&in);
    for (size_t i = 0; i < in.n; i++) {
        double ms = in.row[i]->offset * 1000;
        if (isfinite(ms) && fabs(ms) > L.ofs_range) {
            in.mons[in.mon[i]].n_clamped++;
            if (in.mons[in.mon[i]].slot >= 0)
                in.n_clamped++;
        }
    }
    L.legend_rows = in.n ? legend(NULL, &in, &L, false, &err) : 0;
    {
        int need = MARGIN_T + MIN_PLOT_H + AXIS_H + LEGEND_PAD + L.legend_rows * LEGEND_ROW;
        if (L.height < need)
            L.height = need;
    }
    L.y0 = MARGIN_T;
    L.y1 = L.height - AXIS_H - LEGEND_PAD - L.legend_rows * LEGEND_ROW;

    err |= evbuffer_add_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                               "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
                               "aria-labelledby=\"%s-title %s-desc\" font-family=\"sans-serif\" "
                               "font-size=\"11\" fill=\"#333333\">\n<title id=\"%s-title\">"
                               "Score and offset history", L.width, L.height, L.width,
                               L.height, id, id, id) < 0;
    if (o->host && o->host[0]) {
        err |= evbuffer_add_printf(b, " of ") < 0;
        svg_put_text(b, o->host, 253, &err);
    }
    err |= evbuffer_add_printf(b, "</title>\n<desc id=\"%s-desc\">", id) < 0;
    put_desc(b, &in, &L, &err);
    err |= evbuffer_add_printf(b, "</desc>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                               "height=\"%.1f\" fill=\"#ffffff\" stroke=\"#8a8a8a\"/>\n",
                               L.x0, L.y0, L.x1 - L.x0, L.y1 - L.y0) < 0;
    draw_time_axis(b, &L, &err);
    draw_score_axis(b, &L, &err);
    draw_offset_axis(b, &L, &err);
    if (in.n) {
        draw_offsets(b, &in, &L, &err);
        draw_scores(b, &in, &L, &err);
        legend(b, &in, &L, true, &err);
    } else {
        err |= evbuffer_add_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                                   "font-size=\"14\">No measurements in this period</text>\n",
                                   (L.x0 + L.x1) / 2, (L.y0 + L.y1) / 2) < 0;
    }
    err |= evbuffer_add_printf(b, "</svg>\n") < 0;
    input_free(&in);
    return err ? -1 : 0;
}

size_t
graph_size_max(const struct graph_opts *o)
{
    size_t w = (size_t)clampi(o->width, DEF_WIDTH, GRAPH_MIN_WIDTH, GRAPH_MAX_WIDTH);
    size_t cols = w - MARGIN_L - MARGIN_R + 2;
    /* Per column: 2 points of each score line (14 bytes), 2 glyphs of each
       offset series and 2 triangles (each at most 27 bytes); tick marks and
       labels every 4 px.  Fixed: the frame, grid, axes, title and legend,
       and per monitor its name twice (6 bytes per escaped byte). */
    return 12288 + 253 * 6 + GRAPH_MAX_MONITORS * (2 * DB_NAME_MAX * 6 + 400) +
           cols * (SCORE_KINDS * 2 * 14 + GRAPH_MAX_MONITORS * 4 * 27) +
           (cols / 4 + 2) * 16 + (cols / 44 + 30) * 80 + SCORE_KINDS * SVG_MAX_MARKS * 60;
}
