/*
 * db.c: the catalog's tables (migration 2) and every statement that touches them. See db.h.
 */
#include "db.h"
#include "index.h"

#include "../base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEARCH_VALUE_MAX 200 /* longer values are kept as "key present" only, as Backstage does */

/* ---- small helpers ---- */

static void new_uuid(char out[37])
{
    unsigned char b[16];
    gh_random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void new_etag(char out[33])
{
    unsigned char b[16];
    gh_random_bytes(b, sizeof(b));
    for (size_t i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void now_text(char *buf, size_t cap)
{
    gh_time_rfc3339(gh_time_wall_ms(), buf, cap);
}

static char *lower(const char *s)
{
    char *d = gh_strdup(s);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    return d;
}

static struct gh_json *str_json(const char *s)
{
    return gh_json_string(s, strlen(s));
}

static struct gh_json *col_json(const struct gh_store_val *v)
{
    return v->type == GH_VAL_TEXT ? gh_json_string(v->p, v->len) : gh_json_null();
}

static int on_count(void *ctx, const struct gh_store_val *c, size_t n)
{
    if (n >= 1 && c[0].type == GH_VAL_INT)
        *(int64_t *)ctx = c[0].i;
    return 0;
}

/* Every catalog change moves the generation, inside the change's own transaction (portable upsert). */
static int bump_generation(struct gh_store *s, struct gh_err *err)
{
    return gh_store_exec(
        s,
        "INSERT INTO gh_meta (key, value) VALUES ('catalog_generation', '1') "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(gh_meta.value AS INTEGER) + 1 AS TEXT)",
        NULL, 0, NULL, NULL, err);
}

/* ---- locations ---- */

struct text_out {
    char *buf;
    size_t cap;
    int found;
};

static int on_text(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct text_out *t = ctx;
    if (n >= 1 && c[0].type == GH_VAL_TEXT) {
        snprintf(t->buf, t->cap, "%.*s", (int)c[0].len, c[0].p);
        t->found = 1;
    }
    return 0;
}

int gh_catalog_location_add(struct gh_store *s, const char *type, const char *target, const char *origin,
                            char id[GH_LOCATION_ID_MAX], int *existed, struct gh_err *err)
{
    struct gh_store_val key[] = {GH_VTEXT(type), GH_VTEXT(target)};
    struct text_out t = {id, GH_LOCATION_ID_MAX, 0};
    int rc = gh_store_exec(s, "SELECT id FROM catalog_locations WHERE type = $1 AND target = $2", key, 2,
                           on_text, &t, err);
    if (rc)
        return rc;
    if (existed)
        *existed = t.found;
    if (t.found)
        return 0;
    char uid[37], when[40];
    new_uuid(uid);
    now_text(when, sizeof(when));
    struct gh_store_val p[] = {GH_VTEXT(uid), GH_VTEXT(type), GH_VTEXT(target), GH_VTEXT(origin),
                               GH_VTEXT(when)};
    rc = gh_store_exec(s,
                       "INSERT INTO catalog_locations (id, type, target, origin, status, created_at) "
                       "VALUES ($1, $2, $3, $4, '[]', $5)",
                       p, GH_ARRAY_SIZE(p), NULL, NULL, err);
    if (rc == 0)
        snprintf(id, GH_LOCATION_ID_MAX, "%s", uid);
    return rc;
}

static int on_location(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct gh_json *arr = ctx, *o = gh_json_object();
    if (n < 6)
        return 0;
    gh_json_set(o, "id", col_json(&c[0]));
    gh_json_set(o, "type", col_json(&c[1]));
    gh_json_set(o, "target", col_json(&c[2]));
    gh_json_set(o, "origin", col_json(&c[3]));
    struct gh_json *status = gh_json_parse(c[4].p ? c[4].p : "[]", c[4].len ? c[4].len : 2, NULL);
    gh_json_set(o, "errors", status ? status : gh_json_array());
    gh_json_set(o, "refreshedAt", col_json(&c[5]));
    gh_json_append(arr, o);
    return 0;
}

#define LOCATION_COLS "id, type, target, origin, status, refreshed_at"

struct gh_json *gh_catalog_location_get(struct gh_store *s, const char *id, struct gh_err *err)
{
    struct gh_json *arr = gh_json_array();
    struct gh_store_val p[] = {GH_VTEXT(id)};
    if (gh_store_exec(s, "SELECT " LOCATION_COLS " FROM catalog_locations WHERE id = $1", p, 1, on_location,
                      arr, err) != 0) {
        gh_json_unref(arr);
        return NULL;
    }
    struct gh_json *o = gh_json_size(arr) ? gh_json_ref(gh_json_at(arr, 0)) : NULL;
    gh_json_unref(arr);
    if (o == NULL)
        gh_err_set(err, GH_ENOTFOUND, "no location with id '%s'", id);
    return o;
}

struct gh_json *gh_catalog_location_list(struct gh_store *s, struct gh_err *err)
{
    struct gh_json *arr = gh_json_array();
    if (gh_store_exec(s, "SELECT " LOCATION_COLS " FROM catalog_locations ORDER BY created_at, id", NULL, 0,
                      on_location, arr, err) != 0) {
        gh_json_unref(arr);
        return NULL;
    }
    return arr;
}

struct uids {
    char (*v)[37];
    size_t n, cap;
};

static int on_uid(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct uids *u = ctx;
    if (n < 1 || c[0].type != GH_VAL_TEXT)
        return 0;
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 64;
        u->v = gh_realloc(u->v, u->cap * sizeof(*u->v));
    }
    snprintf(u->v[u->n++], 37, "%.*s", (int)c[0].len, c[0].p);
    return 0;
}

int gh_catalog_location_remove(struct gh_store *s, const char *id, struct gh_err *err)
{
    struct gh_store_val p[] = {GH_VTEXT(id)};
    int64_t count = 0;
    int rc =
        gh_store_exec(s, "SELECT COUNT(*) FROM catalog_locations WHERE id = $1", p, 1, on_count, &count, err);
    if (rc)
        return rc;
    if (count == 0)
        return gh_err_set(err, GH_ENOTFOUND, "no location with id '%s'", id);
    struct uids u = {0};
    if ((rc = gh_store_begin(s, err)) != 0)
        return rc;
    rc = gh_store_exec(s, "SELECT uid FROM catalog_entities WHERE location_id = $1", p, 1, on_uid, &u, err);
    for (size_t i = 0; rc == 0 && i < u.n; i++)
        rc = s->ops->search_del(s, u.v[i], err);
    if (rc == 0)
        rc = gh_store_exec(s, "DELETE FROM catalog_locations WHERE id = $1", p, 1, NULL, NULL, err);
    if (rc == 0)
        rc = bump_generation(s, err);
    if (rc == 0)
        rc = gh_store_commit(s, err);
    if (rc)
        gh_store_rollback(s);
    free(u.v);
    return rc;
}

/* ---- batches ---- */

struct item {
    struct gh_json *entity, *operations;
    char ref[GH_ENTITY_REF_MAX];
    char *source;
    struct item *duplicate_of; /* set while committing */
};

struct gh_catalog_batch {
    struct item *items;
    size_t n, cap;
    struct gh_json *errors;
    char **kept_files;
    size_t nkept;
    char **watched; /* files read, and globs listed ("glob:" prefix), for change polling */
    size_t nwatched;
};

struct gh_catalog_batch *gh_catalog_batch_new(void)
{
    struct gh_catalog_batch *b = gh_calloc(1, sizeof(*b));
    b->errors = gh_json_array();
    return b;
}

void gh_catalog_batch_free(struct gh_catalog_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++) {
        gh_json_unref(b->items[i].entity);
        gh_json_unref(b->items[i].operations);
        free(b->items[i].source);
    }
    for (size_t i = 0; i < b->nkept; i++)
        free(b->kept_files[i]);
    free(b->kept_files);
    for (size_t i = 0; i < b->nwatched; i++)
        free(b->watched[i]);
    free(b->watched);
    free(b->items);
    gh_json_unref(b->errors);
    free(b);
}

void gh_catalog_batch_add(struct gh_catalog_batch *b, struct gh_json *entity, const struct gh_entity_ref *ref,
                          const char *source, struct gh_json *operations)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->items = gh_realloc(b->items, b->cap * sizeof(*b->items));
    }
    struct item *it = &b->items[b->n++];
    it->entity = entity;
    it->operations = operations;
    it->source = gh_strdup(source);
    gh_catalog_ref_string(ref, it->ref, sizeof(it->ref));
}

void gh_catalog_batch_error(struct gh_catalog_batch *b, const char *source, const char *ref,
                            const char *message)
{
    struct gh_json *e = gh_json_object();
    gh_json_set(e, "source", str_json(source));
    gh_json_set(e, "entity", ref ? str_json(ref) : gh_json_null());
    gh_json_set(e, "message", gh_json_string(message, strlen(message)) ?: str_json("(message not UTF-8)"));
    gh_json_append(b->errors, e);
}

void gh_catalog_batch_keep_file(struct gh_catalog_batch *b, const char *path)
{
    b->kept_files = gh_realloc(b->kept_files, (b->nkept + 1) * sizeof(char *));
    b->kept_files[b->nkept++] = gh_strdup(path);
}

void gh_catalog_batch_watch(struct gh_catalog_batch *b, const char *what)
{
    b->watched = gh_realloc(b->watched, (b->nwatched + 1) * sizeof(char *));
    b->watched[b->nwatched++] = gh_strdup(what);
}

void gh_catalog_batch_set_operations(struct gh_catalog_batch *b, size_t i, struct gh_json *operations)
{
    if (i >= b->n) {
        gh_json_unref(operations);
        return;
    }
    gh_json_unref(b->items[i].operations);
    b->items[i].operations = operations;
}

const char *gh_catalog_batch_watched(const struct gh_catalog_batch *b, size_t i)
{
    return i < b->nwatched ? b->watched[i] : NULL;
}

struct gh_json *gh_catalog_batch_entity(const struct gh_catalog_batch *b, size_t i)
{
    return i < b->n ? b->items[i].entity : NULL;
}

size_t gh_catalog_batch_count(const struct gh_catalog_batch *b)
{
    return b->n;
}

size_t gh_catalog_batch_errors(const struct gh_catalog_batch *b)
{
    return gh_json_size(b->errors);
}

struct gh_json *gh_catalog_batch_error_list(const struct gh_catalog_batch *b)
{
    return b->errors;
}

/* ---- writing one entity ---- */

struct search_ctx {
    struct gh_store *s;
    const char *uid;
    struct gh_err *err;
    int rc;
};

static void search_row(struct search_ctx *x, const char *key, const struct gh_json *v)
{
    if (x->rc)
        return;
    char num[32];
    const char *text = NULL;
    size_t len = 0;
    switch (gh_json_type(v)) {
    case GH_JSON_STRING:
        text = gh_json_str(v, &len);
        break;
    case GH_JSON_BOOL:
        text = gh_json_bool_value(v) ? "true" : "false";
        len = strlen(text);
        break;
    case GH_JSON_INT:
        snprintf(num, sizeof(num), "%lld", (long long)gh_json_int_value(v));
        text = num;
        len = strlen(num);
        break;
    default:
        return;
    }
    struct gh_store_val p[4] = {GH_VTEXT(x->uid), GH_VTEXT(key), GH_VNULL, GH_VNULL};
    char *lv = NULL;
    if (len <= SEARCH_VALUE_MAX) {
        lv = lower(text);
        p[2] = GH_VTEXT(lv);
        p[3] = (struct gh_store_val){.type = GH_VAL_TEXT, .p = text, .len = len};
    }
    x->rc = gh_store_exec(
        x->s, "INSERT INTO catalog_search (uid, key, value, original_value) VALUES ($1, $2, $3, $4)", p, 4,
        NULL, NULL, x->err);
    free(lv);
}

/* Backstage's flattening: nested keys joined by '.', lower-cased; list items share their key. */
static void flatten(struct search_ctx *x, const char *prefix, const struct gh_json *v)
{
    if (gh_json_type(v) == GH_JSON_OBJECT) {
        void *it = NULL;
        const char *k;
        struct gh_json *c;
        while (gh_json_next(v, &it, &k, &c)) {
            if (prefix[0] == '\0' && (strcmp(k, "relations") == 0 || strcmp(k, "status") == 0))
                continue;
            char key[512];
            int n = snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "", k);
            if (n <= 0 || (size_t)n >= sizeof(key) || n > SEARCH_VALUE_MAX)
                continue;
            for (char *p = key; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p + 32);
            flatten(x, key, c);
        }
    } else if (gh_json_type(v) == GH_JSON_ARRAY) {
        for (size_t i = 0; i < gh_json_size(v); i++)
            flatten(x, prefix, gh_json_at(v, i));
    } else {
        search_row(x, prefix, v);
    }
}

static int on_relation_insert(void *ctx, const char *source, const char *type, const char *target)
{
    struct search_ctx *x = ctx;
    struct gh_store_val p[] = {GH_VTEXT(x->uid), GH_VTEXT(source), GH_VTEXT(type), GH_VTEXT(target)};
    return gh_store_exec(
        x->s,
        "INSERT INTO catalog_relations (origin_uid, source_ref, type, target_ref) VALUES ($1, $2, $3, $4)", p,
        4, NULL, NULL, x->err);
}

static const char *jtext(const struct gh_json *j)
{
    const char *s = gh_json_str(j, NULL);
    return s ? s : "";
}

/* The derived rows of one entity: search pairs, relations, operations, full-text document. */
static int write_derived(struct gh_store *s, const char *uid, const struct gh_json *e,
                         const struct gh_json *ops, int fresh, struct gh_err *err)
{
    struct gh_store_val p[] = {GH_VTEXT(uid)};
    int rc;
    if (!fresh &&
        ((rc = gh_store_exec(s, "DELETE FROM catalog_search WHERE uid = $1", p, 1, NULL, NULL, err)) ||
         (rc = gh_store_exec(s, "DELETE FROM catalog_relations WHERE origin_uid = $1", p, 1, NULL, NULL,
                             err)) ||
         (rc = gh_store_exec(s, "DELETE FROM catalog_operations WHERE uid = $1", p, 1, NULL, NULL, err)) ||
         (rc = s->ops->search_del(s, uid, err))))
        return rc;
    struct search_ctx x = {s, uid, err, 0};
    flatten(&x, "", e);
    struct gh_json *uidj = str_json(uid);
    search_row(&x, "metadata.uid", uidj);
    gh_json_unref(uidj);
    if (x.rc)
        return x.rc;
    if ((rc = gh_entity_relations(e, on_relation_insert, &x)) != 0)
        return rc;
    struct gh_buf optext = {0};
    for (size_t i = 0; i < gh_json_size(ops); i++) {
        const struct gh_json *o = gh_json_at(ops, i);
        struct gh_store_val q[] = {GH_VTEXT(uid),
                                   GH_VTEXT(jtext(gh_json_get(o, "method"))),
                                   GH_VTEXT(jtext(gh_json_get(o, "path"))),
                                   GH_VTEXT(jtext(gh_json_get(o, "summary"))),
                                   GH_VTEXT(jtext(gh_json_get(o, "tags"))),
                                   GH_VTEXT(jtext(gh_json_get(o, "params")))};
        if ((rc = gh_store_exec(
                 s,
                 "INSERT INTO catalog_operations (uid, method, path, summary, tags, params) VALUES "
                 "($1, $2, $3, $4, $5, $6)",
                 q, 6, NULL, NULL, err)) != 0) {
            gh_buf_free(&optext);
            return rc;
        }
        gh_buf_addf(&optext, "%s %s %s\n", jtext(gh_json_get(o, "path")), jtext(gh_json_get(o, "summary")),
                    jtext(gh_json_get(o, "tags")));
    }
    const struct gh_json *md = gh_json_get(e, "metadata"), *spec = gh_json_get(e, "spec");
    struct gh_buf tags = {0};
    const struct gh_json *t = gh_json_get(md, "tags");
    for (size_t i = 0; i < gh_json_size(t); i++)
        gh_buf_addf(&tags, "%s ", jtext(gh_json_at(t, i)));
    char *kind = lower(jtext(gh_json_get(e, "kind")));
    const char *cols[GH_SEARCH_COLS] = {
        [GH_SEARCH_NAME] = jtext(gh_json_get(md, "name")),
        [GH_SEARCH_TITLE] = jtext(gh_json_get(md, "title")),
        [GH_SEARCH_DESCRIPTION] = jtext(gh_json_get(md, "description")),
        [GH_SEARCH_TAGS] = tags.p ? tags.p : "",
        [GH_SEARCH_OWNER] = jtext(gh_json_get(spec, "owner")),
        [GH_SEARCH_OPERATIONS] = optext.p ? optext.p : "",
    };
    rc = s->ops->search_put(s, uid, kind, cols, err);
    free(kind);
    gh_buf_free(&tags);
    gh_buf_free(&optext);
    return rc;
}

/* ---- committing a batch ---- */

struct existing {
    char uid[37];
    char ref[GH_ENTITY_REF_MAX];
    char *source, *body;
    int seen;
};

struct existing_list {
    struct existing *v;
    size_t n, cap;
};

static int on_existing(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct existing_list *l = ctx;
    if (n < 4)
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = gh_realloc(l->v, l->cap * sizeof(*l->v));
    }
    struct existing *x = &l->v[l->n++];
    snprintf(x->uid, sizeof(x->uid), "%.*s", (int)c[0].len, c[0].p);
    snprintf(x->ref, sizeof(x->ref), "%.*s", (int)c[1].len, c[1].p);
    x->source = gh_strdup(c[2].p ? c[2].p : "");
    x->body = gh_strdup(c[3].p ? c[3].p : "");
    x->seen = 0;
    return 0;
}

static struct existing *find_existing(struct existing_list *l, const char *ref)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(l->v[mid].ref, ref);
        if (c == 0)
            return &l->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Whether an entity not provided this time keeps its stored version: its file failed as a whole, or
 * it failed validation this time. */
static int keep(const struct gh_catalog_batch *b, const struct existing *x)
{
    for (size_t i = 0; i < b->nkept; i++) {
        size_t n = strlen(b->kept_files[i]);
        if (strncmp(x->source, b->kept_files[i], n) == 0 && x->source[n] == ':')
            return 1;
    }
    for (size_t i = 0; i < gh_json_size(b->errors); i++)
        if (strcmp(jtext(gh_json_get(gh_json_at(b->errors, i), "entity")), x->ref) == 0)
            return 1;
    return 0;
}

struct owner {
    char loc[GH_LOCATION_ID_MAX];
    char target[512];
    char uid[40];
    int found, yields;
};

static int on_owner(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct owner *o = ctx;
    if (n >= 4) {
        snprintf(o->loc, sizeof(o->loc), "%.*s", (int)c[0].len, c[0].p);
        snprintf(o->target, sizeof(o->target), "%.*s", (int)c[1].len, c[1].p);
        snprintf(o->uid, sizeof(o->uid), "%.*s", (int)c[3].len, c[3].p);
        o->yields = c[2].len == 7 && memcmp(c[2].p, "gateway", 7) == 0;
        o->found = 1;
    }
    return 0;
}

static int commit_items(struct gh_store *s, const char *location_id, struct gh_catalog_batch *b,
                        struct existing_list *old, struct gh_catalog_counts *c, struct gh_err *err)
{
    struct text_out lt = {gh_malloc(16), 16, 0};
    struct gh_store_val lp[] = {GH_VTEXT(location_id)};
    int lrc = gh_store_exec(s, "SELECT type FROM catalog_locations WHERE id = $1", lp, 1, on_text, &lt, err);
    int yields = strcmp(lt.buf, "gateway") == 0;
    free(lt.buf);
    if (lrc)
        return lrc;
    char when[40];
    now_text(when, sizeof(when));
    for (size_t i = 0; i < b->n; i++) {
        const struct item *it = &b->items[i];
        if (it->duplicate_of) {
            char msg[600];
            snprintf(msg, sizeof(msg), "%s: defined again here; the first definition, at %s, is used",
                     it->ref, it->duplicate_of->source);
            gh_catalog_batch_error(b, it->source, NULL, msg);
            continue;
        }
        struct existing *x = find_existing(old, it->ref);
        char *body = gh_json_dump(it->entity, 1);
        if (x) {
            x->seen = 1;
            if (strcmp(x->body, body) == 0 && strcmp(x->source, it->source) == 0) {
                c->unchanged++;
                free(body);
                continue;
            }
            char etag[33];
            new_etag(etag);
            struct gh_store_val p[] = {GH_VTEXT(x->uid), GH_VTEXT(it->source), GH_VTEXT(etag), GH_VTEXT(body),
                                       GH_VTEXT(when)};
            int rc = gh_store_exec(
                s,
                "UPDATE catalog_entities SET source = $2, etag = $3, body = $4, updated_at = $5 "
                "WHERE uid = $1",
                p, 5, NULL, NULL, err);
            if (rc == 0)
                rc = write_derived(s, x->uid, it->entity, it->operations, 0, err);
            free(body);
            if (rc)
                return rc;
            free(x->source);
            x->source = gh_strdup(it->source);
            c->updated++;
            continue;
        }
        /* a ref another location provides stays with it (Backstage: "conflicting entity") */
        struct owner o = {{0}, {0}, {0}, 0, 0};
        struct gh_store_val q[] = {GH_VTEXT(it->ref)};
        int rc = gh_store_exec(
            s,
            "SELECT l.id, l.target, l.type, e.uid FROM catalog_entities e JOIN catalog_locations l "
            "ON l.id = e.location_id WHERE e.ref = $1",
            q, 1, on_owner, &o, err);
        if (rc) {
            free(body);
            return rc;
        }
        if (o.found && o.yields && !yields) {
            /* the gateway's own entity for an API gives way to one a catalog file describes */
            struct gh_store_val d[] = {GH_VTEXT(o.uid)};
            if ((rc = s->ops->search_del(s, o.uid, err)) != 0 ||
                (rc = gh_store_exec(s, "DELETE FROM catalog_entities WHERE uid = $1", d, 1, NULL, NULL,
                                    err)) != 0) {
                free(body);
                return rc;
            }
            o.found = 0;
        }
        if (o.found) {
            char msg[1024];
            snprintf(msg, sizeof(msg), "%s: conflict: the entity is already provided by location %s (%s)",
                     it->ref, o.loc, o.target);
            gh_catalog_batch_error(b, it->source, it->ref, msg);
            free(body);
            continue;
        }
        char uid[37], etag[33];
        new_uuid(uid);
        new_etag(etag);
        const struct gh_json *md = gh_json_get(it->entity, "metadata");
        char *kind = lower(jtext(gh_json_get(it->entity, "kind"))),
             *ns = lower(jtext(gh_json_get(md, "namespace"))), *name = lower(jtext(gh_json_get(md, "name")));
        struct gh_store_val p[] = {
            GH_VTEXT(uid),         GH_VTEXT(it->ref),    GH_VTEXT(kind), GH_VTEXT(ns),   GH_VTEXT(name),
            GH_VTEXT(location_id), GH_VTEXT(it->source), GH_VTEXT(etag), GH_VTEXT(body), GH_VTEXT(when)};
        rc = gh_store_exec(
            s,
            "INSERT INTO catalog_entities (uid, ref, kind, namespace, name, location_id, source, etag, "
            "body, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            p, GH_ARRAY_SIZE(p), NULL, NULL, err);
        free(kind);
        free(ns);
        free(name);
        free(body);
        if (rc == 0)
            rc = write_derived(s, uid, it->entity, it->operations, 1, err);
        if (rc)
            return rc;
        c->added++;
    }
    return 0;
}

static int cmp_existing(const void *a, const void *b)
{
    return strcmp(((const struct existing *)a)->ref, ((const struct existing *)b)->ref);
}

static int cmp_item_ref(const void *a, const void *b)
{
    const struct item *x = *(const struct item *const *)a, *y = *(const struct item *const *)b;
    int c = strcmp(x->ref, y->ref);
    return c ? c : (x < y ? -1 : x > y);
}

/* The same entity twice in one location: the first one found counts, the others are errors. */
static void mark_duplicates(struct gh_catalog_batch *b)
{
    struct item **v = gh_malloc((b->n ? b->n : 1) * sizeof(struct item *));
    for (size_t i = 0; i < b->n; i++) {
        v[i] = &b->items[i];
        v[i]->duplicate_of = NULL;
    }
    qsort(v, b->n, sizeof(struct item *), cmp_item_ref);
    for (size_t i = 1; i < b->n; i++)
        if (strcmp(v[i]->ref, v[i - 1]->ref) == 0)
            v[i]->duplicate_of = v[i - 1]->duplicate_of ? v[i - 1]->duplicate_of : v[i - 1];
    free(v);
}

int gh_catalog_commit(struct gh_store *s, const char *location_id, struct gh_catalog_batch *b,
                      struct gh_catalog_counts *counts, struct gh_err *err)
{
    struct gh_catalog_counts c = {0};
    struct existing_list old = {0};
    struct gh_store_val lp[] = {GH_VTEXT(location_id)};
    int rc = gh_store_begin(s, err);
    if (rc)
        return rc;
    rc = gh_store_exec(s, "SELECT uid, ref, source, body FROM catalog_entities WHERE location_id = $1", lp, 1,
                       on_existing, &old, err);
    if (rc == 0) {
        if (old.n)
            qsort(old.v, old.n, sizeof(*old.v), cmp_existing);
        mark_duplicates(b);
        rc = commit_items(s, location_id, b, &old, &c, err);
    }
    for (size_t i = 0; rc == 0 && i < old.n; i++) {
        struct existing *x = &old.v[i];
        if (x->seen)
            continue;
        if (keep(b, x)) {
            c.kept++;
            continue;
        }
        struct gh_store_val p[] = {GH_VTEXT(x->uid)};
        rc = s->ops->search_del(s, x->uid, err);
        if (rc == 0)
            rc = gh_store_exec(s, "DELETE FROM catalog_entities WHERE uid = $1", p, 1, NULL, NULL, err);
        c.removed++;
    }
    if (rc == 0 && (c.added || c.updated || c.removed))
        rc = bump_generation(s, err);
    if (rc == 0) {
        char *status = gh_json_dump(b->errors, 0), when[40];
        now_text(when, sizeof(when));
        struct gh_store_val p[] = {GH_VTEXT(location_id), GH_VTEXT(status), GH_VTEXT(when)};
        rc = gh_store_exec(s, "UPDATE catalog_locations SET status = $2, refreshed_at = $3 WHERE id = $1", p,
                           3, NULL, NULL, err);
        free(status);
    }
    if (rc == 0)
        rc = gh_store_commit(s, err);
    if (rc)
        gh_store_rollback(s);
    for (size_t i = 0; i < old.n; i++) {
        free(old.v[i].source);
        free(old.v[i].body);
    }
    free(old.v);
    c.errors = gh_json_size(b->errors);
    if (counts)
        *counts = c;
    return rc;
}

/* ---- reading entities ---- */

static int on_relation(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct gh_json *arr = ctx;
    if (n < 2)
        return 0;
    struct gh_json *r = gh_json_object();
    gh_json_set(r, "type", col_json(&c[0]));
    gh_json_set(r, "targetRef", col_json(&c[1]));
    /* the deprecated compound form, which older clients still read */
    char ref[GH_ENTITY_REF_MAX];
    snprintf(ref, sizeof(ref), "%.*s", (int)c[1].len, c[1].p);
    struct gh_entity_ref parsed;
    if (gh_catalog_parse_ref((struct gh_str){ref, strlen(ref)}, NULL, NULL, &parsed, NULL) == 0) {
        struct gh_json *t = gh_json_object();
        gh_json_set(t, "kind", str_json(parsed.kind));
        gh_json_set(t, "namespace", str_json(parsed.ns));
        gh_json_set(t, "name", str_json(parsed.name));
        gh_json_set(r, "target", t);
    }
    gh_json_append(arr, r);
    return 0;
}

/* uid, ref, etag, body -> the entity as served */
static struct gh_json *build(struct gh_store *s, const struct gh_store_val *c, struct gh_err *err)
{
    struct gh_json *e = gh_json_parse(c[3].p, c[3].len, err);
    if (e == NULL)
        return NULL;
    struct gh_json *md = gh_json_get(e, "metadata");
    gh_json_set(md, "uid", col_json(&c[0]));
    gh_json_set(md, "etag", col_json(&c[2]));
    struct gh_json *rels = gh_json_array();
    struct gh_store_val p[] = {c[1]};
    if (gh_store_exec(s,
                      "SELECT DISTINCT type, target_ref FROM catalog_relations WHERE source_ref = $1 "
                      "ORDER BY type, target_ref",
                      p, 1, on_relation, rels, err) != 0) {
        gh_json_unref(rels);
        gh_json_unref(e);
        return NULL;
    }
    gh_json_set(e, "relations", rels);
    return e;
}

struct build_ctx {
    struct gh_store *s;
    struct gh_json *arr;
    struct gh_err *err;
};

static int on_entity(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct build_ctx *b = ctx;
    if (n < 4)
        return 0;
    struct gh_json *e = build(b->s, c, b->err);
    if (e == NULL)
        return GH_EIO;
    gh_json_append(b->arr, e);
    return 0;
}

#define ENTITY_COLS "e.uid, e.ref, e.etag, e.body"

static struct gh_json *get_one(struct gh_store *s, const char *sql, const char *key, struct gh_err *err)
{
    struct build_ctx b = {s, gh_json_array(), err};
    struct gh_store_val p[] = {GH_VTEXT(key)};
    if (gh_store_exec(s, sql, p, 1, on_entity, &b, err) != 0) {
        gh_json_unref(b.arr);
        return NULL;
    }
    struct gh_json *e = gh_json_size(b.arr) ? gh_json_ref(gh_json_at(b.arr, 0)) : NULL;
    gh_json_unref(b.arr);
    if (e == NULL)
        gh_err_set(err, GH_ENOTFOUND, "no entity '%s'", key);
    return e;
}

struct gh_json *gh_catalog_get_by_ref(struct gh_store *s, const char *ref, struct gh_err *err)
{
    char *l = lower(ref);
    struct gh_json *e = get_one(s, "SELECT " ENTITY_COLS " FROM catalog_entities e WHERE e.ref = $1", l, err);
    free(l);
    return e;
}

struct gh_json *gh_catalog_get_by_uid(struct gh_store *s, const char *uid, struct gh_err *err)
{
    return get_one(s, "SELECT " ENTITY_COLS " FROM catalog_entities e WHERE e.uid = $1", uid, err);
}

int gh_catalog_delete_uid(struct gh_store *s, const char *uid, struct gh_err *err)
{
    struct gh_store_val p[] = {GH_VTEXT(uid)};
    int64_t n = 0;
    int rc =
        gh_store_exec(s, "SELECT COUNT(*) FROM catalog_entities WHERE uid = $1", p, 1, on_count, &n, err);
    if (rc)
        return rc;
    if (n == 0)
        return gh_err_set(err, GH_ENOTFOUND, "no entity with uid '%s'", uid);
    if ((rc = gh_store_begin(s, err)) != 0)
        return rc;
    if ((rc = s->ops->search_del(s, uid, err)) == 0 &&
        (rc = gh_store_exec(s, "DELETE FROM catalog_entities WHERE uid = $1", p, 1, NULL, NULL, err)) == 0 &&
        (rc = bump_generation(s, err)) == 0)
        rc = gh_store_commit(s, err);
    if (rc)
        gh_store_rollback(s);
    return rc;
}

/* ---- queries: through the in-memory index, rebuilt when the catalog generation moved ---- */

static void index_free(void *p)
{
    gh_catalog_index_free(p);
}

/* A store whose index is rebuilt in the background (the server): a stale index serves meanwhile. */
static struct gh_store *stale_ok;

void gh_catalog_index_background(struct gh_store *s)
{
    stale_ok = s;
}

void gh_catalog_index_install(struct gh_store *s, struct gh_catalog_index *x)
{
    if (s->cache_free == index_free)
        gh_catalog_index_free(s->cache);
    s->cache = x;
    s->cache_free = index_free;
}

static struct gh_catalog_index *index_of(struct gh_store *s, struct gh_err *err)
{
    struct gh_catalog_index *x = s->cache_free == index_free ? s->cache : NULL;
    if (x && (stale_ok == s || gh_catalog_index_generation(x) == gh_catalog_generation(s)))
        return x;
    gh_catalog_index_free(x);
    s->cache = NULL;
    x = gh_catalog_index_build(s, err);
    if (x) {
        s->cache = x;
        s->cache_free = index_free;
    }
    return x;
}

int gh_catalog_warm(struct gh_store *s, struct gh_err *err)
{
    return index_of(s, err) ? 0 : GH_EIO;
}

int gh_catalog_query(struct gh_store *s, const struct gh_catalog_query *cq, struct gh_json **items,
                     size_t *total, struct gh_err *err)
{
    struct gh_catalog_index *x = index_of(s, err);
    if (x == NULL)
        return GH_EIO;
    struct gh_catalog_query q = *cq;
    if (items == NULL)
        q.limit = 0, q.offset = (size_t)-1; /* the count alone */
    uint32_t *page = NULL;
    size_t npage = 0, n = 0;
    gh_catalog_index_query(x, &q, &page, &npage, &n);
    int rc = 0;
    if (items) {
        struct build_ctx b = {s, gh_json_array(), err};
        for (size_t i = 0; rc == 0 && i < npage; i++) {
            struct gh_store_val p[] = {GH_VTEXT(gh_catalog_index_uid(x, page[i]))};
            rc = gh_store_exec(s, "SELECT " ENTITY_COLS " FROM catalog_entities e WHERE e.uid = $1", p, 1,
                               on_entity, &b, err);
        }
        if (rc)
            gh_json_unref(b.arr);
        else
            *items = b.arr;
    }
    free(page);
    if (total)
        *total = n;
    return rc;
}

struct gh_json *gh_catalog_facets(struct gh_store *s, const struct gh_filter *f, const char *const *keys,
                                  size_t nkeys, struct gh_err *err)
{
    struct gh_catalog_index *x = index_of(s, err);
    return x ? gh_catalog_index_facets(x, f, keys, nkeys) : NULL;
}

/* ---- full-text search ---- */

struct words {
    const char *word; /* the one to correct */
    size_t wlen;
    char best[64];
    int best_d;
};

/* Levenshtein distance, giving up past `limit` */
static int distance(const char *a, size_t la, const char *b, size_t lb, int limit)
{
    if (la > 63 || lb > 63)
        return limit + 1;
    int prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        int row_min = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            if (cur[j] < row_min)
                row_min = cur[j];
        }
        if (row_min > limit)
            return limit + 1;
        memcpy(prev, cur, (lb + 1) * sizeof(int));
    }
    return prev[lb];
}

static int on_word(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct words *w = ctx;
    if (n < 1 || c[0].type != GH_VAL_TEXT)
        return 0;
    /* also against the candidate's prefix of the word's length, so "paymnt" finds "payments" */
    int d = distance(w->word, w->wlen, c[0].p, c[0].len, w->best_d - 1);
    if (c[0].len > w->wlen) {
        int dp = distance(w->word, w->wlen, c[0].p, w->wlen, w->best_d - 1);
        if (dp < d)
            d = dp;
    }
    if (d < w->best_d && c[0].len < sizeof(w->best)) {
        w->best_d = d;
        snprintf(w->best, sizeof(w->best), "%.*s", (int)c[0].len, c[0].p);
    }
    return 0;
}

static int on_body(void *ctx, const struct gh_store_val *c, size_t n)
{
    if (n >= 1 && c[0].type == GH_VAL_TEXT)
        *(struct gh_json **)ctx = gh_json_parse(c[0].p, c[0].len, NULL);
    return 0;
}

struct hits {
    struct gh_store *s;
    struct gh_json *arr;
    struct gh_err *err;
};

static int on_hit(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct hits *h = ctx;
    if (n < 2)
        return 0;
    char uid[40];
    snprintf(uid, sizeof(uid), "%.*s", (int)c[0].len, c[0].p);
    struct gh_store_val p[] = {GH_VTEXT(uid)};
    struct gh_json *e = NULL;
    if (gh_store_exec(h->s, "SELECT body FROM catalog_entities WHERE uid = $1", p, 1, on_body, &e, NULL) !=
            0 ||
        e == NULL)
        return 0;
    const struct gh_json *md = gh_json_get(e, "metadata");
    struct gh_json *o = gh_json_object();
    char ref[GH_ENTITY_REF_MAX];
    snprintf(ref, sizeof(ref), "%s:%s/%s", jtext(gh_json_get(e, "kind")), jtext(gh_json_get(md, "namespace")),
             jtext(gh_json_get(md, "name")));
    char *lref = lower(ref);
    gh_json_set(o, "entityRef", str_json(lref));
    free(lref);
    gh_json_set(o, "kind", gh_json_copy(gh_json_get(e, "kind")));
    gh_json_set(o, "name", gh_json_copy(gh_json_get(md, "name")));
    gh_json_set(o, "title", gh_json_copy(gh_json_get(md, "title")) ?: gh_json_copy(gh_json_get(md, "name")));
    if (gh_json_get(md, "description"))
        gh_json_set(o, "description", gh_json_copy(gh_json_get(md, "description")));
    if (gh_json_get(gh_json_get(e, "spec"), "owner"))
        gh_json_set(o, "owner", gh_json_copy(gh_json_get(gh_json_get(e, "spec"), "owner")));
    gh_json_set(o, "snippet", col_json(&c[1]));
    gh_json_append(h->arr, o);
    gh_json_unref(e);
    return 0;
}

struct gh_json *gh_catalog_search(struct gh_store *s, const char *query, const char *kind, size_t limit,
                                  struct gh_err *err)
{
    /* words: runs of letters and digits (and any non-ASCII byte), lower-cased; at most 8 */
    char *terms[8];
    size_t nterms = 0;
    for (const char *p = query; *p && nterms < GH_ARRAY_SIZE(terms);) {
        while (*p && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                       (unsigned char)*p >= 0x80))
            p++;
        const char *start = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               (unsigned char)*p >= 0x80)
            p++;
        if (p > start && p - start < 64) {
            char *t = gh_malloc((size_t)(p - start) + 1);
            for (size_t i = 0; i < (size_t)(p - start); i++)
                t[i] = (char)(start[i] >= 'A' && start[i] <= 'Z' ? start[i] + 32 : start[i]);
            t[p - start] = '\0';
            terms[nterms++] = t;
        }
    }
    struct hits h = {s, gh_json_array(), err};
    int rc = 0;
    if (nterms) {
        rc = s->ops->search_query(s, (const char *const *)terms, nterms, kind, limit, on_hit, &h, err);
        if (rc == 0 && gh_json_size(h.arr) == 0) {
            /* nothing: correct each word to the nearest indexed one (1 edit for short words, 2 for long) */
            int changed = 0;
            for (size_t i = 0; rc == 0 && i < nterms; i++) {
                size_t len = strlen(terms[i]);
                if (len < 3)
                    continue;
                struct words w = {terms[i], len, "", len >= 6 ? 3 : 2};
                struct gh_catalog_index *x = index_of(s, err);
                if (x == NULL) {
                    rc = GH_EIO;
                    break;
                }
                const char *const *words;
                size_t nwords = gh_catalog_index_words(x, s, &words);
                for (size_t k = 0; k < nwords; k++) {
                    size_t wl = strlen(words[k]);
                    if (wl + 2 < len || wl > len + 16)
                        continue; /* too short to be it, or too long to be a typo of a prefix */
                    struct gh_store_val v = {.type = GH_VAL_TEXT, .p = words[k], .len = wl};
                    on_word(&w, &v, 1);
                }
                if (rc == 0 && w.best[0] && strcmp(w.best, terms[i]) != 0) {
                    free(terms[i]);
                    terms[i] = gh_strdup(w.best);
                    changed = 1;
                }
            }
            if (rc == 0 && changed)
                rc =
                    s->ops->search_query(s, (const char *const *)terms, nterms, kind, limit, on_hit, &h, err);
        }
    }
    for (size_t i = 0; i < nterms; i++)
        free(terms[i]);
    if (rc) {
        gh_json_unref(h.arr);
        return NULL;
    }
    return h.arr;
}
