/* score_replay - recompute the scores of a database from its stored samples
 * with the project's scorer (scorer/), for tests/system/080-crash.sh.  The
 * test dumps the tables with the sqlite3 CLI (SQL stays out of C) and pipes
 * them in, one row a line, fields separated by blanks, NULL as "NULL":
 *
 *   S source kind monitor time step score reason
 *       every sample, ordered by source, kind, monitor, time;
 *   L source kind monitor time interval na score sample_time
 *       every row of scores (the latest state per source, kind, monitor).
 *
 * Per (source, kind, monitor) the samples that moved the score (step and
 * score set) are folded in time order from 0 with score_update and the cap
 * of their reason (SCORING.md "Score"); each must hold the score of the fold
 * up to it, and the scores row the last one with its time.  A sample with a
 * step but no score was late (older than one already scored: it keeps its
 * step and does not move the score); one with neither was discarded (rule 1).
 * So a batch stored in part (samples without their score update, or the
 * reverse), a lost or a doubled sample, shows as a mismatch.
 *
 * Then, for each (source, kind), the kind's current score at Unix time NOW
 * (argv[1]) through score_current from the replayed scores and the rows'
 * times and intervals; printed as "K source kind-name score|null n_fresh"
 * for the test to compare with the API.  Mismatches go to stdout as
 * "MISMATCH ..." lines; exit status 1 when there was one, 2 on bad input. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scorer/score.h"

#define LINE_MAX_LEN 512
#define EPS          1e-9

struct series { /* one (source, kind, monitor) */
    long long source, monitor, last_time, last_scored, max_late;
    int kind;
    size_t scored, late;
    double score; /* the fold; NAN before the first scored sample */
};

struct latest { /* one scores row */
    long long source, monitor, time, sample_time;
    int kind, interval;
    bool na, has_score, has_sample_time;
    double score;
};

static struct series *ser;
static size_t nser, capser;
static struct latest *lat;
static size_t nlat, caplat;
static int mismatches;

static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 64;
    p = realloc(p, *cap * size);
    if (!p) {
        fprintf(stderr, "score_replay: out of memory\n");
        exit(2);
    }
    return p;
}

static bool
is_null(const char *s)
{
    return strcmp(s, "NULL") == 0;
}

static double
num(const char *s)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end) {
        fprintf(stderr, "score_replay: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

static void
mismatch(const char *what, const struct series *s, long long time, double want, double got)
{
    printf("MISMATCH %s: source %lld kind %d monitor %lld time %lld: replayed %.17g, "
           "stored %.17g\n",
           what, s->source, s->kind, s->monitor, time, want, got);
    mismatches++;
}

static void
sample(char **f)
{
    long long source = (long long)num(f[1]), monitor = (long long)num(f[3]);
    long long time = (long long)num(f[4]);
    int kind = (int)num(f[2]);
    struct series *s = nser ? &ser[nser - 1] : NULL;
    bool has_step = !is_null(f[5]), has_score = !is_null(f[6]);

    if (!s || s->source != source || s->kind != kind || s->monitor != monitor) {
        ser = grow(ser, &capser, nser, sizeof(*ser));
        s = &ser[nser++];
        memset(s, 0, sizeof(*s));
        s->source = source;
        s->kind = kind;
        s->monitor = monitor;
        s->score = NAN;
        s->max_late = -1;
    } else if (time <= s->last_time) {
        fprintf(stderr, "score_replay: samples out of order\n");
        exit(2);
    }
    s->last_time = time;
    if (!has_step) {
        if (has_score)
            mismatch("a discarded sample has a score", s, time, NAN, num(f[6]));
        return;
    }
    if (!has_score) {
        s->late++;
        s->max_late = time;
        return;
    }
    {
        double step = num(f[5]), got = num(f[6]);
        double want = score_update(isnan(s->score) ? 0.0 : s->score, step,
                                   score_cap_of((enum probe_reason)(int)num(f[7])));
        if (!(fabs(want - got) <= EPS))
            mismatch("sample score", s, time, want, got);
        s->score = want;
        s->scored++;
        s->last_scored = time;
    }
}

static struct series *
find_series(long long source, int kind, long long monitor)
{
    for (size_t i = 0; i < nser; i++)
        if (ser[i].source == source && ser[i].kind == kind && ser[i].monitor == monitor)
            return &ser[i];
    return NULL;
}

static void
latest(char **f)
{
    struct latest *l;

    lat = grow(lat, &caplat, nlat, sizeof(*lat));
    l = &lat[nlat++];
    memset(l, 0, sizeof(*l));
    l->source = (long long)num(f[1]);
    l->kind = (int)num(f[2]);
    l->monitor = (long long)num(f[3]);
    l->time = (long long)num(f[4]);
    l->interval = (int)num(f[5]);
    l->na = num(f[6]) != 0;
    l->has_score = !is_null(f[7]);
    l->score = l->has_score ? num(f[7]) : NAN;
    l->has_sample_time = !is_null(f[8]);
    l->sample_time = l->has_sample_time ? (long long)num(f[8]) : 0;
}

/* The scores rows against the replayed series, and every series with a
   scored sample has its row. */
static void
check_latest(void)
{
    for (size_t i = 0; i < nlat; i++) {
        struct latest *l = &lat[i];
        struct series *s = find_series(l->source, l->kind, l->monitor);
        struct series none = {.source = l->source, .kind = l->kind, .monitor = l->monitor,
                              .score = NAN};
        if (!s)
            s = &none;
        if (isnan(s->score) != !l->has_score ||
            (l->has_score && !(fabs(s->score - l->score) <= EPS)))
            mismatch("latest score", s, l->time, s->score, l->score);
        /* The row names the newest scored sample, and no report before it. */
        if (s->scored && (!l->has_sample_time || l->sample_time != s->last_scored ||
                          l->time < l->sample_time))
            mismatch("latest sample time", s, l->time, (double)s->last_scored,
                     (double)l->sample_time);
        /* A sample kept without moving the score is older than one that did;
           a newer one is a sample whose score update was lost. */
        if (s->late && s->max_late > s->last_scored)
            mismatch("a sample newer than the latest score did not move it", s,
                     s->max_late, (double)s->last_scored, (double)s->max_late);
    }
    for (size_t i = 0; i < nser; i++) {
        bool found = false;
        for (size_t j = 0; j < nlat && !found; j++)
            found = lat[j].source == ser[i].source && lat[j].kind == ser[i].kind &&
                    lat[j].monitor == ser[i].monitor;
        if (ser[i].scored && !found)
            mismatch("no scores row", &ser[i], ser[i].last_time, ser[i].score, NAN);
    }
}

/* The current score of each (source, kind) at now, from the replayed scores. */
static void
print_kinds(long long now)
{
    struct score_monitor *m = calloc(nlat ? nlat : 1, sizeof(*m));
    bool *done = calloc(nlat ? nlat : 1, sizeof(*done));

    if (!m || !done) {
        fprintf(stderr, "score_replay: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < nlat; i++) {
        size_t n = 0;
        struct score_current cur;

        if (done[i])
            continue;
        for (size_t j = i; j < nlat; j++) {
            struct series *s;
            if (done[j] || lat[j].source != lat[i].source || lat[j].kind != lat[i].kind)
                continue;
            done[j] = true;
            s = find_series(lat[j].source, lat[j].kind, lat[j].monitor);
            memset(&m[n], 0, sizeof(m[n]));
            m[n].time = lat[j].time;
            m[n].interval = lat[j].interval;
            m[n].not_applicable = lat[j].na;
            m[n].score = s ? s->score : NAN;
            n++;
        }
        score_current(m, n, now, &cur);
        if (cur.state == SCORE_STATE_SCORED)
            printf("K %lld %s %.17g %d\n", lat[i].source,
                   score_kind_str((enum score_kind)lat[i].kind), cur.score, cur.n_fresh);
        else
            printf("K %lld %s null %d\n", lat[i].source,
                   score_kind_str((enum score_kind)lat[i].kind), cur.n_fresh);
    }
    free(m);
    free(done);
}

int
main(int argc, char **argv)
{
    char line[LINE_MAX_LEN];
    size_t nsamples = 0, late = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: score_replay NOW <rows\n");
        return 2;
    }
    while (fgets(line, sizeof(line), stdin)) {
        char *f[10], *save = NULL;
        int n = 0;

        for (char *t = strtok_r(line, " \n", &save); t && n < 10;
             t = strtok_r(NULL, " \n", &save))
            f[n++] = t;
        if (n == 8 && strcmp(f[0], "S") == 0) {
            sample(f);
            nsamples++;
        } else if (n == 9 && strcmp(f[0], "L") == 0) {
            latest(f);
        } else if (n > 0) {
            fprintf(stderr, "score_replay: bad line (%d fields)\n", n);
            return 2;
        }
    }
    check_latest();
    print_kinds((long long)num(argv[1]));
    for (size_t i = 0; i < nser; i++)
        late += ser[i].late;
    printf("replayed %zu samples in %zu series, %zu scores rows, %zu late samples, "
           "%d mismatches\n",
           nsamples, nser, nlat, late, mismatches);
    free(ser);
    free(lat);
    return mismatches ? 1 : 0;
}
