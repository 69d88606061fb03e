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

#include "util/util.h"
#include "web/jsonw.h"

/* ---- writing ---------------------------------------------------------------
 *
 * build() describes the object once and writes it to one of two ends: a
 * jansson tree (db_result_to_json, the stored detail text), or JSON text
 * straight through a jsonw (db_result_write, the samples API: no tree to
 * build, dump and free per row).  The text is what json_dumps(JSON_COMPACT |
 * JSON_ENSURE_ASCII) writes of the tree, byte for byte: the same keys in the
 * same order, strings escaped as jansson does (jsonw_str), reals as jansson
 * writes them (jsonw_real).  Both fail alike: a string that is not valid
 * UTF-8 (json_string refuses it) or an allocation failure clears ok. */

#define OUT_DEPTH 4 /* object, ke, tls or ntp, an ntp exchange or an aead pair */

struct out {
    struct jsonw *w;            /* text, or NULL: a tree */
    json_t *root;               /* tree: the outermost object */
    json_t *open[OUT_DEPTH];    /* tree: the open containers (NULL after a failure) */
    bool array[OUT_DEPTH];      /* text: the open container is an array */
    bool first[OUT_DEPTH];      /* text: nothing in it yet */
    int depth;
    bool ok;
};

/* Text: the separator and key before a member of the open container, in
   one piece (the keys are ours: short, plain ASCII). */
static void
text_key(struct out *o, const char *key)
{
    int d = o->depth - 1;
    char buf[40], *p = buf;
    size_t n = key ? strlen(key) : 0;

    if (d < 0)
        return;
    if (!o->first[d])
        *p++ = ',';
    o->first[d] = false;
    if (!o->array[d] && n + 4 <= sizeof(buf) - 1) {
        *p++ = '"';
        memcpy(p, key, n);
        p += n;
        *p++ = '"';
        *p++ = ':';
    } else if (!o->array[d]) {
        o->ok = false; /* no key of ours is that long */
    }
    *p = '\0';
    jsonw_raw(o->w, buf);
}

/* Tree: v (new reference, NULL on failure) into the open container. */
static void
tree_put(struct out *o, const char *key, json_t *v)
{
    json_t *c = o->depth > 0 ? o->open[o->depth - 1] : NULL;

    if (!v || !c) {
        json_decref(v);
        o->ok = false;
        return;
    }
    if ((json_is_array(c) ? json_array_append_new(c, v) : json_object_set_new(c, key, v)) != 0)
        o->ok = false;
}

static void
put_str(struct out *o, const char *key, const char *s)
{
    if (!o->w) {
        tree_put(o, key, json_string(s));
    } else if (!util_utf8_valid(s, strlen(s), false)) {
        o->ok = false;
    } else {
        text_key(o, key);
        jsonw_str(o->w, s);
    }
}

/* A string that is not empty (absent reads back as empty). */
static void
put_text(struct out *o, const char *key, const char *s)
{
    if (s && *s)
        put_str(o, key, s);
}

static void
put_int(struct out *o, const char *key, int64_t v)
{
    if (!o->w) {
        tree_put(o, key, json_integer(v));
    } else {
        text_key(o, key);
        jsonw_int(o->w, v);
    }
}

static void
put_real(struct out *o, const char *key, double v)
{
    if (!isfinite(v))
        return;
    if (!o->w) {
        tree_put(o, key, json_real(v));
    } else {
        text_key(o, key);
        jsonw_real(o->w, v);
    }
}

static void
put_true(struct out *o, const char *key)
{
    if (!o->w) {
        tree_put(o, key, json_true());
    } else {
        text_key(o, key);
        jsonw_raw(o->w, "true");
    }
}

/* Open an object or array (key ignored inside an array, and for the
   outermost object); close() ends it. */
static void
open_(struct out *o, const char *key, bool array)
{
    if (o->depth >= OUT_DEPTH) {
        o->ok = false;
        return;
    }
    if (!o->w) {
        json_t *c = array ? json_array() : json_object();

        if (o->depth == 0) {
            o->root = c;
            o->ok = o->ok && c;
        } else if (c) {
            json_incref(c); /* the parent's reference, and ours while it is open */
            tree_put(o, key, c);
            json_decref(c);
            if (!o->ok)
                c = NULL;
        } else {
            o->ok = false;
        }
        o->open[o->depth] = c;
    } else {
        text_key(o, key);
        jsonw_raw(o->w, array ? "[" : "{");
    }
    o->array[o->depth] = array;
    o->first[o->depth] = true;
    o->depth++;
}

static void
close_(struct out *o)
{
    if (o->depth == 0)
        return;
    o->depth--;
    if (o->w)
        jsonw_raw(o->w, o->array[o->depth] ? "]" : "}");
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

static void
ke_out(struct out *o, const struct probe_result *r, bool full)
{
    const struct ke_result *k = &r->ke;

    open_(o, "ke", false);
    put_str(o, "status", result_ke_status_str(k->status));
    put_text(o, "detail", k->detail);
    if (full) {
        put_real(o, "duration", k->duration);
        if (k->connect_time >= 0)
            put_real(o, "connect_time", k->connect_time);
        if (k->handshake_time >= 0)
            put_real(o, "handshake_time", k->handshake_time);
    }
    if (k->tls_version[0]) {
        char when[32];

        open_(o, "tls", false);
        put_text(o, "version", k->tls_version);
        put_text(o, "cipher", k->cipher);
        put_text(o, "alpn", k->alpn);
        put_text(o, "subject", k->subject);
        put_text(o, "issuer", k->issuer);
        if (k->not_after) {
            iso_time(k->not_after, when, sizeof(when));
            put_text(o, "not_after", when);
            /* Days left at the probe, as the CLI counts them. */
            if (full)
                put_int(o, "days_left", (k->not_after - r->start_time) / 86400);
        }
        close_(o);
    }
    if (k->next_protocol >= 0)
        put_int(o, "next_protocol", k->next_protocol);
    if (k->aead >= 0)
        put_int(o, "aead", k->aead);
    if (k->status == KE_OK || k->cookies > 0) {
        put_int(o, "cookies", k->cookies);
        if (k->cookies > 0)
            put_int(o, "cookie_size", k->cookie_size);
    }
    if (k->status == KE_OK) {
        put_text(o, "ntp_server", k->ntp_server);
        put_int(o, "ntp_port", k->ntp_port);
    }
    if (k->compliant_gcm_siv)
        put_true(o, "compliant_gcm_siv");
    if (k->n_supported_aeads >= 0) {
        open_(o, "supported_aeads", true);
        for (int i = 0; i < k->n_supported_aeads && i < RESULT_MAX_SUPPORTED; i++) {
            open_(o, NULL, true);
            put_int(o, NULL, k->supported_aeads[i].id);
            put_int(o, NULL, k->supported_aeads[i].key_length);
            close_(o);
        }
        close_(o);
    }
    if (k->n_supported_protocols >= 0) {
        open_(o, "supported_protocols", true);
        for (int i = 0; i < k->n_supported_protocols && i < RESULT_MAX_SUPPORTED; i++)
            put_int(o, NULL, k->supported_protocols[i]);
        close_(o);
    }
    close_(o);
}

static void
ntp_out(struct out *o, const struct ntp_result *x, bool full)
{
    char refid[9];

    open_(o, NULL, false);
    put_str(o, "status", result_ntp_status_str(x->status));
    put_text(o, "detail", x->detail);
    put_text(o, "address", x->address);
    if (x->port)
        put_int(o, "port", x->port);
    if (x->status == NTP_OK) {
        if (full) {
            put_real(o, "offset", x->offset);
            put_real(o, "delay", x->delay);
        }
        put_int(o, "stratum", x->stratum);
        /* An unknown leap (-1: a remote monitor may leave it out) is left
           out too, and reads back unknown. */
        if (x->leap >= 0)
            put_int(o, "leap", x->leap);
        snprintf(refid, sizeof(refid), "%08X", (unsigned)x->refid);
        put_str(o, "refid", refid);
        put_int(o, "precision", x->precision);
        if (full) {
            put_real(o, "root_delay", x->root_delay);
            put_real(o, "root_dispersion", x->root_dispersion);
        }
    }
    put_text(o, "kiss", x->kiss);
    put_int(o, "cookies_requested", x->cookies_requested);
    put_int(o, "cookies_received", x->cookies_received);
    close_(o);
}

/* full: every field; else without the per-probe numbers (see samples.c). */
static void
build(struct out *o, const struct probe_result *r, bool full)
{
    int n = r->n_ntp < RESULT_NTP_EXCHANGES ? r->n_ntp : RESULT_NTP_EXCHANGES;

    open_(o, NULL, false);
    put_str(o, "kind", result_kind_str(r->kind));
    if (r->family == 4 || r->family == 6)
        put_str(o, "family", r->family == 4 ? "v4" : "v6");
    put_text(o, "address", r->address);
    if (full)
        put_int(o, "start_time", r->start_time);
    put_str(o, "reason", result_probe_reason_str(r->reason));
    if (full)
        put_real(o, "step", r->step);
    ke_out(o, r, full);
    if (n > 0) {
        open_(o, "ntp", true);
        for (int i = 0; i < n; i++)
            ntp_out(o, &r->ntp[i], full);
        close_(o);
    }
    close_(o);
}

static json_t *
build_tree(const struct probe_result *r, bool full)
{
    struct out o = {.ok = true};

    build(&o, r, full);
    if (!o.ok) {
        json_decref(o.root);
        return NULL;
    }
    return o.root;
}

json_t *
db_result_to_json(const struct probe_result *r)
{
    return build_tree(r, true);
}

int
db_result_write(struct jsonw *w, const struct probe_result *r)
{
    struct out o = {.w = w, .ok = true};

    build(&o, r, true);
    return o.ok && !w->failed ? 0 : -1;
}

char *
db_result_detail_text(const struct probe_result *r)
{
    json_t *j = build_tree(r, false);
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
