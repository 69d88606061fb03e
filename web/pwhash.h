/* pwhash.h - password hashing (Argon2id, libargon2) off the event loop.
 *
 * A hash or a verification costs tens of milliseconds of CPU and
 * PWHASH_M_KIB of memory on purpose, which the event loop must never spend
 * ("the event loop never blocks").  A few worker threads take jobs from a
 * bounded queue; each finished job comes back to the loop through a pipe,
 * and its done() callback runs there, never on a worker.
 *
 * Parameters (recorded in the encoded hash, so they can change later and
 * old hashes still verify): Argon2id, t = PWHASH_T passes, m = PWHASH_M_KIB
 * KiB, p = 1 lane, a 16-byte random salt, a 32-byte tag (OWASP's minimum
 * for Argon2id: m = 19 MiB, t = 2, p = 1).  Passwords are bytes (the caller
 * checks UTF-8 and length, at most PWHASH_MAX_LEN); the copy a job keeps is
 * wiped when the job ends. */
#ifndef NTSPOOL_WEB_PWHASH_H
#define NTSPOOL_WEB_PWHASH_H

#include <stddef.h>

#define PWHASH_T          2
#define PWHASH_M_KIB      19456
#define PWHASH_SALT_LEN   16
#define PWHASH_TAG_LEN    32
#define PWHASH_MAX_LEN    256 /* bytes of a password */
#define PWHASH_ENCODED_MAX 160 /* room for the encoded form ($argon2id$v=19$...) */
#define PWHASH_THREADS    2
#define PWHASH_QUEUE_MAX  32  /* jobs waiting or running; more: refused (busy) */

struct event_base;
struct pwhash;
struct pwhash_job;

/* The end of a job, on the loop.  hash: ok 0 and encoded (valid during the
   call only), or ok -1.  verify: ok 1 match, 0 no match, -1 error; encoded
   is NULL. */
typedef void pwhash_done_fn(void *arg, int ok, const char *encoded);

/* Start `threads` workers (<= 0: PWHASH_THREADS) reporting on base.  Makes
   the dummy hash that verifications of unknown accounts use (one hash, at
   startup, before the loop runs).  NULL with a message in err. */
struct pwhash *pwhash_new(struct event_base *base, int threads, char *err, size_t errlen);
/* Stop the workers (a running job finishes first) and drop every job
   without calling done(). */
void pwhash_free(struct pwhash *p);

/* Hash password.  NULL when the queue is full or memory ran out (the caller
   answers 503); else done() runs exactly once, later, unless cancelled. */
struct pwhash_job *pwhash_hash(struct pwhash *p, const char *password,
                               pwhash_done_fn *done, void *arg);
/* Verify password against encoded.  An encoded that is NULL or "" (no
   account, or one without a password yet) verifies against the dummy hash,
   spending the same time, and reports 0: the timing does not tell whether
   an account exists.  Returns as pwhash_hash. */
struct pwhash_job *pwhash_verify(struct pwhash *p, const char *password,
                                 const char *encoded, pwhash_done_fn *done, void *arg);
/* done() will not be called; the job's memory is released (now or when its
   worker is through with it).  From the loop only, before done() ran. */
void pwhash_cancel(struct pwhash_job *j);

#endif
