/* Backstage naming rules and entity references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "catalog/catalog.h"

static struct gh_str S(const char *s) {
    return (struct gh_str){s, strlen(s)};
}

static void
test_names(void **state)
{
    (void)state;
    static const char *good[] = {
        "a",          "A",       "0",
        "artist-web", "a_b.c-D", "a--b",
        "a..b",       "x123",    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890"};
    static const char *bad[] = {"",
                                "-a",
                                "a-",
                                ".a",
                                "a.",
                                "_a",
                                "a b",
                                "a/b",
                                "a:b",
                                "é",
                                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678901"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!gh_catalog_valid_name(S(good[i])))
            fail_msg("name '%s' should be valid", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (gh_catalog_valid_name(S(bad[i])))
            fail_msg("name '%s' should be invalid", bad[i]);
}

static void test_other_rules(void **state)
{
    (void)state;
    assert_true(gh_catalog_valid_namespace(S("default")));
    assert_true(gh_catalog_valid_namespace(S("team-a1")));
    assert_false(gh_catalog_valid_namespace(S("Default")));
    assert_false(gh_catalog_valid_namespace(S("a--b")));
    assert_false(gh_catalog_valid_namespace(S("a_b")));
    assert_true(gh_catalog_valid_kind(S("Component")));
    assert_true(gh_catalog_valid_kind(S("API")));
    assert_false(gh_catalog_valid_kind(S("1kind")));
    assert_false(gh_catalog_valid_kind(S("my-kind")));
    assert_true(gh_catalog_valid_api_version(S("backstage.io/v1alpha1")));
    assert_true(gh_catalog_valid_api_version(S("v1")));
    assert_false(gh_catalog_valid_api_version(S("backstage.io/v1/x")));
    assert_false(gh_catalog_valid_api_version(S("Backstage.io/v1")));
    assert_false(gh_catalog_valid_api_version(S("backstage.io/v1-beta")));
    assert_false(gh_catalog_valid_api_version(S("/v1")));
    assert_true(gh_catalog_valid_label_key(S("example.com/custom")));
    assert_true(gh_catalog_valid_label_key(S("backstage.io/managed-by-location")));
    assert_true(gh_catalog_valid_label_key(S("plain")));
    assert_false(gh_catalog_valid_label_key(S("example.com/")));
    assert_false(gh_catalog_valid_label_key(S("a/b/c")));
    assert_true(gh_catalog_valid_label_value(S("")));
    assert_true(gh_catalog_valid_label_value(S("custom_label_value")));
    assert_false(gh_catalog_valid_label_value(S("has space")));
    assert_true(gh_catalog_valid_tag(S("java")));
    assert_false(gh_catalog_valid_tag(S("Java")));
    assert_true(gh_catalog_valid_tag(S("c++")));
    assert_true(gh_catalog_valid_tag(S("c#-lang:v2")));
    assert_false(gh_catalog_valid_tag(S("go 1.15.3")));
    assert_false(gh_catalog_valid_tag(S("a--b")));
    assert_false(gh_catalog_valid_tag(S("a_b")));
}

static void test_refs(void **state)
{
    (void)state;
    struct gh_entity_ref r;
    struct gh_err err = {{0}};
    char buf[200];
    assert_int_equal(gh_catalog_parse_ref(S("component:default/artist-web"), NULL, NULL, &r, &err), 0);
    assert_string_equal(r.kind, "component");
    assert_string_equal(r.ns, "default");
    assert_string_equal(r.name, "artist-web");
    /* defaults: the field's kind, the referring entity's namespace or "default" */
    assert_int_equal(gh_catalog_parse_ref(S("team-a"), "Group", NULL, &r, &err), 0);
    gh_catalog_ref_string(&r, buf, sizeof(buf));
    assert_string_equal(buf, "group:default/team-a");
    assert_int_equal(gh_catalog_parse_ref(S("Team-A"), "Group", "ops", &r, &err), 0);
    assert_string_equal(r.name, "Team-A"); /* kept as written */
    gh_catalog_ref_string(&r, buf, sizeof(buf));
    assert_string_equal(buf, "group:ops/team-a"); /* canonical form is lower case */
    assert_int_equal(gh_catalog_parse_ref(S("User:Default/Guest"), "Group", NULL, &r, &err), 0);
    gh_catalog_ref_string(&r, buf, sizeof(buf));
    assert_string_equal(buf, "user:default/guest");
    assert_int_equal(gh_catalog_parse_ref(S("other/thing"), "API", NULL, &r, &err), 0);
    gh_catalog_ref_string(&r, buf, sizeof(buf));
    assert_string_equal(buf, "api:other/thing");
    /* malformed */
    static const struct {
        const char *ref, *msg;
    } bad[] = {
        {"", "is not of the form"},
        {":foo", "is not of the form"},
        {"component:/foo", "is not of the form"},
        {"component:default/", "is not of the form"},
        {"foo", "has no kind"},
        {"ns/foo", "has no kind"},
        {"1bad:foo", "'1bad' is not a valid kind"},
        {"component:bad_ns/foo", "'bad_ns' is not a valid namespace"},
        {"component:default/a/b", "'a/b' is not a valid name"},
        {"ns/x:y", "has no kind"}, /* a colon after the slash belongs to the name */
        {"component:default/-x", "'-x' is not a valid name"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = gh_catalog_parse_ref(S(bad[i].ref), NULL, NULL, &r, &err);
        if (rc != GH_EINVAL || strstr(err.msg, bad[i].msg) == NULL)
            fail_msg("'%s': rc=%d msg=%s", bad[i].ref, rc, err.msg);
    }
    assert_int_equal(gh_catalog_parse_ref(S("ns/x:y"), "Component", NULL, &r, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "'x:y' is not a valid name"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_other_rules),
        cmocka_unit_test(test_refs),
    };
    return cmocka_run_group_tests_name("catalog_names", tests, NULL, NULL);
}
