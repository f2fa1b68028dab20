/*
 * auth.c: who is calling the control API, and signing in and out.
 *
 * A caller is, in this order: the bearer of an API token (Authorization: Bearer; the config's admin
 * token or a stored one), the holder of a session cookie, or nobody. Until sign-in is configured
 * (identity.oidc or identity.dev_login) the control API answers only clients on this machine, and
 * those act as "local" with the api-publisher role, as before identity existed.
 *
 * Cookies: the session cookie is `__Host-gh_session` (Secure) when the portal is served over TLS --
 * the redirect URI is https -- and `gh_session` on plain-HTTP development; HttpOnly, SameSite=Lax,
 * Path=/, no Domain. The pre-login cookie that binds a sign-in to its browser is named likewise
 * (`gh_login`) and lives 10 minutes. State-changing requests made with a session need the session's
 * CSRF token in X-CSRF-Token, and are refused when Origin or Sec-Fetch-Site says another site sent
 * them.
 */
#include "internal.h"

#include "../access/access.h"
#include "../catalog/db.h"
#include "../catalog/service.h"
#include "../identity/oidc.h"
#include "../identity/session.h"
#include "../http/http.h"
#include "../base/fetch.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void gh_api_set_oidc(struct gh_api *a, struct gh_oidc *oidc)
{
    a->oidc = oidc;
}

static int secure_cookies(const struct gh_api *a)
{
    const char *ru = a->cfg ? a->cfg->identity.redirect_uri : NULL;
    return ru && strncmp(ru, "https://", 8) == 0;
}

static const char *cookie_name(const struct gh_api *a, int login)
{
    if (secure_cookies(a))
        return login ? "__Host-gh_login" : "__Host-gh_session";
    return login ? "gh_login" : "gh_session";
}

static void set_cookie(const struct gh_api *a, struct gh_presp *r, int login, const char *value,
                       uint64_t max_age_s)
{
    gh_buf_addf(&r->headers, "Set-Cookie: %s=%s; Path=/; Max-Age=%llu; HttpOnly; SameSite=Lax%s\r\n",
                cookie_name(a, login), value, (unsigned long long)max_age_s,
                secure_cookies(a) ? "; Secure" : "");
}

static const struct gh_http_header *header(const struct gh_preq *req, const char *name)
{
    for (size_t i = 0; i < req->h->nheaders; i++)
        if (gh_str_ieq(req->h->headers[i].name, name))
            return &req->h->headers[i];
    return NULL;
}

/* The value of cookie `name` in the request's Cookie headers ("" when absent). */
static struct gh_str cookie(const struct gh_preq *req, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < req->h->nheaders; i++) {
        if (!gh_str_ieq(req->h->headers[i].name, "cookie"))
            continue;
        const char *p = req->h->headers[i].value.p, *end = p + req->h->headers[i].value.len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == ';'))
                p++;
            const char *semi = memchr(p, ';', (size_t)(end - p));
            if (semi == NULL)
                semi = end;
            if ((size_t)(semi - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=')
                return (struct gh_str){p + nl + 1, (size_t)(semi - p - nl - 1)};
            p = semi;
        }
    }
    return (struct gh_str){"", 0};
}

/* ---- who is calling ---- */

static int bearer(struct gh_api *a, struct gh_str t)
{
    struct gh_actor *me = &a->me;
    if (a->admin_token) {
        unsigned char want[32], got[32];
        unsigned int n = 0;
        /* digests compared in constant time: neither the token's bytes nor its length leak */
        EVP_Digest(a->admin_token, a->admin_token_len, want, &n, EVP_sha256(), NULL);
        EVP_Digest(t.p, t.len, got, &n, EVP_sha256(), NULL);
        if (CRYPTO_memcmp(want, got, sizeof(want)) == 0) {
            me->role = GH_ROLE_ADMIN;
            snprintf(me->id, sizeof(me->id), "admin-token");
            return 0;
        }
    }
    char role[32], id[GH_KEY_ID_LEN + 1], user[128];
    struct gh_store *s = gh_catalog_service_store(a->catalog);
    if (gh_token_role(s, t, role, id, user) != 0)
        return -1;
    me->role = gh_role_parse(role);
    snprintf(me->id, sizeof(me->id), "token:%s", id);
    if (user[0]) { /* a personal token: the person, with their teams as the catalog has them now */
        snprintf(me->user, sizeof(me->user), "%s", user);
        snprintf(me->id, sizeof(me->id), "%s", user);
        struct gh_json *e = gh_catalog_get_by_ref(s, user, NULL);
        const struct gh_json *m = gh_json_get(gh_json_get(e, "spec"), "memberOf");
        for (size_t i = 0; i < gh_json_size(m); i++) {
            struct gh_entity_ref r;
            const char *g = gh_json_str(gh_json_at(m, i), NULL);
            char ref[GH_ENTITY_REF_MAX];
            if (g && gh_catalog_parse_ref((struct gh_str){g, strlen(g)}, "Group", NULL, &r, NULL) == 0 &&
                gh_catalog_ref_string(&r, ref, sizeof(ref)) < sizeof(ref))
                gh_actor_add_group(me, ref);
        }
        gh_json_unref(e);
    }
    return me->role == GH_ROLE_NONE ? -1 : 0;
}

static struct gh_session_limits limits(const struct gh_api *a)
{
    return (struct gh_session_limits){a->cfg->identity.session_idle_ms, a->cfg->identity.session_absolute_ms};
}

int gh__api_identify(struct gh_api *a, const struct gh_preq *req, struct gh_presp *r)
{
    gh_actor_clear(&a->me);
    a->csrf[0] = '\0';
    a->me.local = req->loopback;
    const struct gh_config_identity *id = a->cfg ? &a->cfg->identity : NULL;
    int sign_in = id && (id->issuer || id->dev_login);
    if (!sign_in && !req->loopback) {
        gh__api_error(r, 403,
                      "the control API answers clients on this machine only until sign-in is configured "
                      "(identity:)");
        return -1;
    }
    const struct gh_http_header *authz = header(req, "authorization");
    if (authz) {
        struct gh_str v = authz->value;
        if (v.len < 8 || strncasecmp(v.p, "Bearer ", 7) != 0 ||
            bearer(a, (struct gh_str){v.p + 7, v.len - 7}) != 0) {
            gh_actor_clear(&a->me);
            gh_buf_adds(&r->headers,
                        "WWW-Authenticate: Bearer realm=\"gatehouse\", error=\"invalid_token\"\r\n");
            gh__api_error(r, 401, "the API token is not valid (Authorization: Bearer <token>)");
            return -1;
        }
        a->me.local = req->loopback;
        return 0;
    }
    struct gh_str sid = cookie(req, cookie_name(a, 0));
    if (sid.len && id) {
        struct gh_err err = {{0}};
        struct gh_session_limits l = limits(a);
        if (gh_session_get(gh_catalog_service_store(a->catalog), sid, gh_time_wall_ms(), &l, &a->me, a->csrf,
                           NULL, 0, &err) != 0)
            gh_actor_clear(&a->me); /* ended or unknown: nobody (and told so by the check) */
        a->me.local = req->loopback;
    }
    if (!sign_in && a->me.role == GH_ROLE_NONE) {
        a->me.role = GH_ROLE_API_PUBLISHER;
        snprintf(a->me.id, sizeof(a->me.id), "local");
    }
    return 0;
}

int gh__api_allow(struct gh_api *a, struct gh_presp *r, enum gh_action act,
                  const struct gh_perm_resource *res)
{
    char why[300];
    enum gh_perm_result p = gh_perm_check(&a->me, act, res, why, sizeof(why));
    if (p == GH_PERM_ALLOW)
        return 1;
    if (p == GH_PERM_DENY && strcmp(a->me.id, "local") == 0 && !a->me.session) {
        /* a client on this machine without credentials: a token would do */
        p = GH_PERM_UNAUTHENTICATED;
        snprintf(why, sizeof(why),
                 "%s needs an API token (gatehouse token create --role ...): Authorization: Bearer <token>",
                 gh_action_name(act));
    }
    if (p == GH_PERM_UNAUTHENTICATED) {
        gh_buf_adds(&r->headers, "WWW-Authenticate: Bearer realm=\"gatehouse\"\r\n");
        gh__api_error(r, 401, why);
    } else {
        gh__api_error(r, 403, why);
    }
    return 0;
}

int gh__api_csrf_ok(struct gh_api *a, const struct gh_preq *req, struct gh_presp *r)
{
    if (!a->me.session || req->method == GH_METHOD_GET || req->method == GH_METHOD_HEAD ||
        req->method == GH_METHOD_OPTIONS)
        return 0;
    const struct gh_http_header *site = header(req, "sec-fetch-site");
    if (site && !gh_str_ieq(site->value, "same-origin") && !gh_str_ieq(site->value, "none")) {
        gh__api_error(r, 403, "a request sent by another site is refused (Sec-Fetch-Site)");
        return -1;
    }
    const struct gh_http_header *origin = header(req, "origin");
    if (origin) {
        struct gh_str o = origin->value, host = req->h->host;
        const char *sep = memmem(o.p, o.len, "://", 3);
        size_t off = sep ? (size_t)(sep - o.p) + 3 : 0;
        if (sep == NULL || o.len - off != host.len || memcmp(o.p + off, host.p, host.len) != 0) {
            gh__api_error(r, 403, "a request from another origin is refused (Origin)");
            return -1;
        }
    }
    const struct gh_http_header *t = header(req, "x-csrf-token"), *ct = header(req, "content-type");
    struct gh_str token = t ? t->value : (struct gh_str){NULL, 0};
    struct params *form = NULL;
    if (t == NULL && ct && ct->value.len >= 33 &&
        strncasecmp(ct->value.p, "application/x-www-form-urlencoded", 33) == 0) {
        /* a form in one of our pages carries it as the field csrf */
        form = gh_calloc(1, sizeof(*form));
        char why[200];
        const char *v = gh__params_parse((struct gh_str){req->body ? req->body : "", req->body_len}, form,
                                         why, sizeof(why)) == 0
                            ? gh__param(form, "csrf")
                            : NULL;
        if (v)
            token = (struct gh_str){v, strlen(v)};
    }
    int ok = token.p && token.len == GH_TOKEN_LEN && CRYPTO_memcmp(token.p, a->csrf, GH_TOKEN_LEN) == 0;
    if (form) {
        gh__params_free(form);
        free(form);
    }
    if (!ok) {
        gh__api_error(
            r, 403,
            r->html ? "This form has expired or was not sent from this portal. Go back, reload the page "
                      "and try again."
                    : "the CSRF token is missing or wrong (X-CSRF-Token; GET /api/me gives it)");
        return -1;
    }
    return 0;
}

/* ---- signing in ---- */

static void login(struct gh_api *a, const struct params *ps, struct gh_presp *r)
{
    const char *to = gh__param(ps, "return_to");
    if (to == NULL)
        to = "/";
    if (!gh_oidc_safe_return(to))
        return gh__api_error(r, 400, "return_to must be a path on this site (like /catalog)");
    if ((a->oidc == NULL || a->cfg->identity.issuer == NULL) && a->cfg->identity.dev_login) {
        struct gh_buf loc = {0}; /* no provider: the development sign-in is how one signs in */
        gh_buf_adds(&loc, "Location: /auth/dev-login?return_to=");
        gh_url_encode(&loc, to);
        gh_buf_adds(&loc, "\r\n");
        gh_buf_add(&r->headers, loc.p, loc.len);
        gh_buf_free(&loc);
        r->status = 302;
        r->ctype = "text/plain; charset=utf-8";
        return;
    }
    if (a->oidc == NULL || a->cfg->identity.issuer == NULL)
        return gh__api_error(r, 404,
                             "sign-in through an identity provider is not configured (identity.oidc)");
    struct gh_buf loc = {0};
    char binding[GH_TOKEN_LEN + 1];
    struct gh_err err = {{0}};
    int rc = gh_oidc_begin(a->oidc, to, gh_time_wall_ms(), &loc, binding, &err);
    if (rc) {
        gh_buf_free(&loc);
        if (rc == GH_EAGAIN)
            gh_buf_adds(&r->headers, "Retry-After: 1\r\n");
        return gh__api_error(r, rc == GH_EAGAIN ? 503 : rc == GH_ENOTFOUND ? 404 : 502, err.msg);
    }
    r->status = 302;
    gh_buf_addf(&r->headers, "Location: %s\r\n", loc.p);
    set_cookie(a, r, 1, binding, 600);
    OPENSSL_cleanse(binding, sizeof(binding));
    gh_buf_free(&loc);
}

struct pending_login {
    struct gh_api *a;
    struct gh_portal_pending *p;
};

static void login_done(void *ctx, int rc, struct gh_oidc_login *l, const char *why)
{
    struct pending_login *pl = ctx;
    struct gh_api *a = pl->a;
    struct gh_presp r = {0};
    set_cookie(a, &r, 1, "", 0); /* the pre-login cookie has served */
    struct gh_err err = {{0}};
    struct gh_actor who = {0};
    if (rc == 0 && gh_identity_map(&a->cfg->identity, l, &who, &err) != 0) {
        rc = GH_EINVAL;
        why = err.msg;
    }
    if (rc == 0) {
        char sid[GH_TOKEN_LEN + 1], csrf[GH_TOKEN_LEN + 1];
        struct gh_session_new n = {.user = who.user,
                                   .name = l->name,
                                   .email = l->email,
                                   .role = who.role,
                                   .groups = who.groups,
                                   .ngroups = who.ngroups,
                                   .logout_url = l->logout_url,
                                   .how = "oidc"};
        struct gh_err serr = {{0}};
        if (gh_catalog_service_sync_user(a->catalog, who.user, l->name, l->email, who.groups, who.ngroups,
                                         &serr) != 0)
            gh_log(GH_LOG_WARN, "sign-in: %s: the catalog's User entity was not updated: %s", who.user,
                   serr.msg);
        rc = gh_session_create(gh_catalog_service_store(a->catalog), &n, gh_time_wall_ms(), sid, csrf, &err);
        if (rc == 0) {
            r.status = 302;
            gh_buf_addf(&r.headers, "Location: %s\r\n", l->return_to);
            set_cookie(a, &r, 0, sid, a->cfg->identity.session_absolute_ms / 1000);
            OPENSSL_cleanse(sid, sizeof(sid));
            gh_log(GH_LOG_INFO, "sign-in: %s as %s", who.user, gh_role_name(who.role));
        } else {
            why = err.msg;
        }
    }
    if (rc) {
        gh_log(GH_LOG_INFO, "sign-in refused: %s", why);
        gh__api_error(&r, rc == GH_EIO ? 502 : 401, why);
    }
    gh_actor_clear(&who);
    gh_oidc_login_free(l);
    gh_portal_finish(pl->p, &r);
    free(pl);
}

static void callback(struct gh_api *a, const struct gh_preq *req, const struct params *ps, struct gh_presp *r)
{
    if (a->oidc == NULL || a->cfg->identity.issuer == NULL)
        return gh__api_error(r, 404,
                             "sign-in through an identity provider is not configured (identity.oidc)");
    struct gh_oidc_answer ans = {gh__param(ps, "code"),
                                 gh__param(ps, "state"),
                                 gh__param(ps, "iss"),
                                 gh__param(ps, "error"),
                                 gh__param(ps, "error_description"),
                                 cookie(req, cookie_name(a, 1))};
    struct pending_login *pl = gh_calloc(1, sizeof(*pl));
    pl->a = a;
    struct gh_err err = {{0}};
    int rc = gh_oidc_finish(a->oidc, &ans, gh_time_wall_ms(), login_done, pl, &err);
    if (rc) {
        free(pl);
        set_cookie(a, r, 1, "", 0);
        gh_log(GH_LOG_INFO, "sign-in refused: %s", err.msg);
        return gh__api_error(r, rc == GH_EAGAIN ? 503 : 400, err.msg);
    }
    pl->p = gh_portal_defer(r);
}

/* ---- development sign-in (identity.dev_login, loopback only) ---- */

static struct gh_json *person_json(const struct gh_actor *p, const struct gh_json *e)
{
    struct gh_json *j = gh_json_object(), *g = gh_json_array();
    const struct gh_json *profile = gh_json_get(gh_json_get(e, "spec"), "profile");
    const char *name = gh_json_str(gh_json_get(profile, "displayName"), NULL);
    gh_json_set(j, "user", gh_json_string(p->user, strlen(p->user)));
    if (name)
        gh_json_set(j, "name", gh_json_string(name, strlen(name)));
    gh_json_set(j, "role", gh_json_string(gh_role_name(p->role), strlen(gh_role_name(p->role))));
    for (size_t i = 0; i < p->ngroups; i++)
        gh_json_append(g, gh_json_string(p->groups[i], strlen(p->groups[i])));
    gh_json_set(j, "groups", g);
    return j;
}

/* The sign-in-as page: one form per person (no script, no inline style; every value escaped). */
static void dev_login_page(struct gh_presp *r, struct gh_json *users, const char *return_to)
{
    struct gh_buf *b = &r->body;
    if (return_to && !gh_oidc_safe_return(return_to))
        return_to = NULL;
    gh_buf_adds(b,
                "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<title>Sign in (development) - Gatehouse</title></head><body><main>"
                "<h1>Sign in as a person from the catalog</h1>"
                "<p>Development sign-in: no password is asked. It is on because identity.dev_login is true; "
                "it answers only on this machine.</p><ul>");
    for (size_t i = 0; i < gh_json_size(users); i++) {
        const struct gh_json *u = gh_json_at(users, i);
        const char *ref = gh_json_str(gh_json_get(u, "user"), NULL);
        const char *name = gh_json_str(gh_json_get(u, "name"), NULL);
        const char *role = gh_json_str(gh_json_get(u, "role"), NULL);
        gh_buf_adds(b, "<li><form method=\"post\" action=\"/auth/dev-login\">"
                       "<input type=\"hidden\" name=\"user\" value=\"");
        gh_buf_add_html(b, ref);
        gh_buf_adds(b, "\">");
        if (return_to) {
            gh_buf_adds(b, "<input type=\"hidden\" name=\"return_to\" value=\"");
            gh_buf_add_html(b, return_to);
            gh_buf_adds(b, "\">");
        }
        gh_buf_adds(b, "<button type=\"submit\">");
        gh_buf_add_html(b, name ? name : ref);
        gh_buf_adds(b, "</button> <span>");
        gh_buf_add_html(b, ref);
        gh_buf_adds(b, " &middot; ");
        gh_buf_add_html(b, role);
        gh_buf_adds(b, "</span></form></li>");
    }
    gh_buf_adds(b, "</ul></main></body></html>\n");
    gh_json_unref(users);
    r->status = 200;
    r->ctype = "text/html; charset=utf-8";
    gh_buf_adds(&r->headers, "Content-Security-Policy: default-src 'none'; form-action 'self'; "
                             "frame-ancestors 'none'; base-uri 'none'\r\nReferrer-Policy: same-origin\r\n"
                             "X-Frame-Options: DENY\r\n");
}

static void dev_login(struct gh_api *a, const struct gh_preq *req, const struct params *ps,
                      struct gh_presp *r)
{
    const struct gh_config_identity *id = &a->cfg->identity;
    if (!id->dev_login)
        return gh__api_error(r, 404, "development sign-in is off (identity.dev_login)");
    if (!req->loopback)
        return gh__api_error(r, 403, "development sign-in answers clients on this machine only");
    struct gh_store *s = gh_catalog_service_store(a->catalog);
    struct gh_err err = {{0}};
    if (req->method == GH_METHOD_GET || req->method == GH_METHOD_HEAD) {
        struct gh_filter f = {0};
        gh_filter_add(&f, "kind=user", 9, NULL);
        struct gh_catalog_query q = {.filter = &f, .order_key = "metadata.name"};
        struct gh_json *items = NULL;
        size_t total = 0;
        int rc = gh_catalog_query(s, &q, &items, &total, &err);
        gh_filter_free(&f);
        if (rc)
            return gh__api_error(r, 500, err.msg);
        struct gh_json *users = gh_json_array();
        struct gh_actor p = {0};
        for (size_t i = 0; i < gh_json_size(items); i++) {
            gh_identity_person(id, gh_json_at(items, i), &p);
            gh_json_append(users, person_json(&p, gh_json_at(items, i)));
        }
        gh_actor_clear(&p);
        gh_json_unref(items);
        const struct gh_http_header *accept = header(req, "accept");
        if (accept && memmem(accept->value.p, accept->value.len, "text/html", 9)) {
            dev_login_page(r, users, gh__param(ps, "return_to"));
            return;
        }
        struct gh_json *j = gh_json_object();
        gh_json_set(j, "users", users);
        return gh__api_json(r, 200, j);
    }
    /* POST: {"user": "ana"} or a form's user=ana (and return_to) */
    const struct gh_http_header *origin = header(req, "origin");
    if (origin) {
        const char *sep = memmem(origin->value.p, origin->value.len, "://", 3);
        size_t off = sep ? (size_t)(sep - origin->value.p) + 3 : 0;
        if (sep == NULL || origin->value.len - off != req->h->host.len ||
            memcmp(origin->value.p + off, req->h->host.p, req->h->host.len) != 0)
            return gh__api_error(r, 403, "a request from another origin is refused (Origin)");
    }
    const struct gh_http_header *ct = header(req, "content-type");
    int form =
        ct && ct->value.len >= 33 && strncasecmp(ct->value.p, "application/x-www-form-urlencoded", 33) == 0;
    struct params fp = {0};
    struct gh_json *body = NULL;
    const char *who = NULL, *to = gh__param(ps, "return_to");
    char why[200];
    if (form) {
        if (gh__params_parse((struct gh_str){req->body, req->body_len}, &fp, why, sizeof(why)) != 0)
            return gh__api_error(r, 400, why);
        who = gh__param(&fp, "user");
        if (gh__param(&fp, "return_to"))
            to = gh__param(&fp, "return_to");
    } else {
        if ((body = gh__api_body(req, r)) == NULL)
            return;
        who = gh_json_str(gh_json_get(body, "user"), NULL);
    }
    struct gh_entity_ref ref;
    char refs[GH_ENTITY_REF_MAX];
    struct gh_json *e = NULL;
    if (to && !gh_oidc_safe_return(to)) {
        gh__api_error(r, 400, "return_to must be a path on this site (like /catalog)");
    } else if (who == NULL ||
               gh_catalog_parse_ref((struct gh_str){who, strlen(who)}, "User", NULL, &ref, &err) != 0 ||
               strcasecmp(ref.kind, "user") != 0) {
        gh__api_error(r, 400, "user: a User of the catalog (like ana or user:default/ana)");
    } else if (gh_catalog_ref_string(&ref, refs, sizeof(refs)) >= sizeof(refs) ||
               (e = gh_catalog_get_by_ref(s, refs, &err)) == NULL) {
        gh__api_error(r, 404, "no such User in the catalog");
    } else {
        struct gh_actor p = {0};
        gh_identity_person(id, e, &p);
        const struct gh_json *profile = gh_json_get(gh_json_get(e, "spec"), "profile");
        struct gh_session_new n = {.user = p.user,
                                   .name = gh_json_str(gh_json_get(profile, "displayName"), NULL),
                                   .email = gh_json_str(gh_json_get(profile, "email"), NULL),
                                   .role = p.role,
                                   .groups = p.groups,
                                   .ngroups = p.ngroups,
                                   .logout_url = "",
                                   .how = "dev-login"};
        char sid[GH_TOKEN_LEN + 1], csrf[GH_TOKEN_LEN + 1];
        if (gh_session_create(s, &n, gh_time_wall_ms(), sid, csrf, &err) != 0) {
            gh__api_error(r, 500, err.msg);
        } else {
            set_cookie(a, r, 0, sid, id->session_absolute_ms / 1000);
            OPENSSL_cleanse(sid, sizeof(sid));
            if (form) {
                r->status = 303;
                gh_buf_addf(&r->headers, "Location: %s\r\n", to ? to : "/");
            } else {
                gh__api_json(r, 200, person_json(&p, e));
            }
        }
        gh_actor_clear(&p);
    }
    gh_json_unref(e);
    gh_json_unref(body);
    gh__params_free(&fp);
}

static void logout(struct gh_api *a, const struct gh_preq *req, struct gh_presp *r)
{
    if (!a->me.session)
        return gh__api_error(r, 400, "there is no session to end (this caller uses a token)");
    struct gh_str sid = cookie(req, cookie_name(a, 0));
    struct gh_store *s = gh_catalog_service_store(a->catalog);
    struct gh_err err = {{0}};
    char url[1024] = "";
    struct gh_actor tmp = {0};
    char csrf[GH_TOKEN_LEN + 1];
    struct gh_session_limits l = limits(a);
    gh_session_get(s, sid, gh_time_wall_ms(), &l, &tmp, csrf, url, sizeof(url), &err);
    gh_actor_clear(&tmp);
    int rc = gh_session_end(s, sid, a->me.id, &err);
    if (rc)
        return gh__api_error(r, rc == GH_ENOTFOUND ? 400 : 500, err.msg);
    set_cookie(a, r, 0, "", 0);
    const struct gh_http_header *ct = header(req, "content-type");
    if (ct && ct->value.len >= 33 && strncasecmp(ct->value.p, "application/x-www-form-urlencoded", 33) == 0) {
        r->status = 303; /* a form in a page: on to the provider's sign-out, or home */
        gh_buf_addf(&r->headers, "Location: %s\r\n", url[0] ? url : "/");
        return;
    }
    struct gh_json *j = gh_json_object();
    gh_json_set(j, "signedOut", gh_json_bool(1));
    if (url[0])
        gh_json_set(j, "logoutUrl", gh_json_string(url, strlen(url)));
    gh__api_json(r, 200, j);
}

static void me(struct gh_api *a, struct gh_presp *r)
{
    struct gh_json *j = gh_json_object();
    gh_json_set(j, "id", gh_json_string(a->me.id, strlen(a->me.id)));
    if (a->me.user[0])
        gh_json_set(j, "user", gh_json_string(a->me.user, strlen(a->me.user)));
    gh_json_set(j, "role", gh_json_string(gh_role_name(a->me.role), strlen(gh_role_name(a->me.role))));
    struct gh_json *g = gh_json_array();
    for (size_t i = 0; i < a->me.ngroups; i++)
        gh_json_append(g, gh_json_string(a->me.groups[i], strlen(a->me.groups[i])));
    gh_json_set(j, "groups", g);
    gh_json_set(j, "via", gh_json_string(a->me.session ? "session" : "token", a->me.session ? 7 : 5));
    if (a->me.session)
        gh_json_set(j, "csrfToken", gh_json_string(a->csrf, strlen(a->csrf)));
    gh__api_json(r, 200, j);
}

void gh__api_auth(struct gh_api *a, const struct gh_preq *req, const char *route, const struct params *ps,
                  struct gh_presp *r)
{
    if (strcmp(route, "login") == 0)
        login(a, ps, r);
    else if (strcmp(route, "callback") == 0)
        callback(a, req, ps, r);
    else if (strcmp(route, "logout") == 0)
        logout(a, req, r);
    else if (strcmp(route, "dev-login") == 0)
        dev_login(a, req, ps, r);
    else
        me(a, r);
}
