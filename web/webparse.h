/* webparse.h - the pure parsers of what a browser or an API client sends in
 * a request's headers and bodies: the Cookie header, the Authorization
 * header, a query string or form body.  No request, no reply, no database:
 * web.c, session.c and page.c call these and answer; the unit tests and the
 * fuzz targets (fuzz/fuzz_http.c, fuzz/fuzz_query.c) call them directly. */
#ifndef NTSPOOL_WEB_WEBPARSE_H
#define NTSPOOL_WEB_WEBPARSE_H

#include <stdbool.h>
#include <stddef.h>

struct evkeyvalq;

/* The value of cookie `name` in the Cookie header h (NULL: no header),
   copied into out (at most outlen - 1 bytes; a longer value is not ours,
   trailing blanks dropped): 0, or -1 absent or too long. */
int webparse_cookie(const char *h, const char *name, char *out, size_t outlen);

/* True when s is exactly n lowercase hex digits (and ends there). */
bool webparse_hex(const char *s, size_t n);

/* The credential of an Authorization header h (NULL: no header): 0 with
   *tok pointing into h (blanks after "Bearer " skipped); -1 when h is not
   "Bearer ..." at all (the client sent no token); -2 when the credential is
   empty, longer than max bytes or not valid UTF-8 text (an unknown token). */
int webparse_bearer(const char *h, size_t max, const char **tok);

/* Content-Type ct names a form (application/x-www-form-urlencoded, maybe
   with parameters after ';'). */
bool webparse_form_type(const char *ct);
/* How deep arrays and objects nest in the JSON text p (len bytes), counted
   outside strings without parsing; stops counting past max (returns max + 1).
   The bodies we take nest 4 deep at most: jansson's own limit (2048) is far
   above what any caller needs. */
int webparse_json_depth(const char *p, size_t len, int max);
#define WEBPARSE_JSON_DEPTH 16

/* Parse a query string or form body s into q (decoded, '+' as blank) and
   check every key and value: valid UTF-8 without controls, values at most
   value_max bytes.  0; -1 malformed; -2 a field too long or not text.  On
   error q is left empty; on success the caller clears it
   (evhttp_clear_headers). */
int webparse_query(const char *s, size_t value_max, struct evkeyvalq *q);

#endif
