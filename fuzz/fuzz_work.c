/* fuzz_work.c - libFuzzer target for what ntspool-monitor parses from the
 * service: a GET /monitoring/get_work answer, read as the agent does
 * (json_loadb with duplicates refused, then monwire_work_parse).  Checks
 * monwire.h's promises: 0 or -1 with a message; on success every item
 * counted once (kept, unknown or bad), each kept item complete for its kind
 * (a canonical uuid, a domain and port where the kind needs them, a token
 * for Poolv4/v6), texts valid, timings and batch size in range. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "util/util.h"
#include "web/monwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
work_text(const char *s, size_t cap)
{
    const char *end = memchr(s, '\0', cap);

    if (!end || !util_utf8_valid(s, (size_t)(end - s), true))
        __builtin_trap();
}

static void
work_check(const json_t *j, const struct monwire_work *w)
{
    size_t total = json_array_size(json_object_get(j, "timesources"));

    if (w->n + w->unknown + w->bad != total || (w->n && !w->items))
        __builtin_trap();
    if (w->batchsize < 1 || w->batchsize > MONWIRE_MAX_ITEMS || !(w->probe_interval >= 1) ||
        w->probe_interval > 86400 || !(w->update_interval >= 1) || !(w->nts_timeout > 0) ||
        w->nts_timeout > 300 || !(w->ntp_timeout > 0) || w->ntp_timeout > 60 ||
        !(w->max_waittime >= 0) || !isfinite(w->update_interval) || !isfinite(w->max_waittime))
        __builtin_trap();
    work_text(w->result_endpoint, sizeof(w->result_endpoint));
    work_text(w->poolke, sizeof(w->poolke));
    work_text(w->unknown_kind, sizeof(w->unknown_kind));
    if (!w->result_endpoint[0] || (w->poolke[0] && w->poolke_port == 0) ||
        (!w->poolke[0] && w->poolke_port != 0) || (w->unknown == 0 && w->unknown_kind[0]))
        __builtin_trap();
    for (size_t i = 0; i < w->n; i++) {
        const struct monwire_item *it = &w->items[i];
        enum monwire_kind k;

        work_text(it->name, sizeof(it->name));
        work_text(it->uuid, sizeof(it->uuid));
        work_text(it->domain, sizeof(it->domain));
        work_text(it->token, sizeof(it->token));
        if (monwire_kind_parse(it->name, &k) != 0 || k != it->kind || strlen(it->uuid) != 36)
            __builtin_trap();
        switch (it->kind) {
        case MONWIRE_IP_V4:
        case MONWIRE_IP_V6: break;
        case MONWIRE_POOL_V4:
        case MONWIRE_POOL_V6:
            if (!it->token[0])
                __builtin_trap();
            /* fall through */
        case MONWIRE_SRV_V4:
        case MONWIRE_SRV_V6:
            if (!it->domain[0] || it->port == 0)
                __builtin_trap();
            break;
        default: __builtin_trap();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct monwire_work w;
    char err[256];
    json_error_t e;
    json_t *j;
    int rc;

    if (size > 1024 * 1024)
        return 0;
    j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        return 0;
    memset(err, 'x', sizeof(err));
    rc = monwire_work_parse(j, &w, err, sizeof(err));
    if (rc == 0) {
        work_check(j, &w);
        monwire_work_free(&w);
        if (w.items || w.n)
            __builtin_trap();
    } else if (rc != -1 || !memchr(err, '\0', sizeof(err)) || !err[0]) {
        __builtin_trap();
    }
    json_decref(j);
    return 0;
}
