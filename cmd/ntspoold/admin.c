/* admin.c - the administration commands of ntspoold (PRODUCT.md): each
 * opens the configured database (also while the service runs: WAL), prints
 * one line on stdout, the secret shown this once, and nothing secret on
 * stderr.  Only hashes are stored. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd/ntspoold/svc.h"
#include "util/log.h"
#include "util/util.h"
#include "web/web.h"

/* ---- administration commands ---------------------------------------------------- */

static int
new_api_token(struct db *db, int64_t user, const char *name, int64_t now)
{
    char token[WEB_TOKEN_LEN + 1];
    unsigned char hash[DB_HASH_LEN];
    int64_t id;

    if (web_token_new(token, WEB_TOKEN_PREFIX) != 0 || db_hash(token, hash) != 0 ||
        db_api_token_add(db, user, name, hash, now, &id) != 0) {
        log_err("cannot create an API token");
        return 1;
    }
    printf("%s\n", token);
    util_wipe(token, sizeof(token));
    return 0;
}

int
svc_admin(const struct config *c, int argc, char **argv)
{
    const char *cmd = argv[0];
    int64_t now = (int64_t)time(NULL), id;
    struct db_user u;
    struct db *db;
    int rc = 1;

    if (strcmp(cmd, "user-add") == 0) {
        bool is_admin = false;
        const char *email = NULL;
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--admin") == 0)
                is_admin = true;
            else if (!email)
                email = argv[i];
            else
                email = "";
        }
        if (!email || !web_email_ok(email)) {
            log_err("user-add: give one e-mail address (and optionally --admin)");
            return EXIT_CONFIG;
        }
        if (!(db = svc_open_db(c)))
            return 1;
        if (db_begin(db) != 0)
            goto out;
        rc = db_user_add(db, email, "", is_admin, now, &id);
        if (rc == 1) {
            log_err("user-add: %s already has an account", email);
            db_rollback(db);
            goto out;
        }
        if (rc != 0 || (rc = new_api_token(db, id, "default", now)) != 0 ||
            db_commit(db) != 0) {
            db_rollback(db);
            rc = 1;
        }
    } else if (strcmp(cmd, "token-add") == 0) {
        if (argc != 3 || !web_email_ok(argv[1]) || !*argv[2] || strlen(argv[2]) >= DB_NAME_MAX ||
            !util_utf8_valid(argv[2], strlen(argv[2]), true)) {
            log_err("token-add: give an e-mail address and a token name (1..%d bytes)",
                    DB_NAME_MAX - 1);
            return EXIT_CONFIG;
        }
        if (!(db = svc_open_db(c)))
            return 1;
        rc = db_user_by_email(db, argv[1], &u);
        if (rc != 1) {
            if (rc == 0)
                log_err("token-add: no account %s", argv[1]);
            rc = 1;
            goto out;
        }
        rc = new_api_token(db, u.id, argv[2], now);
    } else if (strcmp(cmd, "monitor-add") == 0) {
        char key[WEB_TOKEN_LEN + 1];
        if (argc != 2 || !*argv[1] || strlen(argv[1]) >= DB_NAME_MAX ||
            !util_utf8_valid(argv[1], strlen(argv[1]), true)) {
            log_err("monitor-add: give a monitor name (1..%d bytes)", DB_NAME_MAX - 1);
            return EXIT_CONFIG;
        }
        if (!(db = svc_open_db(c)))
            return 1;
        if (web_token_new(key, "ntspm_") != 0) {
            log_err("monitor-add: no random bytes");
            goto out;
        }
        rc = db_monitor_add(db, argv[1], key, now, &id);
        if (rc == 0)
            printf("%s\n", key);
        else if (rc == 1)
            log_err("monitor-add: a monitor named %s exists", argv[1]);
        util_wipe(key, sizeof(key));
        rc = rc == 0 ? 0 : 1;
    } else {
        log_err("unknown command %s (user-add, token-add, monitor-add)", cmd);
        return EXIT_CONFIG;
    }
out:
    if (fflush(stdout) != 0)
        rc = 1;
    db_close(db);
    return rc;
}
