/*
 * oidc.c: see oidc.h.
 */
#include "oidc.h"

#include "../base/fetch.h"
#include "../base/json.h"
#include "jwt.h"
#include "../catalog/catalog.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRELOGIN_MAX 4096
#define PRELOGIN_TTL_MS (10ull * 60 * 1000)
#define FETCH_TIMEOUT_MS 10000
#define FETCH_MAX_BYTES ((size_t)1 << 20)

struct prelogin {
    char state[GH_TOKEN_LEN + 1];
    char binding[65]; /* SHA-256 hex of the cookie's value */
    char nonce[GH_TOKEN_LEN + 1];
    char verifier[GH_TOKEN_LEN + 1];
    char return_to[512];
    uint64_t created_ms;
};

struct gh_oidc {
    uv_loop_t *loop;
    struct gh_jwks_registry *jwks;
    const struct gh_config *cfg;
    char *secret;
    struct prelogin *pre; /* in creation order */
    size_t npre;
};

struct gh_oidc *gh_oidc_new(uv_loop_t *loop, struct gh_jwks_registry *jwks)
{
    struct gh_oidc *o = gh_calloc(1, sizeof(*o));
    o->loop = loop;
    o->jwks = jwks;
    o->pre = gh_calloc(PRELOGIN_MAX, sizeof(*o->pre));
    return o;
}

static void wipe_secret(struct gh_oidc *o)
{
    if (o->secret) {
        OPENSSL_cleanse(o->secret, strlen(o->secret));
        free(o->secret);
        o->secret = NULL;
    }
}

void gh_oidc_free(struct gh_oidc *o)
{
    if (o == NULL)
        return;
    wipe_secret(o);
    OPENSSL_cleanse(o->pre, PRELOGIN_MAX * sizeof(*o->pre));
    free(o->pre);
    free(o);
}

void gh_oidc_configure(struct gh_oidc *o, const struct gh_config *cfg, const char *client_secret)
{
    o->cfg = cfg;
    wipe_secret(o);
    o->secret = client_secret ? gh_strdup(client_secret) : NULL;
}

void gh_oidc_login_free(struct gh_oidc_login *l)
{
    if (l == NULL)
        return;
    free(l->sub);
    free(l->name);
    free(l->email);
    free(l->username);
    for (size_t i = 0; i < l->ngroups; i++)
        free(l->groups[i]);
    for (size_t i = 0; i < l->nroles; i++)
        free(l->roles[i]);
    free(l->groups);
    free(l->roles);
    free(l);
}

int gh_oidc_safe_return(const char *r)
{
    if (r == NULL || r[0] != '/' || r[1] == '/' || r[1] == '\\')
        return 0;
    for (const unsigned char *p = (const unsigned char *)r; *p; p++)
        if (*p < 0x21 || *p == 0x7f || *p == '\\')
            return 0;
    return strlen(r) < 512;
}

/* ---- pre-logins ---- */

static void expire(struct gh_oidc *o, uint64_t now_ms)
{
    size_t keep = 0;
    while (keep < o->npre && o->pre[keep].created_ms + PRELOGIN_TTL_MS <= now_ms)
        keep++;
    if (keep) {
        memmove(o->pre, o->pre + keep, (o->npre - keep) * sizeof(*o->pre));
        o->npre -= keep;
    }
}

static const char *doc_str(const struct gh_json *doc, const char *key)
{
    const char *s = gh_json_str(gh_json_get(doc, key), NULL);
    return s && (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) ? s : NULL;
}

static void add_param(struct gh_buf *b, const char *name, const char *value)
{
    gh_buf_adds(b, name);
    gh_buf_add(b, "=", 1);
    gh_url_encode(b, value);
}

int gh_oidc_begin(struct gh_oidc *o, const char *return_to, uint64_t now_ms, struct gh_buf *location,
                  char binding[GH_TOKEN_LEN + 1], struct gh_err *err)
{
    const struct gh_config_identity *id = o->cfg ? &o->cfg->identity : NULL;
    if (id == NULL || id->issuer == NULL)
        return gh_err_set(err, GH_ENOTFOUND, "sign-in through an identity provider is not configured");
    const struct gh_json *doc = gh_jwks_discovery(o->jwks, id->issuer);
    const char *authz = doc_str(doc, "authorization_endpoint");
    if (doc == NULL || authz == NULL)
        return gh_err_set(err, GH_EAGAIN,
                          "sign-in is not available yet: the identity provider's discovery document has not "
                          "been fetched");
    const struct gh_json *methods = gh_json_get(doc, "code_challenge_methods_supported");
    if (methods) {
        int s256 = 0;
        for (size_t i = 0; i < gh_json_size(methods); i++) {
            const char *m = gh_json_str(gh_json_at(methods, i), NULL);
            s256 |= m && strcmp(m, "S256") == 0;
        }
        if (!s256)
            return gh_err_set(err, GH_EINVAL, "the identity provider does not support PKCE with S256");
    }
    expire(o, now_ms);
    if (o->npre == PRELOGIN_MAX) { /* the oldest pending sign-in gives way */
        memmove(o->pre, o->pre + 1, (o->npre - 1) * sizeof(*o->pre));
        o->npre--;
    }
    struct prelogin *p = &o->pre[o->npre];
    if (gh_random_token(p->state) || gh_random_token(p->nonce) || gh_random_token(p->verifier) ||
        gh_random_token(binding))
        return gh_err_set(err, GH_EINTERNAL, "no randomness for a sign-in");
    gh_sha256_hex(binding, GH_TOKEN_LEN, p->binding);
    snprintf(p->return_to, sizeof(p->return_to), "%s", return_to);
    p->created_ms = now_ms;
    o->npre++;
    /* RFC 7636 4.2: the challenge is BASE64URL(SHA-256(verifier)) */
    unsigned char d[32];
    unsigned int dl = 32;
    EVP_Digest(p->verifier, GH_TOKEN_LEN, d, &dl, EVP_sha256(), NULL);
    char challenge[48];
    gh_b64url(d, sizeof(d), challenge);
    struct gh_buf scope = {0};
    for (size_t i = 0; i < id->nscopes; i++) {
        if (i)
            gh_buf_add(&scope, " ", 1);
        gh_buf_adds(&scope, id->scopes[i]);
    }
    gh_buf_add(&scope, "", 1);
    gh_buf_adds(location, authz);
    gh_buf_adds(location, strchr(authz, '?') ? "&" : "?");
    add_param(location, "response_type", "code");
    add_param(location, "&client_id", id->client_id);
    add_param(location, "&redirect_uri", id->redirect_uri);
    add_param(location, "&scope", scope.p);
    add_param(location, "&state", p->state);
    add_param(location, "&nonce", p->nonce);
    add_param(location, "&code_challenge", challenge);
    add_param(location, "&code_challenge_method", "S256");
    gh_buf_add(location, "", 1);
    location->len--;
    gh_buf_free(&scope);
    return 0;
}

/* ---- the answer ---- */

struct exchange {
    uv_work_t work;
    struct gh_oidc *o;
    gh_oidc_done_fn done;
    void *ctx;
    struct prelogin pre;
    /* in */
    char *token_url, *userinfo_url, *jwks_url, *form, *client_id, *secret;
    int refetch_keys; /* second round: only the key set */
    int refused;      /* the provider answered, with an error (else: could not be reached) */
    /* out */
    char *id_token, *access_token;
    struct gh_json *userinfo;
    struct gh_jwk_set *keys;
    char why[512];
};

static void exchange_free(struct exchange *x)
{
    free(x->token_url);
    free(x->userinfo_url);
    free(x->jwks_url);
    if (x->form)
        OPENSSL_cleanse(x->form, strlen(x->form));
    free(x->form);
    free(x->client_id);
    if (x->secret)
        OPENSSL_cleanse(x->secret, strlen(x->secret));
    free(x->secret);
    free(x->id_token);
    if (x->access_token)
        OPENSSL_cleanse(x->access_token, strlen(x->access_token));
    free(x->access_token);
    gh_json_unref(x->userinfo);
    gh_jwks_free(x->keys);
    OPENSSL_cleanse(&x->pre, sizeof(x->pre));
    free(x);
}

/* A JSON object from the provider; NULL with why, and *refused set when it answered with an error. */
static struct gh_json *fetch_json(const struct gh_fetch_req *r, char *why, size_t cap, int *refused)
{
    struct gh_fetch_result res;
    struct gh_err err = {{0}};
    if (gh_fetch_req(r, &res, &err) != 0) {
        snprintf(why, cap, "the identity provider cannot be reached (%.300s)", err.msg);
        return NULL;
    }
    struct gh_json *j = gh_json_parse(res.body.p, res.body.len, &err);
    long status = res.status;
    gh_buf_free(&res.body);
    if (j == NULL || gh_json_type(j) != GH_JSON_OBJECT) {
        gh_json_unref(j);
        snprintf(why, cap, "the identity provider answered HTTP %ld without a JSON object", status);
        return NULL;
    }
    if (status != 200) {
        *refused = 1;
        const char *e = gh_json_str(gh_json_get(j, "error"), NULL);
        const char *d = gh_json_str(gh_json_get(j, "error_description"), NULL);
        snprintf(why, cap, "the identity provider refused (HTTP %ld: %.100s%s%.200s)", status,
                 e ? e : "error", d ? ": " : "", d ? d : "");
        gh_json_unref(j);
        return NULL;
    }
    return j;
}

static void do_exchange(uv_work_t *w)
{
    struct exchange *x = w->data;
    if (x->refetch_keys) {
        struct gh_fetch_result res;
        struct gh_err err = {{0}};
        if (gh_fetch(x->jwks_url, FETCH_TIMEOUT_MS, FETCH_MAX_BYTES, &res, &err) != 0)
            snprintf(x->why, sizeof(x->why), "the identity provider's keys cannot be fetched (%.300s)",
                     err.msg);
        else if (res.status != 200 || gh_jwks_parse(res.body.p, res.body.len, &x->keys, &err) != 0)
            snprintf(x->why, sizeof(x->why), "the identity provider's keys are not usable (HTTP %ld)",
                     res.status);
        gh_buf_free(&res.body);
        return;
    }
    struct gh_fetch_req r = {.url = x->token_url,
                             .form = x->form,
                             .user = x->secret ? x->client_id : NULL,
                             .password = x->secret,
                             .timeout_ms = FETCH_TIMEOUT_MS,
                             .max_bytes = FETCH_MAX_BYTES};
    struct gh_json *t = fetch_json(&r, x->why, sizeof(x->why), &x->refused);
    if (t == NULL)
        return;
    const char *idt = gh_json_str(gh_json_get(t, "id_token"), NULL);
    const char *at = gh_json_str(gh_json_get(t, "access_token"), NULL);
    const char *tt = gh_json_str(gh_json_get(t, "token_type"), NULL);
    if (idt == NULL) {
        snprintf(x->why, sizeof(x->why), "the identity provider returned no ID token");
    } else {
        x->id_token = gh_strdup(idt);
        if (at && tt && strcasecmp(tt, "bearer") == 0)
            x->access_token = gh_strdup(at);
    }
    gh_json_unref(t);
    if (x->id_token && x->userinfo_url && x->access_token) {
        struct gh_fetch_req u = {.url = x->userinfo_url,
                                 .bearer = x->access_token,
                                 .timeout_ms = FETCH_TIMEOUT_MS,
                                 .max_bytes = FETCH_MAX_BYTES};
        x->userinfo = fetch_json(&u, x->why, sizeof(x->why), &x->refused);
        if (x->userinfo == NULL) {
            free(x->id_token);
            x->id_token = NULL;
        }
    }
}

static void strings(const struct gh_json *v, char ***out, size_t *n)
{
    if (gh_json_type(v) == GH_JSON_STRING) {
        *out = gh_realloc(*out, (*n + 1) * sizeof(char *));
        (*out)[(*n)++] = gh_strdup(gh_json_str(v, NULL));
        return;
    }
    for (size_t i = 0; gh_json_type(v) == GH_JSON_ARRAY && i < gh_json_size(v) && *n < 1000; i++)
        strings(gh_json_at(v, i), out, n);
}

static char *claim_dup(const struct gh_json *c, const struct gh_json *ui, const char *name)
{
    const char *s = gh_json_str(gh_json_get(c, name), NULL);
    if (s == NULL && ui)
        s = gh_json_str(gh_json_get(ui, name), NULL);
    return s ? gh_strdup(s) : NULL;
}

static void logout_url(const struct gh_config_identity *id, const struct gh_json *doc, char *out, size_t cap)
{
    const char *es = doc_str(doc, "end_session_endpoint");
    out[0] = '\0';
    if (es == NULL)
        return;
    /* back to this portal's root: the origin of the redirect URI */
    const char *host = strstr(id->redirect_uri, "://") + 3;
    size_t origin = (size_t)(strchr(host, '/') - id->redirect_uri);
    struct gh_buf b = {0}, back = {0};
    gh_buf_add(&back, id->redirect_uri, origin);
    gh_buf_add(&back, "/", 2);
    gh_buf_adds(&b, es);
    gh_buf_adds(&b, strchr(es, '?') ? "&" : "?");
    add_param(&b, "client_id", id->client_id);
    add_param(&b, "&post_logout_redirect_uri", back.p);
    gh_buf_add(&b, "", 1);
    if (b.len <= cap)
        memcpy(out, b.p, b.len);
    gh_buf_free(&b);
    gh_buf_free(&back);
}

static int start(struct exchange *x);

/* The ID token against the issuer's rules (OpenID Connect Core 3.1.3.7). 0, GH_ENOTFOUND (no key
 * with its kid), or GH_EINVAL with why. */
static int validate(struct exchange *x, const struct gh_jwk_set *keys, struct gh_oidc_login **out)
{
    const struct gh_config_identity *id = &x->o->cfg->identity;
    char *aud[] = {id->client_id};
    char *required[] = {"iat", "sub"};
    struct gh_jwt_rules rules = {.issuer = id->issuer,
                                 .audiences = aud,
                                 .naudiences = 1,
                                 .algorithms = id->algorithms,
                                 .nalgorithms = id->nalgorithms,
                                 .required = required,
                                 .nrequired = 2,
                                 .clock_skew_s = id->clock_skew_ms / 1000,
                                 .client_claim = "sub"};
    struct gh_jwt t;
    struct gh_err err = {{0}};
    if (gh_jwt_decode((struct gh_str){x->id_token, strlen(x->id_token)}, 65536, &t, &err) != 0) {
        snprintf(x->why, sizeof(x->why), "the ID token is malformed: %.300s", err.msg);
        return GH_EINVAL;
    }
    char sub[256];
    uint64_t exp = 0;
    int rc = keys ? gh_jwt_verify(&t, &rules, keys, gh_time_wall_ms() / 1000, sub, sizeof(sub), &exp, &err)
                  : GH_ENOTFOUND;
    if (rc) {
        snprintf(x->why, sizeof(x->why), "the ID token is not valid: %.300s", keys ? err.msg : "no keys yet");
        gh_jwt_release(&t);
        return rc;
    }
    const struct gh_json *c = t.claims;
    size_t nl = 0;
    const char *nonce = gh_json_str(gh_json_get(c, "nonce"), &nl);
    const struct gh_json *ja = gh_json_get(c, "aud");
    const char *azp = gh_json_str(gh_json_get(c, "azp"), NULL);
    if (nonce == NULL || nl != GH_TOKEN_LEN || CRYPTO_memcmp(nonce, x->pre.nonce, GH_TOKEN_LEN) != 0)
        snprintf(x->why, sizeof(x->why), "the ID token's nonce is not the one this sign-in sent");
    else if ((gh_json_get(c, "azp") || (gh_json_type(ja) == GH_JSON_ARRAY && gh_json_size(ja) > 1)) &&
             (azp == NULL || strcmp(azp, id->client_id) != 0))
        snprintf(x->why, sizeof(x->why), "the ID token's azp is not this portal");
    if (x->why[0] == '\0' && x->userinfo) {
        const char *us = gh_json_str(gh_json_get(x->userinfo, "sub"), NULL);
        if (us == NULL || strcmp(us, sub) != 0)
            snprintf(x->why, sizeof(x->why), "the userinfo answer is about someone else");
    }
    if (x->why[0]) {
        gh_jwt_release(&t);
        return GH_EINVAL;
    }
    struct gh_oidc_login *l = gh_calloc(1, sizeof(*l));
    l->sub = gh_strdup(sub);
    l->name = claim_dup(c, x->userinfo, "name");
    l->email = claim_dup(c, x->userinfo, "email");
    l->username = claim_dup(c, x->userinfo, id->username_claim);
    const struct gh_json *g = gh_json_get(c, id->groups_claim);
    strings(g ? g : gh_json_get(x->userinfo, id->groups_claim), &l->groups, &l->ngroups);
    const struct gh_json *r = gh_json_get(c, id->roles_claim);
    strings(r ? r : gh_json_get(x->userinfo, id->roles_claim), &l->roles, &l->nroles);
    snprintf(l->return_to, sizeof(l->return_to), "%s", x->pre.return_to);
    logout_url(id, gh_jwks_discovery(x->o->jwks, id->issuer), l->logout_url, sizeof(l->logout_url));
    gh_jwt_release(&t);
    *out = l;
    return 0;
}

static void exchange_done(uv_work_t *w, int status)
{
    struct exchange *x = w->data;
    struct gh_oidc_login *l = NULL;
    int rc = x->refused ? GH_EINVAL : GH_EIO;
    if (status != 0 || x->o->cfg == NULL || x->o->cfg->identity.issuer == NULL) {
        snprintf(x->why, sizeof(x->why), "sign-in was cancelled");
    } else if (x->refetch_keys) {
        rc = GH_EINVAL;
        if (x->keys) {
            x->why[0] = '\0';
            rc = validate(x, x->keys, &l);
        }
    } else if (x->id_token) {
        const char *iss = x->o->cfg->identity.issuer;
        rc = validate(x, gh_jwks_current(x->o->jwks, iss), &l);
        const char *ju = doc_str(gh_jwks_discovery(x->o->jwks, iss), "jwks_uri");
        if (rc == GH_ENOTFOUND && ju) { /* a key the set lacks: the provider may have rotated */
            x->refetch_keys = 1;
            x->jwks_url = gh_strdup(ju);
            x->why[0] = '\0';
            if (start(x) == 0)
                return;
        }
    }
    x->done(x->ctx, l ? 0 : rc ? rc : GH_EIO, l, x->why[0] ? x->why : "sign-in failed");
    exchange_free(x);
}

static int start(struct exchange *x)
{
    x->work.data = x;
    return uv_queue_work(x->o->loop, &x->work, do_exchange, exchange_done);
}

int gh_oidc_finish(struct gh_oidc *o, const struct gh_oidc_answer *a, uint64_t now_ms, gh_oidc_done_fn done,
                   void *ctx, struct gh_err *err)
{
    const struct gh_config_identity *id = o->cfg ? &o->cfg->identity : NULL;
    if (id == NULL || id->issuer == NULL)
        return gh_err_set(err, GH_ENOTFOUND, "sign-in through an identity provider is not configured");
    expire(o, now_ms);
    /* the state first, and used up whatever follows */
    size_t i = 0;
    size_t sl = a->state ? strlen(a->state) : 0;
    while (i < o->npre &&
           !(sl == GH_TOKEN_LEN && CRYPTO_memcmp(o->pre[i].state, a->state, GH_TOKEN_LEN) == 0))
        i++;
    if (i == o->npre)
        return gh_err_set(err, GH_EINVAL, "this sign-in is unknown, used or expired: start again");
    struct prelogin pre = o->pre[i];
    memmove(o->pre + i, o->pre + i + 1, (o->npre - i - 1) * sizeof(*o->pre));
    o->npre--;
    char bh[65];
    gh_sha256_hex(a->binding.p ? a->binding.p : "", a->binding.len, bh);
    int rc = 0;
    const struct gh_json *doc = gh_jwks_discovery(o->jwks, id->issuer);
    if (CRYPTO_memcmp(bh, pre.binding, 64) != 0)
        rc = gh_err_set(err, GH_EINVAL, "this sign-in was started in another browser: start again");
    else if (a->error)
        rc = gh_err_set(err, GH_EINVAL, "the identity provider refused the sign-in: %.100s%s%.200s", a->error,
                        a->error_description ? ": " : "", a->error_description ? a->error_description : "");
    else if (a->iss ? strcmp(a->iss, id->issuer) != 0
                    : gh_json_bool_value(gh_json_get(doc, "authorization_response_iss_parameter_supported")))
        rc = gh_err_set(err, GH_EINVAL,
                        "the answer does not come from the configured identity provider (iss)");
    else if (a->code == NULL || a->code[0] == '\0')
        rc = gh_err_set(err, GH_EINVAL, "the identity provider's answer has no code");
    else if (doc_str(doc, "token_endpoint") == NULL)
        rc = gh_err_set(err, GH_EAGAIN, "the identity provider's discovery document has no token_endpoint");
    if (rc) {
        OPENSSL_cleanse(&pre, sizeof(pre));
        return rc;
    }
    struct exchange *x = gh_calloc(1, sizeof(*x));
    x->o = o;
    x->done = done;
    x->ctx = ctx;
    x->pre = pre;
    OPENSSL_cleanse(&pre, sizeof(pre));
    x->token_url = gh_strdup(doc_str(doc, "token_endpoint"));
    const char *ui = doc_str(doc, "userinfo_endpoint");
    x->userinfo_url = id->userinfo && ui ? gh_strdup(ui) : NULL;
    x->client_id = gh_strdup(id->client_id);
    x->secret = o->secret ? gh_strdup(o->secret) : NULL;
    struct gh_buf f = {0};
    add_param(&f, "grant_type", "authorization_code");
    add_param(&f, "&code", a->code);
    add_param(&f, "&redirect_uri", id->redirect_uri);
    add_param(&f, "&code_verifier", x->pre.verifier);
    if (x->secret == NULL)
        add_param(&f, "&client_id", id->client_id);
    gh_buf_add(&f, "", 1);
    x->form = f.p;
    if (start(x) != 0) {
        exchange_free(x);
        return gh_err_set(err, GH_EINTERNAL, "cannot start the code exchange");
    }
    return 0;
}

/* ---- mapping ---- */

/* A claim value made into an entity name: [a-z0-9] with - _ . between, at most 63. */
static void entity_name(const char *in, char out[64])
{
    size_t n = 0;
    for (const char *p = in; *p && n < 63; p++) {
        char ch = *p;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!ok)
            ch = ch == '.' || ch == '_' ? ch : '-';
        if (!ok && (n == 0 || out[n - 1] == '-' || out[n - 1] == '.' || out[n - 1] == '_'))
            continue;
        out[n++] = ch;
    }
    while (n && (out[n - 1] == '-' || out[n - 1] == '.' || out[n - 1] == '_'))
        n--;
    out[n] = '\0';
}

int gh_identity_map(const struct gh_config_identity *id, const struct gh_oidc_login *l, struct gh_actor *out,
                    struct gh_err *err)
{
    gh_actor_clear(out);
    char name[64] = "";
    char local[256];
    if (l->username && l->username[0]) {
        snprintf(local, sizeof(local), "%s", l->username);
    } else if (l->email && l->email[0]) {
        snprintf(local, sizeof(local), "%s", l->email);
    } else {
        snprintf(local, sizeof(local), "%s", l->sub ? l->sub : "");
    }
    char *at = strchr(local, '@');
    if (at)
        *at = '\0';
    entity_name(local, name);
    if (name[0] == '\0')
        return gh_err_set(err, GH_EINVAL, "the identity provider named nobody (no usable %s, email or sub)",
                          id->username_claim);
    snprintf(out->user, sizeof(out->user), "user:default/%s", name);
    snprintf(out->id, sizeof(out->id), "%s", out->user);
    enum gh_role role = gh_role_parse(id->default_role ? id->default_role : "developer");
    char *const *lists[2] = {l->groups, l->roles};
    size_t counts[2] = {l->ngroups, l->nroles};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < counts[k]; i++) {
            for (size_t m = 0; m < id->nrole_map; m++)
                if (strcmp(id->role_map[m].from, lists[k][i]) == 0) {
                    enum gh_role r = gh_role_parse(id->role_map[m].to);
                    if (r > role)
                        role = r;
                }
            for (size_t m = 0; m < id->ngroup_map; m++)
                if (strcmp(id->group_map[m].from, lists[k][i]) == 0)
                    gh_actor_add_group(out, id->group_map[m].to);
        }
    out->role = role;
    return 0;
}

/* A catalog User as a person: their teams (memberOf) and the role role_map gives those teams' names or
 * refs (the highest; default_role otherwise). */
void gh_identity_person(const struct gh_config_identity *id, const struct gh_json *e, struct gh_actor *out)
{
    gh_actor_clear(out);
    const struct gh_json *md = gh_json_get(e, "metadata");
    snprintf(out->user, sizeof(out->user), "user:%s/%s",
             gh_json_str(gh_json_get(md, "namespace"), NULL) ? gh_json_str(gh_json_get(md, "namespace"), NULL)
                                                             : "default",
             gh_json_str(gh_json_get(md, "name"), NULL));
    for (char *p = out->user; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    snprintf(out->id, sizeof(out->id), "%s", out->user);
    enum gh_role role = gh_role_parse(id->default_role);
    const struct gh_json *m = gh_json_get(gh_json_get(e, "spec"), "memberOf");
    for (size_t i = 0; i < gh_json_size(m); i++) {
        const char *g = gh_json_str(gh_json_at(m, i), NULL);
        struct gh_entity_ref r;
        char ref[GH_ENTITY_REF_MAX];
        if (g == NULL || gh_catalog_parse_ref((struct gh_str){g, strlen(g)}, "Group", NULL, &r, NULL) != 0)
            continue;
        gh_catalog_ref_string(&r, ref, sizeof(ref));
        gh_actor_add_group(out, ref);
        for (size_t k = 0; k < id->nrole_map; k++)
            if (strcasecmp(id->role_map[k].from, r.name) == 0 || strcmp(id->role_map[k].from, ref) == 0) {
                enum gh_role x = gh_role_parse(id->role_map[k].to);
                if (x > role)
                    role = x;
            }
    }
    out->role = role;
}
