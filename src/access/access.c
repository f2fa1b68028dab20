/*
 * access.c: see access.h.
 */
#include "access.h"

#include "../audit/audit.h"
#include "../base/json.h"
#include "../catalog/catalog.h"
#include "../identity/jwt.h"
#include "../identity/perm.h"
#include "events.h"
#include "rules.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void new_id(const char *prefix, char out[GH_ACCESS_ID_MAX])
{
    unsigned char b[12];
    gh_random_bytes(b, sizeof(b));
    int n = snprintf(out, GH_ACCESS_ID_MAX, "%s_", prefix);
    for (size_t i = 0; i < sizeof(b); i++)
        n += snprintf(out + n, GH_ACCESS_ID_MAX - (size_t)n, "%02x", b[i]);
}

static void now_text(char *buf, size_t cap)
{
    gh_time_rfc3339(gh_time_wall_ms(), buf, cap);
}

static struct gh_json *str(const char *s)
{
    return gh_json_string(s, strlen(s));
}

/* The id of an application by name, or GH_ENOTFOUND. */
static int app_id(struct gh_store *s, const char *name, char id[GH_ACCESS_ID_MAX], struct gh_err *err)
{
    struct gh_store_val p[] = {GH_VTEXT(name)};
    int rc = gh_store_first_text(s, "SELECT id FROM applications WHERE name = $1", p, 1, id, GH_ACCESS_ID_MAX,
                                 err);
    if (rc < 0)
        return rc;
    return rc ? 0 : gh_err_set(err, GH_ENOTFOUND, "no application '%s'", name);
}

/* A credential digest as the store keeps it: lower-case hex. */
static void digest_hex(const unsigned char h[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + (size_t)2 * i, 3, "%02x", h[i]);
}

/* A new key or token (by gen): the secret, its visible id, the stored digest in hex, and now. */
static int new_secret(int (*gen)(char *), char secret[GH_KEY_LEN + 1], char id[GH_KEY_ID_LEN + 1],
                      char hex[65], char when[40], struct gh_err *err)
{
    if (gen(secret) != 0)
        return gh_err_set(err, GH_EINTERNAL, "no randomness for a secret");
    struct gh_str k = {secret, GH_KEY_LEN};
    gh_key_id(k, id);
    unsigned char h[32];
    gh_key_hash(k, h);
    digest_hex(h, hex);
    now_text(when, 40);
    return 0;
}

/* The generation a change is made in (bump first): rows it touches record it in `changed`, so the
 * gateway's table reads only what moved since it last looked. */
#define GEN "(SELECT CAST(value AS INTEGER) FROM gh_meta WHERE key = 'access_generation')"

/* Every change the gateway enforces moves the access generation (in the change's transaction). */
static int bump(struct gh_store *s, struct gh_err *err)
{
    return gh_store_exec(
        s,
        "INSERT INTO gh_meta (key, value) VALUES ('access_generation', '1') "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(gh_meta.value AS INTEGER) + 1 AS TEXT)",
        NULL, 0, NULL, NULL, err);
}

/* ---- applications ---- */

struct app_change {
    const char *name, *owner;
    char id[GH_ACCESS_ID_MAX];
};

static int do_app_create(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct app_change *c = ctx;
    char existing[GH_ACCESS_ID_MAX];
    int rc = app_id(s, c->name, existing, err);
    if (rc == 0)
        return gh_err_set(err, GH_EINVAL, "an application named '%s' exists", c->name);
    if (rc != GH_ENOTFOUND)
        return rc;
    char when[40];
    now_text(when, sizeof(when));
    new_id("app", c->id);
    struct gh_store_val p[] = {GH_VTEXT(c->id), GH_VTEXT(c->name), GH_VTEXT(c->owner), GH_VTEXT(when)};
    rc = gh_store_exec(s, "INSERT INTO applications (id, name, owner, created_at) VALUES ($1, $2, $3, $4)", p,
                       4, NULL, NULL, err);
    gh_json_set(d, "target", str(c->id));
    gh_json_set(d, "name", str(c->name));
    gh_json_set(d, "owner", str(c->owner));
    return rc;
}

int gh_app_create(struct gh_store *s, const char *actor, const char *name, const char *owner,
                  char id[GH_ACCESS_ID_MAX], struct gh_err *err)
{
    if (!gh_catalog_valid_name((struct gh_str){name, strlen(name)}))
        return gh_err_set(err, GH_EINVAL,
                          "'%s' is not an application name (1-63 letters or digits, - _ . between)", name);
    struct gh_entity_ref r;
    struct gh_err why = {{0}};
    if (gh_catalog_parse_ref((struct gh_str){owner, strlen(owner)}, "Group", NULL, &r, &why) != 0)
        return gh_err_set(err, GH_EINVAL, "owner: %s", why.msg);
    char canon[GH_ENTITY_REF_MAX];
    gh_catalog_ref_string(&r, canon, sizeof(canon));
    struct app_change c = {name, canon, ""};
    int rc = gh_audit_change(s, actor, "application.create", NULL, do_app_create, &c, err);
    if (rc == 0 && id)
        snprintf(id, GH_ACCESS_ID_MAX, "%s", c.id);
    return rc;
}

/* ---- keys ---- */

struct key_change {
    const char *app, *slot;
    uint64_t expires_ms;
    char key[GH_KEY_LEN + 1];
    char id[GH_KEY_ID_LEN + 1];
};

static int on_ids(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct gh_json *arr = ctx;
    if (n >= 1 && c[0].type == GH_VAL_TEXT)
        gh_json_append(arr, gh_json_string(c[0].p, c[0].len));
    return 0;
}

static int do_key_issue(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct key_change *c = ctx;
    char app[GH_ACCESS_ID_MAX];
    int rc = app_id(s, c->app, app, err);
    if (rc)
        return rc;
    char hex[65], when[40];
    if ((rc = new_secret(gh_key_generate, c->key, c->id, hex, when, err)) != 0 || (rc = bump(s, err)) != 0)
        return rc;
    /* the key that held the slot: revoked now */
    struct gh_json *replaced = gh_json_array();
    struct gh_store_val q[] = {GH_VTEXT(app), GH_VTEXT(c->slot), GH_VTEXT(when)};
    rc = gh_store_exec(s, "SELECT id FROM credentials WHERE app_id = $1 AND slot = $2 AND state = 'active'",
                       q, 2, on_ids, replaced, err);
    if (rc == 0)
        rc = gh_store_exec(s,
                           "UPDATE credentials SET state = 'revoked', revoked_at = $3, changed = " GEN " "
                           "WHERE app_id = $1 AND slot = $2 AND state = 'active'",
                           q, 3, NULL, NULL, err);
    char until[40] = "";
    if (c->expires_ms)
        gh_time_rfc3339(c->expires_ms, until, sizeof(until));
    struct gh_store_val p[] = {GH_VTEXT(c->id), GH_VTEXT(app),  GH_VTEXT(c->slot),
                               GH_VTEXT(hex),   GH_VTEXT(when), c->expires_ms ? GH_VTEXT(until) : GH_VNULL};
    if (rc == 0)
        rc = gh_store_exec(
            s,
            "INSERT INTO credentials (id, app_id, kind, slot, hash, state, created_at, expires_at, "
            "changed) VALUES ($1, $2, 'key', $3, $4, 'active', $5, $6, " GEN ")",
            p, 6, NULL, NULL, err);
    if (c->expires_ms)
        gh_json_set(d, "expires_at", str(until));
    /* never the key: its id, slot and the key it replaced */
    gh_json_set(d, "target", str(c->id));
    gh_json_set(d, "application", str(c->app));
    gh_json_set(d, "slot", str(c->slot));
    gh_json_set(d, "replaced", replaced);
    return rc;
}

int gh_key_issue(struct gh_store *s, const char *actor, const char *app, const char *slot,
                 uint64_t expires_ms, char key[GH_KEY_LEN + 1], char id[GH_KEY_ID_LEN + 1],
                 struct gh_err *err)
{
    if (strcmp(slot, "primary") != 0 && strcmp(slot, "secondary") != 0)
        return gh_err_set(err, GH_EINVAL, "slot '%s': primary or secondary", slot);
    struct key_change c = {app, slot, expires_ms, "", ""};
    int rc = gh_audit_change(s, actor, "key.create", NULL, do_key_issue, &c, err);
    if (rc == 0) {
        memcpy(key, c.key, sizeof(c.key));
        memcpy(id, c.id, sizeof(c.id));
    }
    OPENSSL_cleanse(c.key, sizeof(c.key));
    return rc;
}

struct rotate_change {
    const char *app, *actor;
    struct gh_key_rotation *out;
};

static int do_key_rotate(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct rotate_change *c = ctx;
    struct gh_key_rotation *o = c->out;
    char app[GH_ACCESS_ID_MAX];
    int rc = app_id(s, c->app, app, err);
    if (rc)
        return rc;
    static const char *const find =
        "SELECT id FROM credentials WHERE app_id = $1 AND kind = 'key' AND slot = $2 AND state = 'active'";
    struct gh_store_val p[] = {GH_VTEXT(app), GH_VTEXT("primary")},
                        q[] = {GH_VTEXT(app), GH_VTEXT("secondary")};
    if ((rc = gh_store_first_text(s, find, p, 2, o->revoked_id, sizeof(o->revoked_id), err)) < 0 ||
        (rc = gh_store_first_text(s, find, q, 2, o->promoted_id, sizeof(o->promoted_id), err)) < 0)
        return rc;
    if ((rc = bump(s, err)) != 0)
        return rc;
    char when[40];
    now_text(when, sizeof(when));
    if (o->promoted_id[0]) { /* the secondary becomes primary; the old primary stops */
        if (o->revoked_id[0]) {
            struct gh_store_val r[] = {GH_VTEXT(o->revoked_id), GH_VTEXT(when)};
            if ((rc =
                     gh_store_exec(s,
                                   "UPDATE credentials SET state = 'revoked', revoked_at = $2, changed = " GEN
                                   " WHERE id = $1",
                                   r, 2, NULL, NULL, err)) != 0)
                return rc;
        }
        struct gh_store_val u[] = {GH_VTEXT(o->promoted_id)};
        if ((rc = gh_store_exec(s, "UPDATE credentials SET slot = 'primary', changed = " GEN " WHERE id = $1",
                                u, 1, NULL, NULL, err)) != 0)
            return rc;
    } else {
        o->revoked_id[0] = '\0'; /* no secondary yet: the primary stays until the next rotation */
    }
    struct key_change kc = {c->app, "secondary", 0, "", ""};
    struct gh_json *kd = gh_json_object();
    rc = do_key_issue(&kc, s, kd, err);
    gh_json_unref(kd);
    if (rc == 0) {
        memcpy(o->key, kc.key, sizeof(kc.key));
        memcpy(o->id, kc.id, sizeof(kc.id));
    }
    OPENSSL_cleanse(kc.key, sizeof(kc.key));
    if (rc)
        return rc;
    gh_json_set(d, "target", str(c->app));
    gh_json_set(d, "issued", str(o->id));
    gh_json_set(d, "promoted", o->promoted_id[0] ? str(o->promoted_id) : gh_json_null());
    gh_json_set(d, "revoked", o->revoked_id[0] ? str(o->revoked_id) : gh_json_null());
    struct gh_json *e = gh_json_object();
    gh_json_set(e, "application", str(c->app));
    gh_json_set(e, "issued", str(o->id));
    gh_json_set(e, "promoted", o->promoted_id[0] ? str(o->promoted_id) : gh_json_null());
    gh_json_set(e, "revoked", o->revoked_id[0] ? str(o->revoked_id) : gh_json_null());
    gh_json_set(e, "by", str(c->actor));
    return gh_event_add(s, "key.rotated", e, gh_time_wall_ms(), err);
}

int gh_key_rotate(struct gh_store *s, const char *actor, const char *app, struct gh_key_rotation *out,
                  struct gh_err *err)
{
    memset(out, 0, sizeof(*out));
    struct rotate_change c = {app, actor, out};
    int rc = gh_audit_change(s, actor, "key.rotate", NULL, do_key_rotate, &c, err);
    if (rc) {
        OPENSSL_cleanse(out->key, sizeof(out->key));
        out->key[0] = '\0';
    }
    return rc;
}

/* ---- JWT client bindings ---- */

struct bind_change {
    const char *app, *issuer, *client;
    char id[GH_ACCESS_ID_MAX];
};

static int do_jwt_bind(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct bind_change *c = ctx;
    char app[GH_ACCESS_ID_MAX];
    int rc = app_id(s, c->app, app, err);
    if (rc)
        return rc;
    unsigned char h[32];
    char hex[65], when[40], held[GH_ACCESS_ID_MAX];
    gh_jwt_credential(c->issuer, c->client, h);
    digest_hex(h, hex);
    struct gh_store_val q[] = {GH_VTEXT(hex)};
    rc = gh_store_first_text(s,
                             "SELECT a.name FROM credentials c JOIN applications a ON a.id = c.app_id "
                             "WHERE c.hash = $1 AND c.state = 'active'",
                             q, 1, held, sizeof(held), err);
    if (rc < 0)
        return rc;
    if (rc)
        return gh_err_set(err, GH_EINVAL, "client '%s' of %s is already bound to application '%s'", c->client,
                          c->issuer, held);
    if ((rc = bump(s, err)) != 0)
        return rc;
    /* an earlier, revoked binding of the same client keeps its row under a retired hash */
    rc = gh_store_exec(s, "UPDATE credentials SET hash = hash || '/' || id WHERE hash = $1", q, 1, NULL, NULL,
                       err);
    if (rc)
        return rc;
    now_text(when, sizeof(when));
    unsigned char b[4];
    gh_random_bytes(b, sizeof(b));
    snprintf(c->id, sizeof(c->id), "jwt_%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
    struct gh_store_val p[] = {GH_VTEXT(c->id), GH_VTEXT(app),       GH_VTEXT(hex),
                               GH_VTEXT(when),  GH_VTEXT(c->issuer), GH_VTEXT(c->client)};
    rc = gh_store_exec(s,
                       "INSERT INTO credentials (id, app_id, kind, slot, hash, state, created_at, issuer, "
                       "client_id, changed) "
                       "VALUES ($1, $2, 'jwt', 'jwt', $3, 'active', $4, $5, $6, " GEN ")",
                       p, 6, NULL, NULL, err);
    gh_json_set(d, "target", str(c->id));
    gh_json_set(d, "application", str(c->app));
    gh_json_set(d, "issuer", str(c->issuer));
    gh_json_set(d, "client_id", str(c->client));
    return rc;
}

int gh_jwt_bind(struct gh_store *s, const char *actor, const char *app, const char *issuer,
                const char *client, char id[GH_ACCESS_ID_MAX], struct gh_err *err)
{
    if (client[0] == '\0' || strlen(client) > 200)
        return gh_err_set(err, GH_EINVAL, "client id: 1 to 200 characters");
    struct bind_change c = {app, issuer, client, ""};
    int rc = gh_audit_change(s, actor, "credential.bind_jwt", NULL, do_jwt_bind, &c, err);
    if (rc == 0 && id)
        snprintf(id, GH_ACCESS_ID_MAX, "%s", c.id);
    return rc;
}

struct revoke_change {
    const char *sql_check, *sql_update, *id, *what;
    int plain;         /* not enforced by the gateway: no access generation bump */
    const char *event; /* for a grant: "grant.revoked" */
    const char *actor;
};

/* A grant as its events tell it. */
struct grant_row {
    int found;
    char app[GH_ACCESS_ID_MAX], api[64], plan[64], owner[GH_ENTITY_REF_MAX], expires[40];
};

static int on_grant_row(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct grant_row *g = ctx;
    if (n != 5)
        return 0;
    g->found = 1;
    gh_store_val_text(&c[0], g->app, sizeof(g->app));
    gh_store_val_text(&c[1], g->api, sizeof(g->api));
    gh_store_val_text(&c[2], g->plan, sizeof(g->plan));
    gh_store_val_text(&c[3], g->owner, sizeof(g->owner));
    gh_store_val_text(&c[4], g->expires, sizeof(g->expires));
    return 0;
}

static int grant_row(struct gh_store *s, const char *id, struct grant_row *g, struct gh_err *err)
{
    memset(g, 0, sizeof(*g));
    struct gh_store_val p[] = {GH_VTEXT(id)};
    int rc = gh_store_exec(s,
                           "SELECT a.name, g.api, g.plan, a.owner, COALESCE(g.expires_at, '') FROM grants g "
                           "JOIN applications a ON a.id = g.app_id WHERE g.id = $1",
                           p, 1, on_grant_row, g, err);
    if (rc == 0 && !g->found)
        rc = gh_err_set(err, GH_ENOTFOUND, "no grant '%s'", id);
    return rc;
}

/* A grant's event (grant.revoked, grant.expired, grant.expiring): the grant, its application and API. */
static int grant_event(struct gh_store *s, const char *type, const char *id, const char *by, uint64_t left_ms,
                       uint64_t now_ms, struct gh_err *err)
{
    struct grant_row g;
    int rc = grant_row(s, id, &g, err);
    if (rc)
        return rc;
    struct gh_json *e = gh_json_object();
    gh_json_set(e, "grant", str(id));
    gh_json_set(e, "application", str(g.app));
    gh_json_set(e, "applicationOwner", str(g.owner));
    gh_json_set(e, "api", str(g.api));
    gh_json_set(e, "plan", str(g.plan));
    gh_json_set(e, "expiresAt", g.expires[0] ? str(g.expires) : gh_json_null());
    if (by)
        gh_json_set(e, "by", str(by));
    if (left_ms)
        gh_json_set(e, "daysLeft", gh_json_int((int64_t)((left_ms + 86399999) / 86400000)));
    return gh_event_add(s, type, e, now_ms, err);
}

static int do_revoke(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct revoke_change *c = ctx;
    char state[32];
    struct gh_store_val p[] = {GH_VTEXT(c->id)};
    int rc = gh_store_first_text(s, c->sql_check, p, 1, state, sizeof(state), err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return gh_err_set(err, GH_ENOTFOUND, "no %s '%s'", c->what, c->id);
    if (strcmp(state, "active") != 0)
        return gh_err_set(err, GH_EINVAL, "%s '%s' is already %s", c->what, c->id, state);
    char when[40];
    now_text(when, sizeof(when));
    struct gh_store_val u[] = {GH_VTEXT(c->id), GH_VTEXT(when)};
    gh_json_set(d, "previous_state", str(state));
    if (!c->plain && (rc = bump(s, err)) != 0)
        return rc;
    rc = gh_store_exec(s, c->sql_update, u, 2, NULL, NULL, err);
    if (rc == 0 && c->event)
        rc = grant_event(s, c->event, c->id, c->actor, 0, gh_time_wall_ms(), err);
    return rc;
}

int gh_key_revoke(struct gh_store *s, const char *actor, const char *key_id, struct gh_err *err)
{
    struct revoke_change c = {"SELECT state FROM credentials WHERE id = $1",
                              "UPDATE credentials SET state = 'revoked', revoked_at = $2, changed = " GEN
                              " WHERE id = $1",
                              key_id, "key"};
    return gh_audit_change(s, actor, "key.revoke", key_id, do_revoke, &c, err);
}

/* ---- grants ---- */

struct grant_change {
    const char *app, *api, *plan;
    uint64_t expires_ms;
    char id[GH_ACCESS_ID_MAX];
    int renew; /* an active grant of the pair takes the new plan and end (a renewal) instead of 409 */
    int renewed;
};

static int do_grant_create(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct grant_change *c = ctx;
    char app[GH_ACCESS_ID_MAX];
    int rc = app_id(s, c->app, app, err);
    if (rc)
        return rc;
    char held[GH_ACCESS_ID_MAX] = "";
    struct gh_store_val q[] = {GH_VTEXT(app), GH_VTEXT(c->api)};
    rc = gh_store_first_text(s, "SELECT id FROM grants WHERE app_id = $1 AND api = $2 AND state = 'active'",
                             q, 2, held, sizeof(held), err);
    if (rc < 0)
        return rc;
    if (rc && !c->renew)
        return gh_err_set(err, GH_EEXIST, "application '%s' already has grant %s on API '%s'", c->app, held,
                          c->api);
    if ((rc = bump(s, err)) != 0)
        return rc;
    char when[40], until[40] = "";
    now_text(when, sizeof(when));
    if (c->expires_ms)
        gh_time_rfc3339(c->expires_ms, until, sizeof(until));
    gh_json_set(d, "application", str(c->app));
    gh_json_set(d, "api", str(c->api));
    gh_json_set(d, "plan", str(c->plan));
    gh_json_set(d, "expires_at", until[0] ? str(until) : gh_json_null());
    if (held[0] && c->renew) { /* renewed: the same grant, a new end (and plan); reminders start over */
        snprintf(c->id, sizeof(c->id), "%s", held);
        c->renewed = 1;
        struct gh_store_val u[] = {GH_VTEXT(held), GH_VTEXT(c->plan), until[0] ? GH_VTEXT(until) : GH_VNULL};
        gh_json_set(d, "target", str(c->id));
        gh_json_set(d, "renewed", gh_json_bool(1));
        return gh_store_exec(
            s,
            "UPDATE grants SET plan = $2, expires_at = $3, reminded_ms = NULL, changed = " GEN
            " WHERE id = $1",
            u, 3, NULL, NULL, err);
    }
    /* an ended grant of the same pair makes way (one row per pair; its story stays in the audit log) */
    if ((rc = gh_store_exec(s, "DELETE FROM grants WHERE app_id = $1 AND api = $2", q, 2, NULL, NULL, err)) !=
        0)
        return rc;
    new_id("grant", c->id);
    struct gh_store_val p[] = {GH_VTEXT(c->id),   GH_VTEXT(app),  GH_VTEXT(c->api),
                               GH_VTEXT(c->plan), GH_VTEXT(when), until[0] ? GH_VTEXT(until) : GH_VNULL};
    rc = gh_store_exec(s,
                       "INSERT INTO grants (id, app_id, api, plan, state, created_at, expires_at, changed) "
                       "VALUES ($1, $2, $3, $4, 'active', $5, $6, " GEN ")",
                       p, 6, NULL, NULL, err);
    gh_json_set(d, "target", str(c->id));
    return rc;
}

int gh_grant_create(struct gh_store *s, const char *actor, const struct gh_config *cfg, const char *app,
                    const char *api, const char *plan, uint64_t expires_ms, char id[GH_ACCESS_ID_MAX],
                    struct gh_err *err)
{
    const struct gh_config_api *a = NULL;
    for (size_t i = 0; i < cfg->napis && a == NULL; i++)
        if (strcmp(cfg->apis[i].name, api) == 0)
            a = &cfg->apis[i];
    if (a == NULL)
        return gh_err_set(err, GH_EINVAL, "no API '%s' in %s", api, cfg->file);
    int offered = 0;
    for (size_t i = 0; i < a->nplans && !offered; i++)
        offered = strcmp(a->plans[i], plan) == 0;
    if (!offered)
        return gh_err_set(err, GH_EINVAL, "API '%s' does not offer plan '%s'%s", api, plan,
                          a->nplans ? "" : " (it offers no plans: apis[].plans)");
    if (expires_ms && expires_ms <= gh_time_wall_ms())
        return gh_err_set(err, GH_EINVAL, "the grant would expire in the past");
    struct grant_change c = {app, api, plan, expires_ms, ""};
    int rc = gh_audit_change(s, actor, "grant.create", NULL, do_grant_create, &c, err);
    if (rc == 0 && id)
        snprintf(id, GH_ACCESS_ID_MAX, "%s", c.id);
    return rc;
}

int gh_grant_revoke(struct gh_store *s, const char *actor, const char *grant_id, struct gh_err *err)
{
    struct revoke_change c = {"SELECT state FROM grants WHERE id = $1",
                              "UPDATE grants SET state = 'revoked', revoked_at = $2, changed = " GEN
                              " WHERE id = $1",
                              grant_id,
                              "grant",
                              0,
                              "grant.revoked",
                              actor};
    return gh_audit_change(s, actor, "grant.revoke", grant_id, do_revoke, &c, err);
}

/* ---- admin API tokens ---- */

static int valid_role(const char *role)
{
    static const char *const roles[] = {"admin", "auditor", "api-publisher", "developer"};
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(role, roles[i]) == 0)
            return 1;
    return 0;
}

struct token_change {
    const char *actor, *name, *role, *user;
    char token[GH_KEY_LEN + 1];
    char id[GH_KEY_ID_LEN + 1];
};

static int do_token_create(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct token_change *c = ctx;
    char hex[65], when[40];
    int rc = new_secret(gh_token_generate, c->token, c->id, hex, when, err);
    if (rc)
        return rc;
    struct gh_store_val p[] = {GH_VTEXT(c->id),    GH_VTEXT(c->name), GH_VTEXT(c->role), GH_VTEXT(hex),
                               GH_VTEXT(c->actor), GH_VTEXT(when),    GH_VTEXT(c->user)};
    rc = gh_store_exec(
        s,
        "INSERT INTO api_tokens (id, name, role, hash, state, created_by, created_at, user_ref) "
        "VALUES ($1, $2, $3, $4, 'active', $5, $6, $7)",
        p, 7, NULL, NULL, err);
    gh_json_set(d, "target", str(c->id));
    gh_json_set(d, "name", str(c->name));
    gh_json_set(d, "role", str(c->role));
    if (c->user[0])
        gh_json_set(d, "user", str(c->user));
    return rc;
}

int gh_token_create(struct gh_store *s, const char *actor, const char *name, const char *role,
                    const char *user, char token[GH_KEY_LEN + 1], char id[GH_KEY_ID_LEN + 1],
                    struct gh_err *err)
{
    if (!valid_role(role))
        return gh_err_set(err, GH_EINVAL, "role '%s': admin, auditor, api-publisher or developer", role);
    if (name[0] == '\0' || strlen(name) > 100)
        return gh_err_set(err, GH_EINVAL, "name: 1 to 100 characters (what the token is for)");
    char ref[GH_ENTITY_REF_MAX] = "";
    if (user) {
        struct gh_entity_ref r;
        if (gh_catalog_parse_ref((struct gh_str){user, strlen(user)}, "User", NULL, &r, err) != 0)
            return GH_EINVAL;
        if (strcasecmp(r.kind, "user") != 0)
            return gh_err_set(err, GH_EINVAL, "--user '%s' must be a User (like ana or user:default/ana)",
                              user);
        gh_catalog_ref_string(&r, ref, sizeof(ref));
    }
    struct token_change c = {actor, name, role, ref, "", ""};
    int rc = gh_audit_change(s, actor, "token.create", NULL, do_token_create, &c, err);
    if (rc == 0) {
        memcpy(token, c.token, sizeof(c.token));
        memcpy(id, c.id, sizeof(c.id));
    }
    OPENSSL_cleanse(c.token, sizeof(c.token));
    return rc;
}

int gh_token_revoke(struct gh_store *s, const char *actor, const char *id, struct gh_err *err)
{
    struct revoke_change c = {"SELECT state FROM api_tokens WHERE id = $1",
                              "UPDATE api_tokens SET state = 'revoked', revoked_at = $2 WHERE id = $1", id,
                              "token", 1};
    return gh_audit_change(s, actor, "token.revoke", id, do_revoke, &c, err);
}

struct token_row {
    int found;
    char *role, *user;
};

static int on_token(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct token_row *t = ctx;
    if (n == 2 && c[0].type == GH_VAL_TEXT && c[1].type == GH_VAL_TEXT && c[0].len < 32 && c[1].len < 128) {
        memcpy(t->role, c[0].p, c[0].len);
        t->role[c[0].len] = '\0';
        memcpy(t->user, c[1].p, c[1].len);
        t->user[c[1].len] = '\0';
        t->found = 1;
    }
    return 0;
}

int gh_token_role(struct gh_store *s, struct gh_str token, char role[32], char id[GH_KEY_ID_LEN + 1],
                  char user[128])
{
    unsigned char h[32];
    char hex[65];
    if (gh_token_check(token, h, NULL) != 0)
        return GH_ENOTFOUND;
    digest_hex(h, hex);
    struct gh_store_val p[] = {GH_VTEXT(hex)};
    struct token_row t = {0, role, user};
    int rc = gh_store_exec(s, "SELECT role, user_ref FROM api_tokens WHERE hash = $1 AND state = 'active'", p,
                           1, on_token, &t, NULL);
    if (rc || !t.found)
        return rc ? rc : GH_ENOTFOUND;
    gh_key_id(token, id);
    return 0;
}

int gh_token_list(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    return gh_store_exec(
        s,
        "SELECT id, name, role, CASE WHEN user_ref = '' THEN '-' ELSE user_ref END, state, created_by, "
        "created_at FROM api_tokens ORDER BY created_at",
        NULL, 0, fn, ctx, err);
}

/* ---- listings ---- */

int gh_app_list(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    return gh_store_exec(s,
                         "SELECT a.name, a.owner, a.created_at, "
                         "(SELECT COUNT(*) FROM credentials c WHERE c.app_id = a.id AND c.state = 'active'), "
                         "(SELECT COUNT(*) FROM grants g WHERE g.app_id = a.id AND g.state = 'active') "
                         "FROM applications a ORDER BY a.name",
                         NULL, 0, fn, ctx, err);
}

int gh_key_list(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    return gh_store_exec(
        s,
        "SELECT c.id, a.name, CASE WHEN c.kind = 'jwt' THEN c.issuer || ' ' || c.client_id "
        "ELSE c.slot END, c.state, c.created_at, COALESCE(c.expires_at, ''), a.owner FROM credentials c "
        "JOIN applications a ON a.id = c.app_id ORDER BY a.name, c.created_at",
        NULL, 0, fn, ctx, err);
}

int gh_grant_list(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    return gh_store_exec(
        s,
        "SELECT g.id, a.name, g.api, g.plan, g.state, COALESCE(g.expires_at, ''), a.owner FROM grants g "
        "JOIN applications a ON a.id = g.app_id ORDER BY a.name, g.api",
        NULL, 0, fn, ctx, err);
}

/* ---- requests for access ---- */

#define DEFAULT_DURATION_MS (90ull * 86400 * 1000)

struct request_change {
    const struct gh_request_new *n;
    const struct gh_config_rule *rule;
    uint64_t duration_ms, now_ms;
    const char *actor;
    struct gh_request_result *out;
    const char *create_owner; /* the application does not exist yet: made for this owner, in this change */
};

/* Another event in the same transaction (the steps an automatic approval takes). */
static int record(struct gh_store *s, const char *actor, const char *action, struct gh_json *d,
                  struct gh_err *err)
{
    const char *target = gh_json_str(gh_json_get(d, "target"), NULL);
    struct gh_audit_event e = {actor, action, target ? target : "", "success", d, NULL};
    int rc = gh_audit_record(s, &e, NULL, err);
    gh_json_unref(d);
    return rc;
}

/* The event of a request's step, for webhooks. */
static int request_event(struct gh_store *s, const char *type, const char *id, const char *requester,
                         const char *app, const char *api, const char *plan, const char *state,
                         const char *by, uint64_t now_ms, struct gh_err *err)
{
    struct gh_json *e = gh_json_object();
    gh_json_set(e, "request", str(id));
    gh_json_set(e, "requester", str(requester));
    gh_json_set(e, "application", str(app));
    gh_json_set(e, "api", str(api));
    gh_json_set(e, "plan", str(plan));
    gh_json_set(e, "state", str(state));
    if (by && by[0])
        gh_json_set(e, "decidedBy", str(by));
    return gh_event_add(s, type, e, now_ms, err);
}

static int do_request(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct request_change *c = ctx;
    const struct gh_request_new *n = c->n;
    struct gh_request_result *out = c->out;
    char app[GH_ACCESS_ID_MAX];
    int rc;
    if (c->create_owner) { /* the application first, with its own event, in the same transaction */
        struct app_change ac = {n->app, c->create_owner, ""};
        struct gh_json *ad = gh_json_object();
        if ((rc = do_app_create(&ac, s, ad, err)) != 0) {
            gh_json_unref(ad);
            return rc;
        }
        if ((rc = record(s, c->actor, "application.create", ad, err)) != 0)
            return rc;
    }
    if ((rc = app_id(s, n->app, app, err)) != 0)
        return rc;
    struct gh_store_val q[] = {GH_VTEXT(app), GH_VTEXT(n->api)};
    rc = gh_store_first_text(
        s, "SELECT id FROM access_requests WHERE app_id = $1 AND api = $2 AND state = 'pending'", q, 2,
        out->existing, sizeof(out->existing), err);
    if (rc < 0)
        return rc;
    if (rc)
        return gh_err_set(err, GH_EEXIST, "application '%s' already has a pending request for '%s': %s",
                          n->app, n->api, out->existing);
    const char *decide = gh_rule_decision_name(c->rule->decide);
    const char *state = c->rule->decide == GH_DECIDE_APPROVE ? "approved"
                        : c->rule->decide == GH_DECIDE_DENY  ? "denied"
                                                             : "pending";
    char when[40], by[96] = "";
    now_text(when, sizeof(when));
    new_id("req", out->id);
    if (strcmp(state, "pending") != 0)
        snprintf(by, sizeof(by), "rule:%s", c->rule->name);
    struct gh_store_val p[] = {GH_VTEXT(out->id),
                               GH_VTEXT(n->requester->user),
                               GH_VTEXT(app),
                               GH_VTEXT(n->api),
                               GH_VTEXT(n->plan),
                               GH_VTEXT(n->justification ? n->justification : ""),
                               GH_VINT((int64_t)c->duration_ms),
                               GH_VTEXT(c->rule->name),
                               GH_VTEXT(decide),
                               GH_VTEXT(state),
                               by[0] ? GH_VTEXT(by) : GH_VNULL,
                               by[0] ? GH_VTEXT(when) : GH_VNULL,
                               GH_VTEXT(when)};
    rc = gh_store_exec(
        s,
        "INSERT INTO access_requests (id, requester, app_id, api, plan, justification, duration_ms, "
        "rule, decide, state, decided_by, decided_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        p, GH_ARRAY_SIZE(p), NULL, NULL, err);
    snprintf(out->state, sizeof(out->state), "%s", state);
    gh_json_set(d, "target", str(out->id));
    gh_json_set(d, "application", str(n->app));
    gh_json_set(d, "api", str(n->api));
    gh_json_set(d, "plan", str(n->plan));
    gh_json_set(d, "rule", str(c->rule->name));
    gh_json_set(d, "decide", str(decide));
    if (rc == 0)
        rc = request_event(s, "request.created", out->id, n->requester->user, n->app, n->api, n->plan, state,
                           by, c->now_ms, err);
    if (rc == 0 && by[0])
        rc = request_event(s, "request.decided", out->id, n->requester->user, n->app, n->api, n->plan, state,
                           by, c->now_ms, err);
    if (rc || c->rule->decide != GH_DECIDE_APPROVE)
        return rc;
    /* approved by the rule: the grant, and a key when the application has none, in this transaction */
    struct grant_change g = {n->app, n->api, n->plan, c->now_ms + c->duration_ms, "", 1, 0};
    struct gh_json *gd = gh_json_object();
    if ((rc = do_grant_create(&g, s, gd, err)) != 0) {
        gh_json_unref(gd);
        return rc;
    }
    gh_json_set(gd, "request", str(out->id));
    if ((rc = record(s, c->actor, g.renewed ? "grant.renew" : "grant.create", gd, err)) != 0)
        return rc;
    snprintf(out->grant_id, sizeof(out->grant_id), "%s", g.id);
    out->expires_ms = g.expires_ms;
    struct gh_store_val a[] = {GH_VTEXT(out->grant_id), GH_VTEXT(out->id)};
    if ((rc = gh_store_exec(s, "UPDATE access_requests SET grant_id = $1 WHERE id = $2", a, 2, NULL, NULL,
                            err)) != 0)
        return rc;
    char held[GH_ACCESS_ID_MAX];
    struct gh_store_val k[] = {GH_VTEXT(app)};
    rc = gh_store_first_text(
        s, "SELECT id FROM credentials WHERE app_id = $1 AND kind = 'key' AND state = 'active'", k, 1, held,
        sizeof(held), err);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        struct key_change kc = {n->app, "primary", 0, "", ""};
        struct gh_json *kd = gh_json_object();
        if ((rc = do_key_issue(&kc, s, kd, err)) != 0) {
            gh_json_unref(kd);
            return rc;
        }
        gh_json_set(kd, "request", str(out->id));
        if ((rc = record(s, c->actor, "key.issue", kd, err)) != 0)
            return rc;
        memcpy(out->key, kc.key, sizeof(kc.key));
        memcpy(out->key_id, kc.id, sizeof(kc.id));
        OPENSSL_cleanse(kc.key, sizeof(kc.key));
    }
    return 0;
}

/* The requester may use the application: it is theirs, or one of their teams'. */
static int owns(const struct gh_actor *who, const char *owner)
{
    return strcmp(owner, who->user) == 0 || gh_actor_in_group(who, owner);
}

int gh_request_create(struct gh_store *s, const struct gh_config *cfg, const struct gh_request_new *n,
                      const struct gh_config_rule *rule, uint64_t now_ms, struct gh_request_result *out,
                      struct gh_err *err)
{
    memset(out, 0, sizeof(*out));
    if (n->requester->user[0] == '\0')
        return gh_err_set(err, GH_EINVAL, "only a person can ask for access");
    const struct gh_config_api *api = NULL;
    for (size_t i = 0; i < cfg->napis && api == NULL; i++)
        if (strcmp(cfg->apis[i].name, n->api) == 0)
            api = &cfg->apis[i];
    if (api == NULL)
        return gh_err_set(err, GH_ENOTFOUND, "no API '%s' behind the gateway", n->api);
    int offered = 0;
    for (size_t i = 0; i < api->nplans && !offered; i++)
        offered = strcmp(api->plans[i], n->plan) == 0;
    if (!offered)
        return gh_err_set(err, GH_EINVAL, "API '%s' does not offer plan '%s'", n->api, n->plan);
    if (n->justification && strlen(n->justification) > 2000)
        return gh_err_set(err, GH_EINVAL, "justification: at most 2000 characters");
    /* the application: the requester's or a team's; created on the spot when appOwner says whose */
    char owner[GH_ENTITY_REF_MAX] = "";
    const char *create = NULL;
    struct gh_store_val q[] = {GH_VTEXT(n->app)};
    int rc = gh_store_first_text(s, "SELECT owner FROM applications WHERE name = $1", q, 1, owner,
                                 sizeof(owner), err);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        if (n->app_owner == NULL)
            return gh_err_set(err, GH_ENOTFOUND, "no application '%s' (give appOwner to create it)", n->app);
        /* a bare name is the requester (when it is theirs) or a team */
        struct gh_entity_ref r;
        struct gh_str o = {n->app_owner, strlen(n->app_owner)};
        if (gh_catalog_parse_ref(o, "User", NULL, &r, NULL) == 0 && strcasecmp(r.kind, "user") == 0)
            gh_catalog_ref_string(&r, owner, sizeof(owner));
        if (strcmp(owner, n->requester->user) != 0) {
            if (gh_catalog_parse_ref(o, "Group", NULL, &r, err) != 0)
                return GH_EINVAL;
            gh_catalog_ref_string(&r, owner, sizeof(owner));
        }
        if (!owns(n->requester, owner))
            return gh_err_set(err, GH_EPERM, "appOwner must be you or one of your teams");
        if (!gh_catalog_valid_name((struct gh_str){n->app, strlen(n->app)}))
            return gh_err_set(err, GH_EINVAL,
                              "'%s' is not an application name (1-63 letters or digits, - _ . between)",
                              n->app);
        create = owner;
    } else if (!owns(n->requester, owner)) {
        return gh_err_set(err, GH_EPERM, "application '%s' belongs to %s, not to you or your teams", n->app,
                          owner);
    }
    uint64_t d = n->duration_ms          ? n->duration_ms
                 : rule->max_duration_ms ? rule->max_duration_ms
                                         : DEFAULT_DURATION_MS;
    if (rule->max_duration_ms && d > rule->max_duration_ms)
        d = rule->max_duration_ms; /* capped by the rule */
    struct request_change c = {n, rule, d, now_ms, n->requester->user, out, create};
    rc = gh_audit_change(s, n->requester->user, "access.request", NULL, do_request, &c, err);
    if (rc) {
        OPENSSL_cleanse(out->key, sizeof(out->key));
        out->key[0] = '\0';
    }
    snprintf(out->rule, sizeof(out->rule), "%s", rule->name);
    snprintf(out->decide, sizeof(out->decide), "%s", gh_rule_decision_name(rule->decide));
    out->duration_ms = d;
    return rc;
}

struct withdraw {
    const char *id, *who;
};

static int do_withdraw(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct withdraw *w = ctx;
    char requester[128] = "", state[16] = "";
    struct gh_store_val p[] = {GH_VTEXT(w->id)};
    int rc = gh_store_first_text(s, "SELECT requester FROM access_requests WHERE id = $1", p, 1, requester,
                                 sizeof(requester), err);
    if (rc <= 0)
        return rc < 0 ? rc : gh_err_set(err, GH_ENOTFOUND, "no request %s", w->id);
    if (strcmp(requester, w->who) != 0) /* not theirs: as if it did not exist */
        return gh_err_set(err, GH_ENOTFOUND, "no request %s", w->id);
    rc = gh_store_first_text(s, "SELECT state FROM access_requests WHERE id = $1", p, 1, state, sizeof(state),
                             err);
    if (rc < 0)
        return rc;
    if (strcmp(state, "pending") != 0)
        return gh_err_set(err, GH_EEXIST, "request %s is %s, not pending", w->id, state);
    char when[40];
    now_text(when, sizeof(when));
    struct gh_store_val u[] = {GH_VTEXT(w->id), GH_VTEXT(w->who), GH_VTEXT(when)};
    rc = gh_store_exec(s,
                       "UPDATE access_requests SET state = 'withdrawn', decided_by = $2, decided_at = $3 "
                       "WHERE id = $1",
                       u, 3, NULL, NULL, err);
    gh_json_set(d, "target", str(w->id));
    return rc;
}

int gh_request_withdraw(struct gh_store *s, const char *user, const char *id, struct gh_err *err)
{
    struct withdraw w = {id, user};
    return gh_audit_change(s, user, "access.withdraw", id, do_withdraw, &w, err);
}

int gh_request_list(struct gh_store *s, const char *user, gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    struct gh_store_val p[] = {GH_VTEXT(user)};
    return gh_store_exec(
        s,
        "SELECT r.id, a.name, r.api, r.plan, r.state, r.rule, r.decide, r.created_at, "
        "COALESCE(r.grant_id, ''), COALESCE(r.decided_by, '') FROM access_requests r "
        "JOIN applications a ON a.id = r.app_id WHERE r.requester = $1 ORDER BY r.created_at",
        p, 1, fn, ctx, err);
}

/* ---- deciding ---- */

struct pending_row {
    int found;
    char requester[128], app[GH_ACCESS_ID_MAX], api[64], plan[64], decide[20], state[16];
    int64_t duration_ms;
};

static int on_pending(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct pending_row *p = ctx;
    if (n != 7)
        return 0;
    p->found = 1;
    gh_store_val_text(&c[0], p->requester, sizeof(p->requester));
    gh_store_val_text(&c[1], p->app, sizeof(p->app));
    gh_store_val_text(&c[2], p->api, sizeof(p->api));
    gh_store_val_text(&c[3], p->plan, sizeof(p->plan));
    gh_store_val_text(&c[4], p->decide, sizeof(p->decide));
    gh_store_val_text(&c[5], p->state, sizeof(p->state));
    p->duration_ms = c[6].i;
    return 0;
}

int gh_request_get(struct gh_store *s, const char *id, struct gh_request_info *out, struct gh_err *err)
{
    struct pending_row p = {0};
    struct gh_store_val q[] = {GH_VTEXT(id)};
    int rc = gh_store_exec(s,
                           "SELECT r.requester, a.name, r.api, r.plan, r.decide, r.state, r.duration_ms "
                           "FROM access_requests r JOIN applications a ON a.id = r.app_id WHERE r.id = $1",
                           q, 1, on_pending, &p, err);
    if (rc)
        return rc;
    if (!p.found)
        return gh_err_set(err, GH_ENOTFOUND, "no request %s", id);
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", id);
    memcpy(out->requester, p.requester, sizeof(out->requester));
    memcpy(out->app, p.app, sizeof(out->app));
    memcpy(out->api, p.api, sizeof(out->api));
    memcpy(out->plan, p.plan, sizeof(out->plan));
    memcpy(out->decide, p.decide, sizeof(out->decide));
    memcpy(out->state, p.state, sizeof(out->state));
    out->duration_ms = (uint64_t)p.duration_ms;
    return 0;
}

struct decision {
    const struct gh_request_info *r;
    const char *by, *comment;
    int approve;
    uint64_t now_ms;
    char grant_id[GH_ACCESS_ID_MAX];
};

static int do_decide(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct decision *x = ctx;
    /* the state again, inside the transaction: two deciders at once, one wins */
    char state[16] = "";
    struct gh_store_val q[] = {GH_VTEXT(x->r->id)};
    int rc = gh_store_first_text(s, "SELECT state FROM access_requests WHERE id = $1", q, 1, state,
                                 sizeof(state), err);
    if (rc < 0)
        return rc;
    if (strcmp(state, "pending") != 0)
        return gh_err_set(err, GH_EEXIST, "request %s is %s, not pending", x->r->id, state);
    char when[40];
    now_text(when, sizeof(when));
    if (x->approve) {
        struct grant_change g = {x->r->app, x->r->api, x->r->plan, x->now_ms + x->r->duration_ms, "", 1, 0};
        struct gh_json *gd = gh_json_object();
        if ((rc = do_grant_create(&g, s, gd, err)) != 0) {
            gh_json_unref(gd);
            return rc;
        }
        gh_json_set(gd, "request", str(x->r->id));
        if ((rc = record(s, x->by, g.renewed ? "grant.renew" : "grant.create", gd, err)) != 0)
            return rc;
        snprintf(x->grant_id, sizeof(x->grant_id), "%s", g.id);
    }
    struct gh_store_val u[] = {GH_VTEXT(x->r->id),
                               GH_VTEXT(x->approve ? "approved" : "denied"),
                               GH_VTEXT(x->by),
                               GH_VTEXT(when),
                               GH_VTEXT(x->comment ? x->comment : ""),
                               x->grant_id[0] ? GH_VTEXT(x->grant_id) : GH_VNULL};
    rc = gh_store_exec(
        s,
        "UPDATE access_requests SET state = $2, decided_by = $3, decided_at = $4, comment = $5, "
        "grant_id = $6 WHERE id = $1",
        u, 6, NULL, NULL, err);
    if (rc == 0)
        rc = request_event(s, "request.decided", x->r->id, x->r->requester, x->r->app, x->r->api, x->r->plan,
                           x->approve ? "approved" : "denied", x->by, x->now_ms, err);
    gh_json_set(d, "target", str(x->r->id));
    gh_json_set(d, "requester", str(x->r->requester));
    gh_json_set(d, "api", str(x->r->api));
    if (x->comment)
        gh_json_set(d, "comment", str(x->comment));
    return rc;
}

int gh_request_decide(struct gh_store *s, const struct gh_request_info *r, const char *by, int approve,
                      const char *comment, uint64_t now_ms, char grant_id[GH_ACCESS_ID_MAX],
                      struct gh_err *err)
{
    if (strcmp(by, r->requester) == 0)
        return gh_err_set(err, GH_EPERM, "nobody decides their own request");
    if (comment && strlen(comment) > 2000)
        return gh_err_set(err, GH_EINVAL, "comment: at most 2000 characters");
    struct decision x = {r, by, comment, approve, now_ms, ""};
    int rc = gh_audit_change(s, by, approve ? "access.approve" : "access.deny", r->id, do_decide, &x, err);
    if (rc == 0 && grant_id)
        snprintf(grant_id, GH_ACCESS_ID_MAX, "%s", x.grant_id);
    return rc;
}

int gh_request_pending(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    return gh_store_exec(
        s,
        "SELECT r.id, r.requester, a.name, r.api, r.plan, r.decide, r.justification, r.created_at "
        "FROM access_requests r JOIN applications a ON a.id = r.app_id WHERE r.state = 'pending' "
        "ORDER BY r.created_at",
        NULL, 0, fn, ctx, err);
}

int gh_app_owner(struct gh_store *s, const char *name, char owner[GH_ENTITY_REF_MAX], struct gh_err *err)
{
    struct gh_store_val q[] = {GH_VTEXT(name)};
    int rc = gh_store_first_text(s, "SELECT owner FROM applications WHERE name = $1", q, 1, owner,
                                 GH_ENTITY_REF_MAX, err);
    if (rc < 0)
        return rc;
    return rc ? 0 : gh_err_set(err, GH_ENOTFOUND, "no application '%s'", name);
}

/* ---- the workflow's clock: expiry and reminders ---- */

#define SWEEP_BATCH 256
#define EVENTS_KEPT_MS (30ull * 86400 * 1000) /* delivered (or failed) events are kept this long */
#define SYSTEM_ACTOR "system:access"

struct id_batch {
    char (*ids)[GH_ACCESS_ID_MAX];
    uint64_t *when; /* the second column as a time, when asked */
    int64_t *num;   /* the third column, when asked */
    size_t n;
};

static int on_batch(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct id_batch *b = ctx;
    if (n < 1 || b->n >= SWEEP_BATCH)
        return 0;
    gh_store_val_text(&c[0], b->ids[b->n], GH_ACCESS_ID_MAX);
    if (b->when && n > 1 && c[1].type == GH_VAL_TEXT)
        b->when[b->n] = gh_time_parse_rfc3339(c[1].p, c[1].len);
    if (b->num && n > 2)
        b->num[b->n] = c[2].type == GH_VAL_INT ? c[2].i : -1;
    b->n++;
    return 0;
}

struct expiry {
    const char *id;
    uint64_t now_ms;
    int grant; /* a grant; else a request */
};

static int do_expire(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct expiry *x = ctx;
    char state[16] = "", when[40];
    struct gh_store_val q[] = {GH_VTEXT(x->id)};
    int rc = gh_store_first_text(s,
                                 x->grant ? "SELECT state FROM grants WHERE id = $1"
                                          : "SELECT state FROM access_requests WHERE id = $1",
                                 q, 1, state, sizeof(state), err);
    if (rc < 0)
        return rc;
    if (strcmp(state, x->grant ? "active" : "pending") != 0) /* changed meanwhile: nothing to do */
        return gh_err_set(err, GH_EEXIST, "%s is %s", x->id, state);
    gh_time_rfc3339(x->now_ms, when, sizeof(when));
    struct gh_store_val u[] = {GH_VTEXT(x->id), GH_VTEXT(when)};
    gh_json_set(d, "target", str(x->id));
    if (x->grant) {
        if ((rc = bump(s, err)) != 0 ||
            (rc = gh_store_exec(s, "UPDATE grants SET state = 'expired', changed = " GEN " WHERE id = $1", u,
                                1, NULL, NULL, err)) != 0)
            return rc;
        return grant_event(s, "grant.expired", x->id, NULL, 0, x->now_ms, err);
    }
    struct gh_request_info r;
    if ((rc = gh_request_get(s, x->id, &r, err)) != 0 ||
        (rc = gh_store_exec(s,
                            "UPDATE access_requests SET state = 'expired', decided_by = '" SYSTEM_ACTOR "', "
                            "decided_at = $2 WHERE id = $1",
                            u, 2, NULL, NULL, err)) != 0)
        return rc;
    gh_json_set(d, "requester", str(r.requester));
    gh_json_set(d, "api", str(r.api));
    return request_event(s, "request.expired", x->id, r.requester, r.app, r.api, r.plan, "expired",
                         SYSTEM_ACTOR, x->now_ms, err);
}

/* A reminder: the event, and the lead time it answered (so each is sent once), in one transaction. */
static int remind(struct gh_store *s, const char *id, uint64_t lead_ms, uint64_t left_ms, uint64_t now_ms,
                  struct gh_err *err)
{
    int rc = gh_store_begin(s, err);
    if (rc)
        return rc;
    struct gh_store_val u[] = {GH_VTEXT(id), GH_VINT((int64_t)lead_ms)};
    if ((rc = gh_store_exec(s, "UPDATE grants SET reminded_ms = $2 WHERE id = $1", u, 2, NULL, NULL, err)) !=
            0 ||
        (rc = grant_event(s, "grant.expiring", id, NULL, left_ms, now_ms, err)) != 0 ||
        (rc = gh_store_commit(s, err)) != 0) {
        gh_store_rollback(s);
        return rc;
    }
    return 0;
}

int gh_access_sweep(struct gh_store *s, const struct gh_config *cfg, uint64_t now_ms,
                    struct gh_sweep_result *out, struct gh_err *err)
{
    memset(out, 0, sizeof(*out));
    char(*ids)[GH_ACCESS_ID_MAX] = gh_calloc(SWEEP_BATCH, GH_ACCESS_ID_MAX);
    uint64_t when[SWEEP_BATCH];
    int64_t num[SWEEP_BATCH];
    char now[40], cut[40];
    gh_time_rfc3339(now_ms, now, sizeof(now));
    int rc = 0;
    /* grants past their end */
    struct id_batch b = {ids, NULL, NULL, 0};
    struct gh_store_val p[] = {GH_VTEXT(now)};
    rc = gh_store_exec(s,
                       "SELECT id FROM grants WHERE state = 'active' AND expires_at IS NOT NULL AND "
                       "expires_at <= $1 ORDER BY expires_at",
                       p, 1, on_batch, &b, err);
    for (size_t i = 0; rc == 0 && i < b.n; i++) {
        struct expiry x = {ids[i], now_ms, 1};
        rc = gh_audit_change(s, SYSTEM_ACTOR, "grant.expire", ids[i], do_expire, &x, err);
        if (rc == GH_EEXIST)
            rc = 0;
        else if (rc == 0)
            out->grants_expired++;
    }
    /* requests nobody decided in time */
    if (rc == 0 && cfg->pending_timeout_ms && now_ms > cfg->pending_timeout_ms) {
        gh_time_rfc3339(now_ms - cfg->pending_timeout_ms, cut, sizeof(cut));
        struct gh_store_val q[] = {GH_VTEXT(cut)};
        b = (struct id_batch){ids, NULL, NULL, 0};
        rc = gh_store_exec(s,
                           "SELECT id FROM access_requests WHERE state = 'pending' AND created_at <= $1 "
                           "ORDER BY created_at",
                           q, 1, on_batch, &b, err);
        for (size_t i = 0; rc == 0 && i < b.n; i++) {
            struct expiry x = {ids[i], now_ms, 0};
            rc = gh_audit_change(s, SYSTEM_ACTOR, "access.expire", ids[i], do_expire, &x, err);
            if (rc == GH_EEXIST)
                rc = 0;
            else if (rc == 0)
                out->requests_expired++;
        }
    }
    /* reminders: the shortest lead time the grant's end is within, once each */
    if (rc == 0 && cfg->nreminders) {
        gh_time_rfc3339(now_ms + cfg->reminders_ms[0], cut, sizeof(cut));
        struct gh_store_val q[] = {GH_VTEXT(now), GH_VTEXT(cut)};
        b = (struct id_batch){ids, when, num, 0};
        rc = gh_store_exec(
            s,
            "SELECT id, expires_at, reminded_ms FROM grants WHERE state = 'active' AND "
            "expires_at IS NOT NULL AND expires_at > $1 AND expires_at <= $2 ORDER BY expires_at",
            q, 2, on_batch, &b, err);
        for (size_t i = 0; rc == 0 && i < b.n; i++) {
            if (when[i] <= now_ms)
                continue;
            uint64_t left = when[i] - now_ms, lead = 0;
            for (size_t k = 0; k < cfg->nreminders; k++)
                if (left <= cfg->reminders_ms[k])
                    lead = cfg->reminders_ms[k];
            if (lead == 0 || (num[i] >= 0 && (uint64_t)num[i] <= lead))
                continue; /* not yet, or this one (or a later one) was sent */
            if ((rc = remind(s, ids[i], lead, left, now_ms, err)) == 0)
                out->reminders++;
        }
    }
    /* events every webhook is done with, after a month: the outbox does not grow for ever (the newest
     * event stays, so numbering never restarts below the webhooks' cursor) */
    if (rc == 0 && now_ms > EVENTS_KEPT_MS) {
        gh_time_rfc3339(now_ms - EVENTS_KEPT_MS, cut, sizeof(cut));
        struct gh_store_val q[] = {GH_VTEXT(cut)};
        static const char *const old_events =
            "SELECT seq FROM events WHERE created_at < $1 AND seq < (SELECT MAX(seq) FROM events) AND "
            "seq <= (SELECT COALESCE(CAST(MAX(value) AS INTEGER), 0) FROM gh_meta WHERE key = "
            "'webhook_cursor') "
            "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = events.seq AND "
            "d.state = 'pending')";
        char sql[700];
        if ((rc = gh_store_begin(s, err)) == 0) {
            snprintf(sql, sizeof(sql), "DELETE FROM webhook_deliveries WHERE event_seq IN (%s)", old_events);
            rc = gh_store_exec(s, sql, q, 1, NULL, NULL, err);
            snprintf(sql, sizeof(sql), "DELETE FROM events WHERE seq IN (%s)", old_events);
            if (rc == 0)
                rc = gh_store_exec(s, sql, q, 1, NULL, NULL, err);
            if (rc == 0)
                rc = gh_store_commit(s, err);
            else
                gh_store_rollback(s);
        }
    }
    free(ids);
    return rc;
}

/* ---- whose is it ---- */

int gh_key_owner(struct gh_store *s, const char *key_id, char owner[GH_ENTITY_REF_MAX], struct gh_err *err)
{
    struct gh_store_val q[] = {GH_VTEXT(key_id)};
    int rc = gh_store_first_text(s,
                                 "SELECT a.owner FROM credentials c JOIN applications a ON a.id = c.app_id "
                                 "WHERE c.id = $1",
                                 q, 1, owner, GH_ENTITY_REF_MAX, err);
    if (rc < 0)
        return rc;
    return rc ? 0 : gh_err_set(err, GH_ENOTFOUND, "no key '%s'", key_id);
}

int gh_grant_owner(struct gh_store *s, const char *grant_id, char owner[GH_ENTITY_REF_MAX], char api[64],
                   struct gh_err *err)
{
    struct grant_row g;
    int rc = grant_row(s, grant_id, &g, err);
    if (rc)
        return rc;
    memcpy(owner, g.owner, GH_ENTITY_REF_MAX);
    memcpy(api, g.api, 64);
    return 0;
}

int gh_api_consumers(struct gh_store *s, const char *api, uint64_t since_ms, gh_store_row_fn fn, void *ctx,
                     struct gh_err *err)
{
    char since[40];
    gh_time_rfc3339(since_ms, since, sizeof(since));
    struct gh_store_val p[] = {GH_VTEXT(api), GH_VTEXT(since)};
    return gh_store_exec(
        s,
        "SELECT g.id, a.name, a.owner, g.plan, g.state, COALESCE(g.expires_at, ''), g.created_at, "
        "COALESCE((SELECT SUM(u.requests) FROM usage u WHERE u.app_id = g.app_id AND u.api = g.api AND "
        "u.minute >= $2), 0), "
        "COALESCE((SELECT SUM(u.throttled) FROM usage u WHERE u.app_id = g.app_id AND u.api = g.api AND "
        "u.minute >= $2), 0) "
        "FROM grants g JOIN applications a ON a.id = g.app_id WHERE g.api = $1 ORDER BY a.name",
        p, 2, fn, ctx, err);
}
