/* test_corpus.c - the short run of the fuzz targets: every committed seed
 * (each file of fuzz/corpus/TARGET) through its target's LLVMFuzzerTestOneInput, in
 * the normal build, so that make test exercises each parser and each
 * target's invariants on the seeds (a broken invariant traps and the test
 * fails; the file being replayed is printed first).  The targets are built
 * from fuzz/fuzz_TARGET.c with the entry renamed fuzz_replay_TARGET (see
 * the Makefile).  Also checks that every fuzz/fuzz_*.c and every corpus
 * directory has its entry here, so a new target cannot be left out.
 * The long runs stay with scripts/fuzz.sh TARGET SECONDS. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

#define TARGETS(X)                                                                     \
    X(config) X(html) X(http) X(jsonw) X(nke) X(pkt) X(query) X(spool) X(submit)       \
        X(utf8) X(work)

#define DECLARE(name) int fuzz_replay_##name(const uint8_t *data, size_t size);
TARGETS(DECLARE)

static const struct {
    const char *name;
    int (*fn)(const uint8_t *data, size_t size);
} targets[] = {
#define ENTRY(name) {#name, fuzz_replay_##name},
    TARGETS(ENTRY)
};

static int
known(const char *name)
{
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
        if (strcmp(targets[i].name, name) == 0)
            return 1;
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Replay every file of dir through fn: the number replayed, -1 on error. */
static int
replay(const char *target, const char *dir, int (*fn)(const uint8_t *, size_t))
{
    char *names[4096], path[1024];
    size_t n = 0;
    struct dirent *de;
    DIR *d = opendir(dir);

    if (!d) {
        fprintf(stderr, "%s: no seed corpus\n", dir);
        return -1;
    }
    while ((de = readdir(d)) && n < sizeof(names) / sizeof(names[0]))
        if (de->d_name[0] != '.')
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_str);
    for (size_t i = 0; i < n; i++) {
        FILE *f;
        uint8_t *buf;
        long len;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        free(names[i]);
        f = fopen(path, "rb");
        if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
            fseek(f, 0, SEEK_SET) != 0) {
            fprintf(stderr, "%s: cannot read\n", path);
            if (f)
                fclose(f);
            return -1;
        }
        buf = malloc((size_t)len + 1); /* + 1: never a zero-size malloc */
        if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
            fprintf(stderr, "%s: cannot read\n", path);
            free(buf);
            fclose(f);
            return -1;
        }
        fclose(f);
        fprintf(stderr, "replay %s %s\n", target, path);
        fflush(stderr);
        CHECK_INT(fn(buf, (size_t)len), 0);
        free(buf);
    }
    return (int)n;
}

int
main(void)
{
    const char *top = getenv("NTSPOOL_TOP");
    char dir[1024];
    struct dirent *de;
    DIR *d;

    if (!top)
        top = ".";
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        int n;
        snprintf(dir, sizeof(dir), "%s/fuzz/corpus/%s", top, targets[i].name);
        n = replay(targets[i].name, dir, targets[i].fn);
        CHECK(n > 0);
        printf("%s: %d seeds\n", targets[i].name, n);
    }
    /* Every target and every corpus is replayed here. */
    snprintf(dir, sizeof(dir), "%s/fuzz", top);
    d = opendir(dir);
    CHECK(d != NULL);
    while (d && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (strncmp(de->d_name, "fuzz_", 5) == 0 && len > 7 &&
            strcmp(de->d_name + len - 2, ".c") == 0) {
            char name[256];
            snprintf(name, sizeof(name), "%.*s", (int)(len - 7), de->d_name + 5);
            if (!known(name))
                fprintf(stderr, "fuzz/%s is not replayed by test_corpus\n", de->d_name);
            CHECK(known(name));
        }
    }
    if (d)
        closedir(d);
    snprintf(dir, sizeof(dir), "%s/fuzz/corpus", top);
    d = opendir(dir);
    CHECK(d != NULL);
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') {
            if (!known(de->d_name))
                fprintf(stderr, "fuzz/corpus/%s has no target here\n", de->d_name);
            CHECK(known(de->d_name));
        }
    if (d)
        closedir(d);
    return check_finish("test_corpus");
}
