/* sample_json.c - a probe result as JSON and back: the per-probe object of
 * PRODUCT.md's "ntspool-probe --json" (same names and units), plus
 * "start_time".  Unlike the CLI it omits what does not apply instead of
 * writing null, and empty details: the store keeps this text (see
 * samples.c), so every byte counts, and readers treat absent as null.
 * Parsing is strict about types but tolerant of absent fields, so older
 * stored rows keep loading when fields are appended. */
#include "db/db_int.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Set key to a new value unless the value is NULL (allocation failure is
   reported by the caller's final check of `ok`).  The object takes v even
   when this fails (jansson frees it then), so v must be complete: attach a
   child only once it is fully built, and never touch it afterwards. */
static void
put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        *ok = false;
}

static void
put_str(json_t *o, const char *key, const char *s, bool *ok)
{
    if (s && *s)
        put(o, key, json_string(s), ok);
}

static void
put_real(json_t *o, const char *key, double v, bool *ok)
{
    if (isfinite(v))
        put(o, key, json_real(v), ok);
}

static void
iso_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        buf[0] = '\0';
}

static int
parse_iso_time(const char *s, int64_t *out)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end != '\0')
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static json_t *
ke_json(const struct probe_result *r, bool full, bool *ok)
{
    const struct ke_result *k = &r->ke;
    json_t *o = json_object();

    if (!o) {
        *ok = false;
        return NULL;
    }
    put(o, "status", json_string(result_ke_status_str(k->status)), ok);
    put_str(o, "detail", k->detail, ok);
    if (full) {
        put_real(o, "duration", k->duration, ok);
        if (k->connect_time >= 0)
            put_real(o, "connect_time", k->connect_time, ok);
        if (k->handshake_time >= 0)
            put_real(o, "handshake_time", k->handshake_time, ok);
    }
    if (k->tls_version[0]) {
        json_t *tls = json_object();
        char when[32];

        if (tls) {
            put_str(tls, "version", k->tls_version, ok);
            put_str(tls, "cipher", k->cipher, ok);
            put_str(tls, "alpn", k->alpn, ok);
            put_str(tls, "subject", k->subject, ok);
            put_str(tls, "issuer", k->issuer, ok);
            if (k->not_after) {
                iso_time(k->not_after, when, sizeof(when));
                put_str(tls, "not_after", when, ok);
                /* Days left at the probe, as the CLI counts them. */
                if (full)
                    put(tls, "days_left",
                        json_integer((k->not_after - r->start_time) / 86400), ok);
            }
        }
        put(o, "tls", tls, ok);
    }
    if (k->next_protocol >= 0)
        put(o, "next_protocol", json_integer(k->next_protocol), ok);
    if (k->aead >= 0)
        put(o, "aead", json_integer(k->aead), ok);
    if (k->status == KE_OK || k->cookies > 0) {
        put(o, "cookies", json_integer(k->cookies), ok);
        if (k->cookies > 0)
            put(o, "cookie_size", json_integer(k->cookie_size), ok);
    }
    if (k->status == KE_OK) {
        put_str(o, "ntp_server", k->ntp_server, ok);
        put(o, "ntp_port", json_integer(k->ntp_port), ok);
    }
    if (k->compliant_gcm_siv)
        put(o, "compliant_gcm_siv", json_true(), ok);
    if (k->n_supported_aeads >= 0) {
        json_t *a = json_array();

        for (int i = 0; a && i < k->n_supported_aeads && i < RESULT_MAX_SUPPORTED; i++) {
            json_t *pair = json_pack("[ii]", (json_int_t)k->supported_aeads[i].id,
                                     (json_int_t)k->supported_aeads[i].key_length);
            if (!pair || json_array_append_new(a, pair) != 0)
                *ok = false;
        }
        put(o, "supported_aeads", a, ok);
    }
    if (k->n_supported_protocols >= 0) {
        json_t *a = json_array();

        for (int i = 0; a && i < k->n_supported_protocols && i < RESULT_MAX_SUPPORTED;
             i++)
            if (json_array_append_new(a, json_integer(k->supported_protocols[i])) != 0)
                *ok = false;
        put(o, "supported_protocols", a, ok);
    }
    return o;
}

static json_t *
ntp_json(const struct ntp_result *x, bool full, bool *ok)
{
    json_t *o = json_object();
    bool measured = x->status == NTP_OK;
    char refid[9];

    if (!o) {
        *ok = false;
        return NULL;
    }
    put(o, "status", json_string(result_ntp_status_str(x->status)), ok);
    put_str(o, "detail", x->detail, ok);
    put_str(o, "address", x->address, ok);
    if (x->port)
        put(o, "port", json_integer(x->port), ok);
    if (measured) {
        if (full) {
            put_real(o, "offset", x->offset, ok);
            put_real(o, "delay", x->delay, ok);
        }
        put(o, "stratum", json_integer(x->stratum), ok);
        /* An unknown leap (-1: a remote monitor may leave it out) is left
           out too, and reads back unknown. */
        if (x->leap >= 0)
            put(o, "leap", json_integer(x->leap), ok);
        snprintf(refid, sizeof(refid), "%08X", (unsigned)x->refid);
        put(o, "refid", json_string(refid), ok);
        put(o, "precision", json_integer(x->precision), ok);
        if (full) {
            put_real(o, "root_delay", x->root_delay, ok);
            put_real(o, "root_dispersion", x->root_dispersion, ok);
        }
    }
    put_str(o, "kiss", x->kiss, ok);
    put(o, "cookies_requested", json_integer(x->cookies_requested), ok);
    put(o, "cookies_received", json_integer(x->cookies_received), ok);
    return o;
}

/* full: every field; else without the per-probe numbers (see samples.c). */
static json_t *
build(const struct probe_result *r, bool full)
{
    json_t *o = json_object(), *ntp = json_array();
    bool ok = o && ntp;

    if (!ok)
        goto fail;
    put(o, "kind", json_string(result_kind_str(r->kind)), &ok);
    if (r->family == 4 || r->family == 6)
        put(o, "family", json_string(r->family == 4 ? "v4" : "v6"), &ok);
    put_str(o, "address", r->address, &ok);
    if (full)
        put(o, "start_time", json_integer(r->start_time), &ok);
    put(o, "reason", json_string(result_probe_reason_str(r->reason)), &ok);
    if (full)
        put_real(o, "step", r->step, &ok);
    put(o, "ke", ke_json(r, full, &ok), &ok);
    for (int i = 0; i < r->n_ntp && i < RESULT_NTP_EXCHANGES; i++)
        if (json_array_append_new(ntp, ntp_json(&r->ntp[i], full, &ok)) != 0)
            ok = false;
    if (json_array_size(ntp) > 0) {
        put(o, "ntp", ntp, &ok);
        ntp = NULL;
    }
    if (!ok)
        goto fail;
    json_decref(ntp);
    return o;
fail:
    json_decref(ntp);
    json_decref(o);
    return NULL;
}

json_t *
db_result_to_json(const struct probe_result *r)
{
    return build(r, true);
}

char *
db_result_detail_text(const struct probe_result *r)
{
    json_t *j = build(r, false);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    return text;
}

/* ---- parsing ---------------------------------------------------------------- */

static int
get_str(const json_t *o, const char *key, char *out, size_t len)
{
    const json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) >= len)
        return -1;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int
get_int(const json_t *o, const char *key, long long lo, long long hi, long long *out)
{
    const json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return -1;
    *out = json_integer_value(v);
    return 1;
}

static int
get_real(const json_t *o, const char *key, double *out)
{
    const json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return 0;
}

#define INT_FIELD(obj, key, lo, hi, dst)                                                 \
    do {                                                                                 \
        long long v_;                                                                    \
        int rc_ = get_int((obj), (key), (lo), (hi), &v_);                                \
        if (rc_ < 0)                                                                     \
            return -1;                                                                   \
        if (rc_ > 0)                                                                     \
            (dst) = v_;                                                                  \
    } while (0)

static int
ke_parse(const json_t *o, struct ke_result *k)
{
    const json_t *v;
    char buf[64];

    if (!json_is_object(o))
        return -1;
    if (get_str(o, "status", buf, sizeof(buf)) < 0 ||
        result_ke_status_parse(buf, &k->status) < 0)
        return -1;
    if (get_str(o, "detail", k->detail, sizeof(k->detail)) < 0 ||
        get_real(o, "duration", &k->duration) < 0 ||
        get_real(o, "connect_time", &k->connect_time) < 0 ||
        get_real(o, "handshake_time", &k->handshake_time) < 0 ||
        get_str(o, "ntp_server", k->ntp_server, sizeof(k->ntp_server)) < 0)
        return -1;
    v = json_object_get(o, "tls");
    if (v && !json_is_null(v)) {
        char when[32] = "";

        if (!json_is_object(v) ||
            get_str(v, "version", k->tls_version, sizeof(k->tls_version)) < 0 ||
            get_str(v, "cipher", k->cipher, sizeof(k->cipher)) < 0 ||
            get_str(v, "alpn", k->alpn, sizeof(k->alpn)) < 0 ||
            get_str(v, "subject", k->subject, sizeof(k->subject)) < 0 ||
            get_str(v, "issuer", k->issuer, sizeof(k->issuer)) < 0 ||
            get_str(v, "not_after", when, sizeof(when)) < 0)
            return -1;
        if (when[0] && parse_iso_time(when, &k->not_after) < 0)
            return -1;
    }
    INT_FIELD(o, "next_protocol", 0, 65535, k->next_protocol);
    INT_FIELD(o, "aead", 0, 65535, k->aead);
    INT_FIELD(o, "cookies", 0, 65535, k->cookies);
    INT_FIELD(o, "cookie_size", 0, 65535, k->cookie_size);
    INT_FIELD(o, "ntp_port", 0, 65535, k->ntp_port);
    k->compliant_gcm_siv = json_is_true(json_object_get(o, "compliant_gcm_siv"));
    v = json_object_get(o, "supported_aeads");
    if (v && !json_is_null(v)) {
        size_t i;
        json_t *pair;

        if (!json_is_array(v) || json_array_size(v) > RESULT_MAX_SUPPORTED)
            return -1;
        json_array_foreach(v, i, pair)
        {
            json_int_t id, klen;
            if (json_unpack(pair, "[II]", &id, &klen) != 0 || id < 0 || id > 65535 ||
                klen < 0 || klen > 65535)
                return -1;
            k->supported_aeads[i].id = (uint16_t)id;
            k->supported_aeads[i].key_length = (uint16_t)klen;
        }
        k->n_supported_aeads = (int)json_array_size(v);
    }
    v = json_object_get(o, "supported_protocols");
    if (v && !json_is_null(v)) {
        size_t i;
        json_t *id;

        if (!json_is_array(v) || json_array_size(v) > RESULT_MAX_SUPPORTED)
            return -1;
        json_array_foreach(v, i, id)
        {
            if (!json_is_integer(id) || json_integer_value(id) < 0 ||
                json_integer_value(id) > 65535)
                return -1;
            k->supported_protocols[i] = (uint16_t)json_integer_value(id);
        }
        k->n_supported_protocols = (int)json_array_size(v);
    }
    return 0;
}

static int
ntp_parse(const json_t *o, struct ntp_result *x)
{
    char buf[32] = "";
    char *end;

    if (!json_is_object(o))
        return -1;
    if (get_str(o, "status", buf, sizeof(buf)) < 0 ||
        result_ntp_status_parse(buf, &x->status) < 0)
        return -1;
    if (get_str(o, "detail", x->detail, sizeof(x->detail)) < 0 ||
        get_str(o, "address", x->address, sizeof(x->address)) < 0 ||
        get_real(o, "offset", &x->offset) < 0 || get_real(o, "delay", &x->delay) < 0 ||
        get_real(o, "root_delay", &x->root_delay) < 0 ||
        get_real(o, "root_dispersion", &x->root_dispersion) < 0 ||
        get_str(o, "kiss", x->kiss, sizeof(x->kiss)) < 0)
        return -1;
    INT_FIELD(o, "port", 0, 65535, x->port);
    INT_FIELD(o, "stratum", 0, 255, x->stratum);
    INT_FIELD(o, "leap", -1, 3, x->leap); /* -1: rows stored before it was left out */
    INT_FIELD(o, "precision", -128, 127, x->precision);
    INT_FIELD(o, "cookies_requested", 0, 255, x->cookies_requested);
    INT_FIELD(o, "cookies_received", 0, 255, x->cookies_received);
    buf[0] = '\0';
    if (get_str(o, "refid", buf, sizeof(buf)) < 0)
        return -1;
    if (buf[0]) {
        unsigned long v = strtoul(buf, &end, 16);
        if (*end != '\0' || strlen(buf) != 8)
            return -1;
        x->refid = (uint32_t)v;
    }
    return 0;
}

int
db_result_from_json(const json_t *j, struct probe_result *r)
{
    const json_t *v;
    char buf[32] = "";

    result_probe_init(r);
    if (!json_is_object(j))
        return -1;
    if (get_str(j, "kind", buf, sizeof(buf)) < 0)
        return -1;
    if (strcmp(buf, "nts") == 0)
        r->kind = PROBE_KIND_NTS;
    else if (strcmp(buf, "pool") == 0)
        r->kind = PROBE_KIND_POOL;
    else
        return -1;
    buf[0] = '\0';
    if (get_str(j, "family", buf, sizeof(buf)) < 0)
        return -1;
    if (strcmp(buf, "v4") == 0)
        r->family = 4;
    else if (strcmp(buf, "v6") == 0)
        r->family = 6;
    else if (buf[0]) /* absent: the default; anything else is not ours */
        return -1;
    if (get_str(j, "address", r->address, sizeof(r->address)) < 0 ||
        get_real(j, "step", &r->step) < 0)
        return -1;
    INT_FIELD(j, "start_time", INT64_MIN, INT64_MAX, r->start_time);
    buf[0] = '\0';
    if (get_str(j, "reason", buf, sizeof(buf)) < 0)
        return -1;
    if (buf[0]) {
        int i = PROBE_OK;

        while (i <= PROBE_COOKIES_SHORT &&
               strcmp(buf, result_probe_reason_str((enum probe_reason)i)) != 0)
            i++;
        if (i > PROBE_COOKIES_SHORT)
            return -1;
        r->reason = (enum probe_reason)i;
    }
    v = json_object_get(j, "ke");
    if (!v || ke_parse(v, &r->ke) < 0)
        return -1;
    v = json_object_get(j, "ntp");
    if (v && !json_is_null(v)) {
        size_t i;
        json_t *x;

        if (!json_is_array(v) || json_array_size(v) > RESULT_NTP_EXCHANGES)
            return -1;
        json_array_foreach(v, i, x)
        {
            if (ntp_parse(x, &r->ntp[i]) < 0)
                return -1;
        }
        r->n_ntp = (int)json_array_size(v);
    }
    return 0;
}
