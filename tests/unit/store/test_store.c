/* Store: opening, migrations (once, in order, newer refused), SQLite settings, parameters, transactions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

static char dir[64], path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gh-store-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/t.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct gh_store *open_db(void)
{
    struct gh_store_config cfg = {"sqlite", path};
    struct gh_store *s = NULL;
    struct gh_err err = {{0}};
    if (gh_store_open(&cfg, &s, &err) != 0)
        fail_msg("open: %s", err.msg);
    return s;
}

static int first_int(void *ctx, const struct gh_store_val *cols, size_t n)
{
    *(int64_t *)ctx = n && cols[0].type == GH_VAL_INT ? cols[0].i : -1;
    return 0;
}

static int64_t query_int(struct gh_store *s, const char *sql)
{
    int64_t v = -2;
    struct gh_err err = {{0}};
    if (gh_store_exec(s, sql, NULL, 0, first_int, &v, &err) != 0)
        fail_msg("%s: %s", sql, err.msg);
    return v;
}

static void test_open_fresh(void **state)
{
    (void)state;
    struct gh_store *s = open_db();
    assert_int_equal(s->schema_version, gh_store_schema_latest());
    assert_int_equal(query_int(s, "SELECT COUNT(*) FROM gh_schema_migrations"), gh_store_schema_latest());
    assert_int_equal(query_int(s, "PRAGMA foreign_keys"), 1);
    assert_int_equal(query_int(s, "PRAGMA synchronous"), 2); /* FULL */
    gh_store_close(s);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    s = open_db(); /* reopen: nothing applied twice */
    assert_int_equal(query_int(s, "SELECT COUNT(*) FROM gh_schema_migrations"), gh_store_schema_latest());
    assert_int_equal(access(wal, F_OK), 0); /* WAL mode keeps a -wal file while open */
    gh_store_close(s);
}

static void test_newer_refused(void **state)
{
    (void)state;
    struct gh_store *s = open_db();
    struct gh_err err = {{0}};
    struct gh_store_val p[] = {GH_VINT(gh_store_schema_latest() + 1), GH_VTEXT("future"), GH_VTEXT("x")};
    assert_int_equal(
        gh_store_exec(s, "INSERT INTO gh_schema_migrations VALUES ($1, $2, $3)", p, 3, NULL, NULL, &err), 0);
    gh_store_close(s);
    struct gh_store_config cfg = {"sqlite", path};
    s = NULL;
    assert_int_equal(gh_store_open(&cfg, &s, &err), GH_EINVAL);
    assert_null(s);
    assert_non_null(strstr(err.msg, "newer than this gatehouse knows"));
    assert_non_null(strstr(err.msg, path));
    unlink(path);
}

struct rows {
    char text[64];
    int n;
};

static int collect(void *ctx, const struct gh_store_val *cols, size_t n)
{
    struct rows *r = ctx;
    assert_int_equal(n, 2);
    r->n++;
    snprintf(r->text + strlen(r->text), sizeof(r->text) - strlen(r->text), "%.*s=%.*s;", (int)cols[0].len,
             cols[0].p, (int)cols[1].len, cols[1].p);
    return r->n == 2 ? 7 : 0; /* stop after two rows */
}

static void test_params_and_transactions(void **state)
{
    (void)state;
    unlink(path);
    struct gh_store *s = open_db();
    struct gh_err err = {{0}};
    const char *ins = "INSERT INTO gh_meta (key, value) VALUES ($1, $2)";
    struct gh_store_val a[] = {GH_VTEXT("a"), GH_VTEXT("it's \"quoted\"")};
    struct gh_store_val b[] = {GH_VTEXT("b"), GH_VTEXT("2")};
    struct gh_store_val c[] = {GH_VTEXT("c"), GH_VTEXT("3")};
    assert_int_equal(gh_store_exec(s, ins, a, 2, NULL, NULL, &err), 0);
    assert_int_equal(gh_store_exec(s, ins, b, 2, NULL, NULL, &err), 0);
    assert_int_equal(gh_store_exec(s, ins, c, 2, NULL, NULL, &err), 0);
    struct rows r = {"", 0};
    assert_int_equal(
        gh_store_exec(s, "SELECT key, value FROM gh_meta ORDER BY key", NULL, 0, collect, &r, &err), 7);
    assert_string_equal(r.text, "a=it's \"quoted\";b=2;");
    /* wrong number of parameters, and a duplicate key, are errors with a message */
    assert_int_equal(gh_store_exec(s, ins, a, 1, NULL, NULL, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "takes 2 parameters, given 1"));
    assert_int_equal(gh_store_exec(s, ins, a, 2, NULL, NULL, &err), GH_EIO);
    assert_non_null(strstr(err.msg, "UNIQUE"));
    /* a rolled-back transaction leaves nothing */
    assert_int_equal(gh_store_begin(s, &err), 0);
    struct gh_store_val d[] = {GH_VTEXT("d"), GH_VTEXT("4")};
    assert_int_equal(gh_store_exec(s, ins, d, 2, NULL, NULL, &err), 0);
    gh_store_rollback(s);
    assert_int_equal(query_int(s, "SELECT COUNT(*) FROM gh_meta"), 3);
    assert_int_equal(gh_store_begin(s, &err), 0);
    assert_int_equal(gh_store_exec(s, ins, d, 2, NULL, NULL, &err), 0);
    assert_int_equal(gh_store_commit(s, &err), 0);
    assert_int_equal(query_int(s, "SELECT COUNT(*) FROM gh_meta"), 4);
    gh_store_close(s);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct gh_err err = {{0}};
    struct gh_store *s = NULL;
    struct gh_store_config bad_driver = {"oracle", path};
    assert_int_equal(gh_store_open(&bad_driver, &s, &err), GH_EINVAL);
    assert_string_equal(err.msg, "store.driver: 'oracle' is not supported (sqlite)");
    struct gh_store_config nodir = {"sqlite", "/nonexistent-dir/x.db"};
    assert_int_equal(gh_store_open(&nodir, &s, &err), GH_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.db: cannot open the database"));
    char junk[160];
    snprintf(junk, sizeof(junk), "%s/junk.db", dir);
    FILE *f = fopen(junk, "w");
    fputs("this is not a database, it is a text file that is long enough to have a header\n", f);
    fclose(f);
    struct gh_store_config notdb = {"sqlite", junk};
    assert_int_not_equal(gh_store_open(&notdb, &s, &err), 0);
    assert_non_null(strstr(err.msg, "not a database"));
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_fresh),
        cmocka_unit_test(test_newer_refused),
        cmocka_unit_test(test_params_and_transactions),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
