/* Mock APIs: each operation answers with its lowest 2xx response's example; paths match templates,
 * with or without the API's prefix; other methods are 405, other paths 404. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/json.h"
#include "gateway/mock.h"
#include "http/http.h"

static struct gh_mock *build(const char *json)
{
    struct gh_err err = {{0}};
    struct gh_json *doc = gh_json_parse(json, strlen(json), &err);
    assert_non_null(doc);
    struct gh_mock *m = NULL;
    if (gh_mock_build(doc, &m, &err) != 0)
        fail_msg("%s", err.msg);
    gh_json_unref(doc);
    return m;
}

static const struct gh_mock_op *match(struct gh_mock *m, int method, const char *path, int *st)
{
    unsigned allow = 0;
    return gh_mock_match(m, method, (struct gh_str){path, strlen(path)}, (struct gh_str){"/pay", 4}, st,
                         &allow);
}

static void test_answers(void **state)
{
    (void)state;
    struct gh_mock *m = build(
        "{\"openapi\":\"3.0.3\",\"paths\":{"
        "\"/payments\":{\"post\":{\"responses\":{\"402\":{},\"201\":{\"headers\":{\"Location\":{\"example\":"
        "\"/payments/p1\"},\"X-Bad\":{\"example\":\"a\\r\\nSet-Cookie: "
        "x=1\"}},\"content\":{\"application/json\":"
        "{\"example\":{\"id\":\"p1\"}}}},\"200\":{\"description\":\"never: 201 is lower? no, 200 is\"}}},"
        "\"parameters\":[]},"
        "\"/payments/{id}\":{\"get\":{\"responses\":{\"200\":{\"content\":{\"text/"
        "plain\":{\"examples\":{\"a\":"
        "{\"value\":\"paid\"}}}}}}},\"delete\":{\"responses\":{\"204\":{\"description\":\"gone\"}}}},"
        "\"/payments/{id}/refunds\":{\"post\":{\"responses\":{\"default\":{\"content\":{\"application/json\":"
        "{\"schema\":{\"example\":[1,2]}}}}}}}}}");
    assert_int_equal(m->n, 4);
    int st = 0;
    const struct gh_mock_op *o = match(m, GH_METHOD_POST, "/pay/payments", &st);
    assert_non_null(o);
    assert_int_equal(o->status, 200); /* the lowest 2xx, even without an example */
    assert_null(o->ctype);
    o = match(m, GH_METHOD_GET, "/pay/payments/p9?expand=1", &st);
    assert_non_null(o);
    assert_int_equal(o->status, 200);
    assert_string_equal(o->ctype, "text/plain");
    assert_string_equal(o->body, "paid");              /* a string example for a non-JSON type: as is */
    o = match(m, GH_METHOD_HEAD, "/payments/p9", &st); /* without the prefix too; HEAD as GET */
    assert_non_null(o);
    o = match(m, GH_METHOD_DELETE, "/pay/payments/p9", &st);
    assert_int_equal(o->status, 204);
    o = match(m, GH_METHOD_POST, "/pay/payments/p9/refunds", &st);
    assert_int_equal(o->status, 200); /* default */
    assert_string_equal(o->body, "[1,2]\n");
    assert_null(match(m, GH_METHOD_PUT, "/pay/payments/p9", &st));
    assert_int_equal(st, 405);
    unsigned allow = 0;
    assert_null(gh_mock_match(m, GH_METHOD_PUT, (struct gh_str){"/payments/p9", 12},
                              (struct gh_str){"/pay", 4}, &st, &allow));
    assert_int_equal(allow,
                     (1u << GH_METHOD_GET) | (1u << GH_METHOD_DELETE)); /* this path's, not every one */
    assert_null(match(m, GH_METHOD_GET, "/pay/payments/p9/extra", &st));
    assert_int_equal(st, 404);
    assert_null(match(m, GH_METHOD_GET, "/pay/other", &st));
    assert_int_equal(st, 404);
    gh_mock_free(m);
}

static void test_headers_and_json(void **state)
{
    (void)state;
    struct gh_mock *m =
        build("{\"paths\":{\"/"
              "p\":{\"post\":{\"responses\":{\"201\":{\"headers\":{\"Location\":{\"example\":\"/p/1\"},"
              "\"X-Bad\":{\"example\":\"a\\r\\nSet-Cookie: x=1\"},\"X-Count\":{\"schema\":{\"example\":3}}},"
              "\"content\":{\"application/problem+json\":{\"example\":{\"id\":\"p1\"}}}}}}}}}");
    int st;
    const struct gh_mock_op *o = gh_mock_match(m, GH_METHOD_POST, (struct gh_str){"/p", 2},
                                               (struct gh_str){"/", 1}, &st, &(unsigned){0});
    assert_non_null(o);
    assert_int_equal(o->status, 201);
    assert_string_equal(o->ctype, "application/problem+json");
    assert_string_equal(o->body, "{\"id\":\"p1\"}\n");
    assert_string_equal(o->headers, "Location: /p/1\r\nX-Count: 3\r\n"); /* never a split head */
    gh_mock_free(m);
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"{}", "{\"paths\":{}}", "{\"paths\":{\"/x\":{\"parameters\":[]}}}",
                                      "{\"paths\":[]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct gh_err err = {{0}};
        struct gh_json *doc = gh_json_parse(bad[i], strlen(bad[i]), &err);
        struct gh_mock *m = NULL;
        assert_int_equal(gh_mock_build(doc, &m, &err), GH_EINVAL);
        assert_null(m);
        gh_json_unref(doc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_answers),
                                       cmocka_unit_test(test_headers_and_json),
                                       cmocka_unit_test(test_refused)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
