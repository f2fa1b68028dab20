/*
 * jwt.c: see jwt.h.
 */
#include "jwt.h"

#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- key sets ---- */

static int b64url_ok(const char *p, size_t n);

struct jwk {
    cjose_jwk_t *jwk;
    char *kid;   /* NULL when the key has none */
    char alg[8]; /* the key's own alg, or "" */
    int kty;     /* CJOSE_JWK_KTY_RSA or _EC */
    int crv;     /* EC: the curve's NID */
};

struct gh_jwk_set {
    struct jwk *keys;
    size_t n;
};

void gh_jwks_free(struct gh_jwk_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++) {
        cjose_jwk_release(set->keys[i].jwk);
        free(set->keys[i].kid);
    }
    free(set->keys);
    free(set);
}

size_t gh_jwks_count(const struct gh_jwk_set *set)
{
    return set ? set->n : 0;
}

static int add_key(struct gh_jwk_set *set, const struct gh_json *k)
{
    const char *use = gh_json_str(gh_json_get(k, "use"), NULL);
    const char *kty = gh_json_str(gh_json_get(k, "kty"), NULL);
    const char *alg = gh_json_str(gh_json_get(k, "alg"), NULL);
    if ((use && strcmp(use, "sig") != 0) || kty == NULL ||
        (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0))
        return 0; /* not a public signing key of a kind we verify with */
    if (gh_json_get(k, "d") != NULL)
        return 0; /* a private key has no business in a published set */
    if (alg && strlen(alg) >= sizeof(((struct jwk *)0)->alg))
        return 0;
    /* cjose asserts on some malformed base64 (it would abort the process): only clean values reach it */
    static const char *const b64_members[] = {"n", "e", "x", "y"};
    for (size_t i = 0; i < sizeof(b64_members) / sizeof(b64_members[0]); i++) {
        const struct gh_json *m = gh_json_get(k, b64_members[i]);
        size_t len = 0;
        const char *v = gh_json_str(m, &len);
        if (m != NULL && (v == NULL || !b64url_ok(v, len)))
            return 0;
    }
    char *text = gh_json_dump(k, 0);
    cjose_err cerr;
    cjose_jwk_t *jwk = cjose_jwk_import(text, strlen(text), &cerr);
    free(text);
    if (jwk == NULL)
        return 0;
    struct jwk e = {.jwk = jwk, .kty = cjose_jwk_get_kty(jwk, &cerr)};
    if (e.kty == CJOSE_JWK_KTY_RSA && cjose_jwk_get_keysize(jwk, &cerr) < 2048) {
        cjose_jwk_release(jwk);
        return 0;
    }
    if (e.kty == CJOSE_JWK_KTY_EC)
        e.crv = (int)cjose_jwk_EC_get_curve(jwk, &cerr);
    const char *kid = gh_json_str(gh_json_get(k, "kid"), NULL);
    e.kid = kid ? gh_strdup(kid) : NULL;
    snprintf(e.alg, sizeof(e.alg), "%s", alg ? alg : "");
    set->keys = gh_realloc(set->keys, (set->n + 1) * sizeof(*set->keys));
    set->keys[set->n++] = e;
    return 1;
}

int gh_jwks_parse(const char *json, size_t len, struct gh_jwk_set **out, struct gh_err *err)
{
    *out = NULL;
    struct gh_json *doc = gh_json_parse(json, len, err);
    if (doc == NULL)
        return GH_EINVAL;
    const struct gh_json *keys = gh_json_get(doc, "keys");
    if (gh_json_type(keys) != GH_JSON_ARRAY) {
        gh_json_unref(doc);
        return gh_err_set(err, GH_EINVAL, "not a JWKS document (no \"keys\" array)");
    }
    struct gh_jwk_set *set = gh_calloc(1, sizeof(*set));
    for (size_t i = 0; i < gh_json_size(keys); i++)
        if (gh_json_type(gh_json_at(keys, i)) == GH_JSON_OBJECT)
            add_key(set, gh_json_at(keys, i));
    gh_json_unref(doc);
    if (set->n == 0) {
        gh_jwks_free(set);
        return gh_err_set(err, GH_EINVAL,
                          "the JWKS holds no usable signing key (RSA of 2048 bits or more, or EC)");
    }
    *out = set;
    return 0;
}

/* ---- decoding ---- */

static int b64url_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Strict base64url without padding: only the alphabet, never a length that leaves 1 spare char. */
static int b64url_ok(const char *p, size_t n)
{
    if (n == 0 || n % 4 == 1)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!b64url_char((unsigned char)p[i]))
            return 0;
    return 1;
}

static int b64url_decode(const char *p, size_t n, unsigned char **out, size_t *out_len)
{
    if (!b64url_ok(p, n))
        return -1;
    cjose_err cerr;
    uint8_t *buf = NULL;
    if (!cjose_base64url_decode(p, n, &buf, out_len, &cerr))
        return -1;
    *out = buf;
    return 0;
}

static struct gh_json *decode_object(const char *p, size_t n, const char *what, struct gh_err *err)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    if (b64url_decode(p, n, &raw, &len) != 0) {
        gh_err_set(err, GH_EINVAL, "the token's %s is not base64url", what);
        return NULL;
    }
    struct gh_err why = {{0}};
    struct gh_json *j = gh_json_parse((const char *)raw, len, &why);
    cjose_get_dealloc()(raw);
    if (j == NULL || gh_json_type(j) != GH_JSON_OBJECT) {
        gh_json_unref(j);
        gh_err_set(err, GH_EINVAL, "the token's %s is not a JSON object", what);
        return NULL;
    }
    return j;
}

void gh_jwt_release(struct gh_jwt *t)
{
    gh_json_unref(t->header);
    gh_json_unref(t->claims);
    if (t->sig)
        cjose_get_dealloc()(t->sig);
    memset(t, 0, sizeof(*t));
}

int gh_jwt_decode(struct gh_str token, size_t max_bytes, struct gh_jwt *out, struct gh_err *err)
{
    memset(out, 0, sizeof(*out));
    if (token.len > max_bytes)
        return gh_err_set(err, GH_EINVAL, "the token is larger than %zu bytes", max_bytes);
    size_t dots[2], nd = 0;
    for (size_t i = 0; i < token.len; i++)
        if (token.p[i] == '.') {
            if (nd == 2)
                return gh_err_set(err, GH_EINVAL,
                                  "the token is not a signed JWT (it has more than three parts)");
            dots[nd++] = i;
        }
    if (nd != 2)
        return gh_err_set(err, GH_EINVAL, "the token is not a JWT (three parts separated by dots)");
    out->compact = token;
    out->header = decode_object(token.p, dots[0], "header", err);
    if (out->header == NULL)
        return GH_EINVAL;
    out->claims = decode_object(token.p + dots[0] + 1, dots[1] - dots[0] - 1, "payload", err);
    if (out->claims == NULL) {
        gh_jwt_release(out);
        return GH_EINVAL;
    }
    if (b64url_decode(token.p + dots[1] + 1, token.len - dots[1] - 1, &out->sig, &out->sig_len) != 0) {
        gh_jwt_release(out);
        return gh_err_set(err, GH_EINVAL, "the token has no valid signature part");
    }
    out->alg = gh_json_str(gh_json_get(out->header, "alg"), NULL);
    out->kid = gh_json_str(gh_json_get(out->header, "kid"), NULL);
    out->iss = gh_json_str(gh_json_get(out->claims, "iss"), NULL);
    if (out->alg == NULL) {
        gh_jwt_release(out);
        return gh_err_set(err, GH_EINVAL, "the token's header has no alg");
    }
    return 0;
}

/* ---- verification ---- */

static int listed(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

/* Whether alg fits the key: its family, its curve, and the key's own alg when it names one. */
static int alg_fits(const struct jwk *k, const char *alg)
{
    if (k->alg[0] && strcmp(k->alg, alg) != 0)
        return 0;
    if (k->kty == CJOSE_JWK_KTY_RSA)
        return (alg[0] == 'R' || alg[0] == 'P') && alg[1] == 'S';
    if (k->kty == CJOSE_JWK_KTY_EC)
        return (strcmp(alg, "ES256") == 0 && k->crv == CJOSE_JWK_EC_P_256) ||
               (strcmp(alg, "ES384") == 0 && k->crv == CJOSE_JWK_EC_P_384) ||
               (strcmp(alg, "ES512") == 0 && k->crv == CJOSE_JWK_EC_P_521);
    return 0;
}

static const struct jwk *choose_key(const struct gh_jwk_set *keys, const struct gh_jwt *t)
{
    if (t->kid) {
        for (size_t i = 0; i < keys->n; i++)
            if (keys->keys[i].kid && strcmp(keys->keys[i].kid, t->kid) == 0)
                return &keys->keys[i];
        return NULL;
    }
    /* no kid: only unambiguous when one key fits */
    const struct jwk *found = NULL;
    for (size_t i = 0; i < keys->n; i++)
        if (alg_fits(&keys->keys[i], t->alg)) {
            if (found)
                return NULL;
            found = &keys->keys[i];
        }
    return found;
}

/* ECDSA signatures in a JWS are r || s, each exactly the curve's size, and neither may be zero. */
static int ecdsa_sig_ok(const struct gh_jwt *t)
{
    size_t want = strcmp(t->alg, "ES256") == 0 ? 64 : strcmp(t->alg, "ES384") == 0 ? 96 : 132;
    if (t->sig_len != want)
        return 0;
    unsigned char r = 0, s = 0;
    for (size_t i = 0; i < want / 2; i++) {
        r |= t->sig[i];
        s |= t->sig[want / 2 + i];
    }
    return r && s;
}

static int number_claim(const struct gh_json *claims, const char *name, uint64_t *out)
{
    const struct gh_json *v = gh_json_get(claims, name);
    int type = gh_json_type(v);
    if (type == GH_JSON_INT && gh_json_int_value(v) >= 0) {
        *out = (uint64_t)gh_json_int_value(v);
        return 1;
    }
    if (type == GH_JSON_REAL) {
        double d = gh_json_real_value(v);
        if (d >= 0 && d < 1e15) {
            *out = (uint64_t)d;
            return 1;
        }
    }
    return v == NULL ? 0 : -1;
}

static int audience_ok(const struct gh_json *aud, const struct gh_jwt_rules *r)
{
    if (gh_json_type(aud) == GH_JSON_STRING)
        return listed(r->audiences, r->naudiences, gh_json_str(aud, NULL));
    if (gh_json_type(aud) == GH_JSON_ARRAY)
        for (size_t i = 0; i < gh_json_size(aud); i++) {
            const char *a = gh_json_str(gh_json_at(aud, i), NULL);
            if (a && listed(r->audiences, r->naudiences, a))
                return 1;
        }
    return 0;
}

static int check_claims(const struct gh_jwt *t, const struct gh_jwt_rules *r, uint64_t now_s, char *client,
                        size_t client_cap, uint64_t *exp, struct gh_err *err)
{
    const struct gh_json *c = t->claims;
    if (t->iss == NULL || strcmp(t->iss, r->issuer) != 0)
        return gh_err_set(err, GH_EINVAL, "the token's issuer is not accepted");
    if (!audience_ok(gh_json_get(c, "aud"), r))
        return gh_err_set(err, GH_EINVAL, "the token is not meant for this audience");
    uint64_t v = 0;
    int has = number_claim(c, "exp", &v);
    if (has <= 0)
        return gh_err_set(err, GH_EINVAL, "the token has no valid exp claim");
    if (now_s >= v + r->clock_skew_s)
        return gh_err_set(err, GH_EINVAL, "the token has expired");
    *exp = v;
    has = number_claim(c, "nbf", &v);
    if (has < 0 || (has > 0 && v > now_s + r->clock_skew_s))
        return gh_err_set(err, GH_EINVAL, "the token is not valid yet (nbf)");
    has = number_claim(c, "iat", &v);
    if (has < 0 || (has > 0 && v > now_s + r->clock_skew_s))
        return gh_err_set(err, GH_EINVAL, "the token was issued in the future (iat)");
    for (size_t i = 0; i < r->nrequired; i++)
        if (gh_json_get(c, r->required[i]) == NULL)
            return gh_err_set(err, GH_EINVAL, "the token lacks the required claim %s", r->required[i]);
    size_t len = 0;
    const char *who = gh_json_str(gh_json_get(c, r->client_claim), &len);
    if (who == NULL || len == 0 || len >= client_cap)
        return gh_err_set(err, GH_EINVAL, "the token has no usable %s claim to name the application",
                          r->client_claim);
    memcpy(client, who, len + 1);
    return 0;
}

int gh_jwt_verify(const struct gh_jwt *t, const struct gh_jwt_rules *r, const struct gh_jwk_set *keys,
                  uint64_t now_s, char *client, size_t client_cap, uint64_t *exp, struct gh_err *err)
{
    /* the header: only what we understand, and no key brought along */
    static const char *const refused[] = {"jwk", "jku", "x5u", "x5c", "crit"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (gh_json_get(t->header, refused[i]) != NULL)
            return gh_err_set(err, GH_EINVAL, "the token's header carries %s, which is not accepted",
                              refused[i]);
    if (!listed(r->algorithms, r->nalgorithms, t->alg) || strcmp(t->alg, "none") == 0 || t->alg[0] == 'H')
        return gh_err_set(err, GH_EINVAL, "the token's algorithm is not accepted");
    if (keys == NULL || keys->n == 0)
        return gh_err_set(err, GH_ENOTFOUND, "the issuer's signing keys are not available");
    const struct jwk *k = choose_key(keys, t);
    if (k == NULL)
        return gh_err_set(err, t->kid ? GH_ENOTFOUND : GH_EINVAL, "no signing key matches the token");
    if (!alg_fits(k, t->alg))
        return gh_err_set(err, GH_EINVAL, "the token's algorithm does not fit its key");
    if (t->alg[0] == 'E' && !ecdsa_sig_ok(t))
        return gh_err_set(err, GH_EINVAL, "the token's signature is malformed");
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(t->compact.p, t->compact.len, &cerr);
    int good = jws != NULL && cjose_jws_verify(jws, k->jwk, &cerr);
    cjose_jws_release(jws);
    if (!good)
        return gh_err_set(err, GH_EINVAL, "the token's signature is not valid");
    return check_claims(t, r, now_s, client, client_cap, exp, err);
}

/* ---- credential digest ---- */

void gh_jwt_credential(const char *issuer, const char *client, unsigned char out[32])
{
    struct gh_buf b = {0};
    gh_buf_add(&b, "jwt", 4);
    gh_buf_add(&b, issuer, strlen(issuer) + 1);
    gh_buf_add(&b, client, strlen(client));
    unsigned int n = 32;
    EVP_Digest(b.p, b.len, out, &n, EVP_sha256(), NULL);
    gh_buf_free(&b);
}

int gh_jwt_claim_key(const struct gh_jwt *t, const char *claim, unsigned char out[16])
{
    size_t len = 0;
    const char *v = gh_json_str(gh_json_get(t->claims, claim), &len);
    if (v == NULL || len == 0 || t->iss == NULL)
        return GH_ENOTFOUND;
    struct gh_buf b = {0};
    gh_buf_add(&b, t->iss, strlen(t->iss) + 1);
    gh_buf_add(&b, claim, strlen(claim) + 1);
    gh_buf_add(&b, v, len);
    unsigned char d[32];
    unsigned int n = 32;
    EVP_Digest(b.p, b.len, d, &n, EVP_sha256(), NULL);
    gh_buf_free(&b);
    memcpy(out, d, 16);
    return 0;
}
