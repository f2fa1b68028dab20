/* Access rules: each condition, first match wins, the default, and config errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/rules.h"

static const char *yaml =
    "plans:\n"
    "  - name: starter\n"
    "  - name: gold\n"
    "access_rules:\n"
    "  - name: engineering-internal\n"
    "    when: { requester_groups_any: [engineering], api_lifecycle: [production, experimental],\n"
    "            api_tags_none: [partner], plans: [starter] }\n"
    "    decide: approve\n"
    "    max_duration: 90d\n"
    "  - name: partner-apis\n"
    "    when: { api_tags_any: [partner] }\n"
    "    decide: owner_approval\n"
    "    max_duration: 30d\n"
    "  - name: auditors-read\n"
    "    when: { requester_roles_any: [auditor], api_owner: [payments], api_system: [billing],\n"
    "            api_annotations: { gatehouse.dev/data: public } }\n"
    "    decide: approve\n"
    "  - name: no-gold-for-ops\n"
    "    when: { requester_groups_any: [group:ops/oncall], plans: [gold] }\n"
    "    decide: deny\n"
    "  - name: default\n"
    "    decide: owner_approval\n"
    "    max_duration: 90d\n";

static struct gh_config *cfg;

static int setup(void **state)
{
    (void)state;
    struct gh_err err = {{0}};
    if (gh_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gh_config_free(cfg);
    return 0;
}

static struct gh_actor person(enum gh_role role, const char *group)
{
    struct gh_actor a;
    memset(&a, 0, sizeof(a));
    a.role = role;
    snprintf(a.user, sizeof(a.user), "user:default/ana");
    if (group)
        gh_actor_add_group(&a, group);
    return a;
}

static struct gh_json *entity(const char *json)
{
    struct gh_json *e = gh_json_parse(json, strlen(json), NULL);
    assert_non_null(e);
    return e;
}

/* the deciding rule's name, and the reasons of the rules before it joined with " | " */
static const char *decide(const struct gh_actor *who, const char *api_json, const char *plan, char *why,
                          size_t cap)
{
    struct gh_json *e = entity(api_json);
    struct gh_rule_api api;
    char owner[GH_ENTITY_REF_MAX], system[GH_ENTITY_REF_MAX];
    gh_rule_api_from_entity(e, &api, owner, system);
    struct gh_rule_outcome o;
    assert_int_equal(gh_rules_decide(cfg, who, &api, plan, &o), 0);
    size_t n = 0;
    why[0] = '\0';
    for (size_t i = 0; i < gh_json_size(o.skipped); i++)
        n += (size_t)snprintf(why + n, cap - n, "%s%s: %s", i ? " | " : "",
                              gh_json_str(gh_json_get(gh_json_at(o.skipped, i), "rule"), NULL),
                              gh_json_str(gh_json_get(gh_json_at(o.skipped, i), "reason"), NULL));
    const char *name = o.rule->name;
    struct gh_json *x = gh_rules_explain(&o);
    assert_string_equal(gh_json_str(gh_json_get(x, "decide"), NULL), gh_rule_decision_name(o.rule->decide));
    gh_json_unref(x);
    gh_json_unref(o.skipped);
    gh_json_unref(e);
    return name;
}

#define API_PROD                                                                                             \
    "{\"metadata\":{\"name\":\"orders\",\"tags\":[\"rest\"]},\"spec\":{\"lifecycle\":\"production\","        \
    "\"owner\":\"payments\",\"system\":\"billing\"}}"

static void test_first_match(void **state)
{
    (void)state;
    char why[2000];
    struct gh_actor eng = person(GH_ROLE_DEVELOPER, "group:default/engineering");
    assert_string_equal(decide(&eng, API_PROD, "starter", why, sizeof(why)), "engineering-internal");
    assert_string_equal(why, "");
    /* another plan: the first rule's plan condition fails, and the default decides */
    assert_string_equal(decide(&eng, API_PROD, "gold", why, sizeof(why)), "default");
    assert_string_equal(why, "engineering-internal: the plan (gold) is not one of starter | "
                             "partner-apis: the API has none of the tags partner | "
                             "auditors-read: the requester's role (developer) is not one of auditor | "
                             "no-gold-for-ops: the requester is in none of the groups group:ops/oncall");
    /* a partner API: the first rule's tags_none fails first in order of the conditions */
    const char *partner =
        "{\"metadata\":{\"name\":\"p\",\"tags\":[\"Partner\"]},\"spec\":{\"lifecycle\":\"production\"}}";
    assert_string_equal(decide(&eng, partner, "starter", why, sizeof(why)), "partner-apis");
    assert_string_equal(why, "engineering-internal: the API has one of the tags partner");
    /* the lifecycle */
    const char *dep = "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"lifecycle\":\"deprecated\"}}";
    assert_string_equal(decide(&eng, dep, "starter", why, sizeof(why)), "default");
    assert_true(strstr(why, "the API's lifecycle (deprecated) is not one of production, experimental") !=
                NULL);
    /* not in the group */
    struct gh_actor other = person(GH_ROLE_DEVELOPER, "group:default/sales");
    assert_string_equal(decide(&other, API_PROD, "starter", why, sizeof(why)), "default");
    assert_true(strstr(why, "the requester is in none of the groups group:default/engineering") != NULL);
    gh_actor_clear(&eng);
    gh_actor_clear(&other);
}

static void test_conditions(void **state)
{
    (void)state;
    char why[2000];
    struct gh_actor aud = person(GH_ROLE_AUDITOR, NULL);
    const char *pub = "{\"metadata\":{\"name\":\"o\",\"annotations\":{\"gatehouse.dev/data\":\"public\"}},"
                      "\"spec\":{\"owner\":\"group:default/payments\",\"system\":\"billing\"}}";
    assert_string_equal(decide(&aud, pub, "starter", why, sizeof(why)), "auditors-read");
    const char *priv = "{\"metadata\":{\"name\":\"o\",\"annotations\":{\"gatehouse.dev/data\":\"secret\"}},"
                       "\"spec\":{\"owner\":\"payments\",\"system\":\"billing\"}}";
    assert_string_equal(decide(&aud, priv, "starter", why, sizeof(why)), "default");
    assert_true(strstr(why, "the API's annotation gatehouse.dev/data is 'secret', not public") != NULL);
    const char *other_owner =
        "{\"metadata\":{\"name\":\"o\"},\"spec\":{\"owner\":\"search\",\"system\":\"billing\"}}";
    decide(&aud, other_owner, "starter", why, sizeof(why));
    assert_true(strstr(why, "the API's owner (group:default/search) is not one of group:default/payments") !=
                NULL);
    const char *other_system =
        "{\"metadata\":{\"name\":\"o\"},\"spec\":{\"owner\":\"payments\",\"system\":\"crm\"}}";
    decide(&aud, other_system, "starter", why, sizeof(why));
    assert_true(strstr(why, "the API's system (system:default/crm) is not one of system:default/billing") !=
                NULL);
    /* deny */
    struct gh_actor ops = person(GH_ROLE_DEVELOPER, "group:ops/oncall");
    assert_string_equal(decide(&ops, API_PROD, "gold", why, sizeof(why)), "no-gold-for-ops");
    gh_actor_clear(&aud);
    gh_actor_clear(&ops);
}

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *want;
    } bad[] = {
        {"access_rules:\n  - name: a\n    when: { plans: [x] }\n    decide: approve\n",
         "t.yaml:2: access_rules.a: the last rule is the default and has no when"},
        {"access_rules:\n  - name: a\n    decide: maybe\n",
         "access_rules[0].decide: 'maybe' must be approve"},
        {"access_rules:\n  - name: a\n", "t.yaml:2: access_rules.a: decide is required"},
        {"access_rules:\n  - name: a\n    when: { colour: [red] }\n    decide: deny\n  - name: d\n    "
         "decide: deny\n",
         "access_rules[0].when.colour: unknown condition"},
        {"access_rules:\n  - name: a\n    when: { plans: [gold] }\n    decide: deny\n  - name: d\n    "
         "decide: deny\n",
         "access_rules.a.when.plans: no plan named 'gold'"},
        {"access_rules:\n  - name: a\n    when: { requester_roles_any: [root] }\n    decide: deny\n  - name: "
         "d\n"
         "    decide: deny\n",
         "'root' must be admin, auditor, api-publisher or developer"},
        {"access_rules:\n  - name: a\n    when: { api_owner: [component:x] }\n    decide: deny\n  - name: d\n"
         "    decide: deny\n",
         "access_rules[0].when.api_owner: 'component:x' must be a Group"},
        {"access_rules:\n  - name: d\n    decide: deny\n  - name: d\n    decide: approve\n",
         "access_rules.d: duplicate rule name"},
        {"access_rules: []\n", "access_rules: needs at least the default rule"},
    };
    for (size_t i = 0; i < GH_ARRAY_SIZE(bad); i++) {
        struct gh_config *c = NULL;
        struct gh_err err = {{0}};
        assert_int_equal(gh_config_load_string("t.yaml", bad[i].yaml, strlen(bad[i].yaml), &c, &err),
                         GH_EINVAL);
        if (strstr(err.msg, bad[i].want) == NULL)
            fail_msg("case %zu: %s", i, err.msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_match),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
