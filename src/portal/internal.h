/*
 * internal: what the control API's files share (api.c: routing, the catalog and audit APIs, who is
 * calling; manage.c: applications, keys, grants, plans).
 */
#ifndef GH_PORTAL_INTERNAL_H
#define GH_PORTAL_INTERNAL_H

#include "../base/json.h"
#include "../config/config.h"
#include "api.h"

struct gh_api {
    struct gh_catalog_service *catalog;
    const struct gh_config *cfg; /* the running config (borrowed; replaced on reload) */
    gh_api_metrics_fn metrics;
    void *metrics_ctx;
    void (*access_changed)(void *ctx); /* after a change to keys or grants: enforce it now */
    void *access_ctx;
    unsigned char *admin_token;
    size_t admin_token_len;
};

struct gh__api_caller {
    char role[32];  /* admin, auditor, api-publisher, developer */
    char actor[64]; /* for the audit trail: "admin-token" or "token:<id>" */
};

void gh__api_json(struct gh_presp *r, int status, struct gh_json *j); /* takes j */
void gh__api_error(struct gh_presp *r, int status, const char *message);
void gh__api_not_allowed(struct gh_presp *r, const char *allow);
/* The request body as a JSON object (new reference), or NULL having answered 400. */
struct gh_json *gh__api_body(const struct gh_preq *req, struct gh_presp *r);

/* The one permission check of the control API (until identity adds sessions): the caller's token must
 * have one of the space-separated roles. Answers 401/403 itself and returns 0; 1 to go on (who filled
 * when not NULL). */
int gh__api_need_role(struct gh_api *a, const struct gh_preq *req, struct gh_presp *r, const char *what,
                      const char *roles, struct gh__api_caller *who);

/* /api/apps..., /api/keys..., /api/grants..., /api/plans (manage.c); seg[0] is "api". */
void gh__api_manage(struct gh_api *a, const struct gh_preq *req, char **seg, int n, struct gh_presp *r);

#endif
