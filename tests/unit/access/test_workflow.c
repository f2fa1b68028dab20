/* The access workflow's clock and lifecycle: expiry of grants and requests, reminders, renewal through
 * a new request, key rotation -- each with its audit and outbox events -- and webhook signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "access/access.h"
#include "access/events.h"
#include "access/table.h"
#include "access/webhook.h"
#include "base/json.h"
#include "identity/perm.h"

#include "../store_fixture.h"

#define DAY (86400ull * 1000)

static struct gh_config *config(const char *extra)
{
    char y[2048];
    snprintf(y, sizeof(y),
             "apis:\n"
             "  - name: pay\n"
             "    route: { path: /pay }\n"
             "    upstream: { targets: [\"http://127.0.0.1:9\"] }\n"
             "    plans: [starter, gold]\n"
             "plans:\n"
             "  - name: starter\n"
             "    rate: { requests: 10, per: 1s }\n"
             "  - name: gold\n"
             "    rate: { requests: 100, per: 1s }\n"
             "%s",
             extra);
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

static int64_t count(const char *sql, const char *arg)
{
    int64_t n = -1;
    struct gh_err err = {{0}};
    struct gh_store_val p[] = {GH_VTEXT(arg ? arg : "")};
    if (gh_store_exec(db, sql, p, arg ? 1 : 0, on_int, &n, &err) != 0)
        fail_msg("%s: %s", sql, err.msg);
    return n;
}

static void text(const char *sql, const char *arg, char *out, size_t cap)
{
    struct gh_err err = {{0}};
    struct gh_store_val p[] = {GH_VTEXT(arg)};
    out[0] = '\0';
    if (gh_store_first_text(db, sql, p, 1, out, cap, &err) < 0)
        fail_msg("%s: %s", sql, err.msg);
}

#define EVENTS(type) count("SELECT COUNT(*) FROM events WHERE type = $1", type)
#define AUDITED(action) count("SELECT COUNT(*) FROM audit_events WHERE action = $1", action)

static void test_grant_expiry_and_reminders(void **state)
{
    (void)state;
    struct gh_config *cfg = config("");
    struct gh_err err = {{0}};
    char grant[GH_ACCESS_ID_MAX], st[32];
    uint64_t now = gh_time_wall_ms();
    assert_int_equal(gh_app_create(db, "cli:test", "shop", "group:default/team-a", NULL, &err), 0);
    assert_int_equal(
        gh_grant_create(db, "cli:test", cfg, "shop", "pay", "starter", now + 10 * DAY, grant, &err), 0);
    struct gh_sweep_result r;
    /* ten days left: the 14-day reminder, once */
    assert_int_equal(gh_access_sweep(db, cfg, now, &r, &err), 0);
    assert_int_equal(r.reminders, 1);
    assert_int_equal(r.grants_expired, 0);
    assert_int_equal(gh_access_sweep(db, cfg, now + 1000, &r, &err), 0);
    assert_int_equal(r.reminders, 0);
    /* two days left: the 3-day one; half a day: the 1-day one */
    assert_int_equal(gh_access_sweep(db, cfg, now + 8 * DAY, &r, &err), 0);
    assert_int_equal(r.reminders, 1);
    assert_int_equal(gh_access_sweep(db, cfg, now + 9 * DAY + DAY / 2, &r, &err), 0);
    assert_int_equal(r.reminders, 1);
    assert_int_equal(gh_access_sweep(db, cfg, now + 9 * DAY + DAY / 2 + 1, &r, &err), 0);
    assert_int_equal(r.reminders, 0);
    assert_int_equal(EVENTS("grant.expiring"), 3);
    text("SELECT state FROM grants WHERE id = $1", grant, st, sizeof(st));
    assert_string_equal(st, "active");
    /* the end: expired, once, with its audit and webhook events, and the gateway's generation moved */
    int64_t gen = gh_access_generation(db);
    assert_int_equal(gh_access_sweep(db, cfg, now + 10 * DAY, &r, &err), 0);
    assert_int_equal(r.grants_expired, 1);
    text("SELECT state FROM grants WHERE id = $1", grant, st, sizeof(st));
    assert_string_equal(st, "expired");
    assert_true(gh_access_generation(db) > gen);
    assert_int_equal(gh_access_sweep(db, cfg, now + 11 * DAY, &r, &err), 0);
    assert_int_equal(r.grants_expired, 0);
    assert_int_equal(EVENTS("grant.expired"), 1);
    assert_int_equal(AUDITED("grant.expire"), 1);
    char body[1024];
    text("SELECT body FROM events WHERE type = $1", "grant.expired", body, sizeof(body));
    assert_non_null(strstr(body, grant));
    assert_non_null(strstr(body, "\"application\":\"shop\""));
    /* an expired grant makes way for a new one; revoking the expired one is refused */
    assert_int_equal(gh_grant_revoke(db, "cli:test", grant, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "already expired"));
    char again[GH_ACCESS_ID_MAX];
    assert_int_equal(gh_grant_create(db, "cli:test", cfg, "shop", "pay", "starter", 0, again, &err), 0);
    /* a grant with no end is never reminded of nor expired */
    assert_int_equal(gh_access_sweep(db, cfg, now + 400 * DAY, &r, &err), 0);
    assert_int_equal(r.grants_expired + r.reminders, 0);
    gh_config_free(cfg);
}

static void test_short_grant_gets_only_the_last_reminder(void **state)
{
    (void)state;
    struct gh_config *cfg = config("access:\n  reminders: [7d, 2h]\n");
    struct gh_err err = {{0}};
    char grant[GH_ACCESS_ID_MAX];
    uint64_t now = gh_time_wall_ms();
    assert_int_equal(gh_app_create(db, "cli:test", "shop", "group:default/team-a", NULL, &err), 0);
    assert_int_equal(
        gh_grant_create(db, "cli:test", cfg, "shop", "pay", "starter", now + 3600 * 1000, grant, &err), 0);
    struct gh_sweep_result r;
    assert_int_equal(gh_access_sweep(db, cfg, now, &r, &err), 0);
    assert_int_equal(r.reminders, 1); /* the 2h one, not also the 7d one */
    assert_int_equal(gh_access_sweep(db, cfg, now + 1000, &r, &err), 0);
    assert_int_equal(r.reminders, 0);
    char body[1024];
    text("SELECT body FROM events WHERE type = $1", "grant.expiring", body, sizeof(body));
    assert_non_null(strstr(body, "\"daysLeft\":1"));
    gh_config_free(cfg);
}

static struct gh_actor person(const char *user, const char *group)
{
    struct gh_actor a = {0};
    a.role = GH_ROLE_DEVELOPER;
    snprintf(a.user, sizeof(a.user), "%s", user);
    snprintf(a.id, sizeof(a.id), "%s", user);
    if (group)
        gh_actor_add_group(&a, group);
    return a;
}

static void test_request_expiry_and_renewal(void **state)
{
    (void)state;
    struct gh_config *cfg = config("");
    struct gh_err err = {{0}};
    struct gh_actor ana = person("user:default/ana", "group:default/team-a");
    struct gh_config_rule owner = {.name = "default", .decide = GH_DECIDE_OWNER, .max_duration_ms = 90 * DAY};
    struct gh_config_rule auto_ok = {
        .name = "auto", .decide = GH_DECIDE_APPROVE, .max_duration_ms = 30 * DAY};
    uint64_t now = gh_time_wall_ms();
    struct gh_request_new n = {&ana, "pay", "starter", "shop", "user:default/ana", "for the shop", 0};
    struct gh_request_result res;
    assert_int_equal(gh_request_create(db, cfg, &n, &owner, now, &res, &err), 0);
    assert_string_equal(res.state, "pending");
    char pending[GH_ACCESS_ID_MAX];
    snprintf(pending, sizeof(pending), "%s", res.id);
    assert_int_equal(EVENTS("request.created"), 1);
    /* the application it named was made in the same change, with its own event */
    assert_int_equal(count("SELECT COUNT(*) FROM audit_events WHERE action = 'application.create' AND "
                           "actor = $1",
                           "user:default/ana"),
                     1);
    struct gh_request_new bad = {&ana, "pay", "starter", "no such name!", "user:default/ana", NULL, 0};
    assert_int_equal(gh_request_create(db, cfg, &bad, &owner, now, &res, &err), GH_EINVAL);
    assert_int_equal(count("SELECT COUNT(*) FROM applications", NULL), 1);
    assert_int_equal(gh_request_create(db, cfg, &n, &owner, now, &res, &err), GH_EEXIST);
    /* nobody decides: after access.pending_timeout (14 days by default) it expires */
    struct gh_sweep_result r;
    assert_int_equal(gh_access_sweep(db, cfg, now + 13 * DAY, &r, &err), 0);
    assert_int_equal(r.requests_expired, 0);
    assert_int_equal(gh_access_sweep(db, cfg, now + 14 * DAY + 1000, &r, &err), 0);
    assert_int_equal(r.requests_expired, 1);
    char st[32];
    text("SELECT state FROM access_requests WHERE id = $1", pending, st, sizeof(st));
    assert_string_equal(st, "expired");
    assert_int_equal(EVENTS("request.expired"), 1);
    assert_int_equal(AUDITED("access.expire"), 1);
    struct gh_request_info info;
    assert_int_equal(gh_request_get(db, pending, &info, &err), 0);
    assert_int_equal(gh_request_decide(db, &info, "user:default/owner", 1, NULL, now, NULL, &err), GH_EEXIST);

    /* approved: a grant for 30 days; a second approved request renews the same grant */
    assert_int_equal(gh_request_create(db, cfg, &n, &auto_ok, now, &res, &err), 0);
    assert_string_equal(res.state, "approved");
    char first[GH_ACCESS_ID_MAX];
    snprintf(first, sizeof(first), "%s", res.grant_id);
    uint64_t first_end = res.expires_ms;
    assert_int_equal(EVENTS("request.decided"), 1);
    struct gh_request_new again = {&ana, "pay", "gold", "shop", NULL, "renewal", 0};
    assert_int_equal(gh_request_create(db, cfg, &again, &auto_ok, now + 20 * DAY, &res, &err), 0);
    assert_string_equal(res.state, "approved");
    assert_string_equal(res.grant_id, first);
    assert_true(res.expires_ms > first_end);
    assert_int_equal(count("SELECT COUNT(*) FROM grants WHERE id = $1 AND plan = 'gold'", first), 1);
    assert_int_equal(AUDITED("grant.renew"), 1);
    assert_int_equal(res.key[0], '\0'); /* the application has its key already */
    gh_actor_clear(&ana);
    gh_config_free(cfg);
}

static void test_rotation(void **state)
{
    (void)state;
    struct gh_err err = {{0}};
    char k1[GH_KEY_LEN + 1], id1[GH_KEY_ID_LEN + 1];
    assert_int_equal(gh_app_create(db, "cli:test", "shop", "group:default/team-a", NULL, &err), 0);
    assert_int_equal(gh_key_issue(db, "cli:test", "shop", "primary", 0, k1, id1, &err), 0);
    /* no secondary yet: a new secondary, the primary untouched */
    struct gh_key_rotation a, b;
    assert_int_equal(gh_key_rotate(db, "user:default/ana", "shop", &a, &err), 0);
    assert_int_equal(strlen(a.key), GH_KEY_LEN);
    assert_string_equal(a.promoted_id, "");
    assert_string_equal(a.revoked_id, "");
    char st[32];
    text("SELECT state FROM credentials WHERE id = $1", id1, st, sizeof(st));
    assert_string_equal(st, "active");
    /* again: the secondary is promoted, the old primary revoked, a new secondary issued */
    assert_int_equal(gh_key_rotate(db, "user:default/ana", "shop", &b, &err), 0);
    assert_string_equal(b.promoted_id, a.id);
    assert_string_equal(b.revoked_id, id1);
    text("SELECT state FROM credentials WHERE id = $1", id1, st, sizeof(st));
    assert_string_equal(st, "revoked");
    text("SELECT slot FROM credentials WHERE id = $1", a.id, st, sizeof(st));
    assert_string_equal(st, "primary");
    text("SELECT slot FROM credentials WHERE id = $1", b.id, st, sizeof(st));
    assert_string_equal(st, "secondary");
    assert_int_equal(count("SELECT COUNT(*) FROM credentials WHERE state = 'active'", NULL), 2);
    assert_int_equal(EVENTS("key.rotated"), 2);
    assert_int_equal(AUDITED("key.rotate"), 2);
    /* never the key itself in an event or the audit trail */
    assert_int_equal(count("SELECT COUNT(*) FROM events WHERE instr(body, $1) > 0", b.key), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_events WHERE instr(details, $1) > 0", b.key), 0);
    assert_int_equal(gh_key_rotate(db, "user:default/ana", "nope", &b, &err), GH_ENOTFOUND);
}

static void test_old_events_pruned(void **state)
{
    (void)state;
    struct gh_config *cfg = config("");
    struct gh_err err = {{0}};
    char k[GH_KEY_LEN + 1], id[GH_KEY_ID_LEN + 1];
    struct gh_key_rotation r;
    assert_int_equal(gh_app_create(db, "cli:test", "shop", "group:default/team-a", NULL, &err), 0);
    assert_int_equal(gh_key_issue(db, "cli:test", "shop", "primary", 0, k, id, &err), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(gh_key_rotate(db, "cli:test", "shop", &r, &err), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM events", NULL), 3);
    /* the webhooks read them all; the first was delivered, the second is still being retried */
    assert_int_equal(gh_store_exec(db, "INSERT INTO gh_meta (key, value) VALUES ('webhook_cursor', '3'); ",
                                   NULL, 0, NULL, NULL, &err),
                     0);
    assert_int_equal(
        gh_store_exec(db,
                      "INSERT INTO webhook_deliveries (event_seq, webhook, state, attempts, next_ms) "
                      "VALUES (1, 'ops', 'delivered', 1, 0), (2, 'ops', 'pending', 3, 0)",
                      NULL, 0, NULL, NULL, &err),
        0);
    struct gh_sweep_result res;
    uint64_t now = gh_time_wall_ms();
    assert_int_equal(gh_access_sweep(db, cfg, now + DAY, &res, &err), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM events", NULL), 3); /* not a month old yet */
    assert_int_equal(gh_access_sweep(db, cfg, now + 31 * DAY, &res, &err), 0);
    /* the delivered one goes; the pending one and the newest stay */
    assert_int_equal(count("SELECT COUNT(*) FROM events WHERE seq = 1", NULL), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM webhook_deliveries WHERE event_seq = 1", NULL), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM events WHERE seq IN (2, 3)", NULL), 2);
    /* numbering goes on above the cursor */
    assert_int_equal(gh_key_rotate(db, "cli:test", "shop", &r, &err), 0);
    assert_int_equal(count("SELECT MAX(seq) FROM events", NULL), 4);
    gh_config_free(cfg);
}

static void test_events_need_a_transaction(void **state)
{
    (void)state;
    struct gh_err err = {{0}};
    assert_int_equal(gh_event_add(db, "grant.revoked", gh_json_object(), 0, &err), GH_EINTERNAL);
    assert_int_equal(EVENTS("grant.revoked"), 0);
}

static void test_signature(void **state)
{
    (void)state;
    char sig[128];
    gh_webhook_sign("whsec_test", 10, 1700000000, "{\"a\":1}", sig, sizeof(sig));
    /* HMAC-SHA256("whsec_test", "1700000000.{\"a\":1}"), computed independently */
    assert_string_equal(sig,
                        "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
    gh_webhook_sign("whsec_test", 10, 1700000001, "{\"a\":1}", sig, sizeof(sig));
    assert_null(strstr(sig, "38877139021993b8"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grant_expiry_and_reminders, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_short_grant_gets_only_the_last_reminder, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_request_expiry_and_renewal, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_rotation, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_old_events_pruned, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_events_need_a_transaction, store_setup, store_teardown),
        cmocka_unit_test(test_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
