/* fuzz_spool.c - libFuzzer target for reading a spool back (util/spool.c):
 * what ntspool-monitor finds in its spool directory after a crash, a full
 * disk or a hand edit.  The input is a file name, a newline, and the
 * file's contents; the target puts that one file in an empty spool
 * directory (on /dev/shm when there is one), opens the spool and checks
 * what spool.h promises: a name taken as a batch is read back byte for
 * byte with the count its name gives (spool_peek never fails on a file it
 * listed), a stray temporary file is removed, and a batch spooled after it
 * comes after it. */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char spool_dir[64];

static void
spool_empty_dir(void)
{
    DIR *d = opendir(spool_dir);
    struct dirent *de;

    if (!d)
        __builtin_trap();
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            unlinkat(dirfd(d), de->d_name, 0);
    closedir(d);
}

static void
spool_remove_dir(void)
{
    spool_empty_dir();
    rmdir(spool_dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    char name[256], err[256], *got = NULL;
    size_t nlen, clen, len = 0, n = 0;
    const uint8_t *content;
    struct spool *s;
    int fd, rc;

    if (!spool_dir[0]) {
        snprintf(spool_dir, sizeof(spool_dir), "%s/fuzz-spool-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(spool_dir))
            __builtin_trap();
        atexit(spool_remove_dir);
        log_threshold = LOG_LEVEL_ERR;
    }
    if (!nl || (nlen = (size_t)(nl - data)) == 0 || nlen >= sizeof(name) ||
        memchr(data, '/', nlen) || memchr(data, '\0', nlen))
        return 0;
    memcpy(name, data, nlen);
    name[nlen] = '\0';
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    content = nl + 1;
    clen = size - nlen - 1;
    spool_empty_dir();
    fd = openat(AT_FDCWD, spool_dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        __builtin_trap();
    {
        int f = openat(fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (f < 0 || write(f, content, clen) != (ssize_t)clen || close(f) != 0)
            __builtin_trap();
    }
    s = spool_open(spool_dir, 1000000000L, err, sizeof(err));
    if (!s)
        __builtin_trap();
    if (strncmp(name, "tmp-", 4) == 0 &&
        (spool_batches(s) != 0 || faccessat(fd, name, F_OK, 0) == 0))
        __builtin_trap();
    if (spool_batches(s) > 1 || spool_dropped(s) != 0)
        __builtin_trap();
    if (spool_batches(s) == 1) {
        uint64_t count = spool_results(s);

        rc = spool_peek(s, &got, &len, &n);
        if (rc != 1 || len != clen || memcmp(got, content, clen) != 0 || got[len] != '\0' ||
            n != count)
            __builtin_trap();
        free(got);
        got = NULL;
        /* A batch spooled now comes after the one found on disk (unless the
           name's count alone is over the maximum: then it is dropped). */
        if (count >= 1000000000L - 1) {
            spool_close(s);
            close(fd);
            return 0;
        }
        if (spool_put(s, "[]", 2, 1) != 0 || spool_batches(s) != 2 ||
            spool_results(s) != count + 1)
            __builtin_trap();
        if (spool_pop(s) != 0 || spool_peek(s, &got, &len, &n) != 1 || len != 2 ||
            memcmp(got, "[]", 2) != 0 || n != 1)
            __builtin_trap();
        free(got);
        if (spool_pop(s) != 0 || spool_batches(s) != 0 || spool_results(s) != 0)
            __builtin_trap();
    } else if (spool_results(s) != 0 || spool_peek(s, &got, &len, &n) != 0) {
        __builtin_trap();
    }
    spool_close(s);
    close(fd);
    return 0;
}
