/* snip.h - the ready-to-paste server configuration shown with a token
 * (after add or rekey): ntpd-rs, the modified chrony and the modified NTPsec,
 * with the lines of NTS.md section 2.
 *
 * Pure text into the caller's buffer; plain text (the page escapes it).  The
 * token appears exactly once in each snippet. */
#ifndef NTSPOOL_WEB_SNIP_H
#define NTSPOOL_WEB_SNIP_H

#include <stddef.h>
#include <stdint.h>

#define SNIP_MAX 1024 /* a buffer this large holds any snippet */

enum snip_server {
    SNIP_NTPD_RS = 0,
    SNIP_CHRONY = 1,
    SNIP_NTPSEC = 2,
};
#define SNIP_SERVERS 3

/* A heading for the snippet, e.g. "ntpd-rs (1.9 or later)"; never NULL. */
const char *snip_server_name(enum snip_server s);

/* Write the configuration of server s for a source host:port and its token
   into buf (len bytes).  The token must be 1..128 characters of
   [A-Za-z0-9._-] and the host a DNS name or address ([A-Za-z0-9.:-]), so
   that neither can break out of a quoted TOML string or a shell word.
   Returns the length written, or -1 on a bad argument or a short buffer. */
int snip_config(enum snip_server s, const char *token, const char *host, uint16_t port,
                char *buf, size_t len);

#endif
