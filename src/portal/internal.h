/*
 * internal: what the control API's files share (api.c: routing, the catalog and audit APIs, who is
 * calling; manage.c: applications, keys, grants, plans).
 */
#ifndef GH_PORTAL_INTERNAL_H
#define GH_PORTAL_INTERNAL_H

#include "../base/json.h"
#include "../catalog/catalog.h"
#include "../config/config.h"
#include "../identity/perm.h"
#include "api.h"

struct gh_oidc;

struct gh_api {
    struct gh_catalog_service *catalog;
    const struct gh_config *cfg; /* the running config (borrowed; replaced on reload) */
    gh_api_metrics_fn metrics;
    void *metrics_ctx;
    void (*access_changed)(void *ctx); /* after a change to keys or grants: enforce it now */
    void *access_ctx;
    unsigned char *admin_token;
    size_t admin_token_len;
    struct gh_oidc *oidc; /* NULL: no provider configured */
    /* the request being answered (the control thread answers one at a time) */
    struct gh_actor me;          /* who is calling */
    char csrf[GH_TOKEN_LEN + 1]; /* their session's CSRF token ("" without a session) */
};

/* A query string's parameters, percent-decoded ('+' as space). */
struct param {
    char *name, *value;
};
struct params {
    struct param v[128];
    size_t n;
};
int gh__params_parse(struct gh_str q, struct params *ps, char *why, size_t cap); /* 0, or -1 with why */
const char *gh__param(const struct params *ps, const char *name);                /* the first, or NULL */
void gh__params_free(struct params *ps);

void gh__api_json(struct gh_presp *r, int status, struct gh_json *j); /* takes j */
void gh__api_error(struct gh_presp *r, int status, const char *message);
void gh__api_not_allowed(struct gh_presp *r, const char *allow);
/* The request body as a JSON object (new reference), or NULL having answered 400. */
struct gh_json *gh__api_body(const struct gh_preq *req, struct gh_presp *r);

/* The permission check (identity/perm.h) for the caller in a->me, answering 401 or 403 itself: 1 to go
 * on, 0 when answered. res: the object acted on, or NULL for a route-level check. */
int gh__api_allow(struct gh_api *a, struct gh_presp *r, enum gh_action act,
                  const struct gh_perm_resource *res);

/* auth.c: who is calling (bearer token, session cookie, or nobody), into a->me and a->csrf; and the
 * CSRF rules for a session's state-changing request. 0 to go on; else answered. */
int gh__api_identify(struct gh_api *a, const struct gh_preq *req, struct gh_presp *r);
int gh__api_csrf_ok(struct gh_api *a, const struct gh_preq *req, struct gh_presp *r);

/* GET /api/access/explain?api=&plan=[&user=]: which access rule would decide, and why not the others
 * (manage.c). Someone else's (user=) is for admins. */
void gh__api_explain(struct gh_api *a, const struct params *ps, struct gh_presp *r);

/* /api/access/requests (GET mine, POST a new one) and /api/access/requests/ID/withdraw (manage.c). */
void gh__api_requests(struct gh_api *a, const struct gh_preq *req, char **seg, int n, struct gh_presp *r);

/* /auth/login, /auth/callback, /auth/logout and /api/me (auth.c). */
void gh__api_auth(struct gh_api *a, const struct gh_preq *req, const char *route, const struct params *ps,
                  struct gh_presp *r);

/* /api/apps..., /api/keys..., /api/grants..., /api/plans (manage.c); seg[0] is "api". */
/* The owning Group ref of an API (its catalog entity's spec.owner): 1, or 0 when unknown. */
int gh__api_owner(struct gh_api *a, const char *api, char owner[GH_ENTITY_REF_MAX]);
/* GET /api/apis/NAME/consumers; GET /api/webhooks and /api/webhooks/deliveries */
void gh__api_consumers(struct gh_api *a, const char *api, struct gh_presp *r);
void gh__api_webhooks(struct gh_api *a, char **seg, int n, const struct params *ps, struct gh_presp *r);
/* pages.c: the portal's HTML pages (routes marked page), and an error as a page. */
void gh__pages(struct gh_api *a, const struct gh_preq *req, char **seg, int n, const struct params *ps,
               struct gh_presp *r);
void gh__page_error(struct gh_presp *r, int status, const char *message);
void gh__api_manage(struct gh_api *a, const struct gh_preq *req, char **seg, int n, struct gh_presp *r);

#endif
