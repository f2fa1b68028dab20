/*
 * api: the control plane's REST API behind the portal listener (gh_api_handle is its handler):
 * Backstage's catalog API under /api/catalog and search under /api/search.
 */
#ifndef GH_PORTAL_API_H
#define GH_PORTAL_API_H

#include "portal.h"

struct gh_api;
struct gh_catalog_service;

struct gh_api *gh_api_new(struct gh_catalog_service *catalog);
void gh_api_free(struct gh_api *a); /* accepts NULL */

/* The admin token (GET /api/audit takes it as a Bearer token): takes the buffer (from the secret
 * store; wiped when replaced or freed). NULL: none configured, so the audit API is closed. */
void gh_api_set_admin_token(struct gh_api *a, unsigned char *token, size_t len);

/* The running config (borrowed: set again on every reload), for plans and grants. */
struct gh_config;
void gh_api_set_config(struct gh_api *a, const struct gh_config *cfg);

/* What GET /metrics serves: fn appends Prometheus text (NULL: nothing running, 503). */
typedef void (*gh_api_metrics_fn)(void *ctx, struct gh_buf *out);
void gh_api_set_metrics(struct gh_api *a, gh_api_metrics_fn fn, void *ctx);

/* Called after the API changed keys, bindings or grants, so the gateway enforces it before the
 * response leaves (rather than at the next poll). */
void gh_api_set_access_hook(struct gh_api *a, void (*fn)(void *ctx), void *ctx);

/* The control API's routes, each with the action (identity/perm.h) it performs. */
#define GH_API_ROUTE_SEGS 8
struct gh_api_route {
    unsigned methods;                    /* bits (1 << enum gh_http_method) */
    const char *path[GH_API_ROUTE_SEGS]; /* segments; "*" matches any one; NULL ends */
    int action;                          /* enum gh_action */
    int page; /* an HTML page (portal/pages.c): errors as pages, sign-in by redirect */
};
const struct gh_api_route *gh_api_routes(size_t *n);
/* The route for a request (NULL: none; then allow lists the methods the path takes, "" when the path
 * is unknown). */
const struct gh_api_route *gh_api_route_find(int method, const char *const *seg, int n, char *allow,
                                             size_t cap);

/* The OpenID Connect relying party for /auth/... (NULL: sign-in through a provider is off). */
struct gh_oidc;
void gh_api_set_oidc(struct gh_api *a, struct gh_oidc *oidc);

/* The portal handler; ctx is a struct gh_api. */
void gh_api_handle(void *ctx, const struct gh_preq *req, struct gh_presp *resp);

#endif
