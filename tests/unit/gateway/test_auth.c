/* The subscription-key query parameter (Azure APIM's name): taken out of the query, decoded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gateway/auth.h"

static void take(const char *query, const char *want_query, const char *want_key)
{
    char buf[256], key[64];
    snprintf(buf, sizeof(buf), "%s", query);
    struct gh_str q = {buf, strlen(buf)};
    size_t n = gh_auth_take_query_key(&q, key, sizeof(key));
    if (q.len != strlen(want_query) || memcmp(q.p, want_query, q.len) != 0)
        fail_msg("'%s' left '%.*s', expected '%s'", query, (int)q.len, q.p, want_query);
    assert_int_equal(n, strlen(want_key));
    assert_string_equal(key, want_key);
}

static void test_query_key(void **state)
{
    (void)state;
    take("subscription-key=abc", "", "abc");
    take("a=1&subscription-key=abc&b=2", "a=1&b=2", "abc");
    take("a=1&subscription-key=abc", "a=1", "abc");
    take("subscription-key=abc&b=2", "b=2", "abc");
    take("subscription-key=a%5Fb", "", "a_b");
    /* every copy goes; the first counts */
    take("subscription-key=one&x=1&subscription-key=two", "x=1", "one");
    /* look-alikes stay */
    take("subscription-keys=abc&xsubscription-key=1", "subscription-keys=abc&xsubscription-key=1", "");
    take("subscription-key", "subscription-key", "");
    take("a=1&&b=2", "a=1&&b=2", "");
    /* longer than any key: taken out, but no key */
    char big[200];
    snprintf(big, sizeof(big), "subscription-key=%0100d&c=3", 0);
    take(big, "c=3", "");
    take("subscription-key=&c=3", "c=3", "");
    take("subscription-key=ab%4&c=3", "c=3", "ab%4"); /* a cut escape stays as it is */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_query_key)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
