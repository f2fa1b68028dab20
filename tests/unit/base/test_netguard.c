/* Where outbound requests may go: the SSRF deny list, on addresses and on URLs as written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "base/fetch.h"
#include "base/netguard.h"

static const char *addr_denied(const char *a, const struct gh_cidr *allow, size_t n)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, a, &v4.sin_addr) == 1)
        return gh_net_denied((struct sockaddr *)&v4, allow, n);
    if (inet_pton(AF_INET6, a, &v6.sin6_addr) == 1)
        return gh_net_denied((struct sockaddr *)&v6, allow, n);
    fail_msg("not an address: %s", a);
    return NULL;
}

static void test_addresses(void **state)
{
    (void)state;
    static const char *const denied[] = {"127.0.0.1",
                                         "127.255.0.9",
                                         "0.0.0.0",
                                         "169.254.169.254",
                                         "169.254.1.1",
                                         "100.100.100.200",
                                         "224.0.0.1",
                                         "255.255.255.255",
                                         "::1",
                                         "::",
                                         "fe80::1",
                                         "fd00:ec2::254",
                                         "::ffff:127.0.0.1",
                                         "::ffff:169.254.169.254",
                                         "ff02::1"};
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
        if (addr_denied(denied[i], NULL, 0) == NULL)
            fail_msg("%s was allowed", denied[i]);
    static const char *const allowed[] = {"10.0.0.1",   "192.168.1.1", "8.8.8.8",
                                          "100.64.0.1", "2001:db8::1", "fd00::1"};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (addr_denied(allowed[i], NULL, 0) != NULL)
            fail_msg("%s was denied", allowed[i]);
    assert_string_equal(addr_denied("169.254.169.254", NULL, 0), "a cloud metadata address");
    /* an allowed block lets exactly its addresses through */
    struct gh_cidr allow[2];
    assert_int_equal(gh_cidr_parse("127.0.0.1/32", &allow[0]), 0);
    assert_int_equal(gh_cidr_parse("fe80::/10", &allow[1]), 0);
    assert_null(addr_denied("127.0.0.1", allow, 2));
    assert_null(addr_denied("::ffff:127.0.0.1", allow, 2));
    assert_non_null(addr_denied("127.0.0.2", allow, 2));
    assert_null(addr_denied("fe80::99", allow, 2));
    assert_non_null(addr_denied("::1", allow, 2));
}

static void test_cidr(void **state)
{
    (void)state;
    struct gh_cidr c;
    assert_int_equal(gh_cidr_parse("10.0.0.0/8", &c), 0);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(gh_cidr_parse("::1", &c), 0);
    assert_int_equal(c.prefix, 128);
    assert_int_equal(gh_cidr_parse("10.0.0.0/33", &c), -1);
    assert_int_equal(gh_cidr_parse("10.0.0.0/", &c), -1);
    assert_int_equal(gh_cidr_parse("10.0.0.0/8x", &c), -1);
    assert_int_equal(gh_cidr_parse("example.com/8", &c), -1);
    assert_int_equal(gh_cidr_parse("", &c), -1);
}

static void test_urls(void **state)
{
    (void)state;
    static const char *const denied[] = {"http://127.0.0.1:8080/hook",
                                         "http://127.1/",
                                         "http://2130706433/",
                                         "http://0x7f000001/",
                                         "https://[::1]:443/",
                                         "http://[::ffff:127.0.0.1]/",
                                         "http://169.254.169.254/latest/meta-data/",
                                         "http://localhost:9/",
                                         "http://LOCALHOST./",
                                         "http://api.localhost/",
                                         "http://0/",
                                         "ftp://example.com/",
                                         "file:///etc/passwd",
                                         "not a url"};
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
        if (gh_url_denied(denied[i], NULL, 0) == NULL)
            fail_msg("%s was allowed", denied[i]);
    assert_null(gh_url_denied("https://hooks.example.com/gatehouse", NULL, 0));
    assert_null(gh_url_denied("http://10.1.2.3:8080/x", NULL, 0));
    struct gh_cidr lo;
    assert_int_equal(gh_cidr_parse("127.0.0.0/8", &lo), 0);
    assert_null(gh_url_denied("http://127.0.0.1:8080/hook", &lo, 1));
    assert_null(gh_url_denied("http://localhost:8080/hook", &lo, 1));
    assert_non_null(gh_url_denied("http://[::1]:8080/hook", &lo, 1));
}

/* At connect time, after DNS: a name that resolves to this machine is refused unless allowed. */
static void test_connect_guard(void **state)
{
    (void)state;
    struct gh_fetch_req r = {.url = "http://localhost:1/", .timeout_ms = 2000, .max_bytes = 100, .guard = 1};
    struct gh_fetch_result out;
    struct gh_err err = {{0}};
    assert_int_equal(gh_fetch_req(&r, &out, &err), GH_EIO);
    assert_non_null(strstr(err.msg, "refused to connect to a loopback address"));
    struct gh_cidr allow[2];
    assert_int_equal(gh_cidr_parse("127.0.0.0/8", &allow[0]), 0);
    assert_int_equal(gh_cidr_parse("::1", &allow[1]), 0);
    r.allow = allow;
    r.nallow = 2;
    err = (struct gh_err){{0}};
    assert_int_equal(gh_fetch_req(&r, &out, &err), GH_EIO); /* nothing listens on port 1 */
    assert_null(strstr(err.msg, "refused to connect to"));
    /* without the guard, the same URL is not judged */
    r = (struct gh_fetch_req){.url = "http://localhost:1/", .timeout_ms = 2000, .max_bytes = 100};
    err = (struct gh_err){{0}};
    assert_int_equal(gh_fetch_req(&r, &out, &err), GH_EIO);
    assert_null(strstr(err.msg, "refused to connect to"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_connect_guard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
