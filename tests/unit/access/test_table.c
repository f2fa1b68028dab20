/* The credential table: decisions (401, 403, 429, 403 quota, 200), in-place updates that keep a
 * grant's limiter state, removal of what the store no longer has. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "access/access.h"
#include "access/table.h"
#include "identity/jwt.h"

#include "../store_fixture.h"

#define SEC 1000000000ull

static struct gh_config *config(const char *rate)
{
    char y[1024];
    snprintf(y, sizeof(y),
             "apis:\n"
             "  - name: pay\n"
             "    route: { path: /pay }\n"
             "    upstream: { targets: [\"http://127.0.0.1:9\"] }\n"
             "    auth: key\n"
             "    plans: [p]\n"
             "plans:\n"
             "  - name: p\n"
             "%s",
             rate);
    struct gh_config *cfg = NULL;
    struct gh_err err = {{0}};
    if (gh_config_load_string("t.yaml", y, strlen(y), &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    return cfg;
}

static int decide(struct gh_access_table *t, const char *key, uint64_t now_ns, uint64_t now_ms)
{
    struct gh_access_decision d;
    gh_access_check(t, "pay", (struct gh_str){key, strlen(key)}, NULL, now_ns, now_ms, &d);
    return d.status ? d.status : 200;
}

static void test_decisions(void **state)
{
    (void)state;
    gh_access_thread_online();
    struct gh_config *cfg =
        config("    rate: { requests: 2, per: 1m }\n    quota: { requests: 3, per: day }\n");
    struct gh_err err = {{0}};
    struct gh_access_table *t = gh_access_table_new();
    char key[GH_KEY_LEN + 1], id[GH_KEY_ID_LEN + 1], grant[GH_ACCESS_ID_MAX];
    assert_int_equal(gh_app_create(db, "t", "app", "team", NULL, &err), 0);
    assert_int_equal(gh_key_issue(db, "t", "app", "primary", 0, key, id, &err), 0);
    assert_int_equal(gh_access_table_sync(t, db, cfg, &err), 0);
    assert_int_equal(gh_access_table_generation(t), gh_access_generation(db));
    uint64_t ms = 1700000000000ull;
    assert_int_equal(decide(t, "", SEC, ms), 401);
    assert_int_equal(decide(t, "ghk_garbage", SEC, ms), 401);
    assert_int_equal(decide(t, key, SEC, ms), 403); /* no grant */
    assert_int_equal(gh_grant_create(db, "t", cfg, "app", "pay", "p", 0, grant, &err), 0);
    assert_int_equal(decide(t, key, SEC, ms), 403); /* not synced yet */
    assert_int_equal(gh_access_table_sync(t, db, cfg, &err), 0);
    assert_int_equal(decide(t, key, SEC, ms), 200);
    assert_int_equal(decide(t, key, SEC, ms), 200);
    struct gh_access_decision d;
    gh_access_check(t, "pay", (struct gh_str){key, strlen(key)}, NULL, SEC, ms, &d);
    assert_int_equal(d.status, 429);
    assert_int_equal(d.retry_after_s, 30);
    assert_int_equal(d.limit, 2);
    assert_int_equal(d.window_s, 60);
    /* a change to the plan (a bigger quota) replaces the entry and keeps what was used so far */
    gh_config_free(cfg);
    cfg = config("    rate: { requests: 2, per: 1m }\n    quota: { requests: 4, per: day }\n");
    assert_int_equal(gh_access_table_sync(t, db, cfg, &err), 0);
    assert_int_equal(decide(t, key, SEC, ms), 429);       /* the rate state carried over */
    assert_int_equal(decide(t, key, 61 * SEC, ms), 200);  /* used 3 */
    assert_int_equal(decide(t, key, 200 * SEC, ms), 200); /* used 4 */
    gh_access_check(t, "pay", (struct gh_str){key, strlen(key)}, NULL, 300 * SEC, ms, &d);
    assert_int_equal(d.status, 403); /* 4 of 4: the count carried over */
    assert_string_equal(d.why, "quota exceeded");
    assert_true(d.retry_after_s > 0 && d.retry_after_s <= 86400);
    assert_int_equal(decide(t, key, 400 * SEC, ms + 86400000ull), 200); /* the next day */
    /* revoked in the store: gone from the table at the next sync */
    assert_int_equal(gh_key_revoke(db, "t", id, &err), 0);
    assert_int_equal(decide(t, key, 500 * SEC, ms + 86400000ull), 200);
    assert_int_equal(gh_access_table_sync(t, db, cfg, &err), 0);
    assert_int_equal(decide(t, key, 600 * SEC, ms + 86400000ull), 401);
    gh_access_table_free(t);
    gh_config_free(cfg);
    gh_access_thread_offline();
}

static void test_expiry(void **state)
{
    (void)state;
    gh_access_thread_online();
    struct gh_config *cfg = config("    description: no limits\n");
    struct gh_err err = {{0}};
    struct gh_access_table *t = gh_access_table_new();
    char key[GH_KEY_LEN + 1], id[GH_KEY_ID_LEN + 1], grant[GH_ACCESS_ID_MAX];
    assert_int_equal(gh_app_create(db, "t", "app", "team", NULL, &err), 0);
    assert_int_equal(gh_key_issue(db, "t", "app", "primary", 0, key, id, &err), 0);
    uint64_t until = gh_time_wall_ms() + 3600000;
    assert_int_equal(gh_grant_create(db, "t", cfg, "app", "pay", "p", until, grant, &err), 0);
    assert_int_equal(gh_access_table_sync(t, db, cfg, &err), 0);
    struct gh_access_decision d;
    gh_access_check(t, "pay", (struct gh_str){key, strlen(key)}, NULL, SEC, until - 1000, &d);
    assert_int_equal(d.status, 0);
    assert_int_equal(d.limit, 0); /* no rate limit: no RateLimit headers */
    gh_access_check(t, "pay", (struct gh_str){key, strlen(key)}, NULL, SEC, until + 1000, &d);
    assert_int_equal(d.status, 403);
    assert_string_equal(d.why, "the grant for this API has expired");
    /* a key with its own end: refused from then on as expired (401), whatever its grant says */
    char key2[GH_KEY_LEN + 1], id2[GH_KEY_ID_LEN + 1];
    uint64_t key_until = gh_time_wall_ms() + 60000;
    assert_int_equal(gh_key_issue(db, "t", "app", "secondary", key_until, key2, id2, &err), 0);
    assert_int_equal(gh_access_table_sync(t, db, cfg, &err), 0);
    gh_access_check(t, "pay", (struct gh_str){key2, strlen(key2)}, NULL, SEC, key_until - 1, &d);
    assert_int_equal(d.status, 0);
    gh_access_check(t, "pay", (struct gh_str){key2, strlen(key2)}, NULL, SEC, key_until, &d);
    assert_int_equal(d.status, 401);
    assert_int_equal(d.reason, GH_DENY_EXPIRED);
    assert_string_equal(d.why, "the API key has expired");
    gh_access_table_free(t);
    gh_config_free(cfg);
    gh_access_thread_offline();
}

/* Changes after the first sync arrive by the rows they stamped, not by a scan: new keys, grants,
 * revocations, a JWT client bound to another application. */
static void test_incremental(void **state)
{
    (void)state;
    gh_access_thread_online();
    struct gh_config *cfg = config("");
    struct gh_err err = {{0}};
    struct gh_access_table *t = gh_access_table_new();
    char k1[GH_KEY_LEN + 1], k2[GH_KEY_LEN + 1], id1[GH_KEY_ID_LEN + 1], id2[GH_KEY_ID_LEN + 1];
    char g1[GH_ACCESS_ID_MAX], g2[GH_ACCESS_ID_MAX], b[GH_ACCESS_ID_MAX];
    uint64_t ms = 1700000000000ull;
    assert_int_equal(gh_app_create(db, "t", "one", "team", NULL, &err), 0);
    assert_int_equal(gh_app_create(db, "t", "two", "team", NULL, &err), 0);
    assert_int_equal(gh_key_issue(db, "t", "one", "primary", 0, k1, id1, &err), 0);
    assert_int_equal(gh_grant_create(db, "t", cfg, "one", "pay", "p", 0, g1, &err), 0);
    assert_int_equal(gh_access_table_update(t, db, cfg, &err), 0); /* the first one reads everything */
    assert_int_equal(decide(t, k1, SEC, ms), 200);
    /* a second application: its key and grant come through the update */
    assert_int_equal(gh_key_issue(db, "t", "two", "primary", 0, k2, id2, &err), 0);
    assert_int_equal(decide(t, k2, SEC, ms), 401);
    assert_int_equal(gh_access_table_update(t, db, cfg, &err), 0);
    assert_int_equal(decide(t, k2, SEC, ms), 403);
    assert_int_equal(gh_grant_create(db, "t", cfg, "two", "pay", "p", 0, g2, &err), 0);
    assert_int_equal(gh_access_table_update(t, db, cfg, &err), 0);
    assert_int_equal(decide(t, k2, SEC, ms), 200);
    assert_int_equal(gh_access_table_generation(t), gh_access_generation(db));
    /* revocations */
    assert_int_equal(gh_key_revoke(db, "t", id1, &err), 0);
    assert_int_equal(gh_grant_revoke(db, "t", g2, &err), 0);
    assert_int_equal(gh_access_table_update(t, db, cfg, &err), 0);
    assert_int_equal(decide(t, k1, SEC, ms), 401);
    assert_int_equal(decide(t, k2, SEC, ms), 403);
    /* a grant again after its revocation */
    assert_int_equal(gh_grant_create(db, "t", cfg, "two", "pay", "p", 0, g2, &err), 0);
    assert_int_equal(gh_access_table_update(t, db, cfg, &err), 0);
    assert_int_equal(decide(t, k2, SEC, ms), 200);
    /* a JWT client revoked and bound to the other application between two updates */
    unsigned char cred[32];
    gh_jwt_credential("https://idp", "c1", cred);
    assert_int_equal(gh_jwt_bind(db, "t", "one", "https://idp", "c1", b, &err), 0);
    assert_int_equal(gh_access_table_update(t, db, cfg, &err), 0);
    struct gh_access_decision d;
    memset(&d, 0, sizeof(d));
    gh_access_check_digest(t, "pay", cred, SEC, ms, &d);
    assert_int_equal(d.status, 0);
    assert_memory_equal(d.app, "app_", 4); /* an application id */
    char first[GH_ACCESS_APP_MAX];
    memcpy(first, d.app, sizeof(first));
    assert_int_equal(gh_key_revoke(db, "t", b, &err), 0);
    assert_int_equal(gh_grant_revoke(db, "t", g1, &err), 0);
    assert_int_equal(gh_jwt_bind(db, "t", "two", "https://idp", "c1", b, &err), 0);
    assert_int_equal(gh_access_table_update(t, db, cfg, &err), 0);
    memset(&d, 0, sizeof(d));
    gh_access_check_digest(t, "pay", cred, SEC, ms, &d);
    assert_int_equal(d.status, 0); /* now as application two, which has a grant */
    assert_string_not_equal(d.app, first);
    gh_access_table_free(t);
    gh_config_free(cfg);
    gh_access_thread_offline();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_incremental, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_decisions, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_expiry, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
