/* config.c - the INI files of ntspoold and ntspool-monitor, read with
 * Debian's libinih.  libinih splits lines into sections and key = value
 * pairs; this file owns everything else: which keys exist for which program,
 * how each value is checked, and one error message with the file, the line
 * and the key.  It opens nothing but the file: paths stay text for main().
 *
 * libinih is used through ini_parse_stream() with our own reader, for three
 * reasons.  The handler of Debian's build gets no line number
 * (INI_HANDLER_LINENO is 0), so the reader counts lines.  libinih cuts a
 * line longer than its buffer into pieces and parses each piece as a line of
 * its own; the reader refuses such a line instead.  And libinih calls no
 * handler for a section header, so the reader is where an unknown (or
 * empty) section is seen, on its own line.  Debian patches libinih so that
 * its compile-time options are also run-time globals (ini.h); we set every
 * one we depend on before each parse, see set_inih_options(). */
#include "util/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* Which program a key belongs to. */
#define P_D    (1u << CONFIG_NTSPOOLD)
#define P_M    (1u << CONFIG_MONITOR)
#define P_BOTH (P_D | P_M)

enum vtype {
    V_BOOL,
    V_INT,    /* int, range lo..hi */
    V_LONG,   /* long, range lo..hi */
    V_DOUBLE, /* double, range dlo..dhi */
    V_PATH,   /* text, may be empty (none) */
    V_PATH1,  /* text, must not be empty */
    V_HTTP,   /* http:// or https:// URL, may be empty (none) */
    V_HTTP1,  /* http:// or https:// URL, must not be empty */
    V_SMTP,   /* smtp:// or smtps:// URL, may be empty (no mail) */
    V_LISTEN,
    V_CODEPOINTS,
    V_LEVEL,
};

struct key {
    const char *section;
    const char *name;
    unsigned progs;
    enum vtype type;
    size_t off;  /* offsetof(struct config, field) */
    size_t size; /* text fields: the buffer size */
    long lo, hi;
    double dlo, dhi;
};

#define F(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)

static const struct key keys[] = {
    {"http", "listen", P_D, V_LISTEN, F(listen), 0, 0, 0, 0},
    {"http", "public_url", P_D, V_HTTP1, F(public_url), 0, 0, 0, 0},
    {"http", "rate_limit", P_D, V_INT, F(rate_limit), 0, 1000000, 0, 0},
    {"http", "session_idle", P_D, V_INT, F(session_idle), 1, 30 * 86400, 0, 0},
    {"http", "session_max", P_D, V_INT, F(session_max), 1, 365 * 86400, 0, 0},
    {"http", "max_connections", P_D, V_INT, F(max_connections), 0, 1000000, 0, 0},
    {"http", "max_connections_per_address", P_D, V_INT, F(max_conn_per_addr), 1, 1000000, 0,
     0},
    {"http", "header_timeout", P_D, V_INT, F(header_timeout), 1, 3600, 0, 0},
    {"http", "body_timeout", P_D, V_INT, F(body_timeout), 1, 3600, 0, 0},
    {"store", "database", P_D, V_PATH1, F(database), 0, 0, 0, 0},
    {"store", "secret_file", P_D, V_PATH1, F(secret_file), 0, 0, 0, 0},
    {"store", "retention_days", P_D, V_INT, F(retention_days), 1, 3650, 0, 0},
    {"monitor", "builtin", P_D, V_BOOL, F(builtin), 0, 0, 0, 0},
    {"monitor", "interval", P_D, V_INT, F(interval), 1, 86400, 0, 0},
    {"monitor", "ke_timeout", P_BOTH, V_DOUBLE, F(ke_timeout), 0, 0, 0.01, 300},
    {"monitor", "ntp_timeout", P_BOTH, V_DOUBLE, F(ntp_timeout), 0, 0, 0.01, 60},
    {"monitor", "max_in_flight", P_D, V_INT, F(max_in_flight), 1, 100000, 0, 0},
    {"monitor", "result_batchsize", P_D, V_INT, F(result_batchsize), 0, 1000, 0, 0},
    {"monitor", "result_max_waittime", P_D, V_INT, F(result_max_waittime), 1, 3600, 0, 0},
    {"monitor", "ca_file", P_D, V_PATH, F(ca_file), 0, 0, 0, 0},
    {"monitor", "allow_private", P_BOTH, V_BOOL, F(allow_private), 0, 0, 0, 0},
    {"monitor", "codepoints", P_BOTH, V_CODEPOINTS, F(codepoints), 0, 0, 0, 0},
    {"monitor", "clock_check", P_BOTH, V_BOOL, F(clock_check), 0, 0, 0, 0},
    {"monitor", "url", P_M, V_HTTP, F(url), 0, 0, 0, 0},
    {"monitor", "key_file", P_M, V_PATH, F(key_file), 0, 0, 0, 0},
    {"monitor", "service_ca_file", P_M, V_PATH, F(service_ca_file), 0, 0, 0, 0},
    {"monitor", "probe_ca_file", P_M, V_PATH, F(probe_ca_file), 0, 0, 0, 0},
    {"monitor", "spool", P_M, V_PATH1, F(spool), 0, 0, 0, 0},
    {"monitor", "spool_max", P_M, V_LONG, F(spool_max), 1, 100000000, 0, 0},
    {"alerts", "smtp_url", P_D, V_SMTP, F(smtp_url), 0, 0, 0, 0},
    {"alerts", "from", P_D, V_PATH, F(from), 0, 0, 0, 0},
    {"log", "level", P_BOTH, V_LEVEL, F(log_level), 0, 0, 0, 0},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* One parse.  The reader and the handler share it; the first error wins and
   stops the parse. */
struct parse {
    struct config *c;
    const char *name; /* the file name, for messages */
    /* The source: a string, or a FILE. */
    const char *s;
    FILE *f;
    int read_errno; /* a read error of f */
    int lineno;     /* the line libinih is parsing now */
    int seen[NKEYS]; /* the line where each key was set, 0 if not */
    bool failed;
    bool public_url_set;
    char *err;
    size_t errlen;
};

static void
fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct parse *p, const char *fmt, ...)
{
    va_list ap;

    if (p->failed)
        return;
    p->failed = true;
    if (p->errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
}

/* ASCII only, whatever the locale says. */
static int
lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static bool
eq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return false;
    }
    return *a == *b;
}

static bool
is_ctl(unsigned char ch)
{
    return ch < 0x20 || ch == 0x7f;
}

static bool
starts_with(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        if (*s != *prefix)
            return false;
    }
    return true;
}

static bool
section_known(const char *section, enum config_prog prog)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].section, section) == 0 && (keys[i].progs & (1u << prog)))
            return true;
    }
    return false;
}

/* The next byte of the source, or -1 at its end. */
static int
next_byte(struct parse *p)
{
    int ch;

    if (p->f == NULL)
        return *p->s ? (unsigned char)*p->s++ : -1;
    ch = getc(p->f);
    if (ch == EOF) {
        if (ferror(p->f))
            p->read_errno = errno ? errno : EIO;
        return -1;
    }
    return ch;
}

/* The byte next_byte() will return, or -1. */
static int
peek_byte(struct parse *p)
{
    int ch;

    if (p->f == NULL)
        return *p->s ? (unsigned char)*p->s : -1;
    ch = getc(p->f);
    if (ch == EOF)
        return -1; /* a read error is seen again by next_byte() */
    ungetc(ch, p->f);
    return ch;
}

/* A section header names a known section (the reader's check: libinih calls
   no handler for it).  line is one whole line without its end.  A header
   without its ']' is left to libinih, which reports it as a syntax error. */
static void
check_section(struct parse *p, const char *line)
{
    const char *end;
    char name[64];
    size_t n;

    if (p->lineno == 1 && starts_with(line, "\xef\xbb\xbf")) /* UTF-8 BOM */
        line += 3;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line != '[' || (end = strchr(line, ']')) == NULL)
        return;
    n = (size_t)(end - line - 1);
    if (n >= sizeof(name)) {
        fail(p, "%s:%d: [%.40s...]: unknown section", p->name, p->lineno, line + 1);
        return;
    }
    memcpy(name, line + 1, n);
    name[n] = '\0';
    if (!section_known(name, p->c->prog))
        fail(p, "%s:%d: [%s]: unknown section", p->name, p->lineno, name);
}

/* libinih's fgets: one line per call, so our count of calls is its line
   number.  The line goes to libinih without its LF or CR LF.  Refuses a line
   that does not fit libinih's buffer (num bytes with the NUL), a NUL byte,
   and control characters other than a tab (a lone CR included).  Returns
   NULL at the end or after an error, which ends the parse. */
static char *
reader(char *str, int num, void *arg)
{
    struct parse *p = arg;
    size_t n = 0, max = num > 1 ? (size_t)num - 1 : 0;
    int ch;

    if (p->failed)
        return NULL;
    ch = next_byte(p);
    if (ch < 0)
        return NULL;
    p->lineno++;
    for (; ch >= 0 && ch != '\n'; ch = next_byte(p)) {
        if (ch == '\r' && peek_byte(p) == '\n')
            continue; /* CR LF: the CR does not count */
        if (n == max) {
            fail(p, "%s:%d: line longer than %zu bytes", p->name, p->lineno, max);
            return NULL;
        }
        str[n++] = (char)ch;
    }
    str[n] = '\0';
    if (p->read_errno)
        return NULL; /* reported by config_load */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)str[i];
        if (c == '\0') {
            fail(p, "%s:%d: NUL byte in line", p->name, p->lineno);
            return NULL;
        }
        if (c != '\t' && is_ctl(c)) {
            fail(p, "%s:%d: control character 0x%02x in line", p->name, p->lineno, c);
            return NULL;
        }
    }
    check_section(p, str);
    return p->failed ? NULL : str;
}

/* The value checks.  Each returns NULL, or the problem as text; none writes
   to c unless the whole value is good. */

static const char *
set_text(char *dst, size_t size, const char *v, bool nonempty)
{
    size_t n = strlen(v);

    if (nonempty && n == 0)
        return "empty value";
    if (n >= size)
        return "value too long";
    memcpy(dst, v, n + 1);
    return NULL;
}

static const char *
set_url(char *dst, size_t size, const char *v, bool nonempty, const char *s1,
        const char *s2)
{
    const char *rest;

    if (*v == '\0' && !nonempty) {
        dst[0] = '\0';
        return NULL;
    }
    if (starts_with(v, s1))
        rest = v + strlen(s1);
    else if (starts_with(v, s2))
        rest = v + strlen(s2);
    else
        return strcmp(s1, "http://") == 0 ? "must start with http:// or https://"
                                          : "must start with smtp:// or smtps://";
    if (*rest == '\0' || *rest == '/')
        return "no host in the URL";
    if (strchr(v, ' '))
        return "space in the URL";
    return set_text(dst, size, v, true);
}

static const char *
parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (eq_nocase(v, yes[i])) {
            *out = true;
            return NULL;
        }
        if (eq_nocase(v, no[i])) {
            *out = false;
            return NULL;
        }
    }
    return "not a boolean (yes/no, true/false, on/off, 1/0)";
}

/* A decimal number of seconds: digits, optionally a point and digits.  The
   syntax is ours (no sign, exponent, hex, inf or nan); strtod_l in the C
   locale converts it, so a locale with a decimal comma changes nothing. */
static int
parse_decimal(const char *v, double lo, double hi, double *out)
{
    const char *s = v;
    locale_t cloc;
    char *end;
    double d;
    int saved;

    if (!(*s >= '0' && *s <= '9'))
        return -1;
    while (*s >= '0' && *s <= '9')
        s++;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return -1;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s != '\0')
        return -1;
    cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (cloc == (locale_t)0)
        return -1;
    saved = errno;
    errno = 0;
    d = strtod_l(v, &end, cloc);
    if (errno || *end != '\0' || !isfinite(d) || d < lo || d > hi) {
        freelocale(cloc);
        errno = saved;
        return -1;
    }
    freelocale(cloc);
    errno = saved;
    *out = d;
    return 0;
}

/* The port of a listen item: 1 to 5 digits, 1..65535. */
static int
parse_port(const char *s, uint16_t *out)
{
    long v;
    size_t n = strlen(s);

    if (n == 0 || n > 5 || strspn(s, "0123456789") != n)
        return -1;
    if (util_parse_long(s, 1, 65535, &v) < 0)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

int
config_parse_listen(const char *s, struct config_listen *out)
{
    char addr[CONFIG_ADDR_MAX];
    unsigned char bin[16];
    const char *colon, *port;
    size_t n;
    int af;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        n = (size_t)(close - s - 1);
        port = close + 2;
        s++;
        af = AF_INET6;
    } else {
        colon = strchr(s, ':');
        if (colon == NULL || strchr(colon + 1, ':'))
            return -1; /* none, or an IPv6 address without its brackets */
        n = (size_t)(colon - s);
        port = colon + 1;
        af = AF_INET;
    }
    if (n == 0 || n >= sizeof(addr))
        return -1;
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (inet_pton(af, addr, bin) != 1)
        return -1;
    /* Canonical text: "::1" and "0:0::1" are one address. */
    if (inet_ntop(af, bin, out->addr, sizeof(out->addr)) == NULL)
        return -1;
    if (parse_port(port, &out->port) < 0)
        return -1;
    return 0;
}

static const char *
set_listen(struct config *c, const char *v)
{
    struct config_listen l[CONFIG_LISTEN_MAX];
    char item[CONFIG_ADDR_MAX + 16];
    size_t nl = 0;

    while (*v) {
        size_t n;

        if (*v == ' ') {
            v++;
            continue;
        }
        n = strcspn(v, " ");
        if (nl == CONFIG_LISTEN_MAX)
            return "more than 8 addresses"; /* CONFIG_LISTEN_MAX */
        if (n >= sizeof(item))
            return "not ADDR:PORT ([ADDR]:PORT for IPv6, numeric, port 1-65535)";
        memcpy(item, v, n);
        item[n] = '\0';
        memset(&l[nl], 0, sizeof(l[nl]));
        if (config_parse_listen(item, &l[nl]) < 0)
            return "not ADDR:PORT ([ADDR]:PORT for IPv6, numeric, port 1-65535)";
        for (size_t i = 0; i < nl; i++) {
            if (l[i].port == l[nl].port && strcmp(l[i].addr, l[nl].addr) == 0)
                return "an address listed twice";
        }
        nl++;
        v += n;
    }
    if (nl == 0)
        return "empty value";
    memcpy(c->listen, l, nl * sizeof(l[0]));
    c->nlisten = nl;
    return NULL;
}

/* Check v and store it in c.  Returns NULL, or the problem (in buf when it
   needs formatting). */
static const char *
set_value(struct config *c, const struct key *k, const char *v, char *buf, size_t buflen)
{
    char *field = (char *)c + k->off;
    const char *problem;
    long l;
    double d;
    bool b;

    switch (k->type) {
    case V_BOOL:
        if ((problem = parse_bool(v, &b)) != NULL)
            return problem;
        *(bool *)(void *)field = b;
        return NULL;
    case V_INT:
    case V_LONG:
        if (util_parse_long(v, k->lo, k->hi, &l) < 0) {
            snprintf(buf, buflen, "not an integer in %ld..%ld", k->lo, k->hi);
            return buf;
        }
        if (k->type == V_INT)
            *(int *)(void *)field = (int)l;
        else
            *(long *)(void *)field = l;
        return NULL;
    case V_DOUBLE:
        if (parse_decimal(v, k->dlo, k->dhi, &d) < 0) {
            snprintf(buf, buflen, "not a decimal number in %g..%g", k->dlo, k->dhi);
            return buf;
        }
        *(double *)(void *)field = d;
        return NULL;
    case V_PATH:
        return set_text(field, k->size, v, false);
    case V_PATH1:
        return set_text(field, k->size, v, true);
    case V_HTTP:
        return set_url(field, k->size, v, false, "http://", "https://");
    case V_HTTP1:
        return set_url(field, k->size, v, true, "http://", "https://");
    case V_SMTP:
        return set_url(field, k->size, v, false, "smtp://", "smtps://");
    case V_LISTEN:
        return set_listen(c, v);
    case V_CODEPOINTS:
        if (eq_nocase(v, "auto"))
            c->codepoints = CONFIG_CP_AUTO;
        else if (eq_nocase(v, "permanent"))
            c->codepoints = CONFIG_CP_PERMANENT;
        else if (eq_nocase(v, "experimental"))
            c->codepoints = CONFIG_CP_EXPERIMENTAL;
        else
            return "not permanent, experimental or auto";
        return NULL;
    case V_LEVEL: {
        static const char *const names[] = {"err", "warn", "info", "debug"};
        for (int i = 0; i < 4; i++) {
            if (eq_nocase(v, names[i])) {
                c->log_level = i;
                return NULL;
            }
        }
        return "not err, warn, info or debug";
    }
    }
    return "internal error: no such type";
}

/* libinih's handler: one key = value line.  Returns 0 (which stops the parse,
   ini_stop_on_first_error) after an error. */
static int
handler(void *arg, const char *section, const char *name, const char *value)
{
    struct parse *p = arg;
    const struct key *k = NULL;
    const char *problem;
    char buf[96];
    size_t i;

    if (p->failed)
        return 0;
    if (*section == '\0') {
        fail(p, "%s:%d: %s: key outside a section", p->name, p->lineno, name);
        return 0;
    }
    if (!section_known(section, p->c->prog)) {
        fail(p, "%s:%d: [%s]: unknown section", p->name, p->lineno, section);
        return 0;
    }
    for (i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0) {
            k = &keys[i];
            break;
        }
    }
    if (k == NULL) {
        fail(p, "%s:%d: [%s] %s: unknown key", p->name, p->lineno, section, name);
        return 0;
    }
    if (!(k->progs & (1u << p->c->prog))) {
        const char *other =
            p->c->prog == CONFIG_NTSPOOLD ? "ntspool-monitor" : "ntspoold";
        fail(p, "%s:%d: [%s] %s: unknown key (a key of %s)", p->name, p->lineno, section,
             name, other);
        return 0;
    }
    if (p->seen[i]) {
        fail(p, "%s:%d: [%s] %s: given twice (first on line %d)", p->name, p->lineno,
             section, name, p->seen[i]);
        return 0;
    }
    p->seen[i] = p->lineno;
    for (const char *s = value; *s; s++) {
        if (is_ctl((unsigned char)*s)) {
            fail(p, "%s:%d: [%s] %s: control character in the value", p->name, p->lineno,
                 section, name);
            return 0;
        }
    }
    /* The value is never echoed: smtp_url may carry a password. */
    if ((problem = set_value(p->c, k, value, buf, sizeof(buf))) != NULL) {
        fail(p, "%s:%d: [%s] %s: %s", p->name, p->lineno, section, name, problem);
        return 0;
    }
    if (k->type == V_HTTP1) /* public_url, given: no longer derived from listen */
        p->public_url_set = true;
    return 1;
}

/* public_url's default: "http://" + the first listen item, IPv6 in []. */
static void
derive_public_url(struct config *c)
{
    const struct config_listen *l = &c->listen[0];

    if (strchr(l->addr, ':'))
        snprintf(c->public_url, sizeof(c->public_url), "http://[%s]:%u", l->addr,
                 (unsigned)l->port);
    else
        snprintf(c->public_url, sizeof(c->public_url), "http://%s:%u", l->addr,
                 (unsigned)l->port);
}

void
config_defaults(struct config *c, enum config_prog prog)
{
    memset(c, 0, sizeof(*c));
    c->prog = prog;
    snprintf(c->listen[0].addr, sizeof(c->listen[0].addr), "%s", "127.0.0.1");
    c->listen[0].port = 8080;
    c->nlisten = 1;
    derive_public_url(c);
    snprintf(c->database, sizeof(c->database), "%s", "var/ntspool.db");
    snprintf(c->secret_file, sizeof(c->secret_file), "%s", "var/secret");
    c->retention_days = 15;
    c->builtin = true;
    c->interval = 241;
    c->ke_timeout = 10;
    c->ntp_timeout = 1;
    c->max_in_flight = 1000;
    c->result_batchsize = 0; /* automatic: web/monapi.c */
    c->result_max_waittime = 60;
    c->rate_limit = 100;
    c->session_idle = 7200;
    c->session_max = 7 * 86400;
    c->max_connections = 0; /* from RLIMIT_NOFILE (web/conn.c) */
    c->max_conn_per_addr = 64;
    c->header_timeout = 10;
    c->body_timeout = 30;
    c->allow_private = false;
    c->codepoints = CONFIG_CP_AUTO;
    c->clock_check = true;
    snprintf(c->spool, sizeof(c->spool), "%s", "var/spool");
    c->spool_max = 100000;
    c->log_level = 1; /* LOG_LEVEL_WARN */
}

/* Put back the running value of field (a string, or any other field). */
#define KEEP_STR(field)                                                                  \
    do {                                                                                 \
        changed |= strcmp(c->field, old->field) != 0;                                    \
        memcpy(c->field, old->field, sizeof(c->field));                                  \
    } while (0)
#define KEEP(field)                                                                      \
    do {                                                                                 \
        changed |= c->field != old->field;                                               \
        c->field = old->field;                                                           \
    } while (0)

bool
config_keep_restart_keys(struct config *c, const struct config *old)
{
    bool changed = false;

    if (c->prog == CONFIG_NTSPOOLD) {
        changed = c->nlisten != old->nlisten ||
                  memcmp(c->listen, old->listen, sizeof(c->listen[0]) * c->nlisten) != 0;
        c->nlisten = old->nlisten;
        memcpy(c->listen, old->listen, sizeof(c->listen));
        KEEP_STR(public_url);
        KEEP_STR(database);
        KEEP_STR(secret_file);
        KEEP(builtin);
        KEEP(max_connections);
        KEEP(max_conn_per_addr);
        KEEP(header_timeout);
        KEEP(body_timeout);
    } else {
        KEEP_STR(url);
        KEEP_STR(probe_ca_file);
        KEEP_STR(spool);
        KEEP(spool_max);
    }
    return changed;
}

#undef KEEP
#undef KEEP_STR

/* Debian's libinih reads its options from globals (ini.h); set each one this
   file depends on, whatever another user of the library left there.  The
   line buffer is a VLA of ini_max_line bytes on libinih's stack. */
static void
set_inih_options(void)
{
    static char start_comments[] = ";#";
    static char inline_comments[] = ";";

    ini_allow_multiline = false;    /* an indented line is a line, not a continuation */
    ini_stop_on_first_error = true; /* one message: the first error */
    ini_allow_no_value = false;     /* "key" alone is a syntax error */
    ini_allow_bom = true;
    ini_allow_inline_comments = true; /* " ; comment" after a value */
    ini_inline_comment_prefixes = inline_comments;
    ini_start_comment_prefixes = start_comments;
    ini_use_stack = true;
    ini_allow_realloc = false;
    ini_max_line = CONFIG_LINE_MAX + 1; /* + the NUL; the reader strips CR LF */
}

static int
parse(struct parse *p)
{
    int ret;

    set_inih_options();
    ret = ini_parse_stream(reader, p, handler, p);
    if (p->read_errno && !p->failed)
        fail(p, "%s: %s", p->name, strerror(p->read_errno));
    if (ret != 0 && !p->failed) {
        if (ret > 0)
            fail(p, "%s:%d: syntax error (not [section], key = value or a comment)",
                 p->name, ret);
        else
            fail(p, "%s: cannot parse (libinih error %d)", p->name, ret);
    }
    if (!p->public_url_set)
        derive_public_url(p->c);
    return p->failed ? -1 : 0;
}

static void
parse_init(struct parse *p, struct config *c, enum config_prog prog, const char *name,
           char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    config_defaults(c, prog);
    p->c = c;
    p->name = name;
    p->err = err;
    p->errlen = errlen;
    if (errlen)
        err[0] = '\0';
}

int
config_load_string(struct config *c, enum config_prog prog, const char *name,
                   const char *text, char *err, size_t errlen)
{
    struct parse p;

    parse_init(&p, c, prog, name, err, errlen);
    p.s = text;
    return parse(&p);
}

int
config_load(struct config *c, enum config_prog prog, const char *path, char *err,
            size_t errlen)
{
    struct parse p;
    int ret;

    parse_init(&p, c, prog, path, err, errlen);
    p.f = fopen(path, "re");
    if (p.f == NULL) {
        fail(&p, "%s: %s", path, strerror(errno));
        return -1;
    }
    ret = parse(&p);
    fclose(p.f);
    return ret;
}
