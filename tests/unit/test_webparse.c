/* test_webparse.c - the request field parsers taken out of the handlers
 * (web/webparse.h): the session cookie, the bearer credential, the form
 * Content-Type, query strings and form bodies with their limits. */
#include <stdbool.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "tests/unit/check.h"
#include "web/webparse.h"

static void
test_cookie(void)
{
    char v[8];

    CHECK(webparse_cookie(NULL, "s", v, sizeof(v)) == -1);
    CHECK(webparse_cookie("a=1; s=abc ; b=2", "s", v, sizeof(v)) == 0);
    CHECK_STR(v, "abc");
    CHECK(webparse_cookie(";;s=", "s", v, sizeof(v)) == 0);
    CHECK_STR(v, "");
    CHECK(webparse_cookie("xs=1; as=2", "s", v, sizeof(v)) == -1);
    CHECK(webparse_cookie("s=12345678", "s", v, sizeof(v)) == -1); /* too long */
    CHECK(webparse_cookie("a=s=1", "s", v, sizeof(v)) == -1);
    CHECK(webparse_hex("00ff", 4));
    CHECK(!webparse_hex("00FF", 4));
    CHECK(!webparse_hex("00ff0", 4));
}

static void
test_bearer(void)
{
    const char *tok = NULL;

    CHECK(webparse_bearer(NULL, 8, &tok) == -1);
    CHECK(webparse_bearer("Basic abc", 8, &tok) == -1);
    CHECK(webparse_bearer("Bearer", 8, &tok) == -1);
    CHECK(webparse_bearer("bearer   abc", 8, &tok) == 0 && strcmp(tok, "abc") == 0);
    CHECK(webparse_bearer("Bearer ", 8, &tok) == -2);
    CHECK(webparse_bearer("Bearer 123456789", 8, &tok) == -2);
    CHECK(webparse_bearer("Bearer a\tb", 8, &tok) == -2);
    CHECK(webparse_bearer("Bearer \xff", 8, &tok) == -2);
    CHECK(webparse_form_type("application/x-www-form-urlencoded"));
    CHECK(webparse_form_type("Application/X-WWW-Form-Urlencoded; charset=utf-8"));
    CHECK(!webparse_form_type("application/x-www-form-urlencodedx"));
    CHECK(!webparse_form_type(NULL));
}

static void
test_query(void)
{
    struct evkeyvalq q;

    CHECK(webparse_query("a=1&b=x+y%21", 8, &q) == 0);
    CHECK_STR(evhttp_find_header(&q, "b"), "x y!");
    evhttp_clear_headers(&q);
    CHECK(webparse_query("a=123456789", 8, &q) == -2 && TAILQ_EMPTY(&q));
    CHECK(webparse_query("a=%ff", 8, &q) == -2 && TAILQ_EMPTY(&q));
    CHECK(webparse_query("a\x01=1", 8, &q) == -2 && TAILQ_EMPTY(&q)); /* keys stay raw */
    CHECK(webparse_query("", 8, &q) == 0 && TAILQ_EMPTY(&q));
    /* A decoded NUL would cut the value short ("a%00b" read as "a"). */
    CHECK(webparse_query("host=a%00b", 8, &q) == -2 && TAILQ_EMPTY(&q));
    CHECK(webparse_query("%00=1", 8, &q) == -2 && TAILQ_EMPTY(&q));
    CHECK(webparse_query("a=%2500", 8, &q) == 0); /* "%00" as text is fine */
    CHECK_STR(evhttp_find_header(&q, "a"), "%00");
    evhttp_clear_headers(&q);
}

static int
depth(const char *s)
{
    return webparse_json_depth(s, strlen(s), 16);
}

static void
test_json_depth(void)
{
    static const char deep[] = "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]"; /* 20 */

    CHECK(webparse_json_depth("1", 1, 16) == 0);
    CHECK(depth("{\"a\":[1,{\"b\":2}]}") == 3);
    /* Brackets in strings, escaped quotes included, do not count. */
    CHECK(depth("[\"[[[\\\"[[\"]") == 1);
    CHECK(webparse_json_depth(deep, sizeof(deep) - 1, 16) == 17); /* max + 1: stopped */
    CHECK(webparse_json_depth(deep, sizeof(deep) - 1, 32) == 20);
    /* Unbalanced closers never go below zero. */
    CHECK(depth("]]]][") == 1);
}

int
main(void)
{
    test_cookie();
    test_bearer();
    test_query();
    test_json_depth();
    return check_finish("test_webparse");
}
