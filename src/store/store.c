/*
 * store.c: driver selection, opening with migrations, and the thin calls the rest of the code uses.
 */
#include "internal.h"

#include <stdio.h>

int gh_store_open(const struct gh_store_config *cfg, struct gh_store **out, struct gh_err *err)
{
    const struct gh_store_ops *ops = NULL;
    if (strcmp(cfg->driver, "sqlite") == 0)
        ops = &gh_store_sqlite;
    else
        return gh_err_set(err, GH_EINVAL, "store.driver: '%s' is not supported (sqlite)", cfg->driver);
    struct gh_store *s = NULL;
    int rc = ops->open(cfg->path, &s, err);
    if (rc)
        return rc;
    s->ops = ops;
    if ((rc = gh__store_migrate(s, cfg->path, err)) != 0) {
        ops->close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void gh_store_close(struct gh_store *s)
{
    if (s == NULL)
        return;
    if (s->cache_free)
        s->cache_free(s->cache);
    s->ops->close(s);
}

int gh_store_exec(struct gh_store *s, const char *sql, const struct gh_store_val *params, size_t nparams,
                  gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    return s->ops->exec(s, sql, params, nparams, fn, ctx, err);
}

struct first_text {
    char *buf;
    size_t cap;
    int found;
};

static int on_first_text(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct first_text *t = ctx;
    if (n >= 1 && c[0].type == GH_VAL_TEXT) {
        snprintf(t->buf, t->cap, "%.*s", (int)c[0].len, c[0].p);
        t->found = 1;
    }
    return 1; /* the first row is enough */
}

int gh_store_first_text(struct gh_store *s, const char *sql, const struct gh_store_val *params,
                        size_t nparams, char *buf, size_t cap, struct gh_err *err)
{
    struct first_text t = {buf, cap, 0};
    if (cap)
        buf[0] = '\0';
    int rc = s->ops->exec(s, sql, params, nparams, on_first_text, &t, err);
    return rc < 0 ? rc : t.found;
}

int gh_store_begin(struct gh_store *s, struct gh_err *err)
{
    return s->ops->begin(s, err);
}

int gh_store_commit(struct gh_store *s, struct gh_err *err)
{
    return s->ops->commit(s, err);
}

void gh_store_rollback(struct gh_store *s)
{
    s->ops->rollback(s);
}

int gh_store_in_transaction(struct gh_store *s)
{
    return s->ops->in_transaction(s);
}

void gh_store_val_text(const struct gh_store_val *v, char *dst, size_t cap)
{
    size_t n = v->type == GH_VAL_TEXT ? (v->len < cap ? v->len : cap - 1) : 0;
    if (n)
        memcpy(dst, v->p, n);
    dst[n] = '\0';
}
