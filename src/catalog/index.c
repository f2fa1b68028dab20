/*
 * index.c: the catalog's query index, in memory. The store stays the truth; this is a derived copy of
 * its search pairs and relations, rebuilt when the store's catalog generation moves (every commit
 * bumps it), so a filter over 100,000 entities is set intersections of sorted integer lists instead
 * of index scans over text, and ordering compares precomputed ranks.
 *
 * Entities are numbered 0..n-1 in ref order (so ordinals are also the default sort). A posting list
 * holds the ordinals having one (key, value) pair, or -- for the key alone -- having the key at all;
 * relations are postings under "relations.<type>" with the target ref as the value.
 *
 * In the server an index is built on a thread of libuv's pool from a second store connection, while
 * the control thread keeps answering from the previous one (service.c); so nothing here is global.
 */
#include "index.h"

#include "../base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- interned strings ---- */

struct strtab {
    char **s;
    size_t n, cap;
    uint32_t *slots; /* open addressing: id + 1, 0 empty */
    size_t nslots;
};

static uint64_t hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static void strtab_grow(struct strtab *t)
{
    size_t ns = t->nslots ? t->nslots * 2 : 1024;
    uint32_t *slots = gh_calloc(ns, sizeof(uint32_t));
    for (size_t i = 0; i < t->n; i++) {
        size_t j = hash(t->s[i], strlen(t->s[i])) & (ns - 1);
        while (slots[j])
            j = (j + 1) & (ns - 1);
        slots[j] = (uint32_t)i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = ns;
}

/* The id of a string (adding it when add), or UINT32_MAX. */
static uint32_t intern(struct strtab *t, const char *p, size_t n, int add)
{
    if (t->nslots) {
        size_t j = hash(p, n) & (t->nslots - 1);
        while (t->slots[j]) {
            const char *s = t->s[t->slots[j] - 1];
            if (strncmp(s, p, n) == 0 && s[n] == '\0')
                return t->slots[j] - 1;
            j = (j + 1) & (t->nslots - 1);
        }
    }
    if (!add)
        return UINT32_MAX;
    if ((t->n + 1) * 2 > t->nslots)
        strtab_grow(t);
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->s = gh_realloc(t->s, t->cap * sizeof(char *));
    }
    char *c = gh_malloc(n + 1);
    memcpy(c, p, n);
    c[n] = '\0';
    t->s[t->n] = c;
    size_t j = hash(p, n) & (t->nslots - 1);
    while (t->slots[j])
        j = (j + 1) & (t->nslots - 1);
    t->slots[j] = (uint32_t)t->n + 1;
    return (uint32_t)t->n++;
}

static void strtab_free(struct strtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->s[i]);
    free(t->s);
    free(t->slots);
    *t = (struct strtab){0};
}

/* ---- posting lists ---- */

struct list {
    uint32_t *v;
    size_t n, cap;
};

static void list_add(struct list *l, uint32_t x)
{
    if (l->n && l->v[l->n - 1] == x)
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = gh_realloc(l->v, l->cap * sizeof(uint32_t));
    }
    l->v[l->n++] = x;
}

struct pair { /* one search pair of an entity */
    uint32_t ord, key, value, orig;
};

struct gh_catalog_index {
    int64_t generation;
    size_t n;            /* entities */
    char (*uid)[37];     /* by ordinal */
    struct strtab refs;  /* ordinal = id (ref order) */
    struct strtab keys;  /* search keys ("kind", "relations.ownedby") */
    struct strtab vals;  /* lower-case values and relation targets */
    struct strtab origs; /* values as written (facets) */
    uint32_t *val_rank;  /* by value id: its place in sorted order */
    uint32_t *orig_rank;
    /* postings: key id -> (value id -> list); slot value UINT32_MAX: the key exists */
    struct strtab postkeys; /* "key\x1fvalue" or "key\x1f" interned: id indexes lists */
    struct list *lists;
    size_t nlists;
    /* each entity's pairs, for ordering, text filters and facets */
    struct pair *pairs;
    size_t npairs, cappairs;
    size_t *pair_start; /* n + 1 */
    /* per key, made on first use: each entity's (first) value, and whether any has several */
    struct column {
        uint32_t *value; /* by ordinal; UINT32_MAX: none */
        int multi;
    } * columns;
    int8_t *matched; /* per value id, for the text filter of one query: -1 unknown, 0, 1 */
    /* indexed words for typo correction, made on first use */
    char **words;
    size_t nwords;
    int have_words;
};

void gh_catalog_index_free(struct gh_catalog_index *x)
{
    if (x == NULL)
        return;
    for (size_t i = 0; x->columns && i < x->keys.n; i++) /* before the keys go */
        free(x->columns[i].value);
    free(x->columns);
    free(x->uid);
    strtab_free(&x->refs);
    strtab_free(&x->keys);
    strtab_free(&x->vals);
    strtab_free(&x->origs);
    strtab_free(&x->postkeys);
    for (size_t i = 0; i < x->nlists; i++)
        free(x->lists[i].v);
    free(x->lists);
    free(x->val_rank);
    free(x->orig_rank);
    free(x->pairs);
    free(x->pair_start);
    free(x->matched);
    for (size_t i = 0; i < x->nwords; i++)
        free(x->words[i]);
    free(x->words);
    free(x);
}

static const struct column *column(struct gh_catalog_index *x, uint32_t key)
{
    if (x->columns == NULL)
        x->columns = gh_calloc(x->keys.n + 1, sizeof(struct column));
    struct column *c = &x->columns[key];
    if (c->value)
        return c;
    c->value = gh_malloc((x->n + 1) * sizeof(uint32_t));
    for (size_t e = 0; e < x->n; e++) {
        c->value[e] = UINT32_MAX;
        for (size_t i = x->pair_start[e]; i < x->pair_start[e + 1]; i++) {
            const struct pair *p = &x->pairs[i];
            if (p->key != key || p->value == UINT32_MAX)
                continue;
            if (c->value[e] == UINT32_MAX)
                c->value[e] = p->value;
            else
                c->multi = 1;
        }
    }
    return c;
}

static struct list *posting(struct gh_catalog_index *x, const char *key, const char *value, int add)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "%s\x1f%s", key, value ? value : "");
    if (n < 0 || (size_t)n >= sizeof(buf))
        return NULL;
    uint32_t id = intern(&x->postkeys, buf, (size_t)n, add);
    if (id == UINT32_MAX)
        return NULL;
    if (id >= x->nlists) {
        size_t nn = x->nlists ? x->nlists * 2 : 1024;
        while (nn <= id)
            nn *= 2;
        x->lists = gh_realloc(x->lists, nn * sizeof(struct list));
        memset(x->lists + x->nlists, 0, (nn - x->nlists) * sizeof(struct list));
        x->nlists = nn;
    }
    return &x->lists[id];
}

/* ---- building ---- */

static int on_entity(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct gh_catalog_index *x = ctx;
    if (n < 2)
        return 0;
    uint32_t id = intern(&x->refs, c[1].p, c[1].len, 1);
    if (id != x->n) /* refs are unique and arrive sorted: the id is the next ordinal */
        return GH_EINTERNAL;
    x->uid = gh_realloc(x->uid, (x->n + 1) * sizeof(*x->uid));
    snprintf(x->uid[x->n], 37, "%.*s", (int)c[0].len, c[0].p);
    x->n++;
    return 0;
}

static int on_pair(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct gh_catalog_index *x = ctx;
    if (n < 4)
        return 0;
    uint32_t ord = intern(&x->refs, c[0].p, c[0].len, 0);
    if (ord == UINT32_MAX)
        return 0;
    char key[512];
    snprintf(key, sizeof(key), "%.*s", (int)c[1].len, c[1].p);
    uint32_t k = intern(&x->keys, key, strlen(key), 1);
    uint32_t v = c[2].type == GH_VAL_TEXT ? intern(&x->vals, c[2].p, c[2].len, 1) : UINT32_MAX;
    uint32_t o = c[3].type == GH_VAL_TEXT ? intern(&x->origs, c[3].p, c[3].len, 1) : UINT32_MAX;
    if (x->npairs == x->cappairs) {
        x->cappairs = x->cappairs ? x->cappairs * 2 : 4096;
        x->pairs = gh_realloc(x->pairs, x->cappairs * sizeof(struct pair));
    }
    x->pairs[x->npairs++] = (struct pair){ord, k, v, o};
    return 0;
}

static int cmp_pair(const void *a, const void *b)
{
    const struct pair *p = a, *q = b;
    return p->ord < q->ord ? -1 : p->ord > q->ord;
}

static int on_relation(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct gh_catalog_index *x = ctx;
    if (n < 3)
        return 0;
    uint32_t ord = intern(&x->refs, c[0].p, c[0].len, 0);
    if (ord == UINT32_MAX)
        return 0; /* a relation of an entity not in the catalog */
    char key[96], val[GH_ENTITY_REF_MAX + 1];
    snprintf(key, sizeof(key), "relations.%.*s", (int)c[1].len, c[1].p);
    for (char *p = key; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    snprintf(val, sizeof(val), "%.*s", (int)c[2].len, c[2].p);
    struct list *l = posting(x, key, val, 1);
    if (l)
        list_add(l, ord);
    l = posting(x, key, NULL, 1);
    if (l)
        list_add(l, ord);
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* qsort_r's comparator: builds run on a pool thread, so no global state */
static int cmp_rank(const void *a, const void *b, void *strings)
{
    char **s = strings;
    return strcmp(s[*(const uint32_t *)a], s[*(const uint32_t *)b]);
}

static uint32_t *ranks(struct strtab *t)
{
    uint32_t *order = gh_malloc((t->n + 1) * sizeof(uint32_t)),
             *rank = gh_malloc((t->n + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < t->n; i++)
        order[i] = (uint32_t)i;
    if (t->n)
        qsort_r(order, t->n, sizeof(uint32_t), cmp_rank, t->s);
    for (size_t i = 0; i < t->n; i++)
        rank[order[i]] = (uint32_t)i;
    free(order);
    return rank;
}

static int on_generation(void *ctx, const struct gh_store_val *c, size_t n)
{
    if (n >= 1)
        *(int64_t *)ctx = c[0].type == GH_VAL_INT ? c[0].i : c[0].p ? strtoll(c[0].p, NULL, 10) : 0;
    return 0;
}

int64_t gh_catalog_generation(struct gh_store *s)
{
    int64_t g = 0;
    gh_store_exec(s, "SELECT value FROM gh_meta WHERE key = 'catalog_generation'", NULL, 0, on_generation, &g,
                  NULL);
    return g;
}

struct gh_catalog_index *gh_catalog_index_build(struct gh_store *s, struct gh_err *err)
{
    struct gh_catalog_index *x = gh_calloc(1, sizeof(*x));
    x->generation = gh_catalog_generation(s);
    int rc =
        gh_store_exec(s, "SELECT uid, ref FROM catalog_entities ORDER BY ref", NULL, 0, on_entity, x, err);
    if (rc == 0)
        rc = gh_store_exec(s,
                           "SELECT e.ref, s.key, s.value, s.original_value FROM catalog_search s "
                           "JOIN catalog_entities e ON e.uid = s.uid",
                           NULL, 0, on_pair, x, err);
    if (rc == 0)
        rc = gh_store_exec(s, "SELECT DISTINCT source_ref, type, target_ref FROM catalog_relations", NULL, 0,
                           on_relation, x, err);
    if (rc) {
        gh_catalog_index_free(x);
        return NULL;
    }
    if (x->npairs)
        qsort(x->pairs, x->npairs, sizeof(struct pair),
              cmp_pair); /* stable enough: order within an entity is free */
    x->pair_start = gh_calloc(x->n + 1, sizeof(size_t));
    for (size_t i = 0, e = 0; e <= x->n; e++) {
        while (i < x->npairs && x->pairs[i].ord < e)
            i++;
        x->pair_start[e] = i;
    }
    /* postings of the search pairs, in ordinal order (so each list is sorted) */
    for (uint32_t e = 0; e < x->n; e++)
        for (size_t i = x->pair_start[e]; i < x->pair_start[e + 1]; i++) {
            const struct pair *p = &x->pairs[i];
            const char *key = x->keys.s[p->key];
            struct list *l = posting(x, key, NULL, 1);
            if (l)
                list_add(l, e);
            if (p->value != UINT32_MAX && (l = posting(x, key, x->vals.s[p->value], 1)) != NULL)
                list_add(l, e);
        }
    /* relation postings came in any order */
    for (size_t i = 0; i < x->nlists; i++)
        if (x->lists[i].n > 1) {
            qsort(x->lists[i].v, x->lists[i].n, sizeof(uint32_t), cmp_u32);
            size_t w = 1;
            for (size_t k = 1; k < x->lists[i].n; k++)
                if (x->lists[i].v[k] != x->lists[i].v[w - 1])
                    x->lists[i].v[w++] = x->lists[i].v[k];
            x->lists[i].n = w;
        }
    x->val_rank = ranks(&x->vals);
    x->orig_rank = ranks(&x->origs);
    return x;
}

int64_t gh_catalog_index_generation(const struct gh_catalog_index *x)
{
    return x->generation;
}

/* ---- evaluating ---- */

static void intersect(struct list *a, const struct list *b)
{
    size_t i = 0, j = 0, w = 0;
    while (i < a->n && j < b->n) {
        if (a->v[i] < b->v[j])
            i++;
        else if (a->v[i] > b->v[j])
            j++;
        else {
            a->v[w++] = a->v[i];
            i++;
            j++;
        }
    }
    a->n = w;
}

static void unite(struct list *a, const struct list *b)
{
    uint32_t *out = gh_malloc((a->n + b->n + 1) * sizeof(uint32_t));
    size_t i = 0, j = 0, w = 0;
    while (i < a->n || j < b->n) {
        if (j == b->n || (i < a->n && a->v[i] < b->v[j]))
            out[w++] = a->v[i++];
        else if (i == a->n || b->v[j] < a->v[i])
            out[w++] = b->v[j++];
        else {
            out[w++] = a->v[i++];
            j++;
        }
    }
    free(a->v);
    a->v = out;
    a->n = a->cap = w;
}

static void copy(struct list *a, const struct list *b)
{
    a->v = gh_malloc((b->n + 1) * sizeof(uint32_t));
    if (b->n)
        memcpy(a->v, b->v, b->n * sizeof(uint32_t));
    a->n = a->cap = b->n;
}

static const struct list empty_list = {NULL, 0, 0};

static const struct list *lookup(struct gh_catalog_index *x, const char *key, const char *value)
{
    const struct list *l = posting(x, key, value, 0);
    return l ? l : &empty_list;
}

/* The ordinals a filter matches (all when it has no groups). */
static struct list evaluate(struct gh_catalog_index *x, const struct gh_filter *f)
{
    struct list out = {0};
    if (f == NULL || f->ngroups == 0) {
        out.v = gh_malloc((x->n + 1) * sizeof(uint32_t));
        for (size_t i = 0; i < x->n; i++)
            out.v[i] = (uint32_t)i;
        out.n = out.cap = x->n;
        return out;
    }
    for (size_t g = 0; g < f->ngroups; g++) {
        const struct gh_filter_group *grp = &f->groups[g];
        struct list acc = {0};
        int first = 1;
        if (grp->nconds == 0) {
            struct list all = evaluate(x, NULL);
            unite(&out, &all);
            free(all.v);
            continue;
        }
        for (size_t i = 0; i < grp->nconds; i++) {
            const struct gh_filter_cond *c = &grp->conds[i];
            struct list cond = {0};
            if (c->nvalues == 0) {
                copy(&cond, lookup(x, c->key, NULL));
            } else {
                for (size_t k = 0; k < c->nvalues; k++)
                    unite(&cond, lookup(x, c->key, c->values[k]));
            }
            if (first) {
                acc = cond;
                first = 0;
            } else {
                intersect(&acc, &cond);
                free(cond.v);
            }
            if (acc.n == 0)
                break;
        }
        unite(&out, &acc);
        free(acc.v);
    }
    return out;
}

static int has_text(struct gh_catalog_index *x, uint32_t e, const uint32_t *keys, size_t nkeys,
                    const char *term)
{
    for (size_t i = x->pair_start[e]; i < x->pair_start[e + 1]; i++) {
        const struct pair *p = &x->pairs[i];
        if (p->value == UINT32_MAX)
            continue;
        for (size_t k = 0; k < nkeys; k++)
            if (p->key == keys[k] && strstr(x->vals.s[p->value], term))
                return 1;
    }
    return 0;
}

/* The sort rank of an entity under a key: its smallest value's rank, or past every value (missing). */
static uint32_t sort_rank(struct gh_catalog_index *x, uint32_t e, uint32_t key)
{
    uint32_t best = UINT32_MAX;
    for (size_t i = x->pair_start[e]; i < x->pair_start[e + 1]; i++) {
        const struct pair *p = &x->pairs[i];
        if (p->key == key && p->value != UINT32_MAX && x->val_rank[p->value] < best)
            best = x->val_rank[p->value];
    }
    return best;
}

struct ranked {
    uint32_t rank, ord;
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

int gh_catalog_index_query(struct gh_catalog_index *x, const struct gh_catalog_query *q, uint32_t **page,
                           size_t *npage, size_t *total)
{
    struct list m = evaluate(x, q->filter);
    if (q->text && q->text[0]) {
        char term[256];
        size_t tl = 0;
        for (const char *p = q->text; *p && tl + 1 < sizeof(term); p++)
            term[tl++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        term[tl] = '\0';
        uint32_t keys[16];
        size_t nkeys = 0;
        if (q->ntext_keys == 0) {
            uint32_t k = intern(&x->keys, "metadata.name", 13, 0);
            if (k != UINT32_MAX)
                keys[nkeys++] = k;
        }
        for (size_t i = 0; i < q->ntext_keys && nkeys < 16; i++) {
            uint32_t k = intern(&x->keys, q->text_keys[i], strlen(q->text_keys[i]), 0);
            if (k != UINT32_MAX)
                keys[nkeys++] = k;
        }
        size_t w = 0;
        if (nkeys == 1 && !column(x, keys[0])->multi) {
            /* one single-valued key: each distinct value is tested once */
            const struct column *c = column(x, keys[0]);
            if (x->matched == NULL)
                x->matched = gh_malloc(x->vals.n + 1);
            memset(x->matched, -1, x->vals.n + 1);
            for (size_t i = 0; i < m.n; i++) {
                uint32_t v = c->value[m.v[i]];
                if (v == UINT32_MAX)
                    continue;
                if (x->matched[v] < 0)
                    x->matched[v] = strstr(x->vals.s[v], term) != NULL;
                if (x->matched[v])
                    m.v[w++] = m.v[i];
            }
        } else {
            for (size_t i = 0; i < m.n; i++)
                if (has_text(x, m.v[i], keys, nkeys, term))
                    m.v[w++] = m.v[i];
        }
        m.n = w;
    }
    *total = m.n;
    size_t from = q->offset < m.n ? q->offset : m.n;
    size_t want = q->limit ? q->limit : m.n;
    if (want > m.n - from)
        want = m.n - from;
    /* ordinals are in ref order: that order needs no sorting; "metadata.name" and others rank */
    uint32_t key = UINT32_MAX;
    if (q->order_key && strcmp(q->order_key, "ref") != 0) {
        key = intern(&x->keys, q->order_key, strlen(q->order_key), 0);
        if (key == UINT32_MAX)
            key = UINT32_MAX - 1; /* nobody has it: every rank equal, ref order */
    }
    uint32_t *out = gh_malloc((want + 1) * sizeof(uint32_t));
    if (key == UINT32_MAX) {
        for (size_t i = 0; i < want; i++)
            out[i] = q->order_desc ? m.v[m.n - 1 - from - i] : m.v[from + i];
    } else {
        struct ranked *r = gh_malloc((m.n + 1) * sizeof(*r));
        const struct column *col = key == UINT32_MAX - 1 ? NULL : column(x, key);
        for (size_t i = 0; i < m.n; i++) {
            uint32_t rk = 0;
            if (col && !col->multi)
                rk = col->value[m.v[i]] == UINT32_MAX ? UINT32_MAX : x->val_rank[col->value[m.v[i]]];
            else if (col)
                rk = sort_rank(x, m.v[i], key);
            /* descending: ranks reversed, missing values still last, ties in ref order */
            if (q->order_desc && rk != UINT32_MAX)
                rk = UINT32_MAX - 1 - rk;
            r[i] = (struct ranked){rk, m.v[i]};
        }
        if (m.n)
            qsort(r, m.n, sizeof(*r), cmp_ranked);
        for (size_t i = 0; i < want; i++)
            out[i] = r[from + i].ord;
        free(r);
    }
    free(m.v);
    *page = out;
    *npage = want;
    return 0;
}

const char *gh_catalog_index_uid(const struct gh_catalog_index *x, uint32_t ordinal)
{
    return ordinal < x->n ? x->uid[ordinal] : NULL;
}

struct facet_count {
    uint32_t orig, count;
};

static int cmp_facet(const void *a, const void *b, void *strings)
{
    const struct facet_count *p = a, *q = b;
    char **s = strings;
    return strcmp(s[p->orig], s[q->orig]);
}

struct gh_json *gh_catalog_index_facets(struct gh_catalog_index *x, const struct gh_filter *f,
                                        const char *const *keys, size_t nkeys)
{
    struct list m = evaluate(x, f);
    struct gh_json *out = gh_json_object(), *facets = gh_json_object();
    gh_json_set(out, "facets", facets);
    uint32_t *counts = gh_calloc(x->origs.n + 1, sizeof(uint32_t)),
             *last = gh_malloc((x->origs.n + 1) * sizeof(uint32_t));
    for (size_t k = 0; k < nkeys; k++) {
        char lk[512];
        snprintf(lk, sizeof(lk), "%s", keys[k]);
        for (char *p = lk; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        uint32_t key = intern(&x->keys, lk, strlen(lk), 0);
        struct gh_json *arr = gh_json_array();
        gh_json_set(facets, keys[k], arr);
        if (key == UINT32_MAX)
            continue;
        memset(last, 0xff, (x->origs.n + 1) * sizeof(uint32_t));
        struct facet_count *seen = NULL;
        size_t nseen = 0;
        for (size_t i = 0; i < m.n; i++) {
            uint32_t e = m.v[i];
            for (size_t j = x->pair_start[e]; j < x->pair_start[e + 1]; j++) {
                const struct pair *p = &x->pairs[j];
                if (p->key != key || p->orig == UINT32_MAX || last[p->orig] == e)
                    continue; /* an entity counts once per value */
                last[p->orig] = e;
                if (counts[p->orig]++ == 0) {
                    seen = gh_realloc(seen, (nseen + 1) * sizeof(*seen));
                    seen[nseen++] = (struct facet_count){p->orig, 0};
                }
            }
        }
        for (size_t i = 0; i < nseen; i++) {
            seen[i].count = counts[seen[i].orig];
            counts[seen[i].orig] = 0;
        }
        if (nseen)
            qsort_r(seen, nseen, sizeof(*seen), cmp_facet, x->origs.s);
        for (size_t i = 0; i < nseen; i++) {
            struct gh_json *o = gh_json_object();
            const char *v = x->origs.s[seen[i].orig];
            gh_json_set(o, "value", gh_json_string(v, strlen(v)));
            gh_json_set(o, "count", gh_json_int(seen[i].count));
            gh_json_append(arr, o);
        }
        free(seen);
    }
    free(counts);
    free(last);
    free(m.v);
    return out;
}

static int on_word(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct gh_catalog_index *x = ctx;
    if (n < 1 || c[0].type != GH_VAL_TEXT || c[0].len < 3 || c[0].len > 63)
        return 0;
    int letters = 0;
    for (size_t i = 0; i < c[0].len; i++)
        letters |= (c[0].p[i] >= 'a' && c[0].p[i] <= 'z') || (unsigned char)c[0].p[i] >= 0x80;
    if (!letters)
        return 0; /* numbers are not mistyped words */
    if ((x->nwords & (x->nwords + 1)) == 0 || x->nwords == 0)
        x->words = gh_realloc(x->words, (x->nwords * 2 + 2) * sizeof(char *));
    char *w = gh_malloc(c[0].len + 1);
    memcpy(w, c[0].p, c[0].len);
    w[c[0].len] = '\0';
    x->words[x->nwords++] = w;
    return 0;
}

size_t gh_catalog_index_words(struct gh_catalog_index *x, struct gh_store *s, const char *const **words)
{
    if (!x->have_words) {
        x->have_words = 1;
        s->ops->search_words(s, on_word, x, NULL);
    }
    *words = (const char *const *)x->words;
    return x->nwords;
}
