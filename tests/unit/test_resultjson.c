/* test_resultjson.c - db_result_write (db/sample_json.c), the samples API's
 * text of a probe result: byte for byte what json_dumps(JSON_COMPACT |
 * JSON_ENSURE_ASCII) writes of db_result_to_json's tree, on random results
 * that reach every branch (statuses, absent and present fields, non-ASCII,
 * quotes and control characters in strings, reals of every magnitude, NaN,
 * lists of every length), and failing where the tree fails (a string that
 * is not valid UTF-8).  Randomised: prints its seed, -s SEED repeats a run. */
#include "db/db.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "check.h"
#include "evtext.h"
#include "web/jsonw.h"

static int
pick(int n)
{
    return rand() % n;
}

static double
any_real(void)
{
    switch (pick(6)) {
    case 0: return NAN;
    case 1: return (double)pick(2000) / 65536.0;       /* root delay: n / 2^16 */
    case 2: return (double)pick(100000000) / 1e6;      /* durations from microseconds */
    case 3: return -1;
    case 4: return ldexp((double)rand() / RAND_MAX - 0.5, pick(200) - 100);
    default: return ((double)rand() / RAND_MAX - 0.5) * 1e-3; /* offsets */
    }
}

static void
any_text(char *out, size_t len)
{
    static const char *const parts[] = {"", "a", "nts.example.org", "TLSv1.3", "\"q\"", "\\",
                                        "tab\t", "\x01", "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac",
                                        "\xf0\x9f\x95\x90", "CN=R11,O=Let's Encrypt,C=US", "<x>"};
    int n = pick(4);

    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *p = parts[pick((int)(sizeof(parts) / sizeof(parts[0])))];

        if (strlen(out) + strlen(p) < len)
            strcat(out, p);
    }
}

static void
any_result(struct probe_result *r)
{
    struct ke_result *k = &r->ke;

    result_probe_init(r);
    r->kind = pick(2) ? PROBE_KIND_POOL : PROBE_KIND_NTS;
    r->family = pick(5) == 0 ? 0 : pick(2) ? 6 : 4;
    any_text(r->address, sizeof(r->address));
    r->start_time = 1700000000 + pick(100000000);
    r->reason = (enum probe_reason)pick(PROBE_COOKIES_SHORT + 1);
    if (r->reason == 8) /* no code 8 */
        r->reason = PROBE_OK;
    r->step = any_real();
    k->status = pick(3) ? KE_OK : (enum ke_status)pick(KE_NOT_ATTEMPTED + 1);
    any_text(k->detail, sizeof(k->detail));
    k->duration = any_real();
    k->connect_time = any_real();
    k->handshake_time = any_real();
    if (pick(4)) {
        any_text(k->tls_version, sizeof(k->tls_version));
        any_text(k->cipher, sizeof(k->cipher));
        any_text(k->alpn, sizeof(k->alpn));
        any_text(k->subject, sizeof(k->subject));
        any_text(k->issuer, sizeof(k->issuer));
        k->not_after = pick(3) ? 1700000000 + pick(100000000) - 50000000 : 0;
    }
    k->next_protocol = pick(3) - 1;
    k->aead = pick(3) ? 15 + pick(20) : -1;
    k->cookies = pick(3) ? pick(9) : 0;
    k->cookie_size = pick(200);
    any_text(k->ntp_server, sizeof(k->ntp_server));
    k->ntp_port = (uint16_t)pick(65536);
    k->compliant_gcm_siv = pick(2);
    k->n_supported_aeads = pick(RESULT_MAX_SUPPORTED + 2) - 1;
    for (int i = 0; i < k->n_supported_aeads; i++) {
        k->supported_aeads[i].id = (uint16_t)pick(65536);
        k->supported_aeads[i].key_length = (uint16_t)pick(65);
    }
    k->n_supported_protocols = pick(RESULT_MAX_SUPPORTED + 2) - 1;
    for (int i = 0; i < k->n_supported_protocols; i++)
        k->supported_protocols[i] = (uint16_t)pick(65536);
    r->n_ntp = pick(RESULT_NTP_EXCHANGES + 2);
    for (int i = 0; i < RESULT_NTP_EXCHANGES; i++) {
        struct ntp_result *x = &r->ntp[i];

        x->status = pick(3) ? NTP_OK : (enum ntp_status)pick(NTP_LOCAL_ERROR + 1);
        any_text(x->detail, sizeof(x->detail));
        any_text(x->address, sizeof(x->address));
        x->port = (uint16_t)(pick(2) ? 123 : pick(65536));
        x->offset = any_real();
        x->delay = any_real();
        x->stratum = pick(17);
        x->leap = pick(5) - 1;
        x->precision = pick(40) - 30;
        x->root_delay = any_real();
        x->root_dispersion = any_real();
        x->refid = (uint32_t)rand();
        any_text(x->kiss, sizeof(x->kiss));
        x->cookies_requested = pick(9);
        x->cookies_received = pick(9);
    }
}

/* db_result_write's text, or NULL when it fails. */
static char *
written(struct evbuffer *b, const struct probe_result *r)
{
    struct jsonw w = {.b = b};
    int rc = db_result_write(&w, r);
    char *text;

    jsonw_flush(&w);
    text = evtext_take(b);
    if (rc == 0 && !w.failed)
        return text;
    free(text);
    return NULL;
}

static void
check_same(struct evbuffer *b, const struct probe_result *r)
{
    json_t *j = db_result_to_json(r);
    char *want = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    char *got = written(b, r);

    CHECK((want == NULL) == (got == NULL));
    if (want && got)
        CHECK_STR(got, want);
    free(want);
    free(got);
    json_decref(j);
}

int
main(int argc, char **argv)
{
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    struct evbuffer *b = evbuffer_new();
    struct probe_result r;
    int opt, failed = 0;

    while ((opt = getopt(argc, argv, "s:")) != -1)
        if (opt == 's')
            seed = (unsigned)strtoul(optarg, NULL, 10);
    if (!b)
        return 1;
    fprintf(stderr, "test_resultjson: seed %u\n", seed);
    srand(seed);
    for (int i = 0; i < 20000; i++) {
        any_result(&r);
        check_same(b, &r);
    }
    /* Not valid UTF-8: the tree has no such string, the text fails too. */
    for (int i = 0; i < 200; i++) {
        any_result(&r);
        switch (i % 4) {
        case 0: snprintf(r.address, sizeof(r.address), "a\xff"); break;
        case 1: snprintf(r.ke.detail, sizeof(r.ke.detail), "\xc3"); break;
        case 2: snprintf(r.ke.tls_version, sizeof(r.ke.tls_version), "\xed\xa0\x80"); break;
        default:
            r.n_ntp = 1;
            snprintf(r.ntp[0].kiss, sizeof(r.ntp[0].kiss), "\xc0\xaf");
        }
        failed += written(b, &r) == NULL;
        check_same(b, &r);
    }
    CHECK_INT(failed, 200);
    evbuffer_free(b);
    printf("test_resultjson ... %s (%d checks, %d failed)\n", check_failed ? "FAIL" : "PASS",
           check_count, check_failed);
    return check_failed ? 1 : 0;
}
