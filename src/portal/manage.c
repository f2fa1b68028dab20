/*
 * manage.c: the management part of the control API -- applications, their keys and JWT bindings,
 * grants, and the configured plans -- for admin tokens until identity brings user sessions. Every
 * change goes through access/ (permission, store and audit event in one transaction); a key is in
 * the response that creates it and nowhere else.
 *
 *   GET  /api/plans                      GET  /api/apps            POST /api/apps {name, owner}
 *   GET  /api/keys                       POST /api/apps/NAME/keys {slot}
 *   POST /api/apps/NAME/bindings {issuer, clientId}                DELETE /api/keys/ID
 *   GET  /api/grants                     POST /api/grants {app, api, plan, expiresIn}
 *   DELETE /api/grants/ID
 */
#include "internal.h"

#include "../access/rules.h"
#include "../catalog/db.h"
#include "../identity/oidc.h"

#include "../access/access.h"
#include "../access/webhook.h"
#include "../http/http.h"
#include "../catalog/service.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

static struct gh_json *js(const char *s)
{
    return gh_json_string(s, strlen(s));
}

/* An access/ failure as HTTP: unknown things 404, conflicts 409, bad input 400, the rest 500. */
static void access_error(struct gh_presp *r, int rc, const struct gh_err *err)
{
    if (rc == GH_ENOTFOUND)
        gh__api_error(r, 404, err->msg);
    else if (rc == GH_EEXIST)
        gh__api_error(r, 409, err->msg);
    else if (rc == GH_EPERM)
        gh__api_error(r, 403, err->msg);
    else if (rc == GH_EINVAL)
        gh__api_error(r, strstr(err->msg, "already") || strstr(err->msg, " exists") ? 409 : 400, err->msg);
    else {
        gh_log(GH_LOG_ERROR, "api: %s", err->msg);
        gh__api_error(r, 500, "the store failed; see the server log");
    }
}

/* ---- listings: rows to objects ---- */

struct rows {
    const char *const *names;
    size_t n;
    struct gh_json *items;
    const struct gh_actor *only; /* non-NULL: only rows this person or their teams own... */
    size_t owner_col;            /* ...by the owner in this column */
};

static int on_row(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct rows *x = ctx;
    if (x->only) {
        char owner[GH_ENTITY_REF_MAX];
        const struct gh_store_val *v = x->owner_col < n ? &c[x->owner_col] : NULL;
        if (v == NULL || v->type != GH_VAL_TEXT || v->len >= sizeof(owner))
            return 0;
        memcpy(owner, v->p, v->len);
        owner[v->len] = '\0';
        if (strcmp(owner, x->only->user) != 0 && !gh_actor_in_group(x->only, owner))
            return 0;
    }
    struct gh_json *o = gh_json_object();
    for (size_t i = 0; i < n && i < x->n; i++)
        gh_json_set(o, x->names[i],
                    c[i].type == GH_VAL_INT    ? gh_json_int(c[i].i)
                    : c[i].type == GH_VAL_TEXT ? gh_json_string(c[i].p, c[i].len)
                                               : gh_json_null());
    gh_json_append(x->items, o);
    return 0;
}

/* {items} when the listing worked (rc 0), else the error; takes items. */
static void items_answer(struct gh_presp *r, int rc, struct gh_json *items, const struct gh_err *err)
{
    if (rc) {
        gh_json_unref(items);
        return access_error(r, rc, err);
    }
    struct gh_json *res = gh_json_object();
    gh_json_set(res, "items", items);
    gh__api_json(r, 200, res);
}

static void list(struct gh_api *a, struct gh_presp *r,
                 int (*fn)(struct gh_store *, gh_store_row_fn, void *, struct gh_err *),
                 const char *const *names, size_t n, const struct gh_actor *only, size_t owner_col)
{
    struct rows x = {names, n, gh_json_array(), only, owner_col};
    struct gh_err err = {{0}};
    int rc = fn(gh_catalog_service_store(a->catalog), on_row, &x, &err);
    items_answer(r, rc, x.items, &err);
}

/* ---- plans ---- */

static void plans(struct gh_api *a, struct gh_presp *r)
{
    struct gh_json *items = gh_json_array();
    for (size_t i = 0; a->cfg && i < a->cfg->nplans; i++) {
        const struct gh_config_plan *p = &a->cfg->plans[i];
        struct gh_json *o = gh_json_object();
        gh_json_set(o, "name", js(p->name));
        gh_json_set(o, "description", p->description ? js(p->description) : gh_json_null());
        if (p->rate_requests) {
            struct gh_json *rate = gh_json_object();
            gh_json_set(rate, "requests", gh_json_int(p->rate_requests));
            gh_json_set(rate, "perSeconds", gh_json_real((double)p->rate_per_ms / 1000));
            gh_json_set(rate, "burst", gh_json_int(p->rate_burst ? p->rate_burst : p->rate_requests));
            gh_json_set(o, "rate", rate);
        }
        if (p->quota_requests) {
            struct gh_json *q = gh_json_object();
            gh_json_set(q, "requests", gh_json_int((int64_t)p->quota_requests));
            gh_json_set(q, "per", js(p->quota_per == 2 ? "month" : "day"));
            gh_json_set(o, "quota", q);
        }
        gh_json_append(items, o);
    }
    struct gh_json *res = gh_json_object();
    gh_json_set(res, "items", items);
    gh__api_json(r, 200, res);
}

/* A string member of the body, or NULL having answered 400. */
static const char *member(struct gh_json *body, const char *name, int required, struct gh_presp *r)
{
    struct gh_json *v = gh_json_get(body, name);
    if (v == NULL && !required)
        return NULL;
    const char *s = gh_json_str(v, NULL);
    if (s == NULL || s[0] == '\0') {
        char why[120];
        snprintf(why, sizeof(why), "%s: a non-empty string is required", name);
        gh__api_error(r, 400, why);
        return NULL;
    }
    return s;
}

/* The optional expiresIn member ("30d"): 0 with *ms (0 when absent), or -1 having answered 400. */
static int expires_in(struct gh_json *body, uint64_t *ms, struct gh_presp *r)
{
    *ms = 0;
    if (gh_json_get(body, "expiresIn") == NULL)
        return 0;
    const char *in = member(body, "expiresIn", 1, r);
    if (in == NULL)
        return -1;
    if (gh_parse_duration_ms(in, ms) != 0 || *ms == 0) {
        gh__api_error(r, 400, "expiresIn: a duration like 30d or 12h");
        return -1;
    }
    return 0;
}

void gh__api_manage(struct gh_api *a, const struct gh_preq *req, char **seg, int n, struct gh_presp *r)
{
    int get = req->method == GH_METHOD_GET || req->method == GH_METHOD_HEAD;
    int post = req->method == GH_METHOD_POST, del = req->method == GH_METHOD_DELETE;
    const char *what = seg[1];
    if (strcmp(what, "plans") == 0 && n == 2) {
        if (!get)
            return gh__api_not_allowed(r, "GET, HEAD");
        if (gh__api_allow(a, r, GH_ACT_PLANS_READ, NULL))
            plans(a, r);
        return;
    }
    /* the route's shape first, so a wrong path is 404 and a wrong method 405 whoever asks */
    int apps = strcmp(what, "apps") == 0, keys = strcmp(what, "keys") == 0,
        grants = strcmp(what, "grants") == 0;
    const char *allow = NULL;
    if ((apps || keys || grants) && n == 2)
        allow = keys ? "GET, HEAD" : "GET, HEAD, POST";
    else if ((keys || grants) && n == 3)
        allow = "DELETE";
    else if (apps && n == 4 && (strcmp(seg[3], "keys") == 0 || strcmp(seg[3], "bindings") == 0))
        allow = "POST";
    else if (apps && n == 5 && strcmp(seg[3], "keys") == 0 && strcmp(seg[4], "rotate") == 0)
        allow = "POST";
    if (allow == NULL)
        return gh__api_error(r, 404, "no such route");
    int ok =
        (get && strstr(allow, "GET")) || (post && strstr(allow, "POST")) || (del && strstr(allow, "DELETE"));
    if (!ok)
        return gh__api_not_allowed(r, allow);
    /* lists of everything: auditors and admins; an application's keys and bindings: its owners (the
     * person, or members of the team) and admins; grants outside the request workflow: admins */
    struct gh_perm_resource whose = {0}, api_res = {0};
    char app_owner[GH_ENTITY_REF_MAX] = "", api_owner_ref[GH_ENTITY_REF_MAX] = "", grant_api[64] = "";
    enum gh_action act = get ? GH_ACT_APPS_READ : grants ? GH_ACT_GRANTS_MANAGE : GH_ACT_APPS_MANAGE;
    if (del) /* a key: its application's owners; a grant: those and the API's owners */
        act = keys ? GH_ACT_APPS_MANAGE : GH_ACT_GRANTS_REVOKE;
    if ((apps && n >= 4) || del) {
        struct gh_err oerr = {{0}};
        struct gh_store *st = gh_catalog_service_store(a->catalog);
        int orc = apps   ? gh_app_owner(st, seg[2], app_owner, &oerr)
                  : keys ? gh_key_owner(st, seg[2], app_owner, &oerr)
                         : gh_grant_owner(st, seg[2], app_owner, grant_api, &oerr);
        if (orc == GH_ENOTFOUND && (del || a->me.role != GH_ROLE_ADMIN))
            return gh__api_error(r, 404, oerr.msg);
        if (strncmp(app_owner, "user:", 5) == 0)
            whose.owner_user = app_owner;
        else if (app_owner[0])
            whose.owner_group = app_owner;
        if (grant_api[0] && gh__api_owner(a, grant_api, api_owner_ref))
            api_res.owner_group = api_owner_ref;
    }
    /* a person who may not read everything reads what they and their teams own */
    int mine =
        get && a->me.user[0] && gh_perm_check(&a->me, GH_ACT_APPS_READ, &whose, NULL, 0) != GH_PERM_ALLOW;
    int api_owner = api_res.owner_group && gh_perm_check(&a->me, act, &api_res, NULL, 0) == GH_PERM_ALLOW;
    if (!mine && !api_owner && !gh__api_allow(a, r, act, &whose)) {
        if (((apps && n >= 4) || del) && r->status == 403) { /* someone else's: as if it did not exist */
            gh_buf_free(&r->body);
            gh_buf_free(&r->headers);
            char why[160];
            snprintf(why, sizeof(why), "no %s '%.100s'",
                     apps   ? "application"
                     : keys ? "key"
                            : "grant",
                     seg[2]);
            gh__api_error(r, 404, why);
        }
        return;
    }
    const char *actor = a->me.id;
    struct gh_store *s = gh_catalog_service_store(a->catalog);
    struct gh_err err = {{0}};
    int rc = 0;
    if (get) {
        static const char *const app_cols[] = {"name", "owner", "createdAt", "activeCredentials",
                                               "activeGrants"};
        static const char *const key_cols[] = {"id", "app", "slot", "state", "createdAt", "expiresAt"};
        static const char *const grant_cols[] = {"id", "app", "api", "plan", "state", "expiresAt"};
        const struct gh_actor *only = mine ? &a->me : NULL;
        if (apps)
            return list(a, r, gh_app_list, app_cols, 5, only, 1);
        if (keys)
            return list(a, r, gh_key_list, key_cols, 6, only, 6);
        return list(a, r, gh_grant_list, grant_cols, 6, only, 6);
    }
    if (del) {
        rc = keys ? gh_key_revoke(s, actor, seg[2], &err) : gh_grant_revoke(s, actor, seg[2], &err);
        if (rc)
            return access_error(r, rc, &err);
        if (a->access_changed)
            a->access_changed(a->access_ctx);
        struct gh_json *res = gh_json_object();
        gh_json_set(res, "id", js(seg[2]));
        gh_json_set(res, "state", js("revoked"));
        return gh__api_json(r, 200, res);
    }
    if (apps && n == 5) { /* rotate: no body */
        struct gh_key_rotation k;
        if ((rc = gh_key_rotate(s, actor, seg[2], &k, &err)) != 0)
            return access_error(r, rc, &err);
        if (a->access_changed)
            a->access_changed(a->access_ctx);
        struct gh_json *res = gh_json_object();
        gh_json_set(res, "id", js(k.id));
        gh_json_set(res, "slot", js("secondary"));
        gh_json_set(res, "key", js(k.key)); /* the only time it is ever shown */
        gh_json_set(res, "promoted", k.promoted_id[0] ? js(k.promoted_id) : gh_json_null());
        gh_json_set(res, "revoked", k.revoked_id[0] ? js(k.revoked_id) : gh_json_null());
        OPENSSL_cleanse(&k, sizeof(k));
        return gh__api_json(r, 201, res);
    }
    struct gh_json *body = gh__api_body(req, r);
    if (body == NULL)
        return;
    struct gh_json *res = gh_json_object();
    if (apps && n == 2) {
        const char *name = member(body, "name", 1, r), *owner = name ? member(body, "owner", 1, r) : NULL;
        char id[GH_ACCESS_ID_MAX];
        if (owner && (rc = gh_app_create(s, actor, name, owner, id, &err)) == 0) {
            gh_json_set(res, "id", js(id));
            gh_json_set(res, "name", js(name));
        }
        if (owner == NULL)
            goto answered;
    } else if (apps && strcmp(seg[3], "keys") == 0) {
        const char *slot = gh_json_get(body, "slot") ? member(body, "slot", 1, r) : "primary";
        char key[GH_KEY_LEN + 1], id[GH_KEY_ID_LEN + 1];
        uint64_t ms = 0;
        if (slot == NULL || expires_in(body, &ms, r) != 0)
            goto answered;
        if ((rc = gh_key_issue(s, actor, seg[2], slot, ms ? gh_time_wall_ms() + ms : 0, key, id, &err)) ==
            0) {
            gh_json_set(res, "id", js(id));
            gh_json_set(res, "slot", js(slot));
            gh_json_set(res, "key", js(key)); /* the only time it is ever shown */
            OPENSSL_cleanse(key, sizeof(key));
        }
    } else if (apps) { /* bindings */
        const char *issuer = member(body, "issuer", 1, r),
                   *client = issuer ? member(body, "clientId", 1, r) : NULL;
        if (client == NULL)
            goto answered;
        const char *iss = NULL;
        for (size_t i = 0; a->cfg && i < a->cfg->nissuers && !iss; i++)
            if (!strcmp(a->cfg->issuers[i].name, issuer) || !strcmp(a->cfg->issuers[i].issuer, issuer))
                iss = a->cfg->issuers[i].issuer;
        char id[GH_ACCESS_ID_MAX];
        rc = iss ? gh_jwt_bind(s, actor, seg[2], iss, client, id, &err)
                 : gh_err_set(&err, GH_EINVAL, "issuer '%s' is not configured (see issuers:)", issuer);
        if (rc == 0)
            gh_json_set(res, "id", js(id));
    } else { /* grants */
        const char *app = member(body, "app", 1, r);
        const char *api = app ? member(body, "api", 1, r) : NULL;
        const char *plan = api ? member(body, "plan", 1, r) : NULL;
        if (plan == NULL)
            goto answered;
        uint64_t ms = 0;
        if (expires_in(body, &ms, r) != 0)
            goto answered;
        char id[GH_ACCESS_ID_MAX];
        if ((rc = gh_grant_create(s, actor, a->cfg, app, api, plan, ms ? gh_time_wall_ms() + ms : 0, id,
                                  &err)) == 0)
            gh_json_set(res, "id", js(id));
    }
    gh_json_unref(body);
    if (rc) {
        gh_json_unref(res);
        return access_error(r, rc, &err);
    }
    if (a->access_changed)
        a->access_changed(a->access_ctx);
    return gh__api_json(r, 201, res);
answered:
    gh_json_unref(body);
    gh_json_unref(res);
}

void gh__api_explain(struct gh_api *a, const struct params *ps, struct gh_presp *r)
{
    const char *api = gh__param(ps, "api"), *plan = gh__param(ps, "plan"), *user = gh__param(ps, "user");
    if (api == NULL || plan == NULL)
        return gh__api_error(r, 400, "api and plan are required (api=orders&plan=starter)");
    struct gh_store *s = gh_catalog_service_store(a->catalog);
    struct gh_err err = {{0}};
    struct gh_actor who = {0};
    const struct gh_actor *asking = &a->me;
    if (user) { /* someone else's: admins only, with that person as the catalog knows them */
        if (!gh__api_allow(a, r, GH_ACT_GRANTS_MANAGE, NULL))
            return;
        int rc = gh_access_person(s, a->cfg, user, &who, &err);
        if (rc)
            return gh__api_error(r, rc == GH_ENOTFOUND ? 404 : 400, err.msg);
        asking = &who;
    } else if (a->me.user[0] == '\0') {
        return gh__api_error(r, 400, "this caller is not a person: name one (user=ana)");
    }
    struct gh_json *out = NULL;
    int rc = gh_access_explain(s, a->cfg, asking, api, plan, &out, &err);
    gh_actor_clear(&who);
    if (rc)
        return gh__api_error(r, rc == GH_ENOTFOUND ? 404 : 409, err.msg);
    gh__api_json(r, 200, out);
}

/* ---- requests for access ---- */

static void request_create(struct gh_api *a, const struct gh_preq *req, struct gh_presp *r)
{
    if (a->me.user[0] == '\0')
        return gh__api_error(r, 400, "only a person can ask for access (sign in, or use a personal token)");
    struct gh_json *body = gh__api_body(req, r);
    if (body == NULL)
        return;
    const char *api = member(body, "api", 1, r);
    const char *plan = api ? member(body, "plan", 1, r) : NULL;
    const char *app = plan ? member(body, "app", 1, r) : NULL;
    struct gh_json *days = gh_json_get(body, "durationDays");
    const char *owner = gh_json_get(body, "appOwner") && app ? member(body, "appOwner", 1, r) : NULL;
    if (app == NULL || (gh_json_get(body, "appOwner") && owner == NULL)) {
        gh_json_unref(body);
        return;
    }
    if (days && (gh_json_type(days) != GH_JSON_INT || gh_json_int_value(days) < 1 ||
                 gh_json_int_value(days) > 3650)) {
        gh_json_unref(body);
        return gh__api_error(r, 400, "durationDays: a whole number of days from 1 to 3650");
    }
    /* only these members: anything else (state, grantId, requester...) is refused, not ignored */
    void *it = NULL;
    const char *k;
    struct gh_json *v;
    while (gh_json_next(body, &it, &k, &v)) {
        static const char *const known[] = {"api",      "plan",          "app",
                                            "appOwner", "justification", "durationDays"};
        int ok = 0;
        for (size_t i = 0; i < GH_ARRAY_SIZE(known); i++)
            ok |= strcmp(k, known[i]) == 0;
        if (!ok) {
            char why[160];
            snprintf(why, sizeof(why),
                     "unknown member '%.60s' (expected api, plan, app, appOwner, justification, "
                     "durationDays)",
                     k);
            gh_json_unref(body);
            return gh__api_error(r, 400, why);
        }
    }
    struct gh_store *s = gh_catalog_service_store(a->catalog);
    struct gh_err err = {{0}};
    struct gh_json *x = NULL;
    int rc = gh_access_explain(s, a->cfg, &a->me, api, plan, &x, &err);
    const struct gh_config_rule *rule = NULL;
    const char *rname = rc == 0 ? gh_json_str(gh_json_get(x, "rule"), NULL) : NULL;
    for (size_t i = 0; rname && i < a->cfg->nrules && !rule; i++)
        if (strcmp(a->cfg->rules[i].name, rname) == 0)
            rule = &a->cfg->rules[i];
    gh_json_unref(x);
    if (rule == NULL) {
        gh_json_unref(body);
        return gh__api_error(r, rc == GH_ENOTFOUND ? 404 : 409,
                             err.msg[0] ? err.msg : "no access rule decides");
    }
    struct gh_request_new n = {.requester = &a->me,
                               .api = api,
                               .plan = plan,
                               .app = app,
                               .app_owner = owner,
                               .justification = gh_json_str(gh_json_get(body, "justification"), NULL),
                               .duration_ms = days ? (uint64_t)gh_json_int_value(days) * 86400000ull : 0};
    struct gh_request_result res;
    rc = gh_request_create(s, a->cfg, &n, rule, gh_time_wall_ms(), &res, &err);
    gh_json_unref(body);
    if (rc == GH_EEXIST) {
        struct gh_json *j = gh_json_object(), *e = gh_json_object();
        gh_json_set(e, "name", js("ConflictError"));
        gh_json_set(e, "message", js(err.msg));
        gh_json_set(j, "error", e);
        gh_json_set(j, "existing", js(res.existing));
        return gh__api_json(r, 409, j);
    }
    if (rc == GH_EPERM)
        return gh__api_error(r, 403, err.msg);
    if (rc)
        return access_error(r, rc, &err);
    if (res.grant_id[0] && a->access_changed)
        a->access_changed(a->access_ctx); /* the key works before this response leaves */
    struct gh_json *j = gh_json_object();
    gh_json_set(j, "id", js(res.id));
    gh_json_set(j, "state", js(res.state));
    gh_json_set(j, "rule", js(res.rule));
    gh_json_set(j, "decide", js(res.decide));
    gh_json_set(j, "durationDays", gh_json_int((int64_t)(res.duration_ms / 86400000ull)));
    if (res.grant_id[0]) {
        char until[40];
        gh_time_rfc3339(res.expires_ms, until, sizeof(until));
        gh_json_set(j, "grantId", js(res.grant_id));
        gh_json_set(j, "expiresAt", js(until));
    }
    if (res.key[0]) {
        gh_json_set(j, "key", js(res.key)); /* the only time it is ever shown */
        gh_json_set(j, "keyId", js(res.key_id));
        OPENSSL_cleanse(res.key, sizeof(res.key));
    }
    gh__api_json(r,
                 strcmp(res.state, "approved") == 0  ? 201
                 : strcmp(res.state, "pending") == 0 ? 202
                                                     : 403,
                 j);
}

/* Whose decision a request is: the API's owning team for owner_approval; admins only otherwise. */
static void decider(struct gh_api *a, const struct gh_request_info *q, char owner[GH_ENTITY_REF_MAX],
                    struct gh_perm_resource *res)
{
    owner[0] = '\0';
    *res = (struct gh_perm_resource){0};
    if (strcmp(q->decide, "owner_approval") != 0)
        return;
    if (gh__api_owner(a, q->api, owner))
        res->owner_group = owner;
}

int gh__api_owner(struct gh_api *a, const char *api, char owner[GH_ENTITY_REF_MAX])
{
    char ref[GH_ENTITY_REF_MAX];
    snprintf(ref, sizeof(ref), "api:default/%s", api);
    owner[0] = '\0';
    struct gh_json *e = gh_catalog_get_by_ref(gh_catalog_service_store(a->catalog), ref, NULL);
    struct gh_rule_api facts;
    char system[GH_ENTITY_REF_MAX];
    if (e)
        gh_rule_api_from_entity(e, &facts, owner, system);
    gh_json_unref(e);
    return owner[0] != '\0';
}

struct inbox {
    struct gh_api *a;
    struct gh_json *items;
};

static int on_pending_row(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct inbox *x = ctx;
    if (n != 8)
        return 0;
    struct gh_request_info q = {0};
    snprintf(q.api, sizeof(q.api), "%.*s", (int)c[3].len, c[3].p);
    snprintf(q.decide, sizeof(q.decide), "%.*s", (int)c[5].len, c[5].p);
    snprintf(q.requester, sizeof(q.requester), "%.*s", (int)c[1].len, c[1].p);
    char owner[GH_ENTITY_REF_MAX];
    struct gh_perm_resource res;
    decider(x->a, &q, owner, &res);
    if (strcmp(q.requester, x->a->me.user) == 0 ||
        gh_perm_check(&x->a->me, GH_ACT_ACCESS_APPROVE, &res, NULL, 0) != GH_PERM_ALLOW)
        return 0; /* not theirs to decide */
    static const char *const names[] = {"id",   "requester", "app",           "api",
                                        "plan", "decide",    "justification", "createdAt"};
    struct gh_json *o = gh_json_object();
    for (size_t i = 0; i < n; i++)
        gh_json_set(o, names[i],
                    c[i].type == GH_VAL_TEXT ? gh_json_string(c[i].p, c[i].len) : gh_json_null());
    gh_json_append(x->items, o);
    return 0;
}

static void request_decide(struct gh_api *a, const struct gh_preq *req, const char *id, struct gh_presp *r)
{
    struct gh_store *s = gh_catalog_service_store(a->catalog);
    struct gh_err err = {{0}};
    struct gh_request_info q;
    if (gh_request_get(s, id, &q, &err) != 0)
        return gh__api_error(r, 404, err.msg);
    char owner[GH_ENTITY_REF_MAX];
    struct gh_perm_resource res;
    decider(a, &q, owner, &res);
    if (strcmp(q.requester, a->me.id) == 0)
        return gh__api_error(r, 403, "nobody decides their own request");
    if (!gh__api_allow(a, r, GH_ACT_ACCESS_APPROVE, &res))
        return;
    struct gh_json *body = gh__api_body(req, r);
    if (body == NULL)
        return;
    const char *decision = member(body, "decision", 1, r);
    const char *comment = gh_json_str(gh_json_get(body, "comment"), NULL);
    if (decision && strcmp(decision, "approve") != 0 && strcmp(decision, "deny") != 0) {
        gh_json_unref(body);
        return gh__api_error(r, 400, "decision: approve or deny");
    }
    if (decision == NULL) {
        gh_json_unref(body);
        return;
    }
    int approve = strcmp(decision, "approve") == 0;
    char grant[GH_ACCESS_ID_MAX] = "";
    int rc = gh_request_decide(s, &q, a->me.id, approve, comment, gh_time_wall_ms(), grant, &err);
    gh_json_unref(body);
    if (rc == GH_EPERM)
        return gh__api_error(r, 403, err.msg);
    if (rc == GH_EEXIST)
        return gh__api_error(r, 409, err.msg);
    if (rc)
        return access_error(r, rc, &err);
    if (grant[0] && a->access_changed)
        a->access_changed(a->access_ctx);
    struct gh_json *j = gh_json_object();
    gh_json_set(j, "id", js(id));
    gh_json_set(j, "state", js(approve ? "approved" : "denied"));
    if (grant[0])
        gh_json_set(j, "grantId", js(grant));
    gh__api_json(r, 200, j);
}

void gh__api_requests(struct gh_api *a, const struct gh_preq *req, char **seg, int n, struct gh_presp *r)
{
    if (n == 3 && strcmp(seg[2], "approvals") == 0) { /* what this caller may decide */
        struct inbox x = {a, gh_json_array()};
        struct gh_err err = {{0}};
        int rc = gh_request_pending(gh_catalog_service_store(a->catalog), on_pending_row, &x, &err);
        return items_answer(r, rc, x.items, &err);
    }
    if (n == 5 && strcmp(seg[4], "decide") == 0)
        return request_decide(a, req, seg[3], r);
    if (n == 3 && req->method == GH_METHOD_POST)
        return request_create(a, req, r);
    if (n == 3) { /* GET: mine */
        if (a->me.user[0] == '\0')
            return gh__api_error(r, 400, "only a person has requests (sign in, or use a personal token)");
        static const char *const cols[] = {"id",   "app",    "api",       "plan",    "state",
                                           "rule", "decide", "createdAt", "grantId", "decidedBy"};
        struct rows x = {cols, GH_ARRAY_SIZE(cols), gh_json_array()};
        struct gh_err err = {{0}};
        int rc = gh_request_list(gh_catalog_service_store(a->catalog), a->me.user, on_row, &x, &err);
        return items_answer(r, rc, x.items, &err);
    }
    /* POST /api/access/requests/ID/withdraw */
    struct gh_err err = {{0}};
    int rc = gh_request_withdraw(gh_catalog_service_store(a->catalog), a->me.user, seg[3], &err);
    if (rc == GH_EEXIST)
        return gh__api_error(r, 409, err.msg);
    if (rc)
        return access_error(r, rc, &err);
    struct gh_json *j = gh_json_object();
    gh_json_set(j, "id", js(seg[3]));
    gh_json_set(j, "state", js("withdrawn"));
    gh__api_json(r, 200, j);
}

/* ---- an API's consumers ---- */

void gh__api_consumers(struct gh_api *a, const char *api, struct gh_presp *r)
{
    int known = 0;
    for (size_t i = 0; a->cfg && i < a->cfg->napis && !known; i++)
        known = strcmp(a->cfg->apis[i].name, api) == 0;
    char owner[GH_ENTITY_REF_MAX];
    struct gh_perm_resource res = {0};
    if (gh__api_owner(a, api, owner))
        res.owner_group = owner;
    if (!known)
        return gh__api_error(r, 404, "no such API behind the gateway");
    if (!gh__api_allow(a, r, GH_ACT_CONSUMERS_VIEW, &res))
        return;
    static const char *const cols[] = {"grant",     "app",       "appOwner",    "plan",        "state",
                                       "expiresAt", "createdAt", "requests30d", "throttled30d"};
    struct rows x = {cols, GH_ARRAY_SIZE(cols), gh_json_array(), NULL, 0};
    struct gh_err err = {{0}};
    int rc = gh_api_consumers(gh_catalog_service_store(a->catalog), api,
                              gh_time_wall_ms() - 30ull * 86400 * 1000, on_row, &x, &err);
    items_answer(r, rc, x.items, &err);
}

/* ---- webhooks and their deliveries (admins) ---- */

struct hook_counts {
    struct gh_json *hooks; /* name -> object */
};

static int on_hook_count(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct hook_counts *h = ctx;
    if (n != 3)
        return 0;
    char name[80], state[16];
    gh_store_val_text(&c[0], name, sizeof(name));
    gh_store_val_text(&c[1], state, sizeof(state));
    struct gh_json *o = gh_json_get(h->hooks, name);
    if (o)
        gh_json_set(gh_json_get(o, "deliveries"), state, gh_json_int(c[2].i));
    return 0;
}

void gh__api_webhooks(struct gh_api *a, char **seg, int n, const struct params *ps, struct gh_presp *r)
{
    struct gh_store *s = gh_catalog_service_store(a->catalog);
    struct gh_err err = {{0}};
    if (n == 3) { /* deliveries */
        static const char *const cols[] = {"webhook",   "event",         "type",
                                           "state",     "attempts",      "lastStatus",
                                           "lastError", "nextAttemptMs", "deliveredAt"};
        const char *state = gh__param(ps, "state"), *limit = gh__param(ps, "limit");
        uint64_t lim = 100;
        if (limit && (gh_parse_u64(limit, strlen(limit), 1000, &lim) != 0 || lim == 0))
            return gh__api_error(r, 400, "limit: a whole number from 1 to 1000");
        if (state && strcmp(state, "pending") != 0 && strcmp(state, "delivered") != 0 &&
            strcmp(state, "failed") != 0)
            return gh__api_error(r, 400, "state: pending, delivered or failed");
        struct rows x = {cols, GH_ARRAY_SIZE(cols), gh_json_array(), NULL, 0};
        int rc = gh_webhook_deliveries(s, gh__param(ps, "webhook"), state, (int)lim, on_row, &x, &err);
        return items_answer(r, rc, x.items, &err);
    }
    (void)seg;
    struct hook_counts h = {gh_json_object()};
    struct gh_json *items = gh_json_array();
    for (size_t i = 0; a->cfg && i < a->cfg->nwebhooks; i++) {
        const struct gh_config_webhook *w = &a->cfg->webhooks[i];
        struct gh_json *o = gh_json_object(), *ev = gh_json_array();
        gh_json_set(o, "name", js(w->name));
        gh_json_set(o, "url", js(w->url));
        for (size_t k = 0; k < w->nevents; k++)
            gh_json_append(ev, js(w->events[k]));
        gh_json_set(o, "events", ev);
        struct gh_json *d = gh_json_object();
        gh_json_set(d, "pending", gh_json_int(0));
        gh_json_set(d, "delivered", gh_json_int(0));
        gh_json_set(d, "failed", gh_json_int(0));
        gh_json_set(o, "deliveries", d);
        gh_json_set(h.hooks, w->name, gh_json_ref(o));
        gh_json_append(items, o);
    }
    int rc =
        gh_store_exec(s, "SELECT webhook, state, COUNT(*) FROM webhook_deliveries GROUP BY webhook, state",
                      NULL, 0, on_hook_count, &h, &err);
    gh_json_unref(h.hooks);
    items_answer(r, rc, items, &err);
}
