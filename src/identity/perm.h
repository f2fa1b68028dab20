/*
 * perm: who may do what -- the one permission check. Every control-plane route names the action it
 * performs (portal/api.c's route table) and asks gh_perm_check before doing anything; handlers that
 * touch one object (an application, a request) ask again with that object's owner filled in.
 *
 * An actor is who is calling: a signed-in user (a session), the holder of an API token (a role, and a
 * user when it is a personal token), or nobody. Roles are ordered only by what the table grants them:
 *   admin          everything
 *   auditor        reads everything, changes nothing (audit log, usage, consumers)
 *   api-publisher  a developer who may also register catalog entities and locations
 *   developer      reads the catalog, requests access, manages what they own
 * Ownership adds rights: members of an API's owning group (spec.owner) approve access to it and see
 * its consumers; the owner of an application, key or request manages it.
 */
#ifndef GH_IDENTITY_PERM_H
#define GH_IDENTITY_PERM_H

#include "../base/base.h"

enum gh_role { GH_ROLE_NONE = 0, GH_ROLE_DEVELOPER, GH_ROLE_API_PUBLISHER, GH_ROLE_AUDITOR, GH_ROLE_ADMIN };

/* "admin", "auditor", "api-publisher", "developer" (NULL for none) and back (GH_ROLE_NONE: unknown). */
const char *gh_role_name(enum gh_role r);
enum gh_role gh_role_parse(const char *name);

#define GH_ACTOR_GROUPS_MAX 64

struct gh_actor {
    enum gh_role role; /* GH_ROLE_NONE: not signed in */
    char id[128];      /* for the audit trail: "user:default/alice", "token:gha_XXXX", "admin-token" */
    char user[128];    /* the User entity ref ("user:default/alice"), "" when no person */
    char *groups[GH_ACTOR_GROUPS_MAX]; /* Group entity refs the user is a member of (owned strings) */
    size_t ngroups;
    int session; /* authenticated by a portal session cookie (so CSRF rules apply) */
    int local;   /* connected from this machine (loopback) */
};

void gh_actor_clear(struct gh_actor *a); /* frees the groups, back to nobody */
void gh_actor_add_group(struct gh_actor *a, const char *ref);
int gh_actor_in_group(const struct gh_actor *a, const char *ref); /* exact entity ref */

enum gh_action {
    GH_ACT_SIGN_IN,        /* the sign-in pages and the provider's answer: anyone */
    GH_ACT_SESSION,        /* who am I, sign out */
    GH_ACT_CATALOG_READ,   /* entities, facets, search, validation */
    GH_ACT_CATALOG_WRITE,  /* locations, refresh, delete entities */
    GH_ACT_PLANS_READ,     /* plans with their limits */
    GH_ACT_APPS_READ,      /* applications, keys and grants (own ones; all for admin/auditor) */
    GH_ACT_APPS_MANAGE,    /* create applications, issue and revoke keys, bind clients */
    GH_ACT_GRANTS_MANAGE,  /* grant access directly (outside the request workflow) */
    GH_ACT_GRANTS_REVOKE,  /* end a grant (the API's owners, the application's owners, admins) */
    GH_ACT_ACCESS_REQUEST, /* ask for access to an API */
    GH_ACT_ACCESS_APPROVE, /* decide a request (owners of the API, admins) */
    GH_ACT_CONSUMERS_VIEW, /* who uses an API, and how much (owners, admins, auditors) */
    GH_ACT_USAGE_VIEW,     /* usage series */
    GH_ACT_AUDIT_VIEW,     /* the audit log and its export */
    GH_ACT_METRICS_VIEW,   /* Prometheus metrics (also any client on this machine, as scrapers are) */
    GH_ACT_TOKENS_MANAGE,  /* API tokens of others; one's own personal tokens need only SESSION */
    GH_ACT_SECRETS_MANAGE, /* the secret store */
    GH_ACT_WEBHOOKS_VIEW,  /* webhooks and the state of their deliveries */
    GH_ACT_CONFIG_VIEW,    /* the admin pages: plans, access rules and webhooks as configured */
    GH_ACT_COUNT
};

const char *gh_action_name(enum gh_action a); /* "catalog.read", ... */

/* The object acted on, when there is one (fields NULL when not known or not relevant). */
struct gh_perm_resource {
    const char *owner_group; /* the API's owning Group ref (spec.owner) */
    const char *owner_user;  /* the User ref owning an application, key or request */
};

enum gh_perm_result {
    GH_PERM_ALLOW = 0,
    GH_PERM_UNAUTHENTICATED, /* nobody is signed in: 401 */
    GH_PERM_DENY,            /* signed in but not allowed: 403 */
};

/* The one check. res may be NULL (a route-level check: object rules allow then, and the handler
 * checks again with the object). why (optional) gets a sentence for the error body. */
enum gh_perm_result gh_perm_check(const struct gh_actor *a, enum gh_action act,
                                  const struct gh_perm_resource *res, char *why, size_t why_cap);

#endif
