/* fuzz_utf8.c - libFuzzer target for util_utf8_valid and util_utf8_sanitize
 * (util/util.c) on arbitrary bytes.  Checks: util_utf8_valid agrees with
 * jansson's UTF-8 check (json_stringn: overlongs, surrogates and values past
 * U+10FFFF refused); with no_controls it is the same minus C0 controls and
 * DEL; util_utf8_sanitize keeps the length, changes bytes only to '?',
 * leaves valid text alone, and its output is valid without controls. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    bool valid = util_utf8_valid(in, size, false), text = util_utf8_valid(in, size, true);
    bool controls = false;
    json_t *j = json_stringn(in, size);
    size_t len;
    char *s;

    for (size_t i = 0; i < size; i++)
        controls |= data[i] < 0x20 || data[i] == 0x7f;
    if (valid != (j != NULL) || text != (valid && !controls))
        __builtin_trap();
    json_decref(j);
    s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    len = strlen(s);
    util_utf8_sanitize(s);
    if (strlen(s) != len || !util_utf8_valid(s, len, true))
        __builtin_trap();
    for (size_t i = 0; i < len; i++)
        if (s[i] != in[i] && s[i] != '?')
            __builtin_trap();
    if (util_utf8_valid(in, len, true) && memcmp(s, in, len) != 0)
        __builtin_trap();
    free(s);
    return 0;
}
