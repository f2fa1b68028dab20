/*
 * api.c: the control plane's REST API. Today: Backstage's catalog API under /api/catalog (the
 * routes, parameters and response shapes @backstage/catalog-client uses) and ranked search under
 * /api/search. Every error is JSON in Backstage's shape: {error: {name, message}, response:
 * {statusCode}}. Authentication arrives with the identity work; until then the portal listens on
 * loopback by default.
 */
#include "api.h"
#include "internal.h"

#include "../base/json.h"
#include "../audit/audit.h"
#include "../catalog/service.h"
#include "../access/usage.h"
#include "../access/access.h"
#include "../secrets/secrets.h"
#include "../http/http.h"
#include "../base/fetch.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_QUERY_LIMIT 20
#define MAX_LIMIT 10000

void gh_api_set_admin_token(struct gh_api *a, unsigned char *token, size_t len)
{
    gh_secret_wipe(a->admin_token, a->admin_token_len);
    a->admin_token = token;
    a->admin_token_len = len;
}

void gh_api_set_access_hook(struct gh_api *a, void (*fn)(void *ctx), void *ctx)
{
    a->access_changed = fn;
    a->access_ctx = ctx;
}

void gh_api_set_config(struct gh_api *a, const struct gh_config *cfg)
{
    a->cfg = cfg;
}

void gh_api_set_metrics(struct gh_api *a, gh_api_metrics_fn fn, void *ctx)
{
    a->metrics = fn;
    a->metrics_ctx = ctx;
}

struct gh_api *gh_api_new(struct gh_catalog_service *catalog)
{
    struct gh_api *a = gh_calloc(1, sizeof(*a));
    a->catalog = catalog;
    return a;
}

void gh_api_free(struct gh_api *a)
{
    if (a)
        gh_secret_wipe(a->admin_token, a->admin_token_len);
    free(a);
}

/* ---- responses ---- */

void gh__api_json(struct gh_presp *r, int status, struct gh_json *j)
{
    r->status = status;
    r->ctype = "application/json; charset=utf-8";
    char *text = gh_json_dump(j, 0);
    gh_buf_adds(&r->body, text);
    gh_buf_adds(&r->body, "\n");
    free(text);
    gh_json_unref(j);
}

void gh__api_error(struct gh_presp *r, int status, const char *message)
{
    if (r->html)
        return gh__page_error(r, status, message);
    const char *name = status == 404   ? "NotFoundError"
                       : status == 403 ? "NotAllowedError"
                       : status == 401 ? "AuthenticationError"
                       : status == 409 ? "ConflictError"
                       : status == 405 ? "NotAllowedError"
                       : status >= 500 ? "Error"
                                       : "InputError";
    struct gh_json *e = gh_json_object(), *err = gh_json_object(), *resp = gh_json_object();
    gh_json_set(err, "name", gh_json_string(name, strlen(name)));
    struct gh_json *msg = gh_json_string(message, strlen(message));
    gh_json_set(err, "message", msg ? msg : gh_json_string("(message not UTF-8)", 19));
    gh_json_set(e, "error", err);
    gh_json_set(resp, "statusCode", gh_json_int(status));
    gh_json_set(e, "response", resp);
    gh__api_json(r, status, e);
}

void gh__api_not_allowed(struct gh_presp *r, const char *allow)
{
    gh_buf_addf(&r->headers, "Allow: %s\r\n", allow);
    gh__api_error(r, 405, "method not allowed");
}

static void store_error(struct gh_presp *r, int rc, const struct gh_err *err)
{
    if (rc == GH_ENOTFOUND)
        gh__api_error(r, 404, err->msg);
    else if (rc == GH_EINVAL)
        gh__api_error(r, 400, err->msg);
    else {
        gh_log(GH_LOG_ERROR, "api: %s", err->msg);
        gh__api_error(r, 500, "the catalog store failed; see the server log");
    }
}

/* ---- query strings ---- */

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes (and '+' as space when plus) into a new string; NULL when malformed or NUL inside. */
static char *decode(const char *p, size_t len, int plus)
{
    char *out = gh_malloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '%') {
            int h = i + 1 < len ? hexval(p[i + 1]) : -1, l = i + 2 < len ? hexval(p[i + 2]) : -1;
            if (h < 0 || l < 0 || (h == 0 && l == 0)) {
                free(out);
                return NULL;
            }
            out[n++] = (char)(h * 16 + l);
            i += 2;
        } else {
            out[n++] = plus && c == '+' ? ' ' : c;
        }
    }
    out[n] = '\0';
    return out;
}

void gh__params_free(struct params *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->v[i].name);
        free(ps->v[i].value);
    }
    ps->n = 0;
}

int gh__params_parse(struct gh_str q, struct params *ps, char *why, size_t cap)
{
    ps->n = 0;
    const char *p = q.p, *end = q.p + q.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (amp == NULL)
            amp = end;
        if (amp > p) {
            if (ps->n == GH_ARRAY_SIZE(ps->v)) {
                snprintf(why, cap, "too many query parameters (at most %zu)", GH_ARRAY_SIZE(ps->v));
                return -1;
            }
            const char *eq = memchr(p, '=', (size_t)(amp - p));
            char *name = decode(p, (size_t)((eq ? eq : amp) - p), 1);
            char *value = eq ? decode(eq + 1, (size_t)(amp - eq - 1), 1) : gh_strdup("");
            if (name == NULL || value == NULL) {
                free(name);
                free(value);
                snprintf(why, cap, "malformed percent-encoding in the query string");
                return -1;
            }
            ps->v[ps->n++] = (struct param){name, value};
        }
        p = amp + 1;
    }
    return 0;
}

const char *gh__param(const struct params *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i].name, name) == 0)
            return ps->v[i].value;
    return NULL;
}

static int param_count(const struct params *ps, const char *name, size_t min, size_t max, size_t *out,
                       char *why, size_t cap)
{
    const char *v = gh__param(ps, name);
    if (v == NULL)
        return 0;
    uint64_t n;
    if (gh_parse_u64(v, strlen(v), max, &n) != 0 || n < min) {
        snprintf(why, cap, "%s: '%s' must be a whole number from %zu to %zu", name, v, min, max);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

/* ---- fields ---- */

/* Keeps only the listed paths ("metadata.name", "spec") of an entity (Backstage's fields parameter). */
static struct gh_json *project(const struct gh_json *e, const char *fields)
{
    if (fields == NULL || fields[0] == '\0')
        return gh_json_copy(e);
    struct gh_json *out = gh_json_object();
    const char *p = fields;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char path[256];
        if (n > 0 && n < sizeof(path)) {
            memcpy(path, p, n);
            path[n] = '\0';
            /* walk both, creating objects on the output side */
            const struct gh_json *src = e;
            struct gh_json *dst = out;
            char *save = NULL;
            char *part = strtok_r(path, ".", &save);
            while (part && src) {
                char *next = strtok_r(NULL, ".", &save);
                const struct gh_json *v = gh_json_get(src, part);
                if (v == NULL)
                    break;
                if (next == NULL) {
                    gh_json_set(dst, part, gh_json_copy(v));
                } else if (gh_json_type(v) == GH_JSON_OBJECT) {
                    struct gh_json *d = gh_json_get(dst, part);
                    if (d == NULL) {
                        d = gh_json_object();
                        gh_json_set(dst, part, d);
                    }
                    dst = d;
                } else {
                    break;
                }
                src = v;
                part = next;
            }
        }
        p += n + (comma ? 1 : 0);
    }
    return out;
}

static struct gh_json *project_all(struct gh_json *items, const char *fields)
{
    if (fields == NULL || fields[0] == '\0')
        return items;
    struct gh_json *out = gh_json_array();
    for (size_t i = 0; i < gh_json_size(items); i++)
        gh_json_append(out, project(gh_json_at(items, i), fields));
    gh_json_unref(items);
    return out;
}

/* ---- filters ---- */

static int filters(const struct params *ps, struct gh_filter *f, char *why, size_t cap)
{
    for (size_t i = 0; i < ps->n; i++) {
        if (strcmp(ps->v[i].name, "filter") != 0 || ps->v[i].value == NULL)
            continue;
        struct gh_err err = {{0}};
        if (gh_filter_add(f, ps->v[i].value, strlen(ps->v[i].value), &err) != 0) {
            snprintf(why, cap, "%s", err.msg);
            return -1;
        }
    }
    return 0;
}

/* ---- cursors: base64 of a JSON object (never with a "query" key, which the client reads as a
 * predicate cursor) holding the query and the offset of the page it points at ---- */

static char *b64(const char *s)
{
    size_t n = strlen(s);
    char *out = gh_malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    return out;
}

static struct gh_json *unb64(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n % 4 != 0 || n > 65536)
        return NULL;
    unsigned char *out = gh_malloc(n);
    int m = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (m < 0) {
        free(out);
        return NULL;
    }
    while (m > 0 && out[m - 1] == '\0')
        m--;
    struct gh_json *j = gh_json_parse((const char *)out, (size_t)m, NULL);
    free(out);
    return gh_json_type(j) == GH_JSON_OBJECT ? j : (gh_json_unref(j), NULL);
}

/* ---- routes ---- */

/* Splits a path into decoded segments; returns their count, or -1 when malformed. */
static int segments(struct gh_str path, char **seg, int max)
{
    int n = 0;
    const char *p = path.p;
    struct gh_str s;
    while (gh_path_segment(&p, path.p + path.len, &s)) {
        if (n == max)
            return -1;
        seg[n] = decode(s.p, s.len, 0);
        if (seg[n] == NULL)
            return -1;
        n++;
    }
    return n;
}

struct gh_json *gh__api_body(const struct gh_preq *req, struct gh_presp *r)
{
    struct gh_err err = {{0}};
    if (req->body_len == 0) {
        gh__api_error(r, 400, "a JSON body is required");
        return NULL;
    }
    struct gh_json *j = gh_json_parse(req->body, req->body_len, &err);
    if (j == NULL) {
        char msg[600];
        snprintf(msg, sizeof(msg), "the body is not valid JSON: %s", err.msg);
        gh__api_error(r, 400, msg);
        return NULL;
    }
    if (gh_json_type(j) != GH_JSON_OBJECT) {
        gh_json_unref(j);
        gh__api_error(r, 400, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* The entity a path's {kind}/{namespace}/{name} names; NULL with a 404 answered when none. */
static struct gh_json *by_name(struct gh_store *s, char **kind_ns_name, struct gh_presp *r)
{
    char ref[GH_ENTITY_REF_MAX * 2];
    snprintf(ref, sizeof(ref), "%s:%s/%s", kind_ns_name[0], kind_ns_name[1], kind_ns_name[2]);
    for (char *p = ref; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    struct gh_err err = {{0}};
    struct gh_json *e = gh_catalog_get_by_ref(s, ref, &err);
    if (e == NULL)
        store_error(r, GH_ENOTFOUND, &err);
    return e;
}

/* GET /entities: the legacy list; `after` is a cursor this server issued, `order` is asc|desc:field. */
static void get_entities(struct gh_api *a, const struct params *ps, struct gh_presp *r)
{
    char why[600];
    struct gh_filter *f = gh_calloc(1, sizeof(*f));
    size_t offset = 0, limit = 0;
    struct gh_catalog_query q = {.filter = f};
    if (filters(ps, f, why, sizeof(why)) ||
        param_count(ps, "offset", 0, (size_t)1 << 40, &offset, why, sizeof(why)) ||
        param_count(ps, "limit", 1, MAX_LIMIT, &limit, why, sizeof(why))) {
        gh__api_error(r, 400, why);
        goto out;
    }
    const char *after = gh__param(ps, "after");
    if (after) {
        struct gh_json *c = unb64(after);
        if (c == NULL || gh_json_type(gh_json_get(c, "off")) != GH_JSON_INT) {
            gh_json_unref(c);
            gh__api_error(r, 400, "after: not a cursor this server issued");
            goto out;
        }
        offset = (size_t)gh_json_int_value(gh_json_get(c, "off"));
        gh_json_unref(c);
    }
    const char *order = gh__param(ps, "order");
    if (order) {
        const char *colon = strchr(order, ':');
        if (colon == NULL || !((colon - order == 3 && strncmp(order, "asc", 3) == 0) ||
                               (colon - order == 4 && strncmp(order, "desc", 4) == 0))) {
            gh__api_error(r, 400, "order: must be asc:<field> or desc:<field>");
            goto out;
        }
        q.order_desc = order[0] == 'd';
        q.order_key = colon + 1;
    }
    q.offset = offset;
    q.limit = limit;
    struct gh_json *items = NULL;
    size_t total = 0;
    struct gh_err err = {{0}};
    int rc = gh_catalog_query(gh_catalog_service_store(a->catalog), &q, &items, &total, &err);
    if (rc) {
        store_error(r, rc, &err);
        goto out;
    }
    if (limit && offset + limit < total) {
        char cur[64];
        snprintf(cur, sizeof(cur), "{\"off\":%zu}", offset + limit);
        char *c = b64(cur);
        /* the same query again with the next page's cursor (other parameters as given) */
        gh_buf_adds(&r->headers, "Link: </api/catalog/entities?");
        for (size_t i = 0; i < ps->n; i++) {
            if (strcmp(ps->v[i].name, "after") == 0 || strcmp(ps->v[i].name, "offset") == 0)
                continue;
            gh_buf_adds(&r->headers, ps->v[i].name);
            gh_buf_adds(&r->headers, "=");
            for (const unsigned char *p = (const unsigned char *)ps->v[i].value; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-_.~:/", *p))
                    gh_buf_add(&r->headers, p, 1);
                else
                    gh_buf_addf(&r->headers, "%%%02X", *p);
            }
            gh_buf_adds(&r->headers, "&");
        }
        gh_buf_addf(&r->headers, "after=%s>; rel=\"next\"\r\n", c);
        free(c);
    }
    gh__api_json(r, 200, project_all(items, gh__param(ps, "fields")));
out:
    gh_filter_free(f);
    free(f);
}

/* GET /entities/by-query */
static void by_query(struct gh_api *a, const struct params *ps, struct gh_presp *r)
{
    char why[600];
    struct gh_filter *f = gh_calloc(1, sizeof(*f));
    struct gh_json *state = NULL;
    size_t limit = DEFAULT_QUERY_LIMIT, offset = 0;
    if (param_count(ps, "limit", 0, MAX_LIMIT, &limit, why, sizeof(why))) {
        gh__api_error(r, 400, why);
        goto out;
    }
    const char *cursor = gh__param(ps, "cursor");
    if (cursor) {
        /* the cursor carries the query; only limit and fields may come with it */
        state = unb64(cursor);
        if (state == NULL || gh_json_type(gh_json_get(state, "off")) != GH_JSON_INT) {
            gh__api_error(r, 400, "cursor: not a cursor this server issued");
            goto out;
        }
        offset = (size_t)gh_json_int_value(gh_json_get(state, "off"));
        const struct gh_json *fl = gh_json_get(state, "f");
        for (size_t i = 0; i < gh_json_size(fl); i++) {
            size_t len = 0;
            const char *t = gh_json_str(gh_json_at(fl, i), &len);
            if (t == NULL || gh_filter_add(f, t, len, NULL) != 0) {
                gh__api_error(r, 400, "cursor: not a cursor this server issued");
                goto out;
            }
        }
    } else {
        if (filters(ps, f, why, sizeof(why)) ||
            param_count(ps, "offset", 0, (size_t)1 << 40, &offset, why, sizeof(why))) {
            gh__api_error(r, 400, why);
            goto out;
        }
        state = gh_json_object();
        struct gh_json *fl = gh_json_array();
        for (size_t i = 0; i < ps->n; i++)
            if (strcmp(ps->v[i].name, "filter") == 0 && ps->v[i].value)
                gh_json_append(fl, gh_json_string(ps->v[i].value, strlen(ps->v[i].value)));
        gh_json_set(state, "f", fl);
        const char *of = gh__param(ps, "orderField");
        if (of) {
            const char *comma = strrchr(of, ',');
            const char *dir = comma ? comma + 1 : "asc";
            if (strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0) {
                gh__api_error(r, 400, "orderField: must be <field>,asc or <field>,desc");
                goto out;
            }
            struct gh_buf key = {0};
            gh_buf_add(&key, of, comma ? (size_t)(comma - of) : strlen(of));
            for (char *p = key.p; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p + 32);
            gh_json_set(state, "o", gh_json_string(key.p, key.len));
            gh_json_set(state, "d", gh_json_bool(dir[0] == 'd'));
            gh_buf_free(&key);
        }
        const char *term = gh__param(ps, "fullTextFilterTerm");
        if (term && term[0]) {
            gh_json_set(state, "t", gh_json_string(term, strlen(term)));
            const char *tf = gh__param(ps, "fullTextFilterFields");
            if (tf && tf[0])
                gh_json_set(state, "tf", gh_json_string(tf, strlen(tf)));
        }
    }
    /* run it */
    struct gh_catalog_query q = {.filter = f, .offset = offset, .limit = limit ? limit : 1};
    q.order_key = gh_json_str(gh_json_get(state, "o"), NULL);
    q.order_desc = gh_json_bool_value(gh_json_get(state, "d"));
    q.text = gh_json_str(gh_json_get(state, "t"), NULL);
    char *tfields[16];
    size_t ntf = 0;
    const char *tf = gh_json_str(gh_json_get(state, "tf"), NULL);
    char *tfcopy = tf ? gh_strdup(tf) : NULL;
    if (tfcopy) {
        char *save = NULL;
        for (char *t = strtok_r(tfcopy, ",", &save); t && ntf < 16; t = strtok_r(NULL, ",", &save)) {
            for (char *p = t; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p + 32);
            tfields[ntf++] = t;
        }
    }
    q.text_keys = (const char *const *)tfields;
    q.ntext_keys = ntf;
    struct gh_json *items = NULL;
    size_t total = 0;
    struct gh_err err = {{0}};
    int rc = gh_catalog_query(gh_catalog_service_store(a->catalog), &q, limit ? &items : NULL, &total, &err);
    free(tfcopy);
    if (rc) {
        store_error(r, rc, &err);
        goto out;
    }
    if (items == NULL)
        items = gh_json_array();
    struct gh_json *res = gh_json_object(), *page = gh_json_object();
    gh_json_set(res, "items", project_all(items, gh__param(ps, "fields")));
    gh_json_set(res, "totalItems", gh_json_int((int64_t)total));
    if (limit && offset + limit < total) {
        gh_json_set(state, "off", gh_json_int((int64_t)(offset + limit)));
        char *text = gh_json_dump(state, 1), *c = b64(text);
        gh_json_set(page, "nextCursor", gh_json_string(c, strlen(c)));
        free(text);
        free(c);
    }
    if (offset > 0) {
        gh_json_set(state, "off", gh_json_int((int64_t)(offset > limit ? offset - limit : 0)));
        char *text = gh_json_dump(state, 1), *c = b64(text);
        gh_json_set(page, "prevCursor", gh_json_string(c, strlen(c)));
        free(text);
        free(c);
    }
    gh_json_set(res, "pageInfo", page);
    gh__api_json(r, 200, res);
out:
    gh_json_unref(state);
    gh_filter_free(f);
    free(f);
}

static void by_refs(struct gh_api *a, const struct gh_preq *req, const struct params *ps, struct gh_presp *r)
{
    struct gh_json *body = gh__api_body(req, r);
    if (body == NULL)
        return;
    const struct gh_json *refs = gh_json_get(body, "entityRefs"), *fields = gh_json_get(body, "fields");
    if (gh_json_type(refs) != GH_JSON_ARRAY) {
        gh_json_unref(body);
        gh__api_error(r, 400, "entityRefs: must be a list of entity references");
        return;
    }
    struct gh_buf fl = {0};
    for (size_t i = 0; i < gh_json_size(fields); i++)
        gh_buf_addf(&fl, "%s%s", i ? "," : "", gh_json_str(gh_json_at(fields, i), NULL) ?: "");
    char why[600];
    struct gh_filter *f = gh_calloc(1, sizeof(*f));
    if (filters(ps, f, why, sizeof(why))) {
        gh__api_error(r, 400, why);
        goto out;
    }
    struct gh_json *items = gh_json_array();
    for (size_t i = 0; i < gh_json_size(refs); i++) {
        size_t len = 0;
        const char *ref = gh_json_str(gh_json_at(refs, i), &len);
        struct gh_entity_ref parsed;
        struct gh_err err = {{0}};
        if (ref == NULL || gh_catalog_parse_ref((struct gh_str){ref, len}, NULL, NULL, &parsed, &err) != 0) {
            gh_json_unref(items);
            char msg[700];
            snprintf(msg, sizeof(msg), "entityRefs[%zu]: %s", i, ref ? err.msg : "must be a string");
            gh__api_error(r, 400, msg);
            goto out;
        }
        char canon[GH_ENTITY_REF_MAX];
        gh_catalog_ref_string(&parsed, canon, sizeof(canon));
        struct gh_json *e = gh_catalog_get_by_ref(gh_catalog_service_store(a->catalog), canon, &err);
        if (e && f->ngroups) {
            /* the filter applies too: an entity it excludes is null */
            size_t total = 0;
            struct gh_catalog_query q = {.filter = f};
            char cond[GH_ENTITY_REF_MAX + 32];
            snprintf(cond, sizeof(cond), "metadata.uid=%s",
                     gh_json_str(gh_json_get(gh_json_get(e, "metadata"), "uid"), NULL));
            struct gh_filter *both = gh_calloc(1, sizeof(*both));
            for (size_t k = 0; k < f->ngroups; k++) {
                /* (group k) AND uid: rebuild each group with the uid condition */
                struct gh_buf text = {0};
                for (size_t c = 0; c < f->groups[k].nconds; c++) {
                    const struct gh_filter_cond *fc = &f->groups[k].conds[c];
                    if (fc->nvalues == 0)
                        gh_buf_addf(&text, "%s,", fc->key);
                    for (size_t v = 0; v < fc->nvalues; v++)
                        gh_buf_addf(&text, "%s=%s,", fc->key, fc->values[v]);
                }
                gh_buf_adds(&text, cond);
                gh_filter_add(both, text.p, text.len, NULL);
                gh_buf_free(&text);
            }
            q.filter = both;
            if (gh_catalog_query(gh_catalog_service_store(a->catalog), &q, NULL, &total, &err) != 0 ||
                total == 0) {
                gh_json_unref(e);
                e = NULL;
            }
            gh_filter_free(both);
            free(both);
        }
        if (e == NULL) {
            gh_json_append(items, gh_json_null());
            continue;
        }
        gh_json_append(items, project(e, fl.p));
        gh_json_unref(e);
    }
    struct gh_json *res = gh_json_object();
    gh_json_set(res, "items", items);
    gh__api_json(r, 200, res);
out:
    gh_buf_free(&fl);
    gh_json_unref(body);
    gh_filter_free(f);
    free(f);
}

static void facets(struct gh_api *a, const struct params *ps, struct gh_presp *r)
{
    char why[600];
    struct gh_filter *f = gh_calloc(1, sizeof(*f));
    const char *keys[32];
    size_t nkeys = 0;
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i].name, "facet") == 0 && nkeys < GH_ARRAY_SIZE(keys))
            keys[nkeys++] = ps->v[i].value;
    if (nkeys == 0) {
        gh__api_error(r, 400, "facet: at least one is required");
    } else if (filters(ps, f, why, sizeof(why))) {
        gh__api_error(r, 400, why);
    } else {
        struct gh_err err = {{0}};
        struct gh_json *res = gh_catalog_facets(gh_catalog_service_store(a->catalog), f, keys, nkeys, &err);
        if (res)
            gh__api_json(r, 200, res);
        else
            store_error(r, GH_EIO, &err);
    }
    gh_filter_free(f);
    free(f);
}

static void locations(struct gh_api *a, const struct gh_preq *req, const struct params *ps, char **seg, int n,
                      struct gh_presp *r)
{
    struct gh_store *s = gh_catalog_service_store(a->catalog);
    struct gh_err err = {{0}};
    if (n == 2) {
        if (req->method == GH_METHOD_GET || req->method == GH_METHOD_HEAD) {
            struct gh_json *list = gh_catalog_location_list(s, &err);
            if (list == NULL)
                return store_error(r, GH_EIO, &err);
            struct gh_json *out = gh_json_array();
            for (size_t i = 0; i < gh_json_size(list); i++) {
                const struct gh_json *l = gh_json_at(list, i);
                struct gh_json *d = gh_json_object(), *w = gh_json_object();
                gh_json_set(d, "id", gh_json_copy(gh_json_get(l, "id")));
                gh_json_set(d, "type", gh_json_copy(gh_json_get(l, "type")));
                gh_json_set(d, "target", gh_json_copy(gh_json_get(l, "target")));
                gh_json_set(w, "data", d);
                gh_json_append(out, w);
            }
            gh_json_unref(list);
            return gh__api_json(r, 200, out);
        }
        if (req->method != GH_METHOD_POST)
            return gh__api_not_allowed(r, "GET, HEAD, POST");
        struct gh_json *body = gh__api_body(req, r);
        if (body == NULL)
            return;
        const char *type = gh_json_str(gh_json_get(body, "type"), NULL),
                   *target = gh_json_str(gh_json_get(body, "target"), NULL);
        if (type == NULL || target == NULL) {
            gh_json_unref(body);
            return gh__api_error(r, 400, "type and target are required strings");
        }
        const char *dry = gh__param(ps, "dryRun");
        struct gh_json *out = NULL;
        int rc = gh_catalog_service_add_location(a->catalog, type, target, dry && strcmp(dry, "true") == 0,
                                                 &out, &err);
        gh_json_unref(body);
        if (rc)
            return store_error(r, rc, &err);
        if (gh_json_bool_value(gh_json_get(out, "exists")) && !(dry && strcmp(dry, "true") == 0)) {
            gh_json_unref(out);
            return gh__api_error(r, 409, "a location with this type and target already exists");
        }
        return gh__api_json(r, 201, out);
    }
    if (n == 6 && strcmp(seg[2], "by-entity") == 0) {
        if (req->method != GH_METHOD_GET && req->method != GH_METHOD_HEAD)
            return gh__api_not_allowed(r, "GET, HEAD");
        struct gh_json *e = by_name(s, seg + 3, r);
        if (e == NULL)
            return;
        const char *managed = gh_json_str(gh_json_get(gh_json_get(gh_json_get(e, "metadata"), "annotations"),
                                                      "backstage.io/managed-by-location"),
                                          NULL);
        struct gh_json *loc = gh_json_object();
        const char *colon = managed ? strchr(managed, ':') : NULL;
        if (colon) {
            gh_json_set(loc, "type", gh_json_string(managed, (size_t)(colon - managed)));
            gh_json_set(loc, "target", gh_json_string(colon + 1, strlen(colon + 1)));
        }
        gh_json_set(loc, "id", gh_json_copy(gh_json_get(gh_json_get(e, "metadata"), "uid")));
        gh_json_unref(e);
        return gh__api_json(r, 200, loc);
    }
    if (n != 3)
        return gh__api_error(r, 404, "no such route");
    if (req->method == GH_METHOD_GET || req->method == GH_METHOD_HEAD) {
        struct gh_json *l = gh_catalog_location_get(s, seg[2], &err);
        return l ? gh__api_json(r, 200, l) : store_error(r, GH_ENOTFOUND, &err);
    }
    if (req->method == GH_METHOD_DELETE) {
        int rc = gh_catalog_service_remove_location(a->catalog, seg[2], &err);
        if (rc)
            return store_error(r, rc, &err);
        r->status = 204;
        return;
    }
    gh__api_not_allowed(r, "GET, HEAD, DELETE");
}

static void validate(const struct gh_preq *req, struct gh_presp *r)
{
    struct gh_json *body = gh__api_body(req, r);
    if (body == NULL)
        return;
    struct gh_json *e = gh_json_get(body, "entity");
    struct gh_err err = {{0}};
    if (gh_json_type(e) != GH_JSON_OBJECT) {
        gh_json_unref(body);
        return gh__api_error(r, 400, "entity: must be an object");
    }
    struct gh_json *copy = gh_json_copy(e);
    int rc = gh_entity_check(copy, NULL, &err);
    gh_json_unref(copy);
    gh_json_unref(body);
    if (rc == 0) {
        r->status = 200;
        r->ctype = "application/json";
        gh_buf_adds(&r->body, "{}\n");
        return;
    }
    struct gh_json *res = gh_json_object(), *errs = gh_json_array(), *one = gh_json_object();
    gh_json_set(one, "name", gh_json_string("InputError", 10));
    gh_json_set(one, "message", gh_json_string(err.msg, strlen(err.msg)));
    gh_json_append(errs, one);
    gh_json_set(res, "errors", errs);
    gh__api_json(r, 400, res);
}

static void refresh(struct gh_api *a, const struct gh_preq *req, struct gh_presp *r)
{
    struct gh_json *body = gh__api_body(req, r);
    if (body == NULL)
        return;
    size_t len = 0;
    const char *ref = gh_json_str(gh_json_get(body, "entityRef"), &len);
    struct gh_err err = {{0}};
    int rc;
    if (ref == NULL) {
        rc = gh_catalog_service_refresh_all(a->catalog, &err);
    } else {
        struct gh_entity_ref parsed;
        if (gh_catalog_parse_ref((struct gh_str){ref, len}, NULL, NULL, &parsed, &err) != 0) {
            gh_json_unref(body);
            return gh__api_error(r, 400, err.msg);
        }
        char canon[GH_ENTITY_REF_MAX];
        gh_catalog_ref_string(&parsed, canon, sizeof(canon));
        rc = gh_catalog_service_refresh_entity(a->catalog, canon, &err);
    }
    gh_json_unref(body);
    if (rc)
        return store_error(r, rc, &err);
    r->status = 200;
    gh_buf_adds(&r->body, "{}\n");
}

static void entities(struct gh_api *a, const struct gh_preq *req, const struct params *ps, char **seg, int n,
                     struct gh_presp *r)
{
    struct gh_store *s = gh_catalog_service_store(a->catalog);
    struct gh_err err = {{0}};
    int get = req->method == GH_METHOD_GET || req->method == GH_METHOD_HEAD;
    if (n == 2)
        return get ? get_entities(a, ps, r) : gh__api_not_allowed(r, "GET, HEAD");
    if (n == 3 && strcmp(seg[2], "by-query") == 0)
        return get ? by_query(a, ps, r) : gh__api_not_allowed(r, "GET, HEAD");
    if (n == 3 && strcmp(seg[2], "by-refs") == 0)
        return req->method == GH_METHOD_POST ? by_refs(a, req, ps, r) : gh__api_not_allowed(r, "POST");
    if (n == 4 && strcmp(seg[2], "by-uid") == 0) {
        if (get) {
            struct gh_json *e = gh_catalog_get_by_uid(s, seg[3], &err);
            return e ? gh__api_json(r, 200, e) : store_error(r, GH_ENOTFOUND, &err);
        }
        if (req->method == GH_METHOD_DELETE) {
            int rc = gh_catalog_delete_uid(s, seg[3], &err);
            if (rc)
                return store_error(r, rc, &err);
            r->status = 204;
            return;
        }
        return gh__api_not_allowed(r, "GET, HEAD, DELETE");
    }
    if (n == 6 && strcmp(seg[2], "by-name") == 0) {
        if (!get)
            return gh__api_not_allowed(r, "GET, HEAD");
        struct gh_json *e = by_name(s, seg + 3, r);
        if (e == NULL)
            return;
        gh__api_json(r, 200, project(e, gh__param(ps, "fields")));
        gh_json_unref(e);
        return;
    }
    gh__api_error(r, 404, "no such route");
}

static void search(struct gh_api *a, const struct params *ps, struct gh_presp *r)
{
    const char *q = gh__param(ps, "q"), *kind = gh__param(ps, "kind");
    size_t limit = 20;
    char why[200];
    if (q == NULL || q[0] == '\0')
        return gh__api_error(r, 400, "q: a search term is required");
    if (param_count(ps, "limit", 1, 100, &limit, why, sizeof(why)))
        return gh__api_error(r, 400, why);
    char *lk = kind ? gh_strdup(kind) : NULL;
    for (char *p = lk; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    struct gh_err err = {{0}};
    struct gh_json *hits = gh_catalog_search(gh_catalog_service_store(a->catalog), q, lk, limit, &err);
    free(lk);
    if (hits == NULL)
        return store_error(r, GH_EIO, &err);
    struct gh_json *res = gh_json_object();
    gh_json_set(res, "query", gh_json_string(q, strlen(q)));
    gh_json_set(res, "results", hits);
    gh__api_json(r, 200, res);
}

/* GET /api/usage?app=&api=&since=&until=&bucket=minute|hour|day : series for charts (admins for now). */
static void usage_api(struct gh_api *a, const struct gh_preq *req, const struct params *ps,
                      struct gh_presp *r)
{
    if (req->method != GH_METHOD_GET && req->method != GH_METHOD_HEAD)
        return gh__api_not_allowed(r, "GET, HEAD");
    /* one application's: its owners; one API's: its owning team; everything: auditors and admins */
    struct gh_perm_resource whose = {0};
    char owner[GH_ENTITY_REF_MAX] = "";
    const char *app = gh__param(ps, "app"), *api = gh__param(ps, "api");
    if (app) {
        struct gh_err oerr = {{0}};
        if (gh_app_owner(gh_catalog_service_store(a->catalog), app, owner, &oerr) == 0) {
            if (strncmp(owner, "user:", 5) == 0)
                whose.owner_user = owner;
            else
                whose.owner_group = owner;
        }
    } else if (api && gh__api_owner(a, api, owner)) {
        whose.owner_group = owner;
    }
    if (!gh__api_allow(a, r, GH_ACT_USAGE_VIEW, &whose))
        return;
    struct gh_usage_query q = {gh__param(ps, "app"), gh__param(ps, "api"), gh__param(ps, "since"),
                               gh__param(ps, "until"), gh__param(ps, "bucket")};
    struct gh_err err = {{0}};
    struct gh_json *res = NULL;
    int rc = gh_usage_series(gh_catalog_service_store(a->catalog), &q, &res, &err);
    if (rc == GH_EINVAL)
        return gh__api_error(r, 400, err.msg);
    if (rc)
        return store_error(r, GH_EIO, &err);
    gh__api_json(r, 200, res);
}

/* GET /metrics: Prometheus text format. */
static void metrics(struct gh_api *a, const struct gh_preq *req, struct gh_presp *r)
{
    if (req->method != GH_METHOD_GET && req->method != GH_METHOD_HEAD)
        return gh__api_not_allowed(r, "GET, HEAD");
    if (a->metrics == NULL)
        return gh__api_error(r, 503, "the gateway is not running");
    r->status = 200;
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
    a->metrics(a->metrics_ctx, &r->body);
}

struct audit_page {
    struct gh_json *items;
    int64_t last;
};

static int on_audit_event(void *ctx, struct gh_json *e)
{
    struct audit_page *p = ctx;
    p->last = gh_json_int_value(gh_json_get(e, "seq"));
    gh_json_append(p->items, gh_json_ref(e));
    return 0;
}

/* GET /api/audit/export?since=&until= : the events as JSON lines with the last checkpoint, as a
 * download that `gatehouse audit verify --file` checks. */
static void audit_export_api(struct gh_api *a, const struct params *ps, struct gh_presp *r)
{
    const char *since = gh__param(ps, "since"), *until = gh__param(ps, "until");
    if (since && !since[0])
        since = NULL;
    if (until && !until[0])
        until = NULL;
    if ((since && !gh_audit_valid_time(since)) || (until && !gh_audit_valid_time(until)))
        return gh__api_error(r, 400, "since/until: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.fff]Z");
    struct gh_err err = {{0}};
    if (gh_audit_export_jsonl(gh_catalog_service_store(a->catalog), since, until, &r->body, &err) != 0) {
        gh_buf_free(&r->body);
        return store_error(r, GH_EIO, &err);
    }
    r->status = 200;
    r->ctype = "application/x-ndjson";
    gh_buf_adds(&r->headers, "Content-Disposition: attachment; filename=\"gatehouse-audit.jsonl\"\r\n");
}

/* GET /api/audit?actor=&action=&target=&since=&until=&after=&limit= : admins (the admin token) only. */
static void audit_api(struct gh_api *a, const struct gh_preq *req, const struct params *ps,
                      struct gh_presp *r)
{
    if (req->method != GH_METHOD_GET && req->method != GH_METHOD_HEAD)
        return gh__api_not_allowed(r, "GET, HEAD");
    if (!gh__api_allow(a, r, GH_ACT_AUDIT_VIEW, NULL))
        return;
    char why[200];
    size_t limit = 100, after = 0;
    if (param_count(ps, "limit", 1, 1000, &limit, why, sizeof(why)) ||
        param_count(ps, "after", 0, (size_t)1 << 62, &after, why, sizeof(why)))
        return gh__api_error(r, 400, why);
    const char *since = gh__param(ps, "since"), *until = gh__param(ps, "until");
    if ((since && !gh_audit_valid_time(since)) || (until && !gh_audit_valid_time(until)))
        return gh__api_error(r, 400, "since/until: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.fff]Z");
    struct gh_audit_query q = {gh__param(ps, "actor"),
                               gh__param(ps, "action"),
                               gh__param(ps, "target"),
                               since,
                               until,
                               (int64_t)after,
                               limit + 1};
    struct audit_page page = {gh_json_array(), 0};
    struct gh_err err = {{0}};
    if (gh_audit_list(gh_catalog_service_store(a->catalog), &q, on_audit_event, &page, &err) != 0) {
        gh_json_unref(page.items);
        return store_error(r, GH_EIO, &err);
    }
    struct gh_json *res = gh_json_object();
    int more = gh_json_size(page.items) > limit;
    if (more) {
        /* one more than asked for says there is a next page; it is not returned */
        struct gh_json *trimmed = gh_json_array();
        for (size_t i = 0; i < limit; i++)
            gh_json_append(trimmed, gh_json_ref(gh_json_at(page.items, i)));
        gh_json_unref(page.items);
        page.items = trimmed;
    }
    int64_t last =
        gh_json_size(page.items)
            ? gh_json_int_value(gh_json_get(gh_json_at(page.items, gh_json_size(page.items) - 1), "seq"))
            : 0;
    gh_json_set(res, "items", page.items);
    gh_json_set(res, "nextAfter", more ? gh_json_int(last) : gh_json_null());
    gh__api_json(r, 200, res);
}

/* ---- routes ---- */

#define M_GET (1u << GH_METHOD_GET | 1u << GH_METHOD_HEAD)
#define M_POST (1u << GH_METHOD_POST)
#define M_DELETE (1u << GH_METHOD_DELETE)

/* Every route of the control API and the action it performs. A path not here is 404, a method not
 * here 405; whether the caller may is decided by gh_perm_check for its action before its handler runs
 * (handlers acting on one object check again with that object). Segments: "*" is any one. */
static const struct gh_api_route routes[] = {
    /* the portal's pages */
    {M_GET, {NULL}, GH_ACT_SESSION, 1},
    {M_GET, {"static", "*"}, GH_ACT_SIGN_IN, 1},
    {M_GET, {"catalog"}, GH_ACT_CATALOG_READ, 1},
    {M_GET, {"catalog", "*", "*", "*"}, GH_ACT_CATALOG_READ, 1},
    {M_GET, {"access"}, GH_ACT_APPS_READ, 1},
    {M_GET | M_POST, {"access", "request"}, GH_ACT_ACCESS_REQUEST, 1},
    {M_POST, {"access", "apps", "*", "rotate"}, GH_ACT_APPS_MANAGE, 1},
    {M_POST, {"access", "apps", "*", "keys"}, GH_ACT_APPS_MANAGE, 1},
    {M_POST, {"access", "keys", "*", "revoke"}, GH_ACT_APPS_MANAGE, 1},
    {M_POST, {"access", "grants", "*", "revoke"}, GH_ACT_GRANTS_REVOKE, 1},
    {M_POST, {"access", "requests", "*", "withdraw"}, GH_ACT_ACCESS_REQUEST, 1},
    {M_GET, {"approvals"}, GH_ACT_ACCESS_APPROVE, 1},
    {M_GET, {"audit"}, GH_ACT_AUDIT_VIEW, 1},
    {M_GET, {"admin"}, GH_ACT_CONFIG_VIEW, 1},
    {M_POST, {"approvals", "*", "decide"}, GH_ACT_ACCESS_APPROVE, 1},
    /* the control API */
    {M_GET, {"metrics"}, GH_ACT_METRICS_VIEW},
    {M_GET, {"auth", "login"}, GH_ACT_SIGN_IN},
    {M_GET, {"auth", "callback"}, GH_ACT_SIGN_IN},
    {M_POST, {"auth", "logout"}, GH_ACT_SESSION},
    {M_GET | M_POST, {"auth", "dev-login"}, GH_ACT_SIGN_IN},
    {M_GET, {"api", "me"}, GH_ACT_SESSION},
    {M_GET, {"api", "usage"}, GH_ACT_USAGE_VIEW},
    {M_GET, {"api", "audit"}, GH_ACT_AUDIT_VIEW},
    {M_GET, {"api", "audit", "export"}, GH_ACT_AUDIT_VIEW},
    {M_GET, {"api", "search"}, GH_ACT_CATALOG_READ},
    {M_GET, {"api", "plans"}, GH_ACT_PLANS_READ},
    {M_GET, {"api", "access", "explain"}, GH_ACT_ACCESS_REQUEST},
    {M_GET, {"api", "access", "requests"}, GH_ACT_SESSION},
    {M_POST, {"api", "access", "requests"}, GH_ACT_ACCESS_REQUEST},
    {M_POST, {"api", "access", "requests", "*", "withdraw"}, GH_ACT_ACCESS_REQUEST},
    {M_POST, {"api", "access", "requests", "*", "decide"}, GH_ACT_ACCESS_APPROVE},
    {M_GET, {"api", "access", "approvals"}, GH_ACT_ACCESS_APPROVE},
    {M_GET, {"api", "apps"}, GH_ACT_APPS_READ},
    {M_POST, {"api", "apps"}, GH_ACT_APPS_MANAGE},
    {M_POST, {"api", "apps", "*", "keys"}, GH_ACT_APPS_MANAGE},
    {M_POST, {"api", "apps", "*", "bindings"}, GH_ACT_APPS_MANAGE},
    {M_POST, {"api", "apps", "*", "keys", "rotate"}, GH_ACT_APPS_MANAGE},
    {M_GET, {"api", "apis", "*", "consumers"}, GH_ACT_CONSUMERS_VIEW},
    {M_GET, {"api", "webhooks"}, GH_ACT_WEBHOOKS_VIEW},
    {M_GET, {"api", "webhooks", "deliveries"}, GH_ACT_WEBHOOKS_VIEW},
    {M_GET, {"api", "keys"}, GH_ACT_APPS_READ},
    {M_DELETE, {"api", "keys", "*"}, GH_ACT_APPS_MANAGE},
    {M_GET, {"api", "grants"}, GH_ACT_APPS_READ},
    {M_POST, {"api", "grants"}, GH_ACT_GRANTS_MANAGE},
    {M_DELETE, {"api", "grants", "*"}, GH_ACT_GRANTS_REVOKE},
    {M_GET, {"api", "catalog", "entities"}, GH_ACT_CATALOG_READ},
    {M_GET, {"api", "catalog", "entities", "by-query"}, GH_ACT_CATALOG_READ},
    {M_POST, {"api", "catalog", "entities", "by-refs"}, GH_ACT_CATALOG_READ},
    {M_GET, {"api", "catalog", "entities", "by-uid", "*"}, GH_ACT_CATALOG_READ},
    {M_DELETE, {"api", "catalog", "entities", "by-uid", "*"}, GH_ACT_CATALOG_WRITE},
    {M_GET, {"api", "catalog", "entities", "by-name", "*", "*", "*"}, GH_ACT_CATALOG_READ},
    {M_GET, {"api", "catalog", "locations"}, GH_ACT_CATALOG_READ},
    {M_POST, {"api", "catalog", "locations"}, GH_ACT_CATALOG_WRITE},
    {M_GET, {"api", "catalog", "locations", "by-entity", "*", "*", "*"}, GH_ACT_CATALOG_READ},
    {M_GET, {"api", "catalog", "locations", "*"}, GH_ACT_CATALOG_READ},
    {M_DELETE, {"api", "catalog", "locations", "*"}, GH_ACT_CATALOG_WRITE},
    {M_GET, {"api", "catalog", "entity-facets"}, GH_ACT_CATALOG_READ},
    {M_POST, {"api", "catalog", "validate-entity"}, GH_ACT_CATALOG_READ},
    {M_POST, {"api", "catalog", "refresh"}, GH_ACT_CATALOG_WRITE},
};

const struct gh_api_route *gh_api_routes(size_t *n)
{
    *n = GH_ARRAY_SIZE(routes);
    return routes;
}

static int route_matches(const struct gh_api_route *rt, const char *const *seg, int n)
{
    int k = 0;
    while (k < GH_API_ROUTE_SEGS && rt->path[k])
        k++;
    if (k != n)
        return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(rt->path[i], "*") != 0 && strcmp(rt->path[i], seg[i]) != 0)
            return 0;
    return 1;
}

const struct gh_api_route *gh_api_route_find(int method, const char *const *seg, int n, char *allow,
                                             size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {1u << GH_METHOD_GET, "GET"}, {1u << GH_METHOD_HEAD, "HEAD"}, {M_POST, "POST"}, {M_DELETE, "DELETE"}};
    unsigned methods = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < GH_ARRAY_SIZE(routes); i++) {
        if (!route_matches(&routes[i], seg, n))
            continue;
        if (routes[i].methods & (1u << method))
            return &routes[i]; /* the first: a literal segment is listed before "*" */
        methods |= routes[i].methods;
    }
    size_t len = 0;
    for (size_t i = 0; i < GH_ARRAY_SIZE(names); i++)
        if ((methods & names[i].bit) && len < cap)
            len += (size_t)snprintf(allow + len, cap - len, "%s%s", len ? ", " : "", names[i].name);
    return NULL;
}

void gh_api_handle(void *ctx, const struct gh_preq *req, struct gh_presp *r)
{
    struct gh_api *a = ctx;
    char *seg[8] = {0};
    struct params *ps = gh_calloc(1, sizeof(*ps));
    char why[200];
    int n = segments(req->path, seg, 8);
    if (n < 0) {
        gh__api_error(r, n == -1 ? 400 : 404, "malformed path");
        goto out;
    }
    if (gh__params_parse(req->query, ps, why, sizeof(why)) != 0) {
        gh__api_error(r, 400, why);
        goto out;
    }
    /* the one permission check: the route's action, for whoever is calling */
    char allow[64];
    const struct gh_api_route *rt =
        gh_api_route_find(req->method, (const char *const *)seg, n, allow, sizeof(allow));
    if (rt == NULL) {
        /* outside the API, a person is looking: a page says so */
        r->html = n == 0 || (strcmp(seg[0], "api") != 0 && strcmp(seg[0], "auth") != 0 &&
                             strcmp(seg[0], "metrics") != 0 && strcmp(seg[0], "healthz") != 0);
        if (allow[0])
            gh__api_not_allowed(r, allow);
        else
            gh__api_error(r, 404, r->html ? "There is no such page." : "no such route");
        goto out;
    }
    r->html = rt->page;
    if (gh__api_identify(a, req, r) != 0)
        goto out;
    if (rt->page && a->me.role == GH_ROLE_NONE && rt->action != GH_ACT_SIGN_IN) {
        /* a page for people who signed in: sign in first, then come back here */
        struct gh_buf to = {0}, loc = {0};
        gh_buf_add(&to, req->path.p, req->path.len);
        if (req->query.len) {
            gh_buf_add(&to, "?", 1);
            gh_buf_add(&to, req->query.p, req->query.len);
        }
        gh_buf_add(&to, "", 1);
        gh_url_encode(&loc, to.p);
        gh_buf_add(&loc, "", 1);
        r->status = 302;
        r->ctype = "text/plain; charset=utf-8";
        gh_buf_addf(&r->headers, "Location: /auth/login?return_to=%s\r\nCache-Control: no-store\r\n", loc.p);
        gh_buf_free(&to);
        gh_buf_free(&loc);
        goto out;
    }
    if (!gh__api_allow(a, r, (enum gh_action)rt->action, NULL) || gh__api_csrf_ok(a, req, r) != 0)
        goto out;
    if (rt->page) {
        gh__pages(a, req, seg, n, ps, r);
        goto out;
    }
    if (n >= 1 && strcmp(seg[0], "auth") == 0) {
        gh__api_auth(a, req, seg[1], ps, r);
        goto out;
    }
    if (n == 2 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "me") == 0) {
        gh__api_auth(a, req, "me", ps, r);
        goto out;
    }
    if (n == 1 && strcmp(seg[0], "metrics") == 0) {
        metrics(a, req, r);
        goto out;
    }
    if (n == 2 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "usage") == 0) {
        usage_api(a, req, ps, r);
        goto out;
    }
    if (n >= 2 && strcmp(seg[0], "api") == 0 &&
        (strcmp(seg[1], "apps") == 0 || strcmp(seg[1], "keys") == 0 || strcmp(seg[1], "grants") == 0 ||
         strcmp(seg[1], "plans") == 0)) {
        gh__api_manage(a, req, seg, n, r);
        goto out;
    }
    if (n == 4 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "apis") == 0) {
        gh__api_consumers(a, seg[2], r);
        goto out;
    }
    if (n >= 2 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "webhooks") == 0) {
        gh__api_webhooks(a, seg, n, ps, r);
        goto out;
    }
    if (n == 3 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "access") == 0 &&
        strcmp(seg[2], "explain") == 0) {
        gh__api_explain(a, ps, r);
        goto out;
    }
    if (n >= 3 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "access") == 0) {
        gh__api_requests(a, req, seg, n, r);
        goto out;
    }
    if (n == 2 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "audit") == 0) {
        audit_api(a, req, ps, r);
        goto out;
    }
    if (n == 3 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "audit") == 0) {
        audit_export_api(a, ps, r);
        goto out;
    }
    if (n >= 2 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "search") == 0 && n == 2) {
        if (req->method == GH_METHOD_GET || req->method == GH_METHOD_HEAD)
            search(a, ps, r);
        else
            gh__api_not_allowed(r, "GET, HEAD");
        goto out;
    }
    if (n < 3 || strcmp(seg[0], "api") != 0 || strcmp(seg[1], "catalog") != 0) {
        gh__api_error(r, 404, "no such route");
        goto out;
    }
    /* from here, segments are relative to /api/catalog */
    char **rel = seg + 1;
    int rn = n - 1;
    if (strcmp(rel[1], "entities") == 0)
        entities(a, req, ps, rel, rn, r);
    else if (strcmp(rel[1], "locations") == 0)
        locations(a, req, ps, rel, rn, r);
    else if (strcmp(rel[1], "entity-facets") == 0 && rn == 2)
        req->method == GH_METHOD_GET || req->method == GH_METHOD_HEAD ? facets(a, ps, r)
                                                                      : gh__api_not_allowed(r, "GET, HEAD");
    else if (strcmp(rel[1], "validate-entity") == 0 && rn == 2)
        req->method == GH_METHOD_POST ? validate(req, r) : gh__api_not_allowed(r, "POST");
    else if (strcmp(rel[1], "refresh") == 0 && rn == 2)
        req->method == GH_METHOD_POST ? refresh(a, req, r) : gh__api_not_allowed(r, "POST");
    else
        gh__api_error(r, 404, "no such route");
out:
    gh_actor_clear(&a->me);
    a->csrf[0] = '\0';
    for (int i = 0; i < 8; i++)
        free(seg[i]);
    gh__params_free(ps);
    free(ps);
}
