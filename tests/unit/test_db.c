/* test_db.c - the store: migrations (from empty, from every earlier version,
 * a newer one refused), accounts and sources, the base secret and tokens,
 * batched idempotent inserts with scoring, the status and history queries,
 * retention folding, and crash safety (a writer SIGKILLed mid-batch loses no
 * committed sample and leaves a consistent file).
 *
 * Every test works in its own mkdtemp directory, removed at the end.  The
 * randomised parts print their seed; -s SEED repeats a run.  Raw SQL appears
 * here only to build old-schema files and to inspect what db/ wrote. */
#include "db/db.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/check.h"

static char tmpdir[64];
static unsigned seed;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_db.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void
remove_tmpdir(void)
{
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
tpath(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* Raw SQL on a file, for building old schemas and inspecting results. */
static long long
sql_int(const char *path, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -1;

    if (sqlite3_open(path, &h) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    else
        fprintf(stderr, "sql_int(%s): %s\n", sql, sqlite3_errmsg(h));
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

static int
sql_exec(const char *path, const char *sql)
{
    sqlite3 *h = NULL;
    char *e = NULL;
    int rc = -1;

    if (sqlite3_open(path, &h) == SQLITE_OK &&
        sqlite3_exec(h, sql, NULL, NULL, &e) == SQLITE_OK)
        rc = 0;
    else
        fprintf(stderr, "sql_exec(%s): %s\n", sql, e ? e : sqlite3_errmsg(h));
    sqlite3_free(e);
    sqlite3_close(h);
    return rc;
}

/* A good probe result of `kind` over IPv`family` at time t. */
static void
result(struct probe_result *r, enum probe_kind kind, int family, int64_t t, double offset)
{
    result_probe_init(r);
    r->kind = kind;
    r->family = family;
    snprintf(r->host, sizeof(r->host), "time.example.org");
    r->port = 4460;
    snprintf(r->address, sizeof(r->address), family == 4 ? "192.0.2.7" : "2001:db8::7");
    r->start_time = t;
    r->start_time_frac = 0.25;
    r->ke.status = KE_OK;
    r->ke.duration = 0.012345;
    r->ke.connect_time = 0.001;
    r->ke.handshake_time = 0.008;
    snprintf(r->ke.tls_version, sizeof(r->ke.tls_version), "TLSv1.3");
    snprintf(r->ke.cipher, sizeof(r->ke.cipher), "TLS_AES_256_GCM_SHA384");
    snprintf(r->ke.alpn, sizeof(r->ke.alpn), "ntske/1");
    snprintf(r->ke.subject, sizeof(r->ke.subject), "CN=time.example.org");
    snprintf(r->ke.issuer, sizeof(r->ke.issuer), "CN=Test CA,O=ntspool");
    r->ke.not_after = 1800000000;
    r->ke.next_protocol = 0;
    r->ke.aead = 15;
    r->ke.cookies = 8;
    r->ke.cookie_size = 100;
    snprintf(r->ke.ntp_server, sizeof(r->ke.ntp_server), "%s", r->address);
    r->ke.ntp_port = 123;
    r->n_ntp = 2;
    for (int i = 0; i < 2; i++) {
        struct ntp_result *x = &r->ntp[i];
        x->status = NTP_OK;
        snprintf(x->address, sizeof(x->address), "%s", r->address);
        x->port = 123;
        x->offset = offset + i * 1e-6;
        x->delay = 0.0101 - i * 0.0001;
        x->stratum = 2;
        x->leap = 0;
        x->precision = -24;
        x->root_delay = 37 / 65536.0;
        x->root_dispersion = (100 + i) / 65536.0;
        x->refid = 0xC0000201;
        x->cookies_requested = 2;
        x->cookies_received = 2;
    }
}

static struct db *
open_db(const char *path)
{
    char *err = NULL;
    struct db *db = db_open(path, &err);

    if (!db) {
        fprintf(stderr, "db_open %s: %s\n", path, err ? err : "?");
        free(err);
    }
    return db;
}

/* A user, a source and two monitors to hang samples on. */
struct fixture {
    struct db *db;
    int64_t user, mon[3];
    struct db_source src;
};

static int
fixture(struct fixture *f, const char *name)
{
    char path[128];

    memset(f, 0, sizeof(*f));
    tpath(path, sizeof(path), name);
    f->db = open_db(path);
    if (!f->db)
        return -1;
    CHECK_INT(db_user_add(f->db, "op@example.org", "$scrypt$x", false, 1000, &f->user),
              0);
    CHECK_INT(db_source_add(f->db, f->user, "time.example.org", 4460, 1000, &f->src), 0);
    CHECK_INT(db_monitor_add(f->db, "local", "key-local", 1000, &f->mon[0]), 0);
    CHECK_INT(db_monitor_add(f->db, "remote1", "key-remote1", 1000, &f->mon[1]), 0);
    CHECK_INT(db_monitor_add(f->db, "remote2", "key-remote2", 1000, &f->mon[2]), 0);
    return 0;
}

/* ---- migrations ----------------------------------------------------------------- */

static void
test_migrations(void)
{
    char path[128], *err = NULL;
    struct db *db;

    /* From empty. */
    tpath(path, sizeof(path), "empty.db");
    db = open_db(path);
    CHECK(db != NULL);
    if (!db)
        return;
    CHECK_INT(db_schema_version(db), DB_SCHEMA_VERSION);
    CHECK_INT(db_check(db, &err), 0);
    free(err);
    db_close(db);
    CHECK_STR(sql_int(path, "PRAGMA journal_mode") == -1 ? "?" : "checked", "checked");
    /* Reopening applies nothing and keeps the version. */
    db = open_db(path);
    CHECK(db != NULL);
    db_close(db);

    /* From every earlier version, with data written at that version. */
    for (int v = 0; v < DB_SCHEMA_VERSION; v++) {
        char name[32];
        snprintf(name, sizeof(name), "v%d.db", v);
        tpath(path, sizeof(path), name);
        CHECK_INT(db_migrate(path, v, &err), 0);
        free(err);
        err = NULL;
        CHECK_INT(sql_int(path, "PRAGMA user_version"), v);
        if (v >= 1)
            CHECK_INT(sql_exec(path,
                               "INSERT INTO users(email, password_hash, created) "
                               "VALUES('old@example.org', 'h', 5);"
                               "INSERT INTO time_sources(uuid, owner, host, created) "
                               "VALUES('11111111-2222-4333-8444-555555555555', 1, "
                               "'old.example.org', 5);"
                               "INSERT INTO monitors(name, key_hash, created) "
                               "VALUES('m', x'00', 5);"),
                      0);
        if (v >= 2)
            CHECK_INT(
                sql_exec(path,
                         "INSERT INTO sample_details(epoch, hash, json) "
                         "VALUES(0, x'00', '{\"kind\":\"nts\",\"reason\":\"ok\","
                         "\"ke\":{\"status\":\"ok\"}}');"
                         "INSERT INTO samples(id, source, kind, monitor, time, reason, "
                         "ke_status, step, score, detail) "
                         "VALUES(1, 1, 0, 1, 1000, 0, 0, 1, 1, 1);"
                         "INSERT INTO scores(source, kind, monitor, time, score, "
                         "sample_time) VALUES(1, 0, 1, 1000, 1, 1000);"),
                0);
        db = open_db(path);
        CHECK(db != NULL);
        if (!db)
            continue;
        CHECK_INT(db_schema_version(db), DB_SCHEMA_VERSION);
        CHECK_INT(db_check(db, &err), 0);
        free(err);
        err = NULL;
        if (v >= 1) {
            struct db_user u;
            struct db_source s;
            CHECK_INT(db_user_by_email(db, "OLD@example.org", &u), 1);
            CHECK_INT(db_source_get(db, 1, &s), 1);
            CHECK_STR(s.host, "old.example.org");
            CHECK_INT(s.port, 4460);
        }
        CHECK_INT(db_sample_count(db), v >= 2 ? 1 : 0);
        db_close(db);
    }

    /* A database from a newer version is refused, and left alone. */
    tpath(path, sizeof(path), "newer.db");
    CHECK_INT(db_migrate(path, DB_SCHEMA_VERSION, &err), 0);
    CHECK_INT(sql_exec(path, "PRAGMA user_version=99"), 0);
    db = db_open(path, &err);
    CHECK(db == NULL);
    CHECK(err && strstr(err, "newer") && strstr(err, "99"));
    free(err);
    err = NULL;
    db_close(db);
    CHECK_INT(sql_int(path, "PRAGMA user_version"), 99);
    CHECK_INT(db_migrate(path, 1, &err), -1);
    free(err);
    err = NULL;
    CHECK_INT(db_migrate(path, DB_SCHEMA_VERSION + 1, &err), -1);
    free(err);

    /* A file that is not a database. */
    tpath(path, sizeof(path), "garbage.db");
    {
        FILE *f = fopen(path, "w");
        fputs("this is not an SQLite database, just text long enough..........", f);
        fclose(f);
    }
    err = NULL;
    db = db_open(path, &err);
    CHECK(db == NULL);
    CHECK(err != NULL);
    free(err);
}

/* ---- accounts, sources, monitors, tokens ---------------------------------------- */

static void
test_accounts(void)
{
    struct fixture f;
    struct db_user u;
    struct db_session sess;
    struct db_source s, s2;
    struct db_monitor m;
    unsigned char h[DB_HASH_LEN], h2[DB_HASH_LEN];
    int64_t id, other, tok, user;
    char token[DB_TOKEN_LEN + 1], token2[DB_TOKEN_LEN + 1];
    unsigned char secret[DB_SECRET_LEN];
    struct db_source *list;
    struct db_user *users;
    struct db_monitor *mons;
    size_t n;

    if (fixture(&f, "acc.db") < 0)
        return;
    /* Users: email unique regardless of case. */
    CHECK_INT(db_user_add(f.db, "OP@example.org", "x", false, 1, &id), 1);
    CHECK_INT(db_user_add(f.db, "admin@example.org", "y", true, 2, &other), 0);
    CHECK_INT(db_user_get(f.db, other, &u), 1);
    CHECK(u.is_admin);
    CHECK_STR(u.password_hash, "y");
    CHECK_INT(db_user_get(f.db, 999, &u), 0);
    CHECK_INT(db_users_list(f.db, &users, &n), 0);
    CHECK_INT(n, 2);
    free(users);

    /* Sessions by hash, expiring. */
    CHECK_INT(db_hash("cookie-value", h), 0);
    CHECK_INT(db_session_add(f.db, h, f.user, "csrf123", 100, 200), 0);
    CHECK_INT(db_session_get(f.db, h, 150, &sess), 1);
    CHECK_STR(sess.csrf, "csrf123");
    CHECK_INT(sess.user, f.user);
    CHECK_INT(db_session_get(f.db, h, 200, &sess), 0);
    CHECK_INT(db_sessions_expire(f.db, 300), 1);
    CHECK_INT(db_session_get(f.db, h, 150, &sess), 0);

    /* API tokens by hash. */
    CHECK_INT(db_hash("api-token", h2), 0);
    CHECK_INT(db_api_token_add(f.db, f.user, "ci", h2, 10, &tok), 0);
    CHECK_INT(db_api_token_user(f.db, h2, 20, &user), 1);
    CHECK_INT(user, f.user);
    CHECK_INT(db_api_token_user(f.db, h, 20, &user), 0);
    CHECK_INT(db_api_token_delete(f.db, tok, other), 0);
    CHECK_INT(db_api_token_delete(f.db, tok, f.user), 1);
    CHECK_INT(db_api_token_user(f.db, h2, 20, &user), 0);

    /* Sources: UUID v4, soft delete by owner only, work list pages. */
    CHECK_INT(strlen(f.src.uuid), DB_UUID_LEN);
    CHECK(f.src.uuid[14] == '4');
    CHECK(strchr("89ab", f.src.uuid[19]) != NULL);
    CHECK_INT(db_source_by_uuid(f.db, f.src.uuid, &s), 1);
    CHECK_INT(s.id, f.src.id);
    CHECK_STR(s.randomizer, "");
    CHECK_INT(db_source_add(f.db, f.user, "b.example.org", 123, 1, &s2), 0);
    CHECK(strcmp(s2.uuid, f.src.uuid) != 0);
    CHECK_INT(db_sources_active(f.db, 0, 1, &list, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(list[0].id, f.src.id);
    free(list);
    CHECK_INT(db_sources_active(f.db, f.src.id, 10, &list, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(list[0].id, s2.id);
    free(list);
    CHECK_INT(db_source_delete(f.db, s2.id, other, 50), 0);
    CHECK_INT(db_source_delete(f.db, s2.id, f.user, 50), 1);
    CHECK_INT(db_source_delete(f.db, s2.id, f.user, 51), 0);
    CHECK_INT(db_source_get(f.db, s2.id, &s), 1);
    CHECK_INT(s.deleted, 50);
    CHECK_INT(db_sources_active(f.db, 0, 10, &list, &n), 0);
    CHECK_INT(n, 1);
    free(list);

    /* Tokens: derived, rekey changes them, deleted sources cannot rekey. */
    for (int i = 0; i < DB_SECRET_LEN; i++)
        secret[i] = (unsigned char)i;
    CHECK_INT(db_source_token(f.db, f.src.id, secret, sizeof(secret), token), 1);
    CHECK_INT(db_token_derive(secret, sizeof(secret), f.src.uuid, "", token2), 0);
    CHECK_STR(token, token2);
    CHECK_INT(db_source_rekey(f.db, f.src.id, other, secret, sizeof(secret), token2), 0);
    CHECK_INT(db_source_rekey(f.db, f.src.id, f.user, secret, sizeof(secret), token2), 1);
    CHECK(strcmp(token, token2) != 0);
    CHECK_INT(db_source_get(f.db, f.src.id, &s), 1);
    CHECK_INT(strlen(s.randomizer), DB_RANDOMIZER_LEN);
    CHECK_INT(db_source_token(f.db, f.src.id, secret, sizeof(secret), token), 1);
    CHECK_STR(token, token2);
    CHECK_INT(db_source_rekey(f.db, s2.id, -1, secret, sizeof(secret), token2), 0);

    /* Monitors: key hashed, revoked ones refused. */
    CHECK_INT(db_monitor_add(f.db, "local", "another", 1, &id), 1);
    CHECK_INT(db_monitor_auth(f.db, "key-remote1", 777, &m), 1);
    CHECK_INT(m.id, f.mon[1]);
    CHECK_STR(m.name, "remote1");
    CHECK_INT(m.last_seen, 777);
    CHECK_INT(db_monitor_auth(f.db, "key-remote", 777, &m), 0);
    CHECK_INT(db_monitor_set_status(f.db, f.mon[1], DB_MONITOR_REVOKED), 1);
    CHECK_INT(db_monitor_auth(f.db, "key-remote1", 778, &m), 0);
    CHECK_INT(db_monitors_list(f.db, &mons, &n), 0);
    CHECK_INT(n, 3);
    CHECK_INT(mons[1].status, DB_MONITOR_REVOKED);
    CHECK_INT(mons[1].last_seen, 777);
    free(mons);
    CHECK_STR(db_monitor_status_str(DB_MONITOR_PAUSED), "paused");
    db_close(f.db);
}

static void
test_tokens(void)
{
    unsigned char secret[DB_SECRET_LEN], again[DB_SECRET_LEN];
    char token[DB_TOKEN_LEN + 1], r1[DB_RANDOMIZER_LEN + 1], r2[DB_RANDOMIZER_LEN + 1];
    char path[128], *err = NULL, uuid[DB_UUID_LEN + 1];
    struct stat st;
    int fd;

    /* NTS.md section 2 with a known secret (vectors from Python hashlib). */
    for (int i = 0; i < DB_SECRET_LEN; i++)
        secret[i] = (unsigned char)i;
    CHECK_INT(db_token_derive(secret, sizeof(secret),
                              "123e4567-e89b-12d3-a456-426614174000", "", token),
              0);
    CHECK_STR(token, "b8128a1d1b736cf9d8130866d911911a5eaaaad4d6b5789dfca6bb928afb5f41");
    CHECK_INT(db_token_derive(secret, sizeof(secret),
                              "123e4567-e89b-12d3-a456-426614174000",
                              "AbCdEfGhIjKlMnOpQrStUv", token),
              0);
    CHECK_STR(token, "dc5673de791903b6916d3a960c3f1aa4f0f81248ed26f9a9927ba30340960d85");

    CHECK_INT(db_token_randomizer(r1), 0);
    CHECK_INT(db_token_randomizer(r2), 0);
    CHECK_INT(strlen(r1), DB_RANDOMIZER_LEN);
    CHECK(strcmp(r1, r2) != 0);
    for (int i = 0; i < DB_RANDOMIZER_LEN; i++)
        CHECK((r1[i] >= 'a' && r1[i] <= 'z') || (r1[i] >= 'A' && r1[i] <= 'Z') ||
              (r1[i] >= '0' && r1[i] <= '9'));
    CHECK_INT(db_uuid_new(uuid), 0);
    CHECK_INT(strlen(uuid), 36);
    CHECK(db_token_equal("abc", "abc"));
    CHECK(!db_token_equal("abc", "abd"));
    CHECK(!db_token_equal("abc", "abcd"));

    /* The base secret: created 0600 at first start, the same afterwards. */
    tpath(path, sizeof(path), "secret");
    CHECK_INT(db_secret_load(path, secret, &err), 0);
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(st.st_size, DB_SECRET_LEN);
    CHECK_INT(db_secret_load(path, again, &err), 0);
    CHECK_MEM(secret, again, DB_SECRET_LEN);
    chmod(path, 0644);
    CHECK_INT(db_secret_load(path, again, &err), -1);
    CHECK(err && strstr(err, "group or others"));
    free(err);
    err = NULL;
    tpath(path, sizeof(path), "short-secret");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(write(fd, "short", 5) == 5);
    close(fd);
    CHECK_INT(db_secret_load(path, again, &err), -1);
    CHECK(err && strstr(err, "5 bytes"));
    free(err);
    err = NULL;
    tpath(path, sizeof(path), "no/such/dir/secret");
    CHECK_INT(db_secret_load(path, again, &err), -1);
    free(err);
}

/* ---- samples and scores --------------------------------------------------------- */

static void
test_json_roundtrip(void)
{
    struct probe_result r, back;
    json_t *j;
    char *text;

    result(&r, PROBE_KIND_POOL, 6, 1700000000, -0.0123);
    r.ke.n_supported_aeads = 2;
    r.ke.supported_aeads[0].id = 15;
    r.ke.supported_aeads[0].key_length = 32;
    r.ke.supported_aeads[1].id = 30;
    r.ke.supported_aeads[1].key_length = 16;
    r.ke.n_supported_protocols = 1;
    r.ke.supported_protocols[0] = 0;
    r.ntp[1].status = NTP_KOD_RATE;
    snprintf(r.ntp[1].kiss, sizeof(r.ntp[1].kiss), "RATE");
    snprintf(r.ntp[1].detail, sizeof(r.ntp[1].detail), "kiss-o'-death RATE");
    r.reason = PROBE_KOD_RATE;
    r.step = -3.5;
    j = db_result_to_json(&r);
    CHECK(j != NULL);
    text = json_dumps(j, JSON_COMPACT);
    /* The PRODUCT.md names. */
    CHECK(strstr(text, "\"kind\":\"pool\"") && strstr(text, "\"family\":\"v6\""));
    CHECK(strstr(text, "\"reason\":\"kod_rate\"") && strstr(text, "\"step\":-3.5"));
    CHECK(strstr(text, "\"not_after\":\"2027-01-15T08:00:00Z\""));
    CHECK(strstr(text, "\"refid\":\"C0000201\""));
    CHECK(strstr(text, "\"supported_aeads\":[[15,32],[30,16]]"));
    CHECK(strstr(text, "\"kiss\":\"RATE\""));
    CHECK(strstr(text, "null") == NULL);
    CHECK_INT(db_result_from_json(j, &back), 0);
    CHECK_INT(back.kind, PROBE_KIND_POOL);
    CHECK_INT(back.family, 6);
    CHECK_INT(back.start_time, r.start_time);
    CHECK_STR(back.address, r.address);
    CHECK_INT(back.reason, PROBE_KOD_RATE);
    CHECK_NEAR(back.step, -3.5, 0);
    CHECK_INT(back.ke.status, KE_OK);
    CHECK_STR(back.ke.subject, r.ke.subject);
    CHECK_INT(back.ke.not_after, r.ke.not_after);
    CHECK_INT(back.ke.n_supported_aeads, 2);
    CHECK_INT(back.ke.supported_aeads[1].key_length, 16);
    CHECK_INT(back.ke.n_supported_protocols, 1);
    CHECK_INT(back.n_ntp, 2);
    CHECK_NEAR(back.ntp[0].offset, r.ntp[0].offset, 0);
    CHECK_NEAR(back.ntp[0].root_dispersion, r.ntp[0].root_dispersion, 0);
    CHECK_INT(back.ntp[0].refid, 0xC0000201);
    CHECK_INT(back.ntp[1].status, NTP_KOD_RATE);
    CHECK_STR(back.ntp[1].kiss, "RATE");
    CHECK(isnan(back.ntp[1].offset));
    CHECK_INT(back.ke.connect_time > 0, 1);
    free(text);
    json_decref(j);

    /* Malformed input is refused, not trusted. */
    j = json_loads("{\"kind\":\"nts\",\"ke\":{\"status\":\"bogus\"}}", 0, NULL);
    CHECK_INT(db_result_from_json(j, &back), -1);
    json_decref(j);
    j = json_loads("{\"kind\":\"nts\",\"ke\":{\"status\":\"ok\"},\"ntp\":[1,2,3]}", 0,
                   NULL);
    CHECK_INT(db_result_from_json(j, &back), -1);
    json_decref(j);
    j = json_loads("{\"kind\":\"nts\",\"ke\":{\"status\":\"ok\",\"aead\":\"x\"}}", 0,
                   NULL);
    CHECK_INT(db_result_from_json(j, &back), -1);
    json_decref(j);
    j = json_loads("{\"kind\":\"ntp\",\"ke\":{\"status\":\"ok\"}}", 0, NULL);
    CHECK_INT(db_result_from_json(j, &back), -1);
    json_decref(j);
}

static void
test_store_and_score(void)
{
    struct fixture f;
    struct probe_result r[4];
    struct db_sample s[4];
    struct db_stored out[4];
    double expect = 0;
    int64_t t0 = 1700000000;
    json_t *j, *ke;
    struct probe_result back;

    if (fixture(&f, "store.db") < 0)
        return;
    /* 30 perfect probes: the score follows score_update exactly. */
    for (int i = 0; i < 30; i++) {
        result(&r[0], PROBE_KIND_NTS, 4, t0 + 241 * i, 0.001);
        s[0] = (struct db_sample){f.src.id, f.mon[0], &r[0], 0};
        CHECK_INT(db_store_samples(f.db, s, 1, out), 0);
        expect = score_update(expect, 1, INFINITY);
        CHECK_INT(out[0].outcome, DB_STORED);
        CHECK_NEAR(out[0].score, expect, 1e-12);
    }
    CHECK_INT(db_sample_count(f.db), 30);

    /* Resubmitting the last sample changes nothing (idempotent). */
    CHECK_INT(db_store_samples(f.db, s, 1, out), 0);
    CHECK_INT(out[0].outcome, DB_DUPLICATE);
    CHECK_INT(db_sample_count(f.db), 30);

    /* A late sample (older than the last scored) is kept, score unchanged. */
    result(&r[0], PROBE_KIND_NTS, 4, t0 + 100, 0.5);
    CHECK_INT(db_store_samples(f.db, s, 1, out), 0);
    CHECK_INT(out[0].outcome, DB_LATE);
    CHECK_INT(db_sample_count(f.db), 31);

    /* A batch: a discarded one (rule 1), a monitor with a bad clock, a
       failure on another kind, an invalid family. */
    result(&r[0], PROBE_KIND_NTS, 4, t0 + 241 * 30, 0.001);
    r[0].ke.status = KE_LOCAL_ERROR;
    r[0].n_ntp = 0;
    result(&r[1], PROBE_KIND_NTS, 4, t0 + 241 * 30 + 1, 0.001);
    result(&r[2], PROBE_KIND_POOL, 4, t0 + 241 * 30, 0.001);
    r[2].ke.status = KE_TOKEN_REJECTED;
    r[2].n_ntp = 0;
    result(&r[3], PROBE_KIND_POOL, 5, t0 + 241 * 30, 0.001);
    s[0] = (struct db_sample){f.src.id, f.mon[0], &r[0], 0};
    s[1] = (struct db_sample){f.src.id, f.mon[0], &r[1], 0.05};
    s[2] = (struct db_sample){f.src.id, f.mon[0], &r[2], 0};
    s[3] = (struct db_sample){f.src.id, f.mon[0], &r[3], 0};
    CHECK_INT(db_store_samples(f.db, s, 4, out), 0);
    CHECK_INT(out[0].outcome, DB_DISCARDED);
    CHECK_INT(out[0].reason, PROBE_MONITOR_FAULT);
    CHECK(isnan(out[0].step));
    CHECK_INT(out[1].outcome, DB_DISCARDED);
    CHECK_INT(out[2].outcome, DB_STORED);
    CHECK_INT(out[2].kind, SCORE_KIND_POOL_V4);
    CHECK_INT(out[2].reason, PROBE_KE_FAILED);
    CHECK_NEAR(out[2].score, -5, 0);
    CHECK_INT(out[3].outcome, DB_INVALID);
    CHECK_INT(db_sample_count(f.db), 34);

    /* The next good sample continues from the score before the discards. */
    result(&r[0], PROBE_KIND_NTS, 4, t0 + 241 * 31, 0.001);
    s[0] = (struct db_sample){f.src.id, f.mon[0], &r[0], 0};
    CHECK_INT(db_store_samples(f.db, s, 1, out), 0);
    expect = score_update(expect, 1, INFINITY);
    CHECK_NEAR(out[0].score, expect, 1e-12);

    /* The stored result comes back whole. */
    j = db_sample_json(f.db, out[0].id);
    CHECK(j != NULL);
    CHECK_INT(db_result_from_json(j, &back), 0);
    CHECK_INT(back.start_time, r[0].start_time);
    CHECK_STR(back.ke.cipher, r[0].ke.cipher);
    CHECK_NEAR(back.ke.duration, r[0].ke.duration, 1e-6);
    CHECK_NEAR(back.ke.connect_time, r[0].ke.connect_time, 1e-6);
    CHECK_NEAR(back.ntp[1].offset, r[0].ntp[1].offset, 0);
    CHECK_NEAR(back.ntp[1].delay, r[0].ntp[1].delay, 0);
    CHECK_NEAR(back.ntp[1].root_delay, r[0].ntp[1].root_delay, 0);
    CHECK_NEAR(back.ntp[1].root_dispersion, r[0].ntp[1].root_dispersion, 0);
    CHECK_NEAR(back.step, 1, 0);
    CHECK_INT(back.reason, PROBE_OK);
    ke = json_object_get(j, "ke");
    CHECK_INT(
        json_integer_value(json_object_get(json_object_get(ke, "tls"), "days_left")),
        (r[0].ke.not_after - r[0].start_time) / 86400);
    json_decref(j);
    CHECK(db_sample_json(f.db, 999999) == NULL);

    /* A caller's transaction: rolled back, nothing stays. */
    CHECK_INT(db_begin(f.db), 0);
    result(&r[0], PROBE_KIND_NTS, 4, t0 + 241 * 32, 0.001);
    CHECK_INT(db_store_samples(f.db, s, 1, out), 0);
    CHECK_INT(db_sample_count(f.db), 36);
    CHECK_INT(db_rollback(f.db), 0);
    CHECK_INT(db_sample_count(f.db), 35);
    CHECK_INT(db_begin(f.db), 0);
    CHECK_INT(db_begin(f.db), -1);
    CHECK_INT(db_store_samples(f.db, s, 1, out), 0);
    CHECK_INT(db_commit(f.db), 0);
    CHECK_INT(db_sample_count(f.db), 36);

    /* A sample of an unknown source is refused and the batch undone. */
    result(&r[0], PROBE_KIND_NTS, 4, t0 + 241 * 40, 0.001);
    result(&r[1], PROBE_KIND_NTS, 4, t0 + 241 * 40, 0.001);
    s[0] = (struct db_sample){f.src.id, f.mon[0], &r[0], 0};
    s[1] = (struct db_sample){4242, f.mon[0], &r[1], 0};
    CHECK_INT(db_store_samples(f.db, s, 2, out), -1);
    CHECK_INT(db_sample_count(f.db), 36);
    db_close(f.db);
}

/* Median across monitors, freshness, n/a, the verdict and its reason. */
static void
test_status(void)
{
    struct fixture f;
    struct probe_result r;
    struct db_sample s;
    struct db_stored out;
    struct db_source_status st, *list;
    struct db_monitor_score *ms;
    size_t n;
    int64_t t0 = 1700000000, now;
    int probes = 20;

    if (fixture(&f, "status.db") < 0)
        return;
    CHECK_INT(db_source_status(f.db, f.src.id, t0, 0, &st), 1);
    CHECK(!st.in_pool);
    CHECK_STR(st.why, "nts-v4, nts-v6, pool-v4, pool-v6: no recent measurement");

    /* Three monitors on nts-v4: 20 good, 20 good, failing (KE timeout). */
    for (int i = 0; i < probes; i++) {
        for (int m = 0; m < 3; m++) {
            result(&r, PROBE_KIND_NTS, 4, t0 + 241 * i + m, 0.002);
            if (m == 2) {
                r.ke.status = KE_TIMEOUT;
                r.n_ntp = 0;
            }
            s = (struct db_sample){f.src.id, f.mon[m], &r, 0};
            CHECK_INT(db_store_samples(f.db, &s, 1, &out), 0);
        }
        result(&r, PROBE_KIND_POOL, 4, t0 + 241 * i, 0.002);
        s = (struct db_sample){f.src.id, f.mon[0], &r, 0};
        CHECK_INT(db_store_samples(f.db, &s, 1, &out), 0);
    }
    now = t0 + 241 * probes;
    for (int k = SCORE_KIND_NTS_V6; k <= SCORE_KIND_POOL_V6; k += 2)
        CHECK_INT(db_store_not_applicable(f.db, f.src.id, (enum score_kind)k, f.mon[0],
                                          now - 5),
                  0);
    CHECK_INT(db_source_status(f.db, f.src.id, now, 0, &st), 1);
    {
        double good = 0, bad = 0;
        for (int i = 0; i < probes; i++) {
            good = score_update(good, 1, INFINITY);
            bad = score_update(bad, -5, INFINITY);
        }
        /* Median of {good, good, bad} is good. */
        CHECK_INT(st.kind[SCORE_KIND_NTS_V4].cur.state, SCORE_STATE_SCORED);
        CHECK_INT(st.kind[SCORE_KIND_NTS_V4].cur.n_fresh, 3);
        CHECK_NEAR(st.kind[SCORE_KIND_NTS_V4].cur.score, good, 1e-9);
        CHECK_INT(st.kind[SCORE_KIND_NTS_V4].n_monitors, 3);
        CHECK_INT(st.kind[SCORE_KIND_NTS_V6].cur.state, SCORE_STATE_NA);
        CHECK_INT(st.kind[SCORE_KIND_POOL_V6].cur.state, SCORE_STATE_NA);
        CHECK_NEAR(st.kind[SCORE_KIND_POOL_V4].cur.score, good, 1e-9);
        CHECK(st.in_pool);
        CHECK_STR(st.why, "");
        CHECK_INT(st.last_probe, t0 + 241 * (probes - 1) + 2);
        CHECK_INT(st.cert_not_after, 1800000000);

        /* Per monitor, for the details page. */
        CHECK_INT(db_source_monitor_scores(f.db, f.src.id, now, 0, &ms, &n), 0);
        CHECK_INT(n, 6);
        CHECK_INT(ms[2].kind, SCORE_KIND_NTS_V4);
        CHECK_STR(ms[2].monitor_name, "remote2");
        CHECK_NEAR(ms[2].m.score, bad, 1e-9);
        CHECK_INT(ms[2].m.ke_status, KE_TIMEOUT);
        CHECK(ms[2].fresh);
        free(ms);

        /* Later the two good monitors go stale: only the failing one is
           fresh, and the verdict says why. */
        result(&r, PROBE_KIND_NTS, 4, now + 2000, 0.002);
        r.ke.status = KE_TOKEN_REJECTED;
        r.n_ntp = 0;
        s = (struct db_sample){f.src.id, f.mon[2], &r, 0};
        CHECK_INT(db_store_samples(f.db, &s, 1, &out), 0);
        result(&r, PROBE_KIND_POOL, 4, now + 2000, 0.002);
        s = (struct db_sample){f.src.id, f.mon[0], &r, 0};
        CHECK_INT(db_store_samples(f.db, &s, 1, &out), 0);
        /* n/a is a report like any other: it goes stale unless renewed. */
        CHECK_INT(db_source_status(f.db, f.src.id, now + 2001, 0, &st), 1);
        CHECK_INT(st.kind[SCORE_KIND_NTS_V6].cur.state, SCORE_STATE_NONE);
        for (int k = SCORE_KIND_NTS_V6; k <= SCORE_KIND_POOL_V6; k += 2)
            CHECK_INT(db_store_not_applicable(f.db, f.src.id, (enum score_kind)k,
                                              f.mon[1], now + 2000),
                      0);
        CHECK_INT(db_source_status(f.db, f.src.id, now + 2001, 0, &st), 1);
        CHECK_INT(st.kind[SCORE_KIND_NTS_V4].cur.n_fresh, 1);
        CHECK(!st.in_pool);
        CHECK_STR(st.why, "nts-v4: token not accepted by the server");
    }

    /* The owner's list, with deleted sources left out. */
    {
        struct db_source other;
        CHECK_INT(db_source_add(f.db, f.user, "gone.example.org", 4460, 5, &other), 0);
        CHECK_INT(db_source_delete(f.db, other.id, f.user, 6), 1);
        CHECK_INT(db_source_status(f.db, other.id, now, 0, &st), 0);
    }
    CHECK_INT(db_sources_of_owner(f.db, f.user, now + 2001, 0, &list, &n), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(list[0].src.host, "time.example.org");
        CHECK_STR(list[0].why, "nts-v4: token not accepted by the server");
    }
    free(list);
    CHECK_INT(db_sources_of_owner(f.db, 12345, now, 0, &list, &n), 0);
    CHECK_INT(n, 0);
    free(list);
    db_close(f.db);
}

static void
test_history(void)
{
    struct fixture f;
    struct probe_result r[24];
    struct db_sample s[24];
    struct db_sample_row *rows;
    struct db_sample_query q;
    size_t n, k = 0;
    int64_t t0 = 1700000000;

    if (fixture(&f, "history.db") < 0)
        return;
    /* 4 probe rounds x 2 kinds x 3 monitors, in one batch. */
    for (int i = 0; i < 4; i++)
        for (int kind = 0; kind < 2; kind++)
            for (int m = 0; m < 3; m++, k++) {
                result(&r[k], kind ? PROBE_KIND_POOL : PROBE_KIND_NTS, 4, t0 + 241 * i,
                       0.001 * (i + 1));
                s[k] = (struct db_sample){f.src.id, f.mon[m], &r[k], 0};
            }
    CHECK_INT(db_store_samples(f.db, s, k, NULL), 0);

    memset(&q, 0, sizeof(q));
    q.source = f.src.id;
    q.kind = SCORE_KIND_NTS_V4;
    q.monitor = f.mon[1];
    CHECK_INT(db_score_history(f.db, &q, &rows, &n), 0);
    CHECK_INT(n, 4);
    if (n == 4) {
        CHECK_INT(rows[0].time, t0); /* oldest first */
        CHECK_INT(rows[3].time, t0 + 241 * 3);
        CHECK_NEAR(rows[3].score,
                   score_update(score_update(score_update(1, 1, INFINITY), 1, INFINITY),
                                1, INFINITY),
                   1e-12);
        /* The exchange with the smaller delay (the second) represents it. */
        CHECK_NEAR(rows[3].offset, 0.004 + 1e-6, 1e-15);
        CHECK_NEAR(rows[3].delay, 0.0100, 1e-15);
        CHECK_INT(rows[3].stratum, 2);
        CHECK_INT(rows[3].aead, 15);
        CHECK_STR(rows[3].address, "192.0.2.7");
        CHECK_INT(rows[3].reason, PROBE_OK);
    }
    free(rows);

    /* since and limit: the newest `limit` since `since`, oldest first. */
    q.monitor = -1;
    q.kind = -1;
    q.since = t0 + 241;
    q.limit = 7;
    CHECK_INT(db_score_history(f.db, &q, &rows, &n), 0);
    CHECK_INT(n, 7);
    if (n == 7) {
        CHECK_INT(rows[0].time, t0 + 241 * 2);
        CHECK_INT(rows[6].time, t0 + 241 * 3);
    }
    free(rows);

    /* Recent samples, paged: 24 rows in pages of 10 with no overlap. */
    memset(&q, 0, sizeof(q));
    q.source = f.src.id;
    q.kind = -1;
    q.monitor = -1;
    q.limit = 10;
    {
        int64_t seen = 0, last_time = INT64_MAX;
        for (int page = 0; page < 3; page++) {
            q.offset = (size_t)page * 10;
            CHECK_INT(db_recent_samples(f.db, &q, &rows, &n), 0);
            CHECK_INT(n, page < 2 ? 10 : 4);
            for (size_t i = 0; i < n; i++) {
                CHECK(rows[i].time <= last_time);
                last_time = rows[i].time;
                seen += rows[i].id;
            }
            free(rows);
        }
        CHECK_INT(seen, 24 * 25 / 2); /* ids 1..24, each once */
    }
    q.kind = SCORE_KIND_POOL_V4;
    q.monitor = f.mon[2];
    q.offset = 0;
    CHECK_INT(db_recent_samples(f.db, &q, &rows, &n), 0);
    CHECK_INT(n, 4);
    free(rows);
    q.before = t0 + 241;
    CHECK_INT(db_recent_samples(f.db, &q, &rows, &n), 0);
    CHECK_INT(n, 1);
    free(rows);
    db_close(f.db);
}

/* ---- retention ------------------------------------------------------------------ */

static void
test_retention(void)
{
    struct fixture f;
    char path[128];
    const int64_t day = 86400, t0 = 1700000000 - 1700000000 % 3600; /* an hour start */
    enum { ROUNDS = 50 };
    struct probe_result r[2];
    struct db_sample s[2];
    struct db_stored out[2];
    struct db_hourly *h;
    size_t n;
    int folded, total = 0, calls = 0;
    /* Expected aggregates per hour for monitor 0, kind nts-v4. */
    struct {
        int64_t count, fails, measured;
        double omin, omax, osum, last;
    } ex[4];

    memset(ex, 0, sizeof(ex));
    if (fixture(&f, "retention.db") < 0)
        return;
    tpath(path, sizeof(path), "retention.db");
    /* 50 rounds 241 s apart (3.3 hours), two monitors, every 5th a failure. */
    for (int i = 0; i < ROUNDS; i++) {
        int64_t t = t0 + 241 * i;
        int hour = (int)((t - t0) / 3600);
        double off = (i % 7 - 3) * 0.001;

        for (int m = 0; m < 2; m++) {
            result(&r[m], PROBE_KIND_NTS, 4, t, off);
            if (i % 5 == 4) {
                r[m].ntp[1].status = NTP_TIMEOUT;
                r[m].ntp[1].offset = NAN;
            }
            s[m] = (struct db_sample){f.src.id, f.mon[m], &r[m], 0};
        }
        CHECK_INT(db_store_samples(f.db, s, 2, out), 0);
        ex[hour].count++;
        ex[hour].last = out[0].score;
        if (i % 5 == 4)
            ex[hour].fails++;
        ex[hour].measured++;
        /* Exchange 2 (smaller delay) unless it failed. */
        {
            double o = i % 5 == 4 ? off : off + 1e-6;
            if (ex[hour].measured == 1 || o < ex[hour].omin)
                ex[hour].omin = o;
            if (ex[hour].measured == 1 || o > ex[hour].omax)
                ex[hour].omax = o;
            ex[hour].osum += o;
        }
    }
    CHECK_INT(db_sample_count(f.db), 2 * ROUNDS);
    CHECK(sql_int(path, "SELECT count(*) FROM sample_details") >= 2);

    /* Nothing is old yet. */
    CHECK_INT(db_fold_old_samples(f.db, t0 + 241 * ROUNDS, 15, 7), 0);
    CHECK_INT(db_sample_count(f.db), 2 * ROUNDS);

    /* 16 days later: fold in chunks of 7, which split hours across calls. */
    while ((folded = db_fold_old_samples(f.db, t0 + 16 * day, 0, 7)) > 0) {
        CHECK(folded <= 7);
        total += folded;
        calls++;
    }
    CHECK_INT(folded, 0);
    CHECK_INT(total, 2 * ROUNDS);
    CHECK_INT(calls, (2 * ROUNDS + 6) / 7);
    CHECK_INT(db_sample_count(f.db), 0);
    CHECK_INT(sql_int(path, "SELECT count(*) FROM sample_details"), 0);

    CHECK_INT(db_hourly_list(f.db, f.src.id, SCORE_KIND_NTS_V4, f.mon[0], 0, &h, &n), 0);
    CHECK_INT(n, 4);
    for (size_t i = 0; i < n && i < 4; i++) {
        CHECK_INT(h[i].hour, t0 + 3600 * (int64_t)i);
        CHECK_INT(h[i].count, ex[i].count);
        CHECK_INT(h[i].by_reason[PROBE_NTP_TIMEOUT], ex[i].fails);
        CHECK_INT(h[i].by_reason[PROBE_OK] + h[i].by_reason[PROBE_OFFSET],
                  ex[i].count - ex[i].fails);
        CHECK_INT(h[i].n_measured, ex[i].measured);
        CHECK_NEAR(h[i].offset_min, ex[i].omin, 1e-15);
        CHECK_NEAR(h[i].offset_max, ex[i].omax, 1e-15);
        CHECK_NEAR(h[i].offset_mean, ex[i].osum / ex[i].measured, 1e-12);
        CHECK_NEAR(h[i].delay_min, 0.0100, 0.0001 + 1e-12);
        CHECK_NEAR(h[i].last_score, ex[i].last, 1e-12);
    }
    free(h);
    CHECK_INT(db_hourly_list(f.db, f.src.id, -1, -1, t0 + 3600, &h, &n), 0);
    CHECK_INT(n, 6); /* hours 1..3 x 2 monitors */
    free(h);

    /* Scores survive retention: the next sample continues from them. */
    result(&r[0], PROBE_KIND_NTS, 4, t0 + 16 * day, 0.001);
    s[0] = (struct db_sample){f.src.id, f.mon[0], &r[0], 0};
    CHECK_INT(db_store_samples(f.db, s, 1, out), 0);
    CHECK_NEAR(out[0].score, score_update(ex[3].last, 1, INFINITY), 1e-12);
    {
        char *err = NULL;
        CHECK_INT(db_check(f.db, &err), 0);
        free(err);
    }
    db_close(f.db);
}

/* ---- crash safety --------------------------------------------------------------- */

enum { CRASH_BATCH = 50 };

/* The child: write batches until killed; after each commit, report the
   batch number on the pipe. */
static void
crash_child(const char *path, int fd, int64_t source, int64_t monitor)
{
    struct probe_result *r = calloc(CRASH_BATCH, sizeof(*r));
    struct db_sample s[CRASH_BATCH];
    struct db *db = open_db(path);

    if (!db || !r)
        _exit(2);
    for (int32_t batch = 0;; batch++) {
        for (int i = 0; i < CRASH_BATCH; i++) {
            /* Each batch's samples have times batch * 1000 + i. */
            result(&r[i], i % 2 ? PROBE_KIND_POOL : PROBE_KIND_NTS, 4,
                   1700000000 + (int64_t)batch * 1000 + i, 0.001);
            s[i] = (struct db_sample){source, monitor, &r[i], 0};
        }
        if (db_store_samples(db, s, CRASH_BATCH, NULL) < 0)
            _exit(3);
        if (write(fd, &batch, sizeof(batch)) != sizeof(batch))
            _exit(4);
    }
}

static void
test_crash(void)
{
    char path[128], *err = NULL;
    struct fixture f;

    if (fixture(&f, "crash.db") < 0)
        return;
    db_close(f.db);
    tpath(path, sizeof(path), "crash.db");
    for (int round = 0; round < 3; round++) {
        int p[2];
        pid_t pid;
        int32_t batch, committed = -1;
        int status;
        long delay_us = (long)(rand_r(&seed) % 150000);
        struct db *db;
        ssize_t got;

        CHECK_INT(pipe(p), 0);
        pid = fork();
        if (pid == 0) {
            close(p[0]);
            crash_child(path, p[1], f.src.id, f.mon[round % 3]);
        }
        close(p[1]);
        /* Kill at a random moment once the child is writing: mid-batch,
           mid-commit or mid-checkpoint, wherever it is. */
        if (read(p[0], &batch, sizeof(batch)) == sizeof(batch))
            committed = batch;
        usleep((useconds_t)delay_us);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        while ((got = read(p[0], &batch, sizeof(batch))) == sizeof(batch))
            committed = batch;
        close(p[0]);
        printf("crash round %d: killed after %ld us, %d batches reported committed\n",
               round, delay_us, committed + 1);

        db = open_db(path);
        CHECK(db != NULL);
        if (!db)
            continue;
        CHECK_INT(db_check(db, &err), 0);
        if (err)
            fprintf(stderr, "%s\n", err);
        free(err);
        err = NULL;
        db_close(db);
        {
            char sql[256];
            long long n;
            /* Every reported batch is whole; at most one more batch (the one
               committed but not yet reported) exists, also whole. */
            snprintf(sql, sizeof(sql),
                     "SELECT count(*) FROM samples WHERE monitor = %lld AND time < %lld",
                     (long long)f.mon[round % 3],
                     1700000000LL + (long long)(committed + 1) * 1000);
            CHECK_INT(sql_int(path, sql), (long long)(committed + 1) * CRASH_BATCH);
            snprintf(sql, sizeof(sql),
                     "SELECT count(*) FROM samples WHERE monitor = %lld",
                     (long long)f.mon[round % 3]);
            n = sql_int(path, sql);
            CHECK(n == (committed + 1) * CRASH_BATCH ||
                  n == (committed + 2) * CRASH_BATCH);
            snprintf(sql, sizeof(sql),
                     "SELECT count(*) FROM scores WHERE monitor = %lld AND "
                     "sample_time = (SELECT max(time) FROM samples WHERE monitor = %lld "
                     "AND kind = scores.kind)",
                     (long long)f.mon[round % 3], (long long)f.mon[round % 3]);
            /* The scores match the samples: each kind's row is at its last sample. */
            CHECK_INT(sql_int(path, sql), n > 0 ? 2 : 0);
        }
    }
}

int
main(int argc, char **argv)
{
    int opt;

    seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    while ((opt = getopt(argc, argv, "s:")) != -1) {
        if (opt == 's') {
            seed = (unsigned)strtoul(optarg, NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [-s SEED]\n", argv[0]);
            return 2;
        }
    }
    printf("test_db: seed %u\n", seed);
    make_tmpdir();
    test_migrations();
    test_accounts();
    test_tokens();
    test_json_roundtrip();
    test_store_and_score();
    test_status();
    test_history();
    test_retention();
    test_crash();
    remove_tmpdir();
    return check_finish("test_db");
}
