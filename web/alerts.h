/* alerts.h - alerts of ntspoold (PRODUCT.md "JSON API", account alerts):
 * one message per channel (e-mail through the [alerts] smtp_url relay,
 * webhook HTTPS POST) when a source leaves the pool (with the reason), comes
 * back, or has a certificate that expires within 14 days; at most one per
 * ALERTMSG_REPEAT_S per source and cause; retried with backoff, then given
 * up; every message listed in alert_log (db_alert_log).
 *
 * Detection: the service calls alerts_check() with the sources a committed
 * write batch touched; the in-pool verdict is compared with the one alerts
 * last acted on (time_sources.alert_in_pool, so a restart does not alert
 * again).  A source that never was in the pool does not "leave" it; its
 * first entry is not "back".  A timer sweeps every active source hourly
 * (certificates; verdicts that changed because monitors went stale).
 * Sending runs on the loop through util/curlev (libcurl multi) and evdns;
 * nothing blocks.  Webhook URLs may hold secrets: only their host is
 * logged. */
#ifndef NTSPOOL_WEB_ALERTS_H
#define NTSPOOL_WEB_ALERTS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evdns_base;
struct db;
struct config;
struct alerts;

/* Start the send timer and the hourly sweep.  db and cfg are borrowed and
   must outlive the object (cfg may change in place on reload).  NULL on
   failure. */
struct alerts *alerts_new(struct event_base *base, struct evdns_base *dns, struct db *db,
                          const struct config *cfg);
/* Abort sends in flight (their rows stay pending and are retried after
   the next start) and free.  NULL ok. */
void alerts_free(struct alerts *a);

/* Compare the verdicts of these sources (duplicates allowed) at now with
   the last known ones and queue the messages due, in one transaction; call
   outside any transaction, after the batch committed. */
void alerts_check(struct alerts *a, const int64_t *sources, size_t n, int64_t now);

#endif
