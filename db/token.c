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
#include <openssl/sha.h>

/* Read the secret from an open fd: a regular file of ours, private, of
   exactly DB_SECRET_LEN bytes. */
static int
read_secret(int fd, const char *path, unsigned char *secret, char **err)
{
    struct stat st;
    unsigned char buf[DB_SECRET_LEN + 1];
    ssize_t n;
    size_t got = 0;

    if (fstat(fd, &st) < 0) {
        db_seterr(err, "secret %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        db_seterr(err, "secret %s: not a regular file", path);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        db_seterr(err, "secret %s: owned by uid %u, not by this user (uid %u)", path,
               (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        db_seterr(err, "secret %s: open to group or others (mode %03o): chmod 600 it",
               path, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    while (got < sizeof(buf)) {
        n = read(fd, buf + got, sizeof(buf) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            OPENSSL_cleanse(buf, sizeof(buf));
            db_seterr(err, "secret %s: %s", path, strerror(errno));
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got != DB_SECRET_LEN) {
        OPENSSL_cleanse(buf, sizeof(buf));
        db_seterr(err, "secret %s: %s%zu bytes, expected %d", path,
               got > DB_SECRET_LEN ? "more than " : "", got > DB_SECRET_LEN ? got - 1 : got,
               DB_SECRET_LEN);
        return -1;
    }
    memcpy(secret, buf, DB_SECRET_LEN);
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

/* Open path for reading without following a symlink (O_NONBLOCK: a FIFO
   planted there must not block the start; read_secret refuses it). */
static int
open_secret(const char *path)
{
    return open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
}

static int
write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync the directory holding path, so that a new entry in it survives a
   power cut. */
static int
sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int fd, rc;

    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else if ((size_t)(slash - path) < sizeof(dir))
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    else
        return -1;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* First start: 1 when path now holds our new secret, 0 when another process
   created it first (read theirs), -1 on error.  The file appears complete or
   not at all: written and fsynced under a temporary name, then linked. */
static int
create_secret(const char *path, unsigned char *secret, char **err)
{
    char tmp[4096];
    int fd, rc = -1;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= sizeof(tmp)) {
        db_seterr(err, "secret %s: path too long", path);
        return -1;
    }
    fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
    if (fd < 0) {
        db_seterr(err, "secret %s: %s", path, strerror(errno));
        return -1;
    }
    if (RAND_bytes(secret, DB_SECRET_LEN) != 1) {
        db_seterr(err, "secret %s: no random bytes", path);
        goto done;
    }
    if (fchmod(fd, 0600) < 0 || write_all(fd, secret, DB_SECRET_LEN) < 0 ||
        fsync(fd) < 0) {
        db_seterr(err, "secret %s: %s", tmp, strerror(errno));
        goto done;
    }
    /* link() fails with EEXIST instead of replacing, unlike rename(): the
       first process to get here wins and every other one reads its secret. */
    if (link(tmp, path) < 0) {
        if (errno == EEXIST)
            rc = 0;
        else
            db_seterr(err, "secret %s: %s", path, strerror(errno));
        goto done;
    }
    if (sync_dir(path) < 0) {
        db_seterr(err, "secret %s: syncing its directory: %s", path, strerror(errno));
        goto done;
    }
    rc = 1;
done:
    if (rc != 1)
        OPENSSL_cleanse(secret, DB_SECRET_LEN);
    close(fd);
    unlink(tmp);
    return rc;
}

int
db_secret_load(const char *path, unsigned char secret[DB_SECRET_LEN], char **err)
{
    if (err)
        *err = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open_secret(path);
        int rc;

        if (fd >= 0) {
            rc = read_secret(fd, path, secret, err);
            close(fd);
            return rc;
        }
        if (errno == ELOOP) {
            db_seterr(err, "secret %s: a symbolic link: refused", path);
            return -1;
        }
        if (errno != ENOENT) {
            db_seterr(err, "secret %s: %s", path, strerror(errno));
            return -1;
        }
        rc = create_secret(path, secret, err);
        if (rc != 0)
            return rc > 0 ? 0 : -1;
        /* Another process linked its secret first: read that one. */
    }
    db_seterr(err, "secret %s: cannot create or read", path);
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

int
db_token_mac(const unsigned char *key, size_t key_len, const char *label, const char *msg,
             char out[DB_MAC_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    size_t ll = strlen(label) + 1, ml = strlen(msg), len = 0;
    unsigned char md[DB_MAC_LEN / 2], *in = malloc(ll + ml);
    int rc = -1;

    if (!in)
        return -1;
    memcpy(in, label, ll); /* with its NUL: no label is a prefix of another's input */
    memcpy(in + ll, msg, ml);
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, in, ll + ml, md,
                  sizeof(md), &len) != NULL &&
        len == sizeof(md)) {
        for (size_t i = 0; i < sizeof(md); i++) {
            out[2 * i] = digits[md[i] >> 4];
            out[2 * i + 1] = digits[md[i] & 15];
        }
        out[DB_MAC_LEN] = '\0';
        rc = 0;
    }
    OPENSSL_cleanse(md, sizeof(md));
    free(in);
    return rc;
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
    unsigned char md[SHA256_DIGEST_LENGTH];

    /* The one-shot SHA256() skips EVP's per-call implicit fetch (a global
       lock and allocations in OpenSSL 3): this runs once per stored sample. */
    if (SHA256(data, len, md) == NULL)
        return -1;
    memcpy(out, md, 16);
    return 0;
}
