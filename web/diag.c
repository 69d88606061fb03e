/* diag.c - plain-words diagnosis of one probe (diag.h).
 *
 * The headline names the failed step in the operator's terms; the detail
 * carries the numbers the monitor saw (ports, addresses, the certificate's
 * subject and expiry, offsets, stratum, cookie counts, Error codes) and the
 * configuration to check.  The probe's own detail text is quoted last, as the
 * monitor wrote it.  Wording follows the server configurations of NTS.md
 * section 2; the codes are PRODUCT.md's vocabulary. */
#include "web/diag.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *
diag_ke_text(enum ke_status s)
{
    switch (s) {
    case KE_OK: return "the key exchange works";
    case KE_DNS_FAILED: return "the host name does not resolve";
    case KE_CONNECT_REFUSED: return "nothing listens on the key exchange port";
    case KE_CONNECT_TIMEOUT: return "the key exchange port does not answer";
    case KE_TLS_FAILED: return "the TLS handshake failed";
    case KE_TLS_VERSION: return "the server does not offer TLS 1.3";
    case KE_CERT_UNTRUSTED: return "the certificate is not trusted";
    case KE_CERT_NAME_MISMATCH: return "the certificate is not valid for the host name";
    case KE_CERT_EXPIRED: return "the certificate has expired";
    case KE_ALPN_MISMATCH: return "the server does not select the NTS-KE protocol (ALPN)";
    case KE_ERROR: return "the server answered with an NTS-KE Error record";
    case KE_WARNING: return "the server answered with an NTS-KE Warning record";
    case KE_MALFORMED: return "the key exchange response is malformed";
    case KE_AEAD_UNEXPECTED: return "the server chose an AEAD algorithm it was not offered";
    case KE_AEAD_NONE: return "the server supports none of the AEAD algorithms offered";
    case KE_NO_COOKIES: return "the key exchange returned no cookies";
    case KE_TOKEN_REJECTED: return "the server does not accept the pool's token";
    case KE_POOL_UNSUPPORTED:
        return "the server does not implement the pool's NTS key exchange extension";
    case KE_NO_SUCH_SERVER: return "the pool's key exchange does not know this source";
    case KE_RESPONSE_TOO_LARGE: return "the key exchange response is too large";
    case KE_TIMEOUT: return "the key exchange did not finish in time";
    case KE_LOCAL_ERROR: return "the monitor could not run the key exchange";
    case KE_NOT_ATTEMPTED: return "the key exchange was not attempted";
    }
    return "the key exchange failed";
}

const char *
diag_ntp_text(enum ntp_status s)
{
    switch (s) {
    case NTP_OK: return "the NTP exchange works";
    case NTP_DNS_FAILED: return "the NTP server name from the key exchange does not resolve";
    case NTP_SEND_FAILED: return "the NTP request could not be sent";
    case NTP_TIMEOUT: return "the NTP port does not answer";
    case NTP_NTS_NAK: return "the NTP server rejects the cookies of its key exchange (NTS NAK)";
    case NTP_KOD_DENY: return "the NTP server denies the monitor access (kiss code DENY)";
    case NTP_KOD_RSTR: return "the NTP server restricts the monitor (kiss code RSTR)";
    case NTP_KOD_RATE: return "the NTP server rate-limits the monitor (kiss code RATE)";
    case NTP_NOT_ATTEMPTED: return "the NTP exchange was not attempted";
    case NTP_LOCAL_ERROR: return "the monitor could not run the NTP exchange";
    }
    return "the NTP exchange failed";
}

const char *
diag_reason_text(enum probe_reason r)
{
    switch (r) {
    case PROBE_OK: return "all good";
    case PROBE_MONITOR_FAULT: return "the monitor had a problem of its own";
    case PROBE_KOD_DENY: return "the server refuses the monitor";
    case PROBE_KOD_RATE: return "the server rate-limits the monitor";
    case PROBE_KE_FAILED: return "the key exchange failed";
    case PROBE_NTP_TIMEOUT: return "the key exchange works but NTP does not answer";
    case PROBE_NTP_FAILED: return "the NTP exchange failed";
    case PROBE_UNSYNCHRONIZED: return "the server is not synchronised";
    case PROBE_OFFSET_OVER_3S: return "the server's time is off by more than 3 s";
    case PROBE_STRATUM_TOO_HIGH: return "the server's stratum is too high";
    case PROBE_OFFSET: return "the server's time is off";
    case PROBE_COOKIES_SHORT: return "the server returned fewer cookies than asked for";
    }
    return "unknown outcome";
}

/* ---- building the text ---------------------------------------------------------- */

static void headline(struct diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
headline(struct diag *d, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(d->headline, sizeof(d->headline), fmt, ap);
    va_end(ap);
    if (d->headline[0] >= 'a' && d->headline[0] <= 'z')
        d->headline[0] = (char)(d->headline[0] - 'a' + 'A');
}

/* Append to the detail, a space between sentences; a full detail stays full. */
static void
add(struct diag *d, const char *fmt, ...)
{
    size_t used = strlen(d->detail);
    va_list ap;

    if (used && used + 1 < sizeof(d->detail))
        d->detail[used++] = ' ', d->detail[used] = '\0';
    if (used + 1 >= sizeof(d->detail))
        return;
    va_start(ap, fmt);
    vsnprintf(d->detail + used, sizeof(d->detail) - used, fmt, ap);
    va_end(ap);
}

static void
date_of(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t <= 0 || !gmtime_r(&tt, &tm))
        snprintf(buf, len, "an unknown date");
    else
        snprintf(buf, len, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min);
}

/* The first exchange that failed, else the first attempted, else NULL. */
static const struct ntp_result *
ntp_of(const struct probe_result *r)
{
    int n = r->n_ntp < 0 ? 0 : r->n_ntp > RESULT_NTP_EXCHANGES ? RESULT_NTP_EXCHANGES
                                                                : r->n_ntp;
    for (int i = 0; i < n; i++)
        if (r->ntp[i].status != NTP_OK)
            return &r->ntp[i];
    return n ? &r->ntp[0] : NULL;
}

/* The Error record's code, from the detail "Error record: code N (...)". */
static long
record_code(const char *detail)
{
    const char *p = strstr(detail, "code ");
    char *end;
    long v;

    if (!p)
        return -1;
    v = strtol(p + 5, &end, 0);
    return end == p + 5 ? -1 : v;
}

static const char *
error_meaning(long code)
{
    switch (code) {
    case 0: return "unrecognised critical record: the server does not know a record the "
                   "monitor sent";
    case 1: return "bad request: the server refused the request";
    case 2: return "internal server error: look at the server's log";
    case 0xF000: return "no such server (pool key exchange)";
    case 0xF001: return "the pool's key exchange could not connect to the source";
    case 0xF002: return "the pool's key exchange could not get the source's capabilities";
    case 0xF003: return "the pool's key exchange could not get cookies from the source";
    default: return "a code RFC 8915 does not define";
    }
}

static void
token_hint(struct diag *d)
{
    add(d, "Check accepted-pool-authentication-tokens in [[nts-ke-server]] (ntpd-rs), "
           "ntsauthtokenfile (chrony) or nts poolauth (NTPsec): it must hold the current "
           "token of this source; after a rekey, the new one.");
}

static void
explain_ke(const struct diag_input *in, struct diag *d)
{
    const struct probe_result *r = in->res;
    const struct ke_result *k = &r->ke;
    const char *addr = r->address[0] ? r->address : in->host;
    char date[48];

    headline(d, "%s", diag_ke_text(k->status));
    switch (k->status) {
    case KE_OK: break;
    case KE_DNS_FAILED:
        headline(d, "the name %s does not resolve", in->host);
        add(d, "Check the DNS records (A and AAAA) of %s.", in->host);
        break;
    case KE_CONNECT_REFUSED:
        headline(d, "nothing listens on TCP port %u of %s", (unsigned)in->port, addr);
        add(d, "Start the NTS-KE server on port %u, or correct the port of this source.",
            (unsigned)in->port);
        break;
    case KE_CONNECT_TIMEOUT:
        headline(d, "TCP port %u of %s does not answer", (unsigned)in->port, addr);
        add(d, "The TCP connection did not complete: check the firewall for TCP port %u, "
               "and that %s is the server's address.", (unsigned)in->port, addr);
        break;
    case KE_TLS_FAILED: add(d, "Port %u accepted the connection.", (unsigned)in->port); break;
    case KE_TLS_VERSION:
        add(d, "NTS-KE needs TLS 1.3%s%s.", k->tls_version[0] ? "; the server offered " : "",
            k->tls_version);
        break;
    case KE_CERT_UNTRUSTED:
        add(d, "The chain does not lead to a trusted root%s%s: serve the full chain "
               "(with the intermediate certificates).", k->issuer[0] ? "; issuer " : "",
            k->issuer);
        break;
    case KE_CERT_NAME_MISMATCH:
        headline(d, "the certificate is not valid for %s", in->host);
        add(d, "Certificate subject: %s. The certificate needs %s among its DNS names "
               "(subjectAltName).", k->subject[0] ? k->subject : "unknown", in->host);
        break;
    case KE_CERT_EXPIRED:
        date_of(k->not_after, date, sizeof(date));
        headline(d, "the certificate expired on %s", date);
        add(d, "Renew it and reload the server%s%s.", k->subject[0] ? "; subject " : "",
            k->subject);
        break;
    case KE_ALPN_MISMATCH:
        add(d, "The server selected %s%s%s instead of ntske/1: is port %u the NTS-KE port?",
            k->alpn[0] ? "\"" : "no protocol", k->alpn, k->alpn[0] ? "\"" : "",
            (unsigned)in->port);
        break;
    case KE_ERROR:
    case KE_WARNING: {
        long code = record_code(k->detail);
        if (code >= 0)
            add(d, code >= 0xF000 ? "%s code 0x%04lX: %s." : "%s code %ld: %s.",
                k->status == KE_ERROR ? "Error" : "Warning", code,
                k->status == KE_ERROR ? error_meaning(code) : "no warning codes are defined");
        break;
    }
    case KE_MALFORMED:
    case KE_RESPONSE_TOO_LARGE: break;
    case KE_AEAD_UNEXPECTED:
        add(d, "It chose AEAD %d; the monitor offered 15, 17 and 30 in rotation.", k->aead);
        break;
    case KE_AEAD_NONE:
        add(d, "NTS clients use AEAD 15 (AES-SIV-CMAC-256), 17 or 30: enable at least 15.");
        if (k->n_supported_aeads > 0) {
            add(d, "The server lists:");
            for (int i = 0; i < k->n_supported_aeads && i < RESULT_MAX_SUPPORTED; i++)
                add(d, "%u%s", k->supported_aeads[i].id,
                    i + 1 < k->n_supported_aeads ? "," : ".");
        }
        break;
    case KE_NO_COOKIES: add(d, "A server must send at least one cookie (normally 8)."); break;
    case KE_TOKEN_REJECTED: token_hint(d); break;
    case KE_POOL_UNSUPPORTED:
        add(d, "The pool sends its token and asks for cookies with the records of "
               "draft-ietf-ntp-nts-keyexchange-pool;");
        if (in->codepoints == (DIAG_CP_PERMANENT | DIAG_CP_EXPERIMENTAL))
            add(d, "the server rejected both the permanent code points (14, 10, 9, 12) "
                   "and the experimental ones (0x4005, 0x4001, 0x4004, 0x4002).");
        else if (in->codepoints == DIAG_CP_EXPERIMENTAL)
            add(d, "the monitor tried the experimental code points (0x4005, 0x4001, "
                   "0x4004, 0x4002).");
        else if (in->codepoints == DIAG_CP_PERMANENT)
            add(d, "the monitor tried the permanent code points (14, 10, 9, 12).");
        else
            add(d, "which code points were tried is not known.");
        add(d, "Run a server with pool support (ntpd-rs 1.9 or later, or the modified "
               "chrony or NTPsec) and give it the token.");
        break;
    case KE_NO_SUCH_SERVER:
    case KE_LOCAL_ERROR:
    case KE_NOT_ATTEMPTED: break;
    case KE_TIMEOUT:
        add(d, "TCP port %u of %s accepts connections, but the TLS handshake or the "
               "response did not complete: is an NTS-KE server (not another service) "
               "on that port?", (unsigned)in->port, addr);
        break;
    }
}

static void
explain_ntp(const struct diag_input *in, struct diag *d, const struct ntp_result *x)
{
    const struct ke_result *k = &in->res->ke;
    const char *srv = k->ntp_server[0] ? k->ntp_server : in->host;
    unsigned port = k->ntp_port ? k->ntp_port : 123;

    headline(d, "%s", x ? diag_ntp_text(x->status) : diag_reason_text(in->res->reason));
    if (!x)
        return;
    switch (x->status) {
    case NTP_OK: break;
    case NTP_DNS_FAILED:
        add(d, "The key exchange named the NTP server %s (Server record).", srv);
        break;
    case NTP_SEND_FAILED: add(d, "To %s port %u.", srv, port); break;
    case NTP_TIMEOUT:
        headline(d, "the key exchange works but UDP port %u does not answer", port);
        add(d, "No answer from %s%s%s port %u within the timeout: check the firewall "
               "for UDP port %u%s.", srv,
            x->address[0] && strcmp(x->address, srv) ? " at " : "",
            x->address[0] && strcmp(x->address, srv) ? x->address : "", port,
            port, k->ntp_port && k->ntp_port != 123 ? " (from the key exchange's Port record)"
                                                    : "");
        break;
    case NTP_NTS_NAK:
        add(d, "%s port %u did not accept a cookie its key exchange had just issued: the "
               "NTS-KE and NTP servers must share their cookie keys.", srv, port);
        break;
    case NTP_KOD_DENY:
    case NTP_KOD_RSTR:
        add(d, "Kiss code %s from %s: check the server's access rules (e.g. deny/restrict "
               "lines) for the monitor's address.", x->kiss[0] ? x->kiss : "DENY", srv);
        break;
    case NTP_KOD_RATE:
        add(d, "The monitor sends two requests a few milliseconds apart every few minutes: "
               "exempt the pool's monitors from rate limiting.");
        break;
    case NTP_NOT_ATTEMPTED:
    case NTP_LOCAL_ERROR: break;
    }
}

static void
add_measure(struct diag *d, const struct probe_result *r)
{
    for (int i = 0; i < r->n_ntp && i < RESULT_NTP_EXCHANGES; i++) {
        const struct ntp_result *x = &r->ntp[i];
        if (x->status == NTP_OK)
            add(d, "Exchange %d: offset %+.3f ms, delay %.3f ms, stratum %d, leap %d.", i + 1,
                x->offset * 1e3, x->delay * 1e3, x->stratum, x->leap);
    }
}

void
diag_explain(const struct diag_input *in, struct diag *d)
{
    const struct probe_result *r = in->res;
    const struct ntp_result *x = ntp_of(r);
    const char *quote = NULL;

    memset(d, 0, sizeof(*d));
    d->scored = true;
    switch (r->reason) {
    case PROBE_OK:
        headline(d, "%s", diag_reason_text(r->reason));
        add_measure(d, r);
        break;
    case PROBE_MONITOR_FAULT:
        d->scored = false;
        headline(d, "the monitor had a problem of its own: this sample is not scored");
        if (r->ke.status != KE_OK)
            add(d, "Key exchange: %s.", diag_ke_text(r->ke.status)), quote = r->ke.detail;
        else if (x && x->status != NTP_OK)
            add(d, "NTP: %s.", diag_ntp_text(x->status)), quote = x->detail;
        break;
    case PROBE_KE_FAILED:
        explain_ke(in, d);
        quote = r->ke.detail;
        break;
    case PROBE_KOD_DENY:
    case PROBE_KOD_RATE:
    case PROBE_NTP_TIMEOUT:
    case PROBE_NTP_FAILED:
        explain_ntp(in, d, x);
        quote = x ? x->detail : NULL;
        break;
    case PROBE_UNSYNCHRONIZED:
        headline(d, "%s", diag_reason_text(r->reason));
        for (int i = 0; i < r->n_ntp && i < RESULT_NTP_EXCHANGES; i++)
            if (r->ntp[i].status == NTP_OK && (r->ntp[i].leap == 3 || r->ntp[i].stratum == 0))
                add(d, "Exchange %d: leap indicator %d, stratum %d.", i + 1, r->ntp[i].leap,
                    r->ntp[i].stratum);
        add(d, "The server says it has no good time source: check its upstream servers or "
               "reference clock.");
        break;
    case PROBE_OFFSET_OVER_3S:
    case PROBE_OFFSET:
        headline(d, "%s", diag_reason_text(r->reason));
        add_measure(d, r);
        add(d, "Offsets up to 25 ms score fully; beyond 100 ms the score falls. "
               "Check the server's time sources.");
        break;
    case PROBE_STRATUM_TOO_HIGH:
        headline(d, "%s", diag_reason_text(r->reason));
        add_measure(d, r);
        add(d, "Stratum 8 or more is too far from a reference clock.");
        break;
    case PROBE_COOKIES_SHORT:
        headline(d, "%s", diag_reason_text(r->reason));
        for (int i = 0; i < r->n_ntp && i < RESULT_NTP_EXCHANGES; i++)
            add(d, "Exchange %d: asked for %d cookies, received %d.", i + 1,
                r->ntp[i].cookies_requested, r->ntp[i].cookies_received);
        add(d, "Clients need a new cookie with every answer.");
        break;
    }
    if (quote && quote[0])
        add(d, "The monitor reported: %s.", quote);
    if (in->now > 0 && r->ke.not_after > in->now && r->ke.not_after - in->now < 14 * 86400) {
        char date[48];
        date_of(r->ke.not_after, date, sizeof(date));
        add(d, "Note: the certificate expires on %s, in %lld days.", date,
            (long long)((r->ke.not_after - in->now) / 86400));
    }
}
