/* test_html.c - the pure helpers of the pages: escaping per context
 * (html_text, html_escape, html_url, html_printf), the layout and form
 * pieces (hostile strings stay text), time and score classes; the login
 * throttle (throttle_); and the password hashing pool (pwhash_) on a real
 * event loop: hash, verify, mismatch, the dummy, cancel, the queue bound. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "check.h"
#include "web/html.h"
#include "web/pwhash.h"
#include "web/throttle.h"

/* The buffer's contents as a string (static storage, for CHECK_STR). */
static const char *
str(struct evbuffer *b)
{
    static char out[16384];
    size_t n = evbuffer_get_length(b);

    if (n >= sizeof(out))
        n = sizeof(out) - 1;
    evbuffer_copyout(b, out, n);
    out[n] = '\0';
    evbuffer_drain(b, evbuffer_get_length(b));
    return out;
}

static const char hostile[] = "<script>alert(\"x\")</script>&'a.example.org";

static void
test_escape(void)
{
    struct evbuffer *b = evbuffer_new();
    char out[64];

    CHECK_INT(html_text(b, hostile), 0);
    CHECK_STR(str(b), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
                      "a.example.org");
    CHECK_INT(html_text(b, NULL), 0);
    CHECK_STR(str(b), "");
    CHECK_INT(html_text_n(b, "a<b", 2), 0);
    CHECK_STR(str(b), "a&lt;");
    CHECK_INT(html_text(b, "plain é ü"), 0);
    CHECK_STR(str(b), "plain é ü");

    CHECK_INT(html_escape(out, sizeof(out), "a&b"), 7);
    CHECK_STR(out, "a&amp;b");
    /* Truncated at a whole entity, the needed length still told. */
    CHECK_INT(html_escape(out, 4, "a&b"), 7);
    CHECK_STR(out, "a");
    CHECK_INT(html_escape(out, 0, "<"), 4);

    CHECK_INT(html_url(b, "a b/c?d=e&f#g~h-i_j.k%"), 0);
    CHECK_STR(str(b), "a%20b%2Fc%3Fd%3De%26f%23g~h-i_j.k%25");
    CHECK_INT(html_url(b, "\"><"), 0);
    CHECK_STR(str(b), "%22%3E%3C");
    CHECK_INT(html_url(b, "é"), 0);
    CHECK_STR(str(b), "%C3%A9");
    evbuffer_free(b);
}

static void
test_printf(void)
{
    struct evbuffer *b = evbuffer_new();

    CHECK_INT(html_printf(b, "<a href=\"/x/%u\" title=\"%s\">%s</a> %r %d %j 100%%",
                          "a/b c", "\"q\"", "<b>", "<br>", -3, (int64_t)1796000000123),
              0);
    CHECK_STR(str(b), "<a href=\"/x/a%2Fb%20c\" title=\"&quot;q&quot;\">&lt;b&gt;</a> "
                      "<br> -3 1796000000123 100%");
    CHECK_INT(html_printf(b, "no conversions"), 0);
    CHECK_STR(str(b), "no conversions");
    CHECK_INT(html_printf(b, "%s|%u|%r", NULL, NULL, NULL), 0);
    CHECK_STR(str(b), "||");
    /* An unknown conversion is a bug: -1, and nothing after it. */
    CHECK_INT(html_printf(b, "a%xb", 1), -1);
    CHECK_STR(str(b), "a");
    CHECK_INT(html_printf(b, "trailing %"), -1);
    evbuffer_free(b);
}

static void
test_layout(void)
{
    struct evbuffer *b = evbuffer_new();
    struct html_viewer v = {"<i>@example.org", "c\"srf", true};
    struct evkeyvalq h;
    const char *s;

    CHECK_INT(html_begin(b, hostile, &v), 0);
    CHECK_INT(html_field(b, "email", "email", "E-mail", hostile, "username", 255), 0);
    CHECK_INT(html_form_begin(b, "/a?b=<c>", NULL, "tok\"en"), 0);
    CHECK_INT(html_notice(b, "error", "<img src=x>"), 0);
    CHECK_INT(html_end(b), 0);
    s = str(b);
    /* Nothing hostile survives as markup, and no inline style or script. */
    CHECK(strstr(s, "<script") == NULL);
    CHECK(strstr(s, "<img") == NULL);
    CHECK(strstr(s, "<i>") == NULL);
    CHECK(strstr(s, "style=") == NULL);
    CHECK(strstr(s, "<style") == NULL);
    CHECK(strstr(s, "&lt;i&gt;@example.org") != NULL);
    CHECK(strstr(s, "value=\"c&quot;srf\"") != NULL);
    CHECK(strstr(s, "value=\"tok&quot;en\"") != NULL);
    CHECK(strstr(s, "action=\"/a?b=&lt;c&gt;\"") != NULL);
    CHECK(strstr(s, "<a href=\"/admin\">Admin</a>") != NULL);
    CHECK(strstr(s, "action=\"/logout\"") != NULL);
    CHECK(strstr(s, "<label for=\"f-email\">E-mail</label>") != NULL);
    CHECK(strstr(s, "maxlength=\"255\"") != NULL);
    CHECK(strstr(s, "</main>") != NULL && strstr(s, "</html>") != NULL);

    /* Logged out: log in and register, no admin, no log-out form. */
    CHECK_INT(html_begin(b, "T", NULL), 0);
    s = str(b);
    CHECK(strstr(s, "href=\"/login\"") != NULL);
    CHECK(strstr(s, "/admin") == NULL);
    CHECK(strstr(s, "/logout") == NULL);
    CHECK(strstr(s, "<title>T - ntspool</title>") != NULL);

    TAILQ_INIT(&h);
    html_security_headers(&h, true);
    CHECK_STR(evhttp_find_header(&h, "Content-Security-Policy"), HTML_CSP);
    CHECK_STR(evhttp_find_header(&h, "X-Frame-Options"), "DENY");
    CHECK_STR(evhttp_find_header(&h, "Referrer-Policy"), "same-origin");
    CHECK_STR(evhttp_find_header(&h, "X-Content-Type-Options"), "nosniff");
    CHECK_STR(evhttp_find_header(&h, "Cache-Control"), "no-store");
    evhttp_clear_headers(&h);
    html_security_headers(&h, false);
    CHECK(evhttp_find_header(&h, "Cache-Control") == NULL);
    evhttp_clear_headers(&h);

    /* The stylesheet fetches nothing and has the score classes. */
    CHECK_INT(strlen(html_stylesheet), html_stylesheet_len);
    CHECK(strstr(html_stylesheet, "url(") == NULL);
    CHECK(strstr(html_stylesheet, "@import") == NULL);
    CHECK(strstr(html_stylesheet, ".score-good") != NULL);
    CHECK(strstr(html_stylesheet, ".score-rising") != NULL);
    CHECK(strstr(html_stylesheet, ".score-bad") != NULL);
    CHECK(strstr(html_stylesheet, ".score-na") != NULL);
    CHECK(strstr(html_stylesheet, ":focus-visible") != NULL);
    evbuffer_free(b);
}

static void
test_small(void)
{
    char t[HTML_TIME_LEN];

    CHECK_STR(html_time(t, 0), "never");
    CHECK_STR(html_time(t, -5), "never");
    CHECK_STR(html_time(t, 1796000000), "2026-11-30 00:53 UTC");
    CHECK_STR(html_score_class(true, true, 10.5), "score-good");
    CHECK_STR(html_score_class(true, true, 10.0), "score-rising");
    CHECK_STR(html_score_class(true, true, 0.0), "score-rising");
    CHECK_STR(html_score_class(true, true, -0.1), "score-bad");
    CHECK_STR(html_score_class(true, false, 15), "score-na");
    CHECK_STR(html_score_class(false, true, 15), "score-na");
    CHECK_STR(html_score_class(true, true, NAN), "score-na");
}

static void
test_throttle(void)
{
    struct throttle *t = throttle_new(THROTTLE_FREE_ACCOUNT);
    double now = 1000;

    CHECK(t != NULL);
    if (!t)
        return;
    for (int i = 0; i < THROTTLE_FREE_ACCOUNT; i++) {
        CHECK_INT(throttle_wait(t, 42, now), 0);
        throttle_fail(t, 42, now);
    }
    /* Past the free failures: 1 s, then doubling, capped. */
    CHECK_INT(throttle_wait(t, 42, now), 1);
    CHECK_INT(throttle_wait(t, 42, now + 0.5), 1);
    CHECK_INT(throttle_wait(t, 42, now + 1), 0);
    CHECK_INT(throttle_wait(t, 7, now), 0); /* another key is free */
    throttle_fail(t, 42, now + 1);
    CHECK_INT(throttle_wait(t, 42, now + 1), 2);
    for (int i = 0; i < 20; i++)
        throttle_fail(t, 42, now + 2);
    CHECK_INT(throttle_wait(t, 42, now + 2), THROTTLE_MAX_WAIT);
    /* Forgotten after THROTTLE_FORGET s without failures. */
    CHECK_INT(throttle_wait(t, 42, now + 2 + THROTTLE_FORGET), 0);
    throttle_fail(t, 42, now + 2 + THROTTLE_FORGET);
    CHECK_INT(throttle_wait(t, 42, now + 2 + THROTTLE_FORGET), 0);
    /* A success clears the key. */
    for (int i = 0; i < THROTTLE_FREE_ACCOUNT + 2; i++)
        throttle_fail(t, 9, now);
    CHECK(throttle_wait(t, 9, now) > 0);
    throttle_clear(t, 9);
    CHECK_INT(throttle_wait(t, 9, now), 0);
    /* A flood of keys is bounded by the table and leaves no garbage. */
    for (uint64_t k = 100; k < 100 + 4 * THROTTLE_SLOTS; k++)
        throttle_fail(t, k * 0x9E3779B97F4A7C15ull, now);
    throttle_free(t);
    throttle_free(NULL);
}

/* ---- pwhash on a loop --------------------------------------------------------- */

struct got {
    int calls;
    int ok;
    char encoded[PWHASH_ENCODED_MAX];
};

static void
on_done(void *arg, int ok, const char *encoded)
{
    struct got *g = arg;

    g->calls++;
    g->ok = ok;
    snprintf(g->encoded, sizeof(g->encoded), "%s", encoded ? encoded : "");
}

static void
wait_for(struct event_base *base, const int *calls, int want)
{
    for (int i = 0; i < 2000 && *calls < want; i++) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
}

static void
test_pwhash(void)
{
    struct event_base *base = event_base_new();
    char err[128];
    struct pwhash *p = pwhash_new(base, 2, err, sizeof(err));
    struct got h = {0}, v1 = {0}, v2 = {0}, v3 = {0}, c = {0};
    struct pwhash_job *jobs[PWHASH_QUEUE_MAX + 1];
    size_t queued = 0;
    char too_long[PWHASH_MAX_LEN + 2];

    CHECK(p != NULL);
    if (!p) {
        fprintf(stderr, "pwhash_new: %s\n", err);
        event_base_free(base);
        return;
    }
    CHECK(pwhash_hash(p, "correct horse battery", on_done, &h) != NULL);
    wait_for(base, &h.calls, 1);
    CHECK_INT(h.calls, 1);
    CHECK_INT(h.ok, 0);
    CHECK(strncmp(h.encoded, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);

    CHECK(pwhash_verify(p, "correct horse battery", h.encoded, on_done, &v1) != NULL);
    CHECK(pwhash_verify(p, "wrong horse battery", h.encoded, on_done, &v2) != NULL);
    CHECK(pwhash_verify(p, "anything", NULL, on_done, &v3) != NULL); /* the dummy */
    wait_for(base, &v3.calls, 1);
    wait_for(base, &v1.calls, 1);
    wait_for(base, &v2.calls, 1);
    CHECK_INT(v1.ok, 1);
    CHECK_INT(v2.ok, 0);
    CHECK_INT(v3.ok, 0);

    /* Too long a password is refused at once. */
    memset(too_long, 'a', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    CHECK(pwhash_hash(p, too_long, on_done, &c) == NULL);

    /* The queue is bounded; cancelled jobs never call back. */
    for (size_t i = 0; i < PWHASH_QUEUE_MAX + 1; i++) {
        jobs[i] = pwhash_hash(p, "x", on_done, &c);
        if (jobs[i])
            queued++;
    }
    CHECK_INT(queued, PWHASH_QUEUE_MAX);
    CHECK(jobs[PWHASH_QUEUE_MAX] == NULL);
    for (size_t i = 0; i < PWHASH_QUEUE_MAX; i++)
        if (jobs[i])
            pwhash_cancel(jobs[i]);
    {
        struct timeval tv = {0, 300000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    CHECK_INT(c.calls, 0);
    /* And the pool takes work again. */
    CHECK(pwhash_verify(p, "correct horse battery", h.encoded, on_done, &v1) != NULL);
    wait_for(base, &v1.calls, 2);
    CHECK_INT(v1.calls, 2);
    CHECK_INT(v1.ok, 1);
    /* Freed with a job in flight: no callback, no leak. */
    CHECK(pwhash_hash(p, "late", on_done, &c) != NULL);
    pwhash_free(p);
    pwhash_free(NULL);
    CHECK_INT(c.calls, 0);
    event_base_free(base);
}

int
main(void)
{
    test_escape();
    test_printf();
    test_layout();
    test_small();
    test_throttle();
    test_pwhash();
    return check_finish("test_html");
}
