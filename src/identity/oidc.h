/*
 * oidc: the portal's OpenID Connect relying party -- authorization code flow with PKCE (S256 only).
 *
 * gh_oidc_begin makes a pre-login: a random state, nonce and code verifier kept on the control thread
 * for 10 minutes, bound to the browser by a random value in a short-lived cookie (only its SHA-256 is
 * kept). gh_oidc_finish takes the provider's answer: the state is looked up and removed at once (single
 * use, whatever happens next), the cookie must match, the `iss` parameter must be the issuer when sent
 * (and must be sent when the provider says it sends it). The code is then exchanged at the token
 * endpoint (libcurl, on libuv's thread pool) and the ID token validated on the loop: signature with an
 * algorithm from the configured list and a key from the issuer's key set (shared with the gateway;
 * an unknown kid fetches the key set once more), iss, aud, azp, exp, iat and nonce. With `userinfo`
 * the userinfo endpoint's claims are merged in when their sub matches.
 *
 * The discovery document and keys come from the jwks registry (identity/jwks.h).
 */
#ifndef GH_IDENTITY_OIDC_H
#define GH_IDENTITY_OIDC_H

#include "../config/config.h"
#include "jwks.h"
#include "perm.h"

#include <uv.h>

struct gh_oidc;

struct gh_oidc *gh_oidc_new(uv_loop_t *loop, struct gh_jwks_registry *jwks);
void gh_oidc_free(struct gh_oidc *o); /* after the loop has run dry */

/* The running config (borrowed until the next call) and the client secret (copied; NULL: a public
 * client, which authenticates with PKCE alone). */
void gh_oidc_configure(struct gh_oidc *o, const struct gh_config *cfg, const char *client_secret);

/* Starts a sign-in that will come back to return_to (a same-origin path, see gh_oidc_safe_return):
 * the authorization URL to redirect to, and the value of the pre-login cookie. GH_EAGAIN when the
 * provider's discovery document has not been fetched yet. */
int gh_oidc_begin(struct gh_oidc *o, const char *return_to, uint64_t now_ms, struct gh_buf *location,
                  char binding[GH_TOKEN_LEN + 1], struct gh_err *err);

/* The provider's answer on the redirect URI (parameters percent-decoded; NULL when absent). */
struct gh_oidc_answer {
    const char *code, *state, *iss, *error, *error_description;
    struct gh_str binding; /* the pre-login cookie's value ("" when absent) */
};

/* Who signed in, as the provider says. */
struct gh_oidc_login {
    char *sub, *name, *email, *username;
    char **groups, **roles; /* the groups and roles claims' values (strings) */
    size_t ngroups, nroles;
    char return_to[512];
    char logout_url[1024]; /* the end-session URL, "" when the provider has none */
};
void gh_oidc_login_free(struct gh_oidc_login *l);

/* rc 0 with login, or an error with why (safe to show). Runs on the loop. */
typedef void (*gh_oidc_done_fn)(void *ctx, int rc, struct gh_oidc_login *login, const char *why);

/* Checks the answer now and goes on off the loop. 0: done will be called; else err says why and done
 * will not be called. */
int gh_oidc_finish(struct gh_oidc *o, const struct gh_oidc_answer *a, uint64_t now_ms, gh_oidc_done_fn done,
                   void *ctx, struct gh_err *err);

/* Whether return_to is a path on this origin: starts with one '/', no '//' or '/\' at the start, no
 * scheme, no control characters or backslashes. */
int gh_oidc_safe_return(const char *return_to);

/* What a login makes someone (pure: unit-tested): role from role_map over the groups and roles
 * values (the highest wins; default_role otherwise), Group refs from group_map, and the User ref
 * from the username claim (else the e-mail's local part, else sub) made into an entity name. */
int gh_identity_map(const struct gh_config_identity *id, const struct gh_oidc_login *l, struct gh_actor *out,
                    struct gh_err *err);

/* A User entity of the catalog as a person: their teams (spec.memberOf, as canonical Group refs) and
 * the role role_map gives those teams' names or refs (the highest; default_role otherwise). */
void gh_identity_person(const struct gh_config_identity *id, const struct gh_json *user_entity,
                        struct gh_actor *out);

#endif
