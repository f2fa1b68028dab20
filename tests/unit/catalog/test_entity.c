/* Entity validation and relations (src/catalog/entity.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "catalog/catalog.h"

static struct gh_json *J(const char *text)
{
    struct gh_err err = {{0}};
    struct gh_json *j = gh_json_parse(text, strlen(text), &err);
    if (j == NULL)
        fail_msg("bad test JSON: %s: %s", err.msg, text);
    return j;
}

#define ENT(kind, spec)                                                                                      \
    "{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"" kind                                             \
    "\",\"metadata\":{\"name\":\"x\"},\"spec\":" spec "}"

static void test_valid(void **state)
{
    (void)state;
    static const char *good[] = {
        ENT("Component", "{\"type\":\"service\",\"lifecycle\":\"production\",\"owner\":\"team-a\"}"),
        ENT("API",
            "{\"type\":\"openapi\",\"lifecycle\":\"production\",\"owner\":\"team-a\",\"definition\":\"x\"}"),
        ENT("System", "{\"owner\":\"team-a\",\"domain\":\"d\"}"),
        ENT("Domain", "{\"owner\":\"team-a\"}"),
        ENT("Resource", "{\"type\":\"db\",\"owner\":\"team-a\",\"dependsOn\":[\"resource:y\"]}"),
        ENT("Group", "{\"type\":\"team\",\"children\":[]}"),
        ENT("User", "{\"memberOf\":[]}"),
        ENT("Location", "{\"targets\":[\"./a.yaml\"]}"),
        ENT("Template", "{\"anything\":[1,2]}"),
        ENT("API",
            "{\"type\":\"mcp-server\",\"lifecycle\":\"experimental\",\"owner\":\"a\","
            "\"remotes\":[{\"type\":\"streamable-http\",\"url\":\"http://x/mcp\"}]}"), /* kinds without
                                                                                          built-in rules:
                                                                                          envelope only */
        "{\"apiVersion\":\"backstage.io/v1beta1\",\"kind\":\"component\",\"metadata\":{\"name\":\"A.b_c\","
        "\"namespace\":\"ns-1\",\"title\":\"T\",\"labels\":{\"example.com/tier\":\"gold\",\"x\":\"\"},"
        "\"annotations\":{\"backstage.io/techdocs-ref\":\"dir:.\"},\"tags\":[\"c++\",\"go\"],"
        "\"links\":[{\"url\":\"https://x\",\"title\":\"X\"}],\"uid\":\"ignored\",\"etag\":\"ignored\"},"
        "\"spec\":{\"type\":\"service\",\"lifecycle\":\"production\",\"owner\":\"user:guest\"},"
        "\"relations\":[{\"type\":\"fake\",\"targetRef\":\"a:b/c\"}],\"status\":{}}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct gh_json *e = J(good[i]);
        struct gh_err err = {{0}};
        struct gh_entity_ref ref;
        if (gh_entity_check(e, &ref, &err) != 0)
            fail_msg("entity %zu should be valid: %s", i, err.msg);
        gh_json_unref(e);
    }
    /* normalised: computed fields dropped, namespace filled in */
    struct gh_json *e = J(good[GH_ARRAY_SIZE(good) - 1]);
    struct gh_entity_ref ref;
    assert_int_equal(gh_entity_check(e, &ref, NULL), 0);
    assert_string_equal(ref.kind, "Component");
    assert_string_equal(ref.ns, "ns-1");
    assert_string_equal(ref.name, "A.b_c");
    assert_null(gh_json_get(e, "relations"));
    assert_null(gh_json_get(e, "status"));
    assert_null(gh_json_get(gh_json_get(e, "metadata"), "uid"));
    assert_null(gh_json_get(gh_json_get(e, "metadata"), "etag"));
    gh_json_unref(e);
    e = J(good[0]);
    assert_int_equal(gh_entity_check(e, NULL, NULL), 0);
    assert_string_equal(gh_json_str(gh_json_get(gh_json_get(e, "metadata"), "namespace"), NULL), "default");
    gh_json_unref(e);
}

static void test_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"[]", "entity: must be a mapping"},
        {"{\"kind\":\"Component\",\"metadata\":{\"name\":\"x\"}}",
         "component:default/x: apiVersion: is required"},
        {"{\"apiVersion\":\"v1/x/y\",\"kind\":\"Component\",\"metadata\":{\"name\":\"x\"}}",
         "component:default/x: apiVersion: 'v1/x/y' is not of the form"},
        {"{\"apiVersion\":\"example.com/"
         "v1\",\"kind\":\"Component\",\"metadata\":{\"name\":\"x\"},\"spec\":{}}",
         "component:default/x: apiVersion: kind Component needs backstage.io/v1alpha1"},
        {"{\"apiVersion\":\"backstage.io/v1alpha1\",\"metadata\":{\"name\":\"x\"}}", "kind: is required"},
        {"{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"9lives\",\"metadata\":{\"name\":\"x\"}}",
         "kind: '9lives' is not valid"},
        {"{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Component\"}",
         "component:default/?: metadata: is required"},
        {"{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Component\",\"metadata\":{\"name\":\"invalid "
         "component\"}}",
         "component:default/invalid component: metadata.name: 'invalid component' is not a valid name"},
        {"{\"apiVersion\":\"backstage.io/"
         "v1alpha1\",\"kind\":\"Component\",\"metadata\":{\"name\":\"x\",\"namespace\":\"Bad_NS\"}}",
         "metadata.namespace: must be a DNS label"},
        {"{\"apiVersion\":\"backstage.io/"
         "v1alpha1\",\"kind\":\"Component\",\"metadata\":{\"name\":\"x\",\"tags\":[\"go 1.15\"]}}",
         "metadata.tags: item 0 ('go 1.15') is not a valid tag"},
        {"{\"apiVersion\":\"backstage.io/"
         "v1alpha1\",\"kind\":\"Component\",\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":1}}}",
         "metadata.labels: the value of 'a' must be a string"},
        {"{\"apiVersion\":\"backstage.io/"
         "v1alpha1\",\"kind\":\"Component\",\"metadata\":{\"name\":\"x\",\"labels\":{\"a b\":\"c\"}}}",
         "metadata.labels: key 'a b' is not valid"},
        {"{\"apiVersion\":\"backstage.io/"
         "v1alpha1\",\"kind\":\"Component\",\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"go 1\"}}}",
         "metadata.labels: the value of 'a' ('go 1') is not valid"},
        {"{\"apiVersion\":\"backstage.io/"
         "v1alpha1\",\"kind\":\"Component\",\"metadata\":{\"name\":\"x\",\"links\":[{\"title\":\"t\"}]}}",
         "metadata.links[0]: url is required"},
        {ENT("Component", "{\"type\":\"service\",\"lifecycle\":\"production\"}"),
         "component:default/x: spec.owner: is required for kind Component"},
        {ENT("Component", "{\"type\":\"\",\"lifecycle\":\"production\",\"owner\":\"a\"}"),
         "spec.type: must be a non-empty string"},
        {ENT("Component",
             "{\"type\":\"s\",\"lifecycle\":\"production\",\"owner\":\"a\",\"providesApis\":\"api\"}"),
         "spec.providesApis: must be a list of strings"},
        {ENT("Component",
             "{\"type\":\"s\",\"lifecycle\":\"production\",\"owner\":\"a\",\"consumesApis\":[\"ok\",7]}"),
         "spec.consumesApis: item 1 must be a non-empty string"},
        {ENT("Component", "{\"type\":\"s\",\"lifecycle\":\"production\",\"owner\":\"bad owner\"}"),
         "spec.owner: entity reference 'bad owner': 'bad owner' is not a valid name"},
        {ENT("Component", "{\"type\":\"s\",\"lifecycle\":\"p\",\"owner\":\"a\",\"dependsOn\":[\"db\"]}"),
         "spec.dependsOn: entity reference 'db' has no kind"},
        {ENT("API", "{\"type\":\"openapi\",\"lifecycle\":\"production\",\"owner\":\"a\"}"),
         "api:default/x: spec.definition: is required for kind API"},
        {ENT("API", "{\"type\":\"openapi\",\"lifecycle\":\"production\",\"owner\":\"a\",\"definition\":{\"$"
                    "text\":\"x\"}}"),
         "spec.definition: must be a non-empty string"},
        {ENT("API", "{\"type\":\"ai-model-server\",\"lifecycle\":\"p\",\"owner\":\"a\",\"remotes\":[]}"),
         "api:default/x: spec.remotes: must be a non-empty list of {type, url}"},
        {ENT("API",
             "{\"type\":\"mcp-server\",\"lifecycle\":\"p\",\"owner\":\"a\",\"remotes\":[{\"url\":\"u\"}]}"),
         "api:default/x: spec.remotes: item 0 must have a non-empty type and url"},
        {ENT("Group", "{\"type\":\"team\"}"), "group:default/x: spec.children: is required for kind Group"},
        {ENT("User", "{}"), "user:default/x: spec.memberOf: is required for kind User"},
        {ENT("User", "{\"memberOf\":[],\"profile\":\"me\"}"), "spec.profile: must be a mapping"},
        {"{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"System\",\"metadata\":{\"name\":\"x\"}}",
         "system:default/x: spec: is required for kind System"},
        {"{\"apiVersion\":\"backstage.io/"
         "v1alpha1\",\"kind\":\"Domain\",\"metadata\":{\"name\":\"x\"},\"spec\":{\"owner\":\"a\"},\"extra\":"
         "1}",
         "domain:default/x: extra: is not a field of an entity"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gh_json *e = J(cases[i].json);
        struct gh_err err = {{0}};
        if (gh_entity_check(e, NULL, &err) != GH_EINVAL)
            fail_msg("case %zu should be refused: %s", i, cases[i].json);
        if (strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: message\n  %s\nlacks\n  %s", i, err.msg, cases[i].msg);
        gh_json_unref(e);
    }
}

struct rels {
    char buf[4096];
    size_t len;
};

static int collect(void *ctx, const char *source, const char *type, const char *target)
{
    struct rels *r = ctx;
    r->len += (size_t)snprintf(r->buf + r->len, sizeof(r->buf) - r->len, "%s %s %s\n", source, type, target);
    return 0;
}

static void expect_relations(const char *json, const char *want)
{
    struct gh_json *e = J(json);
    struct gh_err err = {{0}};
    if (gh_entity_check(e, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    struct rels r = {{0}, 0};
    assert_int_equal(gh_entity_relations(e, collect, &r), 0);
    if (strcmp(r.buf, want) != 0)
        fail_msg("relations of %s:\n%s\nwanted:\n%s", json, r.buf, want);
    gh_json_unref(e);
}

static void test_relations(void **state)
{
    (void)state;
    expect_relations(
        "{\"apiVersion\":\"backstage.io/"
        "v1alpha1\",\"kind\":\"Component\",\"metadata\":{\"name\":\"Web\",\"namespace\":\"ns\"},"
        "\"spec\":{\"type\":\"website\",\"lifecycle\":\"production\",\"owner\":\"user:default/"
        "Guest\",\"system\":\"shop\","
        "\"subcomponentOf\":\"portal\",\"providesApis\":[\"a\"],\"consumesApis\":[\"api:other/b\"],"
        "\"dependsOn\":[\"resource:db\"],\"dependencyOf\":[\"component:x\"]}}",
        "component:ns/web ownedBy user:default/guest\n"
        "user:default/guest ownerOf component:ns/web\n"
        "component:ns/web partOf system:ns/shop\n"
        "system:ns/shop hasPart component:ns/web\n"
        "component:ns/web partOf component:ns/portal\n"
        "component:ns/portal hasPart component:ns/web\n"
        "component:ns/web providesApi api:ns/a\n"
        "api:ns/a apiProvidedBy component:ns/web\n"
        "component:ns/web consumesApi api:other/b\n"
        "api:other/b apiConsumedBy component:ns/web\n"
        "component:ns/web dependsOn resource:ns/db\n"
        "resource:ns/db dependencyOf component:ns/web\n"
        "component:ns/web dependencyOf component:ns/x\n"
        "component:ns/x dependsOn component:ns/web\n");
    expect_relations(ENT("API", "{\"type\":\"openapi\",\"lifecycle\":\"p\",\"owner\":\"t\",\"definition\":"
                                "\"d\",\"system\":\"s\"}"),
                     "api:default/x ownedBy group:default/t\ngroup:default/t ownerOf api:default/x\n"
                     "api:default/x partOf system:default/s\nsystem:default/s hasPart api:default/x\n");
    expect_relations(ENT("System", "{\"owner\":\"t\",\"domain\":\"d\"}"),
                     "system:default/x ownedBy group:default/t\ngroup:default/t ownerOf system:default/x\n"
                     "system:default/x partOf domain:default/d\ndomain:default/d hasPart system:default/x\n");
    expect_relations(ENT("Domain", "{\"owner\":\"t\",\"subdomainOf\":\"d\"}"),
                     "domain:default/x ownedBy group:default/t\ngroup:default/t ownerOf domain:default/x\n"
                     "domain:default/x partOf domain:default/d\ndomain:default/d hasPart domain:default/x\n");
    expect_relations(
        ENT("Resource",
            "{\"type\":\"db\",\"owner\":\"t\",\"system\":\"s\",\"dependencyOf\":[\"component:c\"]}"),
        "resource:default/x ownedBy group:default/t\ngroup:default/t ownerOf resource:default/x\n"
        "resource:default/x partOf system:default/s\nsystem:default/s hasPart resource:default/x\n"
        "resource:default/x dependencyOf component:default/c\n"
        "component:default/c dependsOn resource:default/x\n");
    expect_relations(
        ENT("Group", "{\"type\":\"team\",\"parent\":\"p\",\"children\":[\"c\"],\"members\":[\"u\"]}"),
        "group:default/x childOf group:default/p\ngroup:default/p parentOf group:default/x\n"
        "group:default/x parentOf group:default/c\ngroup:default/c childOf group:default/x\n"
        "group:default/x hasMember user:default/u\nuser:default/u memberOf group:default/x\n");
    expect_relations(ENT("User", "{\"memberOf\":[\"g\",\"group:ops/h\"]}"),
                     "user:default/x memberOf group:default/g\ngroup:default/g hasMember user:default/x\n"
                     "user:default/x memberOf group:ops/h\ngroup:ops/h hasMember user:default/x\n");
    expect_relations(ENT("Location", "{\"targets\":[\"./a.yaml\"]}"), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_relations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
