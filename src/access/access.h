/*
 * access: applications, their credentials and their grants, in the store. Every change runs in one
 * transaction with its audit event (gh_audit_change). Keys are shown once, when issued: only their
 * SHA-256 is stored, and their visible id (the first 12 characters) names them everywhere else.
 *
 * Enforcement in the gateway (the credential table the workers read, rate limits, quotas) builds on
 * these rows; permission checks arrive with identity (the caller of these functions is trusted).
 */
#ifndef GH_ACCESS_H
#define GH_ACCESS_H

#include "../config/config.h"
#include "../store/store.h"
#include "../catalog/catalog.h"
#include "keys.h"

#define GH_ACCESS_ID_MAX 40

int gh_app_create(struct gh_store *s, const char *actor, const char *name, const char *owner,
                  char id[GH_ACCESS_ID_MAX], struct gh_err *err);
/* Who owns an application (a User or Group ref, canonical), or GH_ENOTFOUND. */
int gh_app_owner(struct gh_store *s, const char *name, char owner[GH_ENTITY_REF_MAX], struct gh_err *err);

/* Issues a key in slot "primary" or "secondary" of an application (by name); the key that held the
 * slot is revoked in the same transaction, so a caller switches slots without downtime. The key stops
 * working at expires_ms (0: never). */
int gh_key_issue(struct gh_store *s, const char *actor, const char *app, const char *slot,
                 uint64_t expires_ms, char key[GH_KEY_LEN + 1], char id[GH_KEY_ID_LEN + 1],
                 struct gh_err *err);
/* Rotates an application's keys without downtime: the secondary key becomes primary (the old primary
 * is revoked) and a new secondary is issued, shown once. With no secondary yet, only the new secondary
 * is issued (the primary stays: move clients to the new key, then rotate again). key.rotated event. */
struct gh_key_rotation {
    char key[GH_KEY_LEN + 1], id[GH_KEY_ID_LEN + 1]; /* the new secondary */
    char promoted_id[GH_KEY_ID_LEN + 1];             /* "" when there was no secondary */
    char revoked_id[GH_KEY_ID_LEN + 1];              /* the old primary, "" when none was revoked */
};
int gh_key_rotate(struct gh_store *s, const char *actor, const char *app, struct gh_key_rotation *out,
                  struct gh_err *err);
/* Binds an issuer's client (the `iss` and the client claim's value of its tokens) to an application
 * (by name): tokens naming it act for the application. Revoked like a key (gh_key_revoke, by id). */
int gh_jwt_bind(struct gh_store *s, const char *actor, const char *app, const char *issuer,
                const char *client, char id[GH_ACCESS_ID_MAX], struct gh_err *err);
int gh_key_revoke(struct gh_store *s, const char *actor, const char *key_id, struct gh_err *err);

/* Grants an application (by name) access to a configured API under one of its plans, until
 * expires_ms (0: no end). One grant per application and API: GH_EINVAL when there is one. */
int gh_grant_create(struct gh_store *s, const char *actor, const struct gh_config *cfg, const char *app,
                    const char *api, const char *plan, uint64_t expires_ms, char id[GH_ACCESS_ID_MAX],
                    struct gh_err *err);
int gh_grant_revoke(struct gh_store *s, const char *actor, const char *grant_id, struct gh_err *err);

/* Admin API tokens for the control API: role admin, auditor, api-publisher or developer. The token
 * ("gha_...") is shown once; only its SHA-256 is stored. */
int gh_token_create(struct gh_store *s, const char *actor, const char *name, const char *role,
                    const char *user, char token[GH_KEY_LEN + 1], char id[GH_KEY_ID_LEN + 1],
                    struct gh_err *err);
int gh_token_revoke(struct gh_store *s, const char *actor, const char *id, struct gh_err *err);
/* The role of an active token as presented: 0 with role, id and the User ref it acts for ("" for a
 * service token), GH_ENOTFOUND, or a store error. */
int gh_token_role(struct gh_store *s, struct gh_str token, char role[32], char id[GH_KEY_ID_LEN + 1],
                  char user[128]);
/* id, name, role, state, created_by, created_at */
int gh_token_list(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err);

/* Rows for listings. apps: name, owner, created_at, keys (active), grants (active).
 * keys: id, app, slot (for JWT bindings: issuer and client id), state, created_at, expires_at ("" none),
 * the application's owner. grants: id, app, api, plan, state, expires_at, the application's owner. */
int gh_app_list(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err);
int gh_key_list(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err);
int gh_grant_list(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err);

/* ---- requests for access ---- */

struct gh_actor;
struct gh_config_rule;

struct gh_request_new {
    const struct gh_actor *requester; /* a person (user set), with their teams */
    const char *api, *plan;
    const char *app;       /* an application of theirs or of one of their teams */
    const char *app_owner; /* when app does not exist: create it for this owner (them, or a team) */
    const char *justification;
    uint64_t duration_ms; /* wished (0: the rule's maximum); capped by the rule */
};

struct gh_request_result {
    char id[GH_ACCESS_ID_MAX];
    char state[16]; /* approved, pending, denied */
    char rule[64], decide[20];
    char existing[GH_ACCESS_ID_MAX]; /* GH_EEXIST: the pending request already there */
    uint64_t duration_ms, expires_ms;
    char grant_id[GH_ACCESS_ID_MAX];
    char key[GH_KEY_LEN + 1]; /* a new key when approval issued one ("" otherwise): shown once */
    char key_id[GH_KEY_ID_LEN + 1];
};

/* A request, decided by `rule` (gh_rules_decide): recorded, and when the rule approves, the grant
 * (expiring after the duration) and a primary key if the application has no active one -- the request,
 * the grant and the key each with their audit event, in one transaction. GH_EEXIST when the
 * application has a pending request for the API; GH_EPERM when the application is not theirs. */
int gh_request_create(struct gh_store *s, const struct gh_config *cfg, const struct gh_request_new *n,
                      const struct gh_config_rule *rule, uint64_t now_ms, struct gh_request_result *out,
                      struct gh_err *err);
/* The requester takes back a pending request of theirs (GH_ENOTFOUND for anyone else's). */
int gh_request_withdraw(struct gh_store *s, const char *user, const char *id, struct gh_err *err);
/* A person's requests: id, app, api, plan, state, rule, decide, created_at, grant_id, decided_by. */
int gh_request_list(struct gh_store *s, const char *user, gh_store_row_fn fn, void *ctx, struct gh_err *err);

/* One request as stored (for deciding it). */
struct gh_request_info {
    char id[GH_ACCESS_ID_MAX], requester[128], app[GH_ACCESS_ID_MAX], api[64], plan[64], decide[20],
        state[16];
    uint64_t duration_ms;
};
int gh_request_get(struct gh_store *s, const char *id, struct gh_request_info *out, struct gh_err *err);

/* Approves (the grant, ending after the request's duration, in the same transaction) or denies a
 * pending request, as `by` -- whose right to is the caller's check (owners, admins). GH_EPERM for the
 * requester themselves; GH_EEXIST when it is no longer pending. */
int gh_request_decide(struct gh_store *s, const struct gh_request_info *r, const char *by, int approve,
                      const char *comment, uint64_t now_ms, char grant_id[GH_ACCESS_ID_MAX],
                      struct gh_err *err);

/* Every pending request: id, requester, app, api, plan, decide, justification, created_at. */
int gh_request_pending(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err);

/* Whose a key is (its application's owner), and a grant (its application's owner, and the API). */
int gh_key_owner(struct gh_store *s, const char *key_id, char owner[GH_ENTITY_REF_MAX], struct gh_err *err);
int gh_grant_owner(struct gh_store *s, const char *grant_id, char owner[GH_ENTITY_REF_MAX], char api[64],
                   struct gh_err *err);
/* An API's consumers: grant id, application, its owner, plan, state, expires_at ("" none), created_at,
 * requests and throttled requests since since_ms. */
int gh_api_consumers(struct gh_store *s, const char *api, uint64_t since_ms, gh_store_row_fn fn, void *ctx,
                     struct gh_err *err);

/* The workflow's clock, run by the control thread (and by tests with any now_ms): grants past their
 * end become expired (the gateway drops them), requests pending longer than access.pending_timeout
 * become expired, and grants ending within one of access.reminders get a grant.expiring event, once per
 * lead time (the shortest that applies). Each step is one transaction with its audit and webhook
 * events; at most 256 of each kind per call. Events every webhook is done with are deleted after 30
 * days (with their deliveries), the newest always kept. */
struct gh_sweep_result {
    int grants_expired, requests_expired, reminders;
};
int gh_access_sweep(struct gh_store *s, const struct gh_config *cfg, uint64_t now_ms,
                    struct gh_sweep_result *out, struct gh_err *err);

#endif
