/* The audit chain: canonical form, recording only inside a transaction, and verification that finds
 * each kind of tampering (change, removal, insertion, reordering, truncation of the tail). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/json.h"

#include "../store_fixture.h"

static const unsigned char KEY[32] = "0123456789abcdef0123456789abcdef";

#define setup store_setup
#define teardown store_teardown

static void record(int n)
{
    struct gh_err err = {{0}};
    assert_int_equal(gh_store_begin(db, &err), 0);
    for (int i = 0; i < n; i++) {
        char target[32];
        snprintf(target, sizeof(target), "grant:%d", i);
        struct gh_json *d = gh_json_object();
        gh_json_set(d, "plan", gh_json_string("gold", 4));
        gh_json_set(d, "n", gh_json_int(i));
        struct gh_audit_event e = {"user:jane", "grant.approve", target, "success", d, "req-1"};
        if (gh_audit_record(db, &e, NULL, &err) != 0)
            fail_msg("%s", err.msg);
        gh_json_unref(d);
    }
    assert_int_equal(gh_store_commit(db, &err), 0);
}

static struct gh_audit_report verify(void)
{
    struct gh_audit_report r;
    struct gh_err err = {{0}};
    if (gh_audit_verify(db, KEY, sizeof(KEY), &r, &err) != 0)
        fail_msg("%s", err.msg);
    return r;
}

static int exec(const char *sql)
{
    struct gh_err err = {{0}};
    int rc = gh_store_exec(db, sql, NULL, 0, NULL, NULL, &err);
    if (rc)
        fail_msg("%s: %s", sql, err.msg);
    return rc;
}

static void test_canonical(void **state)
{
    (void)state;
    struct gh_json *d = gh_json_object();
    gh_json_set(d, "z", gh_json_int(1));
    gh_json_set(d, "a", gh_json_string("x", 1));
    struct gh_audit_event e = {"cli:root", "secret.set", "secret:db", "success", d, NULL};
    char *c = gh_audit_canonical(7, "2026-01-01T00:00:00.000Z", &e, "ab");
    assert_string_equal(c,
                        "{\"action\":\"secret.set\",\"actor\":\"cli:root\",\"details\":{\"a\":\"x\",\"z\":1},"
                        "\"outcome\":\"success\",\"prev_hash\":\"ab\",\"request_id\":\"\",\"seq\":7,"
                        "\"target\":\"secret:db\",\"time\":\"2026-01-01T00:00:00.000Z\"}");
    free(c);
    gh_json_unref(d);
}

static void test_only_in_a_transaction(void **state)
{
    (void)state;
    struct gh_audit_event e = {"a", "b.c", "t", "success", NULL, NULL};
    struct gh_err err = {{0}};
    assert_int_equal(gh_audit_record(db, &e, NULL, &err), GH_EINTERNAL);
    assert_non_null(strstr(err.msg, "in the transaction of its change"));
    /* a rolled-back change takes its event with it */
    assert_int_equal(gh_store_begin(db, &err), 0);
    assert_int_equal(gh_audit_record(db, &e, NULL, &err), 0);
    gh_store_rollback(db);
    assert_int_equal(verify().count, 0);
}

static void test_intact(void **state)
{
    (void)state;
    record(5);
    record(3);
    struct gh_err err = {{0}};
    assert_int_equal(gh_audit_checkpoint(db, KEY, sizeof(KEY), &err), 0);
    struct gh_audit_report r = verify();
    assert_int_equal(r.count, 8);
    assert_int_equal(r.bad_seq, 0);
    assert_int_equal(r.checkpoints, 1);
    assert_int_equal(strlen(r.head), 64);
}

static void expect_bad(int64_t seq, const char *why)
{
    struct gh_audit_report r = verify();
    if (r.bad_seq != seq || strstr(r.why, why) == NULL)
        fail_msg("wanted event %lld (%s), got %lld: %s", (long long)seq, why, (long long)r.bad_seq, r.why);
}

static void test_changed(void **state)
{
    (void)state;
    record(5);
    exec("UPDATE audit_events SET actor = 'user:mallory' WHERE seq = 3");
    expect_bad(3, "event 3 was changed");
}

static void test_changed_details(void **state)
{
    (void)state;
    record(5);
    exec("UPDATE audit_events SET details = '{\"n\":2,\"plan\":\"platinum\"}' WHERE seq = 3");
    expect_bad(3, "event 3 was changed");
}

static void test_removed(void **state)
{
    (void)state;
    record(5);
    exec("DELETE FROM audit_events WHERE seq = 2");
    expect_bad(2, "event 2 is missing");
}

static void test_removed_and_renumbered(void **state)
{
    (void)state;
    record(5);
    exec("DELETE FROM audit_events WHERE seq = 2");
    exec("UPDATE audit_events SET seq = seq - 1 WHERE seq > 2");
    expect_bad(2, "does not follow the event before it");
}

static void test_inserted(void **state)
{
    (void)state;
    record(5);
    /* a forged event with a correct-looking hash of its own, squeezed in as 3 */
    exec("UPDATE audit_events SET seq = seq + 100 WHERE seq >= 3");
    exec("UPDATE audit_events SET seq = seq - 99 WHERE seq >= 103");
    exec("INSERT INTO audit_events (seq, time, actor, action, target, outcome, details, request_id, "
         "prev_hash, hash) "
         "SELECT 3, time, 'user:mallory', action, target, outcome, details, request_id, hash, hash FROM "
         "audit_events "
         "WHERE seq = 2");
    expect_bad(3, "event 3 was changed");
}

static void test_reordered(void **state)
{
    (void)state;
    record(5);
    exec("UPDATE audit_events SET seq = 100 WHERE seq = 2");
    exec("UPDATE audit_events SET seq = 2 WHERE seq = 3");
    exec("UPDATE audit_events SET seq = 3 WHERE seq = 100");
    expect_bad(2, "does not follow the event before it");
}

static void test_truncated(void **state)
{
    (void)state;
    record(5);
    struct gh_err err = {{0}};
    assert_int_equal(gh_audit_checkpoint(db, KEY, sizeof(KEY), &err), 0);
    exec("DELETE FROM audit_events WHERE seq >= 4");
    expect_bad(4, "events were cut off the end");
}

static void test_forged_checkpoint(void **state)
{
    (void)state;
    record(3);
    struct gh_err err = {{0}};
    assert_int_equal(gh_audit_checkpoint(db, KEY, sizeof(KEY), &err), 0);
    exec("UPDATE audit_checkpoints SET time = '2030-01-01T00:00:00.000Z'");
    expect_bad(3, "not signed by the checkpoint key");
}

/* An export checked on its own: intact as written; each kind of edit to the file is found. */
static struct gh_audit_report verify_text(const char *text)
{
    struct gh_audit_report r;
    struct gh_err err = {{0}};
    assert_int_equal(gh_audit_verify_export(text, strlen(text), &r, &err), 0);
    return r;
}

static void test_export(void **state)
{
    (void)state;
    record(4);
    struct gh_err err = {{0}};
    assert_int_equal(gh_audit_checkpoint(db, KEY, sizeof(KEY), &err), 0);
    struct gh_buf out = {0};
    assert_int_equal(gh_audit_export_jsonl(db, NULL, NULL, &out, &err), 0);
    gh_buf_add(&out, "", 1);
    struct gh_audit_report r = verify_text(out.p);
    assert_int_equal(r.bad_seq, 0);
    assert_int_equal(r.count, 4);
    assert_int_equal(r.checkpoints, 1);
    assert_int_equal(r.checkpoint_seq, 4);
    assert_int_equal(r.last_seq, 4);
    assert_non_null(strstr(out.p, "{\"checkpoint\":{"));
    /* a changed field */
    char *t = strdup(out.p), *at = strstr(t, "user:jane");
    memcpy(at, "user:jone", 9);
    r = verify_text(t);
    assert_int_equal(r.bad_seq, 1);
    assert_non_null(strstr(r.why, "was changed"));
    free(t);
    /* a line taken out */
    t = strdup(out.p);
    char *l2 = strchr(t, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    memmove(l2, l3, strlen(l3) + 1);
    r = verify_text(t);
    assert_int_equal(r.bad_seq, 3);
    assert_non_null(strstr(r.why, "does not follow"));
    free(t);
    /* the tail cut before the checkpoint: the checkpoint no longer matches the last event */
    t = strdup(out.p);
    char *last = strstr(t, "{\"seq\":4");
    assert_non_null(last);
    char *cp = strstr(t, "{\"checkpoint\"");
    memmove(last, cp, strlen(cp) + 1);
    r = verify_text(t);
    assert_int_equal(r.bad_seq, 0); /* an export up to an `until` looks the same... */
    assert_int_equal(r.last_seq, 3);
    assert_int_equal(r.checkpoint_seq, 4); /* ...but the checkpoint says what came after */
    free(t);
    assert_int_equal(verify_text("not json\n").bad_seq, -1);
    assert_int_equal(verify_text("").count, 0);
    gh_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical),
        cmocka_unit_test_setup_teardown(test_only_in_a_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_details, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_and_renumbered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inserted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reordered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_checkpoint, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
