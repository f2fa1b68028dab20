/*
 * perm.c: see perm.h. The whole policy is the table below.
 */
#include "perm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R(x) (1u << (x))
#define EVERYONE (R(GH_ROLE_DEVELOPER) | R(GH_ROLE_API_PUBLISHER) | R(GH_ROLE_AUDITOR) | R(GH_ROLE_ADMIN))
#define READERS (R(GH_ROLE_AUDITOR) | R(GH_ROLE_ADMIN))
#define MAKERS (R(GH_ROLE_DEVELOPER) | R(GH_ROLE_API_PUBLISHER) | R(GH_ROLE_ADMIN))

enum {
    OWNER_GROUP = 1, /* members of the resource's owning group may */
    OWNER_USER = 2,  /* the resource's owning user may */
};

enum {
    ANYONE = 1, /* not even signed in */
    LOCAL = 2,  /* any client on this machine */
};

static const struct rule {
    const char *name;
    unsigned roles;  /* may, on anything */
    unsigned owners; /* may, on what they own (OWNER_*): roles in `route` pass the route-level check */
    const char *who; /* for the refusal */
    unsigned route;  /* roles that pass when no object is named yet (the handler checks the object) */
    unsigned also;   /* ANYONE, LOCAL */
} rules[GH_ACT_COUNT] = {
    [GH_ACT_SIGN_IN] = {"sign-in", 0, 0, "anyone", 0, ANYONE},
    [GH_ACT_SESSION] = {"session", EVERYONE, 0, "anyone signed in", 0, 0},
    [GH_ACT_CATALOG_READ] = {"catalog.read", EVERYONE, 0, "anyone signed in", 0, 0},
    [GH_ACT_CATALOG_WRITE] = {"catalog.write", R(GH_ROLE_API_PUBLISHER) | R(GH_ROLE_ADMIN), 0,
                              "api-publishers and admins", 0, 0},
    [GH_ACT_PLANS_READ] = {"plans.read", EVERYONE, 0, "anyone signed in", 0, 0},
    [GH_ACT_APPS_READ] = {"apps.read", READERS, OWNER_USER, "their owners, auditors and admins", MAKERS, 0},
    [GH_ACT_APPS_MANAGE] = {"apps.manage", R(GH_ROLE_ADMIN), OWNER_USER | OWNER_GROUP,
                            "their owners and admins", MAKERS, 0},
    [GH_ACT_GRANTS_MANAGE] = {"grants.manage", R(GH_ROLE_ADMIN), 0, "admins", 0, 0},
    [GH_ACT_GRANTS_REVOKE] = {"grants.revoke", R(GH_ROLE_ADMIN), OWNER_GROUP | OWNER_USER,
                              "the API's owners, the application's owners and admins", MAKERS, 0},
    [GH_ACT_ACCESS_REQUEST] = {"access.request", MAKERS, 0, "developers, api-publishers and admins", 0, 0},
    [GH_ACT_ACCESS_APPROVE] = {"access.approve", R(GH_ROLE_ADMIN), OWNER_GROUP, "the API's owners and admins",
                               MAKERS, 0},
    [GH_ACT_CONSUMERS_VIEW] = {"consumers.view", READERS, OWNER_GROUP,
                               "the API's owners, auditors and admins", MAKERS, 0},
    [GH_ACT_USAGE_VIEW] = {"usage.view", READERS, OWNER_GROUP | OWNER_USER,
                           "the API's owners, the application's owner, auditors and admins", MAKERS, 0},
    [GH_ACT_AUDIT_VIEW] = {"audit.view", READERS, 0, "auditors and admins", 0, 0},
    [GH_ACT_METRICS_VIEW] = {"metrics.view", READERS, 0, "auditors, admins and clients on this machine", 0,
                             LOCAL},
    [GH_ACT_TOKENS_MANAGE] = {"tokens.manage", R(GH_ROLE_ADMIN), 0, "admins", 0, 0},
    [GH_ACT_SECRETS_MANAGE] = {"secrets.manage", R(GH_ROLE_ADMIN), 0, "admins", 0, 0},
    [GH_ACT_WEBHOOKS_VIEW] = {"webhooks.view", R(GH_ROLE_ADMIN), 0, "admins", 0, 0},
    [GH_ACT_CONFIG_VIEW] = {"config.view", R(GH_ROLE_ADMIN), 0, "admins", 0, 0},
};

static const char *const role_names[] = {NULL, "developer", "api-publisher", "auditor", "admin"};

const char *gh_role_name(enum gh_role r)
{
    return (unsigned)r < GH_ARRAY_SIZE(role_names) ? role_names[r] : NULL;
}

enum gh_role gh_role_parse(const char *name)
{
    for (size_t i = 1; name && i < GH_ARRAY_SIZE(role_names); i++)
        if (strcmp(name, role_names[i]) == 0)
            return (enum gh_role)i;
    return GH_ROLE_NONE;
}

const char *gh_action_name(enum gh_action a)
{
    return (unsigned)a < GH_ACT_COUNT ? rules[a].name : "unknown";
}

void gh_actor_clear(struct gh_actor *a)
{
    for (size_t i = 0; i < a->ngroups; i++)
        free(a->groups[i]);
    memset(a, 0, sizeof(*a));
}

void gh_actor_add_group(struct gh_actor *a, const char *ref)
{
    if (a->ngroups < GH_ACTOR_GROUPS_MAX && !gh_actor_in_group(a, ref))
        a->groups[a->ngroups++] = gh_strdup(ref);
}

int gh_actor_in_group(const struct gh_actor *a, const char *ref)
{
    for (size_t i = 0; ref && i < a->ngroups; i++)
        if (strcmp(a->groups[i], ref) == 0)
            return 1;
    return 0;
}

enum gh_perm_result gh_perm_check(const struct gh_actor *a, enum gh_action act,
                                  const struct gh_perm_resource *res, char *why, size_t why_cap)
{
    if ((unsigned)act >= GH_ACT_COUNT || rules[act].name == NULL) { /* no rule: nobody */
        if (why)
            snprintf(why, why_cap, "no permission rule for this action");
        return a && a->role ? GH_PERM_DENY : GH_PERM_UNAUTHENTICATED;
    }
    const struct rule *r = &rules[act];
    if ((r->also & ANYONE) || ((r->also & LOCAL) && a && a->local))
        return GH_PERM_ALLOW;
    if (a == NULL || a->role == GH_ROLE_NONE) {
        if (why)
            snprintf(why, why_cap, "sign in first: %s is for %s", r->name, r->who);
        return GH_PERM_UNAUTHENTICATED;
    }
    unsigned me = R(a->role);
    if (r->roles & me)
        return GH_PERM_ALLOW;
    if (r->owners && (r->route & me)) {
        if (res == NULL)
            return GH_PERM_ALLOW; /* the handler asks again with the object */
        if ((r->owners & OWNER_GROUP) && res->owner_group && gh_actor_in_group(a, res->owner_group))
            return GH_PERM_ALLOW;
        if ((r->owners & OWNER_USER) && res->owner_user && a->user[0] &&
            strcmp(res->owner_user, a->user) == 0)
            return GH_PERM_ALLOW;
    }
    if (why)
        snprintf(why, why_cap, "%s is for %s; you are %s (%s)", r->name, r->who, a->id,
                 gh_role_name(a->role));
    return GH_PERM_DENY;
}
