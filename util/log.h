/* log.h - leveled logging to stderr for every program of ntspool.
 *
 * The level is checked before any formatting, so disabled debug output costs a
 * comparison.  Messages start with their subject ("ke 192.0.2.1: ..."); never
 * log secrets (keys, cookies, tokens, passwords): log their lengths. */
#ifndef NTSPOOL_UTIL_LOG_H
#define NTSPOOL_UTIL_LOG_H

enum log_level { LOG_LEVEL_ERR = 0, LOG_LEVEL_WARN = 1, LOG_LEVEL_INFO = 2, LOG_LEVEL_DEBUG = 3 };

extern enum log_level log_threshold;

/* Set the threshold (default LOG_LEVEL_WARN) and the program name prefix. */
void log_init(const char *progname, enum log_level level);
/* From now on, log to syslog (facility daemon) under the program name. */
void log_to_syslog(void);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Log at error level and exit(status): for start-up failures only. */
void log_fatal(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...)                                                           \
    do { if (log_threshold >= LOG_LEVEL_WARN) log_msg(LOG_LEVEL_WARN, __VA_ARGS__); } while (0)
#define log_info(...)                                                           \
    do { if (log_threshold >= LOG_LEVEL_INFO) log_msg(LOG_LEVEL_INFO, __VA_ARGS__); } while (0)
#define log_debug(...)                                                          \
    do { if (log_threshold >= LOG_LEVEL_DEBUG) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

#endif
