/* tsrv.h - ntstestd, our NTS test server (test code, never installed): the
 * configuration that main() fills from the command line and the KE and NTP
 * halves read, and the catalogue of deliberate faults (--misbehave).
 *
 * ntstestd follows RFC 8915 and the pool records of
 * draft-ietf-ntp-nts-keyexchange-pool wherever it is not told to misbehave;
 * stock chrony and ntpsec stay the reference for the plain path. */
#ifndef NTSPOOL_TESTS_SERVER_TSRV_H
#define NTSPOOL_TESTS_SERVER_TSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSRV_MAX_AEADS 4
#define TSRV_MAX_TOKENS 16
#define TSRV_MAX_LISTEN 8
#define TSRV_KE_MAX_REQ 4096            /* request bytes we read before giving up */
#define TSRV_KE_TIMEOUT_S 5             /* one whole connection, handshake included
                                           (default of --conn-timeout) */
#define TSRV_KE_MAX_CONNS 256           /* connections held at once (default of
                                           --max-conns) */
#define TSRV_COOKIES 8                  /* cookies per KE response (RFC 8915 4.1.6) */

/* Deliberate faults: one bit each, named on the command line. */
enum tsrv_misbehave {
    TSRV_KE_TRAILING = 1u << 0,         /* bytes after End of Message */
    TSRV_KE_DUPLICATE_AEAD = 1u << 1,   /* two AEAD records */
    TSRV_KE_NO_EOM_CLOSE = 1u << 2,     /* close before End of Message */
    TSRV_KE_HUGE = 1u << 3,             /* response > 64 KiB (non-critical filler) */
    TSRV_KE_AEAD_NOT_OFFERED = 1u << 4, /* choose an AEAD the client did not offer */
    TSRV_KE_AEAD_EMPTY = 1u << 5,       /* empty AEAD record, no cookies */
    TSRV_KE_NO_COOKIES = 1u << 6,       /* no New Cookie record */
    TSRV_KE_WARNING = 1u << 7,          /* a Warning record */
    TSRV_KE_ERROR_INTERNAL = 1u << 8,   /* Error 2 instead of an answer */
    TSRV_KE_UNKNOWN_CRITICAL = 1u << 9, /* an unknown critical record */
    TSRV_KE_SILENT = 1u << 10,          /* TLS up, request read, never answered */
    TSRV_TLS_SILENT = 1u << 11,         /* TCP accepted, TLS never spoken */
    TSRV_KE_SPLIT = 1u << 12,           /* response in many small TLS records */
    TSRV_NTP_SILENT = 1u << 13,         /* never answer NTP */
    TSRV_NTP_SPOOF_FIRST = 1u << 14,    /* wrong-UID and bad-MAC replies first */
    TSRV_NTP_KOD_DENY = 1u << 15,       /* authenticated DENY */
    TSRV_NTP_KOD_RATE = 1u << 16,       /* authenticated RATE */
    TSRV_NTP_UNSYNC = 1u << 17,         /* LI 3, stratum 0, refid 0, authenticated */
    TSRV_NTP_COOKIES_OUTSIDE = 1u << 18, /* cookies outside the encrypted part */
    TSRV_NTP_TOO_MANY_COOKIES = 1u << 19, /* one cookie more than asked for */
    TSRV_NTP_NAK = 1u << 20,            /* always NTSN */
};

/* Everything the servers need to know; filled once by main(), then read-only.
   The strings point into argv. */
struct tsrv_config {
    uint16_t aeads[TSRV_MAX_AEADS];     /* supported AEADs (the client's order wins) */
    size_t naeads;
    const char *tokens[TSRV_MAX_TOKENS]; /* accepted pool authentication tokens */
    size_t ntokens;
    const char *monitor_key;            /* pool KE (shape d): the monitor's key */
    const char *uuid;                   /* pool KE: the only time source we know */
    const char *server_record;          /* NTPv4 Server record, NULL = none */
    int port_record;                    /* NTPv4 Port record, -1 = automatic */
    uint16_t ntp_port;                  /* the UDP port actually bound */
    unsigned misbehave;                 /* enum tsrv_misbehave bits */
    int stratum, leap;
    double offset_ms;                   /* added to the clock in replies */
    int ke_timeout_s;                   /* one whole KE connection */
    int ke_max_conns;                   /* KE connections held at once */
    unsigned codepoints;                /* pool code point sets understood: bit 0
                                           permanent, bit 1 experimental; the
                                           other set's records are unknown */
};

/* The bit of a --misbehave name, 0 when unknown. */
unsigned tsrv_misbehave_parse(const char *name);
/* All the names, space-separated, for the help text. */
const char *tsrv_misbehave_names(void);

/* True when the server answers pool requests (a token or a monitor key). */
bool tsrv_pool_capable(const struct tsrv_config *cfg);

#endif
