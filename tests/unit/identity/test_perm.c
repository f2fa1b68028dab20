/* The permission table (every action, every role, ownership) and the claim mapping at sign-in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "identity/oidc.h"
#include "identity/perm.h"
#include "http/http.h"
#include "portal/api.h"

static struct gh_actor actor(enum gh_role role, const char *user, const char *group)
{
    struct gh_actor a;
    memset(&a, 0, sizeof(a));
    a.role = role;
    snprintf(a.user, sizeof(a.user), "%s", user ? user : "");
    snprintf(a.id, sizeof(a.id), "%s", user ? user : "token:x");
    if (group)
        gh_actor_add_group(&a, group);
    return a;
}

/* expected route-level answers: A allow, D deny (403), U sign in (401); columns: nobody, developer,
 * api-publisher, auditor, admin */
static const struct {
    enum gh_action act;
    const char *want;
} matrix[] = {
    {GH_ACT_SIGN_IN, "AAAAA"},        {GH_ACT_SESSION, "UAAAA"},        {GH_ACT_CATALOG_READ, "UAAAA"},
    {GH_ACT_CATALOG_WRITE, "UDADA"},  {GH_ACT_PLANS_READ, "UAAAA"},     {GH_ACT_APPS_READ, "UAAAA"},
    {GH_ACT_APPS_MANAGE, "UAADA"},    {GH_ACT_GRANTS_MANAGE, "UDDDA"},  {GH_ACT_GRANTS_REVOKE, "UAADA"},
    {GH_ACT_ACCESS_REQUEST, "UAADA"}, {GH_ACT_ACCESS_APPROVE, "UAADA"}, {GH_ACT_CONSUMERS_VIEW, "UAAAA"},
    {GH_ACT_USAGE_VIEW, "UAAAA"},     {GH_ACT_AUDIT_VIEW, "UDDAA"},     {GH_ACT_METRICS_VIEW, "UDDAA"},
    {GH_ACT_TOKENS_MANAGE, "UDDDA"},  {GH_ACT_SECRETS_MANAGE, "UDDDA"}, {GH_ACT_WEBHOOKS_VIEW, "UDDDA"},
    {GH_ACT_CONFIG_VIEW, "UDDDA"},
};

static void test_table(void **state)
{
    (void)state;
    assert_int_equal(GH_ARRAY_SIZE(matrix), GH_ACT_COUNT); /* a new action needs its row here */
    for (size_t i = 0; i < GH_ARRAY_SIZE(matrix); i++) {
        assert_string_not_equal(gh_action_name(matrix[i].act), "unknown");
        for (int r = 0; r <= GH_ROLE_ADMIN; r++) {
            struct gh_actor a = actor((enum gh_role)r, "user:default/dev", NULL);
            char why[200] = "";
            enum gh_perm_result p = gh_perm_check(&a, matrix[i].act, NULL, why, sizeof(why));
            char got = p == GH_PERM_ALLOW ? 'A' : p == GH_PERM_DENY ? 'D' : 'U';
            if (got != matrix[i].want[r])
                fail_msg("%s for role %d: %c, want %c (%s)", gh_action_name(matrix[i].act), r, got,
                         matrix[i].want[r], why);
            if (got != 'A')
                assert_true(strlen(why) > 10);
            gh_actor_clear(&a);
        }
    }
    /* metrics: any client on this machine, signed in or not */
    struct gh_actor local = actor(GH_ROLE_NONE, NULL, NULL);
    local.local = 1;
    assert_int_equal(gh_perm_check(&local, GH_ACT_METRICS_VIEW, NULL, NULL, 0), GH_PERM_ALLOW);
    assert_int_equal(gh_perm_check(&local, GH_ACT_AUDIT_VIEW, NULL, NULL, 0), GH_PERM_UNAUTHENTICATED);
    assert_int_equal(gh_perm_check(NULL, GH_ACT_CATALOG_READ, NULL, NULL, 0), GH_PERM_UNAUTHENTICATED);
    assert_int_equal(gh_perm_check(&local, GH_ACT_COUNT, NULL, NULL, 0), GH_PERM_UNAUTHENTICATED);
}

static void test_ownership(void **state)
{
    (void)state;
    struct gh_actor owner = actor(GH_ROLE_DEVELOPER, "user:default/ana", "group:default/payments");
    struct gh_actor other = actor(GH_ROLE_DEVELOPER, "user:default/bo", "group:default/search");
    struct gh_actor auditor = actor(GH_ROLE_AUDITOR, "user:default/au", NULL);
    struct gh_actor admin = actor(GH_ROLE_ADMIN, "user:default/ad", NULL);
    struct gh_perm_resource api = {.owner_group = "group:default/payments"};
    struct gh_perm_resource app = {.owner_user = "user:default/ana"};
    assert_int_equal(gh_perm_check(&owner, GH_ACT_ACCESS_APPROVE, &api, NULL, 0), GH_PERM_ALLOW);
    assert_int_equal(gh_perm_check(&other, GH_ACT_ACCESS_APPROVE, &api, NULL, 0), GH_PERM_DENY);
    assert_int_equal(gh_perm_check(&auditor, GH_ACT_ACCESS_APPROVE, &api, NULL, 0), GH_PERM_DENY);
    assert_int_equal(gh_perm_check(&admin, GH_ACT_ACCESS_APPROVE, &api, NULL, 0), GH_PERM_ALLOW);
    assert_int_equal(gh_perm_check(&owner, GH_ACT_CONSUMERS_VIEW, &api, NULL, 0), GH_PERM_ALLOW);
    assert_int_equal(gh_perm_check(&other, GH_ACT_CONSUMERS_VIEW, &api, NULL, 0), GH_PERM_DENY);
    assert_int_equal(gh_perm_check(&auditor, GH_ACT_CONSUMERS_VIEW, &api, NULL, 0), GH_PERM_ALLOW);
    /* an application: its owner, not a member of the API's group */
    assert_int_equal(gh_perm_check(&owner, GH_ACT_APPS_MANAGE, &app, NULL, 0), GH_PERM_ALLOW);
    assert_int_equal(gh_perm_check(&other, GH_ACT_APPS_MANAGE, &app, NULL, 0), GH_PERM_DENY);
    assert_int_equal(gh_perm_check(&other, GH_ACT_APPS_READ, &app, NULL, 0), GH_PERM_DENY);
    assert_int_equal(gh_perm_check(&auditor, GH_ACT_APPS_READ, &app, NULL, 0), GH_PERM_ALLOW);
    assert_int_equal(gh_perm_check(&auditor, GH_ACT_APPS_MANAGE, &app, NULL, 0), GH_PERM_DENY);
    /* a grant: the API's owners and the application's owner end it; others and auditors do not */
    assert_int_equal(gh_perm_check(&owner, GH_ACT_GRANTS_REVOKE, &api, NULL, 0), GH_PERM_ALLOW);
    assert_int_equal(gh_perm_check(&owner, GH_ACT_GRANTS_REVOKE, &app, NULL, 0), GH_PERM_ALLOW);
    assert_int_equal(gh_perm_check(&other, GH_ACT_GRANTS_REVOKE, &api, NULL, 0), GH_PERM_DENY);
    assert_int_equal(gh_perm_check(&other, GH_ACT_GRANTS_REVOKE, &app, NULL, 0), GH_PERM_DENY);
    assert_int_equal(gh_perm_check(&auditor, GH_ACT_GRANTS_REVOKE, &api, NULL, 0), GH_PERM_DENY);
    assert_int_equal(gh_perm_check(&admin, GH_ACT_GRANTS_REVOKE, &app, NULL, 0), GH_PERM_ALLOW);
    /* group ownership does not make an application yours, nor an empty user match an empty owner */
    struct gh_perm_resource none = {0};
    assert_int_equal(gh_perm_check(&owner, GH_ACT_APPS_MANAGE, &none, NULL, 0), GH_PERM_DENY);
    struct gh_actor tok = actor(GH_ROLE_DEVELOPER, NULL, NULL);
    struct gh_perm_resource empty_owner = {.owner_user = ""};
    assert_int_equal(gh_perm_check(&tok, GH_ACT_APPS_MANAGE, &empty_owner, NULL, 0), GH_PERM_DENY);
    gh_actor_clear(&owner);
    gh_actor_clear(&other);
    gh_actor_clear(&auditor);
    gh_actor_clear(&admin);
}

/* no route without a rule, and every route reachable by its own path */
static void test_routes(void **state)
{
    (void)state;
    size_t n = 0;
    const struct gh_api_route *rt = gh_api_routes(&n);
    assert_true(n > 20);
    for (size_t i = 0; i < n; i++) {
        assert_true(rt[i].action >= 0 && rt[i].action < GH_ACT_COUNT);
        assert_string_not_equal(gh_action_name((enum gh_action)rt[i].action), "unknown");
        const char *seg[GH_API_ROUTE_SEGS] = {0};
        int k = 0;
        for (; k < GH_API_ROUTE_SEGS && rt[i].path[k]; k++)
            seg[k] = strcmp(rt[i].path[k], "*") == 0 ? "x" : rt[i].path[k];
        for (int m = 0; m < 16; m++) {
            if (!(rt[i].methods & (1u << m)))
                continue;
            char allow[64];
            const struct gh_api_route *found = gh_api_route_find(m, seg, k, allow, sizeof(allow));
            assert_non_null(found);
            assert_int_equal(found->action, rt[i].action);
        }
    }
    char allow[64];
    const char *seg[] = {"api", "keys"};
    assert_null(gh_api_route_find(GH_METHOD_POST, seg, 2, allow, sizeof(allow)));
    assert_string_equal(allow, "GET, HEAD");
    const char *nowhere[] = {"api", "nowhere"};
    assert_null(gh_api_route_find(GH_METHOD_GET, nowhere, 2, allow, sizeof(allow)));
    assert_string_equal(allow, "");
}

static void test_claims(void **state)
{
    (void)state;
    const char *yaml =
        "identity:\n"
        "  oidc: { issuer: https://idp.example, client_id: portal,\n"
        "          redirect_uri: https://portal.example/auth/callback }\n"
        "  role_map: { platform-admins: admin, Auditors: auditor, api-publishers: api-publisher }\n"
        "  group_map: { eng: engineering, 0c5b7e2a-1d4f-4a4e-9c55-1f2d3e4a5b6c: "
        "group:default/payments }\n";
    struct gh_config *cfg = NULL;
    struct gh_err err = {{0}};
    if (gh_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    const struct gh_config_identity *id = &cfg->identity;
    assert_string_equal(id->group_map[0].to, "group:default/engineering");
    char *groups[] = {"eng", "api-publishers", "0c5b7e2a-1d4f-4a4e-9c55-1f2d3e4a5b6c", "other"};
    char *roles[] = {"Auditors"};
    struct gh_oidc_login l = {.sub = "00u1",
                              .username = "Ana.Lima@Example.com",
                              .groups = groups,
                              .ngroups = 4,
                              .roles = roles,
                              .nroles = 1};
    struct gh_actor a = {0};
    assert_int_equal(gh_identity_map(id, &l, &a, &err), 0);
    assert_string_equal(a.user, "user:default/ana.lima");
    assert_int_equal(a.role, GH_ROLE_AUDITOR); /* the highest of api-publisher (groups) and auditor (roles) */
    assert_int_equal(a.ngroups, 2);
    assert_true(gh_actor_in_group(&a, "group:default/engineering"));
    assert_true(gh_actor_in_group(&a, "group:default/payments"));
    /* Entra: groups as object ids, roles claim with app roles */
    char *admin_role[] = {"platform-admins"};
    struct gh_oidc_login entra = {.sub = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
                                  .email = "bo@contoso.com",
                                  .roles = admin_role,
                                  .nroles = 1};
    assert_int_equal(gh_identity_map(id, &entra, &a, &err), 0);
    assert_string_equal(a.user, "user:default/bo");
    assert_int_equal(a.role, GH_ROLE_ADMIN);
    assert_int_equal(a.ngroups, 0);
    /* nothing mapped: the default role; a name from sub when nothing else */
    struct gh_oidc_login bare = {.sub = "--__--"};
    assert_int_equal(gh_identity_map(id, &bare, &a, &err), GH_EINVAL);
    struct gh_oidc_login keycloak = {.sub = "f:1c:carl", .username = "carl"};
    assert_int_equal(gh_identity_map(id, &keycloak, &a, &err), 0);
    assert_int_equal(a.role, GH_ROLE_DEVELOPER);
    assert_string_equal(a.user, "user:default/carl");
    gh_actor_clear(&a);
    /* return_to: only paths on this site */
    assert_true(gh_oidc_safe_return("/catalog?kind=api"));
    assert_false(gh_oidc_safe_return("//evil.example/x"));
    assert_false(gh_oidc_safe_return("/\\evil.example"));
    assert_false(gh_oidc_safe_return("https://evil.example/"));
    assert_false(gh_oidc_safe_return("/a\r\nSet-Cookie: x=1"));
    assert_false(gh_oidc_safe_return(""));
    gh_config_free(cfg);
}

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *want;
    } bad[] = {
        {"identity:\n  oidc: { issuer: https://i, client_id: c }\n",
         "t.yaml:2: identity.oidc: issuer, client_id and redirect_uri are required"},
        {"identity:\n  oidc: { issuer: https://i, client_id: c, redirect_uri: https://p/cb }\n",
         "t.yaml:2: identity.oidc.redirect_uri: 'https://p/cb' must end in /auth/callback"},
        {"identity:\n  oidc: { issuer: https://i, client_id: c, redirect_uri: https://p/auth/callback,\n"
         "          client_secret: hunter2 }\n",
         "identity.oidc.client_secret: must be a secret:NAME reference"},
        {"identity:\n  oidc: { issuer: https://i, client_id: c, redirect_uri: https://p/auth/callback,\n"
         "          algorithms: [HS256] }\n",
         "identity.oidc.algorithms: 'HS256' is not accepted"},
        {"identity:\n  oidc: { issuer: https://i, client_id: c, redirect_uri: https://p/auth/callback,\n"
         "          scopes: [profile] }\n",
         "identity.oidc.scopes: must include openid"},
        {"identity:\n  role_map: { admins: root }\n",
         "t.yaml:2: identity.role_map.admins: 'root' must be admin, auditor, api-publisher or developer"},
        {"identity:\n  group_map: { eng: component:default/x }\n",
         "identity.group_map.eng: 'component:default/x' must be a Group"},
        {"identity:\n  dev_login: true\n  oidc: { issuer: https://i, client_id: c, redirect_uri: "
         "https://p/auth/callback }\n",
         "identity.dev_login: is only for a config without identity.oidc"},
        {"identity:\n  session: { idle_timeout: 2h, absolute_timeout: 1h }\n",
         "identity.session: idle_timeout is longer than absolute_timeout"},
        {"identity:\n  default_role: admin\n", "identity.default_role: 'admin' must be developer"},
    };
    for (size_t i = 0; i < GH_ARRAY_SIZE(bad); i++) {
        struct gh_config *cfg = NULL;
        struct gh_err err = {{0}};
        assert_int_equal(gh_config_load_string("t.yaml", bad[i].yaml, strlen(bad[i].yaml), &cfg, &err),
                         GH_EINVAL);
        if (strstr(err.msg, bad[i].want) == NULL)
            fail_msg("case %zu: %s", i, err.msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),  cmocka_unit_test(test_ownership),     cmocka_unit_test(test_routes),
        cmocka_unit_test(test_claims), cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
