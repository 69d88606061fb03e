/* monwire.c - the monitor API's JSON both ways (monwire.h).
 *
 * Statuses: ours are finer than the existing pool's, so each of ours maps to
 * one wire status and travels with its own code as "reason"; a reader that
 * knows only the wire status still scores the same rule (SCORING.md 4 or 5).
 * Reading, a "reason" is believed only when it maps back to the wire status
 * it came with; without one, a wire status gets the nearest code of ours
 * (Failed: ke_error; CouldNotConnect, CouldNotReceive: send_failed; Deny:
 * kod_deny, or kod_rstr / kod_rate after a "kiss" of RSTR / RATE).  Our
 * kod_rate goes out as Deny with kiss RATE: the wire has no rate status.
 *
 * Everything read is checked before it reaches a struct: types, finiteness,
 * ranges, the UTF-8 and length of each string.  Writers omit nothing the
 * existing shape has, so strict readers of that shape accept ours. */
#include "web/monwire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define DEFAULT_KE_PORT 4460

static const struct {
    const char *name;
    enum monwire_kind kind;
} kinds[] = {
    {"Srvv4", MONWIRE_SRV_V4},   {"Srvv6", MONWIRE_SRV_V6},   {"Poolv4", MONWIRE_POOL_V4},
    {"Poolv6", MONWIRE_POOL_V6}, {"Ipv4", MONWIRE_IP_V4},     {"Ipv6", MONWIRE_IP_V6},
    {"Ntsv4", MONWIRE_SRV_V4},   {"Ntsv6", MONWIRE_SRV_V6},
};

int
monwire_kind_parse(const char *name, enum monwire_kind *out)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(name, kinds[i].name) == 0) {
            *out = kinds[i].kind;
            return 0;
        }
    return -1;
}

const char *
monwire_kind_str(enum monwire_kind k)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i].kind == k)
            return kinds[i].name;
    return "unknown";
}

int
monwire_kind_family(enum monwire_kind k)
{
    return k == MONWIRE_SRV_V6 || k == MONWIRE_POOL_V6 || k == MONWIRE_IP_V6 ? 6 : 4;
}

enum probe_kind
monwire_kind_probe(enum monwire_kind k)
{
    return k == MONWIRE_POOL_V4 || k == MONWIRE_POOL_V6 ? PROBE_KIND_POOL : PROBE_KIND_NTS;
}

json_t *
monwire_duration_json(double s)
{
    double secs;

    if (!isfinite(s) || s < 0)
        s = 0;
    secs = floor(s);
    return json_pack("{s:I,s:I}", "secs", (json_int_t)secs, "nanos",
                     (json_int_t)lround((s - secs) * 1e9) % 1000000000);
}

int
monwire_duration_parse(const json_t *j, double *out)
{
    json_t *s = json_object_get(j, "secs"), *n = json_object_get(j, "nanos");

    if (!json_is_object(j) || !json_is_integer(s) || (n && !json_is_integer(n)))
        return -1;
    if (json_integer_value(s) < 0 || json_integer_value(s) > 100L * 365 * 86400 ||
        (n && (json_integer_value(n) < 0 || json_integer_value(n) >= 1000000000)))
        return -1;
    *out = (double)json_integer_value(s) + (n ? json_integer_value(n) / 1e9 : 0);
    return 0;
}

/* ---- small checked getters ------------------------------------------------------ */

/* A bounded UTF-8 string without controls into buf; absent or null keeps buf.
   -1 when present with another type, too long or not valid text. */
static int
get_text(const json_t *o, const char *key, char *buf, size_t len)
{
    json_t *v = json_object_get(o, key);
    size_t n;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    n = json_string_length(v);
    if (n >= len || !util_utf8_valid(json_string_value(v), n, true))
        return -1;
    memcpy(buf, json_string_value(v), n + 1);
    return 0;
}

/* A finite number in [lo, hi) (integers too); absent keeps *out.  -1 when
   present and not such a number. */
static int
get_num(const json_t *o, const char *key, double lo, double hi, double *out)
{
    json_t *v = json_object_get(o, key);
    double d;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return -1;
    d = json_number_value(v);
    if (!isfinite(d) || d < lo || d >= hi)
        return -1;
    *out = d;
    return 0;
}

static int
get_int(const json_t *o, const char *key, long lo, long hi, int *out)
{
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return -1;
    *out = (int)json_integer_value(v);
    return 0;
}

/* key is there with a value other than null. */
static bool
present(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return v && !json_is_null(v);
}

static bool
uuid_ok(const char *u)
{
    if (strlen(u) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = u[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                     (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

/* ---- the work list -------------------------------------------------------------- */

static int
parse_item(const json_t *pair, struct monwire_work *w, struct monwire_item *it)
{
    json_t *kj = json_array_get(pair, 0), *o = json_array_get(pair, 1), *port;
    const char *name;

    if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_string(kj) ||
        !json_is_object(o))
        return -1;
    name = json_string_value(kj);
    memset(it, 0, sizeof(*it));
    if (monwire_kind_parse(name, &it->kind) != 0) {
        if (w->unknown++ == 0 && strlen(name) < sizeof(w->unknown_kind) &&
            util_utf8_valid(name, strlen(name), true))
            snprintf(w->unknown_kind, sizeof(w->unknown_kind), "%s", name);
        return 1;
    }
    snprintf(it->name, sizeof(it->name), "%s", name);
    if (get_text(o, "uuid", it->uuid, sizeof(it->uuid)) != 0 || !uuid_ok(it->uuid) ||
        get_text(o, "domain", it->domain, sizeof(it->domain)) != 0 ||
        get_text(o, "token", it->token, sizeof(it->token)) != 0)
        return -1;
    port = json_object_get(o, "port");
    if (port && !json_is_null(port)) {
        if (!json_is_integer(port) || json_integer_value(port) < 1 ||
            json_integer_value(port) > 65535)
            return -1;
        it->port = (uint16_t)json_integer_value(port);
    }
    switch (it->kind) {
    case MONWIRE_IP_V4:
    case MONWIRE_IP_V6:
        return 0;
    case MONWIRE_POOL_V4:
    case MONWIRE_POOL_V6:
        if (!it->token[0])
            return -1;
        /* fall through */
    case MONWIRE_SRV_V4:
    case MONWIRE_SRV_V6:
        if (!it->domain[0])
            return -1;
        if (!it->port)
            it->port = DEFAULT_KE_PORT;
        return 0;
    }
    return -1;
}

int
monwire_work_parse(const json_t *j, struct monwire_work *out, char *err, size_t errlen)
{
    json_t *list = json_object_get(j, "timesources"), *v;
    static const char *const dur[] = {"result_max_waittime", "update_interval",
                                      "probe_interval", "nts_timeout", "ntp_timeout"};
    double *dst[5];
    char poolke[MONWIRE_HOST_MAX + 8] = "";

    memset(out, 0, sizeof(*out));
    dst[0] = &out->max_waittime;
    dst[1] = &out->update_interval;
    dst[2] = &out->probe_interval;
    dst[3] = &out->nts_timeout;
    dst[4] = &out->ntp_timeout;
    if (!json_is_object(j) || !json_is_array(list)) {
        snprintf(err, errlen, "no timesources list");
        return -1;
    }
    for (size_t i = 0; i < 5; i++)
        if (monwire_duration_parse(json_object_get(j, dur[i]), dst[i]) != 0) {
            snprintf(err, errlen, "%s missing or malformed", dur[i]);
            return -1;
        }
    if (out->probe_interval < 1 || out->update_interval < 1 || out->nts_timeout <= 0 ||
        out->ntp_timeout <= 0 || out->nts_timeout > 300 || out->ntp_timeout > 60 ||
        out->probe_interval > 86400) {
        snprintf(err, errlen, "timings out of range");
        return -1;
    }
    v = json_object_get(j, "result_batchsize");
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > MONWIRE_MAX_ITEMS) {
        snprintf(err, errlen, "result_batchsize missing or not in 1..%d", MONWIRE_MAX_ITEMS);
        return -1;
    }
    out->batchsize = (int)json_integer_value(v);
    if (get_text(j, "result_endpoint", out->result_endpoint,
                 sizeof(out->result_endpoint)) != 0 || !out->result_endpoint[0]) {
        snprintf(err, errlen, "result_endpoint missing or malformed");
        return -1;
    }
    if (get_text(j, "poolke", poolke, sizeof(poolke)) != 0) {
        snprintf(err, errlen, "poolke malformed");
        return -1;
    }
    if (poolke[0]) {
        char *colon = strrchr(poolke, ':');
        long port = DEFAULT_KE_PORT;
        if (colon && !strchr(poolke, ']') && strchr(poolke, ':') == colon) {
            if (util_parse_long(colon + 1, 1, 65535, &port) != 0) {
                snprintf(err, errlen, "poolke port malformed");
                return -1;
            }
            *colon = '\0';
        }
        if (strlen(poolke) >= sizeof(out->poolke)) {
            snprintf(err, errlen, "poolke too long");
            return -1;
        }
        memcpy(out->poolke, poolke, strlen(poolke) + 1);
        out->poolke_port = (uint16_t)port;
    }
    out->items = calloc(json_array_size(list) ? json_array_size(list) : 1,
                        sizeof(*out->items));
    if (!out->items) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        int rc = parse_item(json_array_get(list, i), out, &out->items[out->n]);
        if (rc == 0)
            out->n++;
        else if (rc < 0)
            out->bad++;
    }
    return 0;
}

void
monwire_work_free(struct monwire_work *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        util_wipe(w->items[i].token, sizeof(w->items[i].token));
    free(w->items);
    w->items = NULL;
    w->n = 0;
}

/* ---- statuses ------------------------------------------------------------------- */

static const char *
ke_wire(enum ke_status s)
{
    switch (s) {
    case KE_OK: return "Success";
    case KE_TIMEOUT:
    case KE_CONNECT_TIMEOUT: return "Timeout";
    case KE_DNS_FAILED: case KE_CONNECT_REFUSED: case KE_TLS_FAILED: case KE_TLS_VERSION:
    case KE_CERT_UNTRUSTED: case KE_CERT_NAME_MISMATCH: case KE_CERT_EXPIRED:
    case KE_ALPN_MISMATCH: case KE_ERROR: case KE_WARNING: case KE_MALFORMED:
    case KE_AEAD_UNEXPECTED: case KE_AEAD_NONE: case KE_NO_COOKIES: case KE_TOKEN_REJECTED:
    case KE_POOL_UNSUPPORTED: case KE_NO_SUCH_SERVER: case KE_RESPONSE_TOO_LARGE:
    case KE_LOCAL_ERROR: case KE_NOT_ATTEMPTED: break;
    }
    return "Failed";
}

static const char *
ntp_wire(enum ntp_status s)
{
    switch (s) {
    case NTP_OK: return "Success";
    case NTP_DNS_FAILED: return "DnsLookupFailed";
    case NTP_SEND_FAILED:
    case NTP_LOCAL_ERROR: return "CouldNotSend";
    case NTP_TIMEOUT: return "Timeout";
    case NTP_NTS_NAK: return "NtsNak";
    case NTP_KOD_DENY:
    case NTP_KOD_RSTR:
    case NTP_KOD_RATE: return "Deny";
    case NTP_NOT_ATTEMPTED: return "NotAttempted";
    }
    return "CouldNotSend";
}

static int
ntp_from_wire(const char *w, const char *kiss, enum ntp_status *out)
{
    static const struct {
        const char *w;
        enum ntp_status s;
    } map[] = {{"Success", NTP_OK},          {"DnsLookupFailed", NTP_DNS_FAILED},
               {"CouldNotConnect", NTP_SEND_FAILED}, {"CouldNotSend", NTP_SEND_FAILED},
               {"CouldNotReceive", NTP_SEND_FAILED}, {"NtsNak", NTP_NTS_NAK},
               {"Deny", NTP_KOD_DENY},       {"Timeout", NTP_TIMEOUT},
               {"NotAttempted", NTP_NOT_ATTEMPTED}};

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(w, map[i].w) == 0) {
            *out = map[i].s;
            if (*out == NTP_KOD_DENY && strcmp(kiss, "RSTR") == 0)
                *out = NTP_KOD_RSTR;
            if (*out == NTP_KOD_DENY && strcmp(kiss, "RATE") == 0)
                *out = NTP_KOD_RATE;
            return 0;
        }
    return -1;
}

/* ---- writing a result ----------------------------------------------------------- */

static void
put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        *ok = false;
}

static double
fin(double v)
{
    return isfinite(v) ? v : 0;
}

static json_t *
ntp_json(const struct ntp_result *x, bool *ok)
{
    json_t *o = json_object();
    bool measured = x->status == NTP_OK;
    double rt = measured ? fin(x->t4 - x->t1) : 0, res = measured ? fin(x->t3 - x->t2) : 0;
    char refid[9];

    if (!o) {
        *ok = false;
        return NULL;
    }
    if (rt < 0)
        rt = 0;
    if (res < 0 || res > rt)
        res = 0;
    put(o, "status", json_string(ntp_wire(x->status)), ok);
    put(o, "request_sent", json_integer(x->t1 > 0 ? (json_int_t)floor(x->t1) : 0), ok);
    put(o, "roundtrip_duration", json_real(rt), ok);
    put(o, "remote_residence_time", json_real(res), ok);
    put(o, "offset", json_real(measured ? fin(x->offset) : 0), ok);
    put(o, "stratum", json_integer(measured && x->stratum >= 0 ? x->stratum : 0), ok);
    put(o, "leap_indicates_synchronized", json_boolean(measured && x->leap != 3), ok);
    put(o, "requested_cookies", json_integer(x->cookies_requested), ok);
    put(o, "received_cookies", json_integer(x->cookies_received), ok);
    put(o, "reason", json_string(result_ntp_status_str(x->status)), ok);
    if (x->kiss[0])
        put(o, "kiss", json_string(x->kiss), ok);
    else if (x->status == NTP_KOD_RATE || x->status == NTP_KOD_RSTR)
        put(o, "kiss", json_string(x->status == NTP_KOD_RATE ? "RATE" : "RSTR"), ok);
    if (measured) {
        snprintf(refid, sizeof(refid), "%08X", (unsigned)x->refid);
        if (x->leap >= 0 && x->leap <= 3) /* unknown: left out, as readers allow */
            put(o, "leap", json_integer(x->leap), ok);
        put(o, "root_delay", json_real(fin(x->root_delay)), ok);
        put(o, "root_dispersion", json_real(fin(x->root_dispersion)), ok);
        put(o, "refid", json_string(refid), ok);
    }
    return o;
}

static json_t *
entry(const char *name, const char *uuid, json_t *body)
{
    if (!body)
        return NULL;
    return json_pack("[[s,s],o]", name, uuid, body);
}

json_t *
monwire_result_json(const char *name, const char *uuid, const struct probe_result *r,
                    double clock_error)
{
    json_t *o = json_object(), *ke = json_object(), *tls = json_object(), *ex;
    const struct ke_result *k = &r->ke;
    bool ok = o && ke && tls;

    if (!ok) {
        json_decref(o);
        json_decref(ke);
        json_decref(tls);
        return NULL;
    }
    put(ke, "status", json_string(ke_wire(k->status)), &ok);
    put(ke, "description", json_string(k->detail), &ok);
    put(ke, "exchange_start", json_integer(r->start_time), &ok);
    put(ke, "exchange_duration", json_real(fin(k->duration) > 0 ? fin(k->duration) : 0),
        &ok);
    put(ke, "num_cookies", json_integer(k->cookies > 0 ? k->cookies : 0), &ok);
    put(ke, "reason", json_string(result_ke_status_str(k->status)), &ok);
    if (r->address[0])
        put(ke, "address", json_string(r->address), &ok);
    if (k->aead >= 0)
        put(ke, "aead", json_integer(k->aead), &ok);
    if (k->tls_version[0]) {
        put(tls, "version", json_string(k->tls_version), &ok);
        put(tls, "cipher", json_string(k->cipher), &ok);
        if (k->not_after)
            put(tls, "cert_not_after", json_integer(k->not_after), &ok);
        put(ke, "tls", tls, &ok);
        tls = NULL;
    }
    json_decref(tls);
    put(o, "keyexchange", ke, &ok);
    ex = ntp_json(&r->ntp[0], &ok);
    put(o, "ntp_with_ke_cookie", ex, &ok);
    ex = ntp_json(&r->ntp[1], &ok);
    put(o, "ntp_with_ntp_cookie", ex, &ok);
    if (clock_error >= 0 || isnan(clock_error))
        put(o, "monitor_clock_error", isnan(clock_error) ? json_null() : json_real(clock_error),
            &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return entry(name, uuid, o);
}

json_t *
monwire_na_json(const char *name, const char *uuid, int family, int64_t t)
{
    json_t *o = json_pack("{s:{s:s,s:s,s:I,s:f,s:i},s:n,s:n}", "keyexchange", "status",
                          family == 6 ? "SrvIpv4Only" : "SrvIpv6Only", "description", "",
                          "exchange_start", (json_int_t)t, "exchange_duration", 0.0,
                          "num_cookies", 0, "ntp_with_ke_cookie", "ntp_with_ntp_cookie");
    return entry(name, uuid, o);
}

int
monwire_entry_id(json_t *entry, const char **kind, const char **uuid, int64_t *start)
{
    json_int_t t = 0;

    if (json_unpack(entry, "[[s,s],{s:{s:I}}]", kind, uuid, "keyexchange", "exchange_start",
                    &t) != 0)
        return -1;
    *start = (int64_t)t;
    return 0;
}

/* ---- reading a result ----------------------------------------------------------- */

#define FAIL(code)                                                                     \
    do {                                                                               \
        snprintf(why, whylen, "%s", code);                                             \
        return -1;                                                                     \
    } while (0)

static int
parse_ntp(const json_t *o, struct ntp_result *x, char *why, size_t whylen)
{
    char st[32] = "", reason[32] = "", refid[16] = "";
    double rt = 0, res = 0, sent = 0;
    int sync = -1;
    json_t *lis;

    result_ntp_init(x);
    if (!o || json_is_null(o)) {
        x->status = NTP_NOT_ATTEMPTED;
        return 0;
    }
    if (!json_is_object(o))
        FAIL("malformed");
    if (get_text(o, "status", st, sizeof(st)) != 0 || get_text(o, "reason", reason,
                                                                 sizeof(reason)) != 0 ||
        get_text(o, "kiss", x->kiss, sizeof(x->kiss)) != 0 ||
        get_text(o, "refid", refid, sizeof(refid)) != 0 ||
        get_text(o, "description", x->detail, sizeof(x->detail)) != 0 ||
        get_text(o, "detail", x->detail, sizeof(x->detail)) != 0)
        FAIL("bad_text");
    if (ntp_from_wire(st, x->kiss, &x->status) != 0)
        FAIL("bad_status");
    if (reason[0]) {
        enum ntp_status r;
        if (result_ntp_status_parse(reason, &r) != 0 || strcmp(ntp_wire(r), st) != 0)
            FAIL("bad_status");
        x->status = r;
    }
    if (get_num(o, "request_sent", 0, 1e11, &sent) != 0 ||
        get_num(o, "roundtrip_duration", 0, MONWIRE_MAX_DURATION, &rt) != 0 ||
        get_num(o, "remote_residence_time", 0, MONWIRE_MAX_DURATION, &res) != 0 ||
        get_num(o, "offset", -MONWIRE_MAX_OFFSET, MONWIRE_MAX_OFFSET, &x->offset) != 0 ||
        get_num(o, "root_delay", 0, MONWIRE_MAX_DURATION, &x->root_delay) != 0 ||
        get_num(o, "root_dispersion", 0, MONWIRE_MAX_DURATION, &x->root_dispersion) != 0 ||
        get_int(o, "stratum", 0, 255, &x->stratum) != 0 ||
        get_int(o, "leap", 0, 3, &x->leap) != 0 ||
        get_int(o, "requested_cookies", 0, 64, &x->cookies_requested) != 0 ||
        get_int(o, "received_cookies", 0, 64, &x->cookies_received) != 0)
        FAIL("bad_value");
    lis = json_object_get(o, "leap_indicates_synchronized");
    if (lis && !json_is_null(lis)) {
        if (!json_is_boolean(lis))
            FAIL("bad_value");
        sync = json_is_true(lis);
    }
    if (refid[0]) {
        char *end;
        unsigned long v = strtoul(refid, &end, 16);
        if (*end || strlen(refid) > 8)
            FAIL("bad_value");
        x->refid = (uint32_t)v;
    }
    if (x->status == NTP_OK) {
        /* Present and not null: null would leave offset NaN, stratum -1. */
        if (!present(o, "offset") || !present(o, "stratum") ||
            !present(o, "roundtrip_duration"))
            FAIL("malformed");
        /* Without our "leap", the wire's boolean says synchronised or not. */
        if (!json_object_get(o, "leap") && sync >= 0)
            x->leap = sync ? 0 : 3;
        if (res > rt)
            FAIL("bad_value");
        x->t1 = sent;
        x->t4 = sent + rt;
        x->t2 = sent + x->offset + (rt - res) / 2;
        x->t3 = x->t2 + res;
        x->delay = rt - res;
    } else {
        x->offset = NAN;
        x->delay = NAN;
        x->t1 = sent;
    }
    return 0;
}

int
monwire_sample_parse(const json_t *e, int64_t oldest, int64_t newest,
                     struct monwire_sample *out, char *why, size_t whylen)
{
    json_t *id = json_array_get(e, 0), *body = json_array_get(e, 1), *ke, *ce;
    struct probe_result *r = &out->res;
    char st[32] = "", reason[32] = "", version[16] = "", cipher[64] = "";
    double start = -1, dur = 0;
    int cookies = 0;
    json_t *tls, *na;

    memset(out, 0, sizeof(*out));
    result_probe_init(r);
    if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_array(id) ||
        json_array_size(id) != 2 || !json_is_object(body))
        FAIL("malformed");
    if (!json_is_string(json_array_get(id, 0)) ||
        monwire_kind_parse(json_string_value(json_array_get(id, 0)), &out->kind) != 0)
        FAIL("bad_kind");
    if (!json_is_string(json_array_get(id, 1)) ||
        json_string_length(json_array_get(id, 1)) >= sizeof(out->uuid) ||
        !uuid_ok(json_string_value(json_array_get(id, 1))))
        FAIL("bad_uuid");
    snprintf(out->uuid, sizeof(out->uuid), "%s", json_string_value(json_array_get(id, 1)));
    for (char *p = out->uuid; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    r->kind = monwire_kind_probe(out->kind);
    r->family = monwire_kind_family(out->kind);
    ke = json_object_get(body, "keyexchange");
    if (!json_is_object(ke))
        FAIL("malformed");
    if (get_text(ke, "status", st, sizeof(st)) != 0 ||
        get_text(ke, "reason", reason, sizeof(reason)) != 0 ||
        get_text(ke, "description", r->ke.detail, sizeof(r->ke.detail)) != 0 ||
        get_text(ke, "address", r->address, sizeof(r->address)) != 0)
        FAIL("bad_text");
    if (get_num(ke, "exchange_start", 0, 1e11, &start) != 0 ||
        get_num(ke, "exchange_duration", 0, MONWIRE_MAX_DURATION, &dur) != 0 ||
        get_int(ke, "num_cookies", 0, 64, &cookies) != 0 ||
        get_int(ke, "aead", 0, 65535, &r->ke.aead) != 0)
        FAIL("bad_value");
    if (!json_object_get(ke, "exchange_start"))
        FAIL("malformed");
    if (start < (double)oldest || start > (double)newest)
        FAIL("bad_time");
    out->time = (int64_t)floor(start);
    r->start_time = out->time;
    r->start_time_frac = start - floor(start);
    r->ke.duration = dur;
    r->ke.cookies = cookies;
    tls = json_object_get(ke, "tls");
    if (tls && !json_is_null(tls)) {
        double na_t = 0;
        if (!json_is_object(tls))
            FAIL("malformed");
        if (get_text(tls, "version", version, sizeof(version)) != 0 ||
            get_text(tls, "cipher", cipher, sizeof(cipher)) != 0)
            FAIL("bad_text");
        if (get_num(tls, "cert_not_after", 0, 1e11, &na_t) != 0)
            FAIL("bad_value");
        snprintf(r->ke.tls_version, sizeof(r->ke.tls_version), "%s", version);
        snprintf(r->ke.cipher, sizeof(r->ke.cipher), "%s", cipher);
        r->ke.not_after = (int64_t)na_t;
    }
    ce = json_object_get(body, "monitor_clock_error");
    out->clock_error = 0;
    if (ce) {
        if (json_is_null(ce))
            out->clock_error = NAN;
        else if (!json_is_number(ce) || !isfinite(json_number_value(ce)) ||
                 json_number_value(ce) < 0 || json_number_value(ce) >= MONWIRE_MAX_OFFSET)
            FAIL("bad_value");
        else
            out->clock_error = json_number_value(ce);
    }
    if (strcmp(st, "SrvIpv4Only") == 0 || strcmp(st, "SrvIpv6Only") == 0) {
        out->not_applicable = true;
        r->ke.status = KE_NOT_ATTEMPTED;
        return 0;
    }
    if (strcmp(st, "Success") == 0)
        r->ke.status = KE_OK;
    else if (strcmp(st, "Timeout") == 0)
        r->ke.status = KE_TIMEOUT;
    else if (strcmp(st, "Failed") == 0)
        r->ke.status = KE_ERROR;
    else
        FAIL("bad_status");
    if (reason[0]) {
        enum ke_status k;
        if (result_ke_status_parse(reason, &k) != 0 || strcmp(ke_wire(k), st) != 0)
            FAIL("bad_status");
        r->ke.status = k;
    }
    na = json_object_get(body, "ntp_with_ke_cookie");
    if (parse_ntp(na, &r->ntp[0], why, whylen) != 0 ||
        parse_ntp(json_object_get(body, "ntp_with_ntp_cookie"), &r->ntp[1], why,
                  whylen) != 0)
        return -1;
    r->n_ntp = RESULT_NTP_EXCHANGES;
    for (int i = 0; i < RESULT_NTP_EXCHANGES; i++)
        if (r->ntp[i].status != NTP_NOT_ATTEMPTED && !util_utf8_valid(r->ntp[i].kiss,
                                                                       strlen(r->ntp[i].kiss),
                                                                       true))
            FAIL("bad_text");
    if (r->ke.status != KE_OK && r->ntp[0].status == NTP_OK)
        FAIL("bad_status"); /* an NTP exchange needs the key exchange's cookies */
    return 0;
}
