/*
 * rules: which access rule decides a request for access -- the config's access_rules, top to bottom,
 * the first whose conditions all hold. Pure: the caller gathers the facts (who asks, the API as the
 * catalog describes it, the plan), so `gatehouse access explain`, the REST API and the request
 * workflow see the same answer, with the reason each earlier rule did not match.
 */
#ifndef GH_ACCESS_RULES_H
#define GH_ACCESS_RULES_H

#include "../base/json.h"
#include "../catalog/catalog.h"
#include "../config/config.h"
#include "../identity/perm.h"

/* The API as the catalog has it (refs canonical, lower case). */
struct gh_rule_api {
    const char *ref, *owner, *system, *lifecycle; /* NULL when the entity has none */
    const struct gh_json *tags;                   /* metadata.tags (array) or NULL */
    const struct gh_json *annotations;            /* metadata.annotations (object) or NULL */
};

/* The facts of an API entity (borrowed from it). */
void gh_rule_api_from_entity(const struct gh_json *entity, struct gh_rule_api *out,
                             char owner[GH_ENTITY_REF_MAX], char system[GH_ENTITY_REF_MAX]);

struct gh_rule_outcome {
    const struct gh_config_rule *rule; /* the deciding rule (never NULL when cfg has rules) */
    size_t index;
    /* why each earlier rule did not match, one sentence each: [{rule, reason}] (the caller releases it) */
    struct gh_json *skipped;
};

/* Decides for requester asking for plan on api. 0, or GH_ENOTFOUND when the config has no rules. */
int gh_rules_decide(const struct gh_config *cfg, const struct gh_actor *requester,
                    const struct gh_rule_api *api, const char *plan, struct gh_rule_outcome *out);

const char *gh_rule_decision_name(enum gh_rule_decision d); /* "approve", "owner_approval", ... */

/* The outcome as JSON: {rule, decide, maxDurationSeconds, skipped} (new reference). */
struct gh_json *gh_rules_explain(const struct gh_rule_outcome *o);

/* A person by their User ref or name (`ana`): teams and role as the catalog and role_map make them.
 * GH_EINVAL for a ref that is not a User, GH_ENOTFOUND when the catalog has none. */
struct gh_store;
int gh_access_person(struct gh_store *s, const struct gh_config *cfg, const char *user, struct gh_actor *out,
                     struct gh_err *err);

/* Explains who may get `plan` on `api` (a name, or an API entity ref) the way a request would be
 * decided: {api, plan, requester, rule, decide, maxDurationSeconds, skipped}. GH_ENOTFOUND for an
 * unknown API or plan, GH_EINVAL without rules (err says which). */
struct gh_store;
int gh_access_explain(struct gh_store *s, const struct gh_config *cfg, const struct gh_actor *who,
                      const char *api, const char *plan, struct gh_json **out, struct gh_err *err);

#endif
