/* ntstestd.c - main() of ntstestd, the NTS-KE + NTS-NTP test server of the
 * system tests: options, the listening sockets (one port for every --listen
 * address, port 0 = let the kernel pick), the pid and ready files, signals,
 * and the order of start-up and shut-down.  Test code, never installed.
 *
 * The ready file holds "KE_PORT NTP_PORT\n" and appears (by rename) only
 * once both servers listen, so a test can start us on port 0 and wait. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "monitor/aead.h"
#include "monitor/nke.h"
#include "tests/server/tcookie.h"
#include "tests/server/tke.h"
#include "tests/server/tntp.h"
#include "tests/server/tsrv.h"
#include "util/log.h"
#include "util/util.h"

#define BIND_ATTEMPTS 50                /* port 0 on several addresses: retries */

static const struct {
    const char *name;
    unsigned bit;
} misbehaviours[] = {
    {"ke-trailing", TSRV_KE_TRAILING},
    {"ke-duplicate-aead", TSRV_KE_DUPLICATE_AEAD},
    {"ke-no-eom-close", TSRV_KE_NO_EOM_CLOSE},
    {"ke-huge", TSRV_KE_HUGE},
    {"ke-aead-not-offered", TSRV_KE_AEAD_NOT_OFFERED},
    {"ke-aead-empty", TSRV_KE_AEAD_EMPTY},
    {"ke-no-cookies", TSRV_KE_NO_COOKIES},
    {"ke-warning", TSRV_KE_WARNING},
    {"ke-error-internal", TSRV_KE_ERROR_INTERNAL},
    {"ke-unknown-critical", TSRV_KE_UNKNOWN_CRITICAL},
    {"ke-silent", TSRV_KE_SILENT},
    {"tls-silent", TSRV_TLS_SILENT},
    {"ke-split", TSRV_KE_SPLIT},
    {"ntp-silent", TSRV_NTP_SILENT},
    {"ntp-spoof-first", TSRV_NTP_SPOOF_FIRST},
    {"ntp-kod-deny", TSRV_NTP_KOD_DENY},
    {"ntp-kod-rate", TSRV_NTP_KOD_RATE},
    {"ntp-unsync", TSRV_NTP_UNSYNC},
    {"ntp-cookies-outside", TSRV_NTP_COOKIES_OUTSIDE},
    {"ntp-too-many-cookies", TSRV_NTP_TOO_MANY_COOKIES},
    {"ntp-nak", TSRV_NTP_NAK},
};
#define N_MISBEHAVIOURS (sizeof(misbehaviours) / sizeof(misbehaviours[0]))

unsigned
tsrv_misbehave_parse(const char *name)
{
    for (size_t i = 0; i < N_MISBEHAVIOURS; i++)
        if (strcmp(name, misbehaviours[i].name) == 0)
            return misbehaviours[i].bit;
    return 0;
}

const char *
tsrv_misbehave_names(void)
{
    static char names[512];

    if (!names[0]) {
        size_t off = 0;
        for (size_t i = 0; i < N_MISBEHAVIOURS; i++) {
            int w = snprintf(names + off, sizeof(names) - off, "%s%s", i ? " " : "",
                             misbehaviours[i].name);
            if (w < 0 || (size_t)w >= sizeof(names) - off)
                break;
            off += (size_t)w;
        }
    }
    return names;
}

bool
tsrv_pool_capable(const struct tsrv_config *cfg)
{
    return cfg->ntokens > 0 || cfg->monitor_key != NULL;
}

static void
usage(FILE *f)
{
    size_t col = 0;

    fputs("usage: ntstestd --cert FILE --key FILE [options]\n"
"NTS-KE (TLS 1.3, ALPN ntske/1) and NTS-protected NTP test server, with the\n"
"pool records and deliberate faults.  Test code: never install it.\n"
"\n"
"  --listen ADDR          address to serve on, repeatable (default 127.0.0.1)\n"
"  --ke-port N            TCP port of NTS-KE (default 0: pick one)\n"
"  --ntp-port N           UDP port of NTP (default 0: pick one)\n"
"  --cert FILE --key FILE certificate chain and private key (PEM)\n"
"  --aeads LIST           supported AEADs, of 15,16,17,30 (default 15,16,17,30)\n"
"  --token TOKEN          accepted pool authentication token, repeatable\n"
"  --codepoints SET       pool records understood: permanent, experimental or\n"
"                         both (default); the other set's are unknown records\n"
"  --monitor-key KEY      act as a pool KE: the monitor's key ...\n"
"  --uuid UUID            ... and the one time source UUID it knows\n"
"  --server-record NAME   send an NTPv4 Server record\n"
"  --port-record N        send this NTPv4 Port record (default: the NTP port\n"
"                         when it is not 123)\n"
"  --stratum N            stratum of the replies (default 2)\n"
"  --leap N               leap indicator of the replies (default 0)\n"
"  --offset-ms X          shift the clock of the replies by X ms\n"
"  --max-conns N          NTS-KE connections held at once (default 256; the\n"
"                         descriptor limit is raised to fit)\n"
"  --conn-timeout S       one whole NTS-KE connection (default 5 s)\n"
"  --pidfile FILE         write our pid to FILE\n"
"  --ready-file FILE      write \"KE_PORT NTP_PORT\" to FILE once listening\n"
"  -v, --verbose          log more (twice: debug)\n"
"  -h, --help             this text\n"
"  --misbehave WHAT       a deliberate fault, repeatable; one of:", f);
    for (size_t i = 0; i < N_MISBEHAVIOURS; i++) {
        size_t w = strlen(misbehaviours[i].name) + 1;

        if (col == 0 || col + w > 78) {
            fputs("\n                        ", f);
            col = 24;
        }
        fprintf(f, " %s", misbehaviours[i].name);
        col += w;
    }
    fputc('\n', f);
}

/* Room for the KE connections: the soft descriptor limit raised towards
   the hard one when need is above it. */
static int
raise_nofile(rlim_t need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need)
            return -1;
    }
    return 0;
}

static int
parse_aeads(const char *s, struct tsrv_config *cfg)
{
    const char *p = s;

    cfg->naeads = 0;
    for (;;) {
        char *end;
        long id;

        errno = 0;
        id = strtol(p, &end, 10);
        if (errno || end == p || (*end && *end != ',') || !aead_is_supported((int)id) ||
            cfg->naeads >= TSRV_MAX_AEADS)
            return -1;
        for (size_t i = 0; i < cfg->naeads; i++)
            if (cfg->aeads[i] == id)
                return -1;
        cfg->aeads[cfg->naeads++] = (uint16_t)id;
        if (!*end)
            return 0;
        p = end + 1;
    }
}

/* One socket of type bound to addr:port; the port bound in *got. */
static int
bind_one(const char *addr, int type, uint16_t port, uint16_t *got)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        len = sizeof(*s6);
    } else {
        errno = EINVAL;
        return -1;
    }
    fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    else /* the kernel's receive time: a stalled server still answers true times */
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
        (type == SOCK_STREAM && listen(fd, 1024) != 0) ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    *got = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* Sockets on every address with one port number.  With port 0 the first
   address picks it and the others follow; a clash means another try. */
static int
bind_all(const char *const *addrs, size_t n, int type, uint16_t port, int *fds,
         uint16_t *got)
{
    for (int attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
        uint16_t want = port, p = 0;
        size_t i;

        for (i = 0; i < n; i++) {
            fds[i] = bind_one(addrs[i], type, want, &p);
            if (fds[i] < 0)
                break;
            want = p;
        }
        if (i == n) {
            *got = p;
            return 0;
        }
        {
            int e = errno;
            while (i > 0)
                close(fds[--i]);
            errno = e;
        }
        if (port != 0 || errno != EADDRINUSE)
            return -1;
    }
    return -1;
}

static int
write_file(const char *path, const char *text)
{
    char tmp[PATH_MAX];
    FILE *f;
    int ok;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -1;
    f = fopen(tmp, "w");
    if (!f)
        return -1;
    ok = fputs(text, f) >= 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    log_info("signal %d: shutting down", (int)sig);
    event_base_loopbreak(arg);
}

enum {
    OPT_KE_PORT = 256, OPT_NTP_PORT, OPT_LISTEN, OPT_CERT, OPT_KEY, OPT_AEADS, OPT_TOKEN,
    OPT_MONITOR_KEY, OPT_UUID, OPT_SERVER_RECORD, OPT_PORT_RECORD, OPT_MISBEHAVE,
    OPT_PIDFILE, OPT_READY_FILE, OPT_STRATUM, OPT_LEAP, OPT_OFFSET_MS, OPT_CODEPOINTS,
    OPT_MAX_CONNS, OPT_CONN_TIMEOUT,
};

static const struct option long_options[] = {
    {"ke-port", required_argument, NULL, OPT_KE_PORT},
    {"ntp-port", required_argument, NULL, OPT_NTP_PORT},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"aeads", required_argument, NULL, OPT_AEADS},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"monitor-key", required_argument, NULL, OPT_MONITOR_KEY},
    {"uuid", required_argument, NULL, OPT_UUID},
    {"server-record", required_argument, NULL, OPT_SERVER_RECORD},
    {"port-record", required_argument, NULL, OPT_PORT_RECORD},
    {"misbehave", required_argument, NULL, OPT_MISBEHAVE},
    {"pidfile", required_argument, NULL, OPT_PIDFILE},
    {"ready-file", required_argument, NULL, OPT_READY_FILE},
    {"stratum", required_argument, NULL, OPT_STRATUM},
    {"leap", required_argument, NULL, OPT_LEAP},
    {"offset-ms", required_argument, NULL, OPT_OFFSET_MS},
    {"codepoints", required_argument, NULL, OPT_CODEPOINTS},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"conn-timeout", required_argument, NULL, OPT_CONN_TIMEOUT},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int
main(int argc, char **argv)
{
    static struct tsrv_config cfg;
    const char *listen_addrs[TSRV_MAX_LISTEN];
    size_t nlisten = 0;
    const char *cert = NULL, *key = NULL, *pidfile = NULL, *ready_file = NULL;
    long ke_port = 0, ntp_port = 0, v;
    int verbose = 0, opt, status = 0;
    int ke_fds[TSRV_MAX_LISTEN], ntp_fds[TSRV_MAX_LISTEN];
    uint16_t ke_bound = 0, ntp_bound = 0;
    struct event_base *base = NULL;
    struct event *ev_term = NULL, *ev_int = NULL;
    struct tke_server *ke = NULL;
    struct tntp_server *ntp = NULL;
    char err[256], text[64];
    char *end;

    cfg.aeads[0] = AEAD_AES_SIV_CMAC_256;
    cfg.aeads[1] = AEAD_AES_SIV_CMAC_384;
    cfg.aeads[2] = AEAD_AES_SIV_CMAC_512;
    cfg.aeads[3] = AEAD_AES_128_GCM_SIV;
    cfg.naeads = 4;
    cfg.port_record = -1;
    cfg.stratum = 2;
    cfg.codepoints = 3;
    cfg.ke_timeout_s = TSRV_KE_TIMEOUT_S;
    cfg.ke_max_conns = TSRV_KE_MAX_CONNS;
    log_init("ntstestd", LOG_LEVEL_WARN);

    while ((opt = getopt_long(argc, argv, "vh", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_KE_PORT:
        case OPT_NTP_PORT:
            if (util_parse_long(optarg, 0, 65535, &v) != 0)
                log_fatal(2, "bad port: %s", optarg);
            *(opt == OPT_KE_PORT ? &ke_port : &ntp_port) = v;
            break;
        case OPT_LISTEN:
            if (nlisten >= TSRV_MAX_LISTEN)
                log_fatal(2, "at most %d --listen addresses", TSRV_MAX_LISTEN);
            listen_addrs[nlisten++] = optarg;
            break;
        case OPT_CERT:
            cert = optarg;
            break;
        case OPT_KEY:
            key = optarg;
            break;
        case OPT_AEADS:
            if (parse_aeads(optarg, &cfg) != 0)
                log_fatal(2, "bad --aeads: %s (distinct ids of 15, 16, 17, 30)", optarg);
            break;
        case OPT_TOKEN:
            if (cfg.ntokens >= TSRV_MAX_TOKENS || !optarg[0] ||
                strlen(optarg) > NKE_MAX_TOKEN_LEN)
                log_fatal(2, "bad or too many --token");
            cfg.tokens[cfg.ntokens++] = optarg;
            break;
        case OPT_MONITOR_KEY:
            if (!optarg[0])
                log_fatal(2, "empty --monitor-key");
            cfg.monitor_key = optarg;
            break;
        case OPT_UUID:
            cfg.uuid = optarg;
            break;
        case OPT_SERVER_RECORD:
            if (!optarg[0] || strlen(optarg) > NKE_MAX_SERVER_LEN)
                log_fatal(2, "bad --server-record");
            cfg.server_record = optarg;
            break;
        case OPT_PORT_RECORD:
            if (util_parse_long(optarg, 0, 65535, &v) != 0)
                log_fatal(2, "bad --port-record: %s", optarg);
            cfg.port_record = (int)v;
            break;
        case OPT_MISBEHAVE: {
            unsigned bit = tsrv_misbehave_parse(optarg);
            if (!bit)
                log_fatal(2, "unknown --misbehave %s (one of: %s)", optarg,
                          tsrv_misbehave_names());
            cfg.misbehave |= bit;
            break;
        }
        case OPT_PIDFILE:
            pidfile = optarg;
            break;
        case OPT_READY_FILE:
            ready_file = optarg;
            break;
        case OPT_STRATUM:
            if (util_parse_long(optarg, 0, 255, &v) != 0)
                log_fatal(2, "bad --stratum: %s", optarg);
            cfg.stratum = (int)v;
            break;
        case OPT_LEAP:
            if (util_parse_long(optarg, 0, 3, &v) != 0)
                log_fatal(2, "bad --leap: %s", optarg);
            cfg.leap = (int)v;
            break;
        case OPT_OFFSET_MS:
            errno = 0;
            cfg.offset_ms = strtod(optarg, &end);
            if (errno || end == optarg || *end || cfg.offset_ms != cfg.offset_ms ||
                cfg.offset_ms > 1e12 || cfg.offset_ms < -1e12)
                log_fatal(2, "bad --offset-ms: %s", optarg);
            break;
        case OPT_CODEPOINTS:
            if (strcmp(optarg, "permanent") == 0)
                cfg.codepoints = 1;
            else if (strcmp(optarg, "experimental") == 0)
                cfg.codepoints = 2;
            else if (strcmp(optarg, "both") == 0)
                cfg.codepoints = 3;
            else
                log_fatal(2, "bad --codepoints: %s (permanent, experimental, both)", optarg);
            break;
        case OPT_MAX_CONNS:
            if (util_parse_long(optarg, 1, 1000000, &v) != 0)
                log_fatal(2, "bad --max-conns: %s", optarg);
            cfg.ke_max_conns = (int)v;
            break;
        case OPT_CONN_TIMEOUT:
            if (util_parse_long(optarg, 1, 3600, &v) != 0)
                log_fatal(2, "bad --conn-timeout: %s", optarg);
            cfg.ke_timeout_s = (int)v;
            break;
        case 'v':
            verbose++;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!cert || !key)
        log_fatal(2, "--cert and --key are required");
    if (raise_nofile((rlim_t)cfg.ke_max_conns + 64) != 0)
        log_fatal(2, "--max-conns %d: the descriptor limit is too low (ulimit -Hn)",
                  cfg.ke_max_conns);
    if (nlisten == 0)
        listen_addrs[nlisten++] = "127.0.0.1";
    log_init("ntstestd", verbose >= 2 ? LOG_LEVEL_DEBUG
                         : verbose ? LOG_LEVEL_INFO : LOG_LEVEL_WARN);
    signal(SIGPIPE, SIG_IGN);
    if (tck_init() != 0)
        log_fatal(1, "cannot draw the cookie master key");

    if (bind_all(listen_addrs, nlisten, SOCK_STREAM, (uint16_t)ke_port, ke_fds,
                 &ke_bound) != 0)
        log_fatal(1, "cannot listen on TCP port %ld: %s", ke_port, strerror(errno));
    if (bind_all(listen_addrs, nlisten, SOCK_DGRAM, (uint16_t)ntp_port, ntp_fds,
                 &ntp_bound) != 0)
        log_fatal(1, "cannot bind UDP port %ld: %s", ntp_port, strerror(errno));
    cfg.ntp_port = ntp_bound;

    base = event_base_new();
    if (!base)
        log_fatal(1, "event_base_new failed");
    ke = tke_new(base, &cfg, cert, key, ke_fds, nlisten, err, sizeof(err));
    if (!ke) {
        for (size_t i = 0; i < nlisten; i++)
            close(ntp_fds[i]);
        log_err("%s", err);
        status = 1;
        goto out;
    }
    ntp = tntp_new(base, &cfg, ntp_fds, nlisten);
    ev_term = evsignal_new(base, SIGTERM, on_signal, base);
    ev_int = evsignal_new(base, SIGINT, on_signal, base);
    if (!ntp || !ev_term || !ev_int || event_add(ev_term, NULL) != 0 ||
        event_add(ev_int, NULL) != 0) {
        log_err("cannot set up the event loop");
        status = 1;
        goto out;
    }
    if (pidfile) {
        snprintf(text, sizeof(text), "%ld\n", (long)getpid());
        if (write_file(pidfile, text) != 0) {
            log_err("cannot write %s: %s", pidfile, strerror(errno));
            status = 1;
            goto out;
        }
    }
    if (ready_file) {
        snprintf(text, sizeof(text), "%u %u\n", (unsigned)ke_bound, (unsigned)ntp_bound);
        if (write_file(ready_file, text) != 0) {
            log_err("cannot write %s: %s", ready_file, strerror(errno));
            status = 1;
            goto out;
        }
    }
    log_info("listening: NTS-KE on TCP %u, NTP on UDP %u (%zu address%s), misbehave 0x%x",
             (unsigned)ke_bound, (unsigned)ntp_bound, nlisten, nlisten == 1 ? "" : "es",
             cfg.misbehave);
    if (event_base_dispatch(base) < 0) {
        log_err("event loop failed");
        status = 1;
    }
out:
    tntp_free(ntp);
    tke_free(ke);
    if (ev_term)
        event_free(ev_term);
    if (ev_int)
        event_free(ev_int);
    if (base)
        event_base_free(base);
    libevent_global_shutdown();
    tck_fini();
    if (pidfile)
        unlink(pidfile);
    if (ready_file)
        unlink(ready_file);
    return status;
}
