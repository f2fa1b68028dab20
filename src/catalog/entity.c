/*
 * entity.c: Backstage's entity envelope, the spec rules of the built-in kinds, and the relations each
 * kind's spec implies. The rules follow @backstage/catalog-model's JSON schemas and its
 * BuiltinKindsEntityProcessor, so an entity Backstage accepts we accept, and the relations it
 * computes we compute, in both directions.
 */
#include "catalog.h"

#include "../base/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static struct gh_str jstr(const struct gh_json *j)
{
    size_t len = 0;
    const char *p = gh_json_str(j, &len);
    return (struct gh_str){p ? p : "", p ? len : 0};
}

/* Says which entity an error is about: its ref when it has one, else whatever it has. */
static void who(const struct gh_json *e, char *buf, size_t cap)
{
    const struct gh_json *md = gh_json_get(e, "metadata");
    struct gh_str kind = jstr(gh_json_get(e, "kind")), name = jstr(gh_json_get(md, "name")),
                  ns = jstr(gh_json_get(md, "namespace"));
    if (kind.len == 0 && name.len == 0)
        snprintf(buf, cap, "entity");
    else
        snprintf(buf, cap, "%.*s:%.*s/%.*s", (int)(kind.len ? kind.len : 1), kind.len ? kind.p : "?",
                 (int)(ns.len ? ns.len : 7), ns.len ? ns.p : "default", (int)(name.len ? name.len : 1),
                 name.len ? name.p : "?");
    for (char *p = buf; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
}

__attribute__((format(printf, 4, 5))) static int bad(const struct gh_json *e, const char *field,
                                                     struct gh_err *err, const char *fmt, ...)
{
    char w[256], why[512];
    va_list ap;
    va_start(ap, fmt);
    who(e, w, sizeof(w));
    /* started just above; the analyzer loses track of it across who() */
    vsnprintf(why, sizeof(why), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    return gh_err_set(err, GH_EINVAL, "%s: %s: %s", w, field, why);
}

/* The kinds Backstage defines, with the spec fields their schemas require or type. */
enum ftype { F_STR = 1, F_STRS, F_OBJ, F_REMOTES };
struct field {
    const char *name;
    enum ftype type;
    int required;
};
struct kind_rule {
    const char *kind;
    const char *spec_type; /* a variant for these spec.types (" a b "; NULL: any other) */
    struct field fields[12];
};

static const struct kind_rule kinds[] = {
    {"Component",
     NULL,
     {{"type", F_STR, 1},
      {"lifecycle", F_STR, 1},
      {"owner", F_STR, 1},
      {"system", F_STR, 0},
      {"subcomponentOf", F_STR, 0},
      {"providesApis", F_STRS, 0},
      {"consumesApis", F_STRS, 0},
      {"dependsOn", F_STRS, 0},
      {"dependencyOf", F_STRS, 0}}},
    /* MCP and AI model servers describe their endpoints instead of a definition */
    {"API",
     " mcp-server ai-model-server ",
     {{"type", F_STR, 1},
      {"lifecycle", F_STR, 1},
      {"owner", F_STR, 1},
      {"remotes", F_REMOTES, 1},
      {"system", F_STR, 0}}},
    {"API",
     NULL,
     {{"type", F_STR, 1},
      {"lifecycle", F_STR, 1},
      {"owner", F_STR, 1},
      {"definition", F_STR, 1},
      {"system", F_STR, 0}}},
    {"System", NULL, {{"owner", F_STR, 1}, {"domain", F_STR, 0}, {"type", F_STR, 0}}},
    {"Domain", NULL, {{"owner", F_STR, 1}, {"subdomainOf", F_STR, 0}, {"type", F_STR, 0}}},
    {"Resource",
     NULL,
     {{"type", F_STR, 1},
      {"owner", F_STR, 1},
      {"system", F_STR, 0},
      {"dependsOn", F_STRS, 0},
      {"dependencyOf", F_STRS, 0}}},
    {"Group",
     NULL,
     {{"type", F_STR, 1},
      {"children", F_STRS, 1},
      {"parent", F_STR, 0},
      {"members", F_STRS, 0},
      {"profile", F_OBJ, 0}}},
    {"User", NULL, {{"memberOf", F_STRS, 1}, {"profile", F_OBJ, 0}}},
    {"Location",
     NULL,
     {{"type", F_STR, 0}, {"target", F_STR, 0}, {"targets", F_STRS, 0}, {"presence", F_STR, 0}}},
};

/* The relations a kind's spec implies (BuiltinKindsEntityProcessor): field, relation from this
 * entity, the reverse relation, and the kind a reference without one defaults to (NULL: required). */
struct rel_rule {
    const char *kind, *field, *type, *reverse, *default_kind;
};

static const struct rel_rule rels[] = {
    {"Component", "owner", "ownedBy", "ownerOf", "Group"},
    {"Component", "system", "partOf", "hasPart", "System"},
    {"Component", "subcomponentOf", "partOf", "hasPart", "Component"},
    {"Component", "providesApis", "providesApi", "apiProvidedBy", "API"},
    {"Component", "consumesApis", "consumesApi", "apiConsumedBy", "API"},
    {"Component", "dependsOn", "dependsOn", "dependencyOf", NULL},
    {"Component", "dependencyOf", "dependencyOf", "dependsOn", NULL},
    {"API", "owner", "ownedBy", "ownerOf", "Group"},
    {"API", "system", "partOf", "hasPart", "System"},
    {"Resource", "owner", "ownedBy", "ownerOf", "Group"},
    {"Resource", "system", "partOf", "hasPart", "System"},
    {"Resource", "dependsOn", "dependsOn", "dependencyOf", NULL},
    {"Resource", "dependencyOf", "dependencyOf", "dependsOn", NULL},
    {"System", "owner", "ownedBy", "ownerOf", "Group"},
    {"System", "domain", "partOf", "hasPart", "Domain"},
    {"Domain", "owner", "ownedBy", "ownerOf", "Group"},
    {"Domain", "subdomainOf", "partOf", "hasPart", "Domain"},
    {"Group", "parent", "childOf", "parentOf", "Group"},
    {"Group", "children", "parentOf", "childOf", "Group"},
    {"Group", "members", "hasMember", "memberOf", "User"},
    {"User", "memberOf", "memberOf", "hasMember", "Group"},
};

/* The rule for a kind (and, where the kind has variants, for its spec.type; NULL type: the general one). */
static const struct kind_rule *find_rule(struct gh_str kind, const char *spec_type)
{
    for (size_t i = 0; i < GH_ARRAY_SIZE(kinds); i++) {
        const struct kind_rule *k = &kinds[i];
        if (strlen(k->kind) != kind.len || strncasecmp(k->kind, kind.p, kind.len) != 0)
            continue;
        if (k->spec_type == NULL)
            return k;
        /* " a b " holds the word w when it holds " w " */
        size_t n = spec_type ? strlen(spec_type) : 0;
        for (const char *p = k->spec_type; n && (p = strstr(p, spec_type)) != NULL; p++)
            if (p > k->spec_type && p[-1] == ' ' && p[n] == ' ')
                return k;
    }
    return NULL;
}

static const struct kind_rule *find_kind(struct gh_str kind)
{
    return find_rule(kind, NULL);
}

int gh_catalog_known_kind(struct gh_str kind)
{
    return find_kind(kind) != NULL;
}

/* A map of string keys to string values, each key and value checked by its rule. */
static int check_string_map(const struct gh_json *e, const struct gh_json *m, const char *what,
                            int (*value_ok)(struct gh_str), struct gh_err *err)
{
    if (m == NULL)
        return 0;
    if (gh_json_type(m) != GH_JSON_OBJECT)
        return bad(e, what, err, "must be a mapping of strings to strings");
    void *it = NULL;
    const char *k;
    struct gh_json *v;
    while (gh_json_next(m, &it, &k, &v)) {
        if (!gh_catalog_valid_label_key((struct gh_str){k, strlen(k)}))
            return bad(e, what, err,
                       "key '%s' is not valid: [<dns-subdomain>/]<name>, the name 1-63 letters and digits "
                       "separated by '-', '_' or '.'",
                       k);
        if (gh_json_type(v) != GH_JSON_STRING)
            return bad(e, what, err, "the value of '%s' must be a string", k);
        if (value_ok && !value_ok(jstr(v)))
            return bad(e, what, err,
                       "the value of '%s' ('%s') is not valid: empty or 1-63 letters and digits "
                       "separated by '-', '_' or '.'",
                       k, jstr(v).p);
    }
    return 0;
}

static int check_metadata(const struct gh_json *e, const struct gh_json *md, struct gh_err *err)
{
    if (gh_json_type(md) != GH_JSON_OBJECT)
        return bad(e, "metadata", err, md ? "must be a mapping" : "is required");
    const struct gh_json *name = gh_json_get(md, "name");
    if (gh_json_type(name) != GH_JSON_STRING)
        return bad(e, "metadata.name", err, name ? "must be a string" : "is required");
    if (!gh_catalog_valid_name(jstr(name)))
        return bad(e, "metadata.name", err,
                   "'%s' is not a valid name: 1-63 letters and digits, separated by '-', '_' or '.'",
                   jstr(name).p);
    const struct gh_json *ns = gh_json_get(md, "namespace");
    if (ns && (gh_json_type(ns) != GH_JSON_STRING || !gh_catalog_valid_namespace(jstr(ns))))
        return bad(e, "metadata.namespace", err,
                   "must be a DNS label: 1-63 lower-case letters and digits, separated by single '-'");
    static const char *texts[] = {"title", "description"};
    for (size_t i = 0; i < GH_ARRAY_SIZE(texts); i++) {
        const struct gh_json *t = gh_json_get(md, texts[i]);
        if (t && gh_json_type(t) != GH_JSON_STRING)
            return bad(e, texts[i], err, "must be a string");
    }
    if (check_string_map(e, gh_json_get(md, "labels"), "metadata.labels", gh_catalog_valid_label_value,
                         err) ||
        check_string_map(e, gh_json_get(md, "annotations"), "metadata.annotations", NULL, err))
        return GH_EINVAL;
    const struct gh_json *tags = gh_json_get(md, "tags");
    if (tags) {
        if (gh_json_type(tags) != GH_JSON_ARRAY)
            return bad(e, "metadata.tags", err, "must be a list of strings");
        for (size_t i = 0; i < gh_json_size(tags); i++) {
            const struct gh_json *t = gh_json_at(tags, i);
            if (gh_json_type(t) != GH_JSON_STRING || !gh_catalog_valid_tag(jstr(t)))
                return bad(e, "metadata.tags", err,
                           "item %zu ('%s') is not a valid tag: 1-63 of [a-z0-9:+#], separated by single '-'",
                           i, jstr(t).p);
        }
    }
    const struct gh_json *links = gh_json_get(md, "links");
    if (links) {
        if (gh_json_type(links) != GH_JSON_ARRAY)
            return bad(e, "metadata.links", err, "must be a list");
        for (size_t i = 0; i < gh_json_size(links); i++) {
            const struct gh_json *l = gh_json_at(links, i);
            char f[48];
            snprintf(f, sizeof(f), "metadata.links[%zu]", i);
            if (gh_json_type(l) != GH_JSON_OBJECT)
                return bad(e, f, err, "must be a mapping with a url");
            const struct gh_json *url = gh_json_get(l, "url");
            if (gh_json_type(url) != GH_JSON_STRING || jstr(url).len == 0)
                return bad(e, f, err, "url is required and must be a non-empty string");
            static const char *opt[] = {"title", "icon", "type"};
            for (size_t k = 0; k < GH_ARRAY_SIZE(opt); k++) {
                const struct gh_json *v = gh_json_get(l, opt[k]);
                if (v && (gh_json_type(v) != GH_JSON_STRING || jstr(v).len == 0))
                    return bad(e, f, err, "%s must be a non-empty string", opt[k]);
            }
        }
    }
    return 0;
}

static int check_spec(const struct gh_json *e, const struct kind_rule *k, const struct gh_json *spec,
                      struct gh_err *err)
{
    if (k == NULL) /* a kind without built-in rules: the envelope is all we check */
        return spec && gh_json_type(spec) != GH_JSON_OBJECT ? bad(e, "spec", err, "must be a mapping") : 0;
    if (gh_json_type(spec) != GH_JSON_OBJECT)
        return bad(e, "spec", err, spec ? "must be a mapping" : "is required for kind %s", k->kind);
    for (const struct field *f = k->fields; f->name; f++) {
        const struct gh_json *v = gh_json_get(spec, f->name);
        char path[64];
        snprintf(path, sizeof(path), "spec.%s", f->name);
        if (v == NULL) {
            if (f->required)
                return bad(e, path, err, "is required for kind %s", k->kind);
            continue;
        }
        switch (f->type) {
        case F_STR:
            if (gh_json_type(v) != GH_JSON_STRING || jstr(v).len == 0)
                return bad(e, path, err, "must be a non-empty string");
            break;
        case F_STRS:
            if (gh_json_type(v) != GH_JSON_ARRAY)
                return bad(e, path, err, "must be a list of strings");
            for (size_t i = 0; i < gh_json_size(v); i++) {
                const struct gh_json *s = gh_json_at(v, i);
                if (gh_json_type(s) != GH_JSON_STRING || jstr(s).len == 0)
                    return bad(e, path, err, "item %zu must be a non-empty string", i);
            }
            break;
        case F_OBJ:
            if (gh_json_type(v) != GH_JSON_OBJECT)
                return bad(e, path, err, "must be a mapping");
            break;
        case F_REMOTES:
            if (gh_json_type(v) != GH_JSON_ARRAY || gh_json_size(v) == 0)
                return bad(e, path, err, "must be a non-empty list of {type, url}");
            for (size_t i = 0; i < gh_json_size(v); i++) {
                const struct gh_json *r = gh_json_at(v, i);
                if (gh_json_type(r) != GH_JSON_OBJECT || jstr(gh_json_get(r, "type")).len == 0 ||
                    jstr(gh_json_get(r, "url")).len == 0)
                    return bad(e, path, err, "item %zu must have a non-empty type and url", i);
            }
            break;
        }
    }
    return 0;
}

/* Every reference a relation rule reads must parse, or the entity is refused (Backstage does too). */
static int check_refs(const struct gh_json *e, const struct gh_entity_ref *self, struct gh_err *err)
{
    const struct gh_json *spec = gh_json_get(e, "spec");
    struct gh_str kind = {self->kind, strlen(self->kind)};
    for (size_t i = 0; i < GH_ARRAY_SIZE(rels); i++) {
        const struct rel_rule *r = &rels[i];
        if (strlen(r->kind) != kind.len || strncasecmp(r->kind, kind.p, kind.len) != 0)
            continue;
        const struct gh_json *v = gh_json_get(spec, r->field);
        size_t n = gh_json_type(v) == GH_JSON_ARRAY ? gh_json_size(v) : v != NULL;
        for (size_t j = 0; j < n; j++) {
            const struct gh_json *s = gh_json_type(v) == GH_JSON_ARRAY ? gh_json_at(v, j) : v;
            struct gh_entity_ref to;
            struct gh_err why = {{0}};
            if (gh_catalog_parse_ref(jstr(s), r->default_kind, self->ns, &to, &why) != 0) {
                char path[64];
                snprintf(path, sizeof(path), "spec.%s", r->field);
                return bad(e, path, err, "%s", why.msg);
            }
        }
    }
    return 0;
}

int gh_entity_check(struct gh_json *e, struct gh_entity_ref *out, struct gh_err *err)
{
    if (gh_json_type(e) != GH_JSON_OBJECT)
        return gh_err_set(err, GH_EINVAL,
                          "entity: must be a mapping with apiVersion, kind, metadata and spec");
    const struct gh_json *av = gh_json_get(e, "apiVersion"), *kind = gh_json_get(e, "kind");
    if (gh_json_type(av) != GH_JSON_STRING)
        return bad(e, "apiVersion", err, av ? "must be a string" : "is required");
    if (!gh_catalog_valid_api_version(jstr(av)))
        return bad(e, "apiVersion", err, "'%s' is not of the form [<dns-subdomain>/]<version>", jstr(av).p);
    if (gh_json_type(kind) != GH_JSON_STRING)
        return bad(e, "kind", err, kind ? "must be a string" : "is required");
    if (!gh_catalog_valid_kind(jstr(kind)))
        return bad(e, "kind", err, "'%s' is not valid: 1-63 letters and digits, starting with a letter",
                   jstr(kind).p);
    const struct gh_json *spec_type = gh_json_get(gh_json_get(e, "spec"), "type");
    const struct kind_rule *k = find_rule(jstr(kind), gh_json_str(spec_type, NULL));
    if (k && strcmp(jstr(av).p, "backstage.io/v1alpha1") != 0 &&
        strcmp(jstr(av).p, "backstage.io/v1beta1") != 0)
        return bad(e, "apiVersion", err,
                   "kind %s needs backstage.io/v1alpha1 or backstage.io/v1beta1, not '%s'", k->kind,
                   jstr(av).p);
    struct gh_json *md = gh_json_get(e, "metadata");
    if (check_metadata(e, md, err) || check_spec(e, k, gh_json_get(e, "spec"), err))
        return GH_EINVAL;
    void *it = NULL;
    const char *key;
    struct gh_json *v;
    while (gh_json_next(e, &it, &key, &v))
        if (strcmp(key, "apiVersion") != 0 && strcmp(key, "kind") != 0 && strcmp(key, "metadata") != 0 &&
            strcmp(key, "spec") != 0 && strcmp(key, "relations") != 0 && strcmp(key, "status") != 0)
            return bad(e, key, err, "is not a field of an entity (apiVersion, kind, metadata, spec)");

    struct gh_entity_ref ref;
    snprintf(ref.kind, sizeof(ref.kind), "%s", k ? k->kind : jstr(kind).p);
    const struct gh_json *ns = gh_json_get(md, "namespace");
    snprintf(ref.ns, sizeof(ref.ns), "%s", ns ? jstr(ns).p : "default");
    snprintf(ref.name, sizeof(ref.name), "%s", jstr(gh_json_get(md, "name")).p);
    if (check_refs(e, &ref, err))
        return GH_EINVAL;
    /* what the catalog computes is never taken from the input */
    gh_json_del(e, "relations");
    gh_json_del(e, "status");
    static const char *computed[] = {"uid", "etag", "generation"};
    for (size_t i = 0; i < GH_ARRAY_SIZE(computed); i++)
        gh_json_del(md, computed[i]);
    if (ns == NULL)
        gh_json_set(md, "namespace", gh_json_string("default", 7));
    if (out)
        *out = ref;
    return 0;
}

int gh_entity_relations(const struct gh_json *e, gh_relation_fn fn, void *ctx)
{
    const struct gh_json *md = gh_json_get(e, "metadata"), *spec = gh_json_get(e, "spec");
    struct gh_entity_ref self;
    struct gh_err err = {{0}};
    struct gh_str kind = jstr(gh_json_get(e, "kind"));
    snprintf(self.kind, sizeof(self.kind), "%.*s", (int)kind.len, kind.p);
    snprintf(self.ns, sizeof(self.ns), "%s",
             jstr(gh_json_get(md, "namespace")).len ? jstr(gh_json_get(md, "namespace")).p : "default");
    snprintf(self.name, sizeof(self.name), "%s", jstr(gh_json_get(md, "name")).p);
    char from[GH_ENTITY_REF_MAX], to_s[GH_ENTITY_REF_MAX];
    gh_catalog_ref_string(&self, from, sizeof(from));
    for (size_t i = 0; i < GH_ARRAY_SIZE(rels); i++) {
        const struct rel_rule *r = &rels[i];
        if (strlen(r->kind) != kind.len || strncasecmp(r->kind, kind.p, kind.len) != 0)
            continue;
        const struct gh_json *v = gh_json_get(spec, r->field);
        size_t n = gh_json_type(v) == GH_JSON_ARRAY ? gh_json_size(v) : v != NULL;
        for (size_t j = 0; j < n; j++) {
            const struct gh_json *s = gh_json_type(v) == GH_JSON_ARRAY ? gh_json_at(v, j) : v;
            struct gh_entity_ref to;
            if (gh_catalog_parse_ref(jstr(s), r->default_kind, self.ns, &to, &err) != 0)
                continue; /* gh_entity_check refused such entities */
            gh_catalog_ref_string(&to, to_s, sizeof(to_s));
            int rc = fn(ctx, from, r->type, to_s);
            if (rc == 0)
                rc = fn(ctx, to_s, r->reverse, from);
            if (rc)
                return rc;
        }
    }
    return 0;
}
