/* alertmsg.c - checking alert destinations and writing alert messages
 * (alertmsg.h).  Everything here is a function of its arguments, so the unit
 * test can pin the exact bytes.  The mail is written by hand rather than
 * with a MIME library: one text/plain part, ASCII headers (the host and the
 * addresses are checked to be ASCII; the subject is ours), and lines short
 * enough for RFC 5322's 998-byte limit (the reason is bounded by
 * SCORE_REASON_MAX).  libcurl escapes lines that begin with a dot and ends
 * the DATA itself. */
#include "web/alertmsg.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "monitor/dns.h"
#include "web/web.h"

#define MAIL_MAX 8192 /* bytes of a message: headers, a few lines of text */

const char *
alertmsg_cause_text(enum db_alert_cause c)
{
    switch (c) {
    case DB_ALERT_LEFT_POOL: return "left the pool";
    case DB_ALERT_BACK_IN_POOL: return "is back in the pool";
    case DB_ALERT_CERT_EXPIRING: return "has a certificate that expires soon";
    }
    return "changed";
}

/* ---- checks ------------------------------------------------------------------- */

static bool
atext(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

bool
alertmsg_email_ok(const char *addr)
{
    const char *at;
    char domain[DB_HOST_MAX];
    size_t len, local;

    if (!addr)
        return false;
    len = strnlen(addr, ALERTMSG_EMAIL_MAX + 1);
    if (len == 0 || len > ALERTMSG_EMAIL_MAX)
        return false;
    at = strchr(addr, '@');
    if (!at || strchr(at + 1, '@'))
        return false;
    local = (size_t)(at - addr);
    if (local == 0 || local > 64 || addr[0] == '.' || addr[local - 1] == '.')
        return false;
    for (size_t i = 0; i < local; i++) {
        if (addr[i] == '.') {
            if (addr[i + 1] == '.')
                return false;
        } else if (!atext(addr[i])) {
            return false;
        }
    }
    /* The domain: a DNS name of two labels or more, no trailing dot. */
    if (!strchr(at + 1, '.') || at[strlen(at) - 1] == '.')
        return false;
    return web_host_normalize(at + 1, domain, sizeof(domain)) == 0;
}

static bool
printable_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

static bool
is_loopback_host(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* True when host is an IP literal; *private set then. */
static bool
literal(const char *host, int port, bool *private)
{
    struct sockaddr_in s4;
    struct sockaddr_in6 s6;

    memset(&s4, 0, sizeof(s4));
    memset(&s6, 0, sizeof(s6));
    if (inet_pton(AF_INET, host, &s4.sin_addr) == 1) {
        s4.sin_family = AF_INET;
        s4.sin_port = htons((uint16_t)port);
        *private = dns_addr_is_private((const struct sockaddr *)&s4);
        return true;
    }
    if (inet_pton(AF_INET6, host, &s6.sin6_addr) == 1) {
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons((uint16_t)port);
        *private = dns_addr_is_private((const struct sockaddr *)&s6);
        return true;
    }
    return false;
}

int
alertmsg_webhook_check(const char *url, bool allow_private, struct alertmsg_url *out,
                       char *why, size_t why_len)
{
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL, *port = NULL;
    size_t len, hl;
    bool private = false;
    long p;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    len = url ? strnlen(url, DB_URL_MAX) : 0;
    if (len == 0 || len >= DB_URL_MAX || !printable_ascii(url, len)) {
        snprintf(why, why_len, "a URL of printable ASCII up to %d bytes is expected",
                 DB_URL_MAX - 1);
        return -1;
    }
    if (!(u = curl_url()) || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(why, why_len, "not a valid http(s) URL");
        goto out;
    }
    if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
        snprintf(why, why_len, "the webhook must be an https:// URL");
        goto out;
    }
    out->https = scheme[4] == 's';
    hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        memmove(host, host + 1, hl - 1);
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(out->host)) {
        snprintf(why, why_len, "bad host in the URL");
        goto out;
    }
    for (size_t i = 0; i < hl; i++)
        out->host[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] - 'A' + 'a'
                                                                : host[i]);
    p = strtol(port, NULL, 10);
    if (p < 1 || p > 65535) {
        snprintf(why, why_len, "bad port in the URL");
        goto out;
    }
    out->port = (int)p;
    out->literal = literal(out->host, out->port, &private);
    if (!out->https && !(allow_private && is_loopback_host(out->host))) {
        snprintf(why, why_len, "the webhook must be an https:// URL%s",
                 allow_private ? " (or http:// to a loopback address)" : "");
        goto out;
    }
    if (!allow_private && (private || strcmp(out->host, "localhost") == 0)) {
        snprintf(why, why_len, "the webhook's host is a loopback, private or link-local "
                               "address");
        goto out;
    }
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

int
alertmsg_backoff(int failed)
{
    static const int wait[] = {60, 300, 1800, 7200};

    if (failed < 1 || failed > (int)(sizeof(wait) / sizeof(wait[0])))
        return -1;
    return wait[failed - 1];
}

/* ---- messages ----------------------------------------------------------------- */

char *
alertmsg_body(const struct alertmsg_event *ev)
{
    json_t *o = json_object(), *sc = json_object();
    char *text = NULL;

    if (!o || !sc) {
        json_decref(o);
        json_decref(sc);
        return NULL;
    }
    for (int k = 0; k < SCORE_KINDS; k++)
        json_object_set_new(sc, score_kind_str((enum score_kind)k),
                            isfinite(ev->score[k])
                                ? json_real(round(ev->score[k] * 1000) / 1000)
                                : json_null());
    json_object_set_new(o, "time", json_integer(ev->time));
    json_object_set_new(o, "source", json_integer(ev->source));
    json_object_set_new(o, "uuid", json_string(ev->uuid));
    json_object_set_new(o, "host", json_string(ev->host));
    json_object_set_new(o, "port", json_integer(ev->port));
    json_object_set_new(o, "cause", json_string(db_alert_cause_str(ev->cause)));
    json_object_set_new(o, "reason",
                        ev->reason && *ev->reason ? json_string(ev->reason) : json_null());
    if (json_object_set_new(o, "scores", sc) == 0 && json_object_size(o) == 8)
        text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    return text;
}

/* RFC 5322 date of t in UTC, whatever the locale. */
static void
mail_date(int64_t t, char *buf, size_t len)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
}

/* "YYYY-MM-DD HH:MM:SS UTC" */
static void
iso_date(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Append to buf (cap MAIL_MAX); false when it does not fit. */
static bool __attribute__((format(printf, 3, 4)))
add(char *buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf + *len, MAIL_MAX - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= MAIL_MAX - *len)
        return false;
    *len += (size_t)n;
    return true;
}

/* True for text that may go in a mail line: no control characters. */
static bool
line_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

int
alertmsg_mail(const json_t *payload, const char *from, const char *to, int64_t now,
              const char *token, char **out, size_t *len)
{
    json_int_t t = 0, source = 0, port = 0;
    const char *uuid = NULL, *host = NULL, *cause = NULL, *reason = NULL, *key;
    json_t *scores = NULL, *jr = NULL, *v;
    enum db_alert_cause c;
    char date[64], when[64], *buf;
    size_t n = 0;
    bool ok;

    *out = NULL;
    *len = 0;
    if (json_unpack((json_t *)(uintptr_t)payload, "{s:I,s:I,s:s,s:s,s:I,s:s,s?o,s:o}",
                    "time", &t, "source", &source, "uuid", &uuid, "host", &host, "port",
                    &port, "cause", &cause, "reason", &jr, "scores", &scores) != 0 ||
        (jr && !json_is_null(jr) && !(reason = json_string_value(jr))) ||
        !json_is_object(scores) || !alertmsg_email_ok(from) || !alertmsg_email_ok(to) ||
        !line_ok(host) || !line_ok(uuid) || (reason && !line_ok(reason)) ||
        strlen(token) > ALERTMSG_TOKEN_MAX || !line_ok(token))
        return -1;
    if (strcmp(cause, "left_pool") == 0)
        c = DB_ALERT_LEFT_POOL;
    else if (strcmp(cause, "back_in_pool") == 0)
        c = DB_ALERT_BACK_IN_POOL;
    else if (strcmp(cause, "cert_expiring") == 0)
        c = DB_ALERT_CERT_EXPIRING;
    else
        return -1;
    if (!(buf = malloc(MAIL_MAX)))
        return -1;
    mail_date(now, date, sizeof(date));
    iso_date(t, when, sizeof(when));
    ok = add(buf, &n, "From: ntspool <%s>\r\nTo: <%s>\r\n", from, to) &&
         add(buf, &n, "Subject: [ntspool] %s port %d %s\r\n", host, (int)port,
             alertmsg_cause_text(c)) &&
         add(buf, &n, "Date: %s\r\nMessage-ID: <%s.%lld@%s>\r\n", date, token,
             (long long)now, strchr(from, '@') + 1) &&
         add(buf, &n, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n"
                      "\r\n") &&
         add(buf, &n, "The time source %s port %d %s (%s).\r\n\r\n", host, (int)port,
             alertmsg_cause_text(c), when) &&
         (!reason || add(buf, &n, "Reason: %s\r\n\r\n", reason)) &&
         add(buf, &n, "Scores:\r\n");
    json_object_foreach(scores, key, v) {
        if (!ok || !line_ok(key) || strlen(key) > 32) {
            ok = false;
            break;
        }
        ok = json_is_number(v) ? add(buf, &n, "  %-8s %.1f\r\n", key, json_number_value(v))
                               : add(buf, &n, "  %-8s none\r\n", key);
    }
    ok = ok && add(buf, &n, "\r\nSource %lld, uuid %s.\r\n", (long long)source, uuid) &&
         add(buf, &n, "At most one message per source and cause is sent a day; "
                      "change where they go on your account page.\r\n");
    if (!ok) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}
