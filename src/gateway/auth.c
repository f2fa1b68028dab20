/*
 * auth.c: see auth.h.
 */
#include "auth.h"

#include "../base/credcache.h"
#include "iplimit.h"

#include <string.h>

struct gh_access_table *gh_gateway_access;
struct gh_jwks_registry *gh_gateway_jwks;

static int hexv(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

size_t gh_auth_take_query_key(struct gh_str *query, char *val, size_t cap)
{
    static const char name[] = "subscription-key";
    const size_t nl = sizeof(name) - 1;
    char *q = (char *)query->p; /* the client's input buffer: only ever shrunk here */
    size_t in = 0, out = 0, vlen = 0;
    int found = 0;
    val[0] = '\0';
    while (in < query->len) {
        size_t end = in;
        while (end < query->len && query->p[end] != '&')
            end++;
        int is_key = end - in > nl && memcmp(q + in, name, nl) == 0 && q[in + nl] == '=';
        if (is_key && !found) {
            found = 1;
            size_t i = in + nl + 1;
            while (i < end && vlen + 1 < cap) {
                int h1, h2;
                if (q[i] == '%' && i + 2 < end && (h1 = hexv(q[i + 1])) >= 0 && (h2 = hexv(q[i + 2])) >= 0) {
                    val[vlen++] = (char)(h1 * 16 + h2);
                    i += 3;
                } else {
                    val[vlen++] = q[i++];
                }
            }
            if (i < end)
                vlen = 0; /* too long to be a key: treated as none */
            val[vlen] = '\0';
        }
        if (!is_key) {
            if (out > 0)
                q[out++] = '&';
            memmove(q + out, q + in, end - in);
            out += end - in;
        }
        in = end + 1;
    }
    if (found)
        query->len = out;
    return vlen;
}

static void key_decision(const struct gh_api *api, struct gh_str key, struct gh_cred_cache *cache,
                         uint64_t now_ns, uint64_t now_ms, struct gh_auth_result *r)
{
    gh_access_check(gh_gateway_access, api->name, key, cache, now_ns, now_ms, &r->d);
    if (r->d.status == 401)
        r->challenge = GH_CHALLENGE_KEY;
}

int gh_auth_client_limit(const struct gh_api *api, struct gh_str key, uint64_t now_ns,
                         struct gh_auth_result *r)
{
    if (gh_gateway_iplimit == NULL)
        return 1;
    struct gh_rate_result l =
        gh_iplimit_take(gh_gateway_iplimit, api->stats_slot, key, &api->client_rate, now_ns);
    if (l.allowed)
        return 1;
    struct gh_access_decision *d = &r->d;
    d->status = 429;
    d->reason = GH_DENY_RATE;
    d->why = "rate limit exceeded";
    d->retry_after_s = (l.retry_after_ns + 999999999ull) / 1000000000ull;
    d->limit = api->client_rate.burst;
    d->remaining = 0;
    d->window_s = api->client_rate.period_ns / 1000000000ull;
    d->reset_s = (l.reset_ns + 999999999ull) / 1000000000ull;
    r->policy = api->limit_by == GH_LIMIT_CLAIM ? "claim" : "ip";
    return 0;
}

static void refuse(struct gh_auth_result *r, int status, enum gh_deny reason, const char *why)
{
    memset(&r->d, 0, sizeof(r->d));
    r->d.status = status;
    r->d.reason = reason;
    r->d.why = why;
    if (status == 401) {
        r->challenge = GH_CHALLENGE_BEARER;
        r->bearer_invalid = 1;
    }
}

/* Messages that may leave the gateway: the verifier's reasons, kept per thread for the error body. */
static _Thread_local struct gh_err jwt_why;

/* Verifies token (or finds it verified in the cache) into v: its credential digest, and its rate-limit
 * key when the API limits by a claim. Returns 0, or refuses in r. */
static int jwt_identify(const struct gh_snapshot *snap, const struct gh_api *api, struct gh_str token,
                        struct gh_cred_cache *cache, uint64_t now_ms, struct gh_cred_cached *v,
                        struct gh_auth_result *r)
{
    uint64_t now_s = now_ms / 1000;
    uint64_t gen = snap->generation << 32 ^ gh_jwks_generation(gh_gateway_jwks);
    int by_claim = api->limit_by == GH_LIMIT_CLAIM;
    const struct gh_cred_cached *hit = gh_cred_cache_get(cache, token, now_s, gen);
    if (hit && (!by_claim || hit->limit_for == api->limit_claim_id)) {
        *v = *hit;
        return 0;
    }
    size_t max = 0;
    for (size_t i = 0; i < api->nissuers; i++)
        if (api->issuers[i]->cfg->max_token_bytes > max)
            max = api->issuers[i]->cfg->max_token_bytes;
    struct gh_jwt t;
    if (gh_jwt_decode(token, max, &t, &jwt_why) != 0) {
        refuse(r, 401, GH_DENY_TOKEN, jwt_why.msg);
        return GH_EINVAL;
    }
    if (hit) {
        *v = *hit; /* verified before, for another API's claim: only the claim is new */
    } else {
        const struct gh_issuer *is = NULL;
        for (size_t i = 0; i < api->nissuers && t.iss && !is; i++)
            if (strcmp(api->issuers[i]->rules.issuer, t.iss) == 0)
                is = api->issuers[i];
        if (is == NULL || token.len > is->cfg->max_token_bytes) {
            gh_jwt_release(&t);
            refuse(r, 401, GH_DENY_TOKEN,
                   is ? "the token is too large" : "the token's issuer is not accepted by this API");
            return GH_EINVAL;
        }
        char client[256];
        uint64_t exp = 0;
        int slot = -1;
        gh_jwks_read_lock();
        const struct gh_jwk_set *keys = gh_jwks_lookup(gh_gateway_jwks, is->rules.issuer, &slot);
        int rc = keys ? gh_jwt_verify(&t, &is->rules, keys, now_s, client, sizeof(client), &exp, &jwt_why)
                      : GH_EAGAIN;
        gh_jwks_read_unlock();
        if (rc != 0) {
            gh_jwt_release(&t);
            if (rc == GH_EAGAIN) {
                refuse(r, 503, GH_DENY_UNAVAILABLE, "the issuer's signing keys are not available yet");
                return rc;
            }
            if (rc == GH_ENOTFOUND)
                gh_jwks_want_refresh(gh_gateway_jwks, slot);
            refuse(r, 401, GH_DENY_TOKEN, jwt_why.msg);
            return rc;
        }
        *v = (struct gh_cred_cached){.exp_s = exp + is->rules.clock_skew_s};
        gh_jwt_credential(is->rules.issuer, client, v->cred);
    }
    if (by_claim) {
        if (gh_jwt_claim_key(&t, api->limit_claim, v->limit_key) != 0) {
            gh_jwt_release(&t);
            gh_err_set(&jwt_why, GH_EINVAL, "the token has no %s claim to count its requests by",
                       api->limit_claim);
            refuse(r, 401, GH_DENY_TOKEN, jwt_why.msg);
            return GH_EINVAL;
        }
        v->limit_for = api->limit_claim_id;
    }
    gh_jwt_release(&t);
    gh_cred_cache_put(cache, token, v, gen);
    return 0;
}

static void jwt_decision(const struct gh_snapshot *snap, const struct gh_api *api, struct gh_str token,
                         struct gh_cred_cache *cache, uint64_t now_ns, uint64_t now_ms,
                         struct gh_auth_result *r)
{
    struct gh_cred_cached v;
    if (jwt_identify(snap, api, token, cache, now_ms, &v, r) != 0)
        return;
    if (api->auth != GH_AUTH_NONE) {
        gh_access_check_digest(gh_gateway_access, api->name, v.cred, now_ns, now_ms, &r->d);
        if (r->d.status)
            return;
    }
    if (api->limit_by == GH_LIMIT_CLAIM)
        gh_auth_client_limit(api, (struct gh_str){(const char *)v.limit_key, sizeof(v.limit_key)}, now_ns, r);
}

void gh_auth_request(const struct gh_snapshot *snap, const struct gh_api *api, struct gh_http_head *h,
                     struct gh_cred_cache *cache, uint64_t now_ns, uint64_t now_ms, struct gh_auth_result *r)
{
    memset(r, 0, sizeof(*r));
    r->policy = "grant";
    int want_key = api->auth == GH_AUTH_KEY || api->auth == GH_AUTH_KEY_OR_JWT;
    int want_jwt = api->auth == GH_AUTH_JWT || api->auth == GH_AUTH_KEY_OR_JWT ||
                   (api->auth == GH_AUTH_NONE && api->limit_by == GH_LIMIT_CLAIM);
    struct gh_str key = {"", 0}, authz = {"", 0};
    int has_authz = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        struct gh_http_header *hd = &h->headers[i];
        if (want_key && ((hd->name.len == api->key_header_len && gh_str_ieq(hd->name, api->key_header)) ||
                         (api->apim_names && gh_str_ieq(hd->name, "ocp-apim-subscription-key")))) {
            if (key.len == 0)
                key = hd->value;
            hd->hop = 1; /* a credential stays at the edge */
        } else if (want_jwt && gh_str_ieq(hd->name, "authorization")) {
            if (!has_authz)
                authz = hd->value;
            has_authz++;
            hd->hop = 1;
        }
    }
    char qkey[96];
    if (want_key && api->apim_names && h->has_query) {
        size_t n = gh_auth_take_query_key(&h->query, qkey, sizeof(qkey));
        if (key.len == 0 && n)
            key = (struct gh_str){qkey, n};
    }
    if (gh_gateway_access == NULL || (want_jwt && gh_gateway_jwks == NULL)) {
        refuse(r, 503, GH_DENY_UNAVAILABLE, "credentials are not loaded");
        return;
    }
    if (want_key && (key.len || !want_jwt || !has_authz)) {
        key_decision(api, key, cache, now_ns, now_ms, r);
        if (r->d.status == 401 && key.len == 0 && want_jwt) {
            r->challenge |= GH_CHALLENGE_BEARER;
            r->d.why = "an API key (X-Api-Key) or a bearer token is required";
        }
        return;
    }
    /* a bearer token */
    if (!has_authz) {
        refuse(r, 401, GH_DENY_MISSING, "a bearer token is required (Authorization: Bearer ...)");
        r->bearer_invalid = 0;
        return;
    }
    if (has_authz > 1) {
        refuse(r, 401, GH_DENY_TOKEN, "more than one Authorization header");
        return;
    }
    if (authz.len < 7 || !gh_str_ieq((struct gh_str){authz.p, 7}, "bearer ")) {
        refuse(r, 401, GH_DENY_TOKEN, "the Authorization header is not a bearer token");
        return;
    }
    struct gh_str token = {authz.p + 7, authz.len - 7};
    while (token.len && token.p[0] == ' ') {
        token.p++;
        token.len--;
    }
    jwt_decision(snap, api, token, cache, now_ns, now_ms, r);
}
