/*
 * sqlite.c: the embedded store. WAL so readers never wait for the writer, foreign keys on, a busy
 * timeout instead of immediate SQLITE_BUSY, and synchronous=FULL: what Gatehouse stores (grants,
 * keys' hashes, the audit chain) must survive a power cut. The file is created 0600.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define STMT_CACHE 64

struct sqlite_store {
    struct gh_store base;
    sqlite3 *db;
    char *path;
    /* prepared statements by SQL text: the catalog runs the same few statements thousands of times */
    struct {
        char *sql;
        sqlite3_stmt *st;
    } cache[STMT_CACHE];
    unsigned next_evict;
};

static int fail(struct sqlite_store *s, struct gh_err *err, const char *what)
{
    return gh_err_set(err, GH_EIO, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static void sq_close(struct gh_store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    for (size_t i = 0; i < STMT_CACHE; i++) {
        sqlite3_finalize(s->cache[i].st);
        free(s->cache[i].sql);
    }
    sqlite3_close_v2(s->db);
    free(s->path);
    free(s);
}

static int sq_script(struct gh_store *base, const char *sql, struct gh_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        gh_err_set(err, GH_EIO, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return GH_EIO;
    }
    return 0;
}

/*
 * A prepared statement for sql: from the cache, or newly made and cached (evicting round robin).
 * A statement still stepping (a row callback running another query) is never evicted or shared:
 * a nested use of the same SQL gets its own statement, which *owned tells the caller to finalize.
 */
static sqlite3_stmt *prepare(struct sqlite_store *s, const char *sql, int *owned)
{
    *owned = 0;
    int busy_match = 0;
    for (size_t i = 0; i < STMT_CACHE; i++)
        if (s->cache[i].sql && strcmp(s->cache[i].sql, sql) == 0) {
            if (!sqlite3_stmt_busy(s->cache[i].st))
                return s->cache[i].st;
            busy_match = 1;
        }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return NULL;
    for (size_t tries = 0; !busy_match && tries < STMT_CACHE; tries++) {
        size_t slot = s->next_evict++ % STMT_CACHE;
        if (s->cache[slot].st && sqlite3_stmt_busy(s->cache[slot].st))
            continue;
        sqlite3_finalize(s->cache[slot].st);
        free(s->cache[slot].sql);
        s->cache[slot].sql = gh_strdup(sql);
        s->cache[slot].st = st;
        return st;
    }
    *owned = 1;
    return st;
}

static int sq_exec(struct gh_store *base, const char *sql, const struct gh_store_val *params, size_t nparams,
                   gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    int rc = GH_EIO;
    int owned;
    sqlite3_stmt *st = prepare(s, sql, &owned);
    if (st == NULL)
        return fail(s, err, "prepare");
    if ((size_t)sqlite3_bind_parameter_count(st) != nparams) {
        rc = gh_err_set(err, GH_EINVAL, "%s: statement takes %d parameters, given %zu", s->path,
                        sqlite3_bind_parameter_count(st), nparams);
        goto out;
    }
    for (size_t i = 0; i < nparams; i++) {
        char name[24];
        snprintf(name, sizeof(name), "$%zu", i + 1);
        int idx = sqlite3_bind_parameter_index(st, name);
        if (idx == 0) {
            rc = gh_err_set(err, GH_EINVAL, "%s: statement does not use %s", s->path, name);
            goto out;
        }
        const struct gh_store_val *v = &params[i];
        int b = SQLITE_OK;
        switch (v->type) {
        case GH_VAL_INT:
            b = sqlite3_bind_int64(st, idx, v->i);
            break;
        case GH_VAL_TEXT:
            b = sqlite3_bind_text(st, idx, v->p, (int)v->len, SQLITE_TRANSIENT);
            break;
        case GH_VAL_BLOB:
            b = sqlite3_bind_blob(st, idx, v->p, (int)v->len, SQLITE_TRANSIENT);
            break;
        default:
            b = sqlite3_bind_null(st, idx);
        }
        if (b != SQLITE_OK) {
            rc = fail(s, err, "bind");
            goto out;
        }
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = fail(s, err, "step");
            goto out;
        }
        if (fn == NULL)
            continue;
        struct gh_store_val cols[32];
        int n = sqlite3_column_count(st);
        if (n > (int)GH_ARRAY_SIZE(cols)) {
            rc = gh_err_set(err, GH_EINVAL, "%s: more than %zu columns", s->path, GH_ARRAY_SIZE(cols));
            goto out;
        }
        for (int c = 0; c < n; c++) {
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_INTEGER:
                cols[c] = GH_VINT(sqlite3_column_int64(st, c));
                break;
            case SQLITE_NULL:
                cols[c] = GH_VNULL;
                break;
            case SQLITE_BLOB:
                cols[c] = (struct gh_store_val){.type = GH_VAL_BLOB, .p = sqlite3_column_blob(st, c)};
                cols[c].len = (size_t)sqlite3_column_bytes(st, c);
                break;
            default: /* text, and floats as their text */
                cols[c] =
                    (struct gh_store_val){.type = GH_VAL_TEXT, .p = (const char *)sqlite3_column_text(st, c)};
                cols[c].len = (size_t)sqlite3_column_bytes(st, c);
            }
        }
        int stop = fn(ctx, cols, (size_t)n);
        if (stop) {
            rc = stop;
            goto out;
        }
    }
    rc = 0;
out:
    if (owned) {
        sqlite3_finalize(st);
    } else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    return rc;
}

static int sq_begin(struct gh_store *base, struct gh_err *err)
{
    return sq_script(base, "BEGIN IMMEDIATE", err);
}

static int sq_commit(struct gh_store *base, struct gh_err *err)
{
    return sq_script(base, "COMMIT", err);
}

static void sq_rollback(struct gh_store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_in_transaction(struct gh_store *base)
{
    return !sqlite3_get_autocommit(((struct sqlite_store *)base)->db);
}

static int on_text(void *ctx, const struct gh_store_val *cols, size_t n)
{
    char *out = ctx;
    if (n >= 1 && cols[0].type == GH_VAL_TEXT)
        snprintf(out, 16, "%.*s", (int)cols[0].len, cols[0].p);
    return 0;
}

static int sq_open(const char *path, struct gh_store **out, struct gh_err *err)
{
    /*
     * Create it private before SQLite does (which would use the umask); its -wal/-shm follow its mode.
     * Only when it does not exist: closing any descriptor of a file drops every POSIX lock this
     * process holds on it, including those of connections already open, which would let another
     * process delete the WAL under them.
     */
    struct stat st;
    if (stat(path, &st) != 0) {
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return gh_err_set(err, GH_EIO, "%s: cannot open the database: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    struct sqlite_store *s = gh_calloc(1, sizeof(*s));
    s->path = gh_strdup(path);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        int rc = fail(s, err, "open");
        sq_close(&s->base);
        return rc;
    }
    sqlite3_busy_timeout(s->db, 5000);
    sqlite3_extended_result_codes(s->db, 1);
    char mode[16] = "";
    int rc = sq_exec(&s->base, "PRAGMA journal_mode = WAL", NULL, 0, on_text, mode, err);
    if (rc == 0 && strcmp(mode, "wal") != 0)
        rc = gh_err_set(err, GH_EIO, "%s: cannot switch to WAL (journal mode is '%s')", path, mode);
    if (rc == 0)
        rc = sq_script(&s->base,
                       "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536;",
                       err);
    if (rc == 0) {
        /* a file that is not a database fails here, with SQLite's own words for it */
        rc = sq_script(&s->base, "SELECT count(*) FROM sqlite_master", err);
    }
    if (rc) {
        sq_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* An FTS5 table finds rows fast only by rowid, so a document's rowid is its entity's. */
static int sq_search_del(struct gh_store *base, const char *id, struct gh_err *err)
{
    struct gh_store_val p[] = {GH_VTEXT(id)};
    return sq_exec(
        base, "DELETE FROM catalog_fts WHERE rowid = (SELECT rowid FROM catalog_entities WHERE uid = $1)", p,
        1, NULL, NULL, err);
}

static int sq_search_put(struct gh_store *base, const char *id, const char *kind, const char *const *cols,
                         struct gh_err *err)
{
    struct gh_store_val p[2 + GH_SEARCH_COLS] = {GH_VTEXT(id), GH_VTEXT(kind)};
    for (size_t i = 0; i < GH_SEARCH_COLS; i++)
        p[2 + i] = cols[i] ? GH_VTEXT(cols[i]) : GH_VNULL;
    return sq_exec(
        base,
        "INSERT INTO catalog_fts (rowid, uid, kind, name, title, description, tags, owner, operations) "
        "VALUES ((SELECT rowid FROM catalog_entities WHERE uid = $1), $1, $2, $3, $4, $5, $6, $7, $8)",
        p, GH_ARRAY_SIZE(p), NULL, NULL, err);
}

static int sq_search_query(struct gh_store *base, const char *const *terms, size_t nterms, const char *kind,
                           size_t limit, gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    /* each term quoted (so FTS5 operators in it are plain text) and matched as a prefix; the kind, an
     * indexed column of its own, narrows the matches before they are ranked */
    size_t cap = 32 + (kind ? strlen(kind) * 2 : 0);
    for (size_t i = 0; i < nterms; i++)
        cap += strlen(terms[i]) * 2 + 5;
    char *match = gh_malloc(cap), *w = match;
    if (kind && kind[0]) {
        w += sprintf(w, "kind : \"");
        for (const char *t = kind; *t; t++) {
            if (*t == '"')
                *w++ = '"';
            *w++ = *t;
        }
        w += sprintf(w, "\" AND ");
    }
    for (size_t i = 0; i < nterms; i++) {
        if (i)
            *w++ = ' ';
        *w++ = '"';
        for (const char *t = terms[i]; *t; t++) {
            if (*t == '"')
                *w++ = '"';
            *w++ = *t;
        }
        *w++ = '"';
        *w++ = '*';
        if (i + 1 < nterms)
            w += sprintf(w, " AND");
    }
    *w = '\0';
    struct gh_store_val p[] = {GH_VTEXT(match), GH_VINT((int64_t)limit)};
    /* bm25 weights per column: uid (unindexed), kind (a filter, not a match), name, title, description,
     * tags, owner, operations */
    int rc = sq_exec(
        base,
        "SELECT uid, snippet(catalog_fts, -1, '', '', '...', 16) FROM catalog_fts "
        "WHERE catalog_fts MATCH $1 ORDER BY bm25(catalog_fts, 0, 0, 10.0, 8.0, 2.0, 4.0, 2.0, 1.0) LIMIT $2",
        p, GH_ARRAY_SIZE(p), fn, ctx, err);
    free(match);
    return rc;
}

static int sq_search_words(struct gh_store *base, gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    return sq_exec(base, "SELECT term FROM catalog_fts_vocab", NULL, 0, fn, ctx, err);
}

const struct gh_store_ops gh_store_sqlite = {
    .driver = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .script = sq_script,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_transaction = sq_in_transaction,
    .search_put = sq_search_put,
    .search_del = sq_search_del,
    .search_query = sq_search_query,
    .search_words = sq_search_words,
};
