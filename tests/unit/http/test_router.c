/* Router: longest prefix, segment boundaries, host matching with ports and case, 404 versus 405. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/router.h"

static const char *any[] = {"*"};
static const char *admin[] = {"admin.example", "[::1]"};
static int A, B, C, D, ROOT;

static struct gh_router r;

static int setup(void **state)
{
    (void)state;
    struct gh_route routes[] = {
        {.prefix = "/", .prefix_len = 1, .hosts = any, .nhosts = 1, .data = &ROOT},
        {.prefix = "/orders",
         .prefix_len = 7,
         .hosts = any,
         .nhosts = 1,
         .methods = (1u << GH_METHOD_GET) | (1u << GH_METHOD_POST),
         .data = &A},
        {.prefix = "/orders/admin", .prefix_len = 13, .hosts = admin, .nhosts = 2, .data = &B},
        {.prefix = "/orders", .prefix_len = 7, .hosts = admin, .nhosts = 2, .data = &C},
        {.prefix = "/pay",
         .prefix_len = 4,
         .hosts = any,
         .nhosts = 1,
         .methods = 1u << GH_METHOD_GET,
         .data = &D},
    };
    gh_router_init(&r, routes, 5);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gh_router_dispose(&r);
    return 0;
}

static void *match(const char *host, int method, const char *path, int *status)
{
    uint32_t allow;
    const struct gh_route *rt = gh_router_match(&r, (struct gh_str){host, strlen(host)}, method,
                                                (struct gh_str){path, strlen(path)}, status, &allow);
    return rt ? rt->data : NULL;
}

static void test_prefix_and_boundaries(void **state)
{
    (void)state;
    int st;
    assert_ptr_equal(match("x", GH_METHOD_GET, "/orders", &st), &A);
    assert_ptr_equal(match("x", GH_METHOD_GET, "/orders/1", &st), &A);
    assert_ptr_equal(match("x", GH_METHOD_GET, "/ordersx", &st), &ROOT); /* not a segment of /orders */
    assert_ptr_equal(match("x", GH_METHOD_GET, "/", &st), &ROOT);
    assert_ptr_equal(match("x", GH_METHOD_GET, "/orders/admin/1", &st), &A); /* admin route is host-bound */
}

static void test_hosts(void **state)
{
    (void)state;
    int st;
    assert_ptr_equal(match("admin.example", GH_METHOD_GET, "/orders/admin/1", &st), &B);
    assert_ptr_equal(match("ADMIN.Example:8443", GH_METHOD_GET, "/orders/admin", &st), &B);
    assert_ptr_equal(match("[::1]:80", GH_METHOD_GET, "/orders/admin", &st), &B);
    /* same prefix: the host-specific route wins over "*" */
    assert_ptr_equal(match("admin.example", GH_METHOD_DELETE, "/orders/9", &st), &C);
    assert_ptr_equal(match("admin.example.evil", GH_METHOD_GET, "/orders/admin", &st), &A);
}

static void test_methods(void **state)
{
    (void)state;
    int st = 0;
    /* /pay allows GET only; DELETE falls through to "/" which allows everything */
    assert_ptr_equal(match("x", GH_METHOD_DELETE, "/pay", &st), &ROOT);
    assert_ptr_equal(match("x", GH_METHOD_GET, "/pay/1", &st), &D);
}

static void test_404_405(void **state)
{
    (void)state;
    struct gh_router r2;
    struct gh_route routes[] = {
        {.prefix = "/a",
         .prefix_len = 2,
         .hosts = any,
         .nhosts = 1,
         .methods = 1u << GH_METHOD_GET,
         .data = &A},
        {.prefix = "/b", .prefix_len = 2, .hosts = admin, .nhosts = 2, .data = &B},
    };
    gh_router_init(&r2, routes, 2);
    int st = 0;
    uint32_t allow = 0;
    assert_null(gh_router_match(&r2, GH_STR_LIT("x"), GH_METHOD_POST, GH_STR_LIT("/a/1"), &st, &allow));
    assert_int_equal(st, 405);
    assert_int_equal(allow, 1u << GH_METHOD_GET);
    assert_null(gh_router_match(&r2, GH_STR_LIT("x"), GH_METHOD_GET, GH_STR_LIT("/c"), &st, &allow));
    assert_int_equal(st, 404);
    assert_null(gh_router_match(&r2, GH_STR_LIT("x"), GH_METHOD_GET, GH_STR_LIT("/b"), &st, &allow));
    assert_int_equal(st, 404); /* wrong host is "no such API", not "wrong method" */
    gh_router_dispose(&r2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_and_boundaries),
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_404_405),
    };
    return cmocka_run_group_tests_name("http_router", tests, setup, teardown);
}
