/*
 * rules.c: see rules.h.
 */
#include "rules.h"

#include "../catalog/db.h"
#include "../identity/oidc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const decisions[] = {NULL, "approve", "owner_approval", "admin_approval", "deny"};

const char *gh_rule_decision_name(enum gh_rule_decision d)
{
    return (unsigned)d < GH_ARRAY_SIZE(decisions) && decisions[d] ? decisions[d] : "unknown";
}

static void canonical(const char *text, const char *kind, char out[GH_ENTITY_REF_MAX])
{
    struct gh_entity_ref r;
    out[0] = '\0';
    if (text && gh_catalog_parse_ref((struct gh_str){text, strlen(text)}, kind, NULL, &r, NULL) == 0)
        gh_catalog_ref_string(&r, out, GH_ENTITY_REF_MAX);
}

void gh_rule_api_from_entity(const struct gh_json *e, struct gh_rule_api *out, char owner[GH_ENTITY_REF_MAX],
                             char system[GH_ENTITY_REF_MAX])
{
    const struct gh_json *md = gh_json_get(e, "metadata"), *spec = gh_json_get(e, "spec");
    canonical(gh_json_str(gh_json_get(spec, "owner"), NULL), "Group", owner);
    canonical(gh_json_str(gh_json_get(spec, "system"), NULL), "System", system);
    *out = (struct gh_rule_api){.owner = owner[0] ? owner : NULL,
                                .system = system[0] ? system : NULL,
                                .lifecycle = gh_json_str(gh_json_get(spec, "lifecycle"), NULL),
                                .tags = gh_json_get(md, "tags"),
                                .annotations = gh_json_get(md, "annotations")};
}

static int in_list(const struct gh_config_list *l, const char *v)
{
    for (size_t i = 0; v && i < l->n; i++)
        if (strcasecmp(l->v[i], v) == 0)
            return 1;
    return 0;
}

static int has_tag(const struct gh_config_list *l, const struct gh_json *tags)
{
    for (size_t i = 0; i < gh_json_size(tags); i++)
        if (in_list(l, gh_json_str(gh_json_at(tags, i), NULL)))
            return 1;
    return 0;
}

static void join(char *out, size_t cap, const struct gh_config_list *l)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l->n && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", l->v[i]);
}

/* NULL when every condition holds; else why not (in why). */
static const char *mismatch(const struct gh_config_rule *r, const struct gh_actor *who,
                            const struct gh_rule_api *api, const char *plan, char *why, size_t cap)
{
    char list[400];
    if (r->requester_groups_any.set) {
        int any = 0;
        for (size_t i = 0; i < who->ngroups && !any; i++)
            any = in_list(&r->requester_groups_any, who->groups[i]);
        if (!any) {
            join(list, sizeof(list), &r->requester_groups_any);
            snprintf(why, cap, "the requester is in none of the groups %s", list);
            return why;
        }
    }
    if (r->requester_roles_any.set && !in_list(&r->requester_roles_any, gh_role_name(who->role))) {
        join(list, sizeof(list), &r->requester_roles_any);
        snprintf(why, cap, "the requester's role (%s) is not one of %s",
                 gh_role_name(who->role) ? gh_role_name(who->role) : "none", list);
        return why;
    }
    if (r->api_owner.set && !in_list(&r->api_owner, api->owner)) {
        join(list, sizeof(list), &r->api_owner);
        snprintf(why, cap, "the API's owner (%s) is not one of %s", api->owner ? api->owner : "none", list);
        return why;
    }
    if (r->api_system.set && !in_list(&r->api_system, api->system)) {
        join(list, sizeof(list), &r->api_system);
        snprintf(why, cap, "the API's system (%s) is not one of %s", api->system ? api->system : "none",
                 list);
        return why;
    }
    if (r->api_lifecycle.set && !in_list(&r->api_lifecycle, api->lifecycle)) {
        join(list, sizeof(list), &r->api_lifecycle);
        snprintf(why, cap, "the API's lifecycle (%s) is not one of %s",
                 api->lifecycle ? api->lifecycle : "none", list);
        return why;
    }
    if (r->api_tags_any.set && !has_tag(&r->api_tags_any, api->tags)) {
        join(list, sizeof(list), &r->api_tags_any);
        snprintf(why, cap, "the API has none of the tags %s", list);
        return why;
    }
    if (r->api_tags_none.set && has_tag(&r->api_tags_none, api->tags)) {
        join(list, sizeof(list), &r->api_tags_none);
        snprintf(why, cap, "the API has one of the tags %s", list);
        return why;
    }
    for (size_t i = 0; i < r->napi_annotations; i++) {
        const char *v = gh_json_str(gh_json_get(api->annotations, r->api_annotations[i].from), NULL);
        if (v == NULL || strcmp(v, r->api_annotations[i].to) != 0) {
            snprintf(why, cap, "the API's annotation %s is %s%s%s, not %s", r->api_annotations[i].from,
                     v ? "'" : "", v ? v : "absent", v ? "'" : "", r->api_annotations[i].to);
            return why;
        }
    }
    if (r->plans.set && !in_list(&r->plans, plan)) {
        join(list, sizeof(list), &r->plans);
        snprintf(why, cap, "the plan (%s) is not one of %s", plan ? plan : "none", list);
        return why;
    }
    return NULL;
}

int gh_rules_decide(const struct gh_config *cfg, const struct gh_actor *requester,
                    const struct gh_rule_api *api, const char *plan, struct gh_rule_outcome *out)
{
    memset(out, 0, sizeof(*out));
    out->skipped = gh_json_array();
    for (size_t i = 0; i < cfg->nrules; i++) {
        char why[600];
        const char *no = mismatch(&cfg->rules[i], requester, api, plan, why, sizeof(why));
        if (no == NULL) {
            out->rule = &cfg->rules[i];
            out->index = i;
            return 0;
        }
        struct gh_json *s = gh_json_object();
        gh_json_set(s, "rule", gh_json_string(cfg->rules[i].name, strlen(cfg->rules[i].name)));
        struct gh_json *reason = gh_json_string(no, strlen(no));
        gh_json_set(s, "reason", reason ? reason : gh_json_string("?", 1));
        gh_json_append(out->skipped, s);
    }
    return GH_ENOTFOUND;
}

struct gh_json *gh_rules_explain(const struct gh_rule_outcome *o)
{
    struct gh_json *j = gh_json_object();
    if (o->rule) {
        gh_json_set(j, "rule", gh_json_string(o->rule->name, strlen(o->rule->name)));
        const char *d = gh_rule_decision_name(o->rule->decide);
        gh_json_set(j, "decide", gh_json_string(d, strlen(d)));
        if (o->rule->max_duration_ms)
            gh_json_set(j, "maxDurationSeconds", gh_json_int((int64_t)(o->rule->max_duration_ms / 1000)));
    }
    gh_json_set(j, "skipped", gh_json_ref(o->skipped));
    return j;
}

int gh_access_explain(struct gh_store *s, const struct gh_config *cfg, const struct gh_actor *who,
                      const char *api, const char *plan, struct gh_json **out, struct gh_err *err)
{
    if (cfg->nrules == 0)
        return gh_err_set(err, GH_EINVAL, "no access_rules are configured: nobody can ask for access yet");
    int known = 0;
    for (size_t i = 0; plan && i < cfg->nplans && !known; i++)
        known = strcmp(cfg->plans[i].name, plan) == 0;
    if (!known)
        return gh_err_set(err, GH_ENOTFOUND, "no plan named '%s'", plan ? plan : "");
    char ref[GH_ENTITY_REF_MAX];
    struct gh_entity_ref r;
    if (gh_catalog_parse_ref((struct gh_str){api, strlen(api)}, "API", NULL, &r, err) != 0 ||
        strcasecmp(r.kind, "api") != 0)
        return gh_err_set(err, GH_ENOTFOUND, "'%s' is not an API (like orders or api:default/orders)", api);
    gh_catalog_ref_string(&r, ref, sizeof(ref));
    struct gh_json *e = gh_catalog_get_by_ref(s, ref, err);
    if (e == NULL)
        return gh_err_set(err, GH_ENOTFOUND, "no API %s in the catalog", ref);
    struct gh_rule_api facts;
    char owner[GH_ENTITY_REF_MAX], system[GH_ENTITY_REF_MAX];
    gh_rule_api_from_entity(e, &facts, owner, system);
    struct gh_rule_outcome o;
    gh_rules_decide(cfg, who, &facts, plan, &o); /* the last rule has no conditions: always decides */
    struct gh_json *j = gh_rules_explain(&o);
    gh_json_set(j, "api", gh_json_string(ref, strlen(ref)));
    gh_json_set(j, "plan", gh_json_string(plan, strlen(plan)));
    gh_json_set(j, "requester", gh_json_string(who->id, strlen(who->id)));
    gh_json_unref(o.skipped);
    gh_json_unref(e);
    *out = j;
    return 0;
}

int gh_access_person(struct gh_store *s, const struct gh_config *cfg, const char *user, struct gh_actor *out,
                     struct gh_err *err)
{
    struct gh_entity_ref r;
    char ref[GH_ENTITY_REF_MAX];
    if (gh_catalog_parse_ref((struct gh_str){user, strlen(user)}, "User", NULL, &r, NULL) != 0 ||
        strcasecmp(r.kind, "user") != 0)
        return gh_err_set(err, GH_EINVAL, "'%s' is not a User (like ana or user:default/ana)", user);
    gh_catalog_ref_string(&r, ref, sizeof(ref));
    struct gh_json *e = gh_catalog_get_by_ref(s, ref, NULL);
    if (e == NULL)
        return gh_err_set(err, GH_ENOTFOUND, "no %s in the catalog", ref);
    gh_identity_person(&cfg->identity, e, out);
    gh_json_unref(e);
    return 0;
}
