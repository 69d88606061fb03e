/* diag.h - the plain-words diagnosis of a probe for the Source details
 * page: what failed, in the operator's terms, with the numbers behind it and
 * what to check.
 *
 * Pure: a struct probe_result in (as db_sample_json and db_result_from_json
 * give it back), text out into the caller's struct.  No I/O, no database, no
 * clock (the caller passes now).  The text is plain: the page escapes it.
 * Every code of enum ke_status, enum ntp_status and enum probe_reason has a
 * text; the switches have no default, so -Wswitch-enum names a new code. */
#ifndef NTSPOOL_WEB_DIAG_H
#define NTSPOOL_WEB_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/result.h"
#include "scorer/score.h"

#define DIAG_HEADLINE_MAX 256
#define DIAG_DETAIL_MAX   1024

/* Which pool record code points (NTS.md section 2) the monitor tried. */
#define DIAG_CP_PERMANENT    1u /* 14, 10, 9, 12 */
#define DIAG_CP_EXPERIMENTAL 2u /* 0x4005, 0x4001, 0x4004, 0x4002 */

struct diag_input {
    const struct probe_result *res; /* the latest sample of the kind, reason set */
    const char *host;               /* the source as registered */
    uint16_t port;
    enum score_kind kind;
    unsigned codepoints;            /* DIAG_CP_* tried; 0 unknown */
    int64_t now;                    /* Unix s, for certificate days; 0: not shown */
};

struct diag {
    char headline[DIAG_HEADLINE_MAX]; /* one sentence: what is wrong (or "ok") */
    char detail[DIAG_DETAIL_MAX];     /* the numbers and what to check */
    bool scored;                      /* false: the monitor's own fault, not scored */
};

/* Explain in->res into *out (always filled, NUL-terminated). */
void diag_explain(const struct diag_input *in, struct diag *out);

/* Short static phrases for each code, e.g. "nothing listens on the key
   exchange port", never NULL nor empty. */
const char *diag_ke_text(enum ke_status s);
const char *diag_ntp_text(enum ntp_status s);
const char *diag_reason_text(enum probe_reason r);

#endif
