/* test_config.c - the configuration files of ntspoold and ntspool-monitor:
 * the defaults, every key with good values and bad ones at the edges of its
 * range, the listen list, the error message (file, line, section, key) for
 * unknown, duplicate, over-long and malformed input, CR LF, comments, files
 * that cannot be read, and the keys one program refuses to the other. */
#include "util/config.h"

#include <errno.h>
#include <locale.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "util/util.h"

static struct config cfg;
static char err[CONFIG_ERR_MAX];

static int
load(enum config_prog prog, const char *text)
{
    return config_load_string(&cfg, prog, "t.conf", text, err, sizeof(err));
}

/* Parses, with no message. */
#define OK(prog, text)                                                          \
    do {                                                                        \
        CHECK_INT(load((prog), (text)), 0);                                     \
        CHECK_STR(err, "");                                                     \
    } while (0)

/* Fails with exactly this message. */
#define FAILS(prog, text, msg)                                                  \
    do {                                                                        \
        CHECK_INT(load((prog), (text)), -1);                                    \
        CHECK_STR(err, (msg));                                                  \
    } while (0)

static bool
has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
check_defaults(const struct config *c, enum config_prog prog)
{
    CHECK_INT(c->prog, prog);
    CHECK_INT(c->nlisten, 1);
    CHECK_STR(c->listen[0].addr, "127.0.0.1");
    CHECK_INT(c->listen[0].port, 8080);
    CHECK_STR(c->public_url, "http://127.0.0.1:8080");
    CHECK_STR(c->database, "var/ntspool.db");
    CHECK_STR(c->secret_file, "var/secret");
    CHECK_INT(c->retention_days, 15);
    CHECK(c->builtin);
    CHECK_INT(c->interval, 241);
    CHECK_NEAR(c->ke_timeout, 10, 0);
    CHECK_NEAR(c->ntp_timeout, 1, 0);
    CHECK_INT(c->max_in_flight, 1000);
    CHECK_INT(c->result_batchsize, 0);
    CHECK_INT(c->result_max_waittime, 60);
    if (c->prog == CONFIG_NTSPOOLD)
        CHECK_INT(c->rate_limit, 100);
    if (c->prog == CONFIG_NTSPOOLD) {
        CHECK_INT(c->session_idle, 7200);
        CHECK_INT(c->session_max, 7 * 86400);
        CHECK_INT(c->max_connections, 0);
        CHECK_INT(c->max_conn_per_addr, 64);
        CHECK_INT(c->header_timeout, 10);
        CHECK_INT(c->body_timeout, 30);
    }
    CHECK_STR(c->ca_file, "");
    CHECK(!c->allow_private);
    CHECK_INT(c->codepoints, CONFIG_CP_AUTO);
    CHECK(c->clock_check);
    CHECK_STR(c->url, "");
    CHECK_STR(c->key_file, "");
    CHECK_STR(c->service_ca_file, "");
    CHECK_STR(c->probe_ca_file, "");
    CHECK_STR(c->spool, "var/spool");
    CHECK_INT(c->spool_max, 100000);
    CHECK_STR(c->smtp_url, "");
    CHECK_STR(c->from, "");
    CHECK_INT(c->log_level, 1);
}

static void
test_defaults(void)
{
    struct config c;

    memset(&c, 0xa5, sizeof(c));
    config_defaults(&c, CONFIG_NTSPOOLD);
    check_defaults(&c, CONFIG_NTSPOOLD);
    config_defaults(&c, CONFIG_MONITOR);
    check_defaults(&c, CONFIG_MONITOR);
    /* An empty file, and one of comments and blank lines only. */
    OK(CONFIG_NTSPOOLD, "");
    check_defaults(&cfg, CONFIG_NTSPOOLD);
    OK(CONFIG_MONITOR, "; nothing\n# here\n\n   \n[monitor]\n");
    check_defaults(&cfg, CONFIG_MONITOR);
}

/* Every key of ntspoold, set at once. */
static void
test_all_ntspoold(void)
{
    OK(CONFIG_NTSPOOLD, "[http]\n"
                        "listen = 192.0.2.1:80 [2001:db8::1]:443\n"
                        "public_url = https://pool.example.org\n"
                        "[store]\n"
                        "database = /srv/ntspool/db.sqlite\n"
                        "secret_file = /srv/ntspool/secret\n"
                        "retention_days = 30\n"
                        "[monitor]\n"
                        "builtin = no\n"
                        "interval = 60\n"
                        "ke_timeout = 2.5\n"
                        "ntp_timeout = 0.25\n"
                        "max_in_flight = 50\n"
                        "result_batchsize = 3\n"
                        "result_max_waittime = 2\n"
                        "ca_file = /etc/ntspool/ca.pem\n"
                        "allow_private = yes\n"
                        "codepoints = experimental\n"
                        "clock_check = off\n"
                        "[alerts]\n"
                        "smtp_url = smtps://mail.example.org:465\n"
                        "from = ntspool@example.org\n"
                        "[log]\n"
                        "level = debug\n");
    CHECK_INT(cfg.nlisten, 2);
    CHECK_STR(cfg.listen[0].addr, "192.0.2.1");
    CHECK_INT(cfg.listen[0].port, 80);
    CHECK_STR(cfg.listen[1].addr, "2001:db8::1");
    CHECK_INT(cfg.listen[1].port, 443);
    CHECK_STR(cfg.public_url, "https://pool.example.org");
    CHECK_STR(cfg.database, "/srv/ntspool/db.sqlite");
    CHECK_STR(cfg.secret_file, "/srv/ntspool/secret");
    CHECK_INT(cfg.retention_days, 30);
    CHECK(!cfg.builtin);
    CHECK_INT(cfg.interval, 60);
    CHECK_NEAR(cfg.ke_timeout, 2.5, 0);
    CHECK_NEAR(cfg.ntp_timeout, 0.25, 0);
    CHECK_INT(cfg.max_in_flight, 50);
    CHECK_INT(cfg.result_batchsize, 3);
    CHECK_INT(cfg.result_max_waittime, 2);
    CHECK_STR(cfg.ca_file, "/etc/ntspool/ca.pem");
    CHECK(cfg.allow_private);
    CHECK_INT(cfg.codepoints, CONFIG_CP_EXPERIMENTAL);
    CHECK(!cfg.clock_check);
    CHECK_STR(cfg.smtp_url, "smtps://mail.example.org:465");
    CHECK_STR(cfg.from, "ntspool@example.org");
    CHECK_INT(cfg.log_level, 3);
}

/* Every key of ntspool-monitor, set at once. */
static void
test_all_monitor(void)
{
    OK(CONFIG_MONITOR, "[monitor]\n"
                       "url = https://pool.example.org/\n"
                       "key_file = /etc/ntspool/monitor.key\n"
                       "service_ca_file = /etc/ntspool/service-ca.pem\n"
                       "probe_ca_file = /etc/ntspool/probe-ca.pem\n"
                       "spool = /var/spool/ntspool\n"
                       "spool_max = 5000\n"
                       "allow_private = true\n"
                       "clock_check = 0\n"
                       "ke_timeout = 300\n"
                       "ntp_timeout = 60\n"
                       "codepoints = permanent\n"
                       "[log]\n"
                       "level = info\n");
    CHECK_STR(cfg.url, "https://pool.example.org/");
    CHECK_STR(cfg.key_file, "/etc/ntspool/monitor.key");
    CHECK_STR(cfg.service_ca_file, "/etc/ntspool/service-ca.pem");
    CHECK_STR(cfg.probe_ca_file, "/etc/ntspool/probe-ca.pem");
    CHECK_STR(cfg.spool, "/var/spool/ntspool");
    CHECK_INT(cfg.spool_max, 5000);
    CHECK(cfg.allow_private);
    CHECK(!cfg.clock_check);
    CHECK_NEAR(cfg.ke_timeout, 300, 0);
    CHECK_NEAR(cfg.ntp_timeout, 60, 0);
    CHECK_INT(cfg.codepoints, CONFIG_CP_PERMANENT);
    CHECK_INT(cfg.log_level, 2);
}

/* One value of one key: good or not.  A bad one fails on line 2 with a
   message naming the key. */
struct value_case {
    enum config_prog prog;
    const char *section, *key, *value;
    bool ok;
};

#define D CONFIG_NTSPOOLD
#define M CONFIG_MONITOR

static const struct value_case values[] = {
    {D, "store", "retention_days", "1", true},
    {D, "store", "retention_days", "3650", true},
    {D, "store", "retention_days", "0", false},
    {D, "store", "retention_days", "3651", false},
    {D, "store", "retention_days", "-1", false},
    {D, "store", "retention_days", "15x", false},
    {D, "store", "retention_days", "0x10", false},
    {D, "store", "retention_days", "1.5", false},
    {D, "store", "retention_days", "99999999999999999999999", false},
    {D, "store", "retention_days", "", false},
    {D, "monitor", "interval", "1", true},
    {D, "monitor", "interval", "86400", true},
    {D, "monitor", "interval", "0", false},
    {D, "monitor", "interval", "86401", false},
    {D, "monitor", "result_batchsize", "1", true},
    {D, "monitor", "result_batchsize", "1000", true},
    {D, "monitor", "result_batchsize", "0", true},
    {D, "monitor", "result_batchsize", "1001", false},
    {D, "monitor", "result_max_waittime", "1", true},
    {D, "monitor", "result_max_waittime", "3600", true},
    {D, "monitor", "result_max_waittime", "0", false},
    {D, "monitor", "result_max_waittime", "3601", false},
    {D, "http", "rate_limit", "0", true},
    {D, "http", "rate_limit", "1000000", true},
    {D, "http", "rate_limit", "-1", false},
    {D, "http", "rate_limit", "1000001", false},
    {D, "http", "session_idle", "1", true},
    {D, "http", "session_idle", "2592000", true},
    {D, "http", "session_idle", "0", false},
    {D, "http", "session_idle", "2592001", false},
    {D, "http", "session_max", "1", true},
    {D, "http", "session_max", "31536000", true},
    {D, "http", "session_max", "0", false},
    {D, "http", "session_max", "31536001", false},
    {D, "http", "max_connections", "0", true},
    {D, "http", "max_connections", "1000000", true},
    {D, "http", "max_connections", "-1", false},
    {D, "http", "max_connections", "1000001", false},
    {D, "http", "max_connections_per_address", "1", true},
    {D, "http", "max_connections_per_address", "0", false},
    {D, "http", "header_timeout", "1", true},
    {D, "http", "header_timeout", "3600", true},
    {D, "http", "header_timeout", "0", false},
    {D, "http", "header_timeout", "3601", false},
    {D, "http", "body_timeout", "3600", true},
    {D, "http", "body_timeout", "0", false},
    {D, "http", "body_timeout", "1.5", false},
    {D, "monitor", "max_in_flight", "1", true},
    {D, "monitor", "max_in_flight", "100000", true},
    {D, "monitor", "max_in_flight", "0", false},
    {D, "monitor", "max_in_flight", "100001", false},
    {M, "monitor", "spool_max", "1", true},
    {M, "monitor", "spool_max", "100000000", true},
    {M, "monitor", "spool_max", "0", false},
    {M, "monitor", "spool_max", "100000001", false},
    {D, "monitor", "ke_timeout", "0.01", true},
    {D, "monitor", "ke_timeout", "300", true},
    {D, "monitor", "ke_timeout", "300.0", true},
    {D, "monitor", "ke_timeout", "0.009", false},
    {D, "monitor", "ke_timeout", "300.001", false},
    {D, "monitor", "ke_timeout", "0", false},
    {D, "monitor", "ke_timeout", "-1", false},
    {D, "monitor", "ke_timeout", "+1", false},
    {D, "monitor", "ke_timeout", "1e1", false},
    {D, "monitor", "ke_timeout", "0x1p3", false},
    {D, "monitor", "ke_timeout", "inf", false},
    {D, "monitor", "ke_timeout", "nan", false},
    {D, "monitor", "ke_timeout", "1,5", false},
    {D, "monitor", "ke_timeout", "1.", false},
    {D, "monitor", "ke_timeout", ".5", false},
    {D, "monitor", "ke_timeout", "", false},
    {D, "monitor", "ntp_timeout", "0.01", true},
    {D, "monitor", "ntp_timeout", "60", true},
    {D, "monitor", "ntp_timeout", "60.01", false},
    {D, "monitor", "ntp_timeout", "0.0099999", false},
    {M, "monitor", "ntp_timeout", "0.5", true},
    {M, "monitor", "ke_timeout", "301", false},
    {D, "monitor", "builtin", "maybe", false},
    {D, "monitor", "builtin", "", false},
    {D, "monitor", "builtin", "2", false},
    {D, "monitor", "builtin", "yess", false},
    {D, "monitor", "codepoints", "auto", true},
    {D, "monitor", "codepoints", "Permanent", true},
    {D, "monitor", "codepoints", "EXPERIMENTAL", true},
    {D, "monitor", "codepoints", "both", false},
    {D, "monitor", "codepoints", "", false},
    {M, "monitor", "codepoints", "none", false},
    {D, "log", "level", "err", true},
    {D, "log", "level", "warn", true},
    {D, "log", "level", "error", false},
    {D, "log", "level", "", false},
    {M, "log", "level", "trace", false},
    {D, "http", "public_url", "http://x", true},
    {D, "http", "public_url", "https://pool.example.org/base", true},
    {D, "http", "public_url", "ftp://pool.example.org", false},
    {D, "http", "public_url", "pool.example.org", false},
    {D, "http", "public_url", "http://", false},
    {D, "http", "public_url", "https:///path", false},
    {D, "http", "public_url", "http://a b", false},
    {D, "http", "public_url", "", false},
    {M, "monitor", "url", "http://127.0.0.1:8080", true},
    {M, "monitor", "url", "", true},
    {M, "monitor", "url", "127.0.0.1:8080", false},
    {D, "alerts", "smtp_url", "smtp://127.0.0.1:2525", true},
    {D, "alerts", "smtp_url", "smtps://user:pw@mail.example.org", true},
    {D, "alerts", "smtp_url", "", true},
    {D, "alerts", "smtp_url", "http://mail.example.org", false},
    {D, "alerts", "smtp_url", "smtp://", false},
    {D, "alerts", "from", "Pool <pool@example.org>", true},
    {D, "alerts", "from", "", true},
    {D, "store", "database", "", false},
    {D, "store", "secret_file", "", false},
    {D, "monitor", "ca_file", "", true},
    {M, "monitor", "spool", "", false},
    {M, "monitor", "key_file", "", true},
    {M, "monitor", "service_ca_file", "", true},
    {M, "monitor", "probe_ca_file", "a path with spaces", true},
    {D, "http", "listen", "0.0.0.0:1", true},
    {D, "http", "listen", "0.0.0.0:65535", true},
    {D, "http", "listen", "[::]:8080", true},
    {D, "http", "listen", "[::ffff:192.0.2.1]:8080", true},
    {D, "http", "listen", "0.0.0.0:0", false},
    {D, "http", "listen", "0.0.0.0:65536", false},
    {D, "http", "listen", "0.0.0.0:080000", false},
    {D, "http", "listen", "0.0.0.0:+80", false},
    {D, "http", "listen", "0.0.0.0:-1", false},
    {D, "http", "listen", "0.0.0.0:", false},
    {D, "http", "listen", "0.0.0.0", false},
    {D, "http", "listen", ":8080", false},
    {D, "http", "listen", "localhost:8080", false},
    {D, "http", "listen", "1.2.3:8080", false},
    {D, "http", "listen", "256.0.0.1:8080", false},
    {D, "http", "listen", "::1:8080", false},
    {D, "http", "listen", "[::1]8080", false},
    {D, "http", "listen", "[::1:8080", false},
    {D, "http", "listen", "[]:8080", false},
    {D, "http", "listen", "[127.0.0.1]:8080", false},
    {D, "http", "listen", "[fe80::1%eth0]:8080", false},
    {D, "http", "listen", "127.0.0.1:8080 127.0.0.1:8080", false},
    {D, "http", "listen", "[::1]:80 [0:0::1]:80", false},
    {D, "http", "listen", "", false},
};

static void
test_values(void)
{
    char text[256], prefix[128];

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        const struct value_case *v = &values[i];
        int r;

        snprintf(text, sizeof(text), "[%s]\n%s = %s\n", v->section, v->key, v->value);
        r = load(v->prog, text);
        CHECK_INT(r, v->ok ? 0 : -1);
        if (v->ok) {
            CHECK_STR(err, "");
        } else {
            snprintf(prefix, sizeof(prefix), "t.conf:2: [%s] %s: ", v->section, v->key);
            CHECK(has_prefix(err, prefix));
            /* The value is never echoed (smtp_url may hold a password). */
            CHECK(strlen(v->value) < 3 || strstr(err + strlen(prefix), v->value) == NULL);
        }
        if ((r == 0) != v->ok)
            fprintf(stderr, "  case %zu: [%s] %s = '%s': %s\n", i, v->section, v->key,
                    v->value, err);
    }
    /* The messages of the ranges. */
    FAILS(D, "[store]\nretention_days = 0\n",
          "t.conf:2: [store] retention_days: not an integer in 1..3650");
    FAILS(D, "[monitor]\nke_timeout = 0\n",
          "t.conf:2: [monitor] ke_timeout: not a decimal number in 0.01..300");
    FAILS(M, "[monitor]\nspool_max = 0\n",
          "t.conf:2: [monitor] spool_max: not an integer in 1..100000000");
}

static void
test_booleans(void)
{
    static const char *const yes[] = {"yes", "YES", "Yes", "true",
                                      "True", "on", "ON", "1"};
    static const char *const no[] = {"no", "NO", "false", "FALSE", "off", "Off", "0"};
    char text[128];

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        snprintf(text, sizeof(text),
                 "[monitor]\nbuiltin = %s\nallow_private = %s\nclock_check = %s\n",
                 yes[i], yes[i], yes[i]);
        OK(D, text);
        CHECK(cfg.builtin && cfg.allow_private && cfg.clock_check);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        snprintf(text, sizeof(text),
                 "[monitor]\nbuiltin = %s\nallow_private = %s\nclock_check = %s\n", no[i],
                 no[i], no[i]);
        OK(D, text);
        CHECK(!cfg.builtin && !cfg.allow_private && !cfg.clock_check);
    }
    FAILS(D, "[monitor]\nbuiltin = nope\n",
          "t.conf:2: [monitor] builtin: not a boolean (yes/no, true/false, on/off, 1/0)");
}

static void
test_listen(void)
{
    struct config_listen l;
    char text[1024];

    /* The helper alone. */
    CHECK_INT(config_parse_listen("127.0.0.1:8080", &l), 0);
    CHECK_STR(l.addr, "127.0.0.1");
    CHECK_INT(l.port, 8080);
    CHECK_INT(config_parse_listen("[::1]:443", &l), 0);
    CHECK_STR(l.addr, "::1");
    CHECK_INT(l.port, 443);
    CHECK_INT(config_parse_listen("[0:0:0:0:0:0:0:1]:1", &l), 0);
    CHECK_STR(l.addr, "::1"); /* canonical */
    CHECK_INT(config_parse_listen("[::1]", &l), -1);
    CHECK_INT(config_parse_listen("", &l), -1);
    CHECK_INT(config_parse_listen("[", &l), -1);
    CHECK_INT(config_parse_listen("[:]:1", &l), -1);
    CHECK_INT(config_parse_listen(" 127.0.0.1:80", &l), -1);
    CHECK_INT(config_parse_listen("127.0.0.1:80 ", &l), -1);

    /* IPv6 first: public_url's default has the brackets. */
    OK(D, "[http]\nlisten = [::1]:8080\n");
    CHECK_INT(cfg.nlisten, 1);
    CHECK_STR(cfg.listen[0].addr, "::1");
    CHECK_INT(cfg.listen[0].port, 8080);
    CHECK_STR(cfg.public_url, "http://[::1]:8080");
    /* public_url follows the first listen item even when it comes first. */
    OK(D, "[http]\nlisten = 192.0.2.7:9000   [::]:9000\n");
    CHECK_INT(cfg.nlisten, 2);
    CHECK_STR(cfg.public_url, "http://192.0.2.7:9000");
    /* Given, it stays as given, before or after listen. */
    OK(D, "[http]\npublic_url = https://a.example\nlisten = 192.0.2.7:9000\n");
    CHECK_STR(cfg.public_url, "https://a.example");
    /* Eight is the most. */
    OK(D, "[http]\nlisten = 127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 127.0.0.1:4 "
          "127.0.0.1:5 127.0.0.1:6 [::1]:7 [::1]:8\n");
    CHECK_INT(cfg.nlisten, CONFIG_LISTEN_MAX);
    CHECK_STR(cfg.listen[7].addr, "::1");
    CHECK_INT(cfg.listen[7].port, 8);
    FAILS(D,
          "[http]\nlisten = 127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 127.0.0.1:4 "
          "127.0.0.1:5 127.0.0.1:6 [::1]:7 [::1]:8 [::1]:9\n",
          "t.conf:2: [http] listen: more than 8 addresses");
    FAILS(D, "[http]\nlisten = 127.0.0.1:80 bad\n",
          "t.conf:2: [http] listen: not ADDR:PORT ([ADDR]:PORT for IPv6, numeric, port "
          "1-65535)");
    /* A bad list leaves the previous one alone. */
    CHECK_INT(cfg.nlisten, 1);
    CHECK_STR(cfg.listen[0].addr, "127.0.0.1");
    /* An item longer than any address. */
    memset(text, 0, sizeof(text));
    memcpy(text, "[http]\nlisten = [", 17);
    memset(text + 17, '1', 200);
    memcpy(text + 217, "]:80\n", 5);
    CHECK_INT(load(D, text), -1);
    CHECK(has_prefix(err, "t.conf:2: [http] listen: not ADDR:PORT"));
}

static void
test_errors(void)
{
    FAILS(D, "[http]\nlisten = 127.0.0.1:80\n\n[htp]\nlisten = 1\n",
          "t.conf:4: [htp]: unknown section");
    /* An empty unknown section is seen too, on its own line. */
    FAILS(D, "; top\n[monitor]\n[nonsense]\n", "t.conf:3: [nonsense]: unknown section");
    FAILS(D, "[ http ]\n", "t.conf:1: [ http ]: unknown section");
    FAILS(D, "[HTTP]\n", "t.conf:1: [HTTP]: unknown section");
    FAILS(D, "[monitor]\ninterval = 10\nintervall = 10\n",
          "t.conf:3: [monitor] intervall: unknown key");
    FAILS(D, "[monitor]\nInterval = 10\n", "t.conf:2: [monitor] Interval: unknown key");
    FAILS(D, "[store]\nlisten = 127.0.0.1:80\n", "t.conf:2: [store] listen: unknown key");
    FAILS(D, "interval = 10\n[monitor]\n", "t.conf:1: interval: key outside a section");
    /* Twice: an error naming both lines, also across two [monitor]. */
    FAILS(D, "[monitor]\ninterval = 10\n[log]\nlevel = info\n[monitor]\ninterval = 20\n",
          "t.conf:6: [monitor] interval: given twice (first on line 2)");
    FAILS(D, "[log]\nlevel = info\nlevel = info\n",
          "t.conf:3: [log] level: given twice (first on line 2)");
    /* Syntax errors from libinih, with their line. */
    FAILS(D, "[monitor]\ninterval = 10\njunk\n",
          "t.conf:3: syntax error (not [section], key = value or a comment)");
    FAILS(D, "[monitor\ninterval = 10\n",
          "t.conf:1: syntax error (not [section], key = value or a comment)");
    /* The first error is the one, and nothing after it is applied. */
    FAILS(D, "[monitor]\ninterval = 0\njunk\n[bad]\n",
          "t.conf:2: [monitor] interval: not an integer in 1..86400");
    FAILS(D, "[monitor]\nbuiltin = no\njunk\ninterval = 0\ninterval = 7\n",
          "t.conf:3: syntax error (not [section], key = value or a comment)");
    CHECK(!cfg.builtin);
    CHECK_INT(cfg.interval, 241);
    /* "key:value" is libinih's other form; "key" alone is an error. */
    OK(D, "[monitor]\ninterval: 12\n");
    CHECK_INT(cfg.interval, 12);
    FAILS(D, "[monitor]\nbuiltin\n",
          "t.conf:2: syntax error (not [section], key = value or a comment)");
    /* Control characters: a tab is a blank between tokens, not in a value. */
    OK(D, "[monitor]\n\tinterval\t=\t12\t\n");
    CHECK_INT(cfg.interval, 12);
    FAILS(D, "[monitor]\nca_file = a\tb\n",
          "t.conf:2: [monitor] ca_file: control character in the value");
    FAILS(D, "[monitor]\nca_file = a\x01" "b\n",
          "t.conf:2: control character 0x01 in line");
    FAILS(D, "[monitor]\n; \x1b[31m\n", "t.conf:2: control character 0x1b in line");
    FAILS(D, "[monitor]\nca_file = a\rb\n", "t.conf:2: control character 0x0d in line");
    FAILS(D, "[monitor]\nca_file = a\x7f\n", "t.conf:2: control character 0x7f in line");
    /* The error buffer: truncated, terminated; errlen 0 is allowed. */
    {
        char small[12];
        CHECK_INT(config_load_string(&cfg, D, "t.conf", "[x]\n", small, sizeof(small)),
                  -1);
        CHECK_STR(small, "t.conf:1: [");
        CHECK_INT(config_load_string(&cfg, D, "t.conf", "[x]\n", NULL, 0), -1);
        CHECK_INT(config_load_string(&cfg, D, "t.conf", "", small, sizeof(small)), 0);
        CHECK_STR(small, "");
    }
}

static void
test_comments_crlf(void)
{
    OK(D, "\xef\xbb\xbf; a BOM, then a comment\r\n"
          "# another\r\n"
          "[monitor]   ; a comment after the header\r\n"
          "interval = 30 ; seconds\r\n"
          "ca_file = /etc/ca;not-a-comment.pem\r\n"
          "  # indented comment\r\n"
          "  max_in_flight = 7\r\n"
          "\r\n"
          "[log]\r\n"
          "level = debug");
    CHECK_INT(cfg.interval, 30);
    CHECK_STR(cfg.ca_file, "/etc/ca;not-a-comment.pem");
    CHECK_INT(cfg.max_in_flight, 7); /* indented: a key, not a continuation */
    CHECK_INT(cfg.log_level, 3);
    /* Line numbers count CR LF lines. */
    FAILS(D, "[monitor]\r\n\r\ninterval = 0\r\n",
          "t.conf:3: [monitor] interval: not an integer in 1..86400");
    /* '#' starts a comment only at the start of a line. */
    OK(D, "[alerts]\nfrom = a#b\n");
    CHECK_STR(cfg.from, "a#b");
}

static void
test_long(void)
{
    static char text[CONFIG_LINE_MAX + 2 * CONFIG_PATH_MAX];
    const char *head = "[store]\ndatabase = ";
    size_t h = strlen(head);

    /* A path of CONFIG_PATH_MAX - 1 bytes fits; one more does not. */
    memcpy(text, head, h);
    memset(text + h, 'p', CONFIG_PATH_MAX - 1);
    memcpy(text + h + CONFIG_PATH_MAX - 1, "\n", 2);
    OK(D, text);
    CHECK_INT(strlen(cfg.database), CONFIG_PATH_MAX - 1);
    memset(text + h, 'p', CONFIG_PATH_MAX);
    memcpy(text + h + CONFIG_PATH_MAX, "\n", 2);
    FAILS(D, text, "t.conf:2: [store] database: value too long");
    CHECK_STR(cfg.database, "var/ntspool.db"); /* not truncated: unchanged */
    /* A line of CONFIG_LINE_MAX bytes (CR LF not counted) is read whole... */
    memset(text, 0, sizeof(text));
    memcpy(text, "[alerts]\n", 9);
    memset(text + 9, ';', CONFIG_LINE_MAX);
    memcpy(text + 9 + CONFIG_LINE_MAX, "\r\nfrom = x\n", 12);
    OK(D, text);
    CHECK_STR(cfg.from, "x");
    /* ...and one more byte is an error, not two lines. */
    memset(text, 0, sizeof(text));
    memcpy(text, "[alerts]\nfrom = ", 16);
    memset(text + 16, 'x', CONFIG_LINE_MAX - 7);
    memcpy(text + 16 + CONFIG_LINE_MAX - 7, "smtp_url = smtp://evil\n", 24);
    FAILS(D, text, "t.conf:2: line longer than 4096 bytes");
    CHECK_STR(cfg.from, "");
    CHECK_STR(cfg.smtp_url, "");
}

/* Each program refuses the other's keys and sections. */
static void
test_programs(void)
{
    static const char *const d_only[] = {"builtin = yes", "interval = 5",
                                         "max_in_flight = 5", "ca_file = x",
                                         "result_batchsize = 2",
                                         "result_max_waittime = 2"};
    static const char *const m_only[] = {"url = http://x", "key_file = k",
                                         "service_ca_file = s", "probe_ca_file = p",
                                         "spool = d", "spool_max = 5"};
    char text[128], msg[128];

    for (size_t i = 0; i < sizeof(d_only) / sizeof(d_only[0]); i++) {
        size_t n = strcspn(d_only[i], " ");
        snprintf(text, sizeof(text), "[monitor]\n%s\n", d_only[i]);
        OK(D, text);
        snprintf(msg, sizeof(msg),
                 "t.conf:2: [monitor] %.*s: unknown key (a key of ntspoold)", (int)n,
                 d_only[i]);
        FAILS(M, text, msg);
    }
    for (size_t i = 0; i < sizeof(m_only) / sizeof(m_only[0]); i++) {
        size_t n = strcspn(m_only[i], " ");
        snprintf(text, sizeof(text), "[monitor]\n%s\n", m_only[i]);
        OK(M, text);
        snprintf(msg, sizeof(msg),
                 "t.conf:2: [monitor] %.*s: unknown key (a key of ntspool-monitor)",
                 (int)n, m_only[i]);
        FAILS(D, text, msg);
    }
    FAILS(M, "[http]\nlisten = 127.0.0.1:80\n", "t.conf:1: [http]: unknown section");
    FAILS(M, "[store]\n", "t.conf:1: [store]: unknown section");
    FAILS(M, "[alerts]\n", "t.conf:1: [alerts]: unknown section");
    /* The shared keys work for both. */
    OK(M, "[monitor]\nallow_private = yes\nclock_check = no\ncodepoints = auto\n"
          "ke_timeout = 1\nntp_timeout = 1\n[log]\nlevel = err\n");
    OK(D, "[monitor]\nallow_private = yes\nclock_check = no\ncodepoints = auto\n"
          "ke_timeout = 1\nntp_timeout = 1\n[log]\nlevel = err\n");
}

/* A decimal comma in the locale changes nothing. */
/* A reload keeps the keys that need a restart, and says whether one changed. */
static void
test_restart_keys(void)
{
    struct config old, c;

    CHECK_INT(config_load_string(&old, CONFIG_NTSPOOLD, "a",
                                 "[http]\nlisten = 127.0.0.1:1 [::1]:2\n[monitor]\ninterval = 5\n",
                                 err, sizeof(err)), 0);
    CHECK_INT(config_load_string(&c, CONFIG_NTSPOOLD, "b",
                                 "[http]\nlisten = 127.0.0.1:1 [::1]:2\n[monitor]\ninterval = 7\n",
                                 err, sizeof(err)), 0);
    CHECK(!config_keep_restart_keys(&c, &old));
    CHECK_INT(c.interval, 7);
    CHECK_INT(config_load_string(&c, CONFIG_NTSPOOLD, "b",
                                 "[http]\nlisten = 127.0.0.1:3\n[store]\ndatabase = x.db\n"
                                 "[monitor]\nbuiltin = no\ninterval = 9\n",
                                 err, sizeof(err)), 0);
    CHECK(config_keep_restart_keys(&c, &old));
    CHECK_INT(c.nlisten, 2);
    CHECK_INT(c.listen[1].port, 2);
    CHECK_STR(c.database, "var/ntspool.db");
    CHECK(c.builtin);
    CHECK_INT(c.interval, 9);
    CHECK_INT(config_load_string(&c, CONFIG_NTSPOOLD, "b",
                                 "[http]\nlisten = 127.0.0.1:1 [::1]:2\nheader_timeout = 3\n",
                                 err, sizeof(err)), 0);
    CHECK(config_keep_restart_keys(&c, &old));
    CHECK_INT(c.header_timeout, old.header_timeout);

    CHECK_INT(config_load_string(&old, CONFIG_MONITOR, "a",
                                 "[monitor]\nurl = https://a.example/\nkey_file = k1\n",
                                 err, sizeof(err)), 0);
    CHECK_INT(config_load_string(&c, CONFIG_MONITOR, "b",
                                 "[monitor]\nurl = https://a.example/\nkey_file = k2\n"
                                 "allow_private = yes\n",
                                 err, sizeof(err)), 0);
    CHECK(!config_keep_restart_keys(&c, &old));
    CHECK_STR(c.key_file, "k2");
    CHECK(c.allow_private);
    CHECK_INT(config_load_string(&c, CONFIG_MONITOR, "b",
                                 "[monitor]\nurl = https://b.example/\nspool = s2\n"
                                 "spool_max = 7\nprobe_ca_file = ca.pem\n[log]\nlevel = debug\n",
                                 err, sizeof(err)), 0);
    CHECK(config_keep_restart_keys(&c, &old));
    CHECK_STR(c.url, "https://a.example/");
    CHECK_STR(c.spool, "var/spool");
    CHECK_INT(c.spool_max, 100000);
    CHECK_STR(c.probe_ca_file, "");
    CHECK_INT(c.log_level, 3);
}

static void
test_locale(void)
{
    static const char *const locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                          "C.UTF-8"};
    const char *got = NULL;

    for (size_t i = 0; i < sizeof(locales) / sizeof(locales[0]) && got == NULL; i++)
        got = setlocale(LC_ALL, locales[i]);
    OK(D, "[monitor]\nke_timeout = 2.5\n");
    CHECK_NEAR(cfg.ke_timeout, 2.5, 0);
    CHECK_INT(load(D, "[monitor]\nke_timeout = 2,5\n"), -1);
    setlocale(LC_ALL, "C");
}

static void
test_files(void)
{
    char dir[] = "/tmp/test_config.XXXXXX";
    char path[64], missing[80];
    FILE *f;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        check_failed++;
        return;
    }
    snprintf(path, sizeof(path), "%s/a.conf", dir);
    snprintf(missing, sizeof(missing), "%s/missing.conf", dir);

    /* Missing: "FILE: strerror", defaults kept. */
    CHECK_INT(config_load(&cfg, D, missing, err, sizeof(err)), -1);
    {
        char want[160];
        snprintf(want, sizeof(want), "%s: %s", missing, strerror(ENOENT));
        CHECK_STR(err, want);
    }
    check_defaults(&cfg, D);
    /* A directory opens but does not read. */
    CHECK_INT(config_load(&cfg, D, dir, err, sizeof(err)), -1);
    {
        char want[160];
        snprintf(want, sizeof(want), "%s: %s", dir, strerror(EISDIR));
        CHECK_STR(err, want);
    }

    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs("[monitor]\r\nurl = http://127.0.0.1:8080\r\nspool = /tmp/s\n\n[bogus]\n", f);
    fclose(f);
    CHECK_INT(config_load(&cfg, M, path, err, sizeof(err)), -1);
    {
        char want[160];
        snprintf(want, sizeof(want), "%s:5: [bogus]: unknown section", path);
        CHECK_STR(err, want);
    }
    CHECK_STR(cfg.url, "http://127.0.0.1:8080");
    CHECK_STR(cfg.spool, "/tmp/s");

    /* A NUL byte in a file is an error, not the end of the line. */
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fwrite("[monitor]\nspool = a\0b\n", 1, 22, f);
    fclose(f);
    CHECK_INT(config_load(&cfg, M, path, err, sizeof(err)), -1);
    {
        char want[160];
        snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
        CHECK_STR(err, want);
    }

    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs("[monitor]\nspool = /tmp/s2\nspool_max = 10", f); /* no final LF */
    fclose(f);
    CHECK_INT(config_load(&cfg, M, path, err, sizeof(err)), 0);
    CHECK_STR(err, "");
    CHECK_STR(cfg.spool, "/tmp/s2");
    CHECK_INT(cfg.spool_max, 10);

    unlink(path);
    rmdir(dir);
}

/* The example files of contrib/: as shipped (all commented out) and with
   every key line uncommented, each is the defaults, and the uncommented one
   names every key of its program.  The files are found from NTSPOOL_TOP
   (tests/run.sh) or the current directory. */
static void
test_example(const char *file, enum config_prog prog, int nkeys)
{
    const char *top = getenv("NTSPOOL_TOP");
    char path[512], *text = NULL, *out;
    size_t len = 0, o = 0;
    int keys = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/contrib/%s", top ? top : ".", file);
    CHECK_INT(config_load(&cfg, prog, path, err, sizeof(err)), 0);
    CHECK_STR(err, "");
    check_defaults(&cfg, prog);

    f = fopen(path, "r");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
            char *t = realloc(text, len + n + 1);
            if (t == NULL)
                abort();
            text = t;
            memcpy(text + len, buf, n);
            len += n;
        }
        fclose(f);
    }
    if (text == NULL)
        return;
    text[len] = '\0';
    out = malloc(len + 1);
    if (out == NULL)
        abort();
    /* "#key = value" lines lose their '#'. */
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
        const char *lc = "abcdefghijklmnopqrstuvwxyz_";
        size_t name = line[0] == '#' ? strspn(line + 1, lc) : 0;
        if (name > 0 && strncmp(line + 1 + name, " =", 2) == 0) {
            line++;
            n--;
            keys++;
        }
        memcpy(out + o, line, n);
        o += n;
        line += n;
    }
    out[o] = '\0';
    CHECK_INT(keys, nkeys);
    CHECK_INT(config_load_string(&cfg, prog, file, out, err, sizeof(err)), 0);
    CHECK_STR(err, "");
    check_defaults(&cfg, prog);
    free(text);
    free(out);
}

/* The agent's key_file: the first line, trimmed; anything else refused
   with a message that names the file and never the key. */
static void
test_key_file(void)
{
    static const struct {
        const char *text;
        const char *key; /* NULL: refused */
    } cases[] = {
        {"ntspm_abc\n", "ntspm_abc"},
        {"ntspm_abc \t\r\nsecond line\n", "ntspm_abc"},
        {"ntspm_abc", "ntspm_abc"},
        {"", NULL},
        {"\n", NULL},
        {"two words\n", NULL},
        {"ctl\001\n", NULL},
        {"\xff\xfe\n", NULL},
        {"0123456789012345678901234567890123456789\n", NULL}, /* too long for 32 */
    };
    char path[] = "/tmp/test_key.XXXXXX", key[32], msg[256];
    int fd = mkstemp(path);

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fopen(path, "w");
        int rc;
        CHECK(f != NULL);
        if (!f)
            break;
        fputs(cases[i].text, f);
        fclose(f);
        memset(msg, 0, sizeof(msg));
        rc = util_read_key(path, key, sizeof(key), msg, sizeof(msg));
        CHECK_INT(rc, cases[i].key ? 0 : -1);
        if (cases[i].key) {
            CHECK_STR(key, cases[i].key);
        } else {
            CHECK(strstr(msg, path) != NULL);
            CHECK_STR(key, ""); /* wiped */
        }
    }
    unlink(path);
    CHECK_INT(util_read_key(path, key, sizeof(key), msg, sizeof(msg)), -1);
    CHECK(strstr(msg, strerror(ENOENT)) != NULL);

    /* A FIFO without a writer (or a directory) is refused at once: the
       agent reads its key file on SIGHUP, on its event loop, where a
       blocking open would stop it for good (SIGTERM included).  The alarm
       ends a hang as a failure. */
    CHECK(mkfifo(path, 0600) == 0);
    alarm(10);
    memset(msg, 0, sizeof(msg));
    CHECK_INT(util_read_key(path, key, sizeof(key), msg, sizeof(msg)), -1);
    alarm(0);
    CHECK(strstr(msg, "not a regular file") != NULL);
    unlink(path);
    CHECK_INT(util_read_key("/tmp", key, sizeof(key), msg, sizeof(msg)), -1);
    CHECK(strstr(msg, "not a regular file") != NULL);
}

int
main(void)
{
    test_defaults();
    test_all_ntspoold();
    test_all_monitor();
    test_values();
    test_booleans();
    test_listen();
    test_errors();
    test_comments_crlf();
    test_long();
    test_programs();
    test_restart_keys();
    test_locale();
    test_files();
    test_key_file();
    test_example("ntspoold.conf.example", CONFIG_NTSPOOLD, 26);
    test_example("ntspool-monitor.conf.example", CONFIG_MONITOR, 12);
    return check_finish("test_config");
}
