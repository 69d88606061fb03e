/* account.c - accounts on the web: register, log in, log out, set the first
 * password of an account made by `ntspoold user-add`, and the account page
 * with its API tokens and alert settings (the checks are shared with the
 * JSON API: alertapi_check).
 *
 * Passwords are hashed and verified by web/pwhash.c on worker threads: a
 * handler checks the form, queues the job, and the request waits (linked in
 * web.waiting) until the job's done() answers it on the loop.
 *
 * What the answers reveal: a failed login says "wrong e-mail or password"
 * whether or not the account exists, and costs the same (an unknown e-mail,
 * or an account without a password, is verified against a dummy hash).
 * Failures slow down further attempts per account and per client address
 * (web/throttle.c): past THROTTLE_FREE_ACCOUNT failures of an account, or
 * THROTTLE_FREE_ADDRESS of an address, an attempt before its time is
 * answered 429 with Retry-After, without hashing anything.  A success
 * clears the account's count, not the address's (else one's own account
 * would reset the count between guesses at others).  A blocked
 * account is told so only after its password was right.  Registration
 * cannot hide that an address is taken (there is no mail confirmation), so
 * a refused registration counts as a failure of the client's address.
 *
 * The first password of a user-add account: user-add prints an API token
 * and nothing else; whoever holds that token proves they own the account.
 * /set-password takes the e-mail, that API token and the new password, and
 * works only while the account has no password (db_user_set_password's
 * only_if_empty), so it can never take over an account in use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "util/log.h"
#include "util/util.h"
#include "web/html.h"
#include "web/pwhash.h"
#include "web/throttle.h"
#include "web/web_int.h"

#define PASSWORD_MIN 10 /* characters (code points) */

enum what { W_LOGIN, W_REGISTER, W_SETPW };

/* A request waiting for its password job. */
struct pending {
    struct web_req *r;
    struct pwhash_job *job;
    enum what what;
    int64_t user; /* the account tried (-1: none) */
    uint64_t k_email, k_addr;
    char email[DB_EMAIL_MAX];
};

static double
mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The throttle key of an e-mail (ASCII case folded, as SQLite's NOCASE
   compares) or an address: 64 bits of SHA-256(prefix || text). */
static uint64_t
key_of(const char *prefix, const char *s)
{
    char buf[DB_EMAIL_MAX + 8];
    unsigned char h[DB_HASH_LEN];
    uint64_t k = 0;
    size_t n;

    n = (size_t)snprintf(buf, sizeof(buf), "%s%s", prefix, s);
    for (size_t i = 0; i < n && i < sizeof(buf); i++)
        if (buf[i] >= 'A' && buf[i] <= 'Z')
            buf[i] = (char)(buf[i] - 'A' + 'a');
    if (db_hash(buf, h) == 0)
        memcpy(&k, h, sizeof(k));
    return k;
}

static size_t
code_points(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* ---- the forms ------------------------------------------------------------------- */

/* Render the form of `what` with a notice (kind may be NULL) and the e-mail
   typed before (never a password), and reply with status. */
static void
form_page(struct web_req *r, enum what what, int status, const char *kind,
          const char *notice, const char *email)
{
    struct evbuffer *b = evbuffer_new();
    char csrf[DB_MAC_LEN + 1];

    /* These forms are filled in before a session: their token is the
       pre-session one (session.c). */
    if (!b || session_pre_token(r, csrf) != 0) {
        if (b)
            evbuffer_free(b);
        web_reply(r, 500, NULL, NULL);
        return;
    }
    switch (what) {
    case W_LOGIN:
        page_begin(r, b, "Log in");
        if (kind)
            html_notice(b, kind, notice);
        html_form_begin(b, "/login", NULL, csrf);
        html_field(b, "email", "email", "E-mail address", email, "username",
                   DB_EMAIL_MAX - 1);
        html_field(b, "password", "password", "Password", NULL, "current-password", 0);
        html_form_end(b, "Log in");
        html_printf(b, "<p>No account yet? <a href=\"/register\">Register</a>. An operator "
                       "made your account? <a href=\"/set-password\">Set its password"
                       "</a> with its API token.</p>\n");
        break;
    case W_REGISTER:
        page_begin(r, b, "Register");
        if (kind)
            html_notice(b, kind, notice);
        html_form_begin(b, "/register", NULL, csrf);
        html_field(b, "email", "email", "E-mail address", email, "username",
                   DB_EMAIL_MAX - 1);
        html_printf(b, "<p class=\"muted\" id=\"pw-rule\">The password: at least %d "
                       "characters, at most %d bytes.</p>\n",
                    PASSWORD_MIN, PWHASH_MAX_LEN);
        html_field(b, "password", "password", "Password", NULL, "new-password", 0);
        html_field(b, "password", "password2", "Password again", NULL, "new-password", 0);
        html_form_end(b, "Create the account");
        html_printf(b, "<p>Have an account? <a href=\"/login\">Log in</a>.</p>\n");
        break;
    case W_SETPW:
        page_begin(r, b, "Set your password");
        if (kind)
            html_notice(b, kind, notice);
        html_printf(b, "<p>For an account an operator created with "
                       "<code>ntspoold user-add</code>: its API token (printed when the "
                       "account was made) proves the account is yours. This works once, "
                       "while the account has no password.</p>\n");
        html_form_begin(b, "/set-password", NULL, csrf);
        html_field(b, "email", "email", "E-mail address", email, "username",
                   DB_EMAIL_MAX - 1);
        html_field(b, "password", "token", "API token", NULL, "off", 0);
        html_printf(b, "<p class=\"muted\">The password: at least %d characters, at most "
                       "%d bytes.</p>\n",
                    PASSWORD_MIN, PWHASH_MAX_LEN);
        html_field(b, "password", "password", "New password", NULL, "new-password", 0);
        html_field(b, "password", "password2", "New password again", NULL, "new-password",
                   0);
        html_form_end(b, "Set the password");
        break;
    }
    page_reply(r, status, b);
    evbuffer_free(b);
}

static void
too_many(struct web_req *r, enum what what, int wait, const char *email)
{
    char msg[160], ra[16];

    snprintf(ra, sizeof(ra), "%d", wait);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", ra);
    snprintf(msg, sizeof(msg),
             "Too many failed attempts. Wait %d second%s, then try again.", wait,
             wait == 1 ? "" : "s");
    form_page(r, what, 429, "error", msg, email);
}

/* The wait before this attempt may run (0: now): the longer of the
   account's and the address's. */
static int
throttled(struct web_req *r, uint64_t k_email, uint64_t k_addr)
{
    double now = mono();
    int a = k_email ? throttle_wait(r->w->throttle_acct, k_email, now) : 0;
    int b = throttle_wait(r->w->throttle_addr, k_addr, now);

    return a > b ? a : b;
}

static void
failed(struct web_req *r, uint64_t k_email, uint64_t k_addr)
{
    double now = mono();

    if (k_email)
        throttle_fail(r->w->throttle_acct, k_email, now);
    throttle_fail(r->w->throttle_addr, k_addr, now);
}

/* Password rules; NULL when fine, else the message. */
static const char *
password_problem(const char *pw, const char *pw2)
{
    if (strlen(pw) > PWHASH_MAX_LEN)
        return "The password is longer than 256 bytes.";
    if (code_points(pw) < PASSWORD_MIN)
        return "The password is shorter than 10 characters.";
    if (strcmp(pw, pw2) != 0)
        return "The two passwords differ.";
    return NULL;
}

/* ---- waiting for the hash -------------------------------------------------------- */

static void
pending_cancel(struct web_req *r)
{
    struct pending *p = r->wait;

    pwhash_cancel(p->job);
    free(p);
    web_req_abandon(r);
}

static void
logged_in(struct web_req *r, int64_t user)
{
    if (session_start(r, user) != 0) {
        page_error(r, 500, "Cannot start a session; try again.");
        return;
    }
    page_redirect(r, "/time-sources");
}

static void
on_hashed(void *arg, int ok, const char *encoded)
{
    struct pending *p = arg;
    struct web_req *r = p->r;
    struct db_user u;
    int64_t id;
    int rc;

    web_req_unwait(r);
    if (ok < 0) {
        page_error(r, 500, "Password hashing failed; try again.");
        goto out;
    }
    switch (p->what) {
    case W_LOGIN:
        rc = ok == 1 && p->user > 0 ? db_user_get(r->w->p.db, p->user, &u) : 0;
        if (rc < 0) {
            page_error(r, 500, "Database error; try again.");
        } else if (rc == 0) {
            failed(r, p->k_email, p->k_addr);
            form_page(r, W_LOGIN, 403, "error", "Wrong e-mail address or password.",
                      p->email);
        } else if (u.blocked) {
            form_page(r, W_LOGIN, 403, "error",
                      "This account is blocked. Ask the pool's operators why.", p->email);
        } else {
            throttle_clear(r->w->throttle_acct, p->k_email);
            log_info("http: login of user %lld", (long long)u.id);
            logged_in(r, u.id);
        }
        break;
    case W_REGISTER:
        rc = db_user_add(r->w->p.db, p->email, encoded, false, r->now, &id);
        if (rc < 0)
            page_error(r, 500, "Database error; try again.");
        else if (rc == 1)
            form_page(r, W_REGISTER, 409, "error",
                      "An account with this e-mail address exists: log in instead.",
                      p->email);
        else {
            log_info("http: user %lld registered", (long long)id);
            logged_in(r, id);
        }
        break;
    case W_SETPW:
        rc = db_user_set_password(r->w->p.db, p->user, encoded, true);
        if (rc < 0) {
            page_error(r, 500, "Database error; try again.");
        } else if (rc == 0) {
            failed(r, p->k_email, p->k_addr);
            form_page(r, W_SETPW, 403, "error",
                      "The e-mail address and API token do not match an account waiting "
                      "for its first password.",
                      p->email);
        } else {
            throttle_clear(r->w->throttle_acct, p->k_email);
            log_info("http: user %lld set its first password", (long long)p->user);
            logged_in(r, p->user);
        }
        break;
    }
out:
    free(p);
}

/* Queue the job of p (password, and encoded for a login); the request
   waits, or is answered 503 when the queue is full. */
static void
start(struct web_req *r, struct pending *p, const char *password, const char *encoded)
{
    p->r = r;
    p->job = p->what == W_LOGIN ? pwhash_verify(r->w->pwhash, password, encoded, on_hashed, p)
                                : pwhash_hash(r->w->pwhash, password, on_hashed, p);
    if (!p->job) {
        free(p);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", "1");
        page_error(r, 503, "The server is busy; try again in a moment.");
        return;
    }
    web_req_wait(r, pending_cancel, p);
}

static struct pending *
pending_new(struct web_req *r, enum what what, const char *email)
{
    struct pending *p = calloc(1, sizeof(*p));

    if (!p) {
        page_error(r, 500, "Out of memory.");
        return NULL;
    }
    p->what = what;
    p->user = -1;
    snprintf(p->email, sizeof(p->email), "%s", email);
    p->k_email = key_of("e:", email);
    p->k_addr = key_of("a:", page_peer(r));
    return p;
}

/* ---- the handlers ---------------------------------------------------------------- */

/* GET shows the form (a logged-in user goes to their sources); else the
   form's fields, or -1 after a reply. */
static int
form_or_get(struct web_req *r, enum what what, struct evkeyvalq *q)
{
    if (r->method == EVHTTP_REQ_GET) {
        int rc = session_load(r);
        if (rc < 0)
            page_error(r, 500, "Database error; try again.");
        else if (rc == 1)
            page_redirect(r, "/time-sources");
        else
            form_page(r, what, 200, NULL, NULL, NULL);
        return -1;
    }
    /* No session is loaded here (logging in again from a browser that
       still has one is fine): the token is the pre-session one, checked
       after page_form's Origin check. */
    if (page_form(r, q) != 0)
        return -1;
    if (!session_pre_ok(r, evhttp_find_header(q, HTML_CSRF_FIELD))) {
        evhttp_clear_headers(q);
        page_error(r, 403, "The form's security token is missing or stale: reload the "
                           "page and try again.");
        return -1;
    }
    return 0;
}

void
account_login(struct web_req *r)
{
    struct evkeyvalq q;
    const char *email, *pw;
    struct pending *p;
    struct db_user u;
    int rc, wait;

    if (form_or_get(r, W_LOGIN, &q) != 0)
        return;
    email = evhttp_find_header(&q, "email");
    pw = evhttp_find_header(&q, "password");
    if (!email || !pw || !*email || !*pw) {
        form_page(r, W_LOGIN, 400, "error", "Give your e-mail address and password.",
                  email);
        goto out;
    }
    if (!(p = pending_new(r, W_LOGIN, email)))
        goto out;
    if ((wait = throttled(r, p->k_email, p->k_addr)) > 0) {
        free(p);
        too_many(r, W_LOGIN, wait, email);
        goto out;
    }
    rc = strlen(email) < DB_EMAIL_MAX ? db_user_by_email(r->w->p.db, email, &u) : 0;
    if (rc < 0) {
        free(p);
        page_error(r, 500, "Database error; try again.");
        goto out;
    }
    if (strlen(pw) > PWHASH_MAX_LEN) {
        failed(r, p->k_email, p->k_addr);
        free(p);
        form_page(r, W_LOGIN, 403, "error", "Wrong e-mail address or password.", email);
        goto out;
    }
    if (rc == 1)
        p->user = u.id;
    start(r, p, pw, rc == 1 ? u.password_hash : NULL);
out:
    util_wipe(&u, sizeof(u));
    evhttp_clear_headers(&q);
}

void
account_register(struct web_req *r)
{
    struct evkeyvalq q;
    const char *email, *pw, *pw2, *why;
    struct pending *p;
    struct db_user u;
    int rc, wait;

    if (form_or_get(r, W_REGISTER, &q) != 0)
        return;
    email = evhttp_find_header(&q, "email");
    pw = evhttp_find_header(&q, "password");
    pw2 = evhttp_find_header(&q, "password2");
    if (!email || !web_email_ok(email)) {
        form_page(r, W_REGISTER, 400, "error", "That is not an e-mail address.", email);
        goto out;
    }
    if ((why = password_problem(pw ? pw : "", pw2 ? pw2 : "")) != NULL) {
        form_page(r, W_REGISTER, 400, "error", why, email);
        goto out;
    }
    if (!(p = pending_new(r, W_REGISTER, email)))
        goto out;
    if ((wait = throttled(r, 0, p->k_addr)) > 0) {
        free(p);
        too_many(r, W_REGISTER, wait, email);
        goto out;
    }
    rc = db_user_by_email(r->w->p.db, email, &u);
    if (rc != 0) {
        free(p);
        if (rc < 0) {
            page_error(r, 500, "Database error; try again.");
            goto out;
        }
        failed(r, 0, key_of("a:", page_peer(r)));
        form_page(r, W_REGISTER, 409, "error",
                  "An account with this e-mail address exists: log in, or set the "
                  "password of an account an operator made for you.",
                  email);
        goto out;
    }
    start(r, p, pw, NULL);
out:
    evhttp_clear_headers(&q);
}

void
account_set_password(struct web_req *r)
{
    struct evkeyvalq q;
    const char *email, *token, *pw, *pw2, *why;
    unsigned char h[DB_HASH_LEN];
    struct pending *p;
    struct db_user u;
    int64_t owner = -1;
    int rc, wait;

    if (form_or_get(r, W_SETPW, &q) != 0)
        return;
    email = evhttp_find_header(&q, "email");
    token = evhttp_find_header(&q, "token");
    pw = evhttp_find_header(&q, "password");
    pw2 = evhttp_find_header(&q, "password2");
    if (!email || !token || !*email || !*token || strlen(email) >= DB_EMAIL_MAX) {
        form_page(r, W_SETPW, 400, "error", "Give the e-mail address and the API token.",
                  email);
        goto out;
    }
    if ((why = password_problem(pw ? pw : "", pw2 ? pw2 : "")) != NULL) {
        form_page(r, W_SETPW, 400, "error", why, email);
        goto out;
    }
    if (!(p = pending_new(r, W_SETPW, email)))
        goto out;
    if ((wait = throttled(r, p->k_email, p->k_addr)) > 0) {
        free(p);
        too_many(r, W_SETPW, wait, email);
        goto out;
    }
    rc = db_user_by_email(r->w->p.db, email, &u);
    if (rc == 1 && db_hash(token, h) == 0)
        rc = db_api_token_user(r->w->p.db, h, r->now, &owner) < 0 ? -1 : rc;
    if (rc < 0) {
        free(p);
        page_error(r, 500, "Database error; try again.");
        goto out;
    }
    if (rc == 0 || owner != u.id || u.password_hash[0] || u.blocked) {
        failed(r, p->k_email, p->k_addr);
        free(p);
        form_page(r, W_SETPW, 403, "error",
                  "The e-mail address and API token do not match an account waiting for "
                  "its first password.",
                  email);
        goto out;
    }
    p->user = u.id;
    start(r, p, pw, NULL);
out:
    evhttp_clear_headers(&q);
}

void
account_logout(struct web_req *r)
{
    struct evkeyvalq q;
    int rc = session_load(r);

    if (rc < 0) {
        page_error(r, 500, "Database error; try again.");
        return;
    }
    if (rc == 0) {
        if (r->method != EVHTTP_REQ_POST)
            page_error(r, 405, "Log out with the button (POST).");
        else
            page_redirect(r, "/");
        return;
    }
    if (page_form(r, &q) != 0)
        return;
    evhttp_clear_headers(&q);
    session_end(r);
    page_redirect(r, "/");
}

/* ---- the account page: API tokens ------------------------------------------------ */

#define ALERTS_SHOWN 20 /* messages listed on the account page */

/* The alert channels and the latest messages (PRODUCT.md: what was sent, or
   failed, is listed on the pages). */
static void
alerts_section(struct web_req *r, struct evbuffer *b)
{
    struct db_alert_settings as;
    struct db_alert *log = NULL;
    char when[HTML_TIME_LEN];
    size_t n = 0;

    if (db_alert_settings_get(r->w->p.db, r->user, &as) < 0 ||
        db_alert_log(r->w->p.db, r->user, ALERTS_SHOWN, &log, &n) != 0) {
        html_notice(b, "error", "The alert settings cannot be read now.");
        return;
    }
    html_printf(b, "<h2>Alerts</h2>\n<p>One message when a source of yours leaves the "
                   "pool (with the reason), comes back, or its certificate expires within "
                   "14 days; at most one a day per source and cause. Leave a field empty "
                   "to turn that channel off.</p>\n");
    html_form_begin(b, "/account/alerts", NULL, r->sess.csrf);
    html_printf(b, "<p><label for=\"email\">E-mail address</label>"
                   "<input id=\"email\" name=\"email\" type=\"email\" value=\"%s\" "
                   "autocomplete=\"email\" maxlength=\"%d\"></p>\n"
                   "<p><label for=\"webhook\">Webhook URL (https://; gets a JSON POST)"
                   "</label><input id=\"webhook\" name=\"webhook\" type=\"url\" "
                   "value=\"%s\" autocomplete=\"off\" maxlength=\"%d\"></p>\n",
                as.email, DB_EMAIL_MAX - 1, as.webhook, DB_URL_MAX - 1);
    html_form_end(b, "Save the alert settings");
    if (n == 0) {
        html_printf(b, "<p>No alert sent yet.</p>\n");
    } else {
        html_printf(b, "<div class=\"table-wrap\"><table>\n<caption>Latest alerts"
                       "</caption><thead><tr><th scope=\"col\">Time</th>"
                       "<th scope=\"col\">Source</th><th scope=\"col\">Cause</th>"
                       "<th scope=\"col\">Channel</th><th scope=\"col\">Status</th>"
                       "<th scope=\"col\">Detail</th></tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < n; i++)
            html_printf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                           "<td>%s</td></tr>\n",
                        html_time(when, log[i].time), log[i].host,
                        db_alert_cause_str(log[i].cause),
                        db_alert_channel_str(log[i].channel),
                        db_alert_status_str(log[i].status), log[i].detail);
        html_printf(b, "</tbody></table></div>\n");
    }
    free(log);
}

static void
alerts_saved(struct web_req *r, const struct db_alert_settings *as, const char *code,
             const char *why)
{
    char msg[320];

    if (code) {
        snprintf(msg, sizeof(msg), "The alert settings were not saved: %s.", why);
        page_error(r, 400, msg);
        return;
    }
    if (db_alert_settings_set(r->w->p.db, r->user, as->email, as->webhook) != 0) {
        page_error(r, 500, "Database error; try again.");
        return;
    }
    page_redirect(r, "/account");
}

static void
alerts_post(struct web_req *r, struct evkeyvalq *q)
{
    const char *email = evhttp_find_header(q, "email");
    const char *webhook = evhttp_find_header(q, "webhook");
    struct db_alert_settings as;

    memset(&as, 0, sizeof(as));
    if ((email && strlen(email) >= sizeof(as.email)) ||
        (webhook && strlen(webhook) >= sizeof(as.webhook))) {
        page_error(r, 400, "The e-mail address or the webhook URL is too long.");
        return;
    }
    snprintf(as.email, sizeof(as.email), "%s", email ? email : "");
    snprintf(as.webhook, sizeof(as.webhook), "%s", webhook ? webhook : "");
    alertapi_check(r, &as, alerts_saved);
}

static void
account_view(struct web_req *r)
{
    struct db_api_token *t = NULL;
    struct evbuffer *b;
    char c[HTML_TIME_LEN], l[HTML_TIME_LEN];
    size_t n = 0;

    if (db_api_tokens_of_user(r->w->p.db, r->user, &t, &n) != 0) {
        page_error(r, 500, "Database error; try again.");
        return;
    }
    if (!(b = evbuffer_new())) {
        free(t);
        web_reply(r, 500, NULL, NULL);
        return;
    }
    page_begin(r, b, "Account");
    html_printf(b, "<p>Logged in as <strong>%s</strong>.</p>\n<h2>API tokens</h2>\n"
                   "<p>A token lets a program use the JSON API as you "
                   "(<code>Authorization: Bearer TOKEN</code>). It is shown once, when "
                   "made; revoke one you no longer use.</p>\n",
                r->sess.email);
    if (n == 0)
        html_printf(b, "<p>No API token.</p>\n");
    else
        html_printf(b, "<div class=\"table-wrap\"><table>\n<thead><tr>"
                       "<th scope=\"col\">Name</th><th scope=\"col\">Made</th>"
                       "<th scope=\"col\">Last used</th><th scope=\"col\">Action</th>"
                       "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        char action[64];

        snprintf(action, sizeof(action), "/account/tokens/%lld/delete", (long long)t[i].id);
        html_printf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>", t[i].name,
                    html_time(c, t[i].created), html_time(l, t[i].last_used));
        html_form_begin(b, action, "inline", r->sess.csrf);
        html_printf(b, "<button type=\"submit\" class=\"danger\">Revoke</button></form>"
                       "</td></tr>\n");
    }
    if (n > 0)
        html_printf(b, "</tbody></table></div>\n");
    free(t);
    html_printf(b, "<h2>New API token</h2>\n");
    html_form_begin(b, "/account/tokens", NULL, r->sess.csrf);
    html_field(b, "text", "name", "Name (what uses it)", NULL, "off", DB_NAME_MAX - 1);
    html_form_end(b, "Make a token");
    alerts_section(r, b);
    page_reply(r, 200, b);
    evbuffer_free(b);
}

static void
token_new(struct web_req *r, struct evkeyvalq *q)
{
    const char *name = evhttp_find_header(q, "name");
    char token[WEB_TOKEN_LEN + 1];
    unsigned char h[DB_HASH_LEN];
    struct evbuffer *b;
    int64_t id;

    if (!name || !*name || strlen(name) >= DB_NAME_MAX) {
        page_error(r, 400, "Give the token a name of 1 to 63 bytes.");
        return;
    }
    if (web_token_new(token, WEB_TOKEN_PREFIX) != 0 || db_hash(token, h) != 0 ||
        db_api_token_add(r->w->p.db, r->user, name, h, r->now, &id) != 0) {
        util_wipe(token, sizeof(token));
        page_error(r, 500, "Cannot make a token; try again.");
        return;
    }
    if (!(b = evbuffer_new())) {
        util_wipe(token, sizeof(token));
        web_reply(r, 500, NULL, NULL);
        return;
    }
    page_begin(r, b, "New API token");
    html_notice(b, "ok", "The token is made. Copy it now: it is not shown again.");
    html_printf(b, "<p>Token <strong>%s</strong>:</p>\n<p class=\"secret\">%s</p>\n"
                   "<p><a href=\"/account\">Back to the account</a></p>\n",
                name, token);
    util_wipe(token, sizeof(token));
    page_reply(r, 200, b);
    evbuffer_free(b);
}

void
account_page(struct web_req *r, const char *sub)
{
    struct evkeyvalq q;
    int64_t id = 0;
    size_t n = 0;

    if (strcmp(sub, "/tokens") != 0 && strcmp(sub, "/alerts") != 0 && *sub &&
        !(strncmp(sub, "/tokens/", 8) == 0 && (n = web_parse_id(sub + 8, &id)) > 0 &&
          strcmp(sub + 8 + n, "/delete") == 0)) {
        page_error(r, 404, "There is no such page.");
        return;
    }
    if (page_user(r) != 0)
        return;
    if (!*sub) {
        if (r->method != EVHTTP_REQ_GET)
            page_error(r, 405, "Use GET.");
        else
            account_view(r);
        return;
    }
    if (page_form(r, &q) != 0)
        return;
    if (strcmp(sub, "/alerts") == 0) {
        alerts_post(r, &q);
    } else if (id == 0) {
        token_new(r, &q);
    } else {
        int rc = db_api_token_delete(r->w->p.db, id, r->user);
        if (rc < 0)
            page_error(r, 500, "Database error; try again.");
        else if (rc == 0)
            page_error(r, 404, "There is no such token.");
        else
            page_redirect(r, "/account");
    }
    evhttp_clear_headers(&q);
}
