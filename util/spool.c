/* spool.c - the on-disk FIFO of spool.h.  The batches' names carry their
 * order and size, so opening a spool lists the directory once and reads no
 * file; the list lives in memory as a ring of (seq, count) entries. */
#include "util/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

#define NAME_MAX_LEN 64

struct entry {
    uint64_t seq;
    uint64_t count;
};

struct spool {
    char *dir;
    int dirfd;
    long max;
    struct entry *e; /* sorted by seq, oldest first: e[head .. head+n) */
    size_t head, n, cap;
    uint64_t next_seq;
    uint64_t results, dropped;
};

static void
name_of(const struct entry *e, char *buf, size_t len)
{
    snprintf(buf, len, "%020" PRIu64 "-%" PRIu64 ".batch", e->seq, e->count);
}

static int
parse_name(const char *name, struct entry *out)
{
    char *end, canon[NAME_MAX_LEN];
    unsigned long long seq, count;

    if (strlen(name) < 27 || name[20] != '-')
        return -1;
    errno = 0;
    seq = strtoull(name, &end, 10);
    if (errno || end != name + 20)
        return -1;
    count = strtoull(name + 21, &end, 10);
    if (errno || end == name + 21 || strcmp(end, ".batch") != 0)
        return -1;
    out->seq = seq;
    out->count = count;
    /* Only the name name_of writes: strtoull also takes blanks, signs and
       leading zeros, and a batch listed under another spelling could never
       be opened (spool_peek opens name_of's).  The last seq has no
       successor for next_seq. */
    name_of(out, canon, sizeof(canon));
    if (strcmp(name, canon) != 0 || seq == UINT64_MAX)
        return -1;
    return 0;
}

static int
cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Insert e at its place in seq order (normally the end). */
static int
push(struct spool *s, const struct entry *e)
{
    size_t pos;

    if (s->head + s->n == s->cap) {
        if (s->head > 0) {
            memmove(s->e, s->e + s->head, s->n * sizeof(*s->e));
            s->head = 0;
        } else {
            size_t cap = s->cap ? s->cap * 2 : 64;
            struct entry *ne = realloc(s->e, cap * sizeof(*ne));
            if (!ne)
                return -1;
            s->e = ne;
            s->cap = cap;
        }
    }
    pos = s->n;
    while (pos > 0 && s->e[s->head + pos - 1].seq > e->seq)
        pos--;
    memmove(s->e + s->head + pos + 1, s->e + s->head + pos, (s->n - pos) * sizeof(*s->e));
    s->e[s->head + pos] = *e;
    s->n++;
    s->results += e->count;
    return 0;
}

struct spool *
spool_open(const char *dir, long max, char *err, size_t errlen)
{
    struct spool *s = calloc(1, sizeof(*s));
    DIR *d = NULL;
    struct dirent *de;

    if (!s || !(s->dir = strdup(dir))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->dirfd = -1;
    s->max = max > 0 ? max : 1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
        goto fail;
    }
    s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0 || !(d = fdopendir(dup(s->dirfd)))) {
        snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
        goto fail;
    }
    while ((de = readdir(d))) {
        struct entry e;
        if (de->d_name[0] == '.')
            continue;
        if (strncmp(de->d_name, "tmp-", 4) == 0) {
            unlinkat(s->dirfd, de->d_name, 0); /* a batch never completed */
            continue;
        }
        if (parse_name(de->d_name, &e) != 0)
            continue;
        if (push(s, &e) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        if (e.seq >= s->next_seq)
            s->next_seq = e.seq + 1;
    }
    closedir(d);
    d = NULL;
    if (s->n)
        qsort(s->e + s->head, s->n, sizeof(*s->e), cmp_entry);
    return s;
fail:
    if (d)
        closedir(d);
    spool_close(s);
    return NULL;
}

void
spool_close(struct spool *s)
{
    if (!s)
        return;
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->e);
    free(s->dir);
    free(s);
}

static int
drop_oldest(struct spool *s, bool counted)
{
    char name[NAME_MAX_LEN];
    struct entry *e;

    if (s->n == 0)
        return -1;
    e = &s->e[s->head];
    name_of(e, name, sizeof(name));
    if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT) {
        log_err("spool %s/%s: cannot delete: %s", s->dir, name, strerror(errno));
        return -1;
    }
    s->results -= e->count;
    if (counted)
        s->dropped += e->count;
    s->head++;
    s->n--;
    if (s->n == 0)
        s->head = 0;
    return 0;
}

static int
write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

uint64_t
spool_reserve(struct spool *s)
{
    return s->next_seq++;
}

int
spool_put(struct spool *s, const void *data, size_t len, size_t nresults)
{
    return spool_put_at(s, spool_reserve(s), data, len, nresults);
}

int
spool_put_at(struct spool *s, uint64_t seq, const void *data, size_t len, size_t nresults)
{
    struct entry e = {seq, nresults};
    char tmp[NAME_MAX_LEN], name[NAME_MAX_LEN];
    int fd;

    snprintf(tmp, sizeof(tmp), "tmp-%020" PRIu64, e.seq);
    name_of(&e, name, sizeof(name));
    fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        close(fd);
        unlinkat(s->dirfd, tmp, 0);
        goto fail;
    }
    if (close(fd) != 0 || renameat(s->dirfd, tmp, s->dirfd, name) != 0) {
        unlinkat(s->dirfd, tmp, 0);
        goto fail;
    }
    if (fsync(s->dirfd) != 0)
        goto fail; /* renamed but maybe not durable: the batch is not counted kept */
    if (push(s, &e) != 0) {
        unlinkat(s->dirfd, name, 0);
        log_err("spool: out of memory");
        return -1;
    }
    while (s->results > (uint64_t)s->max && s->n > 0)
        if (drop_oldest(s, true) != 0)
            break;
    return 0;
fail:
    log_err("spool %s: cannot keep a batch of %zu results: %s", s->dir, nresults,
            strerror(errno));
    return -1;
}

int
spool_peek(struct spool *s, char **data, size_t *len, size_t *nresults)
{
    char name[NAME_MAX_LEN];
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd;

    if (s->n == 0)
        return 0;
    name_of(&s->e[s->head], name, sizeof(name));
    fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SPOOL_MAX_BATCH)
        goto bad;
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        goto bad;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto bad;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    *nresults = (size_t)s->e[s->head].count;
    return 1;
bad:
    log_err("spool %s/%s: unreadable (%s); its %" PRIu64 " results are dropped", s->dir, name,
            strerror(errno), s->e[s->head].count);
    if (fd >= 0)
        close(fd);
    free(buf);
    drop_oldest(s, true);
    return -1;
}

int
spool_pop(struct spool *s)
{
    return drop_oldest(s, false);
}

size_t
spool_batches(const struct spool *s)
{
    return s->n;
}

uint64_t
spool_results(const struct spool *s)
{
    return s->results;
}

uint64_t
spool_dropped(const struct spool *s)
{
    return s->dropped;
}
