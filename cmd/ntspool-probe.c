/* ntspool-probe - check an NTS server from the command line the way the pool
 * does: resolve it, key-exchange with every address (kind nts and/or pool),
 * run two NTP exchanges, and report each step with the score it would get.
 * Exit status follows the monitoring-plugin convention (0 OK, 1 WARNING,
 * 2 CRITICAL, 3 UNKNOWN). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <jansson.h>

#include "monitor/aead.h"
#include "monitor/dns.h"
#include "monitor/nke.h"
#include "monitor/probe.h"
#include "monitor/result.h"
#include "monitor/tlsctx.h"
#include "scorer/score.h"
#include "util/log.h"
#include "util/util.h"

#define EXIT_OK 0
#define EXIT_WARNING 1
#define EXIT_CRITICAL 2
#define EXIT_UNKNOWN 3

#define CERT_WARN_DAYS 14
#define OFFSET_WARN 0.100
#define MAX_PROBES 128

static const uint16_t default_aeads[] = {AEAD_AES_SIV_CMAC_256, AEAD_AES_SIV_CMAC_512,
                                         AEAD_AES_SIV_CMAC_384, AEAD_AES_128_GCM_SIV};

struct opts {
    char host[RESULT_NAME_MAX];
    uint16_t port;
    int family;                     /* 0, 4, 6 */
    bool kind_nts, kind_pool;
    char token[NKE_MAX_TOKEN_LEN + 1];
    const char *uuid;
    uint16_t aeads[PROBE_MAX_AEADS];
    size_t naeads;
    bool aead_all;
    const char *ca_file;
    int ke_timeout_ms, ntp_timeout_ms;
    bool json, ke_only, experimental, corrupt_cookie;
    int verbose;
};

struct run;

struct slot {
    struct run *run;
    bool pending;
    bool single_aead;               /* --aead all: this probe tries one AEAD */
    struct probe_result res;
};

struct run {
    struct opts *o;
    struct event_base *base;
    struct evdns_base *dns;
    struct tlsctx *tls;
    int pending;
    size_t n;
    struct slot slot[MAX_PROBES];
    struct dns_result addrs;
};

static void
usage(FILE *f)
{
    fprintf(f,
"usage: ntspool-probe [options] HOST[:PORT]\n"
"Probe an NTS server the way the ntspool monitors do: NTS-KE over TLS 1.3, then\n"
"two NTS-protected NTP exchanges, for every address of HOST.\n"
"\n"
"  -p, --port PORT            NTS-KE port (default 4460); also HOST:PORT, [v6]:PORT\n"
"  -4, -6                     probe only IPv4 or only IPv6 addresses\n"
"      --kind nts|pool|all    plain RFC 8915 probe, pool probe with a token, or both\n"
"                             (default nts)\n"
"      --token TOKEN          the pool authentication token (kind pool)\n"
"      --token-file FILE      read the token from the first line of FILE\n"
"      --aead LIST|all        AEADs to offer, comma-separated ids of 15, 16, 17, 30\n"
"                             (default 15,17,16,30); 'all' probes each one the\n"
"                             server supports\n"
"      --ca-file FILE         trust the CAs in FILE besides the system roots\n"
"      --ke-timeout MS        key exchange time limit (default 10000)\n"
"      --ntp-timeout MS       time limit of each NTP exchange (default 1000)\n"
"      --ke-only              stop after the key exchange\n"
"      --experimental-codepoints\n"
"                             pool records with the experimental code points\n"
"      --uuid UUID            go through HOST as an existing pool's key exchange:\n"
"                             ask it for time source UUID, with the monitor key\n"
"                             as --token (kind nts)\n"
"      --corrupt-cookie       diagnostic: damage the cookie of the first NTP\n"
"                             exchange; a correct server answers an NTS NAK\n"
"  -j, --json                 print one JSON object\n"
"  -v, --verbose              log the steps on stderr (twice: more)\n"
"  -h, --help                 this text\n"
"      --version              print the version\n"
"\n"
"Exit status: 0 OK, 1 WARNING (certificate expires within %d days, |offset| >\n"
"100 ms, fewer cookies than asked), 2 CRITICAL (a probe failed, unsynchronised,\n"
"stratum >= 8, |offset| > 3 s), 3 UNKNOWN (usage or local error).\n",
            CERT_WARN_DAYS);
}

static int
parse_aeads(struct opts *o, const char *s)
{
    char buf[128];
    char *save = NULL, *tok;

    if (strcmp(s, "all") == 0) {
        o->aead_all = true;
        memcpy(o->aeads, default_aeads, sizeof(default_aeads));
        o->naeads = sizeof(default_aeads) / sizeof(default_aeads[0]);
        return 0;
    }
    if (strlen(s) >= sizeof(buf))
        return -1;
    snprintf(buf, sizeof(buf), "%s", s);
    o->naeads = 0;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long v;
        if (util_parse_long(tok, 0, 65535, &v) || !aead_is_supported((int)v) ||
            o->naeads >= PROBE_MAX_AEADS)
            return -1;
        for (size_t i = 0; i < o->naeads; i++)
            if (o->aeads[i] == v)
                return -1;
        o->aeads[o->naeads++] = (uint16_t)v;
    }
    return o->naeads ? 0 : -1;
}

static int
read_token_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t linecap = 0, n;
    ssize_t got;
    int rc = -1;

    if (!f)
        return -1;
    got = getline(&line, &linecap, f);
    fclose(f);
    if (got > 0) {
        n = strcspn(line, "\r\n");
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        /* A token longer than we can send is an error, never cut short. */
        if (n > 0 && n < cap) {
            memcpy(out, line, n);
            out[n] = '\0';
            rc = 0;
        }
    }
    if (line)
        explicit_bzero(line, linecap);
    free(line);
    return rc;
}

/* HOST, HOST:PORT, [V6]:PORT, [V6] or a bare IPv6 literal. */
static int
parse_target(struct opts *o, const char *arg, bool port_set)
{
    const char *colon;
    long port;

    if (arg[0] == '[') {
        const char *close = strchr(arg, ']');
        size_t n;
        if (!close)
            return -1;
        n = (size_t)(close - arg - 1);
        if (n == 0 || n >= sizeof(o->host))
            return -1;
        memcpy(o->host, arg + 1, n);
        o->host[n] = '\0';
        if (close[1] == '\0')
            return 0;
        if (close[1] != ':' || util_parse_long(close + 2, 1, 65535, &port))
            return -1;
        if (!port_set)
            o->port = (uint16_t)port;
        return 0;
    }
    colon = strchr(arg, ':');
    if (colon && strchr(colon + 1, ':'))
        colon = NULL;       /* a bare IPv6 literal */
    if (colon) {
        size_t n = (size_t)(colon - arg);
        if (n == 0 || n >= sizeof(o->host) || util_parse_long(colon + 1, 1, 65535, &port))
            return -1;
        memcpy(o->host, arg, n);
        o->host[n] = '\0';
        if (!port_set)
            o->port = (uint16_t)port;
        return 0;
    }
    if (!*arg || strlen(arg) >= sizeof(o->host))
        return -1;
    snprintf(o->host, sizeof(o->host), "%s", arg);
    return 0;
}

static void
on_probe(const struct probe_result *r, void *arg)
{
    struct slot *slot = arg;
    struct run *run = slot->run;

    slot->res = *r;
    slot->pending = false;
    log_info("probe %s %s %s: ke %s%s%s, ntp %s/%s", result_kind_str(r->kind),
             r->family == 6 ? "v6" : "v4", r->address, result_ke_status_str(r->ke.status),
             r->ke.detail[0] ? ": " : "", r->ke.detail,
             r->n_ntp > 0 ? result_ntp_status_str(r->ntp[0].status) : "-",
             r->n_ntp > 1 ? result_ntp_status_str(r->ntp[1].status) : "-");
    if (--run->pending == 0)
        event_base_loopexit(run->base, NULL);
}

static void
add_probe(struct run *run, const struct sockaddr *sa, socklen_t salen,
          enum probe_kind kind, const uint16_t *aeads, size_t naeads, bool single)
{
    struct opts *o = run->o;
    struct probe_target t;
    struct slot *slot;

    if (run->n >= MAX_PROBES)
        return;
    memset(&t, 0, sizeof(t));
    t.host = o->host;
    t.port = o->port;
    t.addr = sa;
    t.addrlen = salen;
    t.kind = kind;
    memcpy(t.aeads, aeads, naeads * sizeof(aeads[0]));
    t.naeads = naeads;
    t.token = o->token;
    t.uuid = o->uuid;
    t.experimental = o->experimental;
    t.ke_only = o->ke_only;
    t.ke_timeout_ms = o->ke_timeout_ms;
    t.ntp_timeout_ms = o->ntp_timeout_ms;
    t.corrupt_cookie = o->corrupt_cookie;
    t.cookies_min = 1;              /* like the pool's monitors: 1 to 3 */
    t.cookies_max = 3;

    slot = &run->slot[run->n++];
    slot->run = run;
    slot->pending = true;
    slot->single_aead = single;
    result_probe_init(&slot->res);
    run->pending++;
    if (!probe_start(run->base, run->dns, run->tls, &t, on_probe, slot)) {
        run->pending--;
        slot->pending = false;
        slot->res.kind = kind;
        slot->res.port = o->port;
        slot->res.ke.status = KE_LOCAL_ERROR;
        result_detail(slot->res.ke.detail, "out of memory");
    }
}

static void
on_resolved(const struct dns_result *r, void *arg)
{
    struct run *run = arg;
    struct opts *o = run->o;

    run->addrs = *r;
    if (r->error) {
        /* One failed probe per kind, so that JSON and the verdict show it. */
        for (int k = 0; k < 2 && run->n < MAX_PROBES; k++) {
            struct slot *slot;
            if ((k == 0 && !o->kind_nts) || (k == 1 && !o->kind_pool))
                continue;
            slot = &run->slot[run->n++];
            slot->run = run;
            result_probe_init(&slot->res);
            slot->res.kind = k == 0 ? PROBE_KIND_NTS : PROBE_KIND_POOL;
            slot->res.port = o->port;
            snprintf(slot->res.host, sizeof(slot->res.host), "%s", o->host);
            /* The name does not exist or has no address: the server's
               problem.  Our resolver out of memory, or failing at the
               system level: ours. */
            slot->res.ke.status = dns_error_is_local(r->error) ? KE_LOCAL_ERROR
                                                               : KE_DNS_FAILED;
            /* -4/-6 on a name without an address of that family: the kind
               is not applicable (SCORING.md), nothing was judged. */
            if (o->family && r->error == EVUTIL_EAI_NODATA) {
                slot->res.ke.status = KE_NOT_ATTEMPTED;
                result_detail(slot->res.ke.detail, "no IPv%d address: not applicable",
                              o->family);
            }
            if (!o->ke_only)
                slot->res.n_ntp = RESULT_NTP_EXCHANGES;
            result_detail(slot->res.ke.detail, "%s: %s", o->host, r->detail);
        }
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct sockaddr *sa = (const struct sockaddr *)&r->addr[i];
        for (int k = 0; k < 2; k++) {
            enum probe_kind kind = k == 0 ? PROBE_KIND_NTS : PROBE_KIND_POOL;
            if ((kind == PROBE_KIND_NTS && !o->kind_nts) ||
                (kind == PROBE_KIND_POOL && !o->kind_pool))
                continue;
            if (o->aead_all) {
                for (size_t a = 0; a < o->naeads; a++)
                    add_probe(run, sa, r->addrlen[i], kind, &o->aeads[a], 1, true);
            } else {
                add_probe(run, sa, r->addrlen[i], kind, o->aeads, o->naeads, false);
            }
        }
    }
    if (--run->pending == 0)
        event_base_loopexit(run->base, NULL);
}

/* --aead all tries every AEAD alone: one the server says it does not support
   (an empty AEAD record, or absent from its pool capabilities) is reported,
   not held against it.  Answering an AEAD we did not offer is a fault: a
   client that supports only that one fails with such a server. */
static bool
unsupported_aead(const struct slot *s)
{
    return s->single_aead && s->res.ke.status == KE_AEAD_NONE;
}

static int
days_left(const struct ke_result *k, time_t now)
{
    if (k->not_after == 0)
        return INT_MIN;
    return (int)floor((double)(k->not_after - (int64_t)now) / 86400.0);
}

/* The exit status one probe earns, with a short reason. */
static int
probe_status(const struct opts *o, const struct slot *s, time_t now, const char **why)
{
    const struct probe_result *r = &s->res;
    int d = days_left(&r->ke, now);
    int st = EXIT_OK;

    *why = "ok";
    if (r->ke.status != KE_OK) {
        *why = result_ke_status_str(r->ke.status);
        /* Our own failure, or a pool KE that does not know the source: the
           server was not judged. */
        return result_ke_is_monitor_fault(r->ke.status) ? EXIT_UNKNOWN : EXIT_CRITICAL;
    }
    if (!o->ke_only) {
        struct score_step sc;
        score_step_of(r, &sc);
        switch (sc.reason) {
        case PROBE_OK: break;
        case PROBE_MONITOR_FAULT: *why = "monitor_fault"; return EXIT_UNKNOWN;
        case PROBE_KOD_DENY:
        case PROBE_KOD_RATE:
        case PROBE_KE_FAILED:
        case PROBE_NTP_TIMEOUT:
        case PROBE_NTP_FAILED:
        case PROBE_UNSYNCHRONIZED:
        case PROBE_OFFSET_OVER_3S:
        case PROBE_STRATUM_TOO_HIGH:
            *why = result_probe_reason_str(sc.reason);
            return EXIT_CRITICAL;
        case PROBE_OFFSET:
        case PROBE_COOKIES_SHORT:
            break;
        }
        for (int i = 0; i < r->n_ntp; i++) {
            if (fabs(r->ntp[i].offset) > OFFSET_WARN) {
                *why = "offset over 100 ms";
                st = EXIT_WARNING;
            }
            if (r->ntp[i].cookies_received < r->ntp[i].cookies_requested) {
                *why = "fewer cookies than asked";
                st = EXIT_WARNING;
            }
        }
    }
    if (d != INT_MIN && d < CERT_WARN_DAYS) {
        *why = "certificate expires soon";
        st = EXIT_WARNING;
    }
    return st;
}

static json_t *
jstr_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *
jnum_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void
iso_time(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;

    out[0] = '\0';
    if (t && gmtime_r(&tt, &tm))
        strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
json_ke(const struct ke_result *k, time_t now, bool pool)
{
    json_t *o = json_object(), *tls = json_null();
    char when[32];

    json_object_set_new(o, "status", json_string(result_ke_status_str(k->status)));
    json_object_set_new(o, "detail", json_string(k->detail));
    json_object_set_new(o, "duration", json_real(k->duration));
    json_object_set_new(o, "connect_time", jnum_or_null(k->connect_time >= 0 ? k->connect_time : NAN));
    json_object_set_new(o, "handshake_time",
                        jnum_or_null(k->handshake_time >= 0 ? k->handshake_time : NAN));
    if (k->tls_version[0]) {
        int d = days_left(k, now);
        tls = json_object();
        iso_time(k->not_after, when, sizeof(when));
        json_object_set_new(tls, "version", json_string(k->tls_version));
        json_object_set_new(tls, "cipher", jstr_or_null(k->cipher));
        json_object_set_new(tls, "alpn", jstr_or_null(k->alpn));
        json_object_set_new(tls, "subject", jstr_or_null(k->subject));
        json_object_set_new(tls, "issuer", jstr_or_null(k->issuer));
        json_object_set_new(tls, "not_after", jstr_or_null(when));
        json_object_set_new(tls, "days_left", d == INT_MIN ? json_null() : json_integer(d));
    }
    json_object_set_new(o, "tls", tls);
    json_object_set_new(o, "next_protocol",
                        k->next_protocol >= 0 ? json_integer(k->next_protocol) : json_null());
    json_object_set_new(o, "aead", k->aead >= 0 ? json_integer(k->aead) : json_null());
    json_object_set_new(o, "cookies", json_integer(k->cookies));
    json_object_set_new(o, "cookie_size",
                        k->cookies ? json_integer(k->cookie_size) : json_null());
    if (k->status == KE_OK) {
        json_object_set_new(o, "ntp_server", jstr_or_null(k->ntp_server));
        json_object_set_new(o, "ntp_port", json_integer(k->ntp_port));
    } else {
        json_object_set_new(o, "ntp_server", json_null());
        json_object_set_new(o, "ntp_port", json_null());
    }
    if (pool && k->n_supported_aeads >= 0) {
        json_t *a = json_array();
        for (int i = 0; i < k->n_supported_aeads; i++) {
            json_t *pair = json_array();
            json_array_append_new(pair, json_integer(k->supported_aeads[i].id));
            json_array_append_new(pair, json_integer(k->supported_aeads[i].key_length));
            json_array_append_new(a, pair);
        }
        json_object_set_new(o, "supported_aeads", a);
    } else {
        json_object_set_new(o, "supported_aeads", json_null());
    }
    if (pool && k->n_supported_protocols >= 0) {
        json_t *a = json_array();
        for (int i = 0; i < k->n_supported_protocols; i++)
            json_array_append_new(a, json_integer(k->supported_protocols[i]));
        json_object_set_new(o, "supported_protocols", a);
    } else {
        json_object_set_new(o, "supported_protocols", json_null());
    }
    return o;
}

static json_t *
json_ntp(const struct ntp_result *x)
{
    json_t *o = json_object();
    bool ok = x->status == NTP_OK;
    char refid[9];

    snprintf(refid, sizeof(refid), "%08X", (unsigned)x->refid);
    json_object_set_new(o, "status", json_string(result_ntp_status_str(x->status)));
    json_object_set_new(o, "detail", json_string(x->detail));
    json_object_set_new(o, "address", jstr_or_null(x->address));
    json_object_set_new(o, "port", x->port ? json_integer(x->port) : json_null());
    json_object_set_new(o, "offset", ok ? jnum_or_null(x->offset) : json_null());
    json_object_set_new(o, "delay", ok ? jnum_or_null(x->delay) : json_null());
    json_object_set_new(o, "stratum", ok ? json_integer(x->stratum) : json_null());
    json_object_set_new(o, "leap", ok ? json_integer(x->leap) : json_null());
    json_object_set_new(o, "refid", ok ? json_string(refid) : json_null());
    json_object_set_new(o, "precision", ok ? json_integer(x->precision) : json_null());
    json_object_set_new(o, "root_delay", ok ? json_real(x->root_delay) : json_null());
    json_object_set_new(o, "root_dispersion", ok ? json_real(x->root_dispersion)
                                                 : json_null());
    json_object_set_new(o, "kiss", jstr_or_null(x->kiss));
    json_object_set_new(o, "cookies_requested", json_integer(x->cookies_requested));
    json_object_set_new(o, "cookies_received", json_integer(x->cookies_received));
    return o;
}

static const char *
verdict_name(int st)
{
    switch (st) {
    case EXIT_OK: return "ok";
    case EXIT_WARNING: return "warning";
    case EXIT_CRITICAL: return "critical";
    default: return "unknown";
    }
}

static int
worse(int a, int b)
{
    /* CRITICAL beats UNKNOWN beats WARNING beats OK for the overall status. */
    static const int rank[] = {0, 1, 3, 2};
    return rank[b] > rank[a] ? b : a;
}

static void
print_json(const struct run *run, int verdict, time_t now)
{
    const struct opts *o = run->o;
    json_t *root = json_object(), *probes = json_array();
    char *text;

    json_object_set_new(root, "host", json_string(o->host));
    json_object_set_new(root, "port", json_integer(o->port));
    json_object_set_new(root, "verdict", json_string(verdict_name(verdict)));
    json_object_set_new(root, "exit_code", json_integer(verdict));
    if (run->addrs.error)
        json_object_set_new(root, "error", json_string(run->addrs.detail));
    for (size_t i = 0; i < run->n; i++) {
        const struct slot *s = &run->slot[i];
        const struct probe_result *r = &s->res;
        json_t *p = json_object(), *ntp = json_array();
        const char *why;
        struct score_step sc;

        (void)probe_status(o, s, now, &why);
        score_step_of(r, &sc);
        json_object_set_new(p, "kind", json_string(result_kind_str(r->kind)));
        json_object_set_new(p, "family", r->family ? json_string(r->family == 6 ? "v6" : "v4")
                                                   : json_null());
        json_object_set_new(p, "address", jstr_or_null(r->address));
        json_object_set_new(p, "reason", o->ke_only ? (r->ke.status == KE_OK ? json_string("ok") :
                                                       json_string("ke_failed"))
                                                    : json_string(result_probe_reason_str(sc.reason)));
        json_object_set_new(p, "step", o->ke_only ? json_null() : jnum_or_null(sc.step));
        json_object_set_new(p, "aead_unsupported", json_boolean(unsupported_aead(s)));
        json_object_set_new(p, "ke", json_ke(&r->ke, now, r->kind == PROBE_KIND_POOL));
        for (int k = 0; k < r->n_ntp; k++)
            json_array_append_new(ntp, json_ntp(&r->ntp[k]));
        json_object_set_new(p, "ntp", ntp);
        json_array_append_new(probes, p);
    }
    json_object_set_new(root, "probes", probes);
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    if (text)
        puts(text);
    free(text);
    json_decref(root);
}

static void
print_human(const struct run *run, int verdict, time_t now)
{
    const struct opts *o = run->o;

    printf("%s port %u\n", o->host, (unsigned)o->port);
    for (size_t i = 0; i < run->n; i++) {
        const struct slot *s = &run->slot[i];
        const struct probe_result *r = &s->res;
        const struct ke_result *k = &r->ke;
        const char *why;
        int st = probe_status(o, s, now, &why);
        char when[32];

        printf("\n%s %s %s%s\n", result_kind_str(r->kind),
               r->family == 6 ? "v6" : r->family == 4 ? "v4" : "-",
               r->address[0] ? r->address : o->host, s->single_aead ? " (one AEAD)" : "");
        printf("  key exchange  %s%s%s  %.1f ms", result_ke_status_str(k->status),
               k->detail[0] ? ": " : "", k->detail, k->duration * 1e3);
        if (k->connect_time >= 0)
            printf(" (connect %.1f ms", k->connect_time * 1e3);
        if (k->handshake_time >= 0)
            printf(", TLS %.1f ms", k->handshake_time * 1e3);
        printf("%s\n", k->connect_time >= 0 ? ")" : "");
        if (k->tls_version[0]) {
            int d = days_left(k, now);
            iso_time(k->not_after, when, sizeof(when));
            printf("  tls           %s %s alpn %s\n", k->tls_version, k->cipher,
                   k->alpn[0] ? k->alpn : "(none)");
            printf("  certificate   %s, issuer %s\n", k->subject, k->issuer);
            if (d != INT_MIN)
                printf("  expires       %s (%d days)\n", when, d);
        }
        if (k->n_supported_aeads >= 0 && r->kind == PROBE_KIND_POOL) {
            printf("  supported     AEADs");
            for (int j = 0; j < k->n_supported_aeads; j++)
                printf(" %u/%u", k->supported_aeads[j].id, k->supported_aeads[j].key_length);
            printf(", protocols");
            for (int j = 0; j < k->n_supported_protocols; j++)
                printf(" %u", k->supported_protocols[j]);
            printf("\n");
        }
        if (k->aead >= 0)
            printf("  negotiated    AEAD %d (%s), protocol %d, %d cookies of %d bytes\n",
                   k->aead, aead_name(k->aead), k->next_protocol, k->cookies,
                   k->cookie_size);
        if (k->status == KE_OK)
            printf("  ntp server    %s port %u\n", k->ntp_server, (unsigned)k->ntp_port);
        for (int j = 0; j < r->n_ntp; j++) {
            const struct ntp_result *x = &r->ntp[j];
            printf("  ntp #%d        %s", j + 1, result_ntp_status_str(x->status));
            if (x->status == NTP_OK)
                printf("  offset %+.3f ms  delay %.3f ms  stratum %d  leap %d  refid %08X"
                       "  cookies %d/%d",
                       x->offset * 1e3, x->delay * 1e3, x->stratum, x->leap,
                       (unsigned)x->refid, x->cookies_received, x->cookies_requested);
            else if (x->kiss[0])
                printf("  kiss %s", x->kiss);
            if (x->detail[0])
                printf("  (%s)", x->detail);
            printf("\n");
        }
        if (unsupported_aead(s)) {
            printf("  verdict       AEAD not supported by the server (not counted)\n");
        } else if (o->ke_only) {
            printf("  verdict       %s (%s)\n", verdict_name(st), why);
        } else {
            struct score_step sc;
            score_step_of(r, &sc);
            printf("  verdict       %s (%s); would score %s", verdict_name(st), why,
                   result_probe_reason_str(sc.reason));
            if (sc.discard)
                printf(", discarded\n");
            else
                printf(", step %+.2f\n", sc.step);
        }
    }
    printf("\n%s\n", verdict == EXIT_OK ? "OK" : verdict == EXIT_WARNING ? "WARNING"
                     : verdict == EXIT_CRITICAL ? "CRITICAL" : "UNKNOWN");
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"kind", required_argument, NULL, 'K'},
        {"token", required_argument, NULL, 'T'},
        {"token-file", required_argument, NULL, 'F'},
        {"aead", required_argument, NULL, 'A'},
        {"ca-file", required_argument, NULL, 'C'},
        {"ke-timeout", required_argument, NULL, 'k'},
        {"ntp-timeout", required_argument, NULL, 'n'},
        {"ke-only", no_argument, NULL, 'O'},
        {"experimental-codepoints", no_argument, NULL, 'X'},
        {"corrupt-cookie", no_argument, NULL, 'Z'},
        {"uuid", required_argument, NULL, 'U'},
        {"json", no_argument, NULL, 'j'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static struct opts o;
    static struct run run;
    bool port_set = false, aead_set = false;
    char err[256];
    int c, verdict = EXIT_OK;
    long v;
    time_t now;
    struct dns_req *dreq;

    o.port = 4460;
    o.kind_nts = true;
    o.ke_timeout_ms = 10000;
    o.ntp_timeout_ms = 1000;
    memcpy(o.aeads, default_aeads, sizeof(default_aeads));
    o.naeads = sizeof(default_aeads) / sizeof(default_aeads[0]);

    while ((c = getopt_long(argc, argv, "p:46jvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (util_parse_long(optarg, 1, 65535, &v))
                goto bad;
            o.port = (uint16_t)v;
            port_set = true;
            break;
        case '4': o.family = 4; break;
        case '6': o.family = 6; break;
        case 'K':
            o.kind_nts = strcmp(optarg, "nts") == 0 || strcmp(optarg, "all") == 0;
            o.kind_pool = strcmp(optarg, "pool") == 0 || strcmp(optarg, "all") == 0;
            if (!o.kind_nts && !o.kind_pool)
                goto bad;
            break;
        case 'T':
            if (strlen(optarg) == 0 || strlen(optarg) > NKE_MAX_TOKEN_LEN)
                goto bad;
            snprintf(o.token, sizeof(o.token), "%s", optarg);
            break;
        case 'F':
            if (read_token_file(optarg, o.token, sizeof(o.token))) {
                fprintf(stderr, "ntspool-probe: cannot read a token from %s\n", optarg);
                return EXIT_UNKNOWN;
            }
            break;
        case 'A':
            if (parse_aeads(&o, optarg))
                goto bad;
            aead_set = true;
            break;
        case 'C': o.ca_file = optarg; break;
        case 'k':
            if (util_parse_long(optarg, 1, 600000, &v))
                goto bad;
            o.ke_timeout_ms = (int)v;
            break;
        case 'n':
            if (util_parse_long(optarg, 1, 60000, &v))
                goto bad;
            o.ntp_timeout_ms = (int)v;
            break;
        case 'O': o.ke_only = true; break;
        case 'X': o.experimental = true; break;
        case 'Z': o.corrupt_cookie = true; break;
        case 'U':
            if (strlen(optarg) == 0 || strlen(optarg) > NKE_MAX_UUID_LEN)
                goto bad;
            o.uuid = optarg;
            break;
        case 'j': o.json = true; break;
        case 'v': o.verbose++; break;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': printf("ntspool-probe %s\n", NTSPOOL_VERSION); return EXIT_OK;
        default: goto bad;
        }
    }
    if (optind != argc - 1 || parse_target(&o, argv[optind], port_set))
        goto bad;
    if (o.family && dns_is_ip_literal(o.host) &&
        (strchr(o.host, ':') != NULL) != (o.family == 6)) {
        fprintf(stderr, "ntspool-probe: %s is not an IPv%d address\n", o.host, o.family);
        return EXIT_UNKNOWN;
    }
    if ((o.kind_pool || o.uuid) && !o.token[0]) {
        fprintf(stderr, "ntspool-probe: --kind pool and --uuid need --token or --token-file\n");
        return EXIT_UNKNOWN;
    }
    if (o.uuid && o.kind_pool) {
        fprintf(stderr, "ntspool-probe: --uuid goes with --kind nts\n");
        return EXIT_UNKNOWN;
    }
    if (o.uuid && !aead_set) {
        /* What the existing pool's monitors offer its KE. */
        o.aeads[0] = AEAD_AES_SIV_CMAC_512;
        o.aeads[1] = AEAD_AES_SIV_CMAC_256;
        o.naeads = 2;
    }
    log_init("ntspool-probe", o.verbose >= 2 ? LOG_LEVEL_DEBUG
                              : o.verbose ? LOG_LEVEL_INFO : LOG_LEVEL_WARN);

    run.o = &o;
    run.base = event_base_new();
    run.dns = run.base ? evdns_base_new(run.base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                                      EVDNS_BASE_DISABLE_WHEN_INACTIVE)
                       : NULL;
    if (!run.dns && run.base)   /* no resolv.conf: literals and /etc/hosts still work */
        run.dns = evdns_base_new(run.base, 0);
    if (run.dns) {
        /* Bound the resolution: 3 s per try, 2 tries per name server. */
        evdns_base_set_option(run.dns, "timeout:", "3");
        evdns_base_set_option(run.dns, "attempts:", "2");
        evdns_base_load_hosts(run.dns, NULL);
    }
    run.tls = tlsctx_new(o.ca_file, false, err, sizeof(err));
    if (!run.base || !run.dns || !run.tls) {
        fprintf(stderr, "ntspool-probe: %s\n", run.tls ? "cannot set up the event loop" : err);
        verdict = EXIT_UNKNOWN;
        goto out;
    }
    run.pending = 1;                /* the name resolution */
    dreq = dns_resolve(run.dns, o.host, o.port, o.family, on_resolved, &run);
    (void)dreq;
    if (run.pending > 0)
        event_base_dispatch(run.base);
    now = time(NULL);
    {
        /* Probes that judged the server decide; probes that only show our
           own trouble (no IPv6 route here, say) count only when nothing
           else was judged. */
        bool any_supported = false;
        int judged = EXIT_OK, ours = EXIT_OK, njudged = 0;

        for (size_t i = 0; i < run.n; i++) {
            const char *why;
            int st;

            if (unsupported_aead(&run.slot[i]))
                continue;
            any_supported = true;
            st = probe_status(&o, &run.slot[i], now, &why);
            if (st == EXIT_UNKNOWN) {
                ours = EXIT_UNKNOWN;
            } else {
                judged = worse(judged, st);
                njudged++;
            }
        }
        verdict = njudged ? judged : ours;
        if (run.n > 0 && !any_supported)
            verdict = EXIT_CRITICAL;
    }
    if (o.json)
        print_json(&run, verdict, now);
    else
        print_human(&run, verdict, now);
out:
    explicit_bzero(o.token, sizeof(o.token));
    tlsctx_free(run.tls);
    if (run.dns)
        evdns_base_free(run.dns, 0);
    if (run.base)
        event_base_free(run.base);
    return verdict;
bad:
    usage(stderr);
    return EXIT_UNKNOWN;
}
