/* config.h - the INI configuration of ntspoold and ntspool-monitor
 * (PRODUCT.md "command line and configuration"), parsed with Debian's
 * libinih.  Every key is optional; an unknown section or key, a value out of
 * range or a malformed one is an error naming the file, the line and the key.
 * Nothing here opens anything but the file itself: paths are kept as text.
 *
 * The file, as this module reads it:
 * - "[section]" headers and "key = value" (or "key: value") lines; lines whose
 *   first non-blank character is ';' or '#' are comments, and " ; text" after
 *   a value (a ';' after a blank) is a comment too.  Section and key names are
 *   lower case and match exactly; values are trimmed of blanks.
 * - Each key at most once: a second "key =" is an error ("given twice"),
 *   not a silent override.  A section may be opened more than once.
 * - Lines end in LF or CR LF.  A line longer than CONFIG_LINE_MAX bytes, a
 *   NUL byte, or a control character other than a tab (anywhere in a line)
 *   is an error; so is any control character, tab included, in a value.
 * - An indented line is an ordinary line: no multi-line values.
 * - Booleans: yes/no, true/false, on/off, 1/0, in any case.  Decimals:
 *   digits with an optional point and digits (no sign or exponent),
 *   whatever the locale.  Text that does not fit its buffer is an error,
 *   never truncated.  Values are never copied into error messages.
 * - An empty value ("ca_file =") means none for the optional paths and URLs
 *   (ca_file, key_file, service_ca_file, probe_ca_file, url, smtp_url,
 *   from); it is an error for database, secret_file, spool, public_url,
 *   listen and the numbers.
 * - listen: one to CONFIG_LISTEN_MAX items separated by spaces, each
 *   IPV4:PORT or [IPV6]:PORT, numeric, port 1..65535, no item twice; the
 *   address is stored in inet_ntop's canonical form.  public_url and url
 *   start with http:// or https://, smtp_url with smtp:// or smtps://.
 * - Keys of the other program are refused ("unknown key"), as are its
 *   sections ([http], [store] and [alerts] are ntspoold's only). */
#ifndef NTSPOOL_UTIL_CONFIG_H
#define NTSPOOL_UTIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_LISTEN_MAX 8
#define CONFIG_PATH_MAX   1024
#define CONFIG_URL_MAX    1024
#define CONFIG_ADDR_MAX   64
#define CONFIG_ERR_MAX    512
#define CONFIG_LINE_MAX   4096 /* bytes in a line, not counting its CR LF */

/* Which program reads the file: they share [monitor] keys in part. */
enum config_prog {
    CONFIG_NTSPOOLD = 0,
    CONFIG_MONITOR = 1, /* ntspool-monitor */
};

enum config_codepoints {
    CONFIG_CP_AUTO = 0,
    CONFIG_CP_PERMANENT = 1,
    CONFIG_CP_EXPERIMENTAL = 2,
};

/* Log levels as log.h numbers them: 0 err, 1 warn, 2 info, 3 debug. */

struct config_listen {
    char addr[CONFIG_ADDR_MAX]; /* numeric IPv4 or IPv6 (without brackets) */
    uint16_t port;
};

struct config {
    enum config_prog prog;
    /* [http] (ntspoold) */
    struct config_listen listen[CONFIG_LISTEN_MAX];
    size_t nlisten;                   /* default 1: 127.0.0.1:8080 */
    char public_url[CONFIG_URL_MAX];  /* default "http://" + first listen (IPv6 in []) */
    int rate_limit;                   /* API requests/s per token, 0 none; default 100
                                         (an addition to PRODUCT.md's table) */
    int session_idle;                 /* s a web session lives unused, default 7200,
                                         1..30 days (an addition, reloadable) */
    int session_max;                  /* s a web session lives at most, default 7 days,
                                         1..365 days (an addition, reloadable) */
    /* Connection guard (additions to PRODUCT.md, read at start; web/conn.c). */
    int max_connections;              /* open HTTP connections in all, 0 (default):
                                         sized from RLIMIT_NOFILE */
    int max_conn_per_addr;            /* per client address (IPv6: per /64), default 64 */
    int header_timeout;               /* s from accept or the previous reply to the end
                                         of a request's headers, default 10 */
    int body_timeout;                 /* s from the end of the headers to the end of the
                                         body, default 30 */
    /* [store] (ntspoold) */
    char database[CONFIG_PATH_MAX];    /* default var/ntspool.db */
    char secret_file[CONFIG_PATH_MAX]; /* default var/secret */
    int retention_days;                /* default 15, 1..3650 */
    /* [monitor] (both unless noted) */
    bool builtin;                      /* ntspoold: default yes */
    int interval;                      /* ntspoold: default 241, 1..86400 */
    double ke_timeout, ntp_timeout;    /* s, defaults 10 and 1; 0.01..300 / 0.01..60 */
    int max_in_flight;                 /* ntspoold: default 1000, 1..100000 */
    int result_batchsize;              /* ntspoold: the remote monitors' batch size
                                          (get_work), 1..1000; default 0: one per
                                          100 sources, 10..100 */
    int result_max_waittime;           /* ntspoold: s a remote monitor holds a batch
                                          back at most (get_work), default 60, 1..3600 */
    char ca_file[CONFIG_PATH_MAX];     /* ntspoold: "" none */
    bool allow_private;                /* default no */
    enum config_codepoints codepoints; /* default auto */
    bool clock_check;                  /* default yes */
    char url[CONFIG_URL_MAX];          /* monitor: the service's base URL */
    char key_file[CONFIG_PATH_MAX];    /* monitor */
    char service_ca_file[CONFIG_PATH_MAX]; /* monitor */
    char probe_ca_file[CONFIG_PATH_MAX];   /* monitor */
    char spool[CONFIG_PATH_MAX];       /* monitor: default var/spool */
    long spool_max;                    /* monitor: default 100000, 1..100000000 */
    /* [alerts] (ntspoold) */
    char smtp_url[CONFIG_URL_MAX];
    char from[CONFIG_URL_MAX];
    /* [log] (both; an addition to PRODUCT.md's table, reloadable) */
    int log_level;                     /* err|warn|info|debug, default warn */
};

/* Fill c with the defaults of prog. */
void config_defaults(struct config *c, enum config_prog prog);

/* Defaults, then the file at path on top.  0, or -1 with a message in err
   (CONFIG_ERR_MAX bytes) of the form "FILE:LINE: [section] key: problem"
   (or "FILE: problem" when the file cannot be read).  c is left with the
   defaults plus what parsed before the error. */
int config_load(struct config *c, enum config_prog prog, const char *path, char *err,
                size_t errlen);

/* Parse text as if it were a file named name (tests, fuzzing).  As config_load.
   Both set libinih's process-wide options first (Debian's libinih makes them
   globals), so they are not for use from two threads at once. */
int config_load_string(struct config *c, enum config_prog prog, const char *name,
                       const char *text, char *err, size_t errlen);

/* For a reload (SIGHUP): put back into c, the file just read, the running
   value (old, same program) of every key that takes effect only at start:
   ntspoold's [http] listen, public_url, the connection limits and
   deadlines, [store] database, secret_file and [monitor] builtin; ntspool-monitor's [monitor] url, probe_ca_file, spool
   and spool_max.  True when one of them had changed (the caller says a
   restart is needed: CONFIG_RESTART_KEYS_*). */
bool config_keep_restart_keys(struct config *c, const struct config *old);
#define CONFIG_RESTART_KEYS_NTSPOOLD                                                     \
    "[http] listen, public_url, max_connections, max_connections_per_address, "          \
    "header_timeout, body_timeout, [store] database, secret_file and [monitor] builtin"
#define CONFIG_RESTART_KEYS_MONITOR "[monitor] url, probe_ca_file, spool and spool_max"

/* Parse one "ADDR:PORT" listen item ("[::1]:8080" for IPv6).  0 or -1. */
int config_parse_listen(const char *s, struct config_listen *out);

#endif
