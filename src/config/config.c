/*
 * config.c: reads gatehouse.yaml. Strict like the HTTP parser: unknown keys, wrong types, bad values
 * and duplicate API names are errors with file:line and the key's dotted path, never silently ignored,
 * so a typo cannot turn a policy off.
 */
#include "config.h"

#include "../base/yaml.h"
#include "../catalog/catalog.h"
#include "../secrets/secrets.h"
#include "../http/http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct ld {
    const char *file;
    struct gh_yaml_doc *doc;
    struct gh_err *err;
};

__attribute__((format(printf, 4, 5))) static int errf(struct ld *ld, int line, const char *key,
                                                      const char *fmt, ...)
{
    char why[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
    va_end(ap);
    return gh_err_set(ld->err, GH_EINVAL, "%s:%d: %s: %s", ld->file, line, key, why);
}

static int want_type(struct ld *ld, struct gh_yaml_node *n, int type, int line, const char *key)
{
    static const char *names[] = {"a single value", "a list", "a mapping"};
    if (n == NULL || gh_yaml_type(n) != type)
        return errf(ld, line, key, "must be %s", names[type]);
    return 0;
}

static int get_string(struct ld *ld, struct gh_yaml_node *n, int line, const char *key, char **out)
{
    if (want_type(ld, n, GH_YAML_SCALAR, line, key))
        return GH_EINVAL;
    free(*out);
    *out = gh_yaml_scalar_dup(n);
    if ((*out)[0] == '\0')
        return errf(ld, line, key, "must not be empty");
    return 0;
}

/* A duration, more than zero; with may_be_off, also "off" (0: the thing is turned off). */
static int duration(struct ld *ld, struct gh_yaml_node *n, int line, const char *key, uint64_t *out,
                    int may_be_off)
{
    char *s = NULL;
    if (get_string(ld, n, line, key, &s)) {
        free(s);
        return GH_EINVAL;
    }
    if (may_be_off && strcmp(s, "off") == 0) {
        *out = 0;
        free(s);
        return 0;
    }
    int rc = gh_parse_duration_ms(s, out);
    if (rc == 0 && *out == 0)
        rc = GH_EINVAL;
    if (rc)
        errf(ld, line, key, "'%s' is not a duration (like 500ms, 10s, 2m, 1h; more than zero%s)", s,
             may_be_off ? "; or off" : "");
    free(s);
    return rc;
}

static int get_duration(struct ld *ld, struct gh_yaml_node *n, int line, const char *key, uint64_t *out)
{
    return duration(ld, n, line, key, out, 0);
}

static int get_size(struct ld *ld, struct gh_yaml_node *n, int line, const char *key, uint64_t min,
                    uint64_t max, uint64_t *out)
{
    char *s = NULL;
    if (get_string(ld, n, line, key, &s)) {
        free(s);
        return GH_EINVAL;
    }
    int rc = gh_parse_size(s, out);
    if (rc == 0 && (*out < min || *out > max)) {
        rc = errf(ld, line, key, "'%s' is out of range (%llu to %llu)", s, (unsigned long long)min,
                  (unsigned long long)max);
    } else if (rc) {
        errf(ld, line, key, "'%s' is not a size (like 16384, 16k, 10m)", s);
    }
    free(s);
    return rc;
}

static int get_count(struct ld *ld, struct gh_yaml_node *n, int line, const char *key, uint64_t min,
                     uint64_t max, int *out)
{
    char *s = NULL;
    uint64_t v;
    if (get_string(ld, n, line, key, &s)) {
        free(s);
        return GH_EINVAL;
    }
    int rc = 0;
    if (gh_parse_u64(s, strlen(s), UINT64_MAX, &v) != 0 || v < min || v > max)
        rc = errf(ld, line, key, "'%s' must be a whole number from %llu to %llu", s, (unsigned long long)min,
                  (unsigned long long)max);
    else
        *out = (int)v;
    free(s);
    return rc;
}

static int get_bool(struct ld *ld, struct gh_yaml_node *n, int line, const char *key, int *out)
{
    char *s = NULL;
    if (get_string(ld, n, line, key, &s)) {
        free(s);
        return GH_EINVAL;
    }
    int rc = 0;
    if (strcmp(s, "true") == 0)
        *out = 1;
    else if (strcmp(s, "false") == 0)
        *out = 0;
    else
        rc = errf(ld, line, key, "'%s' must be true or false", s);
    free(s);
    return rc;
}

static int get_string_list(struct ld *ld, struct gh_yaml_node *n, int line, const char *key, char ***out,
                           size_t *count)
{
    if (want_type(ld, n, GH_YAML_SEQUENCE, line, key))
        return GH_EINVAL;
    void *it = NULL;
    struct gh_yaml_node *item;
    while ((item = gh_yaml_seq_next(n, &it)) != NULL) {
        int l = gh_yaml_line(item);
        char *s = NULL;
        if (get_string(ld, item, l ? l : line, key, &s)) {
            free(s);
            return GH_EINVAL;
        }
        *out = gh_realloc(*out, (*count + 1) * sizeof(char *));
        (*out)[(*count)++] = s;
    }
    return 0;
}

/* "host:port" with a numeric port; host may be empty (all addresses), a name, IPv4 or [IPv6]. */
static int valid_listen(const char *s)
{
    const char *colon = strrchr(s, ':');
    uint64_t port;
    if (colon == NULL || colon[1] == '\0')
        return 0;
    if (gh_parse_u64(colon + 1, strlen(colon + 1), 65535, &port) != 0)
        return 0;
    if (s[0] == '[' && colon[-1] != ']')
        return 0;
    return 1;
}

/* One key of a mapping: k as written, key its dotted path for messages, kl its line. */
typedef int (*key_fn)(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                      void *ctx);

/* A mapping at `section` (also its name in messages): each key goes to fn, which refuses unknown ones. */
static int each_key(struct ld *ld, struct gh_yaml_node *n, int line, const char *section, key_fn fn,
                    void *ctx)
{
    if (want_type(ld, n, GH_YAML_MAPPING, line, section))
        return GH_EINVAL;
    void *it = NULL;
    const char *k;
    int kl;
    struct gh_yaml_node *v;
    while (gh_yaml_map_next(ld->doc, n, &it, &k, &kl, &v)) {
        char key[256];
        snprintf(key, sizeof(key), "%s.%s", section, k);
        int rc = fn(ld, k, key, kl, v, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

static int listen_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                      void *ctx)
{
    struct gh_config *cfg = ctx;
    char **dst;
    if (strcmp(k, "gateway") == 0)
        dst = &cfg->gateway_listen;
    else if (strcmp(k, "portal") == 0)
        dst = &cfg->portal_listen;
    else
        return errf(ld, kl, key, "unknown key (expected gateway, portal)");
    if (get_string(ld, v, kl, key, dst))
        return GH_EINVAL;
    if (!valid_listen(*dst))
        return errf(ld, kl, key, "'%s' is not host:port", *dst);
    return 0;
}

static int limits_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                      void *ctx)
{
    struct gh_config *cfg = ctx;
    if (strcmp(k, "header_bytes") == 0)
        return get_size(ld, v, kl, key, 1024, (uint64_t)1 << 20, &cfg->header_bytes);
    if (strcmp(k, "body_bytes") == 0)
        return get_size(ld, v, kl, key, 0, (uint64_t)1 << 62, &cfg->body_bytes);
    if (strcmp(k, "header_timeout") == 0)
        return get_duration(ld, v, kl, key, &cfg->header_timeout_ms);
    if (strcmp(k, "idle_timeout") == 0)
        return get_duration(ld, v, kl, key, &cfg->idle_timeout_ms);
    if (strcmp(k, "drain_timeout") == 0)
        return get_duration(ld, v, kl, key, &cfg->drain_timeout_ms);
    return errf(
        ld, kl, key,
        "unknown key (expected header_bytes, body_bytes, header_timeout, idle_timeout, drain_timeout)");
}

static int upstreams_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                         void *ctx)
{
    struct gh_config *cfg = ctx;
    if (strcmp(k, "idle_timeout") == 0)
        return get_duration(ld, v, kl, key, &cfg->upstream_idle_timeout_ms);
    if (strcmp(k, "max_idle") == 0)
        return get_count(ld, v, kl, key, 0, 100000, &cfg->upstream_max_idle);
    return errf(ld, kl, key, "unknown key (expected idle_timeout, max_idle)");
}

static int log_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct gh_config *cfg = ctx;
    if (strcmp(k, "access") == 0)
        return get_string(ld, v, kl, key, &cfg->access_log);
    if (strcmp(k, "level") != 0)
        return errf(ld, kl, key, "unknown key (expected access, level)");
    char *s = NULL;
    int rc = get_string(ld, v, kl, key, &s);
    if (rc == 0) {
        static const char *levels[] = {"error", "warn", "info", "debug"};
        cfg->log_level = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(s, levels[i]) == 0)
                cfg->log_level = i;
        if (cfg->log_level < 0)
            rc = errf(ld, kl, key, "'%s' must be error, warn, info or debug", s);
    }
    free(s);
    return rc;
}

static char *config_relative(struct ld *ld, const char *p);

static int store_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct gh_config *cfg = ctx;
    if (strcmp(k, "driver") == 0) {
        if (get_string(ld, v, kl, key, &cfg->store_driver))
            return GH_EINVAL;
        if (strcmp(cfg->store_driver, "sqlite") != 0)
            return errf(ld, kl, key, "'%s' is not supported (sqlite; postgres comes later)",
                        cfg->store_driver);
        return 0;
    }
    if (strcmp(k, "path") == 0) {
        char *path = NULL;
        if (get_string(ld, v, kl, key, &path)) {
            free(path); /* get_string may hand over a string with its error */
            return GH_EINVAL;
        }
        if (path[0] == '\0') {
            free(path);
            return errf(ld, kl, key, "must not be empty");
        }
        free(cfg->store_path);
        cfg->store_path = config_relative(ld, path); /* like every path in the config */
        free(path);
        return 0;
    }
    return errf(ld, kl, key, "unknown key (expected driver, path)");
}

static int method_bit(const char *m)
{
    for (int i = 1; i < GH_METHOD_COUNT_; i++)
        if (i != GH_METHOD_CONNECT && strcmp(gh_http_method_name(i), m) == 0)
            return i;
    return -1;
}

/* Checks "http://host[:port][/base]" (https comes with upstream TLS, not yet). */
static int check_target(struct ld *ld, int line, const char *key, const char *t)
{
    if (strncmp(t, "https://", 8) == 0)
        return errf(ld, line, key, "'%s': https upstreams are not supported yet", t);
    if (strncmp(t, "http://", 7) != 0 || t[7] == '\0' || t[7] == '/' || t[7] == ':')
        return errf(ld, line, key, "'%s' must be http://host[:port][/path]", t);
    if (strchr(t, '?') || strchr(t, '#') || strchr(t, '@') || strchr(t, ' '))
        return errf(ld, line, key, "'%s' must be http://host[:port][/path] (no query, fragment or user)", t);
    return 0;
}

static int route_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct gh_config_api *a = ctx;
    if (strcmp(k, "path") == 0) {
        if (get_string(ld, v, kl, key, &a->path))
            return GH_EINVAL;
        struct gh_http_head h;
        char req[1200];
        int n2 = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", a->path);
        if (a->path[0] != '/' || strchr(a->path, '?') || n2 >= (int)sizeof(req) ||
            gh_http_parse_request(req, (size_t)n2, sizeof(req), &h) <= 0)
            return errf(ld, kl, key, "'%s' must be a valid path starting with / (no query)", a->path);
        /* "/orders/" and "/orders" route the same; keep the form without the trailing slash */
        size_t pl = strlen(a->path);
        if (pl > 1 && a->path[pl - 1] == '/')
            a->path[pl - 1] = '\0';
        return 0;
    }
    if (strcmp(k, "hosts") == 0) {
        if (get_string_list(ld, v, kl, key, &a->hosts, &a->nhosts))
            return GH_EINVAL;
        for (size_t i = 0; i < a->nhosts; i++) {
            char *h = a->hosts[i];
            for (char *c = h; *c; c++) {
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c + 32);
                else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' ||
                           *c == '*' || *c == '[' || *c == ']' || *c == ':'))
                    return errf(ld, kl, key, "'%s' is not a host name (or \"*\")", h);
            }
            if (strchr(h, '*') && strcmp(h, "*") != 0)
                return errf(ld, kl, key, "'%s': only \"*\" on its own matches any host", h);
        }
        return 0;
    }
    if (strcmp(k, "methods") == 0) {
        char **ms = NULL;
        size_t nm = 0;
        int rc = get_string_list(ld, v, kl, key, &ms, &nm);
        for (size_t i = 0; i < nm && rc == 0; i++) {
            int b = method_bit(ms[i]);
            if (b < 0)
                rc =
                    errf(ld, kl, key,
                         "'%s' is not a method (GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE)", ms[i]);
            else
                a->methods |= 1u << b;
        }
        for (size_t i = 0; i < nm; i++)
            free(ms[i]);
        free(ms);
        return rc;
    }
    return errf(ld, kl, key, "unknown key (expected path, hosts, methods)");
}

static int load_route(struct ld *ld, struct gh_yaml_node *n, int line, struct gh_config_api *a)
{
    char section[192];
    snprintf(section, sizeof(section), "apis.%s.route", a->name);
    int rc = each_key(ld, n, line, section, route_key, a);
    if (rc == 0 && a->path == NULL)
        rc = errf(ld, line, section, "path is required");
    return rc;
}

static int upstream_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                        void *ctx)
{
    struct gh_config_api *a = ctx;
    if (strcmp(k, "targets") == 0) {
        int rc = get_string_list(ld, v, kl, key, &a->targets, &a->ntargets);
        for (size_t i = 0; rc == 0 && i < a->ntargets; i++)
            rc = check_target(ld, kl, key, a->targets[i]);
        return rc;
    }
    if (strcmp(k, "connect_timeout") == 0)
        return get_duration(ld, v, kl, key, &a->connect_timeout_ms);
    if (strcmp(k, "timeout") == 0)
        return get_duration(ld, v, kl, key, &a->timeout_ms);
    return errf(ld, kl, key, "unknown key (expected targets, connect_timeout, timeout)");
}

static int load_upstream(struct ld *ld, struct gh_yaml_node *n, int line, struct gh_config_api *a)
{
    char section[192];
    snprintf(section, sizeof(section), "apis.%s.upstream", a->name);
    int rc = each_key(ld, n, line, section, upstream_key, a);
    if (rc == 0 && a->ntargets == 0) {
        snprintf(section, sizeof(section), "apis.%s.upstream.targets", a->name);
        rc = errf(ld, line, section, "at least one target is required");
    }
    return rc;
}

/* API names are catalog entity names: the gateway's APIs appear in the catalog under them */
/* A path from the config, made absolute against the config file's directory. */
static char *config_relative(struct ld *ld, const char *p)
{
    if (p[0] == '/')
        return gh_strdup(p);
    const char *slash = strrchr(ld->file, '/');
    char base[4096];
    if (slash)
        snprintf(base, sizeof(base), "%.*s", (int)(slash - ld->file), ld->file);
    else
        snprintf(base, sizeof(base), ".");
    char *real = realpath(base, NULL);
    struct gh_buf out = {0};
    gh_buf_addf(&out, "%s/%s", real ? real : base, strncmp(p, "./", 2) == 0 ? p + 2 : p);
    free(real);
    return out.p;
}

static int location_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                        void *ctx)
{
    struct gh_config_location *l = ctx;
    if (strcmp(k, "type") == 0) {
        if (get_string(ld, v, kl, key, &l->type))
            return GH_EINVAL;
        if (strcmp(l->type, "file") != 0)
            return errf(ld, kl, key, "'%s' is not supported (file: Gatehouse does not fetch remote catalogs)",
                        l->type);
        return 0;
    }
    if (strcmp(k, "target") == 0) {
        char *t = NULL;
        if (get_string(ld, v, kl, key, &t)) {
            free(t);
            return GH_EINVAL;
        }
        if (t[0] == '\0') {
            free(t);
            return errf(ld, kl, key, "must not be empty");
        }
        l->target = config_relative(ld, t);
        free(t);
        /* a plain path must exist; a glob may match nothing yet */
        if (strpbrk(l->target, "*?[") == NULL && access(l->target, R_OK) != 0)
            return errf(ld, kl, key, "cannot read '%s': %s", l->target, strerror(errno));
        return 0;
    }
    if (strcmp(k, "owner") == 0) {
        if (get_string(ld, v, kl, key, &l->owner))
            return GH_EINVAL;
        struct gh_entity_ref r;
        struct gh_err why = {{0}};
        if (gh_catalog_parse_ref((struct gh_str){l->owner, strlen(l->owner)}, "Group", NULL, &r, &why) != 0)
            return errf(ld, kl, key, "%s", why.msg);
        return 0;
    }
    return errf(ld, kl, key, "unknown key (expected type, target, owner)");
}

static int catalog_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                       void *ctx)
{
    struct gh_config *cfg = ctx;
    if (strcmp(k, "poll_interval") == 0)
        return duration(ld, v, kl, key, &cfg->catalog_poll_ms, 1);
    if (strcmp(k, "gateway_url") == 0) {
        if (get_string(ld, v, kl, key, &cfg->gateway_url))
            return GH_EINVAL;
        if (strncmp(cfg->gateway_url, "http://", 7) != 0 && strncmp(cfg->gateway_url, "https://", 8) != 0)
            return errf(ld, kl, key, "'%s' must be an http:// or https:// URL", cfg->gateway_url);
        size_t n = strlen(cfg->gateway_url);
        while (n > 8 && cfg->gateway_url[n - 1] == '/')
            cfg->gateway_url[--n] = '\0';
        return 0;
    }
    if (strcmp(k, "allowed_dirs") == 0) {
        char **dirs = NULL;
        size_t n = 0;
        int rc = get_string_list(ld, v, kl, key, &dirs, &n);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            char *abs = config_relative(ld, dirs[i]);
            char *real = realpath(abs, NULL);
            if (real == NULL)
                rc = errf(ld, kl, key, "'%s': %s", abs, strerror(errno));
            else {
                cfg->allowed_dirs = gh_realloc(cfg->allowed_dirs, (cfg->nallowed_dirs + 1) * sizeof(char *));
                cfg->allowed_dirs[cfg->nallowed_dirs++] = real;
            }
            free(abs);
        }
        for (size_t i = 0; i < n; i++)
            free(dirs[i]);
        free(dirs);
        return rc;
    }
    if (strcmp(k, "locations") == 0) {
        if (want_type(ld, v, GH_YAML_SEQUENCE, kl, key))
            return GH_EINVAL;
        void *it = NULL;
        struct gh_yaml_node *item;
        while ((item = gh_yaml_seq_next(v, &it)) != NULL) {
            char lk[64];
            snprintf(lk, sizeof(lk), "catalog.locations[%zu]", cfg->nlocations);
            cfg->locations = gh_realloc(cfg->locations, (cfg->nlocations + 1) * sizeof(*cfg->locations));
            struct gh_config_location *l = &cfg->locations[cfg->nlocations++];
            *l = (struct gh_config_location){.line = kl};
            int rc = each_key(ld, item, kl, lk, location_key, l);
            if (rc)
                return rc;
            if (l->target == NULL)
                return errf(ld, kl, lk, "target is required");
            if (l->type == NULL)
                l->type = gh_strdup("file");
        }
        return 0;
    }
    return errf(ld, kl, key, "unknown key (expected locations, allowed_dirs, poll_interval, gateway_url)");
}

/* A credential: only ever a `secret:NAME` reference, never the value itself. Records the reference. */
static int get_secret_ref(struct ld *ld, struct gh_yaml_node *v, int line, const char *key,
                          struct gh_config *cfg, const char **name)
{
    char *s = NULL;
    if (get_string(ld, v, line, key, &s)) {
        free(s);
        return GH_EINVAL;
    }
    if (strncmp(s, "secret:", 7) != 0 || !gh_secret_valid_name(s + 7)) {
        free(s);
        return errf(ld, line, key,
                    "must be a secret:NAME reference (credentials never sit in the config; "
                    "store it with `gatehouse secrets set NAME`)");
    }
    cfg->secret_refs = gh_realloc(cfg->secret_refs, (cfg->nsecret_refs + 1) * sizeof(*cfg->secret_refs));
    struct gh_config_secret_ref *r = &cfg->secret_refs[cfg->nsecret_refs++];
    r->name = gh_strdup(s + 7);
    r->key = gh_strdup(key);
    r->line = line;
    *name = r->name;
    free(s);
    return 0;
}

static int usage_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct gh_config *cfg = ctx;
    if (strcmp(k, "flush_interval") == 0)
        return get_duration(ld, v, kl, key, &cfg->usage_flush_ms);
    return errf(ld, kl, key, "unknown key (expected flush_interval)");
}

static int audit_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct gh_config *cfg = ctx;
    if (strcmp(k, "checkpoint_interval") == 0)
        return duration(ld, v, kl, key, &cfg->audit_checkpoint_ms, 1);
    return errf(ld, kl, key, "unknown key (expected checkpoint_interval)");
}

static int admin_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct gh_config *cfg = ctx;
    if (strcmp(k, "token") == 0)
        return get_secret_ref(ld, v, kl, key, cfg, &cfg->admin_token_secret);
    return errf(ld, kl, key, "unknown key (expected token)");
}

static int secrets_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                       void *ctx)
{
    struct gh_config *cfg = ctx;
    if (strcmp(k, "master_key_file") != 0)
        return errf(ld, kl, key, "unknown key (expected master_key_file)");
    char *path = NULL;
    if (get_string(ld, v, kl, key, &path)) {
        free(path);
        return GH_EINVAL;
    }
    if (path[0] == '\0') {
        free(path);
        return errf(ld, kl, key, "must not be empty");
    }
    free(cfg->master_key_file);
    cfg->master_key_file = config_relative(ld, path);
    free(path);
    return 0;
}

/* ---- plans ---- */

static int rate_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct gh_config_plan *p = ctx;
    int n = 0, rc;
    if (strcmp(k, "requests") == 0) {
        rc = get_count(ld, v, kl, key, 1, 1000000000, &n);
        p->rate_requests = (uint32_t)n;
        return rc;
    }
    if (strcmp(k, "burst") == 0) {
        rc = get_count(ld, v, kl, key, 1, 1000000000, &n);
        p->rate_burst = (uint32_t)n;
        return rc;
    }
    if (strcmp(k, "per") == 0)
        return get_duration(ld, v, kl, key, &p->rate_per_ms);
    return errf(ld, kl, key, "unknown key (expected requests, per, burst)");
}

static int quota_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct gh_config_plan *p = ctx;
    if (strcmp(k, "requests") == 0) {
        int n = 0;
        int rc = get_count(ld, v, kl, key, 1, 2000000000, &n);
        p->quota_requests = (uint64_t)n;
        return rc;
    }
    if (strcmp(k, "per") != 0)
        return errf(ld, kl, key, "unknown key (expected requests, per)");
    char *s = NULL;
    int rc = get_string(ld, v, kl, key, &s);
    if (rc == 0) {
        p->quota_per = strcmp(s, "day") == 0 ? 1 : strcmp(s, "month") == 0 ? 2 : 0;
        if (p->quota_per == 0)
            rc = errf(ld, kl, key, "'%s' must be day or month", s);
    }
    free(s);
    return rc;
}

static int plan_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct gh_config_plan *p = ctx;
    if (strcmp(k, "name") == 0) {
        if (get_string(ld, v, kl, key, &p->name))
            return GH_EINVAL;
        if (!gh_catalog_valid_name((struct gh_str){p->name, strlen(p->name)}))
            return errf(ld, kl, key, "'%s' must be 1-63 letters or digits, with - _ . only between them",
                        p->name);
        p->line = kl;
        return 0;
    }
    if (strcmp(k, "description") == 0)
        return get_string(ld, v, kl, key, &p->description);
    if (strcmp(k, "rate") == 0) {
        int rc = each_key(ld, v, kl, key, rate_key, p);
        if (rc == 0 && (p->rate_requests == 0 || p->rate_per_ms == 0))
            return errf(ld, kl, key, "requests and per are required (like {requests: 100, per: 1m})");
        if (rc == 0 && p->rate_per_ms * 1000000 < p->rate_requests)
            return errf(ld, kl, key, "more than one request per nanosecond is not a limit");
        return rc;
    }
    if (strcmp(k, "quota") == 0) {
        int rc = each_key(ld, v, kl, key, quota_key, p);
        if (rc == 0 && (p->quota_requests == 0 || p->quota_per == 0))
            return errf(ld, kl, key, "requests and per are required (like {requests: 10000, per: day})");
        return rc;
    }
    return errf(ld, kl, key, "unknown key (expected name, description, rate, quota)");
}

static int load_plans(struct ld *ld, struct gh_yaml_node *n, int line, struct gh_config *cfg)
{
    if (want_type(ld, n, GH_YAML_SEQUENCE, line, "plans"))
        return GH_EINVAL;
    void *it = NULL;
    struct gh_yaml_node *item;
    while ((item = gh_yaml_seq_next(n, &it)) != NULL) {
        char key[48];
        snprintf(key, sizeof(key), "plans[%zu]", cfg->nplans);
        cfg->plans = gh_realloc(cfg->plans, (cfg->nplans + 1) * sizeof(*cfg->plans));
        struct gh_config_plan *p = &cfg->plans[cfg->nplans++];
        *p = (struct gh_config_plan){.line = line};
        int rc = each_key(ld, item, line, key, plan_key, p);
        if (rc)
            return rc;
        if (p->name == NULL)
            return errf(ld, line, key, "name is required");
        for (size_t i = 0; i + 1 < cfg->nplans; i++)
            if (strcmp(cfg->plans[i].name, p->name) == 0) {
                snprintf(key, sizeof(key), "plans.%s", p->name);
                return errf(ld, p->line, key, "duplicate plan name (also at line %d)", cfg->plans[i].line);
            }
    }
    return 0;
}

/* apis[].rate_limit: a plan's rate keys, and who it counts */
struct api_limit {
    struct gh_config_api *api;
    int by; /* 0 unset, 1 ip, 2 claim */
};

static int api_limit_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                         void *ctx)
{
    struct api_limit *l = ctx;
    if (strcmp(k, "claim") == 0) {
        int rc = get_string(ld, v, kl, key, &l->api->limit_claim);
        if (rc == 0 && l->api->limit_claim[0] == '\0')
            rc = errf(ld, kl, key, "must name a claim (like sub)");
        return rc;
    }
    if (strcmp(k, "by") != 0)
        return strcmp(k, "requests") == 0 || strcmp(k, "per") == 0 || strcmp(k, "burst") == 0
                   ? rate_key(ld, k, key, kl, v, l->api->client_limit)
                   : errf(ld, kl, key, "unknown key (expected requests, per, burst, by, claim)");
    char *s = NULL;
    int rc = get_string(ld, v, kl, key, &s);
    if (rc == 0) {
        l->by = strcmp(s, "ip") == 0 ? 1 : strcmp(s, "claim") == 0 ? 2 : 0;
        if (l->by == 0)
            rc = errf(ld, kl, key, "'%s' must be ip (the client's address) or claim (a token's claim)", s);
    }
    free(s);
    return rc;
}

/* ---- issuers ---- */

/* OpenID Connect Discovery 1.0, 4: the issuer with /.well-known/openid-configuration appended. */
static char *discovery_url(const char *issuer)
{
    size_t n = strlen(issuer);
    char *d = gh_malloc(n + 40);
    snprintf(d, n + 40, "%.*s/.well-known/openid-configuration", (int)(n && issuer[n - 1] == '/' ? n - 1 : n),
             issuer);
    return d;
}

static int check_algorithms(struct ld *ld, int kl, const char *key, char **algs, size_t n)
{
    static const char *const known[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                        "PS512", "ES256", "ES384", "ES512"};
    for (size_t i = 0; i < n; i++) {
        int ok = 0;
        for (size_t j = 0; j < sizeof(known) / sizeof(known[0]); j++)
            ok |= strcmp(algs[i], known[j]) == 0;
        if (!ok)
            return errf(
                ld, kl, key,
                "'%s' is not accepted (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512; "
                "never none or HMAC)",
                algs[i]);
    }
    return 0;
}

static int http_url(const char *s)
{
    return (strncmp(s, "https://", 8) == 0 && s[8]) || (strncmp(s, "http://", 7) == 0 && s[7]);
}

static int issuer_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                      void *ctx)
{
    struct gh_config_issuer *is = ctx;
    int rc;
    if (strcmp(k, "name") == 0) {
        rc = get_string(ld, v, kl, key, &is->name);
        if (rc == 0 && !gh_catalog_valid_name((struct gh_str){is->name, strlen(is->name)}))
            return errf(ld, kl, key, "'%s' must be 1-63 letters or digits, with - _ . only between them",
                        is->name);
        is->line = kl;
        return rc;
    }
    if (strcmp(k, "issuer") == 0 || strcmp(k, "jwks_uri") == 0 || strcmp(k, "discovery") == 0) {
        char **dst = k[0] == 'i' ? &is->issuer : k[0] == 'j' ? &is->jwks_uri : &is->discovery;
        rc = get_string(ld, v, kl, key, dst);
        if (rc == 0 && !http_url(*dst))
            return errf(ld, kl, key, "'%s' must be an https:// (or http://) URL", *dst);
        return rc;
    }
    if (strcmp(k, "audiences") == 0)
        return get_string_list(ld, v, kl, key, &is->audiences, &is->naudiences);
    if (strcmp(k, "required_claims") == 0)
        return get_string_list(ld, v, kl, key, &is->required_claims, &is->nrequired_claims);
    if (strcmp(k, "algorithms") == 0) {
        rc = get_string_list(ld, v, kl, key, &is->algorithms, &is->nalgorithms);
        return rc ? rc : check_algorithms(ld, kl, key, is->algorithms, is->nalgorithms);
    }
    if (strcmp(k, "client_claim") == 0)
        return get_string(ld, v, kl, key, &is->client_claim);
    if (strcmp(k, "clock_skew") == 0)
        return duration(ld, v, kl, key, &is->clock_skew_ms, 1);
    if (strcmp(k, "refresh") == 0)
        return get_duration(ld, v, kl, key, &is->refresh_ms);
    if (strcmp(k, "min_refresh") == 0)
        return get_duration(ld, v, kl, key, &is->min_refresh_ms);
    if (strcmp(k, "max_token_bytes") == 0)
        return get_size(ld, v, kl, key, 256, 65536, &is->max_token_bytes);
    return errf(ld, kl, key,
                "unknown key (expected name, issuer, jwks_uri, discovery, audiences, algorithms, "
                "required_claims, client_claim, clock_skew, refresh, min_refresh, max_token_bytes)");
}

static int load_issuers(struct ld *ld, struct gh_yaml_node *n, int line, struct gh_config *cfg)
{
    if (want_type(ld, n, GH_YAML_SEQUENCE, line, "issuers"))
        return GH_EINVAL;
    void *it = NULL;
    struct gh_yaml_node *item;
    while ((item = gh_yaml_seq_next(n, &it)) != NULL) {
        char key[96];
        snprintf(key, sizeof(key), "issuers[%zu]", cfg->nissuers);
        int l = gh_yaml_line(item) ? gh_yaml_line(item) : line;
        cfg->issuers = gh_realloc(cfg->issuers, (cfg->nissuers + 1) * sizeof(*cfg->issuers));
        struct gh_config_issuer *is = &cfg->issuers[cfg->nissuers++];
        *is = (struct gh_config_issuer){.line = l,
                                        .clock_skew_ms = 60000,
                                        .refresh_ms = 3600000,
                                        .min_refresh_ms = 30000,
                                        .max_token_bytes = 8192};
        int rc = each_key(ld, item, l, key, issuer_key, is);
        if (rc)
            return rc;
        if (is->name == NULL)
            return errf(ld, l, key, "name is required");
        snprintf(key, sizeof(key), "issuers.%s", is->name);
        if (is->issuer == NULL)
            return errf(ld, is->line, key, "issuer is required (the exact iss of its tokens)");
        if (is->naudiences == 0)
            return errf(ld, is->line, key,
                        "audiences is required (without it any token of this issuer would be taken)");
        if (is->nalgorithms == 0) {
            is->algorithms = gh_malloc(sizeof(char *));
            is->algorithms[0] = gh_strdup("RS256");
            is->nalgorithms = 1;
        }
        if (is->client_claim == NULL)
            is->client_claim = gh_strdup("azp");
        if (is->jwks_uri == NULL && is->discovery == NULL)
            is->discovery = discovery_url(is->issuer);
        for (size_t i = 0; i + 1 < cfg->nissuers; i++)
            if (strcmp(cfg->issuers[i].name, is->name) == 0 ||
                strcmp(cfg->issuers[i].issuer, is->issuer) == 0)
                return errf(ld, is->line, key, "duplicate issuer name or iss (also at line %d)",
                            cfg->issuers[i].line);
    }
    return 0;
}

/* Every issuer an API names exists, and an API taking JWTs has an issuer to take them from. */
static int check_api_issuers(struct ld *ld, struct gh_config *cfg)
{
    for (size_t i = 0; i < cfg->napis; i++) {
        const struct gh_config_api *a = &cfg->apis[i];
        char key[128];
        snprintf(key, sizeof(key), "apis.%s.issuers", a->name);
        for (size_t k = 0; k < a->nissuers; k++) {
            int found = 0;
            for (size_t j = 0; j < cfg->nissuers && !found; j++)
                found = strcmp(cfg->issuers[j].name, a->issuers[k]) == 0;
            if (!found)
                return errf(ld, a->issuers_line, key, "no issuer named '%s' (see issuers:)", a->issuers[k]);
        }
        if ((a->auth == GH_AUTH_JWT || a->auth == GH_AUTH_KEY_OR_JWT) && cfg->nissuers == 0) {
            snprintf(key, sizeof(key), "apis.%s.auth", a->name);
            return errf(ld, a->line, key, "takes JWTs but no issuers are configured (see issuers:)");
        }
        if (a->limit_claim && (a->auth == GH_AUTH_KEY || cfg->nissuers == 0)) {
            snprintf(key, sizeof(key), "apis.%s.rate_limit", a->name);
            return errf(ld, a->limit_line, key,
                        a->auth == GH_AUTH_KEY ? "by: claim needs tokens (auth: jwt, key_or_jwt or none)"
                                               : "by: claim needs issuers to verify tokens (see issuers:)");
        }
    }
    return 0;
}

/* Every plan an API names exists (plans may come after the APIs in the file). */
static int check_api_plans(struct ld *ld, struct gh_config *cfg)
{
    for (size_t i = 0; i < cfg->napis; i++) {
        const struct gh_config_api *a = &cfg->apis[i];
        for (size_t k = 0; k < a->nplans; k++) {
            int found = 0;
            for (size_t j = 0; j < cfg->nplans && !found; j++)
                found = strcmp(cfg->plans[j].name, a->plans[k]) == 0;
            if (!found) {
                char key[128];
                snprintf(key, sizeof(key), "apis.%s.plans", a->name);
                return errf(ld, a->plans_line, key, "no plan named '%s' (see plans:)", a->plans[k]);
            }
        }
    }
    return 0;
}

static int valid_api_name(const char *s)
{
    return gh_catalog_valid_name((struct gh_str){s, strlen(s)});
}

static int load_api(struct ld *ld, struct gh_yaml_node *n, int line, size_t index, struct gh_config_api *a)
{
    char key[192];
    snprintf(key, sizeof(key), "apis[%zu]", index);
    if (want_type(ld, n, GH_YAML_MAPPING, line, key))
        return GH_EINVAL;
    a->line = line;
    a->connect_timeout_ms = 2000;
    a->timeout_ms = 30000;
    /* the name first, so every later message can say which API */
    void *it = NULL;
    const char *k;
    int kl;
    struct gh_yaml_node *v;
    while (gh_yaml_map_next(ld->doc, n, &it, &k, &kl, &v)) {
        if (line == a->line && kl > 0)
            line = kl; /* an entry's own line is that of its first key */
        if (strcmp(k, "name") == 0) {
            snprintf(key, sizeof(key), "apis[%zu].name", index);
            if (get_string(ld, v, kl, key, &a->name))
                return GH_EINVAL;
            if (!valid_api_name(a->name))
                return errf(ld, kl, key, "'%s' must be 1-63 letters or digits, with - _ . only between them",
                            a->name);
            a->line = kl;
        }
    }
    if (a->name == NULL)
        return errf(ld, line, key, "name is required");
    it = NULL;
    int have_route = 0, have_upstream = 0;
    while (gh_yaml_map_next(ld->doc, n, &it, &k, &kl, &v)) {
        snprintf(key, sizeof(key), "apis.%s.%s", a->name, k);
        int rc = 0;
        if (strcmp(k, "name") == 0)
            continue;
        if (strcmp(k, "route") == 0) {
            rc = load_route(ld, v, kl, a);
            have_route = 1;
        } else if (strcmp(k, "upstream") == 0) {
            rc = load_upstream(ld, v, kl, a);
            have_upstream = 1;
        } else if (strcmp(k, "strip_prefix") == 0) {
            rc = get_bool(ld, v, kl, key, &a->strip_prefix);
        } else if (strcmp(k, "owner") == 0 || strcmp(k, "system") == 0) {
            char **dst = k[0] == 'o' ? &a->owner : &a->system;
            rc = get_string(ld, v, kl, key, dst);
            struct gh_entity_ref r;
            struct gh_err why = {{0}};
            if (rc == 0 && gh_catalog_parse_ref((struct gh_str){*dst, strlen(*dst)},
                                                k[0] == 'o' ? "Group" : "System", NULL, &r, &why) != 0)
                rc = errf(ld, kl, key, "%s", why.msg);
        } else if (strcmp(k, "auth") == 0) {
            static const char *const modes[] = {"none", "key", "jwt", "key_or_jwt"};
            char *s = NULL;
            rc = get_string(ld, v, kl, key, &s);
            int found = 0;
            for (int m = 0; rc == 0 && m < 4; m++)
                if (strcmp(s, modes[m]) == 0) {
                    a->auth = (enum gh_config_auth)m;
                    found = 1;
                }
            if (rc == 0 && !found)
                rc = errf(ld, kl, key, "'%s' must be key, jwt, key_or_jwt or none", s);
            free(s);
        } else if (strcmp(k, "rate_limit") == 0) {
            a->client_limit = gh_calloc(1, sizeof(*a->client_limit));
            a->limit_line = kl;
            struct api_limit l = {a, 0};
            rc = each_key(ld, v, kl, key, api_limit_key, &l);
            if (rc == 0 && (a->client_limit->rate_requests == 0 || a->client_limit->rate_per_ms == 0))
                rc = errf(ld, kl, key,
                          "requests and per are required (like {requests: 100, per: 1m, by: ip})");
            if (rc == 0 && a->client_limit->rate_per_ms * 1000000 < a->client_limit->rate_requests)
                rc = errf(ld, kl, key, "more than one request per nanosecond is not a limit");
            if (rc == 0 && l.by == 0)
                rc = errf(ld, kl, key, "by is required: ip or claim");
            if (rc == 0 && l.by == 2 && a->limit_claim == NULL)
                rc = errf(ld, kl, key, "by: claim needs the claim's name (like claim: sub)");
            if (rc == 0 && l.by == 1 && a->limit_claim)
                rc = errf(ld, kl, key, "claim is only for by: claim");
        } else if (strcmp(k, "key_header") == 0) {
            rc = get_string(ld, v, kl, key, &a->key_header);
            for (const char *p = a->key_header; rc == 0 && *p; p++)
                if (!gh_http_tchar((unsigned char)*p))
                    rc = errf(ld, kl, key, "'%s' is not a header name", a->key_header);
        } else if (strcmp(k, "apim_names") == 0) {
            rc = get_bool(ld, v, kl, key, &a->apim_names);
        } else if (strcmp(k, "issuers") == 0) {
            rc = get_string_list(ld, v, kl, key, &a->issuers, &a->nissuers);
            a->issuers_line = kl;
        } else if (strcmp(k, "plans") == 0) {
            rc = get_string_list(ld, v, kl, key, &a->plans, &a->nplans);
            a->plans_line = kl;
        } else if (strcmp(k, "description") == 0) {
            rc = get_string(ld, v, kl, key, &a->description);
        } else if (strcmp(k, "mock") == 0) {
            char *m = NULL;
            rc = get_string(ld, v, kl, key, &m);
            if (rc == 0) {
                free(a->mock);
                a->mock = config_relative(ld, m);
            }
            free(m);
        } else if (strcmp(k, "lifecycle") == 0) {
            rc = get_string(ld, v, kl, key, &a->lifecycle);
            if (rc == 0 && a->lifecycle[0] == '\0')
                rc = errf(ld, kl, key, "must not be empty");
        } else {
            return errf(
                ld, kl, key,
                "unknown key (expected name, route, upstream, strip_prefix, owner, description, lifecycle, "
                "system, plans, auth, key_header, apim_names, issuers, rate_limit, mock)");
        }
        if (rc)
            return rc;
    }
    snprintf(key, sizeof(key), "apis.%s", a->name);
    if (!have_route)
        return errf(ld, a->line, key, "route is required");
    if (!have_upstream && a->mock == NULL)
        return errf(ld, a->line, key, "upstream is required (or mock: an OpenAPI document to answer from)");
    if (a->key_header == NULL)
        a->key_header = gh_strdup("X-Api-Key");
    if (a->nhosts == 0) {
        a->hosts = gh_malloc(sizeof(char *));
        a->hosts[0] = gh_strdup("*");
        a->nhosts = 1;
    }
    return 0;
}

static int load_apis(struct ld *ld, struct gh_yaml_node *n, int line, struct gh_config *cfg)
{
    if (want_type(ld, n, GH_YAML_SEQUENCE, line, "apis"))
        return GH_EINVAL;
    void *it = NULL;
    struct gh_yaml_node *item;
    size_t count = 0;
    while (gh_yaml_seq_next(n, &it) != NULL)
        count++;
    cfg->apis = gh_calloc(count, sizeof(*cfg->apis));
    it = NULL;
    while ((item = gh_yaml_seq_next(n, &it)) != NULL) {
        struct gh_config_api *a = &cfg->apis[cfg->napis++];
        int rc = load_api(ld, item, line, cfg->napis - 1, a);
        if (rc)
            return rc;
        for (size_t i = 0; i + 1 < cfg->napis; i++) {
            struct gh_config_api *b = &cfg->apis[i];
            char key[96];
            snprintf(key, sizeof(key), "apis.%s", a->name);
            if (strcmp(b->name, a->name) == 0)
                return errf(ld, a->line, key, "duplicate API name (also at line %d)", b->line);
            /* the same prefix for the same host and an overlapping method is a conflict, not a choice */
            if (strcmp(b->path, a->path) == 0 &&
                (a->methods == 0 || b->methods == 0 || (a->methods & b->methods))) {
                for (size_t x = 0; x < a->nhosts; x++)
                    for (size_t y = 0; y < b->nhosts; y++)
                        if (strcmp(a->hosts[x], b->hosts[y]) == 0) {
                            char k2[96];
                            snprintf(k2, sizeof(k2), "apis.%s.route", a->name);
                            return errf(ld, a->line, k2, "same path, host and methods as API '%s'", b->name);
                        }
            }
        }
    }
    return 0;
}

/* ---- identity ---- */

struct oidc_ld {
    struct gh_config *cfg;
    struct gh_config_identity *id;
};

static int oidc_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct oidc_ld *o = ctx;
    struct gh_config_identity *id = o->id;
    int rc;
    if (strcmp(k, "issuer") == 0 || strcmp(k, "discovery") == 0 || strcmp(k, "redirect_uri") == 0) {
        char **dst = k[0] == 'i' ? &id->issuer : k[0] == 'd' ? &id->discovery : &id->redirect_uri;
        rc = get_string(ld, v, kl, key, dst);
        if (rc == 0 && !http_url(*dst))
            return errf(ld, kl, key, "'%s' must be an https:// (or http://) URL", *dst);
        if (rc == 0 && dst == &id->redirect_uri) {
            const char *path = strchr((*dst)[4] == 's' ? *dst + 8 : *dst + 7, '/');
            if (path == NULL || strcmp(path, "/auth/callback") != 0)
                return errf(ld, kl, key,
                            "'%s' must end in /auth/callback (where the portal takes the answer)", *dst);
        }
        return rc;
    }
    if (strcmp(k, "client_id") == 0)
        return get_string(ld, v, kl, key, &id->client_id);
    if (strcmp(k, "client_secret") == 0)
        return get_secret_ref(ld, v, kl, key, o->cfg, &id->client_secret);
    if (strcmp(k, "scopes") == 0)
        return get_string_list(ld, v, kl, key, &id->scopes, &id->nscopes);
    if (strcmp(k, "algorithms") == 0) {
        rc = get_string_list(ld, v, kl, key, &id->algorithms, &id->nalgorithms);
        return rc ? rc : check_algorithms(ld, kl, key, id->algorithms, id->nalgorithms);
    }
    if (strcmp(k, "groups_claim") == 0)
        return get_string(ld, v, kl, key, &id->groups_claim);
    if (strcmp(k, "roles_claim") == 0)
        return get_string(ld, v, kl, key, &id->roles_claim);
    if (strcmp(k, "username_claim") == 0)
        return get_string(ld, v, kl, key, &id->username_claim);
    if (strcmp(k, "userinfo") == 0)
        return get_bool(ld, v, kl, key, &id->userinfo);
    if (strcmp(k, "clock_skew") == 0)
        return duration(ld, v, kl, key, &id->clock_skew_ms, 1);
    return errf(ld, kl, key,
                "unknown key (expected issuer, discovery, client_id, client_secret, redirect_uri, scopes, "
                "algorithms, groups_claim, roles_claim, username_claim, userinfo, clock_skew)");
}

/* role_map / group_map: IdP value -> role or Group ref */
struct map_ld {
    struct gh_config_pair **pairs;
    size_t *n;
    int roles; /* values are roles; else Group refs */
};

static int map_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct map_ld *m = ctx;
    char *to = NULL;
    int rc = get_string(ld, v, kl, key, &to);
    if (rc == 0 && m->roles && strcmp(to, "admin") != 0 && strcmp(to, "auditor") != 0 &&
        strcmp(to, "api-publisher") != 0 && strcmp(to, "developer") != 0)
        rc = errf(ld, kl, key, "'%s' must be admin, auditor, api-publisher or developer", to);
    if (rc == 0 && !m->roles) {
        struct gh_entity_ref r;
        struct gh_err why = {{0}};
        if (gh_catalog_parse_ref((struct gh_str){to, strlen(to)}, "Group", NULL, &r, &why) != 0) {
            rc = errf(ld, kl, key, "'%s': %s", to, why.msg);
        } else if (strcasecmp(r.kind, "group") != 0) {
            rc = errf(ld, kl, key, "'%s' must be a Group (like group:default/payments or payments)", to);
        } else {
            char ref[GH_ENTITY_REF_MAX];
            gh_catalog_ref_string(&r, ref, sizeof(ref));
            free(to);
            to = gh_strdup(ref);
        }
    }
    if (rc) {
        free(to);
        return rc;
    }
    *m->pairs = gh_realloc(*m->pairs, (*m->n + 1) * sizeof(**m->pairs));
    (*m->pairs)[(*m->n)++] = (struct gh_config_pair){gh_strdup(k), to, kl};
    return 0;
}

static int session_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                       void *ctx)
{
    struct gh_config_identity *id = ctx;
    if (strcmp(k, "idle_timeout") == 0)
        return get_duration(ld, v, kl, key, &id->session_idle_ms);
    if (strcmp(k, "absolute_timeout") == 0)
        return get_duration(ld, v, kl, key, &id->session_absolute_ms);
    return errf(ld, kl, key, "unknown key (expected idle_timeout, absolute_timeout)");
}

static int identity_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                        void *ctx)
{
    struct gh_config *cfg = ctx;
    struct gh_config_identity *id = &cfg->identity;
    if (strcmp(k, "oidc") == 0) {
        struct oidc_ld o = {cfg, id};
        int rc = each_key(ld, v, kl, key, oidc_key, &o);
        if (rc)
            return rc;
        if (id->issuer == NULL || id->client_id == NULL || id->redirect_uri == NULL)
            return errf(ld, kl, key, "issuer, client_id and redirect_uri are required");
        return 0;
    }
    if (strcmp(k, "role_map") == 0 || strcmp(k, "group_map") == 0) {
        struct map_ld m = k[0] == 'r' ? (struct map_ld){&id->role_map, &id->nrole_map, 1}
                                      : (struct map_ld){&id->group_map, &id->ngroup_map, 0};
        return each_key(ld, v, kl, key, map_key, &m);
    }
    if (strcmp(k, "default_role") == 0) {
        int rc = get_string(ld, v, kl, key, &id->default_role);
        if (rc == 0 && strcmp(id->default_role, "developer") != 0 &&
            strcmp(id->default_role, "auditor") != 0 && strcmp(id->default_role, "api-publisher") != 0)
            rc = errf(ld, kl, key,
                      "'%s' must be developer, api-publisher or auditor (admins come from role_map)",
                      id->default_role);
        return rc;
    }
    if (strcmp(k, "session") == 0)
        return each_key(ld, v, kl, key, session_key, id);
    if (strcmp(k, "dev_login") == 0)
        return get_bool(ld, v, kl, key, &id->dev_login);
    return errf(ld, kl, key,
                "unknown key (expected oidc, role_map, group_map, default_role, session, dev_login)");
}

/* "127.x.y.z:port", "[::1]:port" or "localhost:port" */
static int loopback_listen(const char *l)
{
    return strncmp(l, "127.", 4) == 0 || strncmp(l, "[::1]:", 6) == 0 || strncmp(l, "localhost:", 10) == 0;
}

/* Defaults and the rules across keys. */
static int finish_identity(struct ld *ld, struct gh_config *cfg)
{
    struct gh_config_identity *id = &cfg->identity;
    if (id->line == 0)
        return 0;
    if (id->dev_login && id->issuer)
        return errf(ld, id->line, "identity.dev_login", "is only for a config without identity.oidc");
    if (id->dev_login && !loopback_listen(cfg->portal_listen))
        return errf(
            ld, id->line, "identity.dev_login",
            "needs the portal on a loopback address (listen.portal is %s): anyone who can reach it could "
            "sign in as anyone",
            cfg->portal_listen);
    if (id->issuer) {
        if (id->nscopes == 0) {
            static const char *const def[] = {"openid", "profile", "email"};
            for (size_t i = 0; i < 3; i++) {
                id->scopes = gh_realloc(id->scopes, (id->nscopes + 1) * sizeof(char *));
                id->scopes[id->nscopes++] = gh_strdup(def[i]);
            }
        }
        int openid = 0;
        for (size_t i = 0; i < id->nscopes; i++)
            openid |= strcmp(id->scopes[i], "openid") == 0;
        if (!openid)
            return errf(ld, id->line, "identity.oidc.scopes", "must include openid");
        if (id->nalgorithms == 0) {
            id->algorithms = gh_malloc(sizeof(char *));
            id->algorithms[0] = gh_strdup("RS256");
            id->nalgorithms = 1;
        }
        if (id->discovery == NULL)
            id->discovery = discovery_url(id->issuer);
    }
    if (id->groups_claim == NULL)
        id->groups_claim = gh_strdup("groups");
    if (id->roles_claim == NULL)
        id->roles_claim = gh_strdup("roles");
    if (id->username_claim == NULL)
        id->username_claim = gh_strdup("preferred_username");
    if (id->default_role == NULL)
        id->default_role = gh_strdup("developer");
    if (id->session_idle_ms > id->session_absolute_ms)
        return errf(ld, id->line, "identity.session", "idle_timeout is longer than absolute_timeout");
    return 0;
}

/* ---- access rules ---- */

/* A list of entity refs of one kind, in canonical form. */
static int ref_list(struct ld *ld, struct gh_yaml_node *v, int kl, const char *key, const char *kind,
                    struct gh_config_list *l)
{
    int rc = get_string_list(ld, v, kl, key, &l->v, &l->n);
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        struct gh_entity_ref r;
        struct gh_err why = {{0}};
        if (gh_catalog_parse_ref((struct gh_str){l->v[i], strlen(l->v[i])}, kind, NULL, &r, &why) != 0)
            return errf(ld, kl, key, "'%s': %s", l->v[i], why.msg);
        if (strcasecmp(r.kind, kind) != 0)
            return errf(ld, kl, key, "'%s' must be a %s", l->v[i], kind);
        char ref[GH_ENTITY_REF_MAX];
        gh_catalog_ref_string(&r, ref, sizeof(ref));
        free(l->v[i]);
        l->v[i] = gh_strdup(ref);
    }
    l->set = 1;
    return rc;
}

static int annotation_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                          void *ctx)
{
    struct gh_config_rule *r = ctx;
    char *val = NULL;
    if (get_string(ld, v, kl, key, &val) != 0) {
        free(val);
        return GH_EINVAL;
    }
    r->api_annotations =
        gh_realloc(r->api_annotations, (r->napi_annotations + 1) * sizeof(*r->api_annotations));
    r->api_annotations[r->napi_annotations++] = (struct gh_config_pair){gh_strdup(k), val, kl};
    return 0;
}

static int when_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct gh_config_rule *r = ctx;
    if (strcmp(k, "requester_groups_any") == 0)
        return ref_list(ld, v, kl, key, "Group", &r->requester_groups_any);
    if (strcmp(k, "api_owner") == 0)
        return ref_list(ld, v, kl, key, "Group", &r->api_owner);
    if (strcmp(k, "api_system") == 0)
        return ref_list(ld, v, kl, key, "System", &r->api_system);
    if (strcmp(k, "api_annotations") == 0)
        return each_key(ld, v, kl, key, annotation_key, r);
    struct gh_config_list *l = strcmp(k, "requester_roles_any") == 0 ? &r->requester_roles_any
                               : strcmp(k, "api_lifecycle") == 0     ? &r->api_lifecycle
                               : strcmp(k, "api_tags_any") == 0      ? &r->api_tags_any
                               : strcmp(k, "api_tags_none") == 0     ? &r->api_tags_none
                               : strcmp(k, "plans") == 0             ? &r->plans
                                                                     : NULL;
    if (l == NULL)
        return errf(
            ld, kl, key,
            "unknown condition (expected requester_groups_any, requester_roles_any, api_owner, api_system, "
            "api_lifecycle, api_tags_any, api_tags_none, api_annotations, plans)");
    int rc = get_string_list(ld, v, kl, key, &l->v, &l->n);
    l->set = 1;
    for (size_t i = 0; rc == 0 && l == &r->requester_roles_any && i < l->n; i++)
        if (strcmp(l->v[i], "admin") != 0 && strcmp(l->v[i], "auditor") != 0 &&
            strcmp(l->v[i], "api-publisher") != 0 && strcmp(l->v[i], "developer") != 0)
            return errf(ld, kl, key, "'%s' must be admin, auditor, api-publisher or developer", l->v[i]);
    return rc;
}

static int rule_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v, void *ctx)
{
    struct gh_config_rule *r = ctx;
    if (strcmp(k, "name") == 0) {
        if (get_string(ld, v, kl, key, &r->name))
            return GH_EINVAL;
        if (!gh_catalog_valid_name((struct gh_str){r->name, strlen(r->name)}))
            return errf(ld, kl, key, "'%s' must be 1-63 letters or digits, with - _ . only between them",
                        r->name);
        r->line = kl;
        return 0;
    }
    if (strcmp(k, "when") == 0)
        return each_key(ld, v, kl, key, when_key, r);
    if (strcmp(k, "max_duration") == 0)
        return get_duration(ld, v, kl, key, &r->max_duration_ms);
    if (strcmp(k, "decide") == 0) {
        static const char *const names[] = {NULL, "approve", "owner_approval", "admin_approval", "deny"};
        char *s = NULL;
        int rc = get_string(ld, v, kl, key, &s);
        for (int i = 1; rc == 0 && i < 5; i++)
            if (strcmp(s, names[i]) == 0)
                r->decide = (enum gh_rule_decision)i;
        if (rc == 0 && r->decide == 0)
            rc = errf(ld, kl, key, "'%s' must be approve, owner_approval, admin_approval or deny", s);
        free(s);
        return rc;
    }
    return errf(ld, kl, key, "unknown key (expected name, when, decide, max_duration)");
}

static int rule_has_conditions(const struct gh_config_rule *r)
{
    return r->requester_groups_any.set || r->requester_roles_any.set || r->api_owner.set ||
           r->api_system.set || r->api_lifecycle.set || r->api_tags_any.set || r->api_tags_none.set ||
           r->plans.set || r->napi_annotations;
}

static int load_rules(struct ld *ld, struct gh_yaml_node *n, int line, struct gh_config *cfg)
{
    if (want_type(ld, n, GH_YAML_SEQUENCE, line, "access_rules"))
        return GH_EINVAL;
    void *it = NULL;
    struct gh_yaml_node *item;
    while ((item = gh_yaml_seq_next(n, &it)) != NULL) {
        char key[96];
        snprintf(key, sizeof(key), "access_rules[%zu]", cfg->nrules);
        int l = gh_yaml_line(item) ? gh_yaml_line(item) : line;
        cfg->rules = gh_realloc(cfg->rules, (cfg->nrules + 1) * sizeof(*cfg->rules));
        struct gh_config_rule *r = &cfg->rules[cfg->nrules++];
        *r = (struct gh_config_rule){.line = l};
        int rc = each_key(ld, item, l, key, rule_key, r);
        if (rc)
            return rc;
        if (r->name == NULL)
            return errf(ld, l, key, "name is required");
        snprintf(key, sizeof(key), "access_rules.%s", r->name);
        if (r->decide == 0)
            return errf(ld, r->line, key,
                        "decide is required (approve, owner_approval, admin_approval or deny)");
        for (size_t i = 0; i + 1 < cfg->nrules; i++)
            if (strcmp(cfg->rules[i].name, r->name) == 0)
                return errf(ld, r->line, key, "duplicate rule name (also at line %d)", cfg->rules[i].line);
    }
    if (cfg->nrules == 0)
        return errf(ld, line, "access_rules", "needs at least the default rule (one with no when)");
    const struct gh_config_rule *last = &cfg->rules[cfg->nrules - 1];
    if (rule_has_conditions(last)) {
        char key[96];
        snprintf(key, sizeof(key), "access_rules.%s", last->name);
        return errf(ld, last->line, key,
                    "the last rule is the default and has no when (so every request meets a rule)");
    }
    return 0;
}

/* Plans a rule names exist (plans may come after the rules in the file). */
static int check_rule_plans(struct ld *ld, struct gh_config *cfg)
{
    for (size_t i = 0; i < cfg->nrules; i++)
        for (size_t k = 0; k < cfg->rules[i].plans.n; k++) {
            int found = 0;
            for (size_t j = 0; j < cfg->nplans && !found; j++)
                found = strcmp(cfg->plans[j].name, cfg->rules[i].plans.v[k]) == 0;
            if (!found) {
                char key[96];
                snprintf(key, sizeof(key), "access_rules.%s.when.plans", cfg->rules[i].name);
                return errf(ld, cfg->rules[i].line, key, "no plan named '%s' (see plans:)",
                            cfg->rules[i].plans.v[k]);
            }
        }
    return 0;
}

/* ---- the access workflow's clock, and webhooks ---- */

const char *const gh_config_event_types[] = {
    "request.created", "request.decided", "request.expired", "grant.expiring",
    "grant.expired",   "grant.revoked",   "key.rotated",     NULL};

static int access_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                      void *ctx)
{
    struct gh_config *cfg = ctx;
    if (strcmp(k, "pending_timeout") == 0)
        return get_duration(ld, v, kl, key, &cfg->pending_timeout_ms);
    if (strcmp(k, "sweep_interval") == 0)
        return get_duration(ld, v, kl, key, &cfg->sweep_interval_ms);
    if (strcmp(k, "reminders") != 0)
        return errf(ld, kl, key, "unknown key (expected reminders, pending_timeout, sweep_interval)");
    char **list = NULL;
    size_t n = 0;
    int rc = get_string_list(ld, v, kl, key, &list, &n);
    free(cfg->reminders_ms);
    cfg->reminders_ms = gh_calloc(n ? n : 1, sizeof(uint64_t));
    cfg->nreminders = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint64_t ms = 0;
        if (gh_parse_duration_ms(list[i], &ms) != 0 || ms == 0)
            rc = errf(ld, kl, key, "'%s' is not a duration (like 14d, 3d, 12h)", list[i]);
        else if (i > 0 && ms >= cfg->reminders_ms[i - 1])
            rc = errf(ld, kl, key, "'%s': list the reminders longest first, each once", list[i]);
        else
            cfg->reminders_ms[cfg->nreminders++] = ms;
    }
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return rc;
}

struct webhook_ld {
    struct gh_config *cfg;
    struct gh_config_webhook *w;
    int seen; /* a key was read: the item's line is the first key's */
};

static int webhook_key(struct ld *ld, const char *k, const char *key, int kl, struct gh_yaml_node *v,
                       void *ctx)
{
    struct webhook_ld *x = ctx;
    struct gh_config_webhook *w = x->w;
    if (!x->seen++)
        w->line = kl;
    if (strcmp(k, "name") == 0) {
        int rc = get_string(ld, v, kl, key, &w->name);
        if (rc == 0 && !gh_catalog_valid_name((struct gh_str){w->name, strlen(w->name)}))
            rc = errf(ld, kl, key, "'%s' is not a name (1-63 letters or digits, - _ . between)", w->name);
        return rc;
    }
    if (strcmp(k, "url") == 0)
        return get_string(ld, v, kl, key, &w->url);
    if (strcmp(k, "secret") == 0)
        return get_secret_ref(ld, v, kl, key, x->cfg, &w->secret);
    if (strcmp(k, "backoff") == 0)
        return get_duration(ld, v, kl, key, &w->backoff_ms);
    if (strcmp(k, "timeout") == 0)
        return get_duration(ld, v, kl, key, &w->timeout_ms);
    if (strcmp(k, "max_attempts") == 0)
        return get_count(ld, v, kl, key, 1, 100, &w->max_attempts);
    if (strcmp(k, "events") == 0) {
        int rc = get_string_list(ld, v, kl, key, &w->events, &w->nevents);
        for (size_t i = 0; rc == 0 && i < w->nevents; i++) {
            int known = strcmp(w->events[i], "*") == 0;
            for (size_t j = 0; gh_config_event_types[j] && !known; j++)
                known = strcmp(w->events[i], gh_config_event_types[j]) == 0;
            if (!known)
                rc = errf(ld, kl, key,
                          "'%s' is not an event (request.created, request.decided, request.expired, "
                          "grant.expiring, grant.expired, grant.revoked, key.rotated, or *)",
                          w->events[i]);
        }
        return rc;
    }
    if (strcmp(k, "allow") == 0) {
        char **list = NULL;
        size_t n = 0;
        int rc = get_string_list(ld, v, kl, key, &list, &n);
        w->allow = gh_calloc(n ? n : 1, sizeof(*w->allow));
        for (size_t i = 0; i < n; i++) {
            if (rc == 0 && gh_cidr_parse(list[i], &w->allow[w->nallow]) != 0)
                rc = errf(ld, kl, key, "'%s' is not an address block (like 127.0.0.1/32 or fd00::/8)",
                          list[i]);
            else if (rc == 0)
                w->nallow++;
            free(list[i]);
        }
        free(list);
        return rc;
    }
    return errf(ld, kl, key,
                "unknown key (expected name, url, events, secret, allow, backoff, timeout, max_attempts)");
}

static int load_webhooks(struct ld *ld, struct gh_yaml_node *n, int line, struct gh_config *cfg)
{
    if (want_type(ld, n, GH_YAML_SEQUENCE, line, "webhooks"))
        return GH_EINVAL;
    void *it = NULL;
    struct gh_yaml_node *item;
    while ((item = gh_yaml_seq_next(n, &it)) != NULL) {
        int il = line;
        char key[48];
        snprintf(key, sizeof(key), "webhooks[%zu]", cfg->nwebhooks);
        cfg->webhooks = gh_realloc(cfg->webhooks, (cfg->nwebhooks + 1) * sizeof(*cfg->webhooks));
        struct gh_config_webhook *w = &cfg->webhooks[cfg->nwebhooks++];
        *w = (struct gh_config_webhook){
            .line = il, .backoff_ms = 30000, .timeout_ms = 10000, .max_attempts = 12};
        struct webhook_ld x = {cfg, w, 0};
        int rc = each_key(ld, item, il, key, webhook_key, &x);
        if (rc)
            return rc;
        il = w->line;
        if (w->name == NULL || w->url == NULL || w->nevents == 0 || w->secret == NULL)
            return errf(ld, il, key, "name, url, events and secret are required");
        const char *why = gh_url_denied(w->url, w->allow, w->nallow);
        if (why)
            return errf(ld, il, key,
                        "url %s: %s (webhooks may not reach this machine, link-local neighbours or cloud "
                        "metadata; list the block under allow: to permit it)",
                        w->url, why);
        for (size_t i = 0; i + 1 < cfg->nwebhooks; i++)
            if (strcmp(cfg->webhooks[i].name, w->name) == 0)
                return errf(ld, il, key, "duplicate webhook name '%s' (also at line %d)", w->name,
                            cfg->webhooks[i].line);
    }
    return 0;
}

static int load_root(struct ld *ld, struct gh_config *cfg)
{
    struct gh_yaml_node *root = gh_yaml_root(ld->doc);
    if (root == NULL)
        return 0; /* an empty file: all defaults, no APIs */
    if (gh_yaml_type(root) != GH_YAML_MAPPING)
        return gh_err_set(ld->err, GH_EINVAL, "%s:1: the top level must be a mapping of keys", ld->file);
    void *it = NULL;
    const char *k;
    int kl, rc;
    struct gh_yaml_node *v;
    while (gh_yaml_map_next(ld->doc, root, &it, &k, &kl, &v)) {
        if (strcmp(k, "listen") == 0) {
            rc = each_key(ld, v, kl, "listen", listen_key, cfg);
        } else if (strcmp(k, "workers") == 0) {
            rc = get_count(ld, v, kl, "workers", 1, 256, &cfg->workers);
        } else if (strcmp(k, "limits") == 0) {
            rc = each_key(ld, v, kl, "limits", limits_key, cfg);
        } else if (strcmp(k, "upstreams") == 0) {
            rc = each_key(ld, v, kl, "upstreams", upstreams_key, cfg);
        } else if (strcmp(k, "log") == 0) {
            rc = each_key(ld, v, kl, "log", log_key, cfg);
        } else if (strcmp(k, "store") == 0) {
            rc = each_key(ld, v, kl, "store", store_key, cfg);
        } else if (strcmp(k, "apis") == 0) {
            rc = load_apis(ld, v, kl, cfg);
        } else if (strcmp(k, "catalog") == 0) {
            rc = each_key(ld, v, kl, "catalog", catalog_key, cfg);
        } else if (strcmp(k, "secrets") == 0) {
            rc = each_key(ld, v, kl, "secrets", secrets_key, cfg);
        } else if (strcmp(k, "admin") == 0) {
            rc = each_key(ld, v, kl, "admin", admin_key, cfg);
        } else if (strcmp(k, "audit") == 0) {
            rc = each_key(ld, v, kl, "audit", audit_key, cfg);
        } else if (strcmp(k, "usage") == 0) {
            rc = each_key(ld, v, kl, "usage", usage_key, cfg);
        } else if (strcmp(k, "plans") == 0) {
            rc = load_plans(ld, v, kl, cfg);
        } else if (strcmp(k, "issuers") == 0) {
            rc = load_issuers(ld, v, kl, cfg);
        } else if (strcmp(k, "access_rules") == 0) {
            rc = load_rules(ld, v, kl, cfg);
        } else if (strcmp(k, "access") == 0) {
            rc = each_key(ld, v, kl, "access", access_key, cfg);
        } else if (strcmp(k, "webhooks") == 0) {
            rc = load_webhooks(ld, v, kl, cfg);
        } else if (strcmp(k, "identity") == 0) {
            cfg->identity.line = kl;
            rc = each_key(ld, v, kl, "identity", identity_key, cfg);
        } else {
            rc = errf(ld, kl, k,
                      "unknown key (expected listen, workers, limits, upstreams, log, store, apis, catalog, "
                      "secrets, "
                      "admin, audit, plans, issuers, usage, identity, access_rules, access, webhooks)");
        }
        if (rc)
            return rc;
    }
    return 0;
}

static struct gh_config *defaults(const char *name)
{
    struct gh_config *cfg = gh_calloc(1, sizeof(*cfg));
    cfg->file = gh_strdup(name);
    cfg->gateway_listen = gh_strdup("127.0.0.1:8080");
    cfg->portal_listen = gh_strdup("127.0.0.1:7070");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = n > 0 ? (int)n : 1;
    cfg->header_bytes = 16384;
    cfg->body_bytes = (uint64_t)10 << 20;
    cfg->header_timeout_ms = 10000;
    cfg->idle_timeout_ms = 60000;
    cfg->drain_timeout_ms = 30000;
    cfg->upstream_idle_timeout_ms = 60000;
    cfg->upstream_max_idle = 256;
    cfg->access_log = gh_strdup("stdout");
    cfg->store_driver = gh_strdup("sqlite");
    cfg->store_path = gh_strdup("./gatehouse.db");
    cfg->log_level = GH_LOG_INFO;
    cfg->catalog_poll_ms = 5000;
    cfg->audit_checkpoint_ms = (uint64_t)3600 * 1000;
    cfg->usage_flush_ms = 60000;
    cfg->pending_timeout_ms = (uint64_t)14 * 86400 * 1000;
    cfg->sweep_interval_ms = 60000;
    cfg->reminders_ms = gh_calloc(3, sizeof(uint64_t));
    cfg->reminders_ms[0] = (uint64_t)14 * 86400 * 1000;
    cfg->reminders_ms[1] = (uint64_t)3 * 86400 * 1000;
    cfg->reminders_ms[2] = (uint64_t)86400 * 1000;
    cfg->nreminders = 3;
    cfg->identity.clock_skew_ms = 60000;
    cfg->identity.session_idle_ms = (uint64_t)8 * 3600 * 1000;
    cfg->identity.session_absolute_ms = (uint64_t)24 * 3600 * 1000;
    return cfg;
}

static int finish(struct ld *ld, struct gh_config **out)
{
    struct gh_config *cfg = defaults(ld->file);
    int rc = load_root(ld, cfg);
    if (rc == 0)
        rc = check_api_plans(ld, cfg);
    if (rc == 0)
        rc = check_api_issuers(ld, cfg);
    if (rc == 0)
        rc = finish_identity(ld, cfg);
    if (rc == 0)
        rc = check_rule_plans(ld, cfg);
    if (rc == 0 && cfg->master_key_file == NULL)
        cfg->master_key_file = config_relative(ld, "gatehouse.key");
    if (rc == 0 && strcmp(cfg->store_path, "./gatehouse.db") == 0) {
        free(cfg->store_path);
        cfg->store_path = config_relative(ld, "gatehouse.db");
    }
    gh_yaml_free(ld->doc);
    if (rc) {
        gh_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

int gh_config_load(const char *path, struct gh_config **out, struct gh_err *err)
{
    struct ld ld = {path, NULL, err};
    if (access(path, R_OK) != 0)
        return gh_err_set(err, GH_EINVAL, "%s: cannot read the file", path);
    int rc = gh_yaml_load_file(path, &ld.doc, err);
    if (rc)
        return rc;
    return finish(&ld, out);
}

int gh_config_load_string(const char *name, const char *text, size_t len, struct gh_config **out,
                          struct gh_err *err)
{
    struct ld ld = {name, NULL, err};
    int rc = gh_yaml_load_string(name, text, len, &ld.doc, err);
    if (rc)
        return rc;
    return finish(&ld, out);
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

static void free_pairs(struct gh_config_pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].from);
        free(p[i].to);
    }
    free(p);
}

static void free_identity(struct gh_config_identity *id)
{
    free(id->issuer);
    free(id->discovery);
    free(id->client_id);
    free(id->redirect_uri);
    free_list(id->scopes, id->nscopes);
    free_list(id->algorithms, id->nalgorithms);
    free(id->groups_claim);
    free(id->roles_claim);
    free(id->username_claim);
    free(id->default_role);
    free_pairs(id->role_map, id->nrole_map);
    free_pairs(id->group_map, id->ngroup_map);
}

static void free_rules(struct gh_config_rule *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].name);
        struct gh_config_list *lists[] = {
            &r[i].requester_groups_any, &r[i].requester_roles_any, &r[i].api_owner,     &r[i].api_system,
            &r[i].api_lifecycle,        &r[i].api_tags_any,        &r[i].api_tags_none, &r[i].plans};
        for (size_t k = 0; k < GH_ARRAY_SIZE(lists); k++)
            free_list(lists[k]->v, lists[k]->n);
        free_pairs(r[i].api_annotations, r[i].napi_annotations);
    }
    free(r);
}

void gh_config_free(struct gh_config *cfg)
{
    if (cfg == NULL)
        return;
    free_identity(&cfg->identity);
    free_rules(cfg->rules, cfg->nrules);
    free(cfg->reminders_ms);
    for (size_t i = 0; i < cfg->nwebhooks; i++) {
        free(cfg->webhooks[i].name);
        free(cfg->webhooks[i].url);
        free_list(cfg->webhooks[i].events, cfg->webhooks[i].nevents);
        free(cfg->webhooks[i].allow);
    }
    free(cfg->webhooks);
    for (size_t i = 0; i < cfg->napis; i++) {
        struct gh_config_api *a = &cfg->apis[i];
        free(a->name);
        free(a->path);
        free_list(a->hosts, a->nhosts);
        free_list(a->targets, a->ntargets);
        free(a->owner);
        free(a->mock);
        free(a->description);
        free(a->lifecycle);
        free(a->system);
        free_list(a->plans, a->nplans);
        free(a->key_header);
        free_list(a->issuers, a->nissuers);
        free(a->client_limit);
        free(a->limit_claim);
    }
    for (size_t i = 0; i < cfg->nissuers; i++) {
        struct gh_config_issuer *is = &cfg->issuers[i];
        free(is->name);
        free(is->issuer);
        free(is->jwks_uri);
        free(is->discovery);
        free(is->client_claim);
        free_list(is->audiences, is->naudiences);
        free_list(is->algorithms, is->nalgorithms);
        free_list(is->required_claims, is->nrequired_claims);
    }
    free(cfg->issuers);
    for (size_t i = 0; i < cfg->nplans; i++) {
        free(cfg->plans[i].name);
        free(cfg->plans[i].description);
    }
    free(cfg->plans);
    free(cfg->apis);
    for (size_t i = 0; i < cfg->nlocations; i++) {
        free(cfg->locations[i].type);
        free(cfg->locations[i].target);
        free(cfg->locations[i].owner);
    }
    free(cfg->locations);
    free_list(cfg->allowed_dirs, cfg->nallowed_dirs);
    free(cfg->gateway_url);
    free(cfg->master_key_file);
    for (size_t i = 0; i < cfg->nsecret_refs; i++) {
        free(cfg->secret_refs[i].name);
        free(cfg->secret_refs[i].key);
    }
    free(cfg->secret_refs);
    free(cfg->file);
    free(cfg->gateway_listen);
    free(cfg->portal_listen);
    free(cfg->access_log);
    free(cfg->store_driver);
    free(cfg->store_path);
    free(cfg);
}
