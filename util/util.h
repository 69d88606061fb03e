/* util.h - small helpers shared by every program: checked number parsing,
 * UTF-8 checks, wiping secrets, reading a key file. */
#ifndef NTSPOOL_UTIL_UTIL_H
#define NTSPOOL_UTIL_UTIL_H

/* Parse all of s as a decimal integer in [lo, hi] into *out.  Returns 0, or
   -1 (and leaves *out alone) for empty input, trailing bytes, overflow or a
   value out of range. */
int util_parse_long(const char *s, long lo, long hi, long *out)
    __attribute__((warn_unused_result));

#include <stdbool.h>
#include <stddef.h>

/* Overwrite n bytes at p with zeros in a way the compiler keeps (secrets
   that are no longer needed). */
void util_wipe(void *p, size_t n);

/* True when s is valid UTF-8 (no overlong forms, surrogates or values past
   U+10FFFF).  With no_controls, C0 controls and DEL are refused too. */
bool util_utf8_valid(const char *s, size_t len, bool no_controls);

/* Replace every byte of the NUL-terminated s that is not part of valid
   UTF-8, and every C0 control and DEL, by '?': text from the network made
   safe to store and show. */
void util_utf8_sanitize(char *s);

/* Read a key (a bearer credential) from the first line of the regular file
   at path (a FIFO or a device is refused, without blocking) into out (len
   bytes), without the line end and trailing blanks: it must be non-empty,
   shorter than len - 1, valid UTF-8 without controls or spaces.
   0, or -1 with a message naming the file in err (never the key; out is
   wiped). */
int util_read_key(const char *path, char *out, size_t len, char *err, size_t errlen);

#endif
