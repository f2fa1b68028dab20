/*
 * auth: who is calling, and may they -- the auth_key / auth_jwt / authorize / rate_limit / quota
 * steps of the request path for APIs with `auth` other than none. Credentials are taken from the
 * request and never forwarded; the decision comes from the credential table and the issuers' keys,
 * with no store access.
 */
#ifndef GH_GATEWAY_AUTH_H
#define GH_GATEWAY_AUTH_H

#include "../access/table.h"
#include "../http/http.h"
#include "../identity/jwks.h"
#include "snapshot.h"

/* Set by the control thread before the workers start, cleared after they stop. */
extern struct gh_access_table *gh_gateway_access;
extern struct gh_jwks_registry *gh_gateway_jwks;

enum {
    GH_CHALLENGE_KEY = 1,    /* WWW-Authenticate: ApiKey */
    GH_CHALLENGE_BEARER = 2, /* WWW-Authenticate: Bearer */
};

struct gh_auth_result {
    struct gh_access_decision d; /* status 0: let it through */
    int challenge;               /* for a 401: GH_CHALLENGE_* bits */
    int bearer_invalid;          /* a token was presented and refused (error="invalid_token") */
    const char *policy;          /* the RateLimit policy a 429 names: "grant", "ip" or "claim" */
};

/* Decides request h to api under snap; marks credential headers as not to be forwarded and removes
 * the subscription-key query parameter. cache is the calling worker's verified-token cache. */
void gh_auth_request(const struct gh_snapshot *snap, const struct gh_api *api, struct gh_http_head *h,
                     struct gh_cred_cache *cache, uint64_t now_ns, uint64_t now_ms, struct gh_auth_result *r);

/* The API's rate_limit by client (by: ip or claim) for one request from the client named by key (its
 * address, or gh_jwt_claim_key's digest). Returns 1 when allowed; else 0 with r filled as a 429. */
int gh_auth_client_limit(const struct gh_api *api, struct gh_str key, uint64_t now_ns,
                         struct gh_auth_result *r);

/* The query without its subscription-key parameter(s), rewritten in place; returns the value of the
 * first (percent-decoded into val, at most cap - 1 bytes; "" when absent or too long). */
size_t gh_auth_take_query_key(struct gh_str *query, char *val, size_t cap);

#endif
