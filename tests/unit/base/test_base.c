/* base: strict number, duration and size parsing; slices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"

static void test_u64(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(gh_parse_u64("0", 1, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(gh_parse_u64("18446744073709551615", 20, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(gh_parse_u64("18446744073709551616", 20, UINT64_MAX, &v), GH_EINVAL);
    assert_int_equal(gh_parse_u64("11", 2, 10, &v), GH_EINVAL);
    assert_int_equal(gh_parse_u64("", 0, 10, &v), GH_EINVAL);
    assert_int_equal(gh_parse_u64("1a", 2, 100, &v), GH_EINVAL);
    assert_int_equal(gh_parse_u64(" 1", 2, 100, &v), GH_EINVAL);
    assert_int_equal(gh_parse_u64("-1", 2, 100, &v), GH_EINVAL);
}

static void test_duration_size(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(gh_parse_duration_ms("10s", &v), 0);
    assert_int_equal(v, 10000);
    assert_int_equal(gh_parse_duration_ms("250ms", &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(gh_parse_duration_ms("2m", &v), 0);
    assert_int_equal(v, 120000);
    assert_int_equal(gh_parse_duration_ms("1h", &v), 0);
    assert_int_equal(v, 3600000);
    assert_int_equal(gh_parse_duration_ms("30d", &v), 0);
    assert_int_equal(v, 30ull * 86400000);
    assert_int_equal(gh_parse_duration_ms("7", &v), 0);
    assert_int_equal(v, 7000);
    assert_int_equal(gh_parse_duration_ms("s", &v), GH_EINVAL);
    assert_int_equal(gh_parse_duration_ms("1.5s", &v), GH_EINVAL);
    assert_int_equal(gh_parse_duration_ms("5 s", &v), GH_EINVAL);
    assert_int_equal(gh_parse_duration_ms("99999999999999999999h", &v), GH_EINVAL);
    assert_int_equal(gh_parse_size("16k", &v), 0);
    assert_int_equal(v, 16384);
    assert_int_equal(gh_parse_size("10M", &v), 0);
    assert_int_equal(v, 10u << 20);
    assert_int_equal(gh_parse_size("2g", &v), 0);
    assert_true(v == 2ull << 30);
    assert_int_equal(gh_parse_size("1t", &v), GH_EINVAL);
    assert_int_equal(gh_parse_size("-1", &v), GH_EINVAL);
}

static void test_str(void **state)
{
    (void)state;
    assert_true(gh_str_ieq(GH_STR_LIT("Content-LENGTH"), "content-length"));
    assert_false(gh_str_ieq(GH_STR_LIT("content-lengt"), "content-length"));
    assert_false(gh_str_ieq(GH_STR_LIT("content-lengthx"), "content-length"));
    assert_true(gh_str_eq(GH_STR_LIT("/healthz"), "/healthz"));
    assert_false(gh_str_eq(GH_STR_LIT("/Healthz"), "/healthz"));
    char buf[32];
    assert_int_equal(gh_time_rfc3339(86400000 + 1234, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "1970-01-02T00:00:01.234Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64),
        cmocka_unit_test(test_duration_size),
        cmocka_unit_test(test_str),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
