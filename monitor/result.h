/* result.h - the outcome of a probe as plain values: the one narrow message
 * between the probe engine, the scorer, the store and the pages.
 *
 * The status enums carry the stable reason codes of PRODUCT.md ("Probe result
 * vocabulary").  Their numbers are stored: append new codes, never renumber or
 * reuse one.  No pointers into libevent, OpenSSL or SQLite live here, and no
 * secrets (keys and cookies stay inside the probe engine). */
#ifndef NTSPOOL_MONITOR_RESULT_H
#define NTSPOOL_MONITOR_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESULT_DETAIL_MAX 256       /* human detail text, NUL included */
#define RESULT_NAME_MAX 256         /* certificate names, host names */
#define RESULT_ADDR_MAX 48          /* textual IPv4/IPv6 address */
#define RESULT_MAX_SUPPORTED 16     /* entries kept of the pool's supported lists */
#define RESULT_NTP_EXCHANGES 2

enum ke_status {
    KE_OK = 0,
    KE_DNS_FAILED = 1,
    KE_CONNECT_REFUSED = 2,
    KE_CONNECT_TIMEOUT = 3,
    KE_TLS_FAILED = 4,
    KE_TLS_VERSION = 5,
    KE_CERT_UNTRUSTED = 6,
    KE_CERT_NAME_MISMATCH = 7,
    KE_CERT_EXPIRED = 8,
    KE_ALPN_MISMATCH = 9,
    KE_ERROR = 10,
    KE_WARNING = 11,
    KE_MALFORMED = 12,
    KE_AEAD_UNEXPECTED = 13,
    KE_AEAD_NONE = 14,
    KE_NO_COOKIES = 15,
    KE_TOKEN_REJECTED = 16,
    KE_POOL_UNSUPPORTED = 17,
    KE_NO_SUCH_SERVER = 18,
    KE_RESPONSE_TOO_LARGE = 19,
    KE_TIMEOUT = 20,
    /* Appended: the monitor itself failed (no socket, no memory, no route of
       its own); SCORING.md rule 1 discards such samples. */
    KE_LOCAL_ERROR = 21,
    KE_NOT_ATTEMPTED = 22,
};

enum ntp_status {
    NTP_OK = 0,
    NTP_DNS_FAILED = 1,
    NTP_SEND_FAILED = 2,
    NTP_TIMEOUT = 3,
    NTP_NTS_NAK = 4,
    NTP_KOD_DENY = 5,
    NTP_KOD_RSTR = 6,
    NTP_KOD_RATE = 7,
    NTP_NOT_ATTEMPTED = 8,
    /* Appended: the monitor itself failed (no socket, no memory, its own
       resolver down); SCORING.md rule 1 discards such samples. */
    NTP_LOCAL_ERROR = 9,
};

enum probe_reason {
    PROBE_OK = 0,
    PROBE_MONITOR_FAULT = 1,
    PROBE_KOD_DENY = 2,
    PROBE_KOD_RATE = 3,
    PROBE_KE_FAILED = 4,
    PROBE_NTP_TIMEOUT = 5,
    PROBE_NTP_FAILED = 6,
    PROBE_UNSYNCHRONIZED = 7,
    PROBE_OFFSET_OVER_3S = 8,
    PROBE_STRATUM_TOO_HIGH = 9,
    PROBE_OFFSET = 10,
    PROBE_COOKIES_SHORT = 11,
};

enum probe_kind {
    PROBE_KIND_NTS = 0,
    PROBE_KIND_POOL = 1,
};

/* The key exchange as seen by the monitor. */
struct ke_result {
    enum ke_status status;
    char detail[RESULT_DETAIL_MAX];
    double connect_time;            /* s from start to TCP established, or -1 */
    double handshake_time;          /* s from TCP established to TLS done, or -1 */
    double duration;                /* s from start to the end of the exchange */
    char tls_version[16];           /* "TLSv1.3"; empty when no handshake */
    char cipher[64];
    char alpn[32];
    char subject[RESULT_NAME_MAX];  /* one-line RFC 2253 form */
    char issuer[RESULT_NAME_MAX];
    int64_t not_after;              /* certificate expiry, Unix time; 0 unknown */
    int next_protocol;              /* -1 when absent */
    int aead;                       /* negotiated AEAD id, -1 when absent */
    int cookies;                    /* number of cookies received */
    int cookie_size;                /* length of the first cookie, 0 if none */
    char ntp_server[RESULT_NAME_MAX]; /* from the Server record, else the KE address */
    uint16_t ntp_port;              /* from the Port record, else 123 */
    bool compliant_gcm_siv;         /* the server echoed record 1024 */
    /* Pool capabilities (shape "capabilities"); counts are -1 when absent. */
    int n_supported_aeads;
    struct { uint16_t id, key_length; } supported_aeads[RESULT_MAX_SUPPORTED];
    int n_supported_protocols;
    uint16_t supported_protocols[RESULT_MAX_SUPPORTED];
};

/* One NTS-protected NTP exchange. */
struct ntp_result {
    enum ntp_status status;
    char detail[RESULT_DETAIL_MAX];
    char address[RESULT_ADDR_MAX];  /* the NTP server address used */
    uint16_t port;
    /* Wall-clock instants as seconds since the Unix epoch (t2, t3 converted
       from NTP era 0/1 near t1). */
    double t1, t2, t3, t4;
    double offset, delay;           /* s */
    int stratum, leap, precision;   /* precision as log2 s */
    double root_delay, root_dispersion; /* s */
    uint32_t refid;
    char kiss[5];                   /* kiss code when status is a KoD, else "" */
    int cookies_requested;          /* 1 + placeholders */
    int cookies_received;
};

/* One probe of one address: kind, key exchange, two NTP exchanges, verdict. */
struct probe_result {
    enum probe_kind kind;
    int family;                     /* 4 or 6 */
    char host[RESULT_NAME_MAX];
    uint16_t port;
    char address[RESULT_ADDR_MAX];  /* the KE address probed */
    int64_t start_time;             /* Unix time, s, of the probe start */
    double start_time_frac;         /* fractional part of the start */
    struct ke_result ke;
    int n_ntp;                      /* exchanges attempted: 0..2 */
    struct ntp_result ntp[RESULT_NTP_EXCHANGES];
    enum probe_reason reason;       /* filled in by the scorer */
    double step;                    /* filled in by the scorer; NAN when discarded */
};

/* The stable names of PRODUCT.md. Never NULL. */
const char *result_ke_status_str(enum ke_status s);
const char *result_ntp_status_str(enum ntp_status s);
const char *result_probe_reason_str(enum probe_reason r);
const char *result_kind_str(enum probe_kind k);

/* Parse a stable name back; return 0 and set *out, or -1 when unknown. */
int result_ke_status_parse(const char *s, enum ke_status *out);
int result_ntp_status_parse(const char *s, enum ntp_status *out);

/* True for outcomes that are the monitor's own fault, not the server's
   (SCORING.md rule 1): local errors, our DNS down, a pool KE's "no such server". */
bool result_ke_is_monitor_fault(enum ke_status s);
bool result_ntp_is_monitor_fault(enum ntp_status s);

/* Reset a result to "nothing attempted yet". */
void result_ke_init(struct ke_result *r);
void result_ntp_init(struct ntp_result *r);
void result_probe_init(struct probe_result *r);

/* Set r->detail with printf formatting, unless a detail is already set
   (the first error wins). */
void result_detail(char *detail, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
