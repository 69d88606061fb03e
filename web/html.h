/* html.h - building the server-rendered pages (PRODUCT.md "Web UI") into
 * an evbuffer: escaping per context, a printf whose %s escapes, the page
 * layout (header with navigation, main, footer), form pieces, the one
 * stylesheet (/static/style.css) and the security headers of every page.
 *
 * Pure: nothing here reads the request, the session or the database; the
 * caller passes what the page shows (web/page.c ties it to a request).
 * Pages never carry inline script or style: the Content-Security-Policy
 * forbids both, so markup takes classes from the stylesheet only.
 *
 * Escaping rules, one per context:
 * - text and quoted attribute values: html_text (& < > " ' as entities), so
 *   the same call is right between tags and inside value="..."; attribute
 *   values are always double-quoted by this module;
 * - a URL component (a path segment or a query value): html_url percent-
 *   encodes every byte but RFC 3986's unreserved ones; the URL so built is
 *   then an attribute value (html_printf's %u does both);
 * - nothing else: never put data in a tag name, an attribute name, an
 *   unquoted attribute, a URL scheme, or script/style (there is none).
 *
 * Every function returns 0, or -1 when the buffer could not grow (out of
 * memory) or, for html_printf, the format is wrong. */
#ifndef NTSPOOL_WEB_HTML_H
#define NTSPOOL_WEB_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct evkeyvalq;

/* The stylesheet served at HTML_STYLESHEET_PATH, and its length. */
#define HTML_STYLESHEET_PATH "/static/style.css"
extern const char html_stylesheet[];
extern const size_t html_stylesheet_len;

/* The CSP of every page: nothing inline, nothing from elsewhere. */
#define HTML_CSP                                                                         \
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "         \
    "frame-ancestors 'none'; base-uri 'none'"

/* Append s (NUL-terminated; n bytes for the _n form) escaped for HTML text
   and double-quoted attribute values: & < > " ' become entities; other
   bytes are copied (callers pass checked UTF-8).  NULL appends nothing. */
int html_text(struct evbuffer *b, const char *s);
int html_text_n(struct evbuffer *b, const char *s, size_t n);

/* Append s percent-encoded as one URL component: every byte but A-Z a-z 0-9
   - . _ ~ becomes %XX (so '/', '?', '&', '#', ':' are encoded too). */
int html_url(struct evbuffer *b, const char *s);

/* Escape s for text into out (outlen bytes, NUL-terminated, truncated at a
   whole entity).  Returns the length the full escape needs (like snprintf);
   for tests and for callers that build strings. */
size_t html_escape(char *out, size_t outlen, const char *s);

/* A printf for markup whose conversions escape by default:
     %s  const char *: text/attribute escaped (NULL: nothing)
     %u  const char *: URL component (percent-encoded, then safe in "...")
     %r  const char *: raw, trusted markup (literals of our own only)
     %d  int          %j  int64_t (as long long)      %%  a '%'
   Anything else in fmt after a '%' is a bug: the function returns -1 and
   appends nothing more.  No width or precision: format numbers with
   snprintf first and pass them as %s. */
int html_printf(struct evbuffer *b, const char *fmt, ...);

/* Who is looking at a page: what the header's navigation shows. */
struct html_viewer {
    const char *email; /* NULL: logged out (links to log in and register) */
    const char *csrf;  /* the session's CSRF token, for the log-out form */
    bool is_admin;     /* show the Admin link */
};

/* The start of a page, up to and including <main>: doctype, head (title
   "TITLE - ntspool", the stylesheet, viewport), the header with the site
   name and navigation (Time sources, Account, Admin, Log out as a POST
   form; or Log in / Register), then <main> and an <h1> with the title. */
int html_begin(struct evbuffer *b, const char *title, const struct html_viewer *v);
/* Close <main>, the footer, the document.  0, or -1 when the append failed
   (out of memory; an earlier failed append leaves a page cut short, which
   only memory exhaustion causes). */
int html_end(struct evbuffer *b);

/* <form method="post" action="ACTION" class="CLS"> and, when csrf is not
   NULL, the hidden field HTML_CSRF_FIELD carrying it.  Close with
   html_form_end, which adds a submit button labelled `submit`. */
#define HTML_CSRF_FIELD "csrf"
int html_form_begin(struct evbuffer *b, const char *action, const char *cls,
                    const char *csrf);
int html_form_end(struct evbuffer *b, const char *submit);
/* One labelled input: <p><label for=NAME>LABEL</label><input id=NAME
   name=NAME type=TYPE value=VALUE autocomplete=AC required></p>.  value
   and ac may be NULL (left out); maxlen > 0 adds maxlength. */
int html_field(struct evbuffer *b, const char *type, const char *name, const char *label,
               const char *value, const char *ac, int maxlen);
/* A message box: kind "error", "ok" or "info" (a CSS class). */
int html_notice(struct evbuffer *b, const char *kind, const char *text);

/* Add the security headers every page carries (HTML_CSP, X-Frame-Options
   DENY, Referrer-Policy same-origin, X-Content-Type-Options nosniff) and,
   with personal, Cache-Control no-store (else the caller picks one). */
void html_security_headers(struct evkeyvalq *h, bool personal);

/* t (Unix s) as "YYYY-MM-DD HH:MM UTC" into out; "never" when t <= 0.
   Returns out. */
#define HTML_TIME_LEN 32
const char *html_time(char out[HTML_TIME_LEN], int64_t t);

/* The CSS class of a score for tables: "score-na" when not applicable or
   unscored, "score-good" above SCORE_IN_POOL (10), "score-rising" from 0 to
   10, "score-bad" below 0. */
const char *html_score_class(bool applicable, bool scored, double score);

#endif
