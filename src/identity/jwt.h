/*
 * jwt: JSON Web Tokens from the organisation's identity provider -- key sets (JWKS), strict
 * decoding, signature verification through cjose (the one file that talks to it) and the claims
 * checks. (Verified tokens are remembered per worker in a gh_cred_cache, base/credcache.h.)
 *
 * The algorithm is pinned by configuration and by the key, never taken on the token's word: a token
 * whose `alg` is not in the issuer's list, does not fit the key's type and curve, or differs from the
 * key's own `alg` is refused. `none` and HMAC are never accepted (a JWKS holds public keys); headers
 * that would bring their own key (`jwk`, `jku`, `x5u`, `x5c`) and any `crit` extension are refused;
 * ECDSA signatures must have their exact length and non-zero halves.
 */
#ifndef GH_IDENTITY_JWT_H
#define GH_IDENTITY_JWT_H

#include "../base/base.h"
#include "../base/json.h"

/* ---- key sets ---- */

struct gh_jwk_set;

/* Parses a JWKS document ({"keys": [...]}). Keys for other uses than signing, symmetric keys, RSA
 * keys under 2048 bits and keys cjose cannot read are skipped; none left is an error. */
int gh_jwks_parse(const char *json, size_t len, struct gh_jwk_set **out, struct gh_err *err);
void gh_jwks_free(struct gh_jwk_set *set);
size_t gh_jwks_count(const struct gh_jwk_set *set);

/* ---- tokens ---- */

struct gh_jwt_rules {
    const char *issuer;     /* the exact `iss` */
    char *const *audiences; /* `aud` must hold one of these */
    size_t naudiences;
    char *const *algorithms; /* accepted `alg` values (RS*, PS*, ES*) */
    size_t nalgorithms;
    char *const *required; /* claims that must be present */
    size_t nrequired;
    uint64_t clock_skew_s;    /* leeway for exp, nbf and iat */
    const char *client_claim; /* the claim naming the calling application (azp, client_id, appid, sub) */
};

/* A token split and decoded, not yet trusted. */
struct gh_jwt {
    struct gh_json *header, *claims;
    const char *alg, *kid, *iss; /* borrowed from header/claims; kid and iss may be NULL */
    struct gh_str compact;       /* the token as given */
    unsigned char *sig;
    size_t sig_len;
};

/* Decodes a compact JWS of at most max_bytes: three base64url parts, JSON objects for header and
 * claims. Returns 0, or GH_EINVAL with why in err (the message is safe to show the caller). */
int gh_jwt_decode(struct gh_str token, size_t max_bytes, struct gh_jwt *out, struct gh_err *err);
void gh_jwt_release(struct gh_jwt *t);

/* Verifies a decoded token against the issuer's rules and keys at now_s: header, key choice,
 * signature, then claims. On success gives the client claim's value (NUL-terminated, at most
 * client_cap - 1 bytes) and the expiry. Returns 0; GH_ENOTFOUND when no key has the token's kid
 * (the caller may refresh the key set); GH_EINVAL otherwise, with why in err. */
int gh_jwt_verify(const struct gh_jwt *t, const struct gh_jwt_rules *r, const struct gh_jwk_set *keys,
                  uint64_t now_s, char *client, size_t client_cap, uint64_t *exp, struct gh_err *err);

/* The rate-limit key of a decoded token for a string claim: the first 16 bytes of SHA-256 over the
 * issuer, the claim's name and its value. GH_ENOTFOUND when the token has no non-empty string there. */
int gh_jwt_claim_key(const struct gh_jwt *t, const char *claim, unsigned char out[16]);

/* The credential digest a token's (issuer, client) pair is bound by: SHA-256 of "jwt", the issuer
 * and the client id, NUL-separated. The store keeps it where an API key's hash would be. */
void gh_jwt_credential(const char *issuer, const char *client, unsigned char out[32]);

#endif
