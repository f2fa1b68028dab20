/* YAML to JSON (core schema), multi-document streams, and the JSON wrapper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/yaml.h"

static char *convert(const char *yaml, struct gh_err *err)
{
    struct gh_yaml_doc *doc = NULL;
    if (gh_yaml_load_string("t.yaml", yaml, strlen(yaml), &doc, err) != 0)
        return NULL;
    struct gh_json *j = gh_yaml_to_json(gh_yaml_root(doc), "t.yaml", err);
    gh_yaml_free(doc);
    if (j == NULL)
        return NULL;
    char *s = gh_json_dump(j, 1);
    gh_json_unref(j);
    return s;
}

static void check(const char *yaml, const char *want)
{
    struct gh_err err = {{0}};
    char *got = convert(yaml, &err);
    if (got == NULL || strcmp(got, want) != 0)
        fail_msg("yaml: %s\ngot:  %s\nwant: %s", yaml, got ? got : err.msg, want);
    free(got);
}

static void test_core_schema(void **state)
{
    (void)state;
    check("a: 1\nb: -2\nc: 0x1F\nd: 0o17\ne: 1.5\nf: 1e3\ng: .5\n",
          "{\"a\":1,\"b\":-2,\"c\":31,\"d\":15,\"e\":1.5,\"f\":1000.0,\"g\":0.5}");
    check("a: true\nb: False\nc: null\nd: ~\ne:\nf: yes\ng: on\n",
          "{\"a\":true,\"b\":false,\"c\":null,\"d\":null,\"e\":null,\"f\":\"yes\",\"g\":\"on\"}");
    check("a: '1'\nb: \"true\"\nc: !!str 42\nd: |\n  x\n  y\ne: 1.2.3\nf: v1alpha1\ng: .inf\n",
          "{\"a\":\"1\",\"b\":\"true\",\"c\":\"42\",\"d\":\"x\\ny\\n\",\"e\":\"1.2.3\",\"f\":\"v1alpha1\","
          "\"g\":\".inf\"}");
    check("list: [a, 2, {k: v}]\nnested:\n  - x: [1]\n",
          "{\"list\":[\"a\",2,{\"k\":\"v\"}],\"nested\":[{\"x\":[1]}]}");
    check("big: 99999999999999999999\n", "{\"big\":1e20}");
    check("x: caf\xc3\xa9\n", "{\"x\":\"caf\xc3\xa9\"}");
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *msg;
    } cases[] = {
        {"a: &x 1\nb: *x\n", "t.yaml:2: YAML aliases are not supported"},
        {"base: &b {k: 1}\nother:\n  <<: *b\n", "YAML"},
        {"? [a, b]\n: 1\n", "t.yaml:1: mapping keys must be text"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gh_err err = {{0}};
        char *got = convert(cases[i].yaml, &err);
        if (got != NULL || strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: got %s, err %s", i, got ? got : "NULL", err.msg);
    }
    /* 70 levels of nesting */
    char deep[400] = "";
    for (int i = 0; i < 70; i++)
        strcat(deep, "["); /* NOLINT: bounded test data */
    for (int i = 0; i < 70; i++)
        strcat(deep, "]"); /* NOLINT */
    strcat(deep, "\n");    /* NOLINT */
    struct gh_err err = {{0}};
    char *got = convert(deep, &err);
    assert_null(got);
    assert_non_null(strstr(err.msg, "64")); /* libfyaml stops at 64 levels too, before our own check */
}

struct docs {
    char out[512];
    int n;
};

static int on_doc(void *ctx, struct gh_yaml_doc *doc, int index)
{
    struct docs *d = ctx;
    struct gh_err err = {{0}};
    struct gh_json *j = gh_yaml_to_json(gh_yaml_root(doc), "s.yaml", &err);
    assert_non_null(j);
    char *s = gh_json_dump(j, 1);
    snprintf(d->out + strlen(d->out), sizeof(d->out) - strlen(d->out), "%d:%s;", index, s);
    free(s);
    gh_json_unref(j);
    d->n++;
    return 0;
}

static void test_stream(void **state)
{
    (void)state;
    const char *y = "kind: A\n---\nkind: B\nspec: {x: 1}\n---\n# just a comment\nkind: C\n";
    struct docs d = {"", 0};
    struct gh_err err = {{0}};
    assert_int_equal(gh_yaml_load_stream("s.yaml", y, strlen(y), on_doc, &d, &err), 0);
    assert_int_equal(d.n, 3);
    assert_string_equal(d.out,
                        "0:{\"kind\":\"A\"};1:{\"kind\":\"B\",\"spec\":{\"x\":1}};2:{\"kind\":\"C\"};");
    const char *bad = "kind: A\n---\nkind: [B\n";
    struct docs d2 = {"", 0};
    assert_int_equal(gh_yaml_load_stream("s.yaml", bad, strlen(bad), on_doc, &d2, &err), GH_EINVAL);
    assert_int_equal(d2.n, 1);
    assert_non_null(strstr(err.msg, "s.yaml:4: invalid YAML"));
}

static void test_json(void **state)
{
    (void)state;
    struct gh_err err = {{0}};
    const char *text = "{\"b\":[1,\"x\",true,null],\"a\":{\"c\":-3}}";
    struct gh_json *j = gh_json_parse(text, strlen(text), &err);
    assert_non_null(j);
    assert_int_equal(gh_json_type(j), GH_JSON_OBJECT);
    assert_int_equal(gh_json_size(j), 2);
    struct gh_json *b = gh_json_get(j, "b");
    assert_int_equal(gh_json_type(b), GH_JSON_ARRAY);
    assert_int_equal(gh_json_int_value(gh_json_at(b, 0)), 1);
    assert_string_equal(gh_json_str(gh_json_at(b, 1), NULL), "x");
    assert_true(gh_json_bool_value(gh_json_at(b, 2)));
    assert_int_equal(gh_json_type(gh_json_at(b, 3)), GH_JSON_NULL);
    assert_null(gh_json_at(b, 4));
    assert_int_equal(gh_json_int_value(gh_json_get(gh_json_get(j, "a"), "c")), -3);
    const char *k;
    struct gh_json *v;
    void *it = NULL;
    int n = 0;
    while (gh_json_next(j, &it, &k, &v))
        n++;
    assert_int_equal(n, 2);
    gh_json_set(j, "z", gh_json_string("\xc3\xa9", 2));
    gh_json_del(j, "b");
    char *s = gh_json_dump(j, 1);
    assert_string_equal(s, "{\"a\":{\"c\":-3},\"z\":\"\xc3\xa9\"}");
    free(s);
    gh_json_unref(j);
    assert_null(gh_json_parse("{\"a\":1,\"a\":2}", 13, &err)); /* duplicate keys are refused */
    assert_non_null(strstr(err.msg, "duplicate"));
    assert_null(gh_json_parse("{", 1, &err));
    assert_null(gh_json_string("\xff", 1)); /* not UTF-8 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_schema),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests_name("yaml_json", tests, NULL, NULL);
}
