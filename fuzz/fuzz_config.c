/* fuzz_config.c - libFuzzer target for the configuration parser: arbitrary
 * bytes as the file of each program.  Checks what the callers rely on: 0 or
 * -1, an error message that is terminated and names the file, and on success
 * values inside their documented ranges and text without control bytes. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
clean(const char *s, size_t cap)
{
    const char *end = memchr(s, '\0', cap);

    if (end == NULL)
        return 0;
    for (; s < end; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    }
    return 1;
}

static void
check(const struct config *c)
{
    if (c->nlisten < 1 || c->nlisten > CONFIG_LISTEN_MAX)
        __builtin_trap();
    for (size_t i = 0; i < c->nlisten; i++) {
        if (c->listen[i].port == 0 || !clean(c->listen[i].addr, CONFIG_ADDR_MAX) ||
            c->listen[i].addr[0] == '\0')
            __builtin_trap();
    }
    if (strncmp(c->public_url, "http://", 7) && strncmp(c->public_url, "https://", 8))
        __builtin_trap();
    if (c->retention_days < 1 || c->retention_days > 3650 || c->interval < 1 ||
        c->interval > 86400 || c->max_in_flight < 1 || c->max_in_flight > 100000 ||
        c->spool_max < 1 || c->spool_max > 100000000)
        __builtin_trap();
    if (!isfinite(c->ke_timeout) || c->ke_timeout < 0.01 || c->ke_timeout > 300 ||
        !isfinite(c->ntp_timeout) || c->ntp_timeout < 0.01 || c->ntp_timeout > 60)
        __builtin_trap();
    if (c->log_level < 0 || c->log_level > 3 || c->codepoints < CONFIG_CP_AUTO ||
        c->codepoints > CONFIG_CP_EXPERIMENTAL)
        __builtin_trap();
    if (!clean(c->public_url, CONFIG_URL_MAX) || !clean(c->database, CONFIG_PATH_MAX) ||
        !clean(c->secret_file, CONFIG_PATH_MAX) || !clean(c->ca_file, CONFIG_PATH_MAX) ||
        !clean(c->url, CONFIG_URL_MAX) || !clean(c->key_file, CONFIG_PATH_MAX) ||
        !clean(c->service_ca_file, CONFIG_PATH_MAX) ||
        !clean(c->probe_ca_file, CONFIG_PATH_MAX) || !clean(c->spool, CONFIG_PATH_MAX) ||
        !clean(c->smtp_url, CONFIG_URL_MAX) || !clean(c->from, CONFIG_URL_MAX))
        __builtin_trap();
    if (c->database[0] == '\0' || c->secret_file[0] == '\0' || c->spool[0] == '\0')
        __builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum config_prog progs[] = {CONFIG_NTSPOOLD, CONFIG_MONITOR};
    char err[CONFIG_ERR_MAX];
    struct config c;
    char *text;

    if (size > 64 * 1024)
        return 0;
    text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (size_t i = 0; i < 2; i++) {
        int r = config_load_string(&c, progs[i], "fuzz.conf", text, err, sizeof(err));
        if ((r != 0 && r != -1) || c.prog != progs[i] || !memchr(err, '\0', sizeof(err)))
            __builtin_trap();
        if (r == 0 && err[0] != '\0')
            __builtin_trap();
        if (r == -1 && strncmp(err, "fuzz.conf", 9) != 0)
            __builtin_trap();
        /* Even after an error c holds values that passed their checks. */
        check(&c);
    }
    free(text);
    return 0;
}
