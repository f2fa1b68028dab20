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
#include <unistd.h>

struct sqlite_store {
    struct gh_store base;
    sqlite3 *db;
    char *path;
};

static int fail(struct sqlite_store *s, struct gh_err *err, const char *what)
{
    return gh_err_set(err, GH_EIO, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static void sq_close(struct gh_store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
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

static int sq_exec(struct gh_store *base, const char *sql, const struct gh_store_val *params, size_t nparams,
                   gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3_stmt *st = NULL;
    int rc = GH_EIO;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
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
                cols[c] = (struct gh_store_val){.type = GH_VAL_TEXT, .p = (const char *)sqlite3_column_text(st, c)};
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
    sqlite3_finalize(st);
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

static int on_text(void *ctx, const struct gh_store_val *cols, size_t n)
{
    char *out = ctx;
    if (n >= 1 && cols[0].type == GH_VAL_TEXT)
        snprintf(out, 16, "%.*s", (int)cols[0].len, cols[0].p);
    return 0;
}

static int sq_open(const char *path, struct gh_store **out, struct gh_err *err)
{
    /* create it private before SQLite does (which would use the umask); its -wal/-shm follow its mode */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return gh_err_set(err, GH_EIO, "%s: cannot open the database: %s", path, strerror(errno));
    close(fd);
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
        rc = sq_script(&s->base, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;", err);
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

const struct gh_store_ops gh_store_sqlite = {
    .driver = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .script = sq_script,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
};
