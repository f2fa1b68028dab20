/* Applications, keys and grants: each change audited, keys stored only as hashes, slots rotate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "access/access.h"
#include "audit/audit.h"
#include "base/json.h"

#include "../store_fixture.h"

static struct gh_config *config(void)
{
    const char *y = "apis:\n"
                    "  - name: pay\n"
                    "    route: { path: /pay }\n"
                    "    upstream: { targets: [\"http://127.0.0.1:9\"] }\n"
                    "    plans: [starter]\n"
                    "  - name: free\n"
                    "    route: { path: /free }\n"
                    "    upstream: { targets: [\"http://127.0.0.1:9\"] }\n"
                    "plans:\n"
                    "  - name: starter\n"
                    "    rate: { requests: 10, per: 1s }\n";
    struct gh_config *cfg = NULL;
    struct gh_err err = {{0}};
    if (gh_config_load_string("t.yaml", y, strlen(y), &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    return cfg;
}

static int on_int(void *ctx, const struct gh_store_val *c, size_t n)
{
    if (n >= 1 && c[0].type == GH_VAL_INT)
        *(int64_t *)ctx = c[0].i;
    return 0;
}

static int64_t scalar(const char *sql)
{
    int64_t n = -1;
    struct gh_err err = {{0}};
    if (gh_store_exec(db, sql, NULL, 0, on_int, &n, &err) != 0)
        fail_msg("%s: %s", sql, err.msg);
    return n;
}

struct events {
    char actions[512];
    char *all;
};

static int on_event(void *ctx, struct gh_json *e)
{
    struct events *x = ctx;
    strcat(x->actions, gh_json_str(gh_json_get(e, "action"), NULL));
    strcat(x->actions, " ");
    char *t = gh_json_dump(e, 1);
    size_t old = x->all ? strlen(x->all) : 0;
    x->all = realloc(x->all, old + strlen(t) + 2);
    strcpy(x->all + old, t);
    free(t);
    return 0;
}

static void test_lifecycle(void **state)
{
    (void)state;
    struct gh_config *cfg = config();
    struct gh_err err = {{0}};
    char app[GH_ACCESS_ID_MAX], key1[GH_KEY_LEN + 1], id1[GH_KEY_ID_LEN + 1], key2[GH_KEY_LEN + 1],
        id2[GH_KEY_ID_LEN + 1], grant[GH_ACCESS_ID_MAX];
    assert_int_equal(gh_app_create(db, "cli:test", "billing-app", "team-pay", app, &err), 0);
    assert_int_equal(gh_app_create(db, "cli:test", "billing-app", "team-pay", app, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "exists"));
    assert_int_equal(gh_app_create(db, "cli:test", "bad name", "team-pay", app, &err), GH_EINVAL);
    assert_int_equal(gh_app_create(db, "cli:test", "x", "bad owner", app, &err), GH_EINVAL);

    assert_int_equal(gh_key_issue(db, "cli:test", "billing-app", "primary", 0, key1, id1, &err), 0);
    assert_int_equal(gh_key_parse((struct gh_str){key1, strlen(key1)}, &err), 0);
    assert_memory_equal(key1, id1, GH_KEY_ID_LEN);
    /* a new primary key revokes the old one; the secondary slot is separate */
    assert_int_equal(gh_key_issue(db, "cli:test", "billing-app", "primary", 0, key2, id2, &err), 0);
    assert_int_equal(scalar("SELECT COUNT(*) FROM credentials WHERE state = 'active'"), 1);
    assert_int_equal(gh_key_issue(db, "cli:test", "billing-app", "secondary", 0, key1, id1, &err), 0);
    assert_int_equal(scalar("SELECT COUNT(*) FROM credentials WHERE state = 'active'"), 2);
    assert_int_equal(gh_key_issue(db, "cli:test", "nope", "primary", 0, key1, id1, &err), GH_ENOTFOUND);
    assert_int_equal(gh_key_issue(db, "cli:test", "billing-app", "tertiary", 0, key1, id1, &err), GH_EINVAL);
    assert_int_equal(gh_key_revoke(db, "cli:test", id2, &err), 0);
    assert_int_equal(gh_key_revoke(db, "cli:test", id2, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "already revoked"));
    assert_int_equal(gh_key_revoke(db, "cli:test", "ghk_nothere", &err), GH_ENOTFOUND);

    assert_int_equal(gh_grant_create(db, "cli:test", cfg, "billing-app", "pay", "starter", 0, grant, &err),
                     0);
    assert_int_equal(gh_grant_create(db, "cli:test", cfg, "billing-app", "pay", "starter", 0, grant, &err),
                     GH_EEXIST);
    assert_non_null(strstr(err.msg, "already has grant"));
    assert_int_equal(gh_grant_create(db, "cli:test", cfg, "billing-app", "free", "starter", 0, grant, &err),
                     GH_EINVAL);
    assert_non_null(strstr(err.msg, "does not offer plan 'starter'"));
    assert_int_equal(gh_grant_create(db, "cli:test", cfg, "billing-app", "nope", "starter", 0, grant, &err),
                     GH_EINVAL);
    assert_int_equal(gh_grant_create(db, "cli:test", cfg, "billing-app", "pay", "starter", 1000, grant, &err),
                     GH_EINVAL);
    assert_int_equal(scalar("SELECT COUNT(*) FROM grants WHERE state = 'active'"), 1);
    char gid[GH_ACCESS_ID_MAX];
    assert_int_equal(scalar("SELECT COUNT(*) FROM grants"), 1);
    /* revoke it, then grant again: the revoked row makes way */
    assert_int_equal(gh_grant_revoke(db, "cli:test", grant, &err), 0);
    assert_int_equal(gh_grant_revoke(db, "cli:test", grant, &err), GH_EINVAL);
    assert_int_equal(gh_grant_create(db, "cli:test", cfg, "billing-app", "pay", "starter",
                                     gh_time_wall_ms() + 86400000, gid, &err),
                     0);

    /* no key anywhere in the store; every change on the record, in order, and the chain intact */
    assert_int_equal(scalar("SELECT COUNT(*) FROM credentials WHERE hash LIKE 'ghk_%'"), 0);
    struct events ev = {"", NULL};
    struct gh_audit_query q = {0};
    assert_int_equal(gh_audit_list(db, &q, on_event, &ev, &err), 0);
    assert_string_equal(ev.actions,
                        "application.create key.create key.create key.create key.revoke grant.create "
                        "grant.revoke grant.create ");
    assert_null(strstr(ev.all, key1 + 12));
    assert_null(strstr(ev.all, key2 + 12));
    assert_non_null(strstr(ev.all, id2));
    free(ev.all);
    struct gh_audit_report r;
    assert_int_equal(gh_audit_verify(db, NULL, 0, &r, &err), 0);
    assert_int_equal(r.bad_seq, 0);
    assert_int_equal(r.count, 8);
    gh_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
