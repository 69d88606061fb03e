/* monwire.h - the monitor API's wire format (MONITOR-API.md), shared by the
 * service (web/monapi.c answers GET /monitoring/get_work and POST
 * /monitoring/submit) and the remote agent (cmd/ntspool-monitor.c): pure
 * JSON in, plain structs out, and back.  No I/O, no clock: callers pass the
 * time window a result must fall in.
 *
 * Kinds: the existing pool's Srvv4/Srvv6 (directly to domain:port; Ntsv4/
 * Ntsv6 are aliases) and Ipv4/Ipv6 (through the pool's own KE "poolke":
 * the monitor key as token, a UUID Request for the source), and ours,
 * Poolv4/Poolv6 (the direct pool path with the source's token).
 *
 * A result is [[kind, uuid], {"keyexchange", "ntp_with_ke_cookie",
 * "ntp_with_ntp_cookie"}] in the existing shape; our extra fields are
 * optional for every reader: in "keyexchange" "reason" (our KE status code),
 * "address", "aead", "tls" {"version", "cipher", "cert_not_after"}; per NTP
 * exchange "reason" (our NTP status code), "kiss", "leap", "root_delay",
 * "root_dispersion", "refid"; and next to the three, "monitor_clock_error"
 * (s, null: the monitor's clock is unsynchronised; absent: it does not say),
 * which the service honours (SCORING.md rule 1). */
#ifndef NTSPOOL_WEB_MONWIRE_H
#define NTSPOOL_WEB_MONWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "monitor/result.h"

#define MONWIRE_MAX_BODY    (1024 * 1024)  /* bytes of a submit body (other routes:
                                             WEB_MAX_BODY) */
#define MONWIRE_MAX_ITEMS   1000           /* results per submit */
#define MONWIRE_MAX_WORK    (64L << 20)    /* bytes of a work list the agent reads */
#define MONWIRE_MAX_OFFSET  1e6            /* s: |offset| beyond is refused */
#define MONWIRE_MAX_DURATION 3600.0        /* s: durations must be below */
#define MONWIRE_UUID_MAX    40
#define MONWIRE_NAME_MAX    16             /* a kind's name, NUL included */
#define MONWIRE_TOKEN_MAX   128
#define MONWIRE_HOST_MAX    256
#define MONWIRE_URL_MAX     1024
#define MONWIRE_REASON_MAX  128

enum monwire_kind {
    MONWIRE_SRV_V4 = 0,  /* Srvv4, Ntsv4 */
    MONWIRE_SRV_V6 = 1,  /* Srvv6, Ntsv6 */
    MONWIRE_POOL_V4 = 2, /* Poolv4 */
    MONWIRE_POOL_V6 = 3, /* Poolv6 */
    MONWIRE_IP_V4 = 4,   /* Ipv4: through poolke */
    MONWIRE_IP_V6 = 5,   /* Ipv6 */
};

/* 0 and *out for a known kind name (aliases included), -1 otherwise. */
int monwire_kind_parse(const char *name, enum monwire_kind *out);
/* The canonical name ("Srvv4", ...); never NULL. */
const char *monwire_kind_str(enum monwire_kind k);
/* 4 or 6. */
int monwire_kind_family(enum monwire_kind k);
/* PROBE_KIND_POOL for Poolv4/v6, else PROBE_KIND_NTS. */
enum probe_kind monwire_kind_probe(enum monwire_kind k);

/* {"secs": N, "nanos": M} of s (>= 0); NULL when out of memory. */
json_t *monwire_duration_json(double s);
/* Parse a duration object into *out (s); -1 when malformed or negative. */
int monwire_duration_parse(const json_t *j, double *out);

/* One item of a work list. */
struct monwire_item {
    enum monwire_kind kind;
    char name[MONWIRE_NAME_MAX];   /* the kind as the list spelt it */
    char uuid[MONWIRE_UUID_MAX];
    char domain[MONWIRE_HOST_MAX]; /* "" for Ipv4/Ipv6 */
    uint16_t port;                /* 0 for Ipv4/Ipv6 */
    char token[MONWIRE_TOKEN_MAX]; /* Poolv4/Poolv6; "" otherwise */
};

struct monwire_work {
    struct monwire_item *items; /* malloc'd */
    size_t n;
    size_t unknown;            /* items of kinds we do not know (skipped) */
    char unknown_kind[MONWIRE_NAME_MAX]; /* the first of them, for the log */
    size_t bad;                /* malformed items (skipped) */
    char poolke[MONWIRE_HOST_MAX]; /* "" none */
    uint16_t poolke_port;      /* from "host:port", default 4460 */
    char result_endpoint[MONWIRE_URL_MAX];
    int batchsize;             /* >= 1 */
    double max_waittime, update_interval, probe_interval, nts_timeout, ntp_timeout;
};

/* Parse a get_work answer.  Unknown kinds and malformed items are counted
   and skipped; a malformed envelope (timings, endpoint) fails.  0, or -1
   with a message in err.  monwire_work_free releases out->items. */
int monwire_work_parse(const json_t *j, struct monwire_work *out, char *err, size_t errlen);
void monwire_work_free(struct monwire_work *w);

/* The submit entry of one probe result of item kind `name` (as the work list
   spelt it) and uuid.  clock_error: the monitor's |clock error| in s, NAN
   unsynchronised, < 0 not reported.  New reference, NULL out of memory. */
json_t *monwire_result_json(const char *name, const char *uuid,
                           const struct probe_result *r, double clock_error);
/* The entry saying that the kind's family has no address (SrvIpv4Only for a
   v6 kind, SrvIpv6Only for a v4 kind) at Unix time t. */
json_t *monwire_na_json(const char *name, const char *uuid, int family, int64_t t);

/* The identity of a submit entry, as the service keys it (kind, uuid,
   exchange_start), for logs: 0 with *kind and *uuid pointing into entry, or
   -1 when entry is not in the submit shape. */
int monwire_entry_id(json_t *entry, const char **kind, const char **uuid, int64_t *start);

/* One submitted result, parsed and checked. */
struct monwire_sample {
    enum monwire_kind kind;
    char uuid[MONWIRE_UUID_MAX];
    bool not_applicable;       /* SrvIpv4Only / SrvIpv6Only */
    int64_t time;              /* exchange_start, s */
    double clock_error;        /* as struct db_sample.clock_error */
    struct probe_result res;   /* kind, family, start time, KE, both NTP */
};

/* Parse and check one submit entry: a known kind, a canonical uuid, known
   statuses (and reasons consistent with them), finite values with
   |offset| < MONWIRE_MAX_OFFSET, durations in [0, MONWIRE_MAX_DURATION),
   exchange_start within [oldest, newest], strings bounded and valid UTF-8.
   0, or -1 with a short reason code in why ("bad_kind", "bad_uuid",
   "bad_status", "bad_value", "bad_time", "bad_text", "malformed"). */
int monwire_sample_parse(const json_t *entry, int64_t oldest, int64_t newest,
                        struct monwire_sample *out, char *why, size_t whylen);

#endif
