/* test_diag.c - the diagnosis texts (web/diag.h) and the configuration
 * snippets (web/snip.h): every code has a text, each diagnosis shows its
 * numbers, each snippet holds the token exactly once. */
#include "web/diag.h"
#include "web/snip.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

#define NOW 1772323200 /* 2026-03-01 00:00:00 UTC */

static size_t
count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void
base(struct probe_result *r, enum probe_kind kind)
{
    result_probe_init(r);
    r->kind = kind;
    r->family = 4;
    snprintf(r->host, sizeof(r->host), "time.example.org");
    r->port = 4460;
    snprintf(r->address, sizeof(r->address), "192.0.2.1");
    snprintf(r->ke.ntp_server, sizeof(r->ke.ntp_server), "192.0.2.1");
    r->ke.ntp_port = 123;
    r->n_ntp = 2;
    for (int i = 0; i < 2; i++) {
        r->ntp[i].status = NTP_OK;
        r->ntp[i].offset = 0.000012;
        r->ntp[i].delay = 0.00008;
        r->ntp[i].stratum = 2;
        r->ntp[i].cookies_requested = 2;
        r->ntp[i].cookies_received = 2;
    }
}

static void
explain(const struct probe_result *r, unsigned cp, struct diag *d)
{
    struct diag_input in = {r, "time.example.org", 4460, SCORE_KIND_POOL_V4, cp, NOW};

    diag_explain(&in, d);
    CHECK(d->headline[0] != '\0');
    CHECK(d->headline[0] < 'a' || d->headline[0] > 'z'); /* a capital */
}

static void
test_every_code(void)
{
    struct probe_result r;
    struct diag d;

    for (int s = KE_OK; s <= KE_NOT_ATTEMPTED; s++) {
        CHECK(diag_ke_text((enum ke_status)s)[0] != '\0');
        CHECK(strcmp(diag_ke_text((enum ke_status)s), "the key exchange failed") != 0);
        base(&r, PROBE_KIND_POOL);
        r.reason = PROBE_KE_FAILED;
        r.ke.status = (enum ke_status)s;
        r.n_ntp = 0;
        explain(&r, 0, &d);
    }
    for (int s = NTP_OK; s <= NTP_LOCAL_ERROR; s++) {
        CHECK(diag_ntp_text((enum ntp_status)s)[0] != '\0');
        CHECK(strcmp(diag_ntp_text((enum ntp_status)s), "the NTP exchange failed") != 0);
        base(&r, PROBE_KIND_NTS);
        r.reason = PROBE_NTP_FAILED;
        r.ntp[1].status = (enum ntp_status)s;
        explain(&r, 0, &d);
    }
    for (int s = PROBE_OK; s <= PROBE_COOKIES_SHORT; s++) {
        CHECK(diag_reason_text((enum probe_reason)s)[0] != '\0');
        CHECK(strcmp(diag_reason_text((enum probe_reason)s), "unknown outcome") != 0);
        base(&r, PROBE_KIND_NTS);
        r.reason = (enum probe_reason)s;
        explain(&r, 0, &d);
    }
    /* Out-of-range values from storage still get a text. */
    CHECK(diag_ke_text((enum ke_status)99)[0] != '\0');
}

static void
test_numbers(void)
{
    struct probe_result r;
    struct diag d;

    base(&r, PROBE_KIND_POOL);
    r.reason = PROBE_KE_FAILED;
    r.ke.status = KE_TOKEN_REJECTED;
    snprintf(r.ke.detail, sizeof(r.ke.detail), "Error record: code 1 (bad request)");
    explain(&r, 0, &d);
    CHECK(strstr(d.headline, "does not accept the pool's token") != NULL);
    CHECK(strstr(d.detail, "accepted-pool-authentication-tokens") != NULL);
    CHECK(strstr(d.detail, "ntsauthtokenfile") != NULL);
    CHECK(strstr(d.detail, "Error record: code 1") != NULL);
    printf("%s\n  %s\n", d.headline, d.detail);

    r.ke.status = KE_CERT_NAME_MISMATCH;
    snprintf(r.ke.subject, sizeof(r.ke.subject), "CN=other.example.net");
    explain(&r, 0, &d);
    CHECK_STR(d.headline, "The certificate is not valid for time.example.org");
    CHECK(strstr(d.detail, "CN=other.example.net") != NULL);

    r.ke.status = KE_CERT_EXPIRED;
    r.ke.not_after = NOW - 86400;
    explain(&r, 0, &d);
    CHECK(strstr(d.headline, "2026-02-28 00:00 UTC") != NULL);

    r.ke.status = KE_CONNECT_REFUSED;
    explain(&r, 0, &d);
    CHECK_STR(d.headline, "Nothing listens on TCP port 4460 of 192.0.2.1");

    r.ke.status = KE_DNS_FAILED;
    explain(&r, 0, &d);
    CHECK(strstr(d.headline, "time.example.org does not resolve") != NULL);

    r.ke.status = KE_ERROR;
    snprintf(r.ke.detail, sizeof(r.ke.detail), "Error record: code 2 (internal)");
    explain(&r, 0, &d);
    CHECK(strstr(d.detail, "Error code 2: internal server error") != NULL);
    snprintf(r.ke.detail, sizeof(r.ke.detail), "Error record: code 0xF001 (x)");
    explain(&r, 0, &d);
    CHECK(strstr(d.detail, "Error code 0xF001: the pool's key exchange could not connect") != NULL);

    r.ke.status = KE_WARNING;
    snprintf(r.ke.detail, sizeof(r.ke.detail), "Warning record: code 7");
    explain(&r, 0, &d);
    CHECK(strstr(d.detail, "Warning code 7") != NULL);

    r.ke.status = KE_POOL_UNSUPPORTED;
    explain(&r, DIAG_CP_PERMANENT | DIAG_CP_EXPERIMENTAL, &d);
    CHECK(strstr(d.detail, "draft-ietf-ntp-nts-keyexchange-pool") != NULL);
    CHECK(strstr(d.detail, "0x4005") && strstr(d.detail, "(14, 10, 9, 12)"));
    explain(&r, DIAG_CP_PERMANENT, &d);
    CHECK(strstr(d.detail, "0x4005") == NULL && strstr(d.detail, "14, 10"));

    r.ke.status = KE_TLS_VERSION;
    snprintf(r.ke.tls_version, sizeof(r.ke.tls_version), "TLSv1.2");
    explain(&r, 0, &d);
    CHECK(strstr(d.detail, "TLSv1.2") != NULL);

    r.ke.status = KE_ALPN_MISMATCH;
    snprintf(r.ke.alpn, sizeof(r.ke.alpn), "http/1.1");
    explain(&r, 0, &d);
    CHECK(strstr(d.detail, "\"http/1.1\"") != NULL);

    r.ke.status = KE_AEAD_UNEXPECTED;
    r.ke.aead = 16;
    explain(&r, 0, &d);
    CHECK(strstr(d.detail, "AEAD 16") != NULL);

    /* NTP timeout: the port from the Port record. */
    base(&r, PROBE_KIND_NTS);
    r.reason = PROBE_NTP_TIMEOUT;
    r.ke.ntp_port = 10123;
    r.ntp[0].status = NTP_TIMEOUT;
    snprintf(r.ntp[0].address, sizeof(r.ntp[0].address), "192.0.2.1");
    explain(&r, 0, &d);
    CHECK_STR(d.headline, "The key exchange works but UDP port 10123 does not answer");
    CHECK(strstr(d.detail, "Port record") != NULL);
    printf("%s\n  %s\n", d.headline, d.detail);

    r.reason = PROBE_KOD_DENY;
    r.ntp[0].status = NTP_KOD_RSTR;
    snprintf(r.ntp[0].kiss, sizeof(r.ntp[0].kiss), "RSTR");
    explain(&r, 0, &d);
    CHECK(strstr(d.headline, "RSTR") && strstr(d.detail, "Kiss code RSTR"));

    base(&r, PROBE_KIND_NTS);
    r.reason = PROBE_OFFSET;
    r.ntp[0].offset = 0.0625;
    r.ntp[1].offset = -0.0701;
    explain(&r, 0, &d);
    CHECK(strstr(d.detail, "+62.500 ms") && strstr(d.detail, "-70.100 ms"));

    r.reason = PROBE_OFFSET_OVER_3S;
    r.ntp[0].offset = 4.2;
    explain(&r, 0, &d);
    CHECK(strstr(d.detail, "+4200.000 ms") != NULL);

    base(&r, PROBE_KIND_NTS);
    r.reason = PROBE_STRATUM_TOO_HIGH;
    r.ntp[1].stratum = 9;
    explain(&r, 0, &d);
    CHECK(strstr(d.detail, "stratum 9") != NULL);

    base(&r, PROBE_KIND_NTS);
    r.reason = PROBE_UNSYNCHRONIZED;
    r.ntp[0].leap = 3;
    r.ntp[0].stratum = 0;
    explain(&r, 0, &d);
    CHECK(strstr(d.detail, "leap indicator 3, stratum 0") != NULL);

    base(&r, PROBE_KIND_NTS);
    r.reason = PROBE_COOKIES_SHORT;
    r.ntp[1].cookies_received = 1;
    explain(&r, 0, &d);
    CHECK(strstr(d.detail, "asked for 2 cookies, received 1") != NULL);

    base(&r, PROBE_KIND_NTS);
    r.reason = PROBE_MONITOR_FAULT;
    r.ke.status = KE_LOCAL_ERROR;
    snprintf(r.ke.detail, sizeof(r.ke.detail), "socket: Too many open files");
    explain(&r, 0, &d);
    CHECK(!d.scored);
    CHECK(strstr(d.detail, "Too many open files") != NULL);

    /* A certificate about to expire is noted on any outcome. */
    base(&r, PROBE_KIND_NTS);
    r.reason = PROBE_OK;
    r.ke.not_after = NOW + 5 * 86400 + 10;
    explain(&r, 0, &d);
    CHECK(d.scored);
    CHECK(strstr(d.detail, "in 5 days") != NULL);

    /* The detail never overflows, whatever the inputs. */
    base(&r, PROBE_KIND_POOL);
    r.reason = PROBE_KE_FAILED;
    r.ke.status = KE_CERT_NAME_MISMATCH;
    memset(r.ke.subject, 'x', sizeof(r.ke.subject) - 1);
    memset(r.ke.detail, 'y', sizeof(r.ke.detail) - 1);
    explain(&r, 0, &d);
    CHECK(strlen(d.detail) < sizeof(d.detail));
}

static void
test_snippets(void)
{
    const char *token = "3f1c0d6b9a2e4f5d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d";
    char buf[SNIP_MAX];

    for (int s = 0; s < SNIP_SERVERS; s++) {
        int n = snip_config((enum snip_server)s, token, "time.example.org", 4460, buf,
                            sizeof(buf));
        CHECK(n > 0 && (size_t)n == strlen(buf));
        CHECK_INT(count(buf, token), 1);
        CHECK(strstr(buf, "time.example.org") != NULL);
        CHECK(snip_server_name((enum snip_server)s)[0] != '\0');
        /* A short buffer fails instead of cutting the token off. */
        CHECK_INT(snip_config((enum snip_server)s, token, "h.example", 4460, buf, 40), -1);
        /* Nothing that could leave a quoted string or a shell word. */
        CHECK_INT(snip_config((enum snip_server)s, "ab\"c", "h.example", 4460, buf,
                              sizeof(buf)), -1);
        CHECK_INT(snip_config((enum snip_server)s, "ab'c", "h.example", 4460, buf,
                              sizeof(buf)), -1);
        CHECK_INT(snip_config((enum snip_server)s, token, "h\nx", 4460, buf, sizeof(buf)),
                  -1);
        CHECK_INT(snip_config((enum snip_server)s, "", "h.example", 4460, buf, sizeof(buf)),
                  -1);
    }
    snip_config(SNIP_NTPD_RS, token, "time.example.org", 4460, buf, sizeof(buf));
    CHECK(strstr(buf, "[[nts-ke-server]]\naccepted-pool-authentication-tokens = [\"") != NULL);
    snip_config(SNIP_CHRONY, token, "time.example.org", 4460, buf, sizeof(buf));
    CHECK(strstr(buf, "\nntsauthtokenfile /etc/chrony/nts-pool.tokens\n") != NULL);
    snip_config(SNIP_NTPSEC, token, "time.example.org", 4461, buf, sizeof(buf));
    CHECK(strstr(buf, "\nnts poolauth /etc/ntpsec/nts-pool.tokens\n") != NULL);
    CHECK(strstr(buf, "port 4461") != NULL);
}

int
main(void)
{
    test_every_code();
    test_numbers();
    test_snippets();
    return check_finish("test_diag");
}
