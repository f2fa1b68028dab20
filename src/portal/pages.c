/*
 * pages.c: the portal's HTML pages (the portal adds Cache-Control: no-store and nosniff to every answer),
 * rendered on the control thread. Every page route is a row of the route table in api.c with its action, so
 * the one permission check runs before any page; what a page shows or changes it gets from the same handlers
 * the REST API uses (called in-process with the caller's identity), so object-level checks are never written
 * twice. Output goes through gh_html (html.h), escaped by default; forms carry the session's CSRF token.
 */
#include "html.h"
#include "internal.h"

#include "../access/access.h"
#include "../access/usage.h"
#include "../audit/audit.h"
#include "../catalog/db.h"
#include "../catalog/service.h"
#include "../http/http.h"
#include "../access/rules.h"
#include "assets.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTML_HEADERS                                                                                         \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "      \
    "data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"             \
    "Referrer-Policy: same-origin\r\n"                                                                       \
    "X-Frame-Options: DENY\r\n"

/* ---- layout ---- */

static void head(struct gh_presp *r, int status, const char *title)
{
    gh_buf_free(&r->body);
    gh_buf_free(&r->headers);
    r->status = status;
    r->ctype = "text/html; charset=utf-8";
    gh_buf_adds(&r->headers, HTML_HEADERS);
    gh_html(&r->body,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>{} &middot; Gatehouse</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" "
            "href=\"/static/app.css\">"
            "<script src=\"/static/app.js\" defer></script></head><body>"
            "<a class=\"skip\" href=\"#main\">Skip to content</a><header class=\"top\"><div class=\"bar\">"
            "<a class=\"brand\" href=\"/\">Gatehouse</a>",
            title);
}

static int may(struct gh_api *a, enum gh_action act)
{
    return gh_perm_check(&a->me, act, NULL, NULL, 0) == GH_PERM_ALLOW;
}

static void nav_item(struct gh_buf *b, const char *href, const char *label, const char *here)
{
    gh_html(b, "<li><a href=\"{}\"{!}>{}</a></li>", href,
            here && strcmp(here, href) == 0 ? " aria-current=\"page\"" : "", label);
}

static void begin(struct gh_api *a, struct gh_presp *r, const char *title, const char *here)
{
    head(r, 200, title);
    struct gh_buf *b = &r->body;
    gh_buf_adds(b, "<nav aria-label=\"Main\"><ul>");
    nav_item(b, "/catalog", "Catalog", here);
    if (a->me.user[0])
        nav_item(b, "/access", "My access", here);
    if (may(a, GH_ACT_ACCESS_APPROVE))
        nav_item(b, "/approvals", "Approvals", here);
    if (may(a, GH_ACT_AUDIT_VIEW))
        nav_item(b, "/audit", "Audit", here);
    if (may(a, GH_ACT_CONFIG_VIEW))
        nav_item(b, "/admin", "Admin", here);
    gh_buf_adds(b, "</ul></nav><div class=\"who\">");
    if (a->me.role != GH_ROLE_NONE) {
        gh_html(b, "<span>{} <span class=\"badge\">{}</span></span>", a->me.user[0] ? a->me.user : a->me.id,
                gh_role_name(a->me.role));
        if (a->me.session)
            gh_html(b,
                    "<form method=\"post\" action=\"/auth/logout\"><input type=\"hidden\" name=\"csrf\" "
                    "value=\"{}\"><button type=\"submit\">Sign out</button></form>",
                    a->csrf);
    }
    gh_html(b, "</div></div></header><main id=\"main\"><h1>{}</h1>", title);
}

static void end(struct gh_presp *r)
{
    gh_buf_adds(&r->body, "</main></body></html>\n");
}

void gh__page_error(struct gh_presp *r, int status, const char *message)
{
    const char *title = status == 404   ? "Not found"
                        : status == 403 ? "Not allowed"
                        : status == 401 ? "Please sign in"
                        : status == 409 ? "Already done"
                        : status >= 500 ? "Something went wrong"
                                        : "That did not work";
    head(r, status, title);
    gh_html(&r->body,
            "</div></header><main id=\"main\"><h1>{}</h1><p class=\"notice bad\">{}</p>"
            "<p><a href=\"/\">Back to the start page</a>{!}</p></main></body></html>\n",
            title, message, status == 401 ? " &middot; <a href=\"/auth/login\">Sign in</a>" : "");
}

/* A notice at the top of a page after a change (fixed texts: nothing from the URL is shown). */
static void done_notice(struct gh_buf *b, const struct params *ps)
{
    static const struct {
        const char *code, *text;
    } notes[] = {{"revoked", "Revoked. The gateway refuses it from now on."},
                 {"approved", "Approved. The requester can take a key now."},
                 {"denied", "Denied. The requester sees your comment."},
                 {"withdrawn", "Withdrawn."}};
    const char *done = gh__param(ps, "done");
    for (size_t i = 0; done && i < GH_ARRAY_SIZE(notes); i++)
        if (strcmp(done, notes[i].code) == 0)
            gh_html(b, "<p class=\"notice ok\" role=\"status\">{}</p>", notes[i].text);
}

static void redirect(struct gh_presp *r, const char *to)
{
    gh_buf_free(&r->body);
    gh_buf_free(&r->headers);
    r->status = 303;
    r->ctype = "text/plain; charset=utf-8";
    gh_buf_addf(&r->headers, "Location: %s\r\n", to);
}

/* ---- the REST handlers, in-process ---- */

/* What a handler answered into r: its JSON (new reference, NULL when none) and status; r is freed. */
static struct gh_json *taken(struct gh_presp *r, int *status)
{
    *status = r->status ? r->status : 200;
    struct gh_json *j = r->body.len ? gh_json_parse(r->body.p, r->body.len, NULL) : NULL;
    gh_buf_free(&r->body);
    gh_buf_free(&r->headers);
    return j;
}

/* Calls the control API's handler for a path as the current caller; the answer's JSON (new reference,
 * NULL when it is not JSON) and status. body is JSON text or NULL. */
static struct gh_json *api_call(struct gh_api *a, const struct gh_preq *orig, int method, const char *path,
                                const char *body, int *status)
{
    char *seg[8] = {0}, copy[512];
    int n = 0;
    snprintf(copy, sizeof(copy), "%s", path);
    for (char *save = NULL, *t = strtok_r(copy, "/", &save); t && n < 8; t = strtok_r(NULL, "/", &save))
        seg[n++] = t;
    struct gh_preq req = {orig->h,       method, {path, strlen(path)}, {"", 0}, body, body ? strlen(body) : 0,
                          orig->loopback};
    struct gh_presp r = {0};
    if (n >= 2 && strcmp(seg[1], "access") == 0)
        gh__api_requests(a, &req, seg, n, &r);
    else if (n == 4 && strcmp(seg[1], "apis") == 0)
        gh__api_consumers(a, seg[2], &r);
    else
        gh__api_manage(a, &req, seg, n, &r);
    return taken(&r, status);
}

static const char *str_of(const struct gh_json *o, const char *key)
{
    const char *s = gh_json_str(gh_json_get(o, key), NULL);
    return s ? s : "";
}

static const char *error_of(const struct gh_json *j)
{
    const char *m = gh_json_str(gh_json_get(gh_json_get(j, "error"), "message"), NULL);
    return m ? m : "the request failed";
}

static void state_badge(struct gh_buf *b, const char *state)
{
    const char *cls =
        strcmp(state, "active") == 0 || strcmp(state, "approved") == 0 || strcmp(state, "delivered") == 0
            ? "ok"
        : strcmp(state, "pending") == 0 ? "warn"
                                        : "bad";
    gh_html(b, "<span class=\"badge {}\">{}</span>", cls, state);
}

/* A hidden CSRF field and a small POST form around one button. */
static void post_button(struct gh_api *a, struct gh_buf *b, const char *action, const char *label,
                        const char *confirm, const char *cls)
{
    gh_html(b, "<form class=\"inline\" method=\"post\" action=\"{}\"", action);
    if (confirm)
        gh_html(b, " data-confirm=\"{}\"", confirm);
    gh_html(b,
            "><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\" "
            "class=\"{}\">{}</button></form>",
            a->csrf, cls, label);
}

/* ---- plans in words ---- */

static void plan_words(const struct gh_config *cfg, const char *name, char *out, size_t cap)
{
    const struct gh_config_plan *p = NULL;
    for (size_t i = 0; cfg && i < cfg->nplans && p == NULL; i++)
        if (strcmp(cfg->plans[i].name, name) == 0)
            p = &cfg->plans[i];
    if (p == NULL || (!p->rate_requests && !p->quota_requests)) {
        snprintf(out, cap, "no limits");
        return;
    }
    size_t n = 0;
    if (p->rate_requests) {
        uint64_t ms = p->rate_per_ms;
        const char *unit = ms % 3600000 == 0 ? "hour" : ms % 60000 == 0 ? "minute" : "second";
        uint64_t div = ms % 3600000 == 0 ? 3600000 : ms % 60000 == 0 ? 60000 : 1000;
        uint64_t k = ms / div ? ms / div : 1;
        if (k == 1)
            n += (size_t)snprintf(out + n, cap - n, "%u requests a %s", p->rate_requests, unit);
        else
            n += (size_t)snprintf(out + n, cap - n, "%u requests every %llu %ss", p->rate_requests,
                                  (unsigned long long)k, unit);
        if (p->rate_burst && p->rate_burst != p->rate_requests && n < cap)
            n += (size_t)snprintf(out + n, cap - n, " (bursts of %u)", p->rate_burst);
    }
    if (p->quota_requests && n < cap)
        snprintf(out + n, cap - n, "%s%llu requests a %s", n ? ", at most " : "at most ",
                 (unsigned long long)p->quota_requests, p->quota_per == 2 ? "month" : "day");
}

static const struct gh_config_api *config_api(const struct gh_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->napis; i++)
        if (strcmp(cfg->apis[i].name, name) == 0)
            return &cfg->apis[i];
    return NULL;
}

/* ---- the start page ---- */

struct recent {
    struct gh_buf *b;
    size_t n;
};

static int on_recent(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct recent *x = ctx;
    if (n != 4)
        return 0;
    char ns[GH_ENTITY_PART_MAX + 1], name[GH_ENTITY_PART_MAX + 1], when[40];
    gh_store_val_text(&c[0], ns, sizeof(ns));
    gh_store_val_text(&c[1], name, sizeof(name));
    gh_store_val_text(&c[2], when, sizeof(when));
    struct gh_json *e = c[3].type == GH_VAL_TEXT ? gh_json_parse(c[3].p, c[3].len, NULL) : NULL;
    const struct gh_json *md = gh_json_get(e, "metadata");
    const char *title = str_of(md, "title")[0] ? str_of(md, "title") : name;
    gh_html(x->b,
            "<li><a href=\"/catalog/{u}/api/{u}\">{}</a> <span class=\"muted\">{} &middot; changed "
            "{}</span></li>",
            ns, name, title, str_of(md, "description"), when);
    gh_json_unref(e);
    x->n++;
    return 0;
}

static void home(struct gh_api *a, const struct gh_preq *req, const struct params *ps, struct gh_presp *r)
{
    begin(a, r, "Welcome to Gatehouse", "/");
    struct gh_buf *b = &r->body;
    done_notice(b, ps);
    gh_buf_adds(b, "<form class=\"card\" method=\"get\" action=\"/catalog\" role=\"search\">"
                   "<label for=\"q\">Find an API, a service or a team</label>"
                   "<input type=\"search\" id=\"q\" name=\"q\" placeholder=\"orders, payments, ...\"> "
                   "<button type=\"submit\">Search</button></form><div class=\"grid\">");
    int st = 0;
    if (a->me.user[0]) {
        struct gh_json *g = api_call(a, req, GH_METHOD_GET, "/api/grants", NULL, &st);
        gh_buf_adds(b, "<section class=\"card\"><h2>My access</h2>");
        size_t shown = 0;
        for (size_t i = 0; st == 200 && i < gh_json_size(gh_json_get(g, "items")); i++) {
            const struct gh_json *it = gh_json_at(gh_json_get(g, "items"), i);
            if (strcmp(str_of(it, "state"), "active") != 0)
                continue;
            if (shown++ == 0)
                gh_buf_adds(b, "<ul>");
            gh_html(b, "<li><a href=\"/catalog/default/api/{u}\">{}</a> for {} ({})</li>", str_of(it, "api"),
                    str_of(it, "api"), str_of(it, "app"), str_of(it, "plan"));
        }
        gh_buf_adds(b, shown ? "</ul>" : "<p class=\"muted\">No access yet: find an API and ask for it.</p>");
        gh_buf_adds(b, "<p><a href=\"/access\">Applications, keys and requests</a></p></section>");
        gh_json_unref(g);
    }
    if (may(a, GH_ACT_ACCESS_APPROVE)) {
        struct gh_json *q = api_call(a, req, GH_METHOD_GET, "/api/access/approvals", NULL, &st);
        size_t n = st == 200 ? gh_json_size(gh_json_get(q, "items")) : 0;
        char says[64];
        snprintf(says, sizeof(says),
                 n == 0   ? "Nothing to decide."
                 : n == 1 ? "One request waits for you."
                          : "%zu requests wait for you.",
                 n);
        gh_html(b,
                "<section class=\"card\"><h2>Approvals</h2><p>{}</p><p><a href=\"/approvals\">Open the "
                "approvals inbox</a></p></section>",
                says);
        gh_json_unref(q);
    }
    /* the APIs whose catalog entry changed last */
    gh_buf_adds(b, "<section class=\"card\"><h2>Recently changed APIs</h2><ul>");
    struct recent x = {b, 0};
    struct gh_err err = {{0}};
    gh_store_exec(gh_catalog_service_store(a->catalog),
                  "SELECT namespace, name, updated_at, body FROM catalog_entities WHERE lower(kind) = 'api' "
                  "ORDER BY updated_at DESC, name LIMIT 6",
                  NULL, 0, on_recent, &x, &err);
    if (x.n == 0)
        gh_buf_adds(b, "<li class=\"muted\">No APIs in the catalog yet.</li>");
    gh_buf_adds(b, "</ul><p><a href=\"/catalog?kind=API\">All APIs</a></p></section></div>");
    end(r);
}

/* ---- the catalog ---- */

static const struct {
    const char *param, *key, *label;
} facets[] = {{"kind", "kind", "Kind"},
              {"owner", "spec.owner", "Owner"},
              {"system", "spec.system", "System"},
              {"lifecycle", "spec.lifecycle", "Lifecycle"},
              {"tag", "metadata.tags", "Tags"}};

static int selected(const struct params *ps, const char *param, const char *value)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i].name, param) == 0 && strcasecmp(ps->v[i].value, value) == 0)
            return 1;
    return 0;
}

/* An entity's page: /catalog/NAMESPACE/KIND/NAME (as Backstage names it); ref "kind:ns/name". */
static void entity_href(struct gh_buf *b, const char *ref, const char *label)
{
    struct gh_entity_ref e;
    if (gh_catalog_parse_ref((struct gh_str){ref, strlen(ref)}, "Component", NULL, &e, NULL) != 0) {
        gh_html(b, "{}", label ? label : ref);
        return;
    }
    char kind[64];
    snprintf(kind, sizeof(kind), "%s", e.kind);
    for (char *k = kind; *k; k++)
        *k = (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k);
    gh_html(b, "<a href=\"/catalog/{u}/{u}/{u}\">{}</a>", e.ns, kind, e.name, label ? label : ref);
}

static void catalog(struct gh_api *a, const struct params *ps, struct gh_presp *r)
{
    struct gh_store *s = gh_catalog_service_store(a->catalog);
    struct gh_filter f = {0};
    struct gh_buf ft = {0};
    for (size_t i = 0; i < ps->n; i++)
        for (size_t k = 0; k < GH_ARRAY_SIZE(facets); k++)
            if (strcmp(ps->v[i].name, facets[k].param) == 0 && ps->v[i].value[0] &&
                !strpbrk(ps->v[i].value, ",="))
                gh_buf_addf(&ft, "%s%s=%s", ft.len ? "," : "", facets[k].key, ps->v[i].value);
    struct gh_err err = {{0}};
    if (ft.len && gh_filter_add(&f, ft.p, ft.len, &err) != 0) {
        gh_buf_free(&ft);
        return gh__page_error(r, 400, err.msg);
    }
    gh_buf_free(&ft);
    const char *q = gh__param(ps, "q");
    begin(a, r, "Catalog", "/catalog");
    struct gh_buf *b = &r->body;
    gh_html(b,
            "<form method=\"get\" action=\"/catalog\" data-live><label for=\"q\">Search</label>"
            "<input type=\"search\" id=\"q\" name=\"q\" value=\"{}\" autocomplete=\"off\" "
            "placeholder=\"Name, title or description\"> <button type=\"submit\" "
            "class=\"secondary\">Search</button>"
            "<div class=\"layout\"><aside class=\"facets\" id=\"facets\" aria-label=\"Filters\">",
            q);
    const char *keys[GH_ARRAY_SIZE(facets)];
    for (size_t k = 0; k < GH_ARRAY_SIZE(facets); k++)
        keys[k] = facets[k].key;
    struct gh_json *fj = gh_catalog_facets(s, &f, keys, GH_ARRAY_SIZE(keys), &err);
    for (size_t k = 0; fj && k < GH_ARRAY_SIZE(facets); k++) {
        const struct gh_json *vals = gh_json_get(gh_json_get(fj, "facets"), facets[k].key);
        if (gh_json_size(vals) == 0)
            continue;
        gh_html(b, "<fieldset><legend>{}</legend>", facets[k].label);
        for (size_t i = 0; i < gh_json_size(vals) && i < 30; i++) {
            const struct gh_json *v = gh_json_at(vals, i);
            const char *value = str_of(v, "value");
            char count[24];
            snprintf(count, sizeof(count), "%lld", (long long)gh_json_int_value(gh_json_get(v, "count")));
            gh_html(b,
                    "<label><input type=\"checkbox\" name=\"{}\" value=\"{}\"{!}> {} <span "
                    "class=\"count\">{}</span></label>",
                    facets[k].param, value, selected(ps, facets[k].param, value) ? " checked" : "", value,
                    count);
        }
        gh_buf_adds(b, "</fieldset>");
    }
    gh_json_unref(fj);
    gh_buf_adds(b, "<noscript><button type=\"submit\">Apply filters</button></noscript></aside>"
                   "<section id=\"results\" aria-live=\"polite\">");
    static const char *const text_keys[] = {"metadata.name", "metadata.title", "metadata.description"};
    struct gh_catalog_query cq = {&f, "metadata.name", 0, q && q[0] ? q : NULL, text_keys, 3, 0, 100};
    struct gh_json *items = NULL;
    size_t total = 0;
    if (gh_catalog_query(s, &cq, &items, &total, &err) != 0) {
        gh_html(b, "<p class=\"notice bad\">{}</p>", err.msg);
    } else {
        char count[64];
        snprintf(count, sizeof(count), "%zu %s%s", total, total == 1 ? "entity" : "entities",
                 total > 100 ? " (the first 100 shown)" : "");
        gh_html(b,
                "<p class=\"muted\">{}</p><div class=\"scroll\"><table><thead><tr><th scope=\"col\">Name</th>"
                "<th scope=\"col\">Kind</th><th scope=\"col\">Owner</th><th scope=\"col\">Lifecycle</th>"
                "<th scope=\"col\">Description</th></tr></thead><tbody>",
                count);
        for (size_t i = 0; i < gh_json_size(items); i++) {
            const struct gh_json *e = gh_json_at(items, i), *md = gh_json_get(e, "metadata"),
                                 *spec = gh_json_get(e, "spec");
            char ref[GH_ENTITY_REF_MAX * 2];
            snprintf(ref, sizeof(ref), "%s:%s/%s", str_of(e, "kind"),
                     str_of(md, "namespace")[0] ? str_of(md, "namespace") : "default", str_of(md, "name"));
            const char *title = str_of(md, "title")[0] ? str_of(md, "title") : str_of(md, "name");
            gh_buf_adds(b, "<tr><td>");
            entity_href(b, ref, title);
            gh_html(b, "</td><td>{}</td><td>", str_of(e, "kind"));
            if (str_of(spec, "owner")[0]) {
                char owner[GH_ENTITY_REF_MAX];
                struct gh_entity_ref o;
                if (gh_catalog_parse_ref(
                        (struct gh_str){str_of(spec, "owner"), strlen(str_of(spec, "owner"))}, "Group", NULL,
                        &o, NULL) == 0) {
                    gh_catalog_ref_string(&o, owner, sizeof(owner));
                    entity_href(b, owner, o.name);
                }
            }
            gh_html(b, "</td><td>{}</td><td>{}</td></tr>", str_of(spec, "lifecycle"),
                    str_of(md, "description"));
        }
        gh_buf_adds(b, "</tbody></table></div>");
    }
    gh_json_unref(items);
    gh_filter_free(&f);
    gh_buf_adds(b, "</section></div></form>");
    end(r);
}

/* ---- an entity ---- */

struct ops {
    struct gh_buf *b;
    size_t n;
};

static int on_op(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct ops *o = ctx;
    if (n != 4)
        return 0;
    char method[16], path[512], summary[512], params[1100];
    gh_store_val_text(&c[0], method, sizeof(method));
    gh_store_val_text(&c[1], path, sizeof(path));
    gh_store_val_text(&c[2], summary, sizeof(summary));
    gh_store_val_text(&c[3], params, sizeof(params));
    for (char *m = method; *m; m++)
        *m = (char)(*m >= 'a' && *m <= 'z' ? *m - 32 : *m);
    gh_html(o->b, "<tr><td class=\"method\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            method, path, summary, params);
    o->n++;
    return 0;
}

static void entity(struct gh_api *a, const struct gh_preq *req, char **seg, const struct params *ps,
                   struct gh_presp *r)
{
    char ref[GH_ENTITY_REF_MAX * 2];
    snprintf(ref, sizeof(ref), "%s:%s/%s", seg[2], seg[1], seg[3]);
    struct gh_store *s = gh_catalog_service_store(a->catalog);
    struct gh_json *e = gh_catalog_get_by_ref(s, ref, NULL);
    if (e == NULL)
        return gh__page_error(r, 404, "There is no such entity in the catalog.");
    const struct gh_json *md = gh_json_get(e, "metadata"), *spec = gh_json_get(e, "spec");
    const char *title = str_of(md, "title")[0] ? str_of(md, "title") : str_of(md, "name");
    int is_api = strcasecmp(str_of(e, "kind"), "api") == 0;
    const struct gh_config_api *api = is_api ? config_api(a->cfg, str_of(md, "name")) : NULL;
    const char *tab = gh__param(ps, "tab");
    if (tab == NULL || !is_api)
        tab = "overview";
    char owner[GH_ENTITY_REF_MAX] = "";
    struct gh_perm_resource res = {0};
    if (is_api && gh__api_owner(a, str_of(md, "name"), owner))
        res.owner_group = owner;
    int consumers =
        is_api && api && gh_perm_check(&a->me, GH_ACT_CONSUMERS_VIEW, &res, NULL, 0) == GH_PERM_ALLOW;
    begin(a, r, title, "/catalog");
    struct gh_buf *b = &r->body;
    char here[GH_ENTITY_REF_MAX * 2 + 16];
    snprintf(here, sizeof(here), "/catalog/%s/%s/%s", seg[1], seg[2], seg[3]);
    if (is_api) {
        static const char *const tabs[][2] = {{"overview", "Overview"},
                                              {"definition", "Definition"},
                                              {"access", "Access"},
                                              {"consumers", "Consumers"}};
        gh_buf_adds(b, "<nav class=\"tabs\" aria-label=\"Sections\">");
        for (size_t i = 0; i < 4; i++) {
            if (i == 3 && !consumers)
                continue;
            gh_html(b, "<a href=\"{}?tab={}\"{!}>{}</a>", here, tabs[i][0],
                    strcmp(tab, tabs[i][0]) == 0 ? " aria-current=\"page\"" : "", tabs[i][1]);
        }
        gh_buf_adds(b, "</nav>");
    }
    if (strcmp(tab, "overview") == 0) {
        gh_html(b, "<section class=\"card\"><p>{}</p><dl class=\"facts\"><dt>Kind</dt><dd>{}</dd>",
                str_of(md, "description")[0] ? str_of(md, "description") : "No description.",
                str_of(e, "kind"));
        if (str_of(spec, "type")[0])
            gh_html(b, "<dt>Type</dt><dd>{}</dd>", str_of(spec, "type"));
        static const char *const refs[][3] = {{"owner", "Owner", "Group"}, {"system", "System", "System"}};
        for (size_t i = 0; i < 2; i++) {
            const char *v = str_of(spec, refs[i][0]);
            struct gh_entity_ref o;
            if (v[0] &&
                gh_catalog_parse_ref((struct gh_str){v, strlen(v)}, refs[i][2], NULL, &o, NULL) == 0) {
                char full[GH_ENTITY_REF_MAX];
                gh_catalog_ref_string(&o, full, sizeof(full));
                gh_html(b, "<dt>{}</dt><dd>", refs[i][1]);
                entity_href(b, full, o.name);
                gh_buf_adds(b, "</dd>");
            }
        }
        if (str_of(spec, "lifecycle")[0])
            gh_html(b, "<dt>Lifecycle</dt><dd>{}</dd>", str_of(spec, "lifecycle"));
        const struct gh_json *tags = gh_json_get(md, "tags");
        if (gh_json_size(tags)) {
            gh_buf_adds(b, "<dt>Tags</dt><dd>");
            for (size_t i = 0; i < gh_json_size(tags); i++)
                gh_html(b, "<span class=\"badge\">{}</span> ", gh_json_str(gh_json_at(tags, i), NULL));
            gh_buf_adds(b, "</dd>");
        }
        const char *url = str_of(gh_json_get(md, "annotations"), "gatehouse.dev/gateway-url");
        if (url[0])
            gh_html(b, "<dt>Gateway URL</dt><dd><code>{}</code></dd>", url);
        gh_buf_adds(b, "</dl></section>");
        if (api && api->nplans) {
            gh_buf_adds(b, "<section class=\"card\"><h2>Plans</h2><ul>");
            for (size_t i = 0; i < api->nplans; i++) {
                char words[160];
                plan_words(a->cfg, api->plans[i], words, sizeof(words));
                gh_html(b, "<li><strong>{}</strong>: {}</li>", api->plans[i], words);
            }
            gh_html(b,
                    "</ul><p><a class=\"button\" href=\"/access/request?api={u}\">Request "
                    "access</a></p></section>",
                    api->name);
        }
        const struct gh_json *rel = gh_json_get(e, "relations");
        if (gh_json_size(rel)) {
            gh_buf_adds(b, "<section class=\"card\"><h2>Relations</h2><ul>");
            for (size_t i = 0; i < gh_json_size(rel); i++) {
                const struct gh_json *x = gh_json_at(rel, i);
                gh_html(b, "<li>{} ", str_of(x, "type"));
                entity_href(b, str_of(x, "targetRef"), NULL);
                gh_buf_adds(b, "</li>");
            }
            gh_buf_adds(b, "</ul></section>");
        }
    } else if (strcmp(tab, "definition") == 0) {
        struct ops o = {b, 0};
        struct gh_store_val p[] = {GH_VTEXT(str_of(md, "uid"))};
        gh_buf_adds(b,
                    "<section class=\"card\"><h2>Operations</h2><div class=\"scroll\"><table><thead><tr>"
                    "<th scope=\"col\">Method</th><th scope=\"col\">Path</th><th scope=\"col\">Summary</th>"
                    "<th scope=\"col\">Parameters</th></tr></thead><tbody>");
        struct gh_err err = {{0}};
        gh_store_exec(
            s,
            "SELECT method, path, COALESCE(summary, ''), COALESCE(params, '') FROM catalog_operations "
            "WHERE uid = $1 "
            "ORDER BY path, method",
            p, 1, on_op, &o, &err);
        gh_buf_adds(b, "</tbody></table></div>");
        if (o.n == 0)
            gh_buf_adds(b, "<p class=\"muted\">This API's definition lists no operations.</p>");
        gh_buf_adds(b, "</section>");
    } else if (strcmp(tab, "access") == 0) {
        gh_buf_adds(b, "<section class=\"card\"><h2>My access</h2>");
        int st = 0;
        struct gh_json *g = a->me.user[0] ? api_call(a, req, GH_METHOD_GET, "/api/grants", NULL, &st) : NULL;
        size_t shown = 0;
        for (size_t i = 0; st == 200 && i < gh_json_size(gh_json_get(g, "items")); i++) {
            const struct gh_json *it = gh_json_at(gh_json_get(g, "items"), i);
            if (strcmp(str_of(it, "api"), str_of(md, "name")) != 0)
                continue;
            if (shown++ == 0)
                gh_buf_adds(b, "<ul>");
            gh_html(b, "<li>{} on plan {}: ", str_of(it, "app"), str_of(it, "plan"));
            state_badge(b, str_of(it, "state"));
            gh_html(b, " {}</li>", str_of(it, "expiresAt")[0] ? str_of(it, "expiresAt") : "");
        }
        gh_json_unref(g);
        gh_buf_adds(b, shown ? "</ul>"
                             : "<p class=\"muted\">None of your applications may call this API yet.</p>");
        if (api)
            gh_html(b, "<p><a class=\"button\" href=\"/access/request?api={u}\">Request access</a></p>",
                    api->name);
        gh_buf_adds(b, "</section>");
    } else if (strcmp(tab, "consumers") == 0 && consumers) {
        char path[160];
        snprintf(path, sizeof(path), "/api/apis/%s/consumers", api->name);
        int st = 0;
        struct gh_json *c = api_call(a, req, GH_METHOD_GET, path, NULL, &st);
        gh_buf_adds(
            b,
            "<section class=\"card\"><h2>Who calls this API</h2><div class=\"scroll\"><table><thead><tr>"
            "<th scope=\"col\">Application</th><th scope=\"col\">Owner</th><th scope=\"col\">Plan</th>"
            "<th scope=\"col\">State</th><th scope=\"col\">Ends</th><th scope=\"col\">Requests (30 days)</th>"
            "<th scope=\"col\">Throttled</th><th scope=\"col\"></th></tr></thead><tbody>");
        for (size_t i = 0; st == 200 && i < gh_json_size(gh_json_get(c, "items")); i++) {
            const struct gh_json *it = gh_json_at(gh_json_get(c, "items"), i);
            char reqs[24], thr[24];
            snprintf(reqs, sizeof(reqs), "%lld",
                     (long long)gh_json_int_value(gh_json_get(it, "requests30d")));
            snprintf(thr, sizeof(thr), "%lld", (long long)gh_json_int_value(gh_json_get(it, "throttled30d")));
            gh_html(b, "<tr><td>{}</td><td>{}</td><td>{}</td><td>", str_of(it, "app"), str_of(it, "appOwner"),
                    str_of(it, "plan"));
            state_badge(b, str_of(it, "state"));
            gh_html(b, "</td><td>{}</td><td>{}</td><td>{}</td><td>", str_of(it, "expiresAt"), reqs, thr);
            if (strcmp(str_of(it, "state"), "active") == 0) {
                char act[160];
                snprintf(act, sizeof(act), "/access/grants/%s/revoke", str_of(it, "grant"));
                post_button(a, b, act, "Revoke", "End this application's access to the API?", "danger");
            }
            gh_buf_adds(b, "</td></tr>");
        }
        gh_json_unref(c);
        gh_buf_adds(b, "</tbody></table></div></section>");
    }
    gh_json_unref(e);
    end(r);
}

/* ---- requesting access ---- */

static void request_form(struct gh_api *a, const struct gh_preq *req, const struct params *ps,
                         const char *error, struct gh_presp *r)
{
    const char *want = gh__param(ps, "api"), *plan = gh__param(ps, "plan"), *app = gh__param(ps, "app");
    const struct gh_config_api *api = config_api(a->cfg, want);
    begin(a, r, "Request access", "/access");
    struct gh_buf *b = &r->body;
    if (error)
        gh_html(b, "<p class=\"notice bad\" role=\"alert\">{}</p>", error);
    gh_buf_adds(b, "<form class=\"card\" method=\"post\" action=\"/access/request\">");
    gh_html(b, "<input type=\"hidden\" name=\"csrf\" value=\"{}\">", a->csrf);
    gh_buf_adds(b, "<label for=\"api\">API</label><select id=\"api\" name=\"api\" required>");
    for (size_t i = 0; a->cfg && i < a->cfg->napis; i++)
        if (a->cfg->apis[i].nplans)
            gh_html(b, "<option value=\"{}\"{!}>{}</option>", a->cfg->apis[i].name,
                    api == &a->cfg->apis[i] ? " selected" : "", a->cfg->apis[i].name);
    gh_buf_adds(b, "</select><label for=\"plan\">Plan</label><select id=\"plan\" name=\"plan\" required>");
    for (size_t i = 0; api && i < api->nplans; i++) {
        char words[160];
        plan_words(a->cfg, api->plans[i], words, sizeof(words));
        gh_html(b, "<option value=\"{}\"{!}>{} ({})</option>", api->plans[i],
                plan && strcmp(plan, api->plans[i]) == 0 ? " selected" : "", api->plans[i], words);
    }
    gh_buf_adds(b, "</select>");
    /* the application: one of mine or my teams', or a new one */
    int st = 0;
    struct gh_json *apps = api_call(a, req, GH_METHOD_GET, "/api/apps", NULL, &st);
    gh_buf_adds(b, "<label for=\"app\">Application</label><select id=\"app\" name=\"app\">"
                   "<option value=\"\">A new application (name it below)</option>");
    for (size_t i = 0; st == 200 && i < gh_json_size(gh_json_get(apps, "items")); i++) {
        const char *name = str_of(gh_json_at(gh_json_get(apps, "items"), i), "name");
        gh_html(b, "<option value=\"{}\"{!}>{}</option>", name,
                app && strcmp(app, name) == 0 ? " selected" : "", name);
    }
    gh_json_unref(apps);
    gh_html(b,
            "</select><label for=\"new_app\">New application's name</label>"
            "<input type=\"text\" id=\"new_app\" name=\"new_app\" value=\"{}\" "
            "pattern=\"[A-Za-z0-9][A-Za-z0-9._\\-]{{0,62}\" "
            "aria-describedby=\"new_app_help\"><p id=\"new_app_help\" class=\"muted\">Letters, digits, - _ "
            "and .</p>"
            "<label for=\"owner\">It belongs to</label><select id=\"owner\" name=\"owner\">",
            gh__param(ps, "new_app"));
    gh_html(b, "<option value=\"{}\">Me</option>", a->me.user);
    for (size_t i = 0; i < a->me.ngroups; i++)
        gh_html(b, "<option value=\"{}\">{}</option>", a->me.groups[i], a->me.groups[i]);
    gh_html(b,
            "</select><label for=\"justification\">Why do you need it?</label>"
            "<textarea id=\"justification\" name=\"justification\" maxlength=\"2000\">{}</textarea>"
            "<label for=\"days\">For how many days (the rule may shorten it)</label>"
            "<input type=\"number\" id=\"days\" name=\"days\" min=\"1\" max=\"3650\" value=\"{}\">",
            gh__param(ps, "justification"), gh__param(ps, "days"));
    /* which rule will decide: asked of the same explain call the API offers */
    if (api && plan) {
        struct params q = {0};
        q.v[0] = (struct param){(char *)"api", (char *)api->name};
        q.v[1] = (struct param){(char *)"plan", (char *)plan};
        q.n = 2;
        struct gh_presp er = {0};
        gh__api_explain(a, &q, &er);
        int est = 0;
        struct gh_json *x = taken(&er, &est);
        if (x && est == 200) {
            const char *decide = str_of(x, "decide");
            const char *how = strcmp(decide, "approve") == 0          ? "approved at once"
                              : strcmp(decide, "owner_approval") == 0 ? "sent to the API's owners to decide"
                              : strcmp(decide, "admin_approval") == 0 ? "sent to the admins to decide"
                                                                      : "refused";
            gh_html(b,
                    "<p class=\"notice\" role=\"status\">Rule <strong>{}</strong> decides: this request will "
                    "be {}.</p>",
                    str_of(x, "rule"), how);
        }
        gh_json_unref(x);
    }
    gh_buf_adds(
        b, "<p><button type=\"submit\">Request access</button> "
           "<button type=\"submit\" class=\"secondary\" formmethod=\"get\" formaction=\"/access/request\">"
           "Show who decides</button></p></form>");
    end(r);
}

/* The form's fields, from an application/x-www-form-urlencoded body. */
static int form_fields(const struct gh_preq *req, struct params *ps, struct gh_presp *r)
{
    char why[200];
    if (gh__params_parse((struct gh_str){req->body ? req->body : "", req->body_len}, ps, why, sizeof(why)) !=
        0) {
        gh__page_error(r, 400, why);
        return -1;
    }
    return 0;
}

static void json_member(struct gh_json *o, const char *name, const char *v)
{
    if (v && v[0])
        gh_json_set(o, name, gh_json_string(v, strlen(v)));
}

static void request_submit(struct gh_api *a, const struct gh_preq *req, struct gh_presp *r)
{
    struct params *ps = gh_calloc(1, sizeof(*ps));
    if (form_fields(req, ps, r) != 0) {
        gh__params_free(ps);
        free(ps);
        return;
    }
    const char *app = gh__param(ps, "app"), *new_app = gh__param(ps, "new_app"),
               *days = gh__param(ps, "days");
    struct gh_json *body = gh_json_object();
    json_member(body, "api", gh__param(ps, "api"));
    json_member(body, "plan", gh__param(ps, "plan"));
    json_member(body, "justification", gh__param(ps, "justification"));
    if (app && app[0]) {
        json_member(body, "app", app);
    } else {
        json_member(body, "app", new_app);
        json_member(body, "appOwner", gh__param(ps, "owner"));
    }
    uint64_t d = 0;
    if (days && days[0]) {
        if (gh_parse_u64(days, strlen(days), 3650, &d) != 0 || d == 0) {
            gh_json_unref(body);
            request_form(a, req, ps, "Days: a whole number from 1 to 3650.", r);
            r->status = 400;
            gh__params_free(ps);
            free(ps);
            return;
        }
        gh_json_set(body, "durationDays", gh_json_int((int64_t)d));
    }
    char *text = gh_json_dump(body, 0);
    gh_json_unref(body);
    int st = 0;
    struct gh_json *res = api_call(a, req, GH_METHOD_POST, "/api/access/requests", text, &st);
    free(text);
    if (st >= 400 || res == NULL) {
        request_form(a, req, ps, res ? error_of(res) : "the request failed", r);
        r->status = st >= 400 ? st : 500;
        gh_json_unref(res);
        gh__params_free(ps);
        free(ps);
        return;
    }
    const char *state = str_of(res, "state");
    begin(a, r, strcmp(state, "approved") == 0 ? "Access granted" : "Request sent", "/access");
    struct gh_buf *b = &r->body;
    if (strcmp(state, "approved") == 0) {
        gh_html(b,
                "<p class=\"notice ok\" role=\"status\">Rule <strong>{}</strong> approved access to {} for "
                "{} until {}.</p>",
                str_of(res, "rule"), gh__param(ps, "api"),
                str_of(res, "app")[0] ? str_of(res, "app")
                : app && app[0]       ? app
                                      : new_app,
                str_of(res, "expiresAt"));
        const char *key = str_of(res, "key");
        if (key[0]) {
            const struct gh_config_api *api = config_api(a->cfg, gh__param(ps, "api"));
            char url[512] = "";
            if (api) {
                char ref[128];
                snprintf(ref, sizeof(ref), "api:default/%s", api->name);
                struct gh_json *e = gh_catalog_get_by_ref(gh_catalog_service_store(a->catalog), ref, NULL);
                snprintf(url, sizeof(url), "%s",
                         str_of(gh_json_get(gh_json_get(e, "metadata"), "annotations"),
                                "gatehouse.dev/gateway-url"));
                gh_json_unref(e);
            }
            gh_html(b,
                    "<section class=\"card\"><h2>Your key</h2><p>It is shown this once: copy it now. "
                    "Gatehouse keeps "
                    "only its hash.</p><div class=\"secret\"><code id=\"key\">{}</code>"
                    "<button type=\"button\" class=\"secondary\" data-copy=\"key\" hidden>Copy</button></div>"
                    "<h2>Try it</h2><div class=\"secret\"><pre id=\"curl\">curl -H 'X-API-Key: {}' {}/</pre>"
                    "<button type=\"button\" class=\"secondary\" data-copy=\"curl\" "
                    "hidden>Copy</button></div></section>",
                    key, key, url);
        } else {
            gh_buf_adds(b, "<p>The application already has a key: it works for this API now.</p>");
        }
    } else if (strcmp(state, "pending") == 0) {
        gh_html(b,
                "<p class=\"notice\" role=\"status\">Rule <strong>{}</strong> asks {} to decide. You will "
                "find the "
                "answer under <a href=\"/access\">My access</a>.</p>",
                str_of(res, "rule"),
                strcmp(str_of(res, "decide"), "admin_approval") == 0 ? "the admins" : "the API's owners");
    } else {
        gh_html(b,
                "<p class=\"notice bad\" role=\"status\">Rule <strong>{}</strong> refuses this request.</p>",
                str_of(res, "rule"));
    }
    gh_buf_adds(b, "<p><a href=\"/access\">My access</a> &middot; <a href=\"/catalog\">Catalog</a></p>");
    end(r);
    /* the key is in the page only */
    struct gh_json *k = gh_json_get(res, "key");
    if (k) {
        size_t kl = 0;
        const char *kp = gh_json_str(k, &kl);
        if (kp)
            OPENSSL_cleanse((void *)kp, kl);
    }
    gh_json_unref(res);
    gh__params_free(ps);
    free(ps);
}

/* ---- usage charts: inline SVG drawn here (no script) ---- */

#define CHART_MAX 30

/* The two scales: 24 hourly bars, or 30 daily ones. */
struct scale {
    const char *bucket, *span; /* the usage bucket ("hour"), what the chart spans ("24 hours") */
    int n;
    uint64_t step_ms;
};
static const struct scale per_hour = {"hour", "24 hours", 24, 3600000};
static const struct scale per_day = {"day", "30 days", 30, 86400000};

/* One application's calls to one API: a bar per hour (or day), throttled calls stacked on top in
 * their own colour, every bar titled with its numbers. */
static void usage_chart(struct gh_buf *b, const char *app, const struct gh_json *series, uint64_t now,
                        const struct scale *sc)
{
    uint64_t req[CHART_MAX] = {0}, thr[CHART_MAX] = {0}, max = 0, total = 0, throttled = 0;
    char keys[CHART_MAX][24];
    int n = sc->n, w = 480 / n;
    for (int h = 0; h < n; h++) {
        char t[40];
        gh_time_rfc3339(now - (uint64_t)(n - 1 - h) * sc->step_ms, t, sizeof(t));
        if (sc == &per_hour)
            snprintf(keys[h], sizeof(keys[h]), "%.13s:00Z", t);
        else
            snprintf(keys[h], sizeof(keys[h]), "%.10sT00:00Z", t);
    }
    const struct gh_json *points = gh_json_get(series, "points");
    for (size_t i = 0; i < gh_json_size(points); i++) {
        const struct gh_json *pt = gh_json_at(points, i);
        for (int h = 0; h < n; h++)
            if (strcmp(str_of(pt, "t"), keys[h]) == 0) {
                req[h] = (uint64_t)gh_json_int_value(gh_json_get(pt, "requests"));
                thr[h] = (uint64_t)gh_json_int_value(gh_json_get(pt, "throttled"));
            }
    }
    for (int h = 0; h < n; h++) {
        max = req[h] > max ? req[h] : max;
        total += req[h];
        throttled += thr[h];
    }
    char sum[160];
    snprintf(sum, sizeof(sum), "%llu requests in the last %s, %llu of them throttled",
             (unsigned long long)total, sc->span, (unsigned long long)throttled);
    gh_html(b, "<figure><figcaption><strong>{}</strong> calling <strong>{}</strong>: {}</figcaption>", app,
            str_of(series, "api"), sum);
    gh_html(b, "<svg class=\"chart\" viewBox=\"0 0 480 120\" role=\"img\" aria-label=\"{}\">", sum);
    gh_buf_adds(b, "<line class=\"axis\" x1=\"0\" y1=\"100\" x2=\"480\" y2=\"100\"></line>");
    for (int h = 0; h < n; h++) {
        uint64_t hgt = max ? req[h] * 96 / max : 0, th = max ? thr[h] * 96 / max : 0;
        if (req[h] && hgt == 0)
            hgt = 1;
        if (thr[h] && th == 0)
            th = 1;
        if (th > hgt)
            th = hgt;
        char title[96], x[8], bw[8], oky[8], okh[8], ty[8], thh[8], label[16];
        if (sc == &per_hour)
            snprintf(label, sizeof(label), "%.5s UTC", keys[h] + 11);
        else
            snprintf(label, sizeof(label), "%.10s", keys[h]);
        snprintf(title, sizeof(title), "%s: %llu requests, %llu throttled", label, (unsigned long long)req[h],
                 (unsigned long long)thr[h]);
        snprintf(x, sizeof(x), "%d", h * w + 2);
        snprintf(bw, sizeof(bw), "%d", w - 4);
        snprintf(oky, sizeof(oky), "%llu", (unsigned long long)(100 - (hgt - th)));
        snprintf(okh, sizeof(okh), "%llu", (unsigned long long)(hgt - th));
        snprintf(ty, sizeof(ty), "%llu", (unsigned long long)(100 - hgt));
        snprintf(thh, sizeof(thh), "%llu", (unsigned long long)th);
        /* the bar's lower part: served; its top: throttled */
        gh_html(
            b,
            "<g><title>{}</title><rect class=\"bar-ok\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"></rect>"
            "<rect class=\"bar-throttled\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"></rect></g>",
            title, x, oky, bw, okh, x, ty, bw, thh);
        if (h % 6 == 0) {
            char lx[8];
            snprintf(lx, sizeof(lx), "%d", h * w);
            label[5] = '\0'; /* HH:MM, or YYYY- -> the month and day below */
            if (sc == &per_day)
                snprintf(label, sizeof(label), "%.5s", keys[h] + 5);
            gh_html(b, "<text class=\"tick\" x=\"{}\" y=\"116\">{}</text>", lx, label);
        }
    }
    gh_buf_adds(b, "</svg></figure>");
}

/* The usage of the applications a listing showed (those the caller may see), per API. */
static void usage_section(struct gh_api *a, struct gh_buf *b, const struct gh_json *apps,
                          const struct scale *sc)
{
    gh_html(
        b,
        "<section class=\"card\" id=\"usage\"><h2>Usage, last {}</h2><p class=\"muted\">Requests per {}; "
        "<span class=\"swatch throttled\"></span> throttled ones on top. Show: <a href=\"/access#usage\"{!}>"
        "per hour</a> &middot; <a href=\"/access?usage=days#usage\"{!}>per day</a></p>",
        sc->span, sc->bucket, sc == &per_hour ? " aria-current=\"true\"" : "",
        sc == &per_day ? " aria-current=\"true\"" : "");
    size_t charts = 0;
    uint64_t now = gh_time_wall_ms();
    char t[40], since[40];
    gh_time_rfc3339(now - (uint64_t)(sc->n - 1) * sc->step_ms, t, sizeof(t));
    if (sc == &per_hour)
        snprintf(since, sizeof(since), "%.13s:00Z", t);
    else
        snprintf(since, sizeof(since), "%.10s", t);
    for (size_t i = 0; i < gh_json_size(apps) && i < 20; i++) {
        const char *app = str_of(gh_json_at(apps, i), "name");
        struct gh_usage_query q = {app, NULL, since, NULL, sc->bucket};
        struct gh_json *res = NULL;
        struct gh_err err = {{0}};
        if (gh_usage_series(gh_catalog_service_store(a->catalog), &q, &res, &err) != 0)
            continue;
        const struct gh_json *series = gh_json_get(res, "series");
        for (size_t k = 0; k < gh_json_size(series); k++, charts++)
            usage_chart(b, app, gh_json_at(series, k), now, sc);
        gh_json_unref(res);
    }
    if (charts == 0)
        gh_buf_adds(b, "<p class=\"muted\">No calls yet.</p>");
    gh_buf_adds(b, "</section>");
}

/* ---- my access ---- */

static void table_rows(struct gh_api *a, struct gh_buf *b, const struct gh_json *items,
                       const char *const *cols, size_t ncols, const char *kind)
{
    for (size_t i = 0; i < gh_json_size(items); i++) {
        const struct gh_json *it = gh_json_at(items, i);
        gh_buf_adds(b, "<tr>");
        for (size_t c = 0; c < ncols; c++) {
            const struct gh_json *v = gh_json_get(it, cols[c]);
            gh_buf_adds(b, "<td>");
            if (strcmp(cols[c], "state") == 0) {
                state_badge(b, str_of(it, "state"));
            } else if (gh_json_type(v) == GH_JSON_INT) {
                char n[24];
                snprintf(n, sizeof(n), "%lld", (long long)gh_json_int_value(v));
                gh_html(b, "{}", n);
            } else {
                gh_html(b, "{}", str_of(it, cols[c]));
            }
            gh_buf_adds(b, "</td>");
        }
        gh_buf_adds(b, "<td>");
        char act[200];
        if (strcmp(kind, "apps") == 0 && gh_json_int_value(gh_json_get(it, "activeCredentials")) == 0) {
            snprintf(act, sizeof(act), "/access/apps/%s/keys", str_of(it, "name"));
            post_button(a, b, act, "Create a key", NULL, "secondary");
        } else if (strcmp(kind, "apps") == 0) {
            snprintf(act, sizeof(act), "/access/apps/%s/rotate", str_of(it, "name"));
            post_button(a, b, act, "Rotate keys",
                        "Rotate: the secondary key becomes primary, the old primary stops working, and a new "
                        "secondary is made. Go on?",
                        "secondary");
        } else if (strcmp(kind, "requests") == 0 && strcmp(str_of(it, "state"), "pending") == 0) {
            snprintf(act, sizeof(act), "/access/requests/%s/withdraw", str_of(it, "id"));
            post_button(a, b, act, "Withdraw", "Withdraw this request?", "secondary");
        } else if (strcmp(kind, "requests") != 0 && strcmp(str_of(it, "state"), "active") == 0) {
            snprintf(act, sizeof(act), "/access/%s/%s/revoke", kind, str_of(it, "id"));
            post_button(a, b, act, "Revoke",
                        strcmp(kind, "keys") == 0 ? "Revoke this key? Callers using it are refused at once."
                                                  : "End this access? Calls to the API are refused at once.",
                        "danger");
        }
        gh_buf_adds(b, "</td></tr>");
    }
}

static void my_access(struct gh_api *a, const struct gh_preq *req, const struct params *ps,
                      struct gh_presp *r)
{
    begin(a, r, "My access", "/access");
    struct gh_buf *b = &r->body;
    done_notice(b, ps);
    gh_buf_adds(b, "<p><a class=\"button\" href=\"/access/request\">Request access to an API</a></p>");
    static const struct {
        const char *path, *title, *kind;
        const char *cols[7];
        const char *heads[7];
        size_t n;
    } lists[] = {
        {"/api/apps",
         "Applications",
         "apps",
         {"name", "owner", "activeCredentials", "activeGrants"},
         {"Name", "Owner", "Active keys", "Grants"},
         4},
        {"/api/keys",
         "Keys",
         "keys",
         {"id", "app", "slot", "state", "createdAt", "expiresAt"},
         {"Key", "Application", "Slot", "State", "Made", "Ends"},
         6},
        {"/api/grants",
         "Grants",
         "grants",
         {"id", "app", "api", "plan", "state", "expiresAt"},
         {"Grant", "Application", "API", "Plan", "State", "Ends"},
         6},
        {"/api/access/requests",
         "Requests",
         "requests",
         {"id", "app", "api", "plan", "state", "decidedBy"},
         {"Request", "Application", "API", "Plan", "State", "Decided by"},
         6},
    };
    struct gh_json *apps = NULL;
    for (size_t l = 0; l < GH_ARRAY_SIZE(lists); l++) {
        int st = 0;
        struct gh_json *j = api_call(a, req, GH_METHOD_GET, lists[l].path, NULL, &st);
        gh_html(b, "<section class=\"card\"><h2>{}</h2>", lists[l].title);
        const struct gh_json *items = gh_json_get(j, "items");
        if (st != 200) {
            gh_html(b, "<p class=\"notice bad\">{}</p>", j ? error_of(j) : "not available");
        } else if (gh_json_size(items) == 0) {
            gh_buf_adds(b, "<p class=\"muted\">None yet.</p>");
        } else {
            gh_buf_adds(b, "<div class=\"scroll\"><table><thead><tr>");
            for (size_t c = 0; c < lists[l].n; c++)
                gh_html(b, "<th scope=\"col\">{}</th>", lists[l].heads[c]);
            gh_buf_adds(b, "<th scope=\"col\"><span class=\"muted\">Actions</span></th></tr></thead><tbody>");
            table_rows(a, b, items, lists[l].cols, lists[l].n, lists[l].kind);
            gh_buf_adds(b, "</tbody></table></div>");
        }
        gh_buf_adds(b, "</section>");
        if (l == 0 && st == 200 && gh_json_size(items))
            apps = gh_json_ref(j);
        gh_json_unref(j);
    }
    if (apps)
        usage_section(a, b, gh_json_get(apps, "items"),
                      gh__param(ps, "usage") && strcmp(gh__param(ps, "usage"), "days") == 0 ? &per_day
                                                                                            : &per_hour);
    gh_json_unref(apps);
    end(r);
}

/* POST /access/apps/NAME/rotate, or .../keys (a first key): the new key, shown once */
static void rotate(struct gh_api *a, const struct gh_preq *req, const char *app, int first,
                   struct gh_presp *r)
{
    char path[160];
    snprintf(path, sizeof(path), first ? "/api/apps/%s/keys" : "/api/apps/%s/keys/rotate", app);
    int st = 0;
    struct gh_json *res = api_call(a, req, GH_METHOD_POST, path, first ? "{}" : NULL, &st);
    if (st != 201) {
        gh__page_error(r, st >= 400 ? st : 500, res ? error_of(res) : "no key was made");
        gh_json_unref(res);
        return;
    }
    begin(a, r, first ? "Your key" : "Keys rotated", "/access");
    struct gh_buf *b = &r->body;
    if (first)
        gh_html(b, "<p class=\"notice ok\" role=\"status\">A primary key for {} is made.</p>", app);
    else if (str_of(res, "promoted")[0])
        gh_html(b, "<p class=\"notice ok\" role=\"status\">Key {} is primary now; {}.</p>",
                str_of(res, "promoted"),
                str_of(res, "revoked")[0] ? "the old primary key is revoked"
                                          : "there was no primary key to revoke");
    else
        gh_buf_adds(
            b, "<p class=\"notice ok\" role=\"status\">A secondary key is made; the primary key still works. "
               "Move your clients to the new key, then rotate again to retire the old one.</p>");
    gh_html(b,
            "<section class=\"card\"><h2>The new secondary key</h2><p>Shown this once: copy it now.</p>"
            "<div class=\"secret\"><code id=\"key\">{}</code><button type=\"button\" class=\"secondary\" "
            "data-copy=\"key\" hidden>Copy</button></div></section><p><a href=\"/access\">Back to my "
            "access</a></p>",
            str_of(res, "key"));
    end(r);
    gh_json_unref(res);
}

/* ---- approvals ---- */

static void approvals(struct gh_api *a, const struct gh_preq *req, const struct params *ps,
                      struct gh_presp *r)
{
    begin(a, r, "Approvals", "/approvals");
    struct gh_buf *b = &r->body;
    done_notice(b, ps);
    int st = 0;
    struct gh_json *j = api_call(a, req, GH_METHOD_GET, "/api/access/approvals", NULL, &st);
    const struct gh_json *items = gh_json_get(j, "items");
    if (st != 200)
        gh_html(b, "<p class=\"notice bad\">{}</p>", j ? error_of(j) : "not available");
    else if (gh_json_size(items) == 0)
        gh_buf_adds(b, "<p class=\"muted\">Nothing waits for your decision.</p>");
    for (size_t i = 0; st == 200 && i < gh_json_size(items); i++) {
        const struct gh_json *it = gh_json_at(items, i);
        gh_html(b,
                "<section class=\"card\"><h2>{} asks for {} ({})</h2><dl class=\"facts\"><dt>Application</dt>"
                "<dd>{}</dd><dt>Asked</dt><dd>{}</dd><dt>Why</dt><dd>{}</dd></dl>",
                str_of(it, "requester"), str_of(it, "api"), str_of(it, "plan"), str_of(it, "app"),
                str_of(it, "createdAt"),
                str_of(it, "justification")[0] ? str_of(it, "justification") : "(not said)");
        gh_html(b,
                "<form method=\"post\" action=\"/approvals/{u}/decide\"><input type=\"hidden\" name=\"csrf\" "
                "value=\"{}\"><label for=\"c{}\">Comment for the requester</label><textarea id=\"c{}\" "
                "name=\"comment\" maxlength=\"2000\"></textarea><p><button type=\"submit\" name=\"decision\" "
                "value=\"approve\">Approve</button> <button type=\"submit\" name=\"decision\" value=\"deny\" "
                "class=\"danger\">Deny</button></p></form></section>",
                str_of(it, "id"), a->csrf, str_of(it, "id"), str_of(it, "id"));
    }
    gh_json_unref(j);
    end(r);
}

/* A form POST that maps onto one REST call: the call, then back to a page with a notice. */
static void form_action(struct gh_api *a, const struct gh_preq *req, int method, const char *path,
                        const char *json, const char *back, struct gh_presp *r)
{
    int st = 0;
    struct gh_json *res = api_call(a, req, method, path, json, &st);
    if (st >= 300)
        gh__page_error(r, st, res ? error_of(res) : "that did not work");
    else
        redirect(r, back);
    gh_json_unref(res);
}

static void decide(struct gh_api *a, const struct gh_preq *req, const char *id, struct gh_presp *r)
{
    struct params *ps = gh_calloc(1, sizeof(*ps));
    if (form_fields(req, ps, r) == 0) {
        const char *d = gh__param(ps, "decision");
        if (d == NULL || (strcmp(d, "approve") != 0 && strcmp(d, "deny") != 0)) {
            gh__page_error(r, 400, "Choose Approve or Deny.");
        } else {
            struct gh_json *body = gh_json_object();
            json_member(body, "decision", d);
            json_member(body, "comment", gh__param(ps, "comment"));
            char *text = gh_json_dump(body, 0), path[200];
            gh_json_unref(body);
            snprintf(path, sizeof(path), "/api/access/requests/%s/decide", id);
            form_action(a, req, GH_METHOD_POST, path, text,
                        strcmp(d, "approve") == 0 ? "/approvals?done=approved" : "/approvals?done=denied", r);
            free(text);
        }
    }
    gh__params_free(ps);
    free(ps);
}

/* ---- the audit trail (auditors, admins) ---- */

struct audit_rows {
    struct gh_buf *b;
    size_t n;
    int64_t last;
};

static int on_audit_row(void *ctx, struct gh_json *e)
{
    struct audit_rows *x = ctx;
    char seq[24], *details = gh_json_dump(gh_json_get(e, "details"), 1);
    x->last = gh_json_int_value(gh_json_get(e, "seq"));
    snprintf(seq, sizeof(seq), "%lld", (long long)x->last);
    gh_html(
        x->b,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
        seq, str_of(e, "time"), str_of(e, "actor"), str_of(e, "action"), str_of(e, "target"),
        str_of(e, "outcome"), details);
    free(details);
    x->n++;
    return 0;
}

static void audit(struct gh_api *a, const struct params *ps, struct gh_presp *r)
{
    static const char *const fields[][2] = {{"actor", "Who"},
                                            {"action", "Action (grant.* for all grant actions)"},
                                            {"target", "Target"},
                                            {"since", "From (YYYY-MM-DD or a time)"},
                                            {"until", "Until"}};
    const char *v[5];
    for (size_t i = 0; i < 5; i++) {
        v[i] = gh__param(ps, fields[i][0]);
        if (v[i] && !v[i][0])
            v[i] = NULL;
    }
    const char *after = gh__param(ps, "after");
    uint64_t from = 0;
    if ((v[3] && !gh_audit_valid_time(v[3])) || (v[4] && !gh_audit_valid_time(v[4])) ||
        (after && gh_parse_u64(after, strlen(after), (uint64_t)1 << 62, &from) != 0))
        return gh__page_error(r, 400,
                              "From and Until take a date (2026-11-27) or a time (2026-11-27T10:00:00Z).");
    begin(a, r, "Audit trail", "/audit");
    struct gh_buf *b = &r->body;
    gh_buf_adds(b, "<form class=\"card\" method=\"get\" action=\"/audit\"><div class=\"grid\">");
    for (size_t i = 0; i < 5; i++)
        gh_html(b,
                "<div><label for=\"f{}\">{}</label><input type=\"text\" id=\"f{}\" name=\"{}\" "
                "value=\"{}\"></div>",
                fields[i][0], fields[i][1], fields[i][0], fields[i][0], v[i]);
    gh_html(b,
            "</div><p><button type=\"submit\">Filter</button> <a class=\"button secondary\" "
            "href=\"/api/audit/export?since={u}&amp;until={u}\" download>Export (JSON lines)</a></p>"
            "<p class=\"muted\">The export holds every event in the period with its hashes and the last "
            "checkpoint; <code>gatehouse audit verify --file</code> checks it.</p></form>",
            v[3], v[4]);
    struct audit_rows x = {b, 0, 0};
    struct gh_audit_query q = {v[0], v[1], v[2], v[3], v[4], (int64_t)from, 100};
    gh_buf_adds(b,
                "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Time</th>"
                "<th scope=\"col\">Who</th><th scope=\"col\">Action</th><th scope=\"col\">Target</th>"
                "<th scope=\"col\">Outcome</th><th scope=\"col\">Details</th></tr></thead><tbody>");
    struct gh_err err = {{0}};
    int rc = gh_audit_list(gh_catalog_service_store(a->catalog), &q, on_audit_row, &x, &err);
    gh_buf_adds(b, "</tbody></table></div>");
    if (rc)
        gh_html(b, "<p class=\"notice bad\">{}</p>", err.msg);
    else if (x.n == 0)
        gh_buf_adds(b, "<p class=\"muted\">No events match.</p>");
    else if (x.n == 100) {
        char last[24];
        snprintf(last, sizeof(last), "%lld", (long long)x.last);
        gh_html(b,
                "<p><a "
                "href=\"/"
                "audit?actor={u}&amp;action={u}&amp;target={u}&amp;since={u}&amp;until={u}&amp;after={u}\">"
                "Next events</a></p>",
                v[0], v[1], v[2], v[3], v[4], last);
    }
    end(r);
}

/* ---- admin: plans, rules and webhooks as configured, and the deliveries ---- */

static void rule_conditions(struct gh_buf *b, const struct gh_config_rule *rl)
{
    const struct {
        const char *name;
        const struct gh_config_list *l;
    } lists[] = {{"requester in", &rl->requester_groups_any},
                 {"requester role", &rl->requester_roles_any},
                 {"API owner", &rl->api_owner},
                 {"API system", &rl->api_system},
                 {"lifecycle", &rl->api_lifecycle},
                 {"tags any of", &rl->api_tags_any},
                 {"tags none of", &rl->api_tags_none},
                 {"plan", &rl->plans}};
    int any = 0;
    for (size_t i = 0; i < GH_ARRAY_SIZE(lists); i++) {
        if (!lists[i].l->set)
            continue;
        gh_html(b, "{}<strong>{}</strong>: ", any++ ? "; " : "", lists[i].name);
        for (size_t k = 0; k < lists[i].l->n; k++)
            gh_html(b, "{}{}", k ? ", " : "", lists[i].l->v[k]);
    }
    for (size_t i = 0; i < rl->napi_annotations; i++)
        gh_html(b, "{}<strong>annotation</strong> {} = {}", any++ ? "; " : "", rl->api_annotations[i].from,
                rl->api_annotations[i].to);
    if (!any)
        gh_buf_adds(b, "<span class=\"muted\">always (the default)</span>");
}

static void admin(struct gh_api *a, const struct params *ps, struct gh_presp *r)
{
    begin(a, r, "Administration", "/admin");
    struct gh_buf *b = &r->body;
    const struct gh_config *cfg = a->cfg;
    gh_buf_adds(b,
                "<section class=\"card\"><h2>Plans</h2><div class=\"scroll\"><table><thead><tr>"
                "<th scope=\"col\">Plan</th><th scope=\"col\">Limits</th><th scope=\"col\">Description</th>"
                "</tr></thead><tbody>");
    for (size_t i = 0; cfg && i < cfg->nplans; i++) {
        char words[160];
        plan_words(cfg, cfg->plans[i].name, words, sizeof(words));
        gh_html(b, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", cfg->plans[i].name, words,
                cfg->plans[i].description);
    }
    gh_buf_adds(
        b, "</tbody></table></div></section><section class=\"card\"><h2>Access rules</h2><p class=\"muted\">"
           "In order; the first whose conditions all hold decides (read-only here: they live in the "
           "config).</p><div class=\"scroll\"><table><thead><tr><th scope=\"col\">Rule</th>"
           "<th scope=\"col\">When</th><th scope=\"col\">Decides</th><th scope=\"col\">At most</th>"
           "</tr></thead><tbody>");
    for (size_t i = 0; cfg && i < cfg->nrules; i++) {
        const struct gh_config_rule *rl = &cfg->rules[i];
        char days[32] = "as asked";
        if (rl->max_duration_ms)
            snprintf(days, sizeof(days), "%llu days", (unsigned long long)(rl->max_duration_ms / 86400000));
        gh_html(b, "<tr><td>{}</td><td>", rl->name);
        rule_conditions(b, rl);
        gh_html(b, "</td><td>{}</td><td>{}</td></tr>", gh_rule_decision_name(rl->decide), days);
    }
    gh_buf_adds(b, "</tbody></table></div></section><section class=\"card\"><h2>Webhooks</h2>");
    if (cfg == NULL || cfg->nwebhooks == 0)
        gh_buf_adds(b, "<p class=\"muted\">None configured (webhooks: in the config).</p>");
    for (size_t i = 0; cfg && i < cfg->nwebhooks; i++) {
        const struct gh_config_webhook *w = &cfg->webhooks[i];
        gh_html(b, "<h3>{}</h3><p><code>{}</code> &middot; events: ", w->name, w->url);
        for (size_t k = 0; k < w->nevents; k++)
            gh_html(b, "{}{}", k ? ", " : "", w->events[k]);
        gh_buf_adds(b, "</p>");
    }
    const char *state = gh__param(ps, "state");
    if (state && strcmp(state, "pending") != 0 && strcmp(state, "failed") != 0 &&
        strcmp(state, "delivered") != 0)
        state = NULL;
    /* the deliveries, through the REST handler (newest first) */
    struct gh_presp dr = {0};
    struct params dp = {0};
    if (state) {
        dp.v[0] = (struct param){(char *)"state", (char *)state};
        dp.n = 1;
    }
    char *seg[3] = {(char *)"api", (char *)"webhooks", (char *)"deliveries"};
    gh__api_webhooks(a, seg, 3, &dp, &dr);
    int st = 0;
    struct gh_json *d = taken(&dr, &st);
    gh_html(
        b, "<h3>Deliveries</h3><p>Show: <a href=\"/admin\">all</a> &middot; <a href=\"/admin?state=pending\">"
           "pending</a> &middot; <a href=\"/admin?state=failed\">failed</a> &middot; <a href=\"/admin?state="
           "delivered\">delivered</a></p>");
    const struct gh_json *items = gh_json_get(d, "items");
    if (st != 200 || gh_json_size(items) == 0) {
        gh_buf_adds(b, "<p class=\"muted\">No deliveries.</p>");
    } else {
        gh_buf_adds(
            b, "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Webhook</th><th scope=\"col\">"
               "Event</th><th scope=\"col\">Type</th><th scope=\"col\">State</th><th scope=\"col\">"
               "Attempts</th><th scope=\"col\">Last answer</th><th scope=\"col\">Delivered</th></tr></thead>"
               "<tbody>");
        for (size_t i = 0; i < gh_json_size(items); i++) {
            const struct gh_json *it = gh_json_at(items, i);
            char att[24], last[600] = "";
            snprintf(att, sizeof(att), "%lld", (long long)gh_json_int_value(gh_json_get(it, "attempts")));
            long long ls = (long long)gh_json_int_value(gh_json_get(it, "lastStatus"));
            if (str_of(it, "lastError")[0])
                snprintf(last, sizeof(last), "%.500s", str_of(it, "lastError"));
            else if (ls)
                snprintf(last, sizeof(last), "HTTP %lld", ls);
            gh_html(b, "<tr><td>{}</td><td>{}</td><td>{}</td><td>", str_of(it, "webhook"),
                    str_of(it, "event"), str_of(it, "type"));
            state_badge(b, str_of(it, "state"));
            gh_html(b, "</td><td>{}</td><td>{}</td><td>{}</td></tr>", att, last, str_of(it, "deliveredAt"));
        }
        gh_buf_adds(b, "</tbody></table></div>");
    }
    gh_json_unref(d);
    gh_buf_adds(b, "</section>");
    end(r);
}

/* ---- static files ---- */

static void asset(const char *name, struct gh_presp *r)
{
    for (const struct gh_asset *x = gh_assets; x->name; x++)
        if (strcmp(x->name, name) == 0) {
            r->status = 200;
            r->ctype = x->type;
            gh_buf_add(&r->body, x->data, x->len);
            return;
        }
    gh__page_error(r, 404, "There is no such file.");
}

/* ---- routing ---- */

void gh__pages(struct gh_api *a, const struct gh_preq *req, char **seg, int n, const struct params *ps,
               struct gh_presp *r)
{
    int post = req->method == GH_METHOD_POST;
    char path[200];
    if (n == 0)
        return home(a, req, ps, r);
    if (n == 2 && strcmp(seg[0], "static") == 0)
        return asset(seg[1], r);
    if (strcmp(seg[0], "catalog") == 0)
        return n == 1 ? catalog(a, ps, r) : entity(a, req, seg, ps, r);
    if (strcmp(seg[0], "approvals") == 0)
        return n == 1 ? approvals(a, req, ps, r) : decide(a, req, seg[1], r);
    if (strcmp(seg[0], "audit") == 0)
        return audit(a, ps, r);
    if (strcmp(seg[0], "admin") == 0)
        return admin(a, ps, r);
    /* /access... */
    if (n == 1)
        return my_access(a, req, ps, r);
    if (n == 2)
        return post ? request_submit(a, req, r) : request_form(a, req, ps, NULL, r);
    if (strcmp(seg[1], "apps") == 0)
        return rotate(a, req, seg[2], strcmp(seg[3], "keys") == 0, r);
    if (strcmp(seg[1], "requests") == 0) {
        snprintf(path, sizeof(path), "/api/access/requests/%s/withdraw", seg[2]);
        return form_action(a, req, GH_METHOD_POST, path, "{}", "/access?done=withdrawn", r);
    }
    snprintf(path, sizeof(path), "/api/%s/%s", seg[1], seg[2]); /* keys or grants: revoke */
    form_action(a, req, GH_METHOD_DELETE, path, NULL, "/access?done=revoked", r);
}
