/* The API key format: generation, checksum validation, the stored hash, the visible id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "access/keys.h"

static struct gh_str S(const char *s) {
    return (struct gh_str){s, strlen(s)};
}

static void
test_generate_and_parse(void **state)
{
    (void)state;
    char a[GH_KEY_LEN + 1], b[GH_KEY_LEN + 1];
    assert_int_equal(gh_key_generate(a), 0);
    assert_int_equal(gh_key_generate(b), 0);
    assert_int_equal(strlen(a), 53);
    assert_memory_equal(a, "ghk_", 4);
    assert_string_not_equal(a, b);
    struct gh_err err = {{0}};
    assert_int_equal(gh_key_parse(S(a), &err), 0);
    /* one digest: what the check yields is what is stored, and its first bits are the checksum */
    unsigned char h1[32], h2[32];
    assert_int_equal(gh_key_check(S(a), h1, &err), 0);
    gh_key_hash(S(a), h2);
    assert_memory_equal(h1, h2, 32);
    /* every single-character change is caught (by the alphabet or the checksum) */
    for (size_t i = 4; i < GH_KEY_LEN; i++) {
        char c[GH_KEY_LEN + 1];
        memcpy(c, a, sizeof(c));
        c[i] = c[i] == 'x' ? 'y' : 'x';
        if (gh_key_parse(S(c), &err) != GH_EINVAL)
            fail_msg("a change at %zu went unnoticed: %s", i, c);
    }
    char swapped[GH_KEY_LEN + 1];
    memcpy(swapped, a, sizeof(swapped));
    char t = swapped[10];
    swapped[10] = swapped[11];
    swapped[11] = t;
    if (swapped[10] != swapped[11])
        assert_int_equal(gh_key_parse(S(swapped), &err), GH_EINVAL);
    assert_int_equal(gh_key_parse(S("ghk_short"), &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "not a Gatehouse API key"));
    char bad[GH_KEY_LEN + 1];
    memcpy(bad, a, sizeof(bad));
    bad[20] = '-';
    assert_int_equal(gh_key_parse(S(bad), &err), GH_EINVAL);
    memcpy(bad, a, sizeof(bad));
    bad[0] = 'x';
    assert_int_equal(gh_key_parse(S(bad), &err), GH_EINVAL);
    memcpy(bad, a, sizeof(bad));
    bad[GH_KEY_LEN - 1] = bad[GH_KEY_LEN - 1] == '0' ? '1' : '0';
    assert_int_equal(gh_key_parse(S(bad), &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "checksum mismatch"));
}

static void test_hash_and_id(void **state)
{
    (void)state;
    const char *k = "ghk_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG123456";
    unsigned char h1[32], h2[32];
    gh_key_hash(S(k), h1);
    gh_key_hash(S(k), h2);
    assert_memory_equal(h1, h2, 32);
    char id[GH_KEY_ID_LEN + 1];
    gh_key_id(S(k), id);
    assert_string_equal(id, "ghk_01234567");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_and_parse),
        cmocka_unit_test(test_hash_and_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
