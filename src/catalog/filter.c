/*
 * filter.c: Backstage's entity filter syntax, as the catalog REST API takes it in query strings.
 *
 *   filter=kind=component,spec.type=service    one filter: every condition must hold (AND)
 *   filter=kind=api&filter=kind=component      several filters: any may match (OR)
 *   filter=kind=api,kind=component             the same key twice in one filter: any of the values
 *   filter=metadata.annotations.x              a key alone: the key exists
 *
 * Keys and values are matched without regard to case. Input is bounded (conditions, values, lengths)
 * so a hostile query cannot make the store's statement arbitrarily large.
 */
#include "catalog.h"

#include <stdlib.h>
#include <string.h>

#define MAX_VALUES 64
#define MAX_PART 1024

static char *lower_dup(const char *p, size_t len)
{
    char *s = gh_malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        s[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    s[len] = '\0';
    return s;
}

static void trim(const char **p, size_t *len)
{
    while (*len && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*len)--;
    }
    while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t'))
        (*len)--;
}

int gh_filter_add(struct gh_filter *f, const char *text, size_t len, struct gh_err *err)
{
    if (f->ngroups == GH_FILTER_MAX_GROUPS)
        return gh_err_set(err, GH_EINVAL, "filter: at most %d filter parameters", GH_FILTER_MAX_GROUPS);
    struct gh_filter_group g = {0};
    const char *end = text + len;
    for (const char *p = text, *comma = text; comma != end; p = comma + 1) {
        comma = memchr(p, ',', (size_t)(end - p));
        if (comma == NULL)
            comma = end;
        const char *part = p;
        size_t plen = (size_t)(comma - p);
        trim(&part, &plen);
        if (plen == 0)
            continue; /* Backstage ignores empty parts ("a=b,,c=d") */
        if (plen > MAX_PART) {
            gh_filter_group_free(&g);
            return gh_err_set(err, GH_EINVAL, "filter: a condition is longer than %d bytes", MAX_PART);
        }
        const char *eq = memchr(part, '=', plen);
        const char *key = part, *value = NULL;
        size_t klen = eq ? (size_t)(eq - part) : plen, vlen = 0;
        if (eq) {
            value = eq + 1;
            vlen = plen - klen - 1;
            trim(&value, &vlen);
        }
        trim(&key, &klen);
        if (klen == 0) {
            gh_filter_group_free(&g);
            return gh_err_set(err, GH_EINVAL, "filter: '%.*s' has no key before '='", (int)plen, part);
        }
        char *lk = lower_dup(key, klen);
        struct gh_filter_cond *c = NULL;
        for (size_t i = 0; i < g.nconds; i++)
            if (strcmp(g.conds[i].key, lk) == 0)
                c = &g.conds[i];
        if (c == NULL) {
            if (g.nconds == GH_FILTER_MAX_CONDS) {
                free(lk);
                gh_filter_group_free(&g);
                return gh_err_set(err, GH_EINVAL, "filter: at most %d keys in one filter",
                                  GH_FILTER_MAX_CONDS);
            }
            c = &g.conds[g.nconds++];
            *c = (struct gh_filter_cond){.key = lk};
        } else {
            free(lk);
        }
        if (eq == NULL) {
            c->exists = 1;
            continue;
        }
        if (c->nvalues == MAX_VALUES) {
            gh_filter_group_free(&g);
            return gh_err_set(err, GH_EINVAL, "filter: at most %d values for one key", MAX_VALUES);
        }
        c->values = gh_realloc(c->values, (c->nvalues + 1) * sizeof(*c->values));
        c->values[c->nvalues++] = lower_dup(value, vlen);
    }
    f->groups[f->ngroups++] = g;
    return 0;
}

void gh_filter_group_free(struct gh_filter_group *g)
{
    for (size_t i = 0; i < g->nconds; i++) {
        free(g->conds[i].key);
        for (size_t k = 0; k < g->conds[i].nvalues; k++)
            free(g->conds[i].values[k]);
        free(g->conds[i].values);
    }
    g->nconds = 0;
}

void gh_filter_free(struct gh_filter *f)
{
    for (size_t i = 0; i < f->ngroups; i++)
        gh_filter_group_free(&f->groups[i]);
    f->ngroups = 0;
}
