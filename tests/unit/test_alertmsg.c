/* test_alertmsg - alert destinations and messages (web/alertmsg.h): the
 * e-mail address and webhook URL rules of PUT /api/v1/account/alerts, the
 * webhook body, the e-mail's headers and text, and the retry schedule. */
#include "web/alertmsg.h"

#include <math.h>

#include "check.h"

static void
test_email(void)
{
    static const char *good[] = {"a@example.org", "first.last+tag@mail.example.co.uk",
                                 "x_y-z@a-b.example"};
    static const char *bad[] = {"", "a", "@example.org", "a@", "a@example", "a@@example.org",
                                "a b@example.org", "a@exa mple.org", "a\r\n@example.org",
                                "a@example.org\r\nBcc: x@example.org", ".a@example.org",
                                "a.@example.org", "a..b@example.org", "<a@example.org>",
                                "a@example.org.", "a@-x.example.org", "a@192.168.1.1",
                                "\"q\"@example.org", "a,b@example.org", "mailto:a@example.org",
                                "\xc3\xa9@example.org"};
    char long_local[80], long_addr[300];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CHECK(alertmsg_email_ok(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (alertmsg_email_ok(bad[i]))
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(!alertmsg_email_ok(bad[i]));
    }
    CHECK(!alertmsg_email_ok(NULL));
    memset(long_local, 'a', 65);
    snprintf(long_local + 65, sizeof(long_local) - 65, "@example.org");
    CHECK(!alertmsg_email_ok(long_local));
    /* a@ then five labels of 49 letters and "example": 260 bytes */
    snprintf(long_addr, sizeof(long_addr), "a@");
    for (int i = 0; i < 5; i++)
        snprintf(long_addr + strlen(long_addr), sizeof(long_addr) - strlen(long_addr),
                 "%.49s.", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    snprintf(long_addr + strlen(long_addr), sizeof(long_addr) - strlen(long_addr), "example");
    CHECK(!alertmsg_email_ok(long_addr)); /* over 254 bytes */
}

static void
test_webhook(void)
{
    struct alertmsg_url u;
    char why[256];

    CHECK_INT(alertmsg_webhook_check("https://hooks.example.org/x?k=secret", false, &u, why,
                                     sizeof(why)),
              0);
    CHECK(u.https);
    CHECK(!u.literal);
    CHECK_STR(u.host, "hooks.example.org");
    CHECK_INT(u.port, 443);
    CHECK_INT(alertmsg_webhook_check("HTTPS://Hooks.Example.ORG:8443/", false, &u, why,
                                     sizeof(why)),
              0);
    CHECK_STR(u.host, "hooks.example.org");
    CHECK_INT(u.port, 8443);
    CHECK_INT(alertmsg_webhook_check("https://192.168.5.5/h", false, &u, why, sizeof(why)), -1);
    CHECK_INT(alertmsg_webhook_check("https://8.8.8.8/h", false, &u, why, sizeof(why)), 0);
    CHECK(u.literal);
    /* Plain http: only to loopback, only with allow_private. */
    CHECK_INT(alertmsg_webhook_check("http://hooks.example.org/", false, &u, why, sizeof(why)),
              -1);
    CHECK_INT(alertmsg_webhook_check("http://hooks.example.org/", true, &u, why, sizeof(why)),
              -1);
    CHECK_INT(alertmsg_webhook_check("http://127.0.0.1:4000/h", false, &u, why, sizeof(why)),
              -1);
    CHECK_INT(alertmsg_webhook_check("http://127.0.0.1:4000/h", true, &u, why, sizeof(why)),
              0);
    CHECK_INT(u.port, 4000);
    CHECK_INT(alertmsg_webhook_check("http://[::1]:4000/h", true, &u, why, sizeof(why)), 0);
    CHECK_STR(u.host, "::1");
    CHECK_INT(alertmsg_webhook_check("http://localhost/h", true, &u, why, sizeof(why)), 0);
    CHECK_INT(u.port, 80);
    /* Private destinations without allow_private. */
    CHECK_INT(alertmsg_webhook_check("https://127.0.0.1/h", false, &u, why, sizeof(why)), -1);
    CHECK(strstr(why, "private") != NULL);
    CHECK_INT(alertmsg_webhook_check("https://[::1]/h", false, &u, why, sizeof(why)), -1);
    CHECK_INT(alertmsg_webhook_check("https://10.1.2.3/h", false, &u, why, sizeof(why)), -1);
    CHECK_INT(alertmsg_webhook_check("https://[::ffff:192.168.0.1]/", false, &u, why,
                                     sizeof(why)),
              -1);
    CHECK_INT(alertmsg_webhook_check("https://localhost/h", false, &u, why, sizeof(why)), -1);
    CHECK_INT(alertmsg_webhook_check("https://127.0.0.1/h", true, &u, why, sizeof(why)), 0);
    /* Not URLs we send to. */
    CHECK_INT(alertmsg_webhook_check("mailto:a@example.org", true, &u, why, sizeof(why)), -1);
    CHECK_INT(alertmsg_webhook_check("ftp://example.org/", true, &u, why, sizeof(why)), -1);
    CHECK_INT(alertmsg_webhook_check("", true, &u, why, sizeof(why)), -1);
    CHECK_INT(alertmsg_webhook_check(NULL, true, &u, why, sizeof(why)), -1);
    CHECK_INT(alertmsg_webhook_check("https://a.example/ x", true, &u, why, sizeof(why)), -1);
    CHECK_INT(alertmsg_webhook_check("https://a.example/\r\nx", true, &u, why, sizeof(why)),
              -1);
    CHECK_INT(alertmsg_webhook_check("https://a.example/\xc3\xa9", true, &u, why, sizeof(why)),
              -1);
    CHECK_INT(alertmsg_webhook_check("https://a.example:0/", true, &u, why, sizeof(why)), -1);
    {
        char big[DB_URL_MAX + 10];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        memcpy(big, "https://a.example/", 18);
        CHECK_INT(alertmsg_webhook_check(big, true, &u, why, sizeof(why)), -1);
    }
}

static void
test_body_and_mail(void)
{
    struct alertmsg_event ev = {.time = 1796000000,
                                .source = 7,
                                .uuid = "11111111-2222-4333-8444-555555555555",
                                .host = "time.example.org",
                                .port = 4460,
                                .cause = DB_ALERT_LEFT_POOL,
                                .reason = "pool-v4 score 3.2 is below 10",
                                .score = {15.25, 12.0, 3.2, NAN}};
    char *body = alertmsg_body(&ev), *mail = NULL;
    json_t *j;
    size_t len = 0;

    CHECK(body != NULL);
    if (!body)
        return;
    CHECK_STR(body, "{\"time\":1796000000,\"source\":7,\"uuid\":\"11111111-2222-4333-8444-"
                    "555555555555\",\"host\":\"time.example.org\",\"port\":4460,\"cause\":"
                    "\"left_pool\",\"reason\":\"pool-v4 score 3.2 is below 10\",\"scores\":{"
                    "\"nts-v4\":15.25,\"nts-v6\":12.0,\"pool-v4\":3.2000000000000002,"
                    "\"pool-v6\":null}}");
    j = json_loads(body, 0, NULL);
    CHECK(j != NULL);
    CHECK_INT(alertmsg_mail(j, "pool@example.org", "op@example.net", 1796000100, "abc123",
                            &mail, &len),
              0);
    if (mail) {
        CHECK_INT(len, strlen(mail));
        CHECK(strncmp(mail, "From: ntspool <pool@example.org>\r\nTo: <op@example.net>\r\n"
                            "Subject: [ntspool] time.example.org port 4460 left the pool\r\n"
                            "Date: Mon, 30 Nov 2026 00:55:00 +0000\r\n"
                            "Message-ID: <abc123.1796000100@example.org>\r\n",
                      strlen("From: ntspool <pool@example.org>\r\nTo: <op@example.net>\r\n"
                             "Subject: [ntspool] time.example.org port 4460 left the pool\r\n"
                             "Date: Mon, 30 Nov 2026 00:55:00 +0000\r\n"
                             "Message-ID: <abc123.1796000100@example.org>\r\n")) == 0);
        CHECK(strstr(mail, "\r\n\r\nThe time source time.example.org port 4460 left the "
                           "pool (2026-11-30 00:53:20 UTC).\r\n") != NULL);
        CHECK(strstr(mail, "Reason: pool-v4 score 3.2 is below 10\r\n") != NULL);
        CHECK(strstr(mail, "  pool-v6  none\r\n") != NULL);
        CHECK(strstr(mail, "  nts-v4   15.2\r\n") != NULL || strstr(mail, "  nts-v4   15.3\r\n"));
        /* Every LF is part of a CR LF; the text ends with one. */
        for (size_t i = 0; i < len; i++)
            if (mail[i] == '\n')
                CHECK(i > 0 && mail[i - 1] == '\r');
        CHECK(len >= 2 && mail[len - 2] == '\r' && mail[len - 1] == '\n');
    }
    free(mail);
    mail = NULL;
    /* A bad recipient or token never makes a message (header injection). */
    CHECK_INT(alertmsg_mail(j, "pool@example.org", "x@example.net\r\nBcc: y@example.net",
                            1796000100, "abc", &mail, &len),
              -1);
    CHECK_INT(alertmsg_mail(j, "pool@example.org", "x@example.net", 1796000100, "a\r\nb",
                            &mail, &len),
              -1);
    CHECK(mail == NULL);
    json_decref(j);
    free(body);
    /* Malformed payloads. */
    j = json_loads("{\"time\":1}", 0, NULL);
    CHECK_INT(alertmsg_mail(j, "pool@example.org", "x@example.net", 1, "t", &mail, &len), -1);
    json_decref(j);
    ev.cause = DB_ALERT_CERT_EXPIRING;
    ev.reason = NULL;
    body = alertmsg_body(&ev);
    CHECK(body && strstr(body, "\"cause\":\"cert_expiring\",\"reason\":null") != NULL);
    j = body ? json_loads(body, 0, NULL) : NULL;
    CHECK_INT(alertmsg_mail(j, "pool@example.org", "x@example.net", 1, "t", &mail, &len), 0);
    CHECK(mail && strstr(mail, "certificate that expires soon") && !strstr(mail, "Reason:"));
    free(mail);
    json_decref(j);
    free(body);
}

static void
test_backoff(void)
{
    CHECK_INT(alertmsg_backoff(0), -1);
    CHECK_INT(alertmsg_backoff(1), 60);
    CHECK_INT(alertmsg_backoff(2), 300);
    CHECK_INT(alertmsg_backoff(3), 1800);
    CHECK_INT(alertmsg_backoff(4), 7200);
    CHECK_INT(alertmsg_backoff(5), -1);
}

int
main(void)
{
    test_email();
    test_webhook();
    test_body_and_mail();
    test_backoff();
    return check_finish("test_alertmsg");
}
