/* pkt.h - NTPv4 packets with NTS extension fields (RFC 5905, RFC 7822,
 * RFC 8915 section 5): build a client request, validate a server response,
 * and the server half used by our own NTS test server; plus NTP timestamp
 * conversions and the offset/delay arithmetic.
 *
 * Pure code: bytes in, structs out.  No I/O, no clock, no randomness, no
 * allocation: the caller supplies every random input (transmit timestamp,
 * Unique Identifier, AEAD nonce) and owns every buffer and struct.  Sealing
 * and opening go through aead.h; sockets, timestamps and retries live in
 * probe.c. */
#ifndef NTSPOOL_MONITOR_PKT_H
#define NTSPOOL_MONITOR_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Extension field types (RFC 8915 section 7.5, IANA "NTP Extension Field Types"). */
#define PKT_EF_UID 0x0104
#define PKT_EF_COOKIE 0x0204
#define PKT_EF_PLACEHOLDER 0x0304
#define PKT_EF_AUTH 0x0404

#define PKT_HEADER_LEN 48
#define PKT_MIN_EF_LEN 16           /* RFC 7822: any EF outside the encrypted part */
#define PKT_MIN_LAST_EF_LEN 28      /* RFC 7822: the last EF when no legacy MAC follows */
#define PKT_UID_LEN 32              /* the Unique Identifier we send */
#define PKT_MAX_UID_LEN 128         /* the longest one the server side echoes */
#define PKT_MAX_COOKIE_LEN 256      /* cookie body, padding included */
#define PKT_MAX_PLACEHOLDERS 7      /* RFC 8915 5.7: at most 8 cookies in flight */
#define PKT_MAX_COOKIES (1 + PKT_MAX_PLACEHOLDERS)
#define PKT_MAX_NONCE_LEN 16        /* the longest nonce we send (aead_nonce_len) */
/* A request or response with 8 cookies of the maximal size still fits. */
#define PKT_MAX_LEN 4096
#define PKT_MAX_EF_LEN (PKT_MAX_LEN - PKT_HEADER_LEN)

#define PKT_LEAP_UNSYNC 3
#define PKT_MODE_CLIENT 3
#define PKT_MODE_SERVER 4
#define PKT_VERSION 4

/* The 48-byte header (RFC 5905 figure 8) in host order.  root_delay and
   root_disp are the raw 16.16 short format, timestamps the raw 32.32 format. */
struct pkt_header {
    uint8_t leap, version, mode, stratum;
    int8_t poll, precision;
    uint32_t root_delay, root_disp, refid;
    uint64_t ref_ts, org_ts, rx_ts, tx_ts;
};

/* Write h into buf[0..48) (cap >= 48).  Returns 48, or -1 when cap is short. */
long pkt_put_header(uint8_t *buf, size_t cap, const struct pkt_header *h);
/* Read the header of buf (len >= 48) into h.  Returns 0, or -1 when len < 48. */
int pkt_get_header(const uint8_t *buf, size_t len, struct pkt_header *h)
    __attribute__((warn_unused_result));

/* Append one extension field at *off: type, length, body (NULL = zeros),
   zero-padded to a multiple of 4 and to at least PKT_MIN_EF_LEN bytes.
   Advances *off.  Returns 0, or -1 when it would not fit in cap. */
int pkt_append_ef(uint8_t *buf, size_t cap, size_t *off, uint16_t type,
                  const uint8_t *body, size_t body_len)
    __attribute__((warn_unused_result));
/* Like pkt_append_ef but without the 16-byte minimum: for the plaintext of an
   Authenticator, where RFC 8915 5.6 lets fields be as short as 4 bytes. */
int pkt_append_inner_ef(uint8_t *buf, size_t cap, size_t *off, uint16_t type,
                        const uint8_t *body, size_t body_len)
    __attribute__((warn_unused_result));
/* Append an Authenticator and Encrypted EFs field at *off sealing pt[0..pt_len)
   (pt may be NULL when pt_len is 0) under key with the given nonce; the
   associated data is buf[0..*off).  Advances *off.  Returns 0, or -1 when it
   does not fit or the AEAD fails. */
int pkt_append_auth(uint8_t *buf, size_t cap, size_t *off, int aead_id,
                    const uint8_t *key, const uint8_t *nonce, size_t nonce_len,
                    const uint8_t *pt, size_t pt_len) __attribute__((warn_unused_result));

/* ---- client side ---- */

/* What a client request is made of.  The caller fills the random fields from
   a CSPRNG before pkt_build_request() and keeps the struct until the exchange
   is over: pkt_parse_response() checks the reply against xmt, uid and
   placeholders.  The pointers are borrowed and used only while building. */
struct pkt_request {
    int aead_id;                        /* 15, 16, 17 or 30 */
    const uint8_t *c2s_key;             /* aead_key_len(aead_id) bytes */
    const uint8_t *cookie;              /* one cookie from NTS-KE */
    size_t cookie_len;                  /* 1..PKT_MAX_COOKIE_LEN */
    unsigned placeholders;              /* extra cookies asked for, 0..7 */
    uint8_t xmt[8];                     /* random transmit timestamp */
    uint8_t uid[PKT_UID_LEN];           /* random Unique Identifier */
    uint8_t nonce[PKT_MAX_NONCE_LEN];   /* random; aead_nonce_len(aead_id) used */
};

/* Build the request for req into buf (cap bytes): header (LI 0, VN 4, mode 3,
   transmit timestamp xmt, all else 0), Unique Identifier, one Cookie (padded
   to 4), placeholders Cookie Placeholders of the padded cookie's length, and
   the Authenticator over an empty plaintext.  Returns the length, or -1 when
   req is invalid, the AEAD fails or the packet would not fit. */
long pkt_build_request(const struct pkt_request *req, uint8_t *buf, size_t cap)
    __attribute__((warn_unused_result));

enum pkt_resp_status {
    PKT_RESP_OK = 0,        /* authenticated reply from the server we asked */
    PKT_RESP_KOD = 1,       /* Kiss-o'-Death we must act on: see kiss */
    PKT_RESP_IGNORE = 2,    /* not an answer to our request: keep waiting; see why */
};

/* A validated response.  Header values are copied raw, plus the short-format
   ones in seconds.  Cookies are copies (padding included, as the EF holds
   them) taken only from the encrypted part. */
struct pkt_response {
    int leap, version, mode, stratum, poll, precision;
    double root_delay, root_disp;       /* seconds */
    uint32_t refid;
    uint64_t ref_ts;                    /* reference timestamp, raw */
    uint64_t t2, t3;                    /* receive and transmit timestamps, raw */
    char kiss[5];                       /* KoD: the code, NUL-terminated; else "" */
    bool authenticated;                 /* the Authenticator verified */
    const char *why;                    /* IGNORE: static reason text; else NULL */
    unsigned outside_cookies;           /* cookie EFs seen unencrypted (not taken) */
    size_t ncookies;
    size_t cookie_len[PKT_MAX_COOKIES];
    uint8_t cookies[PKT_MAX_COOKIES][PKT_MAX_COOKIE_LEN];
};

/* Validate buf[0..len), received for the request sent, with the S2C key
   (aead_key_len(sent->aead_id) bytes).  Checks, in order: length, version 4
   only (NTS needs NTPv4; a v3 reply cannot carry extension fields), mode 4,
   origin timestamp = sent->xmt, every EF well formed and inside the packet,
   exactly one Unique Identifier equal to sent->uid; then a KoD with code NTSN
   is returned without authentication (RFC 8915 5.7: NTS NAKs are not
   authenticated); everything else needs exactly one Authenticator, last, that
   verifies with AD = the bytes before it.  Cookies come only from its
   plaintext: at most 1 + sent->placeholders, each 1..PKT_MAX_COOKIE_LEN bytes.
   An authenticated stratum-0 reply whose refid is 4 printable ASCII bytes is a
   KoD (DENY, RSTR, RATE, ...); LI 3 with stratum 0 and refid 0 is an ordinary
   unsynchronised reply.  Returns the status; out is always written, and on
   IGNORE only out->why is meaningful (ncookies is 0). */
enum pkt_resp_status pkt_parse_response(const uint8_t *buf, size_t len,
                                        const struct pkt_request *sent,
                                        const uint8_t *s2c_key,
                                        struct pkt_response *out)
    __attribute__((warn_unused_result));

/* The name of a status: "ok", "kod", "ignore". */
const char *pkt_resp_status_str(enum pkt_resp_status st);

/* ---- server side (our NTS test server) ---- */

/* A client request as the server sees it before it knows the keys. */
struct pkt_server_request {
    struct pkt_header hdr;
    uint8_t uid[PKT_MAX_UID_LEN];
    size_t uid_len;
    uint8_t cookie[PKT_MAX_COOKIE_LEN]; /* the cookie EF body, padding included */
    size_t cookie_len;
    unsigned placeholders;              /* Cookie Placeholders present */
    size_t auth_off;                    /* where the Authenticator starts (= AD length) */
    const char *why;                    /* rejection reason, else NULL */
};

/* Parse a request: length, version 4, mode 3, EFs well formed, exactly one
   Unique Identifier (32..PKT_MAX_UID_LEN bytes) and one Cookie, at most 7
   placeholders each as long as the cookie EF, and one Authenticator, last and
   well formed.  Does not authenticate: decrypt the cookie for the keys, then
   call pkt_verify_request().  Returns 0, or -1 with out->why set. */
int pkt_parse_request(const uint8_t *buf, size_t len, struct pkt_server_request *out)
    __attribute__((warn_unused_result));

/* Authenticate the request req was parsed from with the C2S key, also
   enforcing the nonce length rule of RFC 8915 5.6 (nonce plus Additional
   Padding at least min(16, N_MAX) bytes).  Returns 0 when authentic, else -1. */
int pkt_verify_request(const uint8_t *buf, size_t len,
                       const struct pkt_server_request *req, int aead_id,
                       const uint8_t *c2s_key)
    __attribute__((warn_unused_result));

/* Deliberate faults for tests of the client parser. */
#define PKT_REPLY_COOKIES_OUTSIDE 0x1   /* cookies as plain EFs, not encrypted */
#define PKT_REPLY_NO_UID 0x2            /* omit the Unique Identifier */
#define PKT_REPLY_NO_AUTH 0x4           /* omit the Authenticator (and inner cookies) */

/* What the server answers.  hdr supplies leap, stratum, poll, precision, root
   delay/dispersion, refid, ref_ts, rx_ts and tx_ts; version, mode and the
   origin timestamp are set by the builder. */
struct pkt_reply {
    struct pkt_header hdr;
    int aead_id;
    const uint8_t *s2c_key;             /* aead_key_len(aead_id) bytes */
    const uint8_t *nonce;               /* aead_nonce_len(aead_id) random bytes */
    size_t ncookies;                    /* 0..PKT_MAX_COOKIES */
    const uint8_t *cookies[PKT_MAX_COOKIES];
    size_t cookie_len[PKT_MAX_COOKIES]; /* each 1..PKT_MAX_COOKIE_LEN */
    unsigned flags;                     /* PKT_REPLY_*, 0 normally */
};

/* Build the authenticated response to req into buf: header (VN 4, mode 4,
   origin = the request's transmit timestamp), the echoed Unique Identifier,
   then an Authenticator whose plaintext holds the cookies.  Returns the
   length, or -1 when rep is invalid, the AEAD fails or it would not fit. */
long pkt_build_response(const struct pkt_server_request *req, const struct pkt_reply *rep,
                        uint8_t *buf, size_t cap) __attribute__((warn_unused_result));

/* Build an unauthenticated Kiss-o'-Death (LI 3, stratum 0, refid = the four
   characters of code, e.g. "NTSN") echoing the request's transmit timestamp
   and Unique Identifier.  Returns the length, or -1. */
long pkt_build_kod(const struct pkt_server_request *req, const char *code, uint8_t *buf,
                   size_t cap) __attribute__((warn_unused_result));

/* ---- timestamps and measurement ---- */

/* The NTP timestamp (32.32, era number dropped) of a Unix time. */
uint64_t pkt_ntp_from_timespec(const struct timespec *ts);
uint64_t pkt_ntp_from_unix(double unix_seconds);
/* The Unix time of an NTP timestamp, taking the era (RFC 5905 6) that puts it
   closest to ref_unix, e.g. the local clock's time.  Valid within 68 years. */
void pkt_ntp_to_timespec(uint64_t ntp, time_t ref_unix, struct timespec *ts);
double pkt_ntp_to_unix(uint64_t ntp, time_t ref_unix);
/* The 16.16 short format (root delay, root dispersion) in seconds and back;
   pkt_short_from_seconds clamps to 0..65535.99998. */
double pkt_short_to_seconds(uint32_t v);
uint32_t pkt_short_from_seconds(double s);

/* RFC 5905 on-wire math: offset = ((t2 - t1) + (t3 - t4)) / 2 and
   delay = (t4 - t1) - (t3 - t2), in seconds, t1/t4 our send/receive times and
   t2/t3 the server's.  Differences are taken on the raw 64-bit values
   (modulo 2^64, so across an era boundary too) before any conversion to
   double, keeping sub-nanosecond precision. */
void pkt_offset_delay(uint64_t t1, uint64_t t2, uint64_t t3, uint64_t t4, double *offset,
                      double *delay);

#endif
