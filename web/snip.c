/* snip.c - configuration snippets for the token page (snip.h).
 *
 * ntpd-rs takes the token inline in its TOML; chrony and NTPsec read a token
 * file, so their snippet creates the file (readable by root and the daemon's
 * group only, as NTS.md asks) and then names it in the configuration. */
#include "web/snip.h"

#include <stdio.h>
#include <string.h>

const char *
snip_server_name(enum snip_server s)
{
    switch (s) {
    case SNIP_NTPD_RS: return "ntpd-rs (1.9 or later)";
    case SNIP_CHRONY: return "chrony (with NTS pool support)";
    case SNIP_NTPSEC: return "NTPsec (with NTS pool support)";
    }
    return "unknown server";
}

static int
chars_ok(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr(extra, *s)))
            return 0;
    return 1;
}

int
snip_config(enum snip_server s, const char *token, const char *host, uint16_t port,
            char *buf, size_t len)
{
    int n = -1;

    if (!token || !host || !buf || len == 0 || !chars_ok(token, 128, "._-") ||
        !chars_ok(host, 253, ".:-"))
        return -1;
    switch (s) {
    case SNIP_NTPD_RS:
        n = snprintf(buf, len,
                     "# /etc/ntpd-rs/ntp.toml: in the NTS-KE server section that serves\n"
                     "# %s on port %u (keep its listen, certificate and key lines)\n"
                     "[[nts-ke-server]]\n"
                     "accepted-pool-authentication-tokens = [\"%s\"]\n",
                     host, (unsigned)port, token);
        break;
    case SNIP_CHRONY:
        n = snprintf(buf, len,
                     "# The token file, readable only by chronyd and root:\n"
                     "install -m 0640 -o root -g _chrony /dev/null /etc/chrony/nts-pool.tokens\n"
                     "echo '%s' >> /etc/chrony/nts-pool.tokens\n"
                     "# /etc/chrony/chrony.conf, next to ntsserverkey and ntsservercert\n"
                     "# (the server for %s, NTS-KE port %u):\n"
                     "ntsauthtokenfile /etc/chrony/nts-pool.tokens\n",
                     token, host, (unsigned)port);
        break;
    case SNIP_NTPSEC:
        n = snprintf(buf, len,
                     "# The token file, readable only by ntpd and root:\n"
                     "install -m 0640 -o root -g ntpsec /dev/null /etc/ntpsec/nts-pool.tokens\n"
                     "echo '%s' >> /etc/ntpsec/nts-pool.tokens\n"
                     "# /etc/ntpsec/ntp.conf, next to the nts enable line\n"
                     "# (the server for %s, NTS-KE port %u):\n"
                     "nts poolauth /etc/ntpsec/nts-pool.tokens\n",
                     token, host, (unsigned)port);
        break;
    }
    return n < 0 || (size_t)n >= len ? -1 : n;
}
