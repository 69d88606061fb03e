/* clockcheck.h - the monitor's clock self-check (SCORING.md rule 1): what
 * the kernel says of the host clock (ntp_adjtime).  A monitor whose clock is
 * unsynchronised, or whose estimated error is over SCORE_MONITOR_CLOCK_MAX,
 * must not judge anybody's time: its samples are discarded. */
#ifndef NTSPOOL_MONITOR_CLOCKCHECK_H
#define NTSPOOL_MONITOR_CLOCKCHECK_H

#include <stddef.h>

#define CLOCKCHECK_DETAIL_MAX 128

/* Read the kernel's clock state.  Returns the estimated error in s (>= 0),
   or NAN when the kernel says the clock is unsynchronised (TIME_ERROR or
   STA_UNSYNC) or cannot say; detail gets a human description. */
double clockcheck_read(char *detail, size_t len);

#endif
