/* The secret store: AEAD round trips, tamper detection (bytes, names, keys), versions and rollback,
 * master-key rotation, and the master key file's rules. */
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

#include "secrets/secrets.h"

#include "../store_fixture.h"

static int setup(void **state)
{
    unsetenv(GH_MASTER_KEY_ENV);
    return store_setup(state);
}

#define teardown store_teardown

static void key_of(struct gh_master_key *k, const char *name)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct gh_err err = {{0}};
    if (gh_master_key_create(path, &err) != 0 || gh_master_key_load(path, k, &err) != 0)
        fail_msg("%s", err.msg);
}

static void expect(const char *name, const struct gh_master_key *k, const char *want)
{
    unsigned char *v = NULL;
    size_t len = 0;
    struct gh_err err = {{0}};
    if (gh_secret_get(db, k, name, &v, &len, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(v, want, len);
    gh_secret_wipe(v, len);
}

static int exec(const char *sql)
{
    return gh_store_exec(db, sql, NULL, 0, NULL, NULL, NULL);
}

static void test_round_trip_and_tamper(void **state)
{
    (void)state;
    struct gh_master_key k, other;
    key_of(&k, "master.key");
    key_of(&other, "other.key");
    struct gh_err err = {{0}};
    assert_int_equal(gh_secrets_bind(db, &k, &err), 0);
    assert_int_equal(gh_secrets_bind(db, &other, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "not the one the store's secrets were written with"));
    int64_t v = 0;
    assert_int_equal(gh_secret_set(db, &k, "idp.client-secret", "s3cr3t", 6, &v, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(gh_secret_set(db, &k, "upstream_token", "", 0, &v, &err), 0);
    expect("idp.client-secret", &k, "s3cr3t");
    expect("upstream_token", &k, "");
    /* nothing readable in the store */
    static const char *files[] = {"", "-wal"};
    for (size_t i = 0; i < 2; i++) {
        char path[160];
        snprintf(path, sizeof(path), "%s%s", dbpath, files[i]);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        static char buf[1 << 22];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        assert_true(n > 0);
        assert_null(memmem(buf, n, "s3cr3t", 6));
    }
    /* the wrong master key, a flipped byte, a value moved to another name: all refused */
    unsigned char *val = NULL;
    size_t len = 0;
    assert_int_equal(gh_secret_get(db, &other, "idp.client-secret", &val, &len, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "does not authenticate"));
    assert_int_equal(exec("UPDATE secrets SET ciphertext = CAST(substr(ciphertext, 1, 20) || X'00' || "
                          "substr(ciphertext, 22) AS BLOB) WHERE name = 'idp.client-secret'"),
                     0);
    assert_int_equal(gh_secret_get(db, &k, "idp.client-secret", &val, &len, &err), GH_EINVAL);
    assert_int_equal(gh_secret_set(db, &k, "a", "alpha", 5, NULL, &err), 0);
    assert_int_equal(gh_secret_set(db, &k, "b", "bravo", 5, NULL, &err), 0);
    assert_int_equal(
        exec("UPDATE secrets SET ciphertext = (SELECT ciphertext FROM secrets WHERE name = 'a'), "
             "wrapped_key = (SELECT wrapped_key FROM secrets WHERE name = 'a') WHERE name = 'b'"),
        0);
    assert_int_equal(gh_secret_get(db, &k, "b", &val, &len, &err), GH_EINVAL);
    expect("a", &k, "alpha");
    assert_int_equal(gh_secret_get(db, &k, "nope", &val, &len, &err), GH_ENOTFOUND);
    assert_int_equal(gh_secret_set(db, &k, "bad name", "x", 1, NULL, &err), GH_EINVAL);
}

static void test_versions_and_rotation(void **state)
{
    (void)state;
    struct gh_master_key k, k2;
    key_of(&k, "master.key");
    key_of(&k2, "next.key");
    struct gh_err err = {{0}};
    assert_int_equal(gh_secrets_bind(db, &k, &err), 0);
    int64_t v = 0;
    assert_int_equal(gh_secret_set(db, &k, "token", "one", 3, &v, &err), 0);
    assert_int_equal(gh_secret_set(db, &k, "token", "two", 3, &v, &err), 0);
    assert_int_equal(v, 2);
    expect("token", &k, "two");
    assert_int_equal(gh_secret_rollback(db, "token", &v, &err), 0);
    assert_int_equal(v, 1);
    expect("token", &k, "one");
    assert_int_equal(gh_secret_rollback(db, "token", &v, &err), GH_EINVAL);
    assert_int_equal(gh_secret_set(db, &k, "other", "x", 1, NULL, &err), 0);
    size_t count = 0;
    assert_int_equal(gh_store_begin(db, &err), 0);
    assert_int_equal(gh_secrets_rotate_master(db, &k, &k2, &count, &err), 0);
    assert_int_equal(gh_store_commit(db, &err), 0);
    assert_int_equal(count, 3); /* every version, not just the current ones */
    expect("token", &k2, "one");
    expect("other", &k2, "x");
    unsigned char *val = NULL;
    size_t len = 0;
    assert_int_equal(gh_secret_get(db, &k, "token", &val, &len, &err), GH_EINVAL);
    assert_int_equal(gh_secrets_bind(db, &k, &err), GH_EINVAL);
    assert_int_equal(gh_secrets_bind(db, &k2, &err), 0);
    assert_int_equal(gh_secret_rm(db, "token", &err), 0);
    assert_false(gh_secret_exists(db, "token"));
    assert_int_equal(gh_secret_rm(db, "token", &err), GH_ENOTFOUND);
}

static void test_master_key_file(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof(path), "%s/m.key", dir);
    struct gh_err err = {{0}};
    struct gh_master_key k;
    assert_int_equal(gh_master_key_load(path, &k, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "gatehouse secrets init"));
    assert_int_equal(gh_master_key_create(path, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(gh_master_key_create(path, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "never overwritten"));
    chmod(path, 0640);
    assert_int_equal(gh_master_key_load(path, &k, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "mode 0640"));
    chmod(path, 0600);
    assert_int_equal(gh_master_key_load(path, &k, &err), 0);
    FILE *f = fopen(path, "w");
    fputs("short\n", f);
    fclose(f);
    assert_int_equal(gh_master_key_load(path, &k, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "not a master key"));
    /* the environment wins over the file */
    setenv(GH_MASTER_KEY_ENV, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1);
    assert_int_equal(gh_master_key_load(path, &k, &err), 0);
    assert_int_equal(k.k[31], 31);
    setenv(GH_MASTER_KEY_ENV, "not-base64", 1);
    assert_int_equal(gh_master_key_load(path, &k, &err), GH_EINVAL);
    unsetenv(GH_MASTER_KEY_ENV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_and_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions_and_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_master_key_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
