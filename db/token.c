/* token.c - the secrets side of the store: the base secret file, the
 * Authentication Tokens derived from it (NTS.md section 2), random UUIDs and
 * randomizers, and the SHA-256 hashes under which keys, API tokens and
 * session ids are kept.  Tokens are never stored: they are derived again
 * when needed, so the database alone does not reveal them.  Nothing here
 * logs a secret or a token. */
#include "db/db_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

static void seterr(char **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
seterr(char **err, const char *fmt, ...)
{
    va_list ap;
    char buf[512];

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    *err = strdup(buf);
}

static int
read_secret(int fd, const char *path, unsigned char *secret, char **err)
{
    struct stat st;
    unsigned char buf[DB_SECRET_LEN + 1];
    ssize_t n;
    size_t got = 0;

    if (fstat(fd, &st) < 0) {
        seterr(err, "secret %s: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        seterr(err, "secret %s: readable by group or others (mode %03o): chmod 600 it",
               path, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    while (got < sizeof(buf)) {
        n = read(fd, buf + got, sizeof(buf) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            seterr(err, "secret %s: %s", path, strerror(errno));
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got != DB_SECRET_LEN) {
        OPENSSL_cleanse(buf, sizeof(buf));
        seterr(err, "secret %s: %zu bytes, expected %d", path, got, DB_SECRET_LEN);
        return -1;
    }
    memcpy(secret, buf, DB_SECRET_LEN);
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

static int
create_secret(const char *path, unsigned char *secret, char **err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    size_t done = 0;

    if (fd < 0)
        return errno == EEXIST
                   ? 1
                   : (seterr(err, "secret %s: %s", path, strerror(errno)), -1);
    if (RAND_bytes(secret, DB_SECRET_LEN) != 1) {
        seterr(err, "secret %s: no random bytes", path);
        goto fail;
    }
    while (done < DB_SECRET_LEN) {
        ssize_t n = write(fd, secret + done, DB_SECRET_LEN - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            seterr(err, "secret %s: %s", path, strerror(errno));
            goto fail;
        }
        done += (size_t)n;
    }
    if (fsync(fd) < 0) {
        seterr(err, "secret %s: %s", path, strerror(errno));
        goto fail;
    }
    close(fd);
    return 0;
fail:
    OPENSSL_cleanse(secret, DB_SECRET_LEN);
    close(fd);
    unlink(path);
    return -1;
}

int
db_secret_load(const char *path, unsigned char secret[DB_SECRET_LEN], char **err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int rc;

        if (fd >= 0) {
            rc = read_secret(fd, path, secret, err);
            close(fd);
            return rc;
        }
        if (errno != ENOENT) {
            seterr(err, "secret %s: %s", path, strerror(errno));
            return -1;
        }
        /* First start.  O_EXCL: if another process creates it meanwhile,
           read theirs instead (rc 1). */
        rc = create_secret(path, secret, err);
        if (rc <= 0)
            return rc;
    }
    seterr(err, "secret %s: cannot create or read", path);
    return -1;
}

static const char hexdigits[] = "0123456789abcdef";

int
db_token_derive(const unsigned char *secret, size_t secret_len, const char *uuid,
                const char *randomizer, char out[DB_TOKEN_LEN + 1])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha3_256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, secret, secret_len) == 1 &&
         EVP_DigestUpdate(ctx, uuid, strlen(uuid)) == 1 &&
         EVP_DigestUpdate(ctx, randomizer, strlen(randomizer)) == 1 &&
         EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == sizeof(md);
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    for (size_t i = 0; i < sizeof(md); i++) {
        out[2 * i] = hexdigits[md[i] >> 4];
        out[2 * i + 1] = hexdigits[md[i] & 15];
    }
    out[DB_TOKEN_LEN] = '\0';
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}

int
db_token_randomizer(char out[DB_RANDOMIZER_LEN + 1])
{
    static const char alnum[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t n = 0;

    /* Rejection sampling: 248 = 4 * 62, so bytes below it map uniformly. */
    while (n < DB_RANDOMIZER_LEN) {
        unsigned char buf[32];

        if (RAND_bytes(buf, sizeof(buf)) != 1)
            return -1;
        for (size_t i = 0; i < sizeof(buf) && n < DB_RANDOMIZER_LEN; i++)
            if (buf[i] < 248)
                out[n++] = alnum[buf[i] % 62];
    }
    out[n] = '\0';
    return 0;
}

int
db_uuid_new(char out[DB_UUID_LEN + 1])
{
    unsigned char b[16];
    size_t o = 0;

    if (RAND_bytes(b, sizeof(b)) != 1)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hexdigits[b[i] >> 4];
        out[o++] = hexdigits[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}

bool
db_token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la != lb)
        return false;
    return CRYPTO_memcmp(a, b, la) == 0;
}

int
db_hash(const char *key, unsigned char out[DB_HASH_LEN])
{
    unsigned int len = 0;

    if (EVP_Digest(key, strlen(key), out, &len, EVP_sha256(), NULL) != 1 ||
        len != DB_HASH_LEN)
        return -1;
    return 0;
}

int
db_digest128(const void *data, size_t len, unsigned char out[16])
{
    unsigned char md[32];
    unsigned int mdlen = 0;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof(md))
        return -1;
    memcpy(out, md, 16);
    return 0;
}
