/*
 * jwks.c: see jwks.h.
 */
#include "jwks.h"

#include "../base/fetch.h"
#include "../base/json.h"

#include <urcu.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SLOTS 64
#define TICK_MS 100
#define FETCH_TIMEOUT_MS 5000
#define FETCH_MAX_BYTES ((size_t)1 << 20)

struct held {
    struct rcu_head rcu;
    struct gh_jwk_set *set;
};

struct slot {
    char *iss;         /* fixed once the slot is published */
    struct held *keys; /* RCU-published */
    atomic_int want;   /* a worker met an unknown kid */
    /* control thread only */
    int active, inflight, failing;
    char *jwks_uri, *discovery;
    struct gh_json *doc; /* the last discovery document (NULL: none fetched) */
    uint64_t refresh_ms, min_refresh_ms;
    uint64_t next_ms, last_ms, backoff_ms;
};

struct gh_jwks_registry {
    uv_loop_t *loop;
    uv_timer_t timer;
    struct slot slots[MAX_SLOTS];
    atomic_size_t n;
    _Atomic uint64_t generation;
    int stopped, inflight;
};

struct fetch {
    uv_work_t work;
    struct gh_jwks_registry *r;
    int slot;
    char *iss, *jwks_uri, *discovery;
    struct gh_json *doc;
    struct gh_jwk_set *set;
    char why[512];
};

static void free_held(struct rcu_head *h)
{
    struct held *k = caa_container_of(h, struct held, rcu);
    gh_jwks_free(k->set);
    free(k);
}

/* Publishes set (may be NULL) for slot s; the old one goes once no reader holds it. */
static void publish(struct gh_jwks_registry *r, struct slot *s, struct gh_jwk_set *set)
{
    struct held *k = NULL;
    if (set) {
        k = gh_calloc(1, sizeof(*k));
        k->set = set;
    }
    struct held *old = rcu_xchg_pointer(&s->keys, k);
    if (old)
        call_rcu(&old->rcu, free_held);
    atomic_fetch_add(&r->generation, 1);
}

/* ---- fetching (thread pool) ---- */

static int get_json(const char *url, struct gh_json **out, char *why, size_t cap)
{
    struct gh_fetch_result res;
    struct gh_err err = {{0}};
    if (gh_fetch(url, FETCH_TIMEOUT_MS, FETCH_MAX_BYTES, &res, &err) != 0) {
        snprintf(why, cap, "%s", err.msg);
        return -1;
    }
    if (res.status != 200) {
        snprintf(why, cap, "%s: HTTP %ld", url, res.status);
        gh_buf_free(&res.body);
        return -1;
    }
    *out = gh_json_parse(res.body.p, res.body.len, &err);
    gh_buf_free(&res.body);
    if (*out == NULL || gh_json_type(*out) != GH_JSON_OBJECT) {
        gh_json_unref(*out);
        snprintf(why, cap, "%s: not a JSON object (%.200s)", url, err.msg);
        return -1;
    }
    return 0;
}

static void do_fetch(uv_work_t *w)
{
    struct fetch *f = w->data;
    char *uri = f->jwks_uri ? gh_strdup(f->jwks_uri) : NULL;
    if (f->discovery) {
        struct gh_json *doc = NULL;
        if (get_json(f->discovery, &doc, f->why, sizeof(f->why)) != 0) {
            free(uri);
            return;
        }
        /* OpenID Connect Discovery 1.0, 4.3: the document's issuer must be the one asked about */
        const char *iss = gh_json_str(gh_json_get(doc, "issuer"), NULL);
        const char *ju = gh_json_str(gh_json_get(doc, "jwks_uri"), NULL);
        if (iss == NULL || strcmp(iss, f->iss) != 0)
            snprintf(f->why, sizeof(f->why), "%s: the document's issuer is not %s", f->discovery, f->iss);
        else if (uri == NULL &&
                 (ju == NULL || (strncmp(ju, "https://", 8) != 0 && strncmp(ju, "http://", 7) != 0)))
            snprintf(f->why, sizeof(f->why), "%s: no http(s) jwks_uri", f->discovery);
        else if (uri == NULL)
            uri = gh_strdup(ju);
        if (uri == NULL) {
            gh_json_unref(doc);
            return;
        }
        f->doc = doc;
    }
    struct gh_fetch_result res;
    struct gh_err err = {{0}};
    if (gh_fetch(uri, FETCH_TIMEOUT_MS, FETCH_MAX_BYTES, &res, &err) != 0) {
        snprintf(f->why, sizeof(f->why), "%s", err.msg);
    } else if (res.status != 200) {
        snprintf(f->why, sizeof(f->why), "%s: HTTP %ld", uri, res.status);
    } else if (gh_jwks_parse(res.body.p, res.body.len, &f->set, &err) != 0) {
        snprintf(f->why, sizeof(f->why), "%.200s: %.300s", uri, err.msg);
    }
    gh_buf_free(&res.body);
    free(uri);
}

static void fetch_free(struct fetch *f)
{
    gh_jwks_free(f->set);
    gh_json_unref(f->doc);
    free(f->iss);
    free(f->jwks_uri);
    free(f->discovery);
    free(f);
}

static void fetch_done(uv_work_t *w, int status)
{
    struct fetch *f = w->data;
    struct gh_jwks_registry *r = f->r;
    r->inflight--;
    struct slot *s = &r->slots[f->slot];
    s->inflight = 0;
    if (status != 0 || r->stopped || !s->active) {
        fetch_free(f);
        return;
    }
    uint64_t now = uv_now(r->loop);
    if (f->set) {
        if (s->failing)
            gh_log(GH_LOG_INFO, "issuer %s: signing keys fetched again", s->iss);
        gh_log(GH_LOG_DEBUG, "issuer %s: %zu signing keys", s->iss, gh_jwks_count(f->set));
        publish(r, s, f->set);
        f->set = NULL;
        if (f->doc) {
            gh_json_unref(s->doc);
            s->doc = f->doc;
            f->doc = NULL;
        }
        s->failing = 0;
        s->backoff_ms = 0;
        s->next_ms = now + s->refresh_ms;
    } else {
        /* keep the last good keys; before the first, try again soon, backing off to min_refresh */
        int have = s->keys != NULL;
        if (!s->failing)
            gh_log(GH_LOG_WARN, "issuer %s: cannot fetch signing keys (%s)%s", s->iss, f->why,
                   have ? "; keeping the last good ones" : "");
        s->failing = 1;
        s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 500;
        if (s->backoff_ms > s->min_refresh_ms || have)
            s->backoff_ms = s->min_refresh_ms;
        s->next_ms = now + s->backoff_ms;
    }
    fetch_free(f);
}

static void start_fetch(struct gh_jwks_registry *r, int i)
{
    struct slot *s = &r->slots[i];
    struct fetch *f = gh_calloc(1, sizeof(*f));
    f->r = r;
    f->slot = i;
    f->iss = gh_strdup(s->iss);
    f->jwks_uri = s->jwks_uri ? gh_strdup(s->jwks_uri) : NULL;
    f->discovery = s->discovery ? gh_strdup(s->discovery) : NULL;
    f->work.data = f;
    s->inflight = 1;
    s->last_ms = uv_now(r->loop);
    if (uv_queue_work(r->loop, &f->work, do_fetch, fetch_done) != 0) {
        s->inflight = 0;
        fetch_free(f);
        return;
    }
    r->inflight++;
}

static void on_tick(uv_timer_t *t)
{
    struct gh_jwks_registry *r = t->data;
    uint64_t now = uv_now(r->loop);
    size_t n = atomic_load(&r->n);
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &r->slots[i];
        if (!s->active || s->inflight)
            continue;
        int asked = atomic_load(&s->want) && now >= s->last_ms + s->min_refresh_ms;
        if (asked || now >= s->next_ms) {
            atomic_store(&s->want, 0);
            start_fetch(r, (int)i);
        }
    }
}

/* ---- control ---- */

struct gh_jwks_registry *gh_jwks_registry_new(uv_loop_t *loop)
{
    struct gh_jwks_registry *r = gh_calloc(1, sizeof(*r));
    r->loop = loop;
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, on_tick, TICK_MS, TICK_MS);
    return r;
}

static void set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? gh_strdup(src) : NULL;
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

void gh_jwks_registry_configure(struct gh_jwks_registry *r, const struct gh_config *cfg)
{
    size_t n = atomic_load(&r->n);
    for (size_t i = 0; i < n; i++)
        r->slots[i].active = 0;
    /* the portal's OpenID provider too, as if it were one more issuer (the gateway never takes its
     * tokens unless an issuers: entry names it) */
    const struct gh_config_identity *id = &cfg->identity;
    struct gh_config_issuer portal = {
        .issuer = id->issuer, .discovery = id->discovery, .refresh_ms = 3600000, .min_refresh_ms = 30000};
    for (size_t k = 0; k < cfg->nissuers + (id->issuer != NULL); k++) {
        struct gh_config_issuer merged;
        const struct gh_config_issuer *is = k < cfg->nissuers ? &cfg->issuers[k] : &portal;
        if (k < cfg->nissuers && id->issuer && strcmp(is->issuer, id->issuer) == 0) {
            merged = *is; /* the same provider: one key set, and its discovery document kept */
            merged.discovery = id->discovery;
            is = &merged;
        } else if (k == cfg->nissuers) {
            size_t m = 0;
            while (m < cfg->nissuers && strcmp(cfg->issuers[m].issuer, id->issuer) != 0)
                m++;
            if (m < cfg->nissuers)
                break; /* merged above */
        }
        size_t i = 0;
        while (i < n && strcmp(r->slots[i].iss, is->issuer) != 0)
            i++;
        if (i == n) {
            if (n == MAX_SLOTS) {
                gh_log(GH_LOG_ERROR, "issuer %s: more than %d issuers; not loaded", is->issuer, MAX_SLOTS);
                continue;
            }
            r->slots[i].iss = gh_strdup(is->issuer);
            atomic_store(&r->n, ++n); /* published after its iss is set */
        }
        struct slot *s = &r->slots[i];
        if (!same(s->jwks_uri, is->jwks_uri) || !same(s->discovery, is->discovery) || !s->active) {
            set_str(&s->jwks_uri, is->jwks_uri);
            set_str(&s->discovery, is->discovery);
            s->next_ms = 0; /* fetch at the next tick */
            s->backoff_ms = 0;
        }
        s->active = 1;
        s->refresh_ms = is->refresh_ms;
        s->min_refresh_ms = is->min_refresh_ms;
    }
    for (size_t i = 0; i < n; i++)
        if (!r->slots[i].active && r->slots[i].keys)
            publish(r, &r->slots[i], NULL);
    on_tick(&r->timer); /* new issuers: fetch now */
}

void gh_jwks_registry_stop(struct gh_jwks_registry *r)
{
    r->stopped = 1;
    uv_close((uv_handle_t *)&r->timer, NULL);
}

void gh_jwks_registry_free(struct gh_jwks_registry *r)
{
    if (r == NULL)
        return;
    size_t n = atomic_load(&r->n);
    for (size_t i = 0; i < n; i++) {
        struct held *k = r->slots[i].keys;
        if (k) {
            gh_jwks_free(k->set);
            free(k);
        }
        gh_json_unref(r->slots[i].doc);
        free(r->slots[i].iss);
        free(r->slots[i].jwks_uri);
        free(r->slots[i].discovery);
    }
    free(r);
}

/* ---- workers ---- */

void gh_jwks_read_lock(void)
{
    rcu_read_lock();
}

void gh_jwks_read_unlock(void)
{
    rcu_read_unlock();
}

const struct gh_jwk_set *gh_jwks_lookup(struct gh_jwks_registry *r, const char *iss, int *slot)
{
    size_t n = atomic_load(&r->n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(r->slots[i].iss, iss) == 0) {
            *slot = (int)i;
            struct held *k = rcu_dereference(r->slots[i].keys);
            return k ? k->set : NULL;
        }
    *slot = -1;
    return NULL;
}

const struct gh_json *gh_jwks_discovery(struct gh_jwks_registry *r, const char *iss)
{
    size_t n = atomic_load(&r->n);
    for (size_t i = 0; i < n; i++)
        if (r->slots[i].active && strcmp(r->slots[i].iss, iss) == 0)
            return r->slots[i].doc;
    return NULL;
}

const struct gh_jwk_set *gh_jwks_current(struct gh_jwks_registry *r, const char *iss)
{
    int slot;
    const struct gh_jwk_set *set = gh_jwks_lookup(r, iss, &slot);
    if (set == NULL || gh_jwks_count(set) == 0)
        gh_jwks_want_refresh(r, slot);
    return set;
}

uint64_t gh_jwks_generation(const struct gh_jwks_registry *r)
{
    return atomic_load(&r->generation);
}

void gh_jwks_want_refresh(struct gh_jwks_registry *r, int slot)
{
    if (slot >= 0 && (size_t)slot < atomic_load(&r->n))
        atomic_store(&r->slots[slot].want, 1);
}

size_t gh_jwks_key_count(struct gh_jwks_registry *r, const char *iss)
{
    int slot;
    rcu_read_lock();
    size_t n = gh_jwks_count(gh_jwks_lookup(r, iss, &slot));
    rcu_read_unlock();
    return n;
}
