/*
 * session.c: see session.h.
 */
#include "session.h"

#include "../audit/audit.h"
#include "../base/json.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOUCH_EVERY_MS 60000

static struct gh_json *str(const char *s)
{
    struct gh_json *j = gh_json_string(s, strlen(s));
    return j ? j : gh_json_string("", 0);
}

struct create {
    const struct gh_session_new *n;
    uint64_t now_ms;
    char id[GH_TOKEN_LEN + 1], csrf[GH_TOKEN_LEN + 1];
};

static int do_create(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct create *c = ctx;
    const struct gh_session_new *n = c->n;
    if (gh_random_token(c->id) != 0 || gh_random_token(c->csrf) != 0)
        return gh_err_set(err, GH_EINTERNAL, "no randomness for a session");
    char hash[65];
    gh_sha256_hex(c->id, GH_TOKEN_LEN, hash);
    struct gh_json *groups = gh_json_array();
    for (size_t i = 0; i < n->ngroups; i++)
        gh_json_append(groups, str(n->groups[i]));
    char *gj = gh_json_dump(groups, 0);
    struct gh_store_val p[] = {GH_VTEXT(hash),
                               GH_VTEXT(n->user),
                               GH_VTEXT(n->name ? n->name : ""),
                               GH_VTEXT(n->email ? n->email : ""),
                               GH_VTEXT(gh_role_name(n->role)),
                               GH_VTEXT(gj),
                               GH_VTEXT(c->csrf),
                               GH_VTEXT(n->logout_url ? n->logout_url : ""),
                               GH_VINT((int64_t)c->now_ms)};
    int rc =
        gh_store_exec(s,
                      "INSERT INTO sessions (id_hash, user_ref, name, email, role, groups, csrf, logout_url, "
                      "created_ms, seen_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                      p, GH_ARRAY_SIZE(p), NULL, NULL, err);
    free(gj);
    gh_json_set(d, "target", str(n->user));
    gh_json_set(d, "role", str(gh_role_name(n->role)));
    gh_json_set(d, "groups", groups);
    gh_json_set(d, "via", str(n->how ? n->how : "oidc"));
    gh_json_set(d, "session", gh_json_string(hash, 12)); /* enough to follow one session in the log */
    return rc;
}

int gh_session_create(struct gh_store *s, const struct gh_session_new *n, uint64_t now_ms,
                      char id[GH_TOKEN_LEN + 1], char csrf[GH_TOKEN_LEN + 1], struct gh_err *err)
{
    if (gh_role_name(n->role) == NULL)
        return gh_err_set(err, GH_EINVAL, "a session needs a role");
    struct create c = {.n = n, .now_ms = now_ms};
    char actor[160];
    snprintf(actor, sizeof(actor), "%s", n->user);
    int rc = gh_audit_change(s, actor, "session.login", NULL, do_create, &c, err);
    if (rc == 0) {
        memcpy(id, c.id, sizeof(c.id));
        memcpy(csrf, c.csrf, sizeof(c.csrf));
    }
    OPENSSL_cleanse(c.id, sizeof(c.id));
    return rc;
}

struct row {
    int found;
    char user[128], role[32], csrf[GH_TOKEN_LEN + 1], logout[1024];
    char *groups;
    int64_t created, seen;
};

static int on_row(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct row *r = ctx;
    if (n != 7)
        return 0;
    r->found = 1;
    gh_store_val_text(&c[0], r->user, sizeof(r->user));
    gh_store_val_text(&c[1], r->role, sizeof(r->role));
    r->groups = c[2].type == GH_VAL_TEXT ? gh_strndup(c[2].p, c[2].len) : NULL;
    gh_store_val_text(&c[3], r->csrf, sizeof(r->csrf));
    gh_store_val_text(&c[4], r->logout, sizeof(r->logout));
    r->created = c[5].i;
    r->seen = c[6].i;
    return 0;
}

int gh_session_get(struct gh_store *s, struct gh_str id, uint64_t now_ms, const struct gh_session_limits *l,
                   struct gh_actor *a, char csrf[GH_TOKEN_LEN + 1], char *logout_url, size_t logout_cap,
                   struct gh_err *err)
{
    if (id.len != GH_TOKEN_LEN)
        return GH_ENOTFOUND;
    char hash[65];
    gh_sha256_hex(id.p, id.len, hash);
    struct row r = {0};
    struct gh_store_val p[] = {GH_VTEXT(hash)};
    int rc =
        gh_store_exec(s,
                      "SELECT user_ref, role, groups, csrf, logout_url, created_ms, seen_ms FROM sessions "
                      "WHERE id_hash = $1",
                      p, 1, on_row, &r, err);
    if (rc || !r.found) {
        free(r.groups);
        return rc ? rc : GH_ENOTFOUND;
    }
    /* a lookup by the digest of a 256-bit random value: its timing tells nothing of the value */
    if ((uint64_t)r.created + l->absolute_ms <= now_ms || (uint64_t)r.seen + l->idle_ms <= now_ms) {
        free(r.groups);
        gh_store_exec(s, "DELETE FROM sessions WHERE id_hash = $1", p, 1, NULL, NULL, NULL);
        return GH_ENOTFOUND;
    }
    /* use is written at most once a minute, and often enough for a short idle timeout */
    uint64_t every = l->idle_ms / 4 < TOUCH_EVERY_MS ? l->idle_ms / 4 : TOUCH_EVERY_MS;
    if ((uint64_t)r.seen + every <= now_ms) {
        struct gh_store_val t[] = {GH_VTEXT(hash), GH_VINT((int64_t)now_ms)};
        gh_store_exec(s, "UPDATE sessions SET seen_ms = $2 WHERE id_hash = $1", t, 2, NULL, NULL, NULL);
    }
    gh_actor_clear(a);
    a->role = gh_role_parse(r.role);
    a->session = 1;
    snprintf(a->user, sizeof(a->user), "%s", r.user);
    snprintf(a->id, sizeof(a->id), "%s", r.user);
    struct gh_json *g = r.groups ? gh_json_parse(r.groups, strlen(r.groups), NULL) : NULL;
    for (size_t i = 0; i < gh_json_size(g); i++) {
        const char *ref = gh_json_str(gh_json_at(g, i), NULL);
        if (ref)
            gh_actor_add_group(a, ref);
    }
    gh_json_unref(g);
    free(r.groups);
    memcpy(csrf, r.csrf, GH_TOKEN_LEN + 1);
    if (logout_url)
        snprintf(logout_url, logout_cap, "%s", r.logout);
    return 0;
}

struct end {
    const char *hash, *user;
    int64_t n;
};

static int on_count(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct end *e = ctx;
    if (n == 1)
        e->n = c[0].i;
    return 0;
}

static int do_end(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct end *e = ctx;
    struct gh_store_val p[] = {GH_VTEXT(e->hash ? e->hash : e->user)};
    int rc = gh_store_exec(s,
                           e->hash ? "SELECT COUNT(*) FROM sessions WHERE id_hash = $1"
                                   : "SELECT COUNT(*) FROM sessions WHERE user_ref = $1",
                           p, 1, on_count, e, err);
    if (rc == 0 && e->n == 0)
        return gh_err_set(err, GH_ENOTFOUND, "no such session");
    if (rc == 0)
        rc = gh_store_exec(s,
                           e->hash ? "DELETE FROM sessions WHERE id_hash = $1"
                                   : "DELETE FROM sessions WHERE user_ref = $1",
                           p, 1, NULL, NULL, err);
    if (e->hash)
        gh_json_set(d, "session", gh_json_string(e->hash, 12));
    else
        gh_json_set(d, "target", str(e->user));
    gh_json_set(d, "sessions", gh_json_int(e->n));
    return rc;
}

int gh_session_end(struct gh_store *s, struct gh_str id, const char *actor, struct gh_err *err)
{
    if (id.len != GH_TOKEN_LEN)
        return gh_err_set(err, GH_ENOTFOUND, "no such session");
    char hash[65];
    gh_sha256_hex(id.p, id.len, hash);
    struct end e = {hash, NULL, 0};
    return gh_audit_change(s, actor, "session.logout", actor, do_end, &e, err);
}

int gh_session_end_user(struct gh_store *s, const char *user, const char *actor, struct gh_err *err)
{
    struct end e = {NULL, user, 0};
    int rc = gh_audit_change(s, actor, "session.end", NULL, do_end, &e, err);
    if (rc == GH_ENOTFOUND)
        return 0;
    return rc ? rc : (int)e.n;
}
