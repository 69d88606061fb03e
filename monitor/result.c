/* result.c - names of the stable reason codes and result initialisation.
 *
 * Every to-string is a switch without default, so -Wswitch names a missing
 * case; the fallback after it only serves out-of-range values from storage. */
#include "monitor/result.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
result_ke_status_str(enum ke_status s)
{
    switch (s) {
    case KE_OK: return "ok";
    case KE_DNS_FAILED: return "dns_failed";
    case KE_CONNECT_REFUSED: return "connect_refused";
    case KE_CONNECT_TIMEOUT: return "connect_timeout";
    case KE_TLS_FAILED: return "tls_failed";
    case KE_TLS_VERSION: return "tls_version";
    case KE_CERT_UNTRUSTED: return "cert_untrusted";
    case KE_CERT_NAME_MISMATCH: return "cert_name_mismatch";
    case KE_CERT_EXPIRED: return "cert_expired";
    case KE_ALPN_MISMATCH: return "alpn_mismatch";
    case KE_ERROR: return "ke_error";
    case KE_WARNING: return "ke_warning";
    case KE_MALFORMED: return "ke_malformed";
    case KE_AEAD_UNEXPECTED: return "aead_unexpected";
    case KE_AEAD_NONE: return "aead_none";
    case KE_NO_COOKIES: return "no_cookies";
    case KE_TOKEN_REJECTED: return "token_rejected";
    case KE_POOL_UNSUPPORTED: return "pool_unsupported";
    case KE_NO_SUCH_SERVER: return "no_such_server";
    case KE_RESPONSE_TOO_LARGE: return "response_too_large";
    case KE_TIMEOUT: return "ke_timeout";
    case KE_LOCAL_ERROR: return "local_error";
    case KE_NOT_ATTEMPTED: return "not_attempted";
    }
    return "unknown";
}

const char *
result_ntp_status_str(enum ntp_status s)
{
    switch (s) {
    case NTP_OK: return "ok";
    case NTP_DNS_FAILED: return "dns_failed";
    case NTP_SEND_FAILED: return "send_failed";
    case NTP_TIMEOUT: return "timeout";
    case NTP_NTS_NAK: return "nts_nak";
    case NTP_KOD_DENY: return "kod_deny";
    case NTP_KOD_RSTR: return "kod_rstr";
    case NTP_KOD_RATE: return "kod_rate";
    case NTP_NOT_ATTEMPTED: return "not_attempted";
    case NTP_LOCAL_ERROR: return "local_error";
    }
    return "unknown";
}

const char *
result_probe_reason_str(enum probe_reason r)
{
    switch (r) {
    case PROBE_OK: return "ok";
    case PROBE_MONITOR_FAULT: return "monitor_fault";
    case PROBE_KOD_DENY: return "kod_deny";
    case PROBE_KOD_RATE: return "kod_rate";
    case PROBE_KE_FAILED: return "ke_failed";
    case PROBE_NTP_TIMEOUT: return "ntp_timeout";
    case PROBE_NTP_FAILED: return "ntp_failed";
    case PROBE_UNSYNCHRONIZED: return "unsynchronized";
    case PROBE_OFFSET_OVER_3S: return "offset_over_3s";
    case PROBE_STRATUM_TOO_HIGH: return "stratum_too_high";
    case PROBE_OFFSET: return "offset";
    case PROBE_COOKIES_SHORT: return "cookies_short";
    }
    return "unknown";
}

const char *
result_kind_str(enum probe_kind k)
{
    switch (k) {
    case PROBE_KIND_NTS: return "nts";
    case PROBE_KIND_POOL: return "pool";
    }
    return "unknown";
}

int
result_ke_status_parse(const char *s, enum ke_status *out)
{
    for (int i = KE_OK; i <= KE_NOT_ATTEMPTED; i++) {
        if (strcmp(s, result_ke_status_str((enum ke_status)i)) == 0) {
            *out = (enum ke_status)i;
            return 0;
        }
    }
    return -1;
}

int
result_ntp_status_parse(const char *s, enum ntp_status *out)
{
    for (int i = NTP_OK; i <= NTP_LOCAL_ERROR; i++) {
        if (strcmp(s, result_ntp_status_str((enum ntp_status)i)) == 0) {
            *out = (enum ntp_status)i;
            return 0;
        }
    }
    return -1;
}

bool
result_ke_is_monitor_fault(enum ke_status s)
{
    return s == KE_LOCAL_ERROR || s == KE_NO_SUCH_SERVER;
}

bool
result_ntp_is_monitor_fault(enum ntp_status s)
{
    return s == NTP_LOCAL_ERROR;
}

void
result_ke_init(struct ke_result *r)
{
    memset(r, 0, sizeof(*r));
    r->status = KE_NOT_ATTEMPTED;
    r->connect_time = -1;
    r->handshake_time = -1;
    r->next_protocol = -1;
    r->aead = -1;
    r->ntp_port = 123;
    r->n_supported_aeads = -1;
    r->n_supported_protocols = -1;
}

void
result_ntp_init(struct ntp_result *r)
{
    memset(r, 0, sizeof(*r));
    r->status = NTP_NOT_ATTEMPTED;
    r->offset = NAN;
    r->delay = NAN;
    r->stratum = -1;
    r->leap = -1;
}

void
result_probe_init(struct probe_result *r)
{
    memset(r, 0, sizeof(*r));
    result_ke_init(&r->ke);
    for (int i = 0; i < RESULT_NTP_EXCHANGES; i++)
        result_ntp_init(&r->ntp[i]);
    r->step = NAN;
}

void
result_detail(char *detail, const char *fmt, ...)
{
    va_list ap;

    if (detail[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(detail, RESULT_DETAIL_MAX, fmt, ap);
    va_end(ap);
}
