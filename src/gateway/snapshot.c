/*
 * snapshot.c: config -> routes and resolved upstream targets.
 */
#include "snapshot.h"
#include "mock.h"
#include "stats.h"

#include "../base/child.h"
#include "../base/json.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_target(struct gh_target *t)
{
    free(t->url);
    free(t->authority);
    free(t->name);
    free(t->base_path);
}

/* "http://host[:port][/base]" -> resolved address, Host value and base path. */
static int compile_target(const struct gh_config *cfg, const struct gh_config_api *a, const char *url,
                          struct gh_target *t, struct gh_err *err)
{
    const char *auth = url + 7, *slash = strchr(auth, '/');
    size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
    char host[256], port[8] = "80";
    t->url = gh_strdup(url);
    t->authority = gh_strndup(auth, alen);
    const char *hs = auth, *he;
    if (*hs == '[') {
        he = memchr(hs, ']', alen);
        if (he == NULL)
            goto bad;
        hs++;
    } else {
        he = memchr(hs, ':', alen);
        if (he == NULL)
            he = auth + alen;
    }
    if (he - hs <= 0 || (size_t)(he - hs) >= sizeof(host))
        goto bad;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    const char *pc = memchr(he, ':', (size_t)(auth + alen - he));
    if (pc) {
        size_t pl = (size_t)(auth + alen - pc - 1);
        uint64_t pv;
        if (pl == 0 || pl >= sizeof(port) || gh_parse_u64(pc + 1, pl, 65535, &pv) != 0 || pv == 0)
            goto bad;
        memcpy(port, pc + 1, pl);
        port[pl] = '\0';
    }
    size_t bl = slash ? strlen(slash) : 0;
    while (bl > 0 && slash[bl - 1] == '/')
        bl--;
    t->base_path = gh_strndup(slash ? slash : "", bl);
    t->base_len = bl;

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0 || res == NULL)
        return gh_err_set(err, GH_EINVAL, "%s:%d: apis.%s.upstream.targets: cannot resolve '%s': %s",
                          cfg->file, a->line, a->name, host, gai_strerror(gai));
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addrlen = res->ai_addrlen;
    char ip[64], sv[16];
    getnameinfo(res->ai_addr, res->ai_addrlen, ip, sizeof(ip), sv, sizeof(sv),
                NI_NUMERICHOST | NI_NUMERICSERV);
    freeaddrinfo(res);
    size_t nl = strlen(ip) + strlen(sv) + 4;
    t->name = gh_malloc(nl);
    snprintf(t->name, nl, res && strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip, sv);
    return 0;
bad:
    return gh_err_set(err, GH_EINVAL,
                      "%s:%d: apis.%s.upstream.targets: '%s' is not http://host[:port][/path]", cfg->file,
                      a->line, a->name, url);
}

/* apis[].mock: the OpenAPI document, parsed in a child (it is not our own YAML), into answers. */
static int load_mock(const struct gh_config_api *ca, struct gh_mock **out, struct gh_err *err)
{
    char *text = NULL;
    size_t len = 0;
    struct gh_err why = {{0}};
    if (gh_read_file(ca->mock, GH_CHILD_MAX_INPUT, &text, &len, &why) != 0)
        return gh_err_set(err, GH_EINVAL, "apis.%s.mock: %s", ca->name, why.msg);
    struct gh_json *docs = gh_yaml_stream_json_isolated(ca->mock, text, len, &why);
    free(text);
    int rc = docs ? gh_mock_build(gh_json_get(gh_json_at(docs, 0), "doc"), out, &why) : GH_EINVAL;
    gh_json_unref(docs);
    if (rc)
        return gh_err_set(err, GH_EINVAL, "apis.%s.mock: %s: %s", ca->name, ca->mock, why.msg);
    return 0;
}

static void snapshot_free(struct gh_snapshot *s)
{
    for (size_t i = 0; i < s->napis; i++) {
        for (size_t j = 0; j < s->apis[i].ntargets; j++)
            free_target(&s->apis[i].targets[j]);
        free(s->apis[i].targets);
        free(s->apis[i].issuers);
        free((char *)s->apis[i].key_header);
        gh_mock_free(s->apis[i].mock);
    }
    free(s->issuers);
    free(s->apis);
    gh_router_dispose(&s->router);
    gh_config_free(s->cfg);
    free(s);
}

int gh_snapshot_build(struct gh_config *cfg, uint64_t generation, struct gh_snapshot **out,
                      struct gh_err *err)
{
    struct gh_snapshot *s = gh_calloc(1, sizeof(*s));
    atomic_init(&s->refs, 1);
    s->generation = generation;
    s->cfg = cfg;
    s->apis = gh_calloc(cfg->napis, sizeof(*s->apis));
    s->issuers = gh_calloc(cfg->nissuers ? cfg->nissuers : 1, sizeof(*s->issuers));
    for (size_t i = 0; i < cfg->nissuers; i++, s->nissuers++) {
        const struct gh_config_issuer *is = &cfg->issuers[i];
        s->issuers[i] = (struct gh_issuer){.cfg = is,
                                           .rules = {.issuer = is->issuer,
                                                     .audiences = is->audiences,
                                                     .naudiences = is->naudiences,
                                                     .algorithms = is->algorithms,
                                                     .nalgorithms = is->nalgorithms,
                                                     .required = is->required_claims,
                                                     .nrequired = is->nrequired_claims,
                                                     .clock_skew_s = is->clock_skew_ms / 1000,
                                                     .client_claim = is->client_claim}};
    }
    struct gh_route *routes = gh_calloc(cfg->napis, sizeof(*routes));
    for (size_t i = 0; i < cfg->napis; i++, s->napis++) {
        const struct gh_config_api *ca = &cfg->apis[i];
        struct gh_api *a = &s->apis[i];
        a->name = ca->name;
        a->index = i;
        a->prefix = ca->path;
        a->prefix_len = strlen(ca->path);
        a->strip_prefix = ca->strip_prefix;
        a->auth = ca->auth;
        a->stats_slot = gh_stats_slot(ca->name);
        if (ca->client_limit &&
            gh_rate_init(&a->client_rate, ca->client_limit->rate_requests,
                         ca->client_limit->rate_per_ms * 1000000, ca->client_limit->rate_burst) == 0) {
            a->limit_by = ca->limit_claim ? GH_LIMIT_CLAIM : GH_LIMIT_IP;
            a->limit_claim = ca->limit_claim;
            uint64_t h = 1469598103934665603ULL;
            for (const char *p = ca->limit_claim; p && *p; p++)
                h = (h ^ (unsigned char)*p) * 1099511628211ULL;
            a->limit_claim_id = h | 1;
        }
        char *kh = gh_strdup(ca->key_header);
        for (char *p = kh; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        a->key_header = kh;
        a->key_header_len = strlen(kh);
        a->apim_names = ca->apim_names;
        a->issuers = gh_calloc(cfg->nissuers ? cfg->nissuers : 1, sizeof(const struct gh_issuer *));
        for (size_t k = 0; k < cfg->nissuers; k++) {
            int listed = ca->nissuers == 0;
            for (size_t m = 0; m < ca->nissuers && !listed; m++)
                listed = strcmp(ca->issuers[m], cfg->issuers[k].name) == 0;
            if (listed)
                a->issuers[a->nissuers++] = &s->issuers[k];
        }
        a->connect_timeout_ms = ca->connect_timeout_ms;
        a->timeout_ms = ca->timeout_ms;
        if (ca->mock && load_mock(ca, &a->mock, err) != 0) {
            s->napis++;
            free(routes);
            snapshot_free(s);
            return GH_EINVAL;
        }
        a->targets = gh_calloc(ca->ntargets ? ca->ntargets : 1, sizeof(*a->targets));
        for (size_t j = 0; j < ca->ntargets; j++, a->ntargets++) {
            if (compile_target(cfg, ca, ca->targets[j], &a->targets[j], err) != 0) {
                free_target(&a->targets[j]);
                s->napis++;
                free(routes);
                snapshot_free(s);
                return GH_EINVAL;
            }
        }
        routes[i] = (struct gh_route){.prefix = ca->path,
                                      .prefix_len = a->prefix_len,
                                      .hosts = (const char *const *)ca->hosts,
                                      .nhosts = ca->nhosts,
                                      .methods = ca->methods,
                                      .data = a};
    }
    gh_router_init(&s->router, routes, cfg->napis);
    free(routes);
    *out = s;
    return 0;
}

struct gh_snapshot *gh_snapshot_ref(struct gh_snapshot *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void gh_snapshot_unref(struct gh_snapshot *s)
{
    if (s != NULL && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        snapshot_free(s);
}
