/* page.c - the HTML side of the server: routing of page paths, the helpers
 * every page handler uses (declared in web_int.h: page_begin, page_reply,
 * page_redirect, page_error, page_user, page_form), the landing page and
 * the stylesheet.  The Time sources pages are srcpage.c's and details.c's.
 *
 * How to write a page (account.c and admin.c are examples):
 *   GET:  page_user(r) (or session_load for public pages), build into an
 *         evbuffer with page_begin, html_printf (its %s escapes), html_form_*
 *         (pass r->sess.csrf), html_end, then page_reply.
 *   POST: page_user(r), page_form(r, &q) (checks Origin and the CSRF token,
 *         403 on failure), act, then page_redirect (303) to a GET page, or
 *         page_reply with a page that shows a secret once.
 * Another user's object is 404 (page_error), exactly like a missing one.
 *
 * Form bodies are bounded (PAGE_FORM_MAX), parsed by evhttp_parse_query_str
 * (which also decodes '+'), and every field must be valid UTF-8 text
 * without control characters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "util/log.h"
#include "web/html.h"
#include "web/web_int.h"
#include "web/webparse.h"

int
page_begin(struct web_req *r, struct evbuffer *b, const char *title)
{
    struct html_viewer v = {NULL, NULL, false};

    if (r->sess.on) {
        v.email = r->sess.email;
        v.csrf = r->sess.csrf;
        v.is_admin = r->sess.is_admin;
    }
    return html_begin(b, title, &v);
}

void
page_reply(struct web_req *r, int status, struct evbuffer *b)
{
    html_security_headers(evhttp_request_get_output_headers(r->req), true);
    if (b && html_end(b) != 0) {
        log_err("http: out of memory building a page");
        evbuffer_drain(b, evbuffer_get_length(b));
        evbuffer_add_printf(b, "out of memory\n");
        web_reply(r, 500, "text/plain; charset=utf-8", b);
        return;
    }
    web_reply(r, status, "text/html; charset=utf-8", b);
}

void
page_redirect(struct web_req *r, const char *path)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

    html_security_headers(h, true);
    evhttp_add_header(h, "Location", path);
    web_reply(r, 303, "text/html; charset=utf-8", NULL);
}

void
page_error(struct web_req *r, int status, const char *msg)
{
    struct evbuffer *b = evbuffer_new();
    const char *title = status == 404   ? "Not found"
                        : status == 403 ? "Forbidden"
                        : status == 405 ? "Method not allowed"
                        : status == 429 ? "Too many attempts"
                        : status < 500  ? "Request refused"
                                        : "Server error";

    if (!b) {
        web_reply(r, 500, NULL, NULL);
        return;
    }
    if (status == 405)
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow",
                          "GET, HEAD, POST");
    page_begin(r, b, title);
    html_notice(b, "error", msg);
    html_printf(b, "<p><a href=\"/\">Home</a></p>\n");
    page_reply(r, status, b);
    evbuffer_free(b);
}

int
page_user(struct web_req *r)
{
    int rc = session_load(r);

    if (rc < 0) {
        page_error(r, 500, "Database error; try again.");
        return -1;
    }
    if (rc == 0) {
        page_redirect(r, "/login");
        return -1;
    }
    return 0;
}

const char *
page_peer(struct web_req *r)
{
    struct evhttp_connection *c = evhttp_request_get_connection(r->req);
    char *addr = NULL;
    ev_uint16_t port;

    if (!c)
        return "";
    evhttp_connection_get_peer(c, &addr, &port);
    return addr ? addr : "";
}

/* An Origin header (browsers send it on every POST) must name this site:
   public_url's origin, or the Host the request came to. */
static bool
origin_ok(struct web_req *r)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    const char *o = evhttp_find_header(in, "Origin"), *host = evhttp_find_header(in, "Host");
    const char *pub = r->w->p.cfg->public_url, *slash;
    size_t n;

    if (!o)
        return true;
    slash = strstr(pub, "://");
    slash = slash ? strchr(slash + 3, '/') : NULL;
    n = slash ? (size_t)(slash - pub) : strlen(pub);
    if (strlen(o) == n && strncasecmp(o, pub, n) == 0)
        return true;
    if (host && *host) {
        const char *rest = strncmp(o, "http://", 7) == 0    ? o + 7
                           : strncmp(o, "https://", 8) == 0 ? o + 8
                                                            : NULL;
        if (rest && strcasecmp(rest, host) == 0)
            return true;
    }
    return false;
}

int
page_form(struct web_req *r, struct evkeyvalq *q)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(r->req),
                                        "Content-Type");
    size_t len = evbuffer_get_length(in);
    char *body;
    int rc;

    TAILQ_INIT(q);
    if (r->method != EVHTTP_REQ_POST) {
        page_error(r, 405, "This address takes a form (POST).");
        return -1;
    }
    if (len > PAGE_FORM_MAX) {
        page_error(r, 413, "The form is too large.");
        return -1;
    }
    /* An empty body is an empty form whatever its type, so a POST without
       fields meets the CSRF check (403) rather than a 400. */
    if (len > 0 && !webparse_form_type(ct)) {
        page_error(r, 400, "A form (application/x-www-form-urlencoded) is expected.");
        return -1;
    }
    if (!origin_ok(r)) {
        page_error(r, 403, "This form was sent from another site.");
        return -1;
    }
    body = malloc(len + 1);
    if (!body) {
        page_error(r, 500, "Out of memory.");
        return -1;
    }
    if (evbuffer_copyout(in, body, len) != (ev_ssize_t)len) {
        free(body);
        page_error(r, 500, "Cannot read the form.");
        return -1;
    }
    body[len] = '\0';
    rc = webparse_query(body, PAGE_FIELD_MAX, q);
    free(body);
    if (rc == -1) {
        page_error(r, 400, "The form is malformed.");
        return -1;
    }
    if (rc != 0) {
        page_error(r, 400, "A field of the form is too long or not valid text.");
        return -1;
    }
    if (r->sess.on && !session_csrf_ok(r, evhttp_find_header(q, HTML_CSRF_FIELD))) {
        evhttp_clear_headers(q);
        page_error(r, 403, "The form's security token is missing or stale: reload the "
                           "page and try again.");
        return -1;
    }
    return 0;
}

int
page_query(struct web_req *r, struct evkeyvalq *q)
{
    const char *why = web_query_parse(r, q);

    if (!why)
        return 0;
    page_error(r, 400, why);
    return -1;
}

/* ---- pages of this file ---------------------------------------------------------- */

static void
stylesheet(struct web_req *r)
{
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

    if (!b || evbuffer_add_reference(b, html_stylesheet, html_stylesheet_len, NULL,
                                     NULL) != 0) {
        if (b)
            evbuffer_free(b);
        web_reply(r, 500, NULL, NULL);
        return;
    }
    html_security_headers(h, false);
    evhttp_add_header(h, "Cache-Control", "public, max-age=3600");
    web_reply(r, 200, "text/css; charset=utf-8", b);
    evbuffer_free(b);
}

static void
landing(struct web_req *r)
{
    struct evbuffer *b;
    int rc = session_load(r);

    if (rc < 0) {
        page_error(r, 500, "Database error; try again.");
        return;
    }
    if (rc == 1) {
        page_redirect(r, "/time-sources");
        return;
    }
    if (!(b = evbuffer_new())) {
        web_reply(r, 500, NULL, NULL);
        return;
    }
    page_begin(r, b, "A pool of NTS time servers");
    html_printf(b,
                "<p>ntspool watches the time servers of a pool that speak Network Time "
                "Security (NTS, RFC 8915): it checks each one from several places every "
                "few minutes (the key exchange, its certificate, and authenticated time "
                "requests), scores the answers, and puts a server in the pool while its "
                "score is above 10.</p>\n"
                "<p>Run an NTS server? <a href=\"/register\">Register</a>, add it on the "
                "Time sources page, configure the token you get, and watch its score "
                "rise. When it does not, the page says why.</p>\n"
                "<p><a href=\"/login\">Log in</a> &middot; <a href=\"/register\">Register"
                "</a> &middot; <a href=\"/set-password\">Set the password of an account "
                "an operator created for you</a></p>\n");
    page_reply(r, 200, b);
    evbuffer_free(b);
}

bool
page_route(struct web_req *r, const char *path)
{
    if (strcmp(path, "/") == 0) {
        if (r->method != EVHTTP_REQ_GET)
            page_error(r, 405, "Use GET.");
        else
            landing(r);
    } else if (strcmp(path, HTML_STYLESHEET_PATH) == 0) {
        if (r->method != EVHTTP_REQ_GET)
            page_error(r, 405, "Use GET.");
        else
            stylesheet(r);
    } else if (strcmp(path, "/register") == 0) {
        account_register(r);
    } else if (strcmp(path, "/login") == 0) {
        account_login(r);
    } else if (strcmp(path, "/logout") == 0) {
        account_logout(r);
    } else if (strcmp(path, "/set-password") == 0) {
        account_set_password(r);
    } else if (strcmp(path, "/account") == 0 || strncmp(path, "/account/", 9) == 0) {
        account_page(r, path + 8);
    } else if (strcmp(path, "/time-sources") == 0 || strncmp(path, "/time-sources/", 14) == 0) {
        srcpage_page(r, path + 13);
    } else if (strcmp(path, "/admin") == 0 || strncmp(path, "/admin/", 7) == 0) {
        admin_page(r, path + 6);
    } else {
        return false;
    }
    return true;
}
