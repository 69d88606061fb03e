/* nke.h - NTS-KE records (RFC 8915 section 4, and the pool records of
 * draft-ietf-ntp-nts-keyexchange-pool): build requests, find the end of a
 * message in a byte stream, and parse and validate responses.
 *
 * Pure code: bytes in, structs out.  No I/O, no TLS, no allocation; every
 * length read from the network is checked against a named cap.  The TLS
 * exchange, key export and timing live in ke.c. */
#ifndef NTSPOOL_MONITOR_NKE_H
#define NTSPOOL_MONITOR_NKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/result.h"

/* Record types (RFC 8915 section 4.1, IANA registry). */
#define NKE_REC_EOM 0
#define NKE_REC_NEXT_PROTO 1
#define NKE_REC_ERROR 2
#define NKE_REC_WARNING 3
#define NKE_REC_AEAD 4
#define NKE_REC_COOKIE 5
#define NKE_REC_SERVER 6
#define NKE_REC_PORT 7
#define NKE_REC_COMPLIANT_GCM_SIV 1024    /* chrony: compliant AES-128-GCM-SIV export */
/* Pool records: permanent and experimental code points. */
#define NKE_REC_KEEP_ALIVE 8
#define NKE_REC_SUPPORTED_PROTOS 9
#define NKE_REC_SUPPORTED_AEADS 10
#define NKE_REC_FIXED_KEY 12
#define NKE_REC_SERVER_DENY 13
#define NKE_REC_AUTH_TOKEN 14
#define NKE_REC_X_KEEP_ALIVE 0x4000
#define NKE_REC_X_SUPPORTED_AEADS 0x4001
#define NKE_REC_X_FIXED_KEY 0x4002
#define NKE_REC_X_SERVER_DENY 0x4003
#define NKE_REC_X_SUPPORTED_PROTOS 0x4004
#define NKE_REC_X_AUTH_TOKEN 0x4005
#define NKE_REC_UUID_REQUEST 0x4F01
#define NKE_CRITICAL 0x8000

/* Error codes (RFC 8915 4.1.3) and the pool's private ones. */
#define NKE_ERR_UNRECOGNIZED_CRITICAL 0
#define NKE_ERR_BAD_REQUEST 1
#define NKE_ERR_INTERNAL 2
#define NKE_ERR_NO_SUCH_SERVER 0xF000
#define NKE_ERR_DOWNSTREAM_CONNECT 0xF001
#define NKE_ERR_DOWNSTREAM_CAPS 0xF002
#define NKE_ERR_DOWNSTREAM_COOKIES 0xF003

#define NKE_PROTO_NTPV4 0

/* Caps on what we accept. */
#define NKE_MAX_MSG_LEN 65536           /* a whole response */
#define NKE_MAX_REQ_LEN 4096            /* a request we build */
#define NKE_MAX_COOKIE_LEN 256
#define NKE_MAX_COOKIES 8               /* kept; more are counted, not kept */
#define NKE_MAX_SERVER_LEN 255
#define NKE_MAX_AEADS 8                 /* in an offer */
#define NKE_MAX_TOKEN_LEN 512
#define NKE_MAX_UUID_LEN 64
#define NKE_MAX_KEY_LEN 64

enum nke_shape {
    NKE_SHAPE_PLAIN = 0,        /* RFC 8915 client request */
    NKE_SHAPE_POOL_CAPS = 1,    /* token + supported lists query */
    NKE_SHAPE_POOL_FIXED_KEY = 2, /* token + fixed keys we supply */
    NKE_SHAPE_POOL_KE = 3,      /* to a pool's KE: monitor key + UUID request */
};

struct nke_request {
    enum nke_shape shape;
    bool experimental;          /* pool records with their 0x40xx code points */
    bool keep_alive;            /* add a Keep Alive record (pool shapes) */
    uint16_t aeads[NKE_MAX_AEADS]; /* offer, preference order; exactly one for FIXED_KEY */
    size_t naeads;
    const char *token;          /* pool shapes: token (or monitor key), UTF-8 */
    const char *uuid;           /* POOL_KE: time source UUID, canonical text */
    const uint8_t *c2s, *s2c;   /* FIXED_KEY: the keys we supply */
    size_t key_len;
};

/* Build the request for req into out (cap bytes).  A plain request offering 30
   also carries record 1024.  Returns the length, or -1 when req is invalid or
   does not fit. */
long nke_build_request(const struct nke_request *req, uint8_t *out, size_t cap)
    __attribute__((warn_unused_result));

/* One record as it lies in a buffer; body points into that buffer. */
struct nke_record {
    uint16_t type;              /* without the critical bit */
    bool critical;
    const uint8_t *body;
    uint16_t len;
};

/* Read the record at *off in buf[0..len).  Returns 1 and advances *off,
   0 when the record is not complete yet (or *off == len). */
int nke_record_next(const uint8_t *buf, size_t len, size_t *off, struct nke_record *rec);

/* Append one record; returns the new length or -1 when it would not fit. */
long nke_put_record(uint8_t *out, size_t cap, size_t off, uint16_t type, bool critical,
                    const void *body, size_t len);

/* Scan a stream for the End of Message record.  Returns 1 with *end = the
   offset just after it, 0 when more bytes are needed. */
int nke_message_end(const uint8_t *buf, size_t len, size_t *end);

struct nke_response {
    int error;                  /* Error record code, -1 none */
    int warning;                /* Warning record code, -1 none */
    int next_protocol;          /* -1 none */
    int aead;                   /* -1 none */
    int ncookies;               /* all New Cookie records seen */
    int nkept;                  /* cookies kept (<= NKE_MAX_COOKIES) */
    const uint8_t *cookie[NKE_MAX_COOKIES]; /* point into the parsed buffer */
    uint16_t cookie_len[NKE_MAX_COOKIES];
    bool has_server;
    char server[NKE_MAX_SERVER_LEN + 1];
    bool has_port;
    uint16_t port;
    bool compliant_gcm_siv;     /* record 1024 echoed */
    bool keep_alive;
    int n_supported_aeads;      /* -1 when the record is absent */
    struct { uint16_t id, key_length; } supported_aeads[RESULT_MAX_SUPPORTED];
    int n_supported_protocols;  /* -1 when absent */
    uint16_t supported_protocols[RESULT_MAX_SUPPORTED];
};

/* Parse and validate the complete response buf[0..len) to req (len must end
   exactly after End of Message: any trailing byte is a violation).  Returns
   KE_OK or exactly one failure reason, with a human text in detail (capacity
   RESULT_DETAIL_MAX).  resp borrows pointers into buf. */
enum ke_status nke_parse_response(const uint8_t *buf, size_t len,
                                  const struct nke_request *req,
                                  struct nke_response *resp, char *detail);

/* The name of an Error record code ("bad request", "no such server", ...). */
const char *nke_error_name(unsigned code);

/* The record type a request shape uses for a pool record, honouring the
   experimental flag (e.g. nke_pool_type(NKE_REC_AUTH_TOKEN, true) = 0x4005). */
uint16_t nke_pool_type(uint16_t permanent, bool experimental);

#endif
