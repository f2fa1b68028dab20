/*
 * service.c: the catalog's locations on the control thread. See service.h.
 */
#include "service.h"

#include "../base/json.h"
#include "../http/http.h"
#include "index.h"
#include "ingest.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glob.h>

struct loc {
    char id[GH_LOCATION_ID_MAX];
    char *target;
    char *owner;     /* default owner for OpenAPI documents (config locations) */
    char *signature; /* of the files it read last time; NULL: never ingested */
    char *watched;   /* those files and globs, one per line */
};

struct gh_catalog_service {
    struct gh_store *store;
    /* the query index is rebuilt off the control thread, on a second connection */
    struct gh_store *reader;
    uv_loop_t *loop;
    uv_work_t work;
    int building, again, stopping;
    struct gh_catalog_index *built;
    struct gh_err build_err;
    const struct gh_config *cfg;
    uv_timer_t timer;
    int timer_on;
    struct loc *locs;
    size_t nlocs;
    char **allowed; /* the config's allowed_dirs and every config location's directory */
    size_t nallowed;
    char gateway_id[GH_LOCATION_ID_MAX];
};

static const char *jtext(const struct gh_json *j)
{
    const char *s = gh_json_str(j, NULL);
    return s ? s : "";
}

/* ---- the gateway's facts ---- */

static void gateway_base(const struct gh_config *cfg, char *out, size_t cap)
{
    if (cfg->gateway_url) {
        snprintf(out, cap, "%s", cfg->gateway_url);
        return;
    }
    /* from listen: an any-address host becomes localhost */
    const char *l = cfg->gateway_listen;
    const char *colon = strrchr(l, ':');
    size_t hl = colon ? (size_t)(colon - l) : strlen(l);
    if (hl == 0 || (hl == 7 && strncmp(l, "0.0.0.0", 7) == 0) || (hl == 4 && strncmp(l, "[::]", 4) == 0))
        snprintf(out, cap, "http://localhost%s", colon ? colon : "");
    else
        snprintf(out, cap, "http://%s", l);
}

static void put(struct gh_json *o, const char *k, const char *v)
{
    gh_json_set(o, k, gh_json_string(v, strlen(v)));
}

struct gh_json *gh_catalog_gateway_annotations(const struct gh_config *cfg, const struct gh_config_api *a)
{
    struct gh_json *ann = gh_json_object();
    char base[512];
    gateway_base(cfg, base, sizeof(base));
    struct gh_buf b = {0};
    gh_buf_addf(&b, "%s%s", base, strcmp(a->path, "/") == 0 ? "" : a->path);
    put(ann, "gatehouse.dev/gateway-url", b.p);
    gh_buf_free(&b);
    put(ann, "gatehouse.dev/gateway-api", a->name);
    /* routes: "GET,POST example.com /pay" -- methods (or *), hosts (or *), the path prefix */
    for (int m = 1; m < GH_METHOD_COUNT_; m++)
        if (a->methods & (1u << m))
            gh_buf_addf(&b, "%s%s", b.len ? "," : "", gh_http_method_name(m));
    if (b.len == 0)
        gh_buf_adds(&b, "*");
    gh_buf_adds(&b, " ");
    for (size_t i = 0; i < a->nhosts; i++)
        gh_buf_addf(&b, "%s%s", i ? "," : "", a->hosts[i]);
    gh_buf_addf(&b, " %s", a->path);
    put(ann, "gatehouse.dev/routes", b.p);
    gh_buf_free(&b);
    for (size_t i = 0; i < a->ntargets; i++)
        gh_buf_addf(&b, "%s%s", i ? ", " : "", a->targets[i]);
    if (a->mock) /* no upstream: the gateway answers from the document's examples */
        gh_buf_addf(&b, "%smock", b.len ? ", " : "");
    put(ann, "gatehouse.dev/upstream", b.p ? b.p : "");
    gh_buf_free(&b);
    gh_buf_addf(&b, "connect_timeout=%llums, timeout=%llums%s", (unsigned long long)a->connect_timeout_ms,
                (unsigned long long)a->timeout_ms, a->strip_prefix ? ", strip_prefix" : "");
    put(ann, "gatehouse.dev/policies", b.p);
    gh_buf_free(&b);
    if (a->nplans) {
        for (size_t i = 0; i < a->nplans; i++)
            gh_buf_addf(&b, "%s%s", i ? ", " : "", a->plans[i]);
        put(ann, "gatehouse.dev/plans", b.p);
        gh_buf_free(&b);
    }
    return ann;
}

static const struct gh_config_api *gateway_api(const struct gh_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->napis; i++)
        if (strcasecmp(cfg->apis[i].name, name) == 0)
            return &cfg->apis[i];
    return NULL;
}

/* Ingestion hook: an API entity in the default namespace named like a gateway API gets its facts. */
static void enrich(void *ctx, struct gh_json *e)
{
    struct gh_catalog_service *svc = ctx;
    const struct gh_json *md = gh_json_get(e, "metadata");
    if (strcasecmp(jtext(gh_json_get(e, "kind")), "API") != 0 ||
        strcmp(jtext(gh_json_get(md, "namespace")), "default") != 0)
        return;
    const struct gh_config_api *a = gateway_api(svc->cfg, jtext(gh_json_get(md, "name")));
    if (a == NULL)
        return;
    struct gh_json *ann = gh_json_get(md, "annotations"),
                   *facts = gh_catalog_gateway_annotations(svc->cfg, a);
    void *it = NULL;
    const char *k;
    struct gh_json *v;
    while (gh_json_next(facts, &it, &k, &v))
        gh_json_set(ann, k, gh_json_ref(v));
    gh_json_unref(facts);
}

static int on_exists(void *ctx, const struct gh_store_val *c, size_t n)
{
    (void)c;
    (void)n;
    *(int *)ctx = 1;
    return 0;
}

/* The gateway's location: an API entity for each configured API no catalog file describes. */
static int ingest_gateway(struct gh_catalog_service *svc, struct gh_err *err)
{
    struct gh_catalog_batch *b = gh_catalog_batch_new();
    for (size_t i = 0; i < svc->cfg->napis; i++) {
        const struct gh_config_api *a = &svc->cfg->apis[i];
        char ref[GH_ENTITY_REF_MAX];
        struct gh_entity_ref r;
        snprintf(r.kind, sizeof(r.kind), "API");
        snprintf(r.ns, sizeof(r.ns), "default");
        snprintf(r.name, sizeof(r.name), "%s", a->name);
        gh_catalog_ref_string(&r, ref, sizeof(ref));
        int described = 0;
        struct gh_store_val p[] = {GH_VTEXT(ref), GH_VTEXT(svc->gateway_id)};
        int rc =
            gh_store_exec(svc->store, "SELECT 1 FROM catalog_entities WHERE ref = $1 AND location_id <> $2",
                          p, 2, on_exists, &described, err);
        if (rc) {
            gh_catalog_batch_free(b);
            return rc;
        }
        if (described)
            continue;
        struct gh_json *e = gh_json_object(), *md = gh_json_object(), *spec = gh_json_object();
        put(e, "apiVersion", "backstage.io/v1alpha1");
        put(e, "kind", "API");
        put(md, "name", a->name);
        if (a->description)
            put(md, "description", a->description);
        struct gh_json *ann = gh_catalog_gateway_annotations(svc->cfg, a);
        put(ann, "backstage.io/managed-by-location", "gateway:config");
        put(ann, "backstage.io/managed-by-origin-location", "gateway:config");
        gh_json_set(md, "annotations", ann);
        gh_json_set(e, "metadata", md);
        put(spec, "type", "openapi");
        put(spec, "lifecycle", a->lifecycle ? a->lifecycle : "production");
        put(spec, "owner", a->owner ? a->owner : "unknown");
        if (a->system)
            put(spec, "system", a->system);
        /* what the gateway knows: a minimal OpenAPI document naming the server, without operations */
        struct gh_json *doc = gh_json_object(), *info = gh_json_object(), *servers = gh_json_array(),
                       *server = gh_json_object();
        put(doc, "openapi", "3.0.3");
        put(info, "title", a->name);
        put(info, "version", "gateway");
        gh_json_set(doc, "info", info);
        put(server, "url", jtext(gh_json_get(ann, "gatehouse.dev/gateway-url")));
        gh_json_append(servers, server);
        gh_json_set(doc, "servers", servers);
        gh_json_set(doc, "paths", gh_json_object());
        char *def = gh_json_dump(doc, 1);
        gh_json_unref(doc);
        put(spec, "definition", def);
        free(def);
        gh_json_set(e, "spec", spec);
        char source[256];
        snprintf(source, sizeof(source), "%s:%d", svc->cfg->file, a->line);
        struct gh_err why = {{0}};
        if (gh_entity_check(e, &r, &why) != 0) {
            gh_catalog_batch_error(b, source, ref, why.msg);
            gh_json_unref(e);
            continue;
        }
        gh_catalog_batch_add(b, e, &r, source, NULL);
    }
    struct gh_catalog_counts c;
    int rc = gh_catalog_commit(svc->store, svc->gateway_id, b, &c, err);
    gh_catalog_batch_free(b);
    return rc;
}

/* ---- file locations ---- */

/* What a location read, as one string: a change in any file or glob listing changes it. */
static char *signature(const struct gh_catalog_batch *b)
{
    struct gh_buf sig = {0};
    gh_buf_add(&sig, "", 0);
    const char *w;
    for (size_t i = 0; (w = gh_catalog_batch_watched(b, i)) != NULL; i++) {
        if (strncmp(w, "glob:", 5) == 0) {
            glob_t g;
            gh_buf_addf(&sig, "%s\n", w);
            if (glob(w + 5, 0, NULL, &g) == 0) {
                for (size_t k = 0; k < g.gl_pathc; k++)
                    gh_buf_addf(&sig, " %s\n", g.gl_pathv[k]);
                globfree(&g);
            }
            continue;
        }
        struct stat st;
        if (stat(w, &st) == 0)
            gh_buf_addf(&sig, "%s %lld.%09ld %lld %llu\n", w, (long long)st.st_mtim.tv_sec,
                        st.st_mtim.tv_nsec, (long long)st.st_size, (unsigned long long)st.st_ino);
        else
            gh_buf_addf(&sig, "%s -\n", w);
    }
    return sig.p;
}

/* The signature again, of the same files and globs (`watched`, one per line). */
static char *resignature(const char *watched)
{
    struct gh_catalog_batch *b = gh_catalog_batch_new();
    for (const char *p = watched; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = gh_malloc(n + 1);
        memcpy(line, p, n);
        line[n] = '\0';
        gh_catalog_batch_watch(b, line);
        free(line);
        p += n + (nl ? 1 : 0);
    }
    char *sig = signature(b);
    gh_catalog_batch_free(b);
    return sig;
}

static void remember(struct loc *l, const struct gh_catalog_batch *b)
{
    free(l->signature);
    free(l->watched);
    l->signature = signature(b);
    struct gh_buf w = {0};
    gh_buf_add(&w, "", 0);
    const char *x;
    for (size_t i = 0; (x = gh_catalog_batch_watched(b, i)) != NULL; i++)
        gh_buf_addf(&w, "%s\n", x);
    l->watched = w.p;
}

static int ingest_location(struct gh_catalog_service *svc, struct loc *l, struct gh_err *err)
{
    struct gh_ingest_opts o = {(const char *const *)svc->allowed, svc->nallowed, l->owner, enrich, svc};
    struct gh_catalog_batch *b = gh_catalog_batch_new();
    gh_catalog_ingest_file(l->target, &o, b);
    struct gh_catalog_counts c = {0};
    int rc = gh_catalog_commit(svc->store, l->id, b, &c, err);
    if (rc == 0) {
        remember(l, b);
        if (c.added || c.updated || c.removed || c.errors)
            gh_log(GH_LOG_INFO,
                   "catalog: %s: %zu added, %zu updated, %zu removed, %zu unchanged, %zu kept, %zu error%s",
                   l->target, c.added, c.updated, c.removed, c.unchanged, c.kept, c.errors,
                   c.errors == 1 ? "" : "s");
        const struct gh_json *errs = gh_catalog_batch_error_list(b);
        for (size_t i = 0; i < gh_json_size(errs) && i < 20; i++)
            gh_log(GH_LOG_WARN, "catalog: %s: %s", jtext(gh_json_get(gh_json_at(errs, i), "source")),
                   jtext(gh_json_get(gh_json_at(errs, i), "message")));
    }
    gh_catalog_batch_free(b);
    return rc;
}

static void add_allowed(struct gh_catalog_service *svc, char *dir)
{
    if (dir == NULL)
        return;
    for (size_t i = 0; i < svc->nallowed; i++)
        if (strcmp(svc->allowed[i], dir) == 0) {
            free(dir);
            return;
        }
    svc->allowed = gh_realloc(svc->allowed, (svc->nallowed + 1) * sizeof(char *));
    svc->allowed[svc->nallowed++] = dir;
}

static void free_locs(struct gh_catalog_service *svc)
{
    for (size_t i = 0; i < svc->nlocs; i++) {
        free(svc->locs[i].target);
        free(svc->locs[i].owner);
        free(svc->locs[i].signature);
        free(svc->locs[i].watched);
    }
    free(svc->locs);
    svc->locs = NULL;
    svc->nlocs = 0;
    for (size_t i = 0; i < svc->nallowed; i++)
        free(svc->allowed[i]);
    free(svc->allowed);
    svc->allowed = NULL;
    svc->nallowed = 0;
}

struct stored_loc {
    struct gh_catalog_service *svc;
};

static int on_stored(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct gh_catalog_service *svc = ctx;
    if (n < 4)
        return 0;
    /* id, type, target, origin: the API's file locations (the config's are added from the config) */
    if (!(c[1].len == 4 && memcmp(c[1].p, "file", 4) == 0) ||
        (c[3].len == 6 && memcmp(c[3].p, "config", 6) == 0))
        return 0;
    svc->locs = gh_realloc(svc->locs, (svc->nlocs + 1) * sizeof(*svc->locs));
    struct loc *l = &svc->locs[svc->nlocs++];
    *l = (struct loc){{0}, NULL, NULL, NULL, NULL};
    snprintf(l->id, sizeof(l->id), "%.*s", (int)c[0].len, c[0].p);
    l->target = gh_strdup(c[2].p ? c[2].p : "");
    return 0;
}

struct config_loc {
    char id[GH_LOCATION_ID_MAX];
    char target[PATH_MAX];
};

struct config_locs {
    struct config_loc *v;
    size_t n;
};

static int on_config_loc(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct config_locs *l = ctx;
    if (n < 2)
        return 0;
    l->v = gh_realloc(l->v, (l->n + 1) * sizeof(*l->v));
    snprintf(l->v[l->n].id, sizeof(l->v[l->n].id), "%.*s", (int)c[0].len, c[0].p);
    snprintf(l->v[l->n].target, sizeof(l->v[l->n].target), "%.*s", (int)c[1].len, c[1].p);
    l->n++;
    return 0;
}

/* Brings the locations in line with cfg: the config's own, the API's stored ones, the gateway's. */
static int sync_locations(struct gh_catalog_service *svc, struct gh_err *err)
{
    const struct gh_config *cfg = svc->cfg;
    free_locs(svc);
    for (size_t i = 0; i < cfg->nallowed_dirs; i++)
        add_allowed(svc, gh_strdup(cfg->allowed_dirs[i]));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < cfg->nlocations; i++) {
        const struct gh_config_location *cl = &cfg->locations[i];
        svc->locs = gh_realloc(svc->locs, (svc->nlocs + 1) * sizeof(*svc->locs));
        struct loc *l = &svc->locs[svc->nlocs++];
        *l = (struct loc){{0}, gh_strdup(cl->target), cl->owner ? gh_strdup(cl->owner) : NULL, NULL, NULL};
        rc = gh_catalog_location_add(svc->store, "file", cl->target, "config", l->id, NULL, err);
        struct gh_err why = {{0}};
        char *dir = gh_catalog_target_dir(cl->target, &why);
        if (dir == NULL)
            gh_log(GH_LOG_WARN, "catalog: %s", why.msg);
        add_allowed(svc, dir);
    }
    /* config locations the config no longer names go, with their entities */
    struct config_locs old = {0};
    if (rc == 0)
        rc = gh_store_exec(svc->store, "SELECT id, target FROM catalog_locations WHERE origin = 'config'",
                           NULL, 0, on_config_loc, &old, err);
    for (size_t i = 0; rc == 0 && i < old.n; i++) {
        int kept = 0;
        for (size_t k = 0; k < cfg->nlocations; k++)
            if (strcmp(cfg->locations[k].target, old.v[i].target) == 0)
                kept = 1;
        if (!kept) {
            gh_log(GH_LOG_INFO, "catalog: location %s is no longer in the config; its entities are removed",
                   old.v[i].target);
            rc = gh_catalog_location_remove(svc->store, old.v[i].id, err);
        }
    }
    free(old.v);
    if (rc == 0)
        rc = gh_store_exec(svc->store,
                           "SELECT id, type, target, origin FROM catalog_locations ORDER BY created_at", NULL,
                           0, on_stored, svc, err);
    if (rc == 0)
        rc = gh_catalog_location_add(svc->store, "gateway", "config", "gateway", svc->gateway_id, NULL, err);
    return rc;
}

/* ---- the query index, rebuilt on a thread of libuv's pool ---- */

static void on_build(uv_work_t *w)
{
    struct gh_catalog_service *svc = w->data;
    svc->built = gh_catalog_index_build(svc->reader, &svc->build_err);
}

static void rebuild(struct gh_catalog_service *svc);

static void on_built(uv_work_t *w, int status)
{
    struct gh_catalog_service *svc = w->data;
    svc->building = 0;
    if (svc->stopping) {
        gh_catalog_index_free(svc->built);
        gh_store_close(svc->reader);
        free(svc);
        return;
    }
    if (status == 0 && svc->built)
        gh_catalog_index_install(svc->store, svc->built);
    else
        gh_log(GH_LOG_ERROR, "catalog: rebuilding the query index: %s", svc->build_err.msg);
    svc->built = NULL;
    if (svc->again)
        rebuild(svc);
}

/* After a change: the index is rebuilt in the background (the server), or now (the command line). */
static int reindex(struct gh_catalog_service *svc, struct gh_err *err)
{
    if (svc->reader == NULL)
        return gh_catalog_warm(svc->store, err);
    rebuild(svc);
    return 0;
}

static void rebuild(struct gh_catalog_service *svc)
{
    svc->again = svc->building;
    if (svc->building)
        return;
    svc->building = 1;
    svc->work.data = svc;
    if (uv_queue_work(svc->loop, &svc->work, on_build, on_built) != 0) {
        svc->building = 0;
        struct gh_err err = {{0}};
        if (gh_catalog_warm(svc->store, &err) != 0)
            gh_log(GH_LOG_ERROR, "catalog: %s", err.msg);
    }
}

int gh_catalog_service_refresh_all(struct gh_catalog_service *svc, struct gh_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < svc->nlocs; i++)
        rc = ingest_location(svc, &svc->locs[i], err);
    if (rc == 0)
        rc = ingest_gateway(svc, err);
    if (rc == 0)
        rc = reindex(svc, err);
    return rc;
}

static void on_poll(uv_timer_t *t)
{
    struct gh_catalog_service *svc = t->data;
    int changed = 0;
    for (size_t i = 0; i < svc->nlocs; i++) {
        struct loc *l = &svc->locs[i];
        char *now = l->watched ? resignature(l->watched) : NULL;
        if (now == NULL || strcmp(now, l->signature) != 0) {
            struct gh_err err = {{0}};
            if (ingest_location(svc, l, &err) != 0)
                gh_log(GH_LOG_ERROR, "catalog: %s: %s", l->target, err.msg);
            changed = 1;
        }
        free(now);
    }
    if (changed) {
        struct gh_err err = {{0}};
        if (ingest_gateway(svc, &err) != 0 || reindex(svc, &err) != 0)
            gh_log(GH_LOG_ERROR, "catalog: %s", err.msg);
    }
}

static void arm(struct gh_catalog_service *svc)
{
    if (!svc->timer_on)
        return;
    uv_timer_stop(&svc->timer);
    if (svc->cfg->catalog_poll_ms)
        uv_timer_start(&svc->timer, on_poll, svc->cfg->catalog_poll_ms, svc->cfg->catalog_poll_ms);
}

int gh_catalog_service_start(uv_loop_t *loop, struct gh_store *s, const struct gh_config *cfg,
                             struct gh_catalog_service **out, struct gh_err *err)
{
    struct gh_catalog_service *svc = gh_calloc(1, sizeof(*svc));
    svc->store = s;
    svc->cfg = cfg;
    int rc = sync_locations(svc, err);
    if (rc == 0)
        rc = gh_catalog_service_refresh_all(svc, err); /* and the first index, built here */
    if (rc) {
        free_locs(svc);
        free(svc);
        return rc;
    }
    if (loop && cfg->store_path) {
        /* a second connection for building indexes off this thread (WAL: it never blocks the writer) */
        struct gh_store_config scfg = {cfg->store_driver, cfg->store_path};
        struct gh_err why = {{0}};
        if (gh_store_open(&scfg, &svc->reader, &why) == 0) {
            svc->loop = loop;
            gh_catalog_index_background(s);
        } else {
            gh_log(GH_LOG_WARN, "catalog: indexes are rebuilt on the control thread: %s", why.msg);
        }
    }
    if (loop) {
        uv_timer_init(loop, &svc->timer);
        svc->timer.data = svc;
        svc->timer_on = 1;
        arm(svc);
    }
    *out = svc;
    return 0;
}

void gh_catalog_service_config(struct gh_catalog_service *svc, const struct gh_config *cfg)
{
    svc->cfg = cfg;
    struct gh_err err = {{0}};
    if (sync_locations(svc, &err) != 0 || gh_catalog_service_refresh_all(svc, &err) != 0)
        gh_log(GH_LOG_ERROR, "catalog: %s", err.msg);
    arm(svc);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct gh_catalog_service *svc = h->data;
    if (svc->building)
        svc->stopping = 1; /* on_built frees it */
    else
        free(svc);
}

void gh_catalog_service_stop(struct gh_catalog_service *svc)
{
    if (svc == NULL)
        return;
    free_locs(svc);
    gh_catalog_index_background(NULL);
    if (svc->building) {
        /* the build reads through svc->reader: it is closed once the build is done (on_built) */
    } else {
        gh_store_close(svc->reader);
        svc->reader = NULL;
    }
    if (svc->timer_on)
        uv_close((uv_handle_t *)&svc->timer, on_timer_closed);
    else if (!svc->building)
        free(svc);
    else
        svc->stopping = 1;
}

struct gh_store *gh_catalog_service_store(struct gh_catalog_service *svc)
{
    return svc->store;
}

size_t gh_catalog_service_allowed(struct gh_catalog_service *svc, const char *const **dirs)
{
    *dirs = (const char *const *)svc->allowed;
    return svc->nallowed;
}

struct loc_of {
    char id[GH_LOCATION_ID_MAX];
    int found;
};

static int on_loc_of(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct loc_of *l = ctx;
    if (n >= 1) {
        snprintf(l->id, sizeof(l->id), "%.*s", (int)c[0].len, c[0].p);
        l->found = 1;
    }
    return 0;
}

int gh_catalog_service_refresh_entity(struct gh_catalog_service *svc, const char *ref, struct gh_err *err)
{
    struct loc_of lo = {{0}, 0};
    struct gh_store_val p[] = {GH_VTEXT(ref)};
    int rc = gh_store_exec(svc->store, "SELECT location_id FROM catalog_entities WHERE ref = $1", p, 1,
                           on_loc_of, &lo, err);
    if (rc)
        return rc;
    if (!lo.found)
        return gh_err_set(err, GH_ENOTFOUND, "no entity '%s'", ref);
    if (strcmp(lo.id, svc->gateway_id) == 0)
        return ingest_gateway(svc, err);
    for (size_t i = 0; i < svc->nlocs; i++)
        if (strcmp(svc->locs[i].id, lo.id) == 0)
            return ingest_location(svc, &svc->locs[i], err);
    return gh_err_set(err, GH_ENOTFOUND, "the location of '%s' is not loaded", ref);
}

int gh_catalog_service_add_location(struct gh_catalog_service *svc, const char *type, const char *target,
                                    int dry_run, struct gh_json **out, struct gh_err *err)
{
    if (strcmp(type, "file") != 0)
        return gh_err_set(
            err, GH_EINVAL,
            "type '%s' is not supported: only 'file' (Gatehouse does not fetch remote catalogs)", type);
    if (target[0] != '/')
        return gh_err_set(err, GH_EINVAL, "target '%s' must be an absolute path", target);
    char *dir = gh_catalog_target_dir(target, err);
    if (dir == NULL)
        return GH_EINVAL;
    int ok = 0;
    for (size_t i = 0; i < svc->nallowed && !ok; i++) {
        size_t n = strlen(svc->allowed[i]);
        ok = strncmp(dir, svc->allowed[i], n) == 0 && (dir[n] == '\0' || dir[n] == '/');
    }
    free(dir);
    if (!ok)
        return gh_err_set(err, GH_EINVAL,
                          "target '%s' is outside the directories locations may be added from "
                          "(catalog.allowed_dirs and the config's location directories)",
                          target);
    struct gh_json *res = gh_json_object(), *loc = gh_json_object(), *entities = gh_json_array();
    int existed = 0;
    char id[GH_LOCATION_ID_MAX] = "";
    struct gh_ingest_opts o = {(const char *const *)svc->allowed, svc->nallowed, NULL, enrich, svc};
    struct gh_catalog_batch *b = gh_catalog_batch_new();
    gh_catalog_ingest_file(target, &o, b);
    int rc = 0;
    if (!dry_run) {
        rc = gh_catalog_location_add(svc->store, "file", target, "api", id, &existed, err);
        if (rc == 0 && !existed) {
            svc->locs = gh_realloc(svc->locs, (svc->nlocs + 1) * sizeof(*svc->locs));
            struct loc *l = &svc->locs[svc->nlocs++];
            *l = (struct loc){{0}, gh_strdup(target), NULL, NULL, NULL};
            snprintf(l->id, sizeof(l->id), "%s", id);
            struct gh_catalog_counts c;
            rc = gh_catalog_commit(svc->store, id, b, &c, err);
            if (rc == 0)
                remember(l, b);
            if (rc == 0)
                rc = ingest_gateway(svc, err);
        }
    } else {
        /* a dry run's id is fresh and never stored */
        struct gh_store_val p[] = {GH_VTEXT("file"), GH_VTEXT(target)};
        struct loc_of lo = {{0}, 0};
        rc = gh_store_exec(svc->store, "SELECT id FROM catalog_locations WHERE type = $1 AND target = $2", p,
                           2, on_loc_of, &lo, err);
        existed = lo.found;
        snprintf(id, sizeof(id), "%s", lo.found ? lo.id : "00000000-0000-4000-8000-000000000000");
    }
    for (size_t i = 0; rc == 0 && i < gh_catalog_batch_count(b); i++) {
        struct gh_json *e = gh_catalog_batch_entity(b, i);
        char ref[GH_ENTITY_REF_MAX];
        const struct gh_json *md = gh_json_get(e, "metadata");
        snprintf(ref, sizeof(ref), "%s:%s/%s", jtext(gh_json_get(e, "kind")),
                 jtext(gh_json_get(md, "namespace")), jtext(gh_json_get(md, "name")));
        struct gh_json *stored = dry_run ? NULL : gh_catalog_get_by_ref(svc->store, ref, NULL);
        gh_json_append(entities, stored ? stored : gh_json_ref(e));
    }
    if (rc == 0 && dry_run && gh_catalog_batch_errors(b) > 0) {
        const struct gh_json *first = gh_json_at(gh_catalog_batch_error_list(b), 0);
        rc = gh_err_set(err, GH_EINVAL, "%s: %s", jtext(gh_json_get(first, "source")),
                        jtext(gh_json_get(first, "message")));
    }
    gh_catalog_batch_free(b);
    if (rc) {
        gh_json_unref(res);
        gh_json_unref(loc);
        gh_json_unref(entities);
        return rc;
    }
    put(loc, "id", id);
    put(loc, "type", "file");
    put(loc, "target", target);
    gh_json_set(res, "location", loc);
    gh_json_set(res, "entities", entities);
    gh_json_set(res, "exists", gh_json_bool(existed));
    *out = res;
    return 0;
}

int gh_catalog_service_remove_location(struct gh_catalog_service *svc, const char *id, struct gh_err *err)
{
    for (size_t i = 0; i < svc->nlocs; i++)
        if (strcmp(svc->locs[i].id, id) == 0) {
            struct gh_json *loc = gh_catalog_location_get(svc->store, id, NULL);
            int config = loc && strcmp(jtext(gh_json_get(loc, "origin")), "config") == 0;
            gh_json_unref(loc);
            if (config)
                return gh_err_set(err, GH_EINVAL, "location %s comes from the config file; remove it there",
                                  id);
            int rc = gh_catalog_location_remove(svc->store, id, err);
            if (rc)
                return rc;
            free(svc->locs[i].target);
            free(svc->locs[i].owner);
            free(svc->locs[i].signature);
            free(svc->locs[i].watched);
            svc->locs[i] = svc->locs[--svc->nlocs];
            return ingest_gateway(svc, err); /* a gateway API it described is the gateway's again */
        }
    if (strcmp(id, svc->gateway_id) == 0)
        return gh_err_set(err, GH_EINVAL, "location %s is the gateway's own; it follows the config", id);
    return gh_catalog_location_remove(svc->store, id, err);
}

/* ---- people, from sign-ins ---- */

int gh_catalog_service_sync_user(struct gh_catalog_service *svc, const char *user_ref,
                                 const char *display_name, const char *email, char *const *groups,
                                 size_t ngroups, struct gh_err *err)
{
    struct gh_entity_ref r;
    if (gh_catalog_parse_ref((struct gh_str){user_ref, strlen(user_ref)}, "User", NULL, &r, err) != 0)
        return GH_EINVAL;
    char id[GH_LOCATION_ID_MAX];
    int existed = 0;
    int rc = gh_catalog_location_add(svc->store, "identity", user_ref, "identity", id, &existed, err);
    if (rc)
        return rc;
    struct gh_json *e = gh_json_object(), *md = gh_json_object(), *spec = gh_json_object(),
                   *profile = gh_json_object(), *ann = gh_json_object(), *member = gh_json_array();
    char loc[GH_ENTITY_REF_MAX + 16];
    snprintf(loc, sizeof(loc), "identity:%s", user_ref);
    put(e, "apiVersion", "backstage.io/v1alpha1");
    put(e, "kind", "User");
    put(md, "name", r.name);
    put(ann, "backstage.io/managed-by-location", loc);
    put(ann, "backstage.io/managed-by-origin-location", loc);
    gh_json_set(md, "annotations", ann);
    gh_json_set(e, "metadata", md);
    if (display_name && display_name[0])
        put(profile, "displayName", display_name);
    if (email && email[0])
        put(profile, "email", email);
    gh_json_set(spec, "profile", profile);
    for (size_t i = 0; i < ngroups; i++)
        gh_json_append(member, gh_json_string(groups[i], strlen(groups[i])));
    gh_json_set(spec, "memberOf", member);
    gh_json_set(e, "spec", spec);
    struct gh_catalog_batch *b = gh_catalog_batch_new();
    struct gh_err why = {{0}};
    if (gh_entity_check(e, &r, &why) != 0) {
        gh_catalog_batch_error(b, "sign-in", user_ref, why.msg);
        gh_json_unref(e);
    } else {
        gh_catalog_batch_add(b, e, &r, "sign-in", NULL);
    }
    struct gh_catalog_counts c;
    rc = gh_catalog_commit(svc->store, id, b, &c, err);
    gh_catalog_batch_free(b);
    if (rc == 0 && (c.added || c.updated))
        rc = reindex(svc, err);
    return rc;
}
