/* util.c - checked number parsing (strtol with every error checked: the
 * banned atoi's replacement), UTF-8 validation of text from outside, wiping
 * secrets and reading a key file. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
util_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    /* strtol would skip leading blanks and take a '+': plain digits only. */
    if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9')))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

void
util_wipe(void *p, size_t n)
{
    explicit_bzero(p, n);
}

/* Length of the valid UTF-8 sequence at s[0..len), or 0 when it is not one. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
    unsigned c = s[0], cp;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF. */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

bool
util_utf8_valid(const char *s, size_t len, bool no_controls)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0 || (no_controls && (p[i] < 0x20 || p[i] == 0x7f)))
            return false;
        i += n;
    }
    return true;
}

void
util_utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t len = strlen(s), i = 0;

    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0 || p[i] < 0x20 || p[i] == 0x7f) {
            p[i] = '?';
            n = 1;
        }
        i += n;
    }
}

int
util_read_key(const char *path, char *out, size_t len, char *err, size_t errlen)
{
    /* O_NONBLOCK: a FIFO there must not block the open (on SIGHUP this
       runs on the agent's event loop); then only a regular file is read. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    FILE *f;
    size_t n;

    if (fd < 0) {
        snprintf(err, errlen, "key_file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errlen, "key_file %s: not a regular file", path);
        return -1;
    }
    if (!(f = fdopen(fd, "r"))) {
        close(fd);
        snprintf(err, errlen, "key_file %s: %s", path, strerror(errno));
        return -1;
    }
    if (!fgets(out, (int)len, f)) {
        fclose(f);
        util_wipe(out, len);
        snprintf(err, errlen, "key_file %s: empty", path);
        return -1;
    }
    fclose(f);
    n = strcspn(out, "\r\n");
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
        out[--n] = '\0';
    if (n == 0 || n >= len - 1 || !util_utf8_valid(out, n, true) || strchr(out, ' ')) {
        util_wipe(out, len);
        snprintf(err, errlen, "key_file %s: the first line is not a key", path);
        return -1;
    }
    return 0;
}
