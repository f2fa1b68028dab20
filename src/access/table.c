/*
 * table.c: see table.h.
 */
#include "table.h"

#include "limit.h"

#include "../base/credcache.h"

#include <urcu.h>
#include <urcu/rculfhash.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const gh_deny_names[GH_DENY_COUNT] = {
    "", "missing", "malformed", "unknown", "token", "no_grant", "expired", "rate", "quota", "unavailable"};

/* Entries are kept small (a million keys must fit in a few hundred MB): no rcu_head (what is removed
 * is retired in a batch and freed after one grace period per sync), API and plan names interned. */
struct key_node {
    struct cds_lfht_node node;
    unsigned char hash[32];
    char app[GH_ACCESS_APP_MAX];
    unsigned long app_hash;
    _Atomic uint64_t expires_ms; /* 0: never; changed in place by the control thread */
    int64_t seen;                /* the sync that last found it in the store */
};

/* A plan's limits as the request path uses them, one per distinct plan (name and numbers). */
struct plan_limits {
    char *name;
    struct gh_rate rate;
    uint64_t quota;
    int has_rate, has_quota;
    enum gh_quota_period quota_per;
};

struct grant_node {
    struct cds_lfht_node node;
    char app[GH_ACCESS_APP_MAX];
    const char *api;                  /* interned in the table */
    const struct plan_limits *limits; /* interned in the table */
    uint64_t expires_ms;              /* 0: none */
    _Atomic uint64_t tat, used;
    int64_t seen;
};

struct gh_access_table {
    struct cds_lfht *keys, *grants;
    int64_t generation, syncs;
    void **retired; /* removed entries, freed after the next grace period */
    size_t nretired, cap_retired;
    char **names; /* interned API names (few; never freed before the table) */
    size_t nnames;
    struct plan_limits **plans; /* interned plan limits (likewise) */
    size_t nplans;
};

static void retire(struct gh_access_table *t, void *p)
{
    if (t->nretired == t->cap_retired) {
        t->cap_retired = t->cap_retired ? t->cap_retired * 2 : 64;
        t->retired = gh_realloc(t->retired, t->cap_retired * sizeof(void *));
    }
    t->retired[t->nretired++] = p;
}

/* Outside any read-side section: once every reader has moved on, what was removed goes. */
static void free_retired(struct gh_access_table *t)
{
    if (t->nretired == 0)
        return;
    synchronize_rcu();
    for (size_t i = 0; i < t->nretired; i++)
        free(t->retired[i]);
    t->nretired = 0;
}

/* The limits of plan `name` as the config has them now (an unknown plan: none). */
static const struct plan_limits *plan_limits(struct gh_access_table *t, const struct gh_config *cfg,
                                             const char *name, size_t len)
{
    struct plan_limits want = {0};
    for (size_t i = 0; i < cfg->nplans; i++) {
        const struct gh_config_plan *p = &cfg->plans[i];
        if (strlen(p->name) != len || memcmp(p->name, name, len) != 0)
            continue;
        if (p->rate_requests)
            want.has_rate =
                gh_rate_init(&want.rate, p->rate_requests, p->rate_per_ms * 1000000, p->rate_burst) == 0;
        if (p->quota_requests) {
            want.has_quota = 1;
            want.quota = p->quota_requests;
            want.quota_per = p->quota_per == 2 ? GH_QUOTA_MONTH : GH_QUOTA_DAY;
        }
    }
    for (size_t i = 0; i < t->nplans; i++) {
        const struct plan_limits *l = t->plans[i];
        if (strlen(l->name) == len && memcmp(l->name, name, len) == 0 && l->has_rate == want.has_rate &&
            l->has_quota == want.has_quota && memcmp(&l->rate, &want.rate, sizeof(want.rate)) == 0 &&
            l->quota == want.quota && l->quota_per == want.quota_per)
            return l;
    }
    struct plan_limits *l = gh_malloc(sizeof(*l));
    *l = want;
    l->name = gh_strndup(name, len);
    t->plans = gh_realloc(t->plans, (t->nplans + 1) * sizeof(struct plan_limits *));
    t->plans[t->nplans++] = l;
    return l;
}

static const char *intern(struct gh_access_table *t, const char *p, size_t len)
{
    for (size_t i = 0; i < t->nnames; i++)
        if (strlen(t->names[i]) == len && memcmp(t->names[i], p, len) == 0)
            return t->names[i];
    t->names = gh_realloc(t->names, (t->nnames + 1) * sizeof(char *));
    return t->names[t->nnames++] = gh_strndup(p, len);
}

static unsigned long hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return (unsigned long)h;
}

/* A digest is SHA-256 output: its first word is already a uniform hash. */
static unsigned long digest_hash(const unsigned char d[32])
{
    uint64_t h;
    memcpy(&h, d, sizeof(h));
    return (unsigned long)h;
}

static unsigned long app_hash(const char *app)
{
    return hash_bytes(app, strlen(app));
}

/* (application, API): the application's hash is kept in its key entries, so the request path hashes
 * only the API's name. */
static unsigned long grant_hash2(unsigned long happ, const char *api)
{
    return happ * 31 + hash_bytes(api, strlen(api));
}

static unsigned long grant_hash(const char *app, const char *api)
{
    return grant_hash2(app_hash(app), api);
}

struct grant_key {
    const char *app, *api;
};

static int match_key(struct cds_lfht_node *n, const void *k)
{
    return memcmp(caa_container_of(n, struct key_node, node)->hash, k, 32) == 0;
}

static int match_grant(struct cds_lfht_node *n, const void *k)
{
    const struct grant_node *g = caa_container_of(n, struct grant_node, node);
    const struct grant_key *gk = k;
    return strcmp(g->app, gk->app) == 0 && strcmp(g->api, gk->api) == 0;
}

struct gh_access_table *gh_access_table_new(void)
{
    struct gh_access_table *t = gh_calloc(1, sizeof(*t));
    t->keys = cds_lfht_new(1024, 1024, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
    t->grants = cds_lfht_new(1024, 1024, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
    return t;
}

void gh_access_table_free(struct gh_access_table *t)
{
    if (t == NULL)
        return;
    struct cds_lfht_iter it;
    struct key_node *k;
    struct grant_node *g;
    rcu_read_lock();
    cds_lfht_for_each_entry(t->keys, &it, k, node)
    {
        if (cds_lfht_del(t->keys, &k->node) == 0)
            retire(t, k); // cppcheck-suppress uninitvar
    }
    cds_lfht_for_each_entry(t->grants, &it, g, node)
    {
        if (cds_lfht_del(t->grants, &g->node) == 0)
            retire(t, g);
    }
    rcu_read_unlock();
    free_retired(t);
    free(t->retired);
    for (size_t i = 0; i < t->nnames; i++)
        free(t->names[i]);
    free(t->names);
    for (size_t i = 0; i < t->nplans; i++) {
        free(t->plans[i]->name);
        free(t->plans[i]);
    }
    free(t->plans);
    cds_lfht_destroy(t->keys, NULL);
    cds_lfht_destroy(t->grants, NULL);
    free(t);
}

void gh_access_thread_online(void)
{
    rcu_register_thread();
}

void gh_access_thread_offline(void)
{
    rcu_unregister_thread();
}

/* ---- sync (control thread) ---- */

static int on_gen(void *ctx, const struct gh_store_val *c, size_t n)
{
    if (n >= 1)
        *(int64_t *)ctx = c[0].type == GH_VAL_INT ? c[0].i : c[0].p ? strtoll(c[0].p, NULL, 10) : 0;
    return 0;
}

int64_t gh_access_generation(struct gh_store *s)
{
    int64_t g = 0;
    gh_store_exec(s, "SELECT value FROM gh_meta WHERE key = 'access_generation'", NULL, 0, on_gen, &g, NULL);
    return g;
}

int64_t gh_access_table_generation(const struct gh_access_table *t)
{
    return t->generation;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int on_key_row(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct gh_access_table *t = ctx;
    if (n < 3 || c[2].len != 64)
        return 0;
    unsigned char hash[32];
    for (int i = 0; i < 32; i++) {
        int hi = hexval(c[2].p[(size_t)2 * i]), lo = hexval(c[2].p[(size_t)2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        hash[i] = (unsigned char)(hi * 16 + lo);
    }
    unsigned long h = digest_hash(hash);
    struct cds_lfht_iter it;
    cds_lfht_lookup(t->keys, h, match_key, hash, &it);
    struct cds_lfht_node *found = cds_lfht_iter_get_node(&it);
    uint64_t expires = n > 3 && c[3].type == GH_VAL_TEXT ? gh_time_parse_rfc3339(c[3].p, c[3].len) : 0;
    struct key_node *old = found ? caa_container_of(found, struct key_node, node) : NULL;
    if (n > 4 && !gh_str_eq((struct gh_str){c[4].p, c[4].len}, "active")) {
        if (old && cds_lfht_del(t->keys, found) == 0) /* revoked: gone from now on */
            retire(t, old);
        return 0;
    }
    if (old && gh_str_eq((struct gh_str){c[1].p, c[1].len}, old->app)) {
        old->seen = t->syncs;
        atomic_store(&old->expires_ms, expires);
        return 0;
    }
    struct key_node *k = gh_calloc(1, sizeof(*k));
    atomic_init(&k->expires_ms, expires);
    memcpy(k->hash, hash, 32);
    snprintf(k->app, sizeof(k->app), "%.*s", (int)c[1].len, c[1].p);
    k->app_hash = app_hash(k->app);
    k->seen = t->syncs;
    cds_lfht_node_init(&k->node);
    if (old) { /* the same credential now acts for another application (a JWT client bound anew) */
        if (cds_lfht_replace(t->keys, &it, h, match_key, hash, &k->node) == 0)
            retire(t, old);
        else
            free(k);
        return 0;
    }
    cds_lfht_add_unique(t->keys, h, match_key, hash, &k->node);
    return 0;
}

struct grant_ctx {
    struct gh_access_table *t;
    const struct gh_config *cfg;
};

static int on_grant_row(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct grant_ctx *x = ctx;
    struct gh_access_table *t = x->t;
    if (n < 4)
        return 0;
    if (n > 4 && !gh_str_eq((struct gh_str){c[4].p, c[4].len}, "active")) {
        char app[GH_ACCESS_APP_MAX], api[64];
        snprintf(app, sizeof(app), "%.*s", (int)c[0].len, c[0].p);
        snprintf(api, sizeof(api), "%.*s", (int)c[1].len, c[1].p);
        struct grant_key gk = {app, api};
        struct cds_lfht_iter it;
        cds_lfht_lookup(t->grants, grant_hash(app, api), match_grant, &gk, &it);
        struct cds_lfht_node *found = cds_lfht_iter_get_node(&it);
        if (found && cds_lfht_del(t->grants, found) == 0)
            retire(t, caa_container_of(found, struct grant_node, node));
        return 0;
    }
    struct grant_node *g = gh_calloc(1, sizeof(*g));
    snprintf(g->app, sizeof(g->app), "%.*s", (int)c[0].len, c[0].p);
    g->api = intern(t, c[1].p, c[1].len);
    g->limits = plan_limits(t, x->cfg, c[2].p, c[2].len);
    g->expires_ms = c[3].type == GH_VAL_TEXT ? gh_time_parse_rfc3339(c[3].p, c[3].len) : 0;
    g->seen = t->syncs;
    struct grant_key gk = {g->app, g->api};
    unsigned long h = grant_hash(g->app, g->api);
    struct cds_lfht_iter it;
    cds_lfht_lookup(t->grants, h, match_grant, &gk, &it);
    struct cds_lfht_node *found = cds_lfht_iter_get_node(&it);
    cds_lfht_node_init(&g->node);
    if (found) {
        struct grant_node *old = caa_container_of(found, struct grant_node, node);
        if (old->limits == g->limits && old->expires_ms == g->expires_ms) {
            old->seen = t->syncs;
            free(g);
            return 0;
        }
        /* changed: the new entry takes over the limiter state */
        atomic_store(&g->tat, atomic_load(&old->tat));
        atomic_store(&g->used, atomic_load(&old->used));
        if (cds_lfht_replace(t->grants, &it, h, match_grant, &gk, &g->node) == 0)
            retire(t, old);
        else
            free(g);
        return 0;
    }
    cds_lfht_add_unique(t->grants, h, match_grant, &gk, &g->node);
    return 0;
}

int gh_access_table_update(struct gh_access_table *t, struct gh_store *s, const struct gh_config *cfg,
                           struct gh_err *err)
{
    if (t->generation == 0)
        return gh_access_table_sync(t, s, cfg, err);
    int64_t gen = gh_access_generation(s);
    if (gen == t->generation)
        return 0;
    struct gh_store_val p[] = {GH_VINT(t->generation)};
    rcu_read_lock();
    int rc =
        gh_store_exec(s, "SELECT id, app_id, hash, expires_at, state FROM credentials WHERE changed > $1", p,
                      1, on_key_row, t, err);
    struct grant_ctx gx = {t, cfg};
    if (rc == 0)
        rc = gh_store_exec(s, "SELECT app_id, api, plan, expires_at, state FROM grants WHERE changed > $1", p,
                           1, on_grant_row, &gx, err);
    if (rc == 0)
        t->generation = gen;
    rcu_read_unlock();
    free_retired(t);
    return rc;
}

static unsigned long pow2_at_least(unsigned long n)
{
    unsigned long p = 1024;
    while (p < n)
        p *= 2;
    return p;
}

static int on_count(void *ctx, const struct gh_store_val *c, size_t n)
{
    if (n >= 1 && c[0].type == GH_VAL_INT)
        *(int64_t *)ctx = c[0].i;
    return 0;
}

/* Sized for n entries before they go in: adding a million to a small table would make every
 * lookup walk long chains until the background resizes caught up. */
static void presize(struct cds_lfht *ht, struct gh_store *s, const char *sql)
{
    int64_t n = 0;
    if (gh_store_exec(s, sql, NULL, 0, on_count, &n, NULL) == 0 && n > 1024)
        cds_lfht_resize(ht, pow2_at_least((unsigned long)n));
}

int gh_access_table_sync(struct gh_access_table *t, struct gh_store *s, const struct gh_config *cfg,
                         struct gh_err *err)
{
    int64_t gen = gh_access_generation(s);
    t->syncs++;
    presize(t->keys, s, "SELECT COUNT(*) FROM credentials WHERE state = 'active'");
    presize(t->grants, s, "SELECT COUNT(*) FROM grants WHERE state = 'active'");
    rcu_read_lock();
    int rc = gh_store_exec(s, "SELECT id, app_id, hash, expires_at FROM credentials WHERE state = 'active'",
                           NULL, 0, on_key_row, t, err);
    struct grant_ctx gx = {t, cfg};
    if (rc == 0)
        rc = gh_store_exec(s, "SELECT app_id, api, plan, expires_at FROM grants WHERE state = 'active'", NULL,
                           0, on_grant_row, &gx, err);
    if (rc == 0) {
        /* what the store no longer has goes: readers still inside keep it until they leave */
        struct cds_lfht_iter it;
        struct key_node *k;
        struct grant_node *g;
        cds_lfht_for_each_entry(t->keys, &it, k, node) if (k->seen != t->syncs &&
                                                           cds_lfht_del(t->keys, &k->node) == 0) retire(t, k);
        cds_lfht_for_each_entry(t->grants, &it, g,
                                node) if (g->seen != t->syncs && cds_lfht_del(t->grants, &g->node) == 0)
            retire(t, g);
        t->generation = gen;
    }
    rcu_read_unlock();
    free_retired(t);
    if (rc == 0) {
        /* sized for what it holds now (growth by one's and two's is left to auto-resize): short
         * bucket chains keep the request path's two lookups short */
        long before, after;
        unsigned long nk = 0, ng = 0;
        cds_lfht_count_nodes(t->keys, &before, &nk, &after);
        cds_lfht_count_nodes(t->grants, &before, &ng, &after);
        cds_lfht_resize(t->keys, pow2_at_least(nk));
        cds_lfht_resize(t->grants, pow2_at_least(ng));
    }
    return rc;
}

/* ---- the request path ---- */

void gh_access_check(struct gh_access_table *t, const char *api, struct gh_str key,
                     struct gh_cred_cache *cache, uint64_t now_ns, uint64_t now_ms,
                     struct gh_access_decision *d)
{
    memset(d, 0, sizeof(*d));
    if (key.len == 0) {
        d->status = 401;
        d->reason = GH_DENY_MISSING;
        d->why = "an API key is required (X-Api-Key header)";
        return;
    }
    gh_key_id(key, d->key_id);
    const struct gh_cred_cached *hit = cache ? gh_cred_cache_get(cache, key, 0, 0) : NULL;
    if (hit) {
        gh_access_check_digest(t, api, hit->cred, now_ns, now_ms, d);
        return;
    }
    struct gh_cred_cached v = {.exp_s = UINT64_MAX};
    if (gh_key_check(key, v.cred, NULL) != 0) {
        d->status = 401;
        d->reason = GH_DENY_MALFORMED;
        d->why = "the API key is not valid";
        return;
    }
    if (cache)
        gh_cred_cache_put(cache, key, &v,
                          0); /* a well-formed key: unknown ones too, so guessing costs no more */
    gh_access_check_digest(t, api, v.cred, now_ns, now_ms, d);
}

void gh_access_check_digest(struct gh_access_table *t, const char *api, const unsigned char hash[32],
                            uint64_t now_ns, uint64_t now_ms, struct gh_access_decision *d)
{
    rcu_read_lock();
    struct cds_lfht_iter it;
    cds_lfht_lookup(t->keys, digest_hash(hash), match_key, hash, &it);
    struct cds_lfht_node *kn = cds_lfht_iter_get_node(&it);
    if (kn == NULL) {
        rcu_read_unlock();
        d->status = 401;
        d->reason = GH_DENY_UNKNOWN;
        d->why = d->key_id[0] ? "the API key is not valid" : "the token's application is not registered";
        return;
    }
    const struct key_node *k = caa_container_of(kn, struct key_node, node);
    uint64_t kexp = atomic_load_explicit(&k->expires_ms, memory_order_relaxed);
    if (kexp && now_ms >= kexp) {
        rcu_read_unlock();
        d->status = 401;
        d->reason = GH_DENY_EXPIRED;
        d->why = "the API key has expired";
        return;
    }
    memcpy(d->app, k->app, sizeof(d->app));
    d->app_hash = k->app_hash;
    struct grant_key gk = {k->app, api};
    cds_lfht_lookup(t->grants, grant_hash2(k->app_hash, api), match_grant, &gk, &it);
    struct cds_lfht_node *gn = cds_lfht_iter_get_node(&it);
    struct grant_node *g = gn ? caa_container_of(gn, struct grant_node, node) : NULL;
    if (g == NULL || (g->expires_ms && now_ms >= g->expires_ms)) {
        rcu_read_unlock();
        d->status = 403;
        d->reason = g ? GH_DENY_EXPIRED : GH_DENY_NO_GRANT;
        d->why =
            g ? "the grant for this API has expired" : "the caller's application has no grant for this API";
        return;
    }
    const struct plan_limits *l = g->limits;
    if (l->has_rate) {
        struct gh_rate_result r = gh_rate_take(&l->rate, &g->tat, now_ns);
        d->limit = l->rate.burst;
        d->remaining = r.remaining;
        d->window_s = l->rate.period_ns / 1000000000ull;
        d->reset_s = (r.reset_ns + 999999999ull) / 1000000000ull;
        if (!r.allowed) {
            rcu_read_unlock();
            d->status = 429;
            d->reason = GH_DENY_RATE;
            d->why = "rate limit exceeded";
            d->retry_after_s = (r.retry_after_ns + 999999999ull) / 1000000000ull;
            return;
        }
    }
    if (l->has_quota) {
        struct gh_quota_result q = gh_quota_take(l->quota, l->quota_per, &g->used, now_ms);
        if (!q.allowed) {
            rcu_read_unlock();
            d->status = 403;
            d->reason = GH_DENY_QUOTA;
            d->why = "quota exceeded";
            d->retry_after_s = (q.retry_after_ms + 999) / 1000;
            return;
        }
    }
    rcu_read_unlock();
}
