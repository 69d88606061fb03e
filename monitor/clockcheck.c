/* clockcheck.c - ntp_adjtime() read-only (modes 0): the kernel's view of
 * the host clock, which a time daemon (chronyd, ntpd) keeps up to date.
 * With no daemon the kernel reports TIME_ERROR / STA_UNSYNC. */
#include "monitor/clockcheck.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>

double
clockcheck_read(char *detail, size_t len)
{
    struct timex tx;
    int st;

    memset(&tx, 0, sizeof(tx));
    st = ntp_adjtime(&tx);
    if (st < 0) {
        snprintf(detail, len, "ntp_adjtime: %s", strerror(errno));
        return NAN;
    }
    if (st == TIME_ERROR || (tx.status & STA_UNSYNC)) {
        snprintf(detail, len,
                 "host clock unsynchronised (kernel status 0x%x, no time daemon "
                 "steering it?)",
                 (unsigned)tx.status);
        return NAN;
    }
    snprintf(detail, len, "host clock synchronised, estimated error %ld us, maximum %ld us",
             (long)tx.esterror, (long)tx.maxerror);
    return tx.esterror / 1e6;
}
