/* pwhash.c - Argon2id on worker threads (see pwhash.h).
 *
 * One mutex guards the queue of waiting jobs and the list of finished
 * ones.  A worker takes the oldest waiting job, computes without the lock,
 * then appends it to the finished list and, when that list was empty,
 * writes one byte to the pipe; the loop's read event drains the pipe, takes
 * the whole list and calls each live job's done().  A cancelled job is only
 * marked: whoever holds it next (the queue, a worker, the loop) frees it.
 * The loop never waits on the mutex for longer than a list operation. */
#include "web/pwhash.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <argon2.h>
#include <event2/event.h>

#include "monitor/tlsctx.h"
#include "util/log.h"
#include "util/util.h"

enum op { OP_HASH, OP_VERIFY };

struct pwhash_job {
    struct pwhash *p;
    struct pwhash_job *next;
    enum op op;
    bool cancelled;
    int ok;
    size_t pwlen;
    char pw[PWHASH_MAX_LEN + 1];
    unsigned char salt[PWHASH_SALT_LEN];
    char encoded[PWHASH_ENCODED_MAX]; /* verify: the stored hash; hash: the result */
    pwhash_done_fn *done;
    void *arg;
};

struct pwhash {
    struct event_base *base;
    struct event *ev;
    int pipe_rd, pipe_wr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th[8];
    int nth;
    bool stop;
    struct pwhash_job *q_head, **q_tail; /* waiting */
    struct pwhash_job *d_head, **d_tail; /* finished */
    size_t jobs;                         /* waiting, running, finished */
    char dummy[PWHASH_ENCODED_MAX];
};

static void
job_free(struct pwhash_job *j)
{
    util_wipe(j->pw, sizeof(j->pw));
    free(j);
}

static int
hash_encoded(const char *pw, size_t len, const unsigned char salt[PWHASH_SALT_LEN],
             char *out, size_t outlen)
{
    return argon2id_hash_encoded(PWHASH_T, PWHASH_M_KIB, 1, pw, len, salt,
                                 PWHASH_SALT_LEN, PWHASH_TAG_LEN, out, outlen) ==
                   ARGON2_OK
               ? 0
               : -1;
}

static void
run(struct pwhash *p, struct pwhash_job *j)
{
    if (j->op == OP_HASH) {
        j->ok = hash_encoded(j->pw, j->pwlen, j->salt, j->encoded, sizeof(j->encoded));
        if (j->ok != 0)
            j->encoded[0] = '\0';
        return;
    }
    {
        bool dummy = j->encoded[0] == '\0';
        int rc = argon2id_verify(dummy ? p->dummy : j->encoded, j->pw, j->pwlen);

        j->ok = dummy ? 0 : rc == ARGON2_OK ? 1 : rc == ARGON2_VERIFY_MISMATCH ? 0 : -1;
    }
}

static void *
worker(void *arg)
{
    struct pwhash *p = arg;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct pwhash_job *j;
        bool wake;

        while (!p->stop && !p->q_head)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop)
            break;
        j = p->q_head;
        p->q_head = j->next;
        if (!p->q_head)
            p->q_tail = &p->q_head;
        j->next = NULL;
        pthread_mutex_unlock(&p->mu);
        run(p, j);
        util_wipe(j->pw, sizeof(j->pw));
        pthread_mutex_lock(&p->mu);
        wake = p->d_head == NULL;
        *p->d_tail = j;
        p->d_tail = &j->next;
        if (wake) {
            char c = 1;
            /* The pipe is non-blocking and holds one byte per wake-up at
               most: a full pipe already means "look". */
            if (write(p->pipe_wr, &c, 1) < 0 && errno != EAGAIN)
                log_err("pwhash: cannot wake the loop: %s", strerror(errno));
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
    struct pwhash *p = arg;
    struct pwhash_job *list;
    char buf[64];

    (void)what;
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&p->mu);
    list = p->d_head;
    p->d_head = NULL;
    p->d_tail = &p->d_head;
    pthread_mutex_unlock(&p->mu);
    while (list) {
        struct pwhash_job *j = list;

        list = j->next;
        pthread_mutex_lock(&p->mu);
        p->jobs--;
        pthread_mutex_unlock(&p->mu);
        if (!j->cancelled)
            j->done(j->arg, j->ok, j->op == OP_HASH && j->ok == 0 ? j->encoded : NULL);
        job_free(j);
    }
}

struct pwhash *
pwhash_new(struct event_base *base, int threads, char *err, size_t errlen)
{
    struct pwhash *p = calloc(1, sizeof(*p));
    unsigned char salt[PWHASH_SALT_LEN], rnd[24];
    char pw[sizeof(rnd) * 2 + 1];
    int fds[2];

    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->base = base;
    p->pipe_rd = p->pipe_wr = -1;
    p->q_tail = &p->q_head;
    p->d_tail = &p->d_head;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    /* The dummy: a hash of a random password nobody knows. */
    if (tlsctx_random(salt, sizeof(salt)) != 0 || tlsctx_random(rnd, sizeof(rnd)) != 0) {
        snprintf(err, errlen, "no random bytes");
        goto fail;
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(pw + 2 * i, 3, "%02x", rnd[i]);
    if (hash_encoded(pw, strlen(pw), salt, p->dummy, sizeof(p->dummy)) != 0) {
        snprintf(err, errlen, "argon2id does not work here");
        goto fail;
    }
    util_wipe(pw, sizeof(pw));
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    p->pipe_rd = fds[0];
    p->pipe_wr = fds[1];
    p->ev = event_new(base, p->pipe_rd, EV_READ | EV_PERSIST, on_done, p);
    if (!p->ev || event_add(p->ev, NULL) != 0) {
        snprintf(err, errlen, "cannot watch the pipe");
        goto fail;
    }
    if (threads <= 0)
        threads = PWHASH_THREADS;
    if (threads > (int)(sizeof(p->th) / sizeof(p->th[0])))
        threads = (int)(sizeof(p->th) / sizeof(p->th[0]));
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->th[i], NULL, worker, p) != 0) {
            snprintf(err, errlen, "cannot start a hashing thread");
            goto fail;
        }
        p->nth++;
    }
    return p;
fail:
    pwhash_free(p);
    return NULL;
}

static void
free_list(struct pwhash_job *j)
{
    while (j) {
        struct pwhash_job *next = j->next;
        job_free(j);
        j = next;
    }
}

void
pwhash_free(struct pwhash *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
    free_list(p->q_head);
    free_list(p->d_head);
    if (p->ev)
        event_free(p->ev);
    if (p->pipe_rd >= 0)
        close(p->pipe_rd);
    if (p->pipe_wr >= 0)
        close(p->pipe_wr);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    util_wipe(p->dummy, sizeof(p->dummy));
    free(p);
}

static struct pwhash_job *
submit(struct pwhash *p, enum op op, const char *password, const char *encoded,
       pwhash_done_fn *done, void *arg)
{
    size_t len = strlen(password);
    struct pwhash_job *j;

    if (len > PWHASH_MAX_LEN || (encoded && strlen(encoded) >= PWHASH_ENCODED_MAX))
        return NULL;
    j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->p = p;
    j->op = op;
    j->done = done;
    j->arg = arg;
    j->pwlen = len;
    memcpy(j->pw, password, len);
    if (encoded)
        memcpy(j->encoded, encoded, strlen(encoded) + 1);
    if (op == OP_HASH && tlsctx_random(j->salt, sizeof(j->salt)) != 0) {
        job_free(j);
        return NULL;
    }
    pthread_mutex_lock(&p->mu);
    if (p->jobs >= PWHASH_QUEUE_MAX) {
        pthread_mutex_unlock(&p->mu);
        job_free(j);
        return NULL;
    }
    p->jobs++;
    *p->q_tail = j;
    p->q_tail = &j->next;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return j;
}

struct pwhash_job *
pwhash_hash(struct pwhash *p, const char *password, pwhash_done_fn *done, void *arg)
{
    return submit(p, OP_HASH, password, NULL, done, arg);
}

struct pwhash_job *
pwhash_verify(struct pwhash *p, const char *password, const char *encoded,
              pwhash_done_fn *done, void *arg)
{
    return submit(p, OP_VERIFY, password, encoded ? encoded : "", done, arg);
}

void
pwhash_cancel(struct pwhash_job *j)
{
    struct pwhash *p = j->p;

    pthread_mutex_lock(&p->mu);
    /* Still waiting: unlink and free it now; else mark it. */
    for (struct pwhash_job **pp = &p->q_head; *pp; pp = &(*pp)->next) {
        if (*pp != j)
            continue;
        *pp = j->next;
        if (p->q_tail == &j->next)
            p->q_tail = pp;
        p->jobs--;
        pthread_mutex_unlock(&p->mu);
        job_free(j);
        return;
    }
    j->cancelled = true;
    pthread_mutex_unlock(&p->mu);
}
