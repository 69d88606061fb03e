/* session.c - web sessions: the cookie, its server-side row, the idle and
 * absolute expiry, the CSRF token (rules in web_int.h).
 *
 * The cookie value is the only secret that authenticates a browser; the
 * database keeps its SHA-256, so a copy of the database logs nobody in.  A
 * cookie that is not exactly 64 hex digits is ignored without a lookup.
 * Expiry is checked by the database query (expires > now); extending it is
 * a write, done only when it moves by SESSION_TOUCH or more, so browsing is
 * not a write per page. */
#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "monitor/tlsctx.h"
#include "util/log.h"
#include "util/util.h"
#include "web/web_int.h"
#include "web/webparse.h"

#define ID_BYTES   32 /* the cookie: 64 hex digits */
#define CSRF_BYTES 24 /* the CSRF token: 48 hex digits (< DB_CSRF_MAX) */

_Static_assert(CSRF_BYTES * 2 < DB_CSRF_MAX, "the CSRF token fits its column buffer");

static void
hex(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int64_t
new_expiry(const struct web_req *r, int64_t created)
{
    const struct config *c = r->w->p.cfg;
    int64_t idle = r->now + c->session_idle, max = created + c->session_max;

    return idle < max ? idle : max;
}

int
session_load(struct web_req *r)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Cookie");
    char v[ID_BYTES * 2 + 2];
    struct db_session s;
    struct db_user u;
    int64_t exp, touch;
    int rc;

    if (r->sess.on)
        return 1;
    if (webparse_cookie(h, SESSION_COOKIE, v, sizeof(v)) != 0 ||
        !webparse_hex(v, ID_BYTES * 2))
        return 0;
    if (db_hash(v, r->sess.id_hash) != 0)
        return -1;
    util_wipe(v, sizeof(v));
    rc = db_session_get(r->w->p.db, r->sess.id_hash, r->now, &s);
    if (rc <= 0)
        return rc;
    /* The absolute limit holds even when session_max shrank since. */
    if (r->now >= s.created + r->w->p.cfg->session_max)
        return 0;
    rc = db_user_get(r->w->p.db, s.user, &u);
    if (rc <= 0 || u.blocked)
        return rc < 0 ? -1 : 0;
    exp = new_expiry(r, s.created);
    /* At most once a minute; more often only with a short session_idle,
       where a minute would be most of it. */
    touch = r->w->p.cfg->session_idle / 4;
    if (touch > SESSION_TOUCH)
        touch = SESSION_TOUCH;
    if (exp - s.expires >= touch || exp < s.expires) {
        if (db_session_touch(r->w->p.db, r->sess.id_hash, exp) != 0)
            return -1;
        s.expires = exp;
    }
    r->sess.on = true;
    r->sess.created = s.created;
    r->sess.expires = s.expires;
    r->sess.is_admin = u.is_admin;
    memcpy(r->sess.csrf, s.csrf, sizeof(r->sess.csrf));
    memcpy(r->sess.email, u.email, sizeof(r->sess.email));
    r->user = s.user;
    return 1;
}

static void
set_cookie(struct web_req *r, const char *value, int64_t max_age)
{
    char c[256];

    snprintf(c, sizeof(c), "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Lax%s",
             SESSION_COOKIE, value, (long long)max_age,
             r->w->secure_cookies ? "; Secure" : "");
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Set-Cookie", c);
    util_wipe(c, sizeof(c));
}

int
session_start(struct web_req *r, int64_t user)
{
    unsigned char id[ID_BYTES], csrf[CSRF_BYTES];
    char idhex[ID_BYTES * 2 + 1];
    struct db_user u;
    int64_t exp;
    int rc = -1;

    if (tlsctx_random(id, sizeof(id)) != 0 || tlsctx_random(csrf, sizeof(csrf)) != 0)
        return -1;
    hex(idhex, id, sizeof(id));
    hex(r->sess.csrf, csrf, sizeof(csrf));
    if (db_hash(idhex, r->sess.id_hash) != 0 || db_user_get(r->w->p.db, user, &u) != 1)
        goto out;
    exp = new_expiry(r, r->now);
    if (db_session_add(r->w->p.db, r->sess.id_hash, user, r->sess.csrf, r->now, exp) != 0)
        goto out;
    /* A persistent cookie as long as the absolute limit; the server decides
       the idle expiry. */
    set_cookie(r, idhex, r->w->p.cfg->session_max);
    r->sess.on = true;
    r->sess.created = r->now;
    r->sess.expires = exp;
    r->sess.is_admin = u.is_admin;
    memcpy(r->sess.email, u.email, sizeof(r->sess.email));
    r->user = user;
    rc = 0;
out:
    util_wipe(id, sizeof(id));
    util_wipe(idhex, sizeof(idhex));
    return rc;
}

void
session_end(struct web_req *r)
{
    if (r->sess.on && db_session_delete(r->w->p.db, r->sess.id_hash) != 0)
        log_warn("http: cannot delete a session");
    set_cookie(r, "", 0);
    memset(&r->sess, 0, sizeof(r->sess));
    r->user = -1;
}

/* ---- before a session -------------------------------------------------------- */

#define PRE_BYTES 16
#define PRE_LABEL "ntspool pre-session form"

/* The request's pre-session nonce into nonce: 0, or -1 none (or not ours). */
static int
pre_nonce(const struct web_req *r, char nonce[2 * PRE_BYTES + 2])
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Cookie");

    if (webparse_cookie(h, r->w->secure_cookies ? "__Host-" SESSION_PRE_COOKIE
                                                : SESSION_PRE_COOKIE,
                        nonce, 2 * PRE_BYTES + 2) != 0 ||
        !webparse_hex(nonce, 2 * PRE_BYTES))
        return -1;
    return 0;
}

int
session_pre_token(struct web_req *r, char token[DB_MAC_LEN + 1])
{
    char nonce[2 * PRE_BYTES + 2], c[160];
    unsigned char n[PRE_BYTES];

    if (pre_nonce(r, nonce) != 0) {
        if (tlsctx_random(n, sizeof(n)) != 0)
            return -1;
        hex(nonce, n, sizeof(n));
        snprintf(c, sizeof(c), "%s%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s",
                 r->w->secure_cookies ? "__Host-" : "", SESSION_PRE_COOKIE, nonce,
                 SESSION_PRE_MAX_AGE, r->w->secure_cookies ? "; Secure" : "");
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Set-Cookie", c);
    }
    return db_token_mac(r->w->p.secret, DB_SECRET_LEN, PRE_LABEL, nonce, token);
}

bool
session_pre_ok(const struct web_req *r, const char *given)
{
    char nonce[2 * PRE_BYTES + 2], want[DB_MAC_LEN + 1];
    bool ok;

    if (!given || pre_nonce(r, nonce) != 0 ||
        db_token_mac(r->w->p.secret, DB_SECRET_LEN, PRE_LABEL, nonce, want) != 0)
        return false;
    ok = db_token_equal(given, want);
    util_wipe(want, sizeof(want));
    return ok;
}

bool
session_csrf_ok(const struct web_req *r, const char *given)
{
    if (!r->sess.on || !given || !r->sess.csrf[0])
        return false;
    return db_token_equal(given, r->sess.csrf);
}
