/* util.h - small helpers shared by every program: checked number parsing. */
#ifndef NTSPOOL_UTIL_UTIL_H
#define NTSPOOL_UTIL_UTIL_H

/* Parse all of s as a decimal integer in [lo, hi] into *out.  Returns 0, or
   -1 (and leaves *out alone) for empty input, trailing bytes, overflow or a
   value out of range. */
int util_parse_long(const char *s, long lo, long hi, long *out)
    __attribute__((warn_unused_result));

#endif
