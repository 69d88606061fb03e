/* fuzz_submit.c - libFuzzer target for what ntspoold parses from a remote
 * monitor: a POST /monitoring/submit body, parsed as monapi_submit does
 * (json_loadb with duplicates refused, an array of at most
 * MONWIRE_MAX_ITEMS), each entry through monwire_sample_parse.  Checks the
 * promises of monwire.h on every accepted entry (a known kind, a canonical
 * uuid, valid text, finite values in range, the time window, statuses that
 * agree), the reason codes of refused ones, and that what monwire writes
 * for an accepted sample parses back to the same sample (an unknown leap
 * excepted: the existing shape's boolean has to say something). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "util/util.h"
#include "web/monwire.h"
#include "web/webparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SUBMIT_OLDEST 1600000000
#define SUBMIT_NEWEST 1900000000

static void
submit_text(const char *s, size_t cap)
{
    const char *end = memchr(s, '\0', cap);

    if (!end || !util_utf8_valid(s, (size_t)(end - s), true))
        __builtin_trap();
}

static void
submit_check(const struct monwire_sample *s)
{
    const struct probe_result *r = &s->res;

    if ((unsigned)s->kind > MONWIRE_IP_V6 || r->kind != monwire_kind_probe(s->kind) ||
        r->family != monwire_kind_family(s->kind) || strlen(s->uuid) != 36)
        __builtin_trap();
    for (size_t i = 0; i < 36; i++) {
        char c = s->uuid[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            __builtin_trap();
    }
    if (s->time < SUBMIT_OLDEST || s->time > SUBMIT_NEWEST || r->start_time != s->time ||
        !(r->start_time_frac >= 0 && r->start_time_frac < 1))
        __builtin_trap();
    if (!isnan(s->clock_error) && !(s->clock_error >= 0 && s->clock_error < MONWIRE_MAX_OFFSET))
        __builtin_trap();
    submit_text(r->ke.detail, sizeof(r->ke.detail));
    submit_text(r->address, sizeof(r->address));
    submit_text(r->ke.tls_version, sizeof(r->ke.tls_version));
    submit_text(r->ke.cipher, sizeof(r->ke.cipher));
    if (!(r->ke.duration >= 0 && r->ke.duration < MONWIRE_MAX_DURATION) || r->ke.cookies < 0 ||
        r->ke.cookies > 64 || r->ke.aead < -1 || r->ke.aead > 65535 || r->ke.not_after < 0)
        __builtin_trap();
    if (s->not_applicable) {
        if (r->ke.status != KE_NOT_ATTEMPTED)
            __builtin_trap();
        return;
    }
    if ((unsigned)r->ke.status > KE_NOT_ATTEMPTED || r->n_ntp != RESULT_NTP_EXCHANGES)
        __builtin_trap();
    if (r->ke.status != KE_OK && r->ntp[0].status == NTP_OK)
        __builtin_trap();
    for (int i = 0; i < RESULT_NTP_EXCHANGES; i++) {
        const struct ntp_result *x = &r->ntp[i];
        submit_text(x->kiss, sizeof(x->kiss));
        submit_text(x->detail, sizeof(x->detail));
        if ((unsigned)x->status > NTP_NOT_ATTEMPTED)
            __builtin_trap();
        if (x->status != NTP_OK)
            continue;
        if (!isfinite(x->t1) || !isfinite(x->t2) || !isfinite(x->t3) || !isfinite(x->t4) ||
            !isfinite(x->offset) || !(fabs(x->offset) < MONWIRE_MAX_OFFSET) ||
            !(x->delay >= 0) || !(x->t4 >= x->t1) || !(x->t3 >= x->t2) || x->stratum < 0 ||
            x->stratum > 255 || x->leap < -1 || x->leap > 3 || !isfinite(x->root_delay) ||
            !isfinite(x->root_dispersion))
            __builtin_trap();
    }
}

/* What monwire writes for s must read back as s (statuses, texts, values). */
static void
submit_roundtrip(const struct monwire_sample *s)
{
    struct monwire_sample t;
    const char *name = monwire_kind_str(s->kind);
    char why[32] = "";
    json_t *j;

    if (s->not_applicable)
        j = monwire_na_json(name, s->uuid, s->res.family, s->time);
    else
        j = monwire_result_json(name, s->uuid, &s->res, s->clock_error);
    if (!j)
        return; /* out of memory */
    if (monwire_sample_parse(j, SUBMIT_OLDEST, SUBMIT_NEWEST, &t, why, sizeof(why)) != 0)
        __builtin_trap();
    json_decref(j);
    if (t.kind != s->kind || strcmp(t.uuid, s->uuid) || t.time != s->time ||
        t.not_applicable != s->not_applicable || t.res.ke.status != s->res.ke.status)
        __builtin_trap();
    if (s->not_applicable)
        return;
    if (strcmp(t.res.ke.detail, s->res.ke.detail) || strcmp(t.res.address, s->res.address) ||
        strcmp(t.res.ke.tls_version, s->res.ke.tls_version) || t.res.ke.aead != s->res.ke.aead ||
        t.res.ke.cookies != s->res.ke.cookies || t.res.ke.duration != s->res.ke.duration)
        __builtin_trap();
    if (isnan(s->clock_error) ? !isnan(t.clock_error) : t.clock_error != s->clock_error)
        __builtin_trap();
    for (int i = 0; i < RESULT_NTP_EXCHANGES; i++) {
        const struct ntp_result *a = &s->res.ntp[i], *b = &t.res.ntp[i];
        if (a->status != b->status)
            __builtin_trap();
        if (a->status == NTP_OK &&
            (a->offset != b->offset || a->stratum != b->stratum ||
             (a->leap >= 0 && a->leap != b->leap) ||
             a->refid != b->refid || a->root_delay != b->root_delay))
            __builtin_trap();
    }
}

/* How deep arrays and objects nest in a parsed value (a scalar: 0). */
static int
submit_depth(json_t *j)
{
    int d = 0;

    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            int k = submit_depth(json_array_get(j, i));
            d = k > d ? k : d;
        }
        return d + 1;
    }
    if (json_is_object(j)) {
        const char *key;
        json_t *v;

        json_object_foreach(j, key, v) {
            int k = submit_depth(v);
            d = k > d ? k : d;
        }
        return d + 1;
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const codes[] = {"bad_kind", "bad_uuid", "bad_status", "bad_value",
                                        "bad_time", "bad_text", "malformed"};
    json_error_t e;
    json_t *arr;

    if (size > MONWIRE_MAX_BODY)
        return 0;
    arr = size ? json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e) : NULL;
    /* the scan that refuses deep bodies before jansson (webparse.h) counts
       exactly what jansson parsed, within its bound */
    if (arr) {
        int real = submit_depth(arr), scanned = webparse_json_depth((const char *)data, size, 64);

        if (real <= 64 ? scanned != real : scanned != 65)
            __builtin_trap();
    }
    if (!json_is_array(arr) || json_array_size(arr) > MONWIRE_MAX_ITEMS) {
        json_decref(arr);
        return 0;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        struct monwire_sample s;
        char why[32] = "";
        size_t k;

        if (monwire_sample_parse(json_array_get(arr, i), SUBMIT_OLDEST, SUBMIT_NEWEST, &s, why,
                                 sizeof(why)) == 0) {
            if (why[0])
                __builtin_trap();
            submit_check(&s);
            submit_roundtrip(&s);
            continue;
        }
        for (k = 0; k < sizeof(codes) / sizeof(codes[0]); k++)
            if (strcmp(why, codes[k]) == 0)
                break;
        if (k == sizeof(codes) / sizeof(codes[0]))
            __builtin_trap();
    }
    json_decref(arr);
    return 0;
}
