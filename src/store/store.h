/*
 * store: where the control plane keeps its state. One interface (struct gh_store_ops) with a driver
 * per database: SQLite now (the embedded default), PostgreSQL later. SQL handed to the store is kept
 * portable: parameters are written $1, $2, ... (PostgreSQL's form, which SQLite also accepts), and no
 * driver-specific syntax appears outside the driver's own file.
 *
 * Opening a store applies the numbered migrations embedded in the binary, each in its own
 * transaction; a database written by a newer Gatehouse is refused. Only the control thread uses the
 * store: the gateway's request path never does.
 */
#ifndef GH_STORE_H
#define GH_STORE_H

#include "../base/base.h"

enum gh_store_type { GH_VAL_NULL = 0, GH_VAL_INT, GH_VAL_TEXT, GH_VAL_BLOB };

/* A parameter or a column value. Text and blobs are borrowed (valid during the call / row callback). */
struct gh_store_val {
    int type;
    int64_t i;
    const char *p;
    size_t len;
};

#define GH_VNULL ((struct gh_store_val){.type = GH_VAL_NULL})
#define GH_VINT(x) ((struct gh_store_val){.type = GH_VAL_INT, .i = (x)})
#define GH_VTEXT(s) ((struct gh_store_val){.type = GH_VAL_TEXT, .p = (s), .len = strlen(s)})

/* Called once per result row; return non-zero to stop (gh_store_exec then returns that value). */
typedef int (*gh_store_row_fn)(void *ctx, const struct gh_store_val *cols, size_t ncols);

struct gh_store;

struct gh_store_ops {
    const char *driver;
    /* opens the database named by target (a path for sqlite); err says why not */
    int (*open)(const char *target, struct gh_store **out, struct gh_err *err);
    void (*close)(struct gh_store *s);
    /* one statement with $n parameters; rows (if any) go to fn */
    int (*exec)(struct gh_store *s, const char *sql, const struct gh_store_val *params, size_t nparams,
                gh_store_row_fn fn, void *ctx, struct gh_err *err);
    /* several statements without parameters (migrations) */
    int (*script)(struct gh_store *s, const char *sql, struct gh_err *err);
    /* a write transaction: taken at begin, so two writers never deadlock on an upgrade */
    int (*begin)(struct gh_store *s, struct gh_err *err);
    int (*commit)(struct gh_store *s, struct gh_err *err);
    void (*rollback)(struct gh_store *s);
    int (*in_transaction)(struct gh_store *s);

    /*
     * The catalog's full-text index, which each database does its own way (SQLite: FTS5). A document
     * has an id (a catalog entity's uid: the entity row must exist while it is indexed or dropped), a
     * kind to filter on and GH_SEARCH_COLS text columns (see below); queries give the best match first.
     */
    /* indexes a document; one already indexed under the id must be dropped first */
    int (*search_put)(struct gh_store *s, const char *id, const char *kind, const char *const *cols,
                      struct gh_err *err);
    int (*search_del)(struct gh_store *s, const char *id, struct gh_err *err);
    /* terms are lower-case words, each matched as a prefix, all required; rows: id, snippet */
    int (*search_query)(struct gh_store *s, const char *const *terms, size_t nterms, const char *kind,
                        size_t limit, gh_store_row_fn fn, void *ctx, struct gh_err *err);
    /* every distinct indexed word (for typo correction); rows: word */
    int (*search_words)(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err);
};

/* The text columns of a search document, in order. */
enum {
    GH_SEARCH_NAME,
    GH_SEARCH_TITLE,
    GH_SEARCH_DESCRIPTION,
    GH_SEARCH_TAGS,
    GH_SEARCH_OWNER,
    GH_SEARCH_OPERATIONS,
    GH_SEARCH_COLS
};

/* Every driver's handle starts with this. */
struct gh_store {
    const struct gh_store_ops *ops;
    int schema_version; /* after gh_store_open: the version the database is at */
    /* a derived copy a module keeps next to the store (the catalog's query index), freed on close */
    void *cache;
    void (*cache_free)(void *cache);
};

struct gh_store_config {
    const char *driver; /* "sqlite" */
    const char *path;   /* sqlite: the database file */
};

/* Opens the store and brings its schema up to date. Returns 0, or GH_EINVAL/GH_EIO with err set. */
int gh_store_open(const struct gh_store_config *cfg, struct gh_store **out, struct gh_err *err);
void gh_store_close(struct gh_store *s); /* accepts NULL */

int gh_store_exec(struct gh_store *s, const char *sql, const struct gh_store_val *params, size_t nparams,
                  gh_store_row_fn fn, void *ctx, struct gh_err *err);
int gh_store_begin(struct gh_store *s, struct gh_err *err);
int gh_store_commit(struct gh_store *s, struct gh_err *err);
void gh_store_rollback(struct gh_store *s);
int gh_store_in_transaction(struct gh_store *s);

/* The first column of the first row as text, into buf (cap bytes, truncated). Returns 1 when there
 * was a row, 0 when none, or the store's error. */
int gh_store_first_text(struct gh_store *s, const char *sql, const struct gh_store_val *params,
                        size_t nparams, char *buf, size_t cap, struct gh_err *err);

/* A column's text into dst (cap bytes, truncated, NUL-terminated; "" when not text). */
void gh_store_val_text(const struct gh_store_val *v, char *dst, size_t cap);

/* The newest schema version this binary knows. */
int gh_store_schema_latest(void);

extern const struct gh_store_ops gh_store_sqlite;

#endif
