/* reload.c - ntspool-monitor's configuration while it runs: the key file,
 * the scheduler options of the configuration, and SIGHUP. */
#include <stdio.h>
#include <string.h>

#include "util/curlev.h"
#include "util/log.h"
#include "util/util.h"

#include "cmd/ntspool-monitor/mon.h"

void
mon_sch_options(const struct config *c, struct sch_config *sc)
{
    sc->codepoints = c->codepoints == CONFIG_CP_PERMANENT      ? SCH_CP_PERMANENT
                     : c->codepoints == CONFIG_CP_EXPERIMENTAL ? SCH_CP_EXPERIMENTAL
                                                               : SCH_CP_AUTO;
    sc->allow_private = c->allow_private;
}

void
mon_reload(struct mon *m)
{
    struct config c;
    struct sch_config sc;
    char err[CONFIG_ERR_MAX], key[KEY_MAX];
    int level;
    bool new_key;

    if (config_load(&c, CONFIG_MONITOR, m->cfg_path, err, sizeof(err)) != 0) {
        log_err("reload: %s; keeping the running configuration", err);
        return;
    }
    if (!c.key_file[0]) {
        log_err("reload: %s: [monitor] key_file is required; keeping the running "
                "configuration", m->cfg_path);
        return;
    }
    if (util_read_key(c.key_file, key, sizeof(key), err, sizeof(err)) != 0) {
        log_err("reload: %s; keeping the running configuration", err);
        return;
    }
    if (config_keep_restart_keys(&c, &m->cfg))
        log_warn("reload: " CONFIG_RESTART_KEYS_MONITOR " take effect only after a restart");
    new_key = strcmp(key, m->key) != 0;
    memcpy(m->key, key, sizeof(m->key));
    util_wipe(key, sizeof(key));
    m->cfg = c;
    level = c.log_level + m->verbose;
    log_init(NULL, (enum log_level)(level > LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG : level));
    if (m->sch) {
        sc = m->sc;
        mon_sch_options(&m->cfg, &sc);
        if (memcmp(&sc, &m->sc, sizeof(sc)) != 0)
            sch_set_config(m->sch, &sc);
        m->sc = sc;
    }
    log_warn("reload: configuration %s reloaded%s", m->cfg_path,
             new_key ? "; a new key: fetching the work list" : "");
    /* The pool kinds' tokens derive from the key (monwork_build): the work
       list is built again with it. */
    if (new_key) {
        if (m->fetch_req)
            curlev_cancel(m->fetch_req);
        m->fetch_req = NULL;
        mon_fetch(m);
    }
}
