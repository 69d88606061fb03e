/* log.c - leveled logging to stderr, with a timestamp and the program name,
 * or to syslog (the daemons' --syslog), which stamps messages itself. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

enum log_level log_threshold = LOG_LEVEL_WARN;
static const char *log_prog = "ntspool";
static int log_syslog;

void
log_to_syslog(void)
{
    openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    log_syslog = 1;
}

void
log_init(const char *progname, enum log_level level)
{
    if (progname)
        log_prog = progname;
    log_threshold = level;
}

static void vlog(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
vlog(enum log_level level, const char *fmt, va_list ap)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    struct timespec ts;
    struct tm tm;
    char when[32] = "";

    if (level > log_threshold)
        return;
    if (log_syslog) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        vsyslog(prio[level], fmt, ap);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    if (gmtime_r(&ts.tv_sec, &tm))
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ %s %s: ", when, ts.tv_nsec / 1000000L, log_prog,
            names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void
log_fatal(int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_LEVEL_ERR, fmt, ap);
    va_end(ap);
    exit(status);
}
