/*
 * ingest.c: file locations into batches. See ingest.h.
 */
#include "ingest.h"

#include "../base/child.h"
#include "../base/json.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_FILE_BYTES ((size_t)16 << 20)
#define MAX_DEPTH 16 /* Location entities pointing at Location entities ... */
#define MAX_FILES 100000

/* An OpenAPI document met on the way: registered at the end, unless it turned out to be some API
 * entity's definition ($text of a file the walk also listed, as a folder location does). */
struct pending_openapi {
    char *file;
    int line;
    struct gh_json *doc;
    char *text;
};

struct pending_file {
    char *real, *from_source, *text;
    size_t len;
    int depth;
};

struct pending_def {
    size_t item;
    const char *text; /* the entity's spec.definition, alive with the batch */
    size_t len;
    char *file;
};

struct walk {
    const struct gh_ingest_opts *o;
    struct gh_catalog_batch *b;
    const char *root; /* "file:<path>" of the location itself, for managed-by-origin-location */
    char **visited;
    size_t nvisited;
    size_t files, parsed;
    char **placeholder_files; /* resolved paths placeholders read */
    size_t nplaceholder;
    struct pending_openapi *openapi;
    size_t nopenapi;
    /* files read and waiting to be parsed (together, in one child): one round per level of Location
     * entities */
    struct pending_file *pending;
    size_t npending;
    /* API definitions whose operations are to be indexed: batch item and its text */
    struct pending_def *defs;
    size_t ndefs;
};

static const char *jtext(const struct gh_json *j)
{
    const char *s = gh_json_str(j, NULL);
    return s ? s : "";
}

static int inside(const struct gh_ingest_opts *o, const char *real)
{
    for (size_t i = 0; i < o->nallowed; i++) {
        size_t n = strlen(o->allowed_dirs[i]);
        if (strncmp(real, o->allowed_dirs[i], n) == 0 &&
            (real[n] == '/' || real[n] == '\0' || (n == 1 && o->allowed_dirs[i][0] == '/')))
            return 1;
    }
    return 0;
}

static int has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

char *gh_catalog_target_dir(const char *target, struct gh_err *err)
{
    struct stat st;
    if (!has_glob(target) && stat(target, &st) == 0 && S_ISDIR(st.st_mode))
        return realpath(target, NULL);
    char *copy = gh_strdup(target);
    char *g = strpbrk(copy, "*?[");
    if (g)
        *g = '\0';
    char *slash = strrchr(copy, '/');
    if (slash == copy)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(copy, strlen(target) + 1, "%s", strlen(target) ? "." : "");
    char *real = realpath(copy, NULL);
    if (real == NULL)
        gh_err_set(err, GH_EINVAL, "%s: directory '%s' cannot be used: %s", target, copy, strerror(errno));
    free(copy);
    return real;
}

/* "dir of from" + rel, or rel when absolute */
static char *relative_to(const char *from_file, const char *rel)
{
    if (rel[0] == '/')
        return gh_strdup(rel);
    const char *slash = strrchr(from_file, '/');
    size_t dn = slash ? (size_t)(slash - from_file) : 1;
    char *out = gh_malloc(dn + strlen(rel) + 2);
    snprintf(out, dn + strlen(rel) + 2, "%.*s/%s", (int)dn, slash ? from_file : ".", rel);
    return out;
}

static int is_url(const char *s)
{
    const char *c = strstr(s, "://");
    if (c == NULL || c == s)
        return 0;
    for (const char *p = s; p < c; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '+' ||
              *p == '-' || *p == '.'))
            return 0;
    return 1;
}

/* Best-effort canonical ref of an unchecked document, so an invalid entity keeps its stored version. */
static void doc_ref(const struct gh_json *doc, char *out, size_t cap)
{
    out[0] = '\0';
    const struct gh_json *md = gh_json_get(doc, "metadata");
    char text[300];
    const char *ns = jtext(gh_json_get(md, "namespace"));
    snprintf(text, sizeof(text), "%s:%s/%s", jtext(gh_json_get(doc, "kind")), ns[0] ? ns : "default",
             jtext(gh_json_get(md, "name")));
    struct gh_entity_ref r;
    if (gh_catalog_parse_ref((struct gh_str){text, strlen(text)}, NULL, NULL, &r, NULL) == 0)
        gh_catalog_ref_string(&r, out, cap);
}

static void error(struct walk *w, const char *source, const struct gh_json *doc, const char *msg)
{
    char ref[GH_ENTITY_REF_MAX] = "";
    if (doc)
        doc_ref(doc, ref, sizeof(ref));
    gh_catalog_batch_error(w->b, source, ref[0] ? ref : NULL, msg);
}

/* Parses a file's bytes: JSON by extension, else YAML (in a child: the bytes are not ours). */
static struct gh_json *parse_stream(const char *path, const char *text, size_t len, struct gh_err *err)
{
    size_t pl = strlen(path);
    if (pl > 5 && strcasecmp(path + pl - 5, ".json") == 0) {
        struct gh_json *doc = gh_json_parse(text, len, err);
        if (doc == NULL) {
            char why[sizeof(err->msg)];
            snprintf(why, sizeof(why), "%s", err->msg);
            gh_err_set(err, GH_EINVAL, "%s: invalid JSON: %s", path, why);
            return NULL;
        }
        struct gh_json *arr = gh_json_array(), *item = gh_json_object();
        gh_json_set(item, "line", gh_json_int(1));
        gh_json_set(item, "doc", doc);
        gh_json_append(arr, item);
        return arr;
    }
    return gh_yaml_stream_json_isolated(path, text, len, err);
}

/* Reads a placeholder's file: resolved against the entity's file, inside the allowed directories. */
static int read_placeholder(struct walk *w, const char *file, const char *kind, const char *target,
                            struct gh_json **out, struct gh_err *err)
{
    if (is_url(target))
        return gh_err_set(err, GH_EINVAL,
                          "%s: '%s' is a remote URL; Gatehouse reads placeholders from local files only",
                          kind, target);
    char *path = relative_to(file, target);
    char *real = realpath(path, NULL);
    if (real == NULL) {
        int rc = gh_err_set(err, GH_EINVAL, "%s: cannot read '%s': %s", kind, path, strerror(errno));
        free(path);
        return rc;
    }
    free(path);
    if (!inside(w->o, real)) {
        int rc = gh_err_set(err, GH_EINVAL, "%s: '%s' is outside the directories this location may read",
                            kind, target);
        free(real);
        return rc;
    }
    char *text;
    size_t len;
    int rc = gh_read_file(real, MAX_FILE_BYTES, &text, &len, err);
    if (rc) {
        free(real);
        return rc;
    }
    w->placeholder_files = gh_realloc(w->placeholder_files, (w->nplaceholder + 1) * sizeof(char *));
    w->placeholder_files[w->nplaceholder++] = gh_strdup(real);
    if (strcmp(kind, "$text") == 0) {
        *out = gh_json_string(text, len);
        if (*out == NULL)
            rc = gh_err_set(err, GH_EINVAL, "$text: '%s' is not UTF-8 text", target);
    } else if (strcmp(kind, "$json") == 0) {
        struct gh_err why = {{0}};
        *out = gh_json_parse(text, len, &why);
        if (*out == NULL)
            rc = gh_err_set(err, GH_EINVAL, "$json: '%s' is not valid JSON: %s", target, why.msg);
    } else {
        struct gh_json *docs = gh_yaml_stream_json_isolated(real, text, len, err);
        if (docs == NULL)
            rc = GH_EINVAL;
        else
            *out =
                gh_json_size(docs) ? gh_json_copy(gh_json_get(gh_json_at(docs, 0), "doc")) : gh_json_null();
        gh_json_unref(docs);
    }
    free(text);
    free(real);
    return rc;
}

/* Replaces every {"$text"|"$json"|"$yaml": path} member value in place. */
static int placeholders(struct walk *w, const char *file, struct gh_json *node, int depth, struct gh_err *err)
{
    if (depth > 64)
        return 0;
    if (gh_json_type(node) == GH_JSON_ARRAY) {
        for (size_t i = 0; i < gh_json_size(node); i++)
            if (placeholders(w, file, gh_json_at(node, i), depth + 1, err))
                return GH_EINVAL;
        return 0;
    }
    if (gh_json_type(node) != GH_JSON_OBJECT)
        return 0;
    void *it = NULL;
    const char *key;
    struct gh_json *v;
    while (gh_json_next(node, &it, &key, &v)) {
        if (gh_json_type(v) == GH_JSON_OBJECT && gh_json_size(v) == 1) {
            void *it2 = NULL;
            const char *k2;
            struct gh_json *target;
            gh_json_next(v, &it2, &k2, &target);
            if (k2[0] == '$') {
                if (strcmp(k2, "$text") != 0 && strcmp(k2, "$json") != 0 && strcmp(k2, "$yaml") != 0)
                    return gh_err_set(err, GH_EINVAL, "%s: unknown placeholder '%s' ($text, $json, $yaml)",
                                      key, k2);
                if (gh_json_type(target) != GH_JSON_STRING)
                    return gh_err_set(err, GH_EINVAL, "%s: %s must name a file", key, k2);
                struct gh_json *val = NULL;
                struct gh_err why = {{0}};
                if (read_placeholder(w, file, k2, jtext(target), &val, &why) != 0)
                    return gh_err_set(err, GH_EINVAL, "%s: %s", key, why.msg);
                gh_json_set(node, key, val); /* replacing an existing key keeps the iteration valid */
                continue;
            }
        }
        if (placeholders(w, file, v, depth + 1, err))
            return GH_EINVAL;
    }
    return 0;
}

static void annotate(struct gh_json *e, const char *file, const char *root)
{
    struct gh_json *md = gh_json_get(e, "metadata");
    struct gh_json *ann = gh_json_get(md, "annotations");
    if (gh_json_type(ann) != GH_JSON_OBJECT) {
        ann = gh_json_object();
        gh_json_set(md, "annotations", ann);
    }
    char loc[PATH_MAX + 8];
    snprintf(loc, sizeof(loc), "file:%s", file);
    gh_json_set(ann, "backstage.io/managed-by-location", gh_json_string(loc, strlen(loc)));
    gh_json_set(ann, "backstage.io/managed-by-origin-location", gh_json_string(root, strlen(root)));
}

static void ingest_target(struct walk *w, const char *from_source, const char *pattern, int depth);
static void ingest_path(struct walk *w, const char *from_source, const char *path, int depth);

/* An API whose definition is OpenAPI: its operations are indexed once every file is read (all such
 * definitions parsed together). A definition without "paths" has no operations to index. */
static void want_operations(struct walk *w, const struct gh_json *e, const char *file)
{
    const struct gh_json *spec = gh_json_get(e, "spec");
    if (strcasecmp(jtext(gh_json_get(e, "kind")), "API") != 0 ||
        strcasecmp(jtext(gh_json_get(spec, "type")), "openapi") != 0)
        return;
    size_t len = 0;
    const char *def = gh_json_str(gh_json_get(spec, "definition"), &len);
    if (def == NULL || strstr(def, "paths") == NULL)
        return;
    w->defs = gh_realloc(w->defs, (w->ndefs + 1) * sizeof(*w->defs));
    w->defs[w->ndefs++] = (struct pending_def){gh_catalog_batch_count(w->b), def, len, gh_strdup(file)};
}

static void index_operations(struct walk *w)
{
    const char **names = gh_malloc((w->ndefs + 1) * sizeof(char *)),
               **texts = gh_malloc((w->ndefs + 1) * sizeof(char *));
    size_t *lens = gh_malloc((w->ndefs + 1) * sizeof(size_t)),
           *which = gh_malloc((w->ndefs + 1) * sizeof(size_t));
    size_t n = 0;
    for (size_t i = 0; i < w->ndefs; i++) {
        struct pending_def *d = &w->defs[i];
        const char *p = d->text;
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            p++;
        if (*p == '{') {
            struct gh_json *doc = gh_json_parse(d->text, d->len, NULL);
            if (doc)
                gh_catalog_batch_set_operations(w->b, d->item, gh_openapi_operations(doc));
            gh_json_unref(doc);
            continue;
        }
        names[n] = d->file;
        texts[n] = d->text;
        lens[n] = d->len;
        which[n++] = i;
    }
    struct gh_json *res = n ? gh_yaml_many_json_isolated(names, texts, lens, n) : NULL;
    for (size_t k = 0; k < n; k++) {
        const struct gh_json *docs = gh_json_at(res, k);
        if (gh_json_type(docs) == GH_JSON_ARRAY && gh_json_size(docs))
            gh_catalog_batch_set_operations(w->b, w->defs[which[k]].item,
                                            gh_openapi_operations(gh_json_get(gh_json_at(docs, 0), "doc")));
    }
    gh_json_unref(res);
    for (size_t i = 0; i < w->ndefs; i++)
        free(w->defs[i].file);
    free(w->defs);
    w->defs = NULL;
    w->ndefs = 0;
    free(names);
    free(texts);
    free(lens);
    free(which);
}

static void ingest_doc(struct walk *w, const char *file, int line, struct gh_json *doc, const char *text,
                       size_t textlen, int depth)
{
    char source[PATH_MAX + 32];
    snprintf(source, sizeof(source), "%s:%d", file, line);
    struct gh_err err = {{0}};
    if (gh_json_type(doc) != GH_JSON_OBJECT) {
        error(w, source, NULL,
              "the document is not a mapping (an entity has apiVersion, kind, metadata, spec)");
        return;
    }
    struct gh_json *e = NULL, *ops = NULL;
    if (gh_openapi_is_document(doc) && depth >= 0) {
        w->openapi = gh_realloc(w->openapi, (w->nopenapi + 1) * sizeof(*w->openapi));
        struct pending_openapi *p = &w->openapi[w->nopenapi++];
        p->file = gh_strdup(file);
        p->line = line;
        p->doc = gh_json_ref(doc);
        p->text = gh_malloc(textlen + 1);
        memcpy(p->text, text, textlen);
        p->text[textlen] = '\0';
        return;
    }
    if (gh_openapi_is_document(doc)) {
        ops = gh_openapi_operations(doc);
        e = gh_openapi_entity(doc, text, w->o->default_owner, &err);
        if (e == NULL) {
            error(w, source, NULL, err.msg);
            gh_json_unref(ops);
            return;
        }
    } else {
        e = gh_json_ref(doc);
        if (placeholders(w, file, e, 0, &err) != 0) {
            char msg[sizeof(err.msg) + 300], ref[GH_ENTITY_REF_MAX] = "";
            doc_ref(e, ref, sizeof(ref));
            snprintf(msg, sizeof(msg), "%s: %s", ref[0] ? ref : "entity", err.msg);
            error(w, source, e, msg);
            gh_json_unref(e);
            return;
        }
    }
    struct gh_entity_ref ref;
    if (gh_entity_check(e, &ref, &err) != 0) {
        error(w, source, e, err.msg);
        gh_json_unref(e);
        gh_json_unref(ops);
        return;
    }
    annotate(e, file, w->root);
    if (w->o->enrich)
        w->o->enrich(w->o->enrich_ctx, e);
    if (strcasecmp(ref.kind, "Location") == 0) {
        const struct gh_json *spec = gh_json_get(e, "spec");
        const char *type = jtext(gh_json_get(spec, "type"));
        if (type[0] && strcmp(type, "file") != 0) {
            char msg[400];
            snprintf(msg, sizeof(msg),
                     "location:%s/%s: spec.type: '%s' locations are not read (only 'file': "
                     "Gatehouse does not fetch remote catalogs)",
                     ref.ns, ref.name, type);
            error(w, source, NULL, msg);
        } else {
            const struct gh_json *t = gh_json_get(spec, "target"), *ts = gh_json_get(spec, "targets");
            if (t)
                ingest_target(w, source, jtext(t), depth + 1);
            for (size_t i = 0; i < gh_json_size(ts); i++)
                ingest_target(w, source, jtext(gh_json_at(ts, i)), depth + 1);
        }
    }
    if (ops == NULL)
        want_operations(w, e, file);
    gh_catalog_batch_add(w->b, e, &ref, source, ops);
}

static void ingest_path(struct walk *w, const char *from_source, const char *path, int depth)
{
    char msg[PATH_MAX + 200];
    char *real = realpath(path, NULL);
    if (real == NULL) {
        gh_catalog_batch_watch(w->b, path); /* so its appearance is noticed */
        snprintf(msg, sizeof(msg), "cannot read '%s': %s", path, strerror(errno));
        gh_catalog_batch_error(w->b, from_source, NULL, msg);
        gh_catalog_batch_keep_file(w->b, path);
        return;
    }
    if (!inside(w->o, real)) {
        snprintf(msg, sizeof(msg), "'%s' is outside the directories this location may read", path);
        gh_catalog_batch_error(w->b, from_source, NULL, msg);
        free(real);
        return;
    }
    for (size_t i = 0; i < w->nvisited; i++)
        if (strcmp(w->visited[i], real) == 0) {
            free(real); /* reached twice (or a cycle of Location entities): read once */
            return;
        }
    if (w->files >= MAX_FILES) {
        snprintf(msg, sizeof(msg), "'%s' not read: a location may reach at most %d files", path, MAX_FILES);
        gh_catalog_batch_error(w->b, from_source, NULL, msg);
        free(real);
        return;
    }
    w->visited = gh_realloc(w->visited, (w->nvisited + 1) * sizeof(char *));
    w->visited[w->nvisited++] = real;
    gh_catalog_batch_watch(w->b, real);
    w->files++;
    char *text;
    size_t len;
    struct gh_err err = {{0}};
    if (gh_read_file(real, MAX_FILE_BYTES, &text, &len, &err) != 0) {
        gh_catalog_batch_error(w->b, real, NULL, err.msg);
        gh_catalog_batch_keep_file(w->b, real);
        return;
    }
    w->pending = gh_realloc(w->pending, (w->npending + 1) * sizeof(*w->pending));
    w->pending[w->npending++] =
        (struct pending_file){gh_strdup(real), gh_strdup(from_source), text, len, depth};
}

static int is_json_name(const char *path)
{
    size_t pl = strlen(path);
    return pl > 5 && strcasecmp(path + pl - 5, ".json") == 0;
}

/* One parsed (or failed) file: its documents, in order. */
static void ingest_parsed(struct walk *w, const struct pending_file *f, struct gh_json *docs, const char *why)
{
    const char *real = f->real;
    const char *text = f->text;
    size_t len = f->len;
    int depth = f->depth;
    if (docs == NULL) {
        struct gh_err err = {{0}};
        snprintf(err.msg, sizeof(err.msg), "%s", why);
        /* "path:line: why" becomes source "path:line" and message "why" */
        size_t rl = strlen(real);
        const char *m = err.msg, *rest = NULL;
        if (strncmp(m, real, rl) == 0 && m[rl] == ':') {
            const char *d = m + rl + 1;
            while (*d >= '0' && *d <= '9')
                d++;
            if (d > m + rl + 1 && d[0] == ':' && d[1] == ' ')
                rest = d + 2;
            else if (d == m + rl + 1 && d[0] == ' ')
                rest = d + 1;
        }
        if (rest) {
            char src[PATH_MAX + 32];
            snprintf(src, sizeof(src), "%.*s", (int)(rest - 2 - m), m);
            gh_catalog_batch_error(w->b, src, NULL, rest);
        } else {
            gh_catalog_batch_error(w->b, real, NULL, err.msg);
        }
        gh_catalog_batch_keep_file(w->b, real);
        return;
    }
    for (size_t i = 0; i < gh_json_size(docs); i++) {
        const struct gh_json *item = gh_json_at(docs, i);
        ingest_doc(w, real, (int)gh_json_int_value(gh_json_get(item, "line")), gh_json_get(item, "doc"), text,
                   len, depth);
    }
}

/* Parses every file waiting, YAML ones together in one child, and takes in their documents, which
 * may queue more files (Location entities): then another round. */
static void flush(struct walk *w)
{
    while (w->npending) {
        struct pending_file *files = w->pending;
        size_t n = w->npending;
        w->pending = NULL;
        w->npending = 0;
        const char **names = gh_malloc(n * sizeof(char *)), **texts = gh_malloc(n * sizeof(char *));
        size_t *lens = gh_malloc(n * sizeof(size_t)), m = 0;
        for (size_t i = 0; i < n; i++)
            if (!is_json_name(files[i].real)) {
                names[m] = files[i].real;
                texts[m] = files[i].text;
                lens[m++] = files[i].len;
            }
        struct gh_json *yaml = m ? gh_yaml_many_json_isolated(names, texts, lens, m) : NULL;
        for (size_t i = 0, k = 0; i < n; i++) {
            struct pending_file *f = &files[i];
            struct gh_err err = {{0}};
            struct gh_json *docs = NULL;
            if (is_json_name(f->real)) {
                docs = parse_stream(f->real, f->text, f->len, &err);
            } else {
                const struct gh_json *r = gh_json_at(yaml, k++);
                if (gh_json_type(r) == GH_JSON_ARRAY)
                    docs = gh_json_ref((struct gh_json *)r);
                else
                    snprintf(err.msg, sizeof(err.msg), "%s", jtext(r));
            }
            ingest_parsed(w, f, docs, err.msg);
            gh_json_unref(docs);
            if (w->o->progress)
                w->o->progress(w->o->progress_ctx, ++w->parsed);
        }
        gh_json_unref(yaml);
        for (size_t i = 0; i < n; i++) {
            free(files[i].real);
            free(files[i].from_source);
            free(files[i].text);
        }
        free(files);
        free(names);
        free(texts);
        free(lens);
    }
}

static int catalog_file_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' &&
           ((n > 5 && strcmp(name + n - 5, ".yaml") == 0) || (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
            (n > 5 && strcmp(name + n - 5, ".json") == 0));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory: every *.yaml, *.yml and *.json below it (not hidden ones), in name order. */
static void ingest_dir(struct walk *w, const char *from_source, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        char msg[PATH_MAX + 200];
        snprintf(msg, sizeof(msg), "cannot list '%s': %s", dir, strerror(errno));
        gh_catalog_batch_error(w->b, from_source, NULL, msg);
        return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        names = gh_realloc(names, (n + 1) * sizeof(char *));
        names[n++] = gh_strdup(de->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(char *), cmp_str);
    gh_catalog_batch_watch(w->b, dir);
    for (size_t i = 0; i < n; i++) {
        struct gh_buf p = {0};
        gh_buf_addf(&p, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(p.p, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (depth < MAX_DEPTH)
                ingest_dir(w, from_source, p.p, depth + 1);
        } else if (catalog_file_name(names[i])) {
            ingest_path(w, from_source, p.p, depth);
        }
        gh_buf_free(&p);
        free(names[i]);
    }
    free(names);
}

static void ingest_target(struct walk *w, const char *from_source, const char *pattern, int depth)
{
    char msg[PATH_MAX + 200];
    if (depth > MAX_DEPTH) {
        snprintf(msg, sizeof(msg), "'%s' not read: Location entities nest deeper than %d", pattern,
                 MAX_DEPTH);
        gh_catalog_batch_error(w->b, from_source, NULL, msg);
        return;
    }
    if (is_url(pattern)) {
        snprintf(msg, sizeof(msg), "'%s' not read: a remote URL (Gatehouse reads local files only)", pattern);
        gh_catalog_batch_error(w->b, from_source, NULL, msg);
        return;
    }
    char *path = from_source ? relative_to(from_source, pattern) : gh_strdup(pattern);
    struct stat st;
    if (!has_glob(path) && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        ingest_dir(w, from_source ? from_source : path, path, depth);
        free(path);
        return;
    }
    if (!has_glob(path)) {
        ingest_path(w, from_source ? from_source : path, path, depth);
        free(path);
        return;
    }
    glob_t g;
    struct gh_buf watch = {0};
    gh_buf_addf(&watch, "glob:%s", path);
    gh_catalog_batch_watch(w->b, watch.p);
    gh_buf_free(&watch);
    int rc = glob(path, GLOB_ERR, NULL, &g);
    if (rc == 0)
        for (size_t i = 0; i < g.gl_pathc; i++)
            ingest_path(w, from_source ? from_source : path, g.gl_pathv[i], depth);
    else if (rc != GLOB_NOMATCH) {
        snprintf(msg, sizeof(msg), "'%s': cannot list the files it names", path);
        gh_catalog_batch_error(w->b, from_source ? from_source : path, NULL, msg);
    }
    if (rc == 0 || rc == GLOB_NOMATCH)
        globfree(&g);
    free(path);
}

size_t gh_catalog_ingest_file(const char *target, const struct gh_ingest_opts *o, struct gh_catalog_batch *b)
{
    char root[PATH_MAX + 8];
    char *real = has_glob(target) ? NULL : realpath(target, NULL);
    snprintf(root, sizeof(root), "file:%s", real ? real : target);
    free(real);
    struct walk w = {o, b, root, NULL, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
    ingest_target(&w, NULL, target, 0);
    flush(&w);
    for (size_t i = 0; i < w.nopenapi; i++) {
        struct pending_openapi *p = &w.openapi[i];
        int used = 0;
        for (size_t k = 0; k < w.nplaceholder && !used; k++)
            used = strcmp(w.placeholder_files[k], p->file) == 0;
        if (!used) /* depth -1: register it now */
            ingest_doc(&w, p->file, p->line, p->doc, p->text, strlen(p->text), -1);
        free(p->file);
        gh_json_unref(p->doc);
        free(p->text);
    }
    free(w.openapi);
    index_operations(&w);
    for (size_t i = 0; i < w.nplaceholder; i++)
        free(w.placeholder_files[i]);
    free(w.placeholder_files);
    for (size_t i = 0; i < w.nvisited; i++)
        free(w.visited[i]);
    free(w.visited);
    return w.files;
}

/* ---- OpenAPI ---- */

int gh_openapi_is_document(const struct gh_json *doc)
{
    const char *v = gh_json_str(gh_json_get(doc, "openapi"), NULL);
    return v && strncmp(v, "3.", 2) == 0 && gh_json_get(doc, "kind") == NULL;
}

/* A {"$ref": "#/a/b/c"} within the same document, followed once; anything else as it is. */
static const struct gh_json *local_ref(const struct gh_json *doc, const struct gh_json *v)
{
    const char *ref = gh_json_str(gh_json_get(v, "$ref"), NULL);
    if (ref == NULL || strncmp(ref, "#/", 2) != 0)
        return v;
    const struct gh_json *at = doc;
    char part[256];
    for (const char *p = ref + 2; at && *p;) {
        size_t n = strcspn(p, "/");
        if (n >= sizeof(part))
            return v;
        memcpy(part, p, n);
        part[n] = '\0';
        at = gh_json_get(at, part);
        p += n + (p[n] == '/');
    }
    return at ? at : v;
}

struct gh_json *gh_openapi_operations(const struct gh_json *doc)
{
    static const char *methods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
    struct gh_json *ops = gh_json_array();
    const struct gh_json *paths = gh_json_get(doc, "paths");
    void *it = NULL;
    const char *path;
    struct gh_json *item;
    while (gh_json_next(paths, &it, &path, &item)) {
        for (size_t m = 0; m < GH_ARRAY_SIZE(methods); m++) {
            const struct gh_json *op = gh_json_get(item, methods[m]);
            if (gh_json_type(op) != GH_JSON_OBJECT)
                continue;
            struct gh_json *o = gh_json_object();
            char upper[8];
            size_t k = 0;
            for (; methods[m][k]; k++)
                upper[k] = (char)(methods[m][k] - 32);
            upper[k] = '\0';
            gh_json_set(o, "method", gh_json_string(upper, k));
            gh_json_set(o, "path", gh_json_string(path, strlen(path)));
            const struct gh_json *summary = gh_json_get(op, "summary");
            if (summary == NULL)
                summary = gh_json_get(op, "operationId");
            if (gh_json_type(summary) == GH_JSON_STRING)
                gh_json_set(o, "summary", gh_json_copy(summary));
            struct gh_buf tags = {0};
            const struct gh_json *t = gh_json_get(op, "tags");
            for (size_t i = 0; i < gh_json_size(t); i++)
                if (gh_json_type(gh_json_at(t, i)) == GH_JSON_STRING)
                    gh_buf_addf(&tags, "%s%s", tags.len ? "," : "", jtext(gh_json_at(t, i)));
            if (tags.len)
                gh_json_set(o, "tags", gh_json_string(tags.p, tags.len));
            gh_buf_free(&tags);
            /* parameters, the path's and the operation's: "id (path, required), status (query)" */
            struct gh_buf params = {0};
            const struct gh_json *lists[2] = {gh_json_get(item, "parameters"), gh_json_get(op, "parameters")};
            for (size_t l = 0; l < 2; l++)
                for (size_t i = 0; i < gh_json_size(lists[l]); i++) {
                    const struct gh_json *pm = local_ref(doc, gh_json_at(lists[l], i));
                    const char *name = jtext(gh_json_get(pm, "name")), *in = jtext(gh_json_get(pm, "in"));
                    if (name[0] && params.len < 1000)
                        gh_buf_addf(&params, "%s%s (%s%s)", params.len ? ", " : "", name, in[0] ? in : "?",
                                    gh_json_bool_value(gh_json_get(pm, "required")) ? ", required" : "");
                }
            if (gh_json_get(op, "requestBody"))
                gh_buf_addf(&params, "%sbody", params.len ? ", " : "");
            if (params.len)
                gh_json_set(o, "params", gh_json_string(params.p, params.len));
            gh_buf_free(&params);
            gh_json_append(ops, o);
        }
    }
    return ops;
}

/* info.title as a valid entity name: letters and digits kept, runs of anything else one '-' */
static void slug(const char *title, char out[GH_ENTITY_PART_MAX])
{
    size_t n = 0;
    int dash = 0;
    for (const char *p = title; *p && n < GH_ENTITY_PART_MAX - 1; p++) {
        char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) {
            if (dash && n)
                out[n++] = '-';
            if (n < GH_ENTITY_PART_MAX - 1)
                out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            dash = 0;
        } else {
            dash = 1;
        }
    }
    out[n] = '\0';
}

struct gh_json *gh_openapi_entity(const struct gh_json *doc, const char *text, const char *default_owner,
                                  struct gh_err *err)
{
    const struct gh_json *info = gh_json_get(doc, "info");
    if (gh_json_type(info) != GH_JSON_OBJECT)
        return gh_err_set(err, GH_EINVAL, "OpenAPI document: info: is required"), NULL;
    char name[GH_ENTITY_PART_MAX];
    const char *explicit_name = gh_json_str(gh_json_get(info, "x-gatehouse-name"), NULL);
    if (explicit_name)
        snprintf(name, sizeof(name), "%s", explicit_name);
    else
        slug(jtext(gh_json_get(info, "title")), name);
    if (!gh_catalog_valid_name((struct gh_str){name, strlen(name)}))
        return gh_err_set(
                   err, GH_EINVAL,
                   "OpenAPI document: info.title gives no valid entity name; set info.x-gatehouse-name"),
               NULL;
    const char *owner = gh_json_str(gh_json_get(info, "x-owner"), NULL);
    if (owner == NULL)
        owner = default_owner;
    if (owner == NULL)
        return gh_err_set(
                   err, GH_EINVAL,
                   "api:default/%s: OpenAPI document has no owner: set info.x-owner, or the location's owner",
                   name),
               NULL;
    const char *lifecycle = gh_json_str(gh_json_get(info, "x-lifecycle"), NULL);
    struct gh_json *e = gh_json_object(), *md = gh_json_object(), *spec = gh_json_object();
    gh_json_set(e, "apiVersion", gh_json_string("backstage.io/v1alpha1", 21));
    gh_json_set(e, "kind", gh_json_string("API", 3));
    gh_json_set(md, "name", gh_json_string(name, strlen(name)));
    if (gh_json_type(gh_json_get(info, "title")) == GH_JSON_STRING)
        gh_json_set(md, "title", gh_json_copy(gh_json_get(info, "title")));
    if (gh_json_type(gh_json_get(info, "description")) == GH_JSON_STRING)
        gh_json_set(md, "description", gh_json_copy(gh_json_get(info, "description")));
    if (gh_json_type(gh_json_get(info, "version")) == GH_JSON_STRING) {
        struct gh_json *ann = gh_json_object();
        gh_json_set(ann, "gatehouse.dev/api-version", gh_json_copy(gh_json_get(info, "version")));
        gh_json_set(md, "annotations", ann);
    }
    gh_json_set(e, "metadata", md);
    gh_json_set(spec, "type", gh_json_string("openapi", 7));
    gh_json_set(
        spec, "lifecycle",
        gh_json_string(lifecycle ? lifecycle : "production", strlen(lifecycle ? lifecycle : "production")));
    gh_json_set(spec, "owner", gh_json_string(owner, strlen(owner)));
    if (gh_json_type(gh_json_get(info, "x-system")) == GH_JSON_STRING)
        gh_json_set(spec, "system", gh_json_copy(gh_json_get(info, "x-system")));
    struct gh_json *def = gh_json_string(text, strlen(text));
    if (def == NULL) {
        gh_json_unref(e);
        gh_json_unref(spec);
        return gh_err_set(err, GH_EINVAL, "OpenAPI document is not UTF-8 text"), NULL;
    }
    gh_json_set(spec, "definition", def);
    gh_json_set(e, "spec", spec);
    return e;
}
