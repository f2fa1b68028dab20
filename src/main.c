/*
 * main.c: the command line. `serve` runs both planes: gateway workers on their own threads, and the
 * control loop on this thread (portal listener, signals: SIGHUP reloads, SIGTERM/SIGINT drain).
 */
#include "base/base.h"
#include "base/child.h"
#include "config/config.h"
#include "gateway/gateway.h"
#include "gateway/auth.h"
#include "gateway/stats.h"
#include "gateway/iplimit.h"
#include "identity/oidc.h"
#include "access/rules.h"
#include "access/usage.h"
#include "access/access.h"
#include "access/table.h"
#include "access/webhook.h"
#include "audit/audit.h"
#include "base/json.h"
#include "secrets/secrets.h"
#include "catalog/ingest.h"
#include "catalog/service.h"
#include "portal/api.h"
#include "portal/portal.h"
#include "store/store.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

extern char **environ;

#define MAX_CONFIG_BYTES ((size_t)16 << 20)

#define GH_VERSION "0.1.0"

struct control {
    uv_loop_t *loop;
    const char *config_path;
    struct gh_snapshot *snap;
    struct gh_gateway *gateway;
    struct gh_portal *portal;
    struct gh_store *store;
    struct gh_catalog_service *catalog;
    struct gh_api *api;
    uv_signal_t sighup, sigterm, sigint;
    uv_timer_t checkpoints;
    uv_timer_t access_poll;
    uv_timer_t usage;
    uv_timer_t workflow; /* each second: the test clock, webhooks, and the access sweep when due */
    uint64_t next_sweep_ms;
    struct gh_webhooks *webhooks;
    struct gh_access_table *access;
    struct gh_jwks_registry *jwks;
    struct gh_oidc *oidc;
    uint64_t generation;
    int draining;
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "Gatehouse %s: API gateway and developer portal\n\n"
        "usage:\n"
        "  gatehouse serve -c gatehouse.yaml   run the gateway and the portal\n"
        "  gatehouse check -c gatehouse.yaml   validate a config and exit (0 ok, 1 errors)\n"
        "  gatehouse apply -c gatehouse.yaml   check the config, then re-read every catalog location\n"
        "  gatehouse catalog validate PATH...  check catalog files or folders (exit 1 on errors)\n"
        "  gatehouse catalog import -c gatehouse.yaml PATH...\n"
        "                                      add files or folders to the catalog as locations\n"
        "  gatehouse catalog get -c gatehouse.yaml REF\n"
        "                                      print one entity (kind:namespace/name) as JSON\n"
        "  gatehouse secrets init|list -c gatehouse.yaml\n"
        "  gatehouse secrets set -c gatehouse.yaml NAME [--from-file F]   (the value from stdin or F)\n"
        "  gatehouse secrets rm|rollback -c gatehouse.yaml NAME\n"
        "  gatehouse secrets rotate-master -c gatehouse.yaml\n"
        "  gatehouse audit verify|checkpoint -c gatehouse.yaml | audit verify --file EXPORT.jsonl\n"
        "  gatehouse audit export -c gatehouse.yaml [--since T] [--until T] [--format jsonl|csv]\n"
        "  gatehouse apps create NAME --owner REF | apps list        (each with -c gatehouse.yaml)\n"
        "  gatehouse keys create --app NAME [--slot S] | keys rotate --app NAME | keys revoke ID | keys "
        "list\n"
        "  gatehouse keys bind --app NAME --issuer ISSUER --client CLIENT_ID\n"
        "  gatehouse token create --role admin|auditor|api-publisher|developer [--name WHAT]\n"
        "  gatehouse token create --user USER [--role ROLE] [--name WHAT] | token revoke ID | token list\n"
        "  gatehouse grants create --app NAME --api API --plan PLAN [--expires 30d] | revoke ID | list\n"
        "  gatehouse access explain --user USER --api API --plan PLAN   which access rule decides, and why\n"
        "  gatehouse --version                 print the version\n"
        "  gatehouse help                      this text\n\n"
        "signals (serve): SIGHUP reloads the config (a bad one is refused, the old one keeps\n"
        "serving); SIGTERM or SIGINT stop accepting, finish requests in flight, then exit.\n",
        GH_VERSION);
}

/* The child side: parse stdin as the config named argv[2]; say why not on stderr, exit 1. */
static int cmd_yaml_check(const char *name)
{
    char *buf;
    size_t len;
    struct gh_err err = {{0}};
    if (gh_child_read_stdin(name, MAX_CONFIG_BYTES, &buf, &len) != 0)
        return 1;
    struct gh_config *cfg = NULL;
    if (gh_config_load_string(name, buf, len, &cfg, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    gh_config_free(cfg);
    free(buf);
    return 0;
}

/* Loads and compiles a config; the one path used by check, serve and reload. */
static int load(const char *path, uint64_t generation, struct gh_snapshot **out, struct gh_err *err)
{
    char *text;
    size_t len;
    int rc = gh_read_file(path, MAX_CONFIG_BYTES, &text, &len, err);
    if (rc)
        return rc;
    struct gh_config *cfg = NULL;
    /* the same bytes for the child and for us: the file may change in between */
    if ((rc = gh_child_run("__yaml-check", path, text, len, 0, NULL, NULL, err)) == 0)
        rc = gh_config_load_string(path, text, len, &cfg, err);
    free(text);
    if (rc)
        return rc;
    return gh_snapshot_build(cfg, generation, out, err);
}

static int load_bound_key(const struct gh_config *cfg, struct gh_store *s, struct gh_master_key *k,
                          struct gh_err *err);

/* A secret the config names (NULL name: none, *out NULL). */
static int read_secret(const struct gh_config *cfg, struct gh_store *s, const char *name, unsigned char **out,
                       size_t *len, struct gh_err *err)
{
    *out = NULL;
    *len = 0;
    if (name == NULL)
        return 0;
    struct gh_master_key k;
    int rc = load_bound_key(cfg, s, &k, err);
    if (rc == 0)
        rc = gh_secret_get(s, &k, name, out, len, err);
    gh_master_key_wipe(&k);
    return rc;
}

/* Every secret:NAME the config names must exist; with admin, the admin token is also decrypted (a new
 * buffer for gh_secret_wipe, NULL when none is configured). */
static int resolve_secrets(const struct gh_config *cfg, struct gh_store *s, unsigned char **admin,
                           size_t *admin_len, struct gh_err *err)
{
    for (size_t i = 0; i < cfg->nsecret_refs; i++) {
        const struct gh_config_secret_ref *r = &cfg->secret_refs[i];
        if (!gh_secret_exists(s, r->name))
            return gh_err_set(
                err, GH_EINVAL,
                "%s:%d: %s: secret '%s' does not exist (store it: gatehouse secrets set -c %s %s)", cfg->file,
                r->line, r->key, r->name, cfg->file, r->name);
    }
    if (admin == NULL || admin_len == NULL)
        return 0;
    unsigned char *v = NULL;
    size_t vl = 0;
    int rc = read_secret(cfg, s, cfg->admin_token_secret, &v, &vl, err);
    *admin = v;
    *admin_len = vl;
    return rc;
}

static int checkpoint_key(const struct gh_config *cfg, struct gh_store *s, int create, unsigned char **key,
                          size_t *len, struct gh_err *err);

/* The portal's OpenID Connect client: the running config and its client secret. */
static int configure_oidc(struct control *ctl, const struct gh_config *cfg, struct gh_err *err)
{
    unsigned char *sec = NULL;
    size_t n = 0;
    int rc = read_secret(cfg, ctl->store, cfg->identity.client_secret, &sec, &n, err);
    if (rc)
        return rc;
    char *s = sec ? gh_strndup((const char *)sec, n) : NULL;
    gh_oidc_configure(ctl->oidc, cfg, s);
    if (s)
        gh_secret_wipe((unsigned char *)s, n);
    gh_secret_wipe(sec, n);
    return 0;
}

static void on_api_access_change(void *ctx);

/* The webhooks of a config, with their secrets' values. */
static int configure_webhooks(struct control *ctl, const struct gh_config *cfg, struct gh_err *err)
{
    char **secrets = gh_calloc(cfg->nwebhooks ? cfg->nwebhooks : 1, sizeof(char *));
    int rc = 0;
    for (size_t i = 0; i < cfg->nwebhooks && rc == 0; i++) {
        unsigned char *v = NULL;
        size_t n = 0;
        if ((rc = read_secret(cfg, ctl->store, cfg->webhooks[i].secret, &v, &n, err)) == 0 && v) {
            secrets[i] = gh_strndup((const char *)v, n);
            gh_secret_wipe(v, n);
        }
    }
    if (rc == 0)
        gh_webhooks_configure(ctl->webhooks, cfg, secrets);
    for (size_t i = 0; i < cfg->nwebhooks; i++)
        if (secrets[i])
            gh_secret_wipe((unsigned char *)secrets[i], strlen(secrets[i])); /* and frees */
    free(secrets);
    return rc;
}

/* Black-box tests move the clock: GATEHOUSE_TEST_CLOCK_FILE names a file holding an offset in
 * seconds (like +7776000), read each second. */
static void read_test_clock(void)
{
    const char *f = getenv("GATEHOUSE_TEST_CLOCK_FILE");
    char *text = NULL;
    size_t len = 0;
    struct gh_err err = {{0}};
    if (f == NULL || gh_read_file(f, 64, &text, &len, &err) != 0)
        return;
    char *end = NULL;
    static long long last;
    long long secs = strtoll(text, &end, 10);
    if (end != text && secs != last) {
        gh_log(GH_LOG_WARN,
               "test clock: the wall clock runs %+lld s off (GATEHOUSE_TEST_CLOCK_FILE, for tests only)",
               secs);
        last = secs;
    }
    if (end != text)
        gh_time_set_offset_ms((int64_t)secs * 1000);
    free(text);
}

/* The access workflow's clock: grants and requests that end, reminders, and webhook deliveries. */
static void on_workflow_timer(uv_timer_t *t)
{
    struct control *ctl = t->data;
    read_test_clock();
    uint64_t now = gh_time_wall_ms();
    if (now >= ctl->next_sweep_ms) {
        ctl->next_sweep_ms = now + ctl->snap->cfg->sweep_interval_ms;
        struct gh_sweep_result r;
        struct gh_err err = {{0}};
        if (gh_access_sweep(ctl->store, ctl->snap->cfg, now, &r, &err) != 0)
            gh_log(GH_LOG_ERROR, "access sweep: %s", err.msg);
        else if (r.grants_expired || r.requests_expired || r.reminders)
            gh_log(GH_LOG_INFO, "access: %d grant%s expired, %d request%s expired, %d reminder%s",
                   r.grants_expired, r.grants_expired == 1 ? "" : "s", r.requests_expired,
                   r.requests_expired == 1 ? "" : "s", r.reminders, r.reminders == 1 ? "" : "s");
        if (r.grants_expired) /* the gateway stops them now, not at the next poll */
            on_api_access_change(ctl);
    }
    if (!ctl->draining)
        gh_webhooks_tick(ctl->webhooks, now);
}

static int on_newer(void *ctx, struct gh_json *e)
{
    *(int64_t *)ctx = gh_json_int_value(gh_json_get(e, "seq"));
    return 0;
}

/* Signs the audit trail's head now and then, so a cut tail shows even between exports. Without a
 * master key (no secrets yet) there is nothing to sign with: said once, then quiet. */
static void on_checkpoint_timer(uv_timer_t *t)
{
    struct control *ctl = t->data;
    static int warned;
    struct gh_err err = {{0}};
    unsigned char *key = NULL;
    size_t len = 0;
    /* only when events came after the last checkpoint */
    struct gh_json *last = gh_audit_last_checkpoint(ctl->store, NULL);
    struct gh_audit_query q = {.after_seq = last ? gh_json_int_value(gh_json_get(last, "seq")) : 0,
                               .limit = 1};
    gh_json_unref(last);
    int64_t head = 0;
    if (gh_audit_list(ctl->store, &q, on_newer, &head, &err) != 0 || head == 0)
        return;
    if (checkpoint_key(ctl->snap->cfg, ctl->store, 1, &key, &len, &err) != 0 ||
        gh_audit_checkpoint(ctl->store, key, len, &err) != 0) {
        if (!warned++)
            gh_log(GH_LOG_WARN, "audit: no periodic checkpoint: %s", err.msg);
    } else {
        gh_log(GH_LOG_INFO, "audit: checkpoint written");
    }
    gh_secret_wipe(key, len);
}

/* Keys and grants changed (through the API, or `gatehouse keys ...` in another process): the
 * workers' table follows within one poll interval. */
static void on_access_poll(uv_timer_t *t)
{
    struct control *ctl = t->data;
    int64_t g = gh_access_generation(ctl->store);
    if (g == gh_access_table_generation(ctl->access))
        return;
    struct gh_err err = {{0}};
    if (gh_access_table_update(ctl->access, ctl->store, ctl->snap->cfg, &err) != 0)
        gh_log(GH_LOG_ERROR, "access: %s", err.msg);
    else
        gh_log(GH_LOG_DEBUG, "access: credentials and grants updated (generation %lld)",
               (long long)gh_access_table_generation(ctl->access));
}

/* Usage the workers handed over (each second) goes to the store, in one transaction. */
static void flush_usage(struct control *ctl)
{
    struct gh_usage_row *rows = NULL;
    size_t n = gh_usage_take(&rows);
    if (n == 0) {
        free(rows);
        return;
    }
    struct gh_err err = {{0}};
    uint64_t at = gh_time_wall_ms() - 1; /* the interval that just ended */
    int rc = gh_store_begin(ctl->store, &err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct gh_usage_counts c = {rows[i].requests, rows[i].ok, rows[i].client_errors,
                                    rows[i].server_errors, rows[i].throttled};
        rc = gh_usage_add(ctl->store, at, rows[i].app, gh_stats_slot_name(rows[i].slot), &c, &err);
    }
    if (rc == 0)
        rc = gh_store_commit(ctl->store, &err);
    else
        gh_store_rollback(ctl->store);
    if (rc)
        gh_log(GH_LOG_ERROR, "usage: %zu rows not written: %s", n, err.msg);
    free(rows);
}

static void on_usage_timer(uv_timer_t *t)
{
    flush_usage(t->data);
    /* addresses back to a full burst need no state: swept here too */
    gh_iplimit_sweep(gh_gateway_iplimit, uv_hrtime());
}

static void arm_usage(struct control *ctl)
{
    uint64_t ms = ctl->snap->cfg->usage_flush_ms;
    uv_timer_stop(&ctl->usage);
    uv_timer_start(&ctl->usage, on_usage_timer, ms, ms);
}

/* The control API changed keys or grants: enforce it before its response goes out. */
static void on_api_access_change(void *ctx)
{
    struct control *ctl = ctx;
    struct gh_err err = {{0}};
    if (gh_access_table_update(ctl->access, ctl->store, ctl->snap->cfg, &err) != 0)
        gh_log(GH_LOG_ERROR, "access: %s", err.msg);
}

static void arm_checkpoints(struct control *ctl)
{
    uv_timer_stop(&ctl->checkpoints);
    uint64_t ms = ctl->snap->cfg->audit_checkpoint_ms;
    if (ms)
        uv_timer_start(&ctl->checkpoints, on_checkpoint_timer, ms, ms);
}

static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    struct control *ctl = s->data;
    if (ctl->draining)
        return;
    struct gh_err err = {{0}};
    struct gh_snapshot *snap;
    if (load(ctl->config_path, ctl->generation + 1, &snap, &err) != 0) {
        gh_log(GH_LOG_ERROR, "reload refused, still serving config generation %llu: %s",
               (unsigned long long)ctl->generation, err.msg);
        return;
    }
    unsigned char *token = NULL;
    size_t token_len = 0;
    if (resolve_secrets(snap->cfg, ctl->store, &token, &token_len, &err) != 0) {
        gh_log(GH_LOG_ERROR, "reload refused, still serving config generation %llu: %s",
               (unsigned long long)ctl->generation, err.msg);
        gh_snapshot_unref(snap);
        return;
    }
    gh_api_set_admin_token(ctl->api, token, token_len);
    const struct gh_config *o = ctl->snap->cfg, *n = snap->cfg;
    if (strcmp(o->gateway_listen, n->gateway_listen) != 0 ||
        strcmp(o->portal_listen, n->portal_listen) != 0 || o->workers != n->workers ||
        strcmp(o->store_driver, n->store_driver) != 0 || strcmp(o->store_path, n->store_path) != 0)
        gh_log(GH_LOG_WARN, "reload: listen addresses, workers and the store change only on restart; keeping "
                            "the running ones");
    ctl->generation++;
    gh_log_level = n->log_level;
    gh_gateway_publish(ctl->gateway, snap);
    gh_catalog_service_config(ctl->catalog, snap->cfg); /* the catalog follows what the gateway serves */
    gh_jwks_registry_configure(ctl->jwks, snap->cfg);
    gh_api_set_config(ctl->api, snap->cfg);
    if (configure_oidc(ctl, snap->cfg, &err) != 0)
        gh_log(GH_LOG_ERROR, "identity.oidc.client_secret: %s", err.msg);
    if (configure_webhooks(ctl, snap->cfg, &err) != 0)
        gh_log(GH_LOG_ERROR, "webhooks: %s", err.msg);
    ctl->next_sweep_ms = 0;
    gh_snapshot_unref(ctl->snap);
    ctl->snap = snap;
    arm_checkpoints(ctl);
    arm_usage(ctl);
    if (gh_access_table_sync(ctl->access, ctl->store, snap->cfg, &err) != 0) /* plans may have changed */
        gh_log(GH_LOG_ERROR, "access: %s", err.msg);
    gh_log(GH_LOG_INFO, "reloaded %s (generation %llu, %zu API%s)", ctl->config_path,
           (unsigned long long)ctl->generation, n->napis, n->napis == 1 ? "" : "s");
}

static void on_sigterm(uv_signal_t *s, int signum)
{
    struct control *ctl = s->data;
    if (ctl->draining)
        return;
    ctl->draining = 1;
    gh_log(GH_LOG_INFO, "%s: draining requests in flight, then exiting",
           signum == SIGINT ? "SIGINT" : "SIGTERM");
    gh_gateway_drain(ctl->gateway);
    gh_portal_stop(ctl->portal);
    gh_catalog_service_stop(ctl->catalog);
    ctl->catalog = NULL;
    uv_close((uv_handle_t *)&ctl->checkpoints, NULL);
    uv_close((uv_handle_t *)&ctl->access_poll, NULL);
    uv_close((uv_handle_t *)&ctl->usage, NULL);
    uv_close((uv_handle_t *)&ctl->workflow, NULL);
    gh_jwks_registry_stop(ctl->jwks);
    uv_close((uv_handle_t *)&ctl->sighup, NULL);
    uv_close((uv_handle_t *)&ctl->sigterm, NULL);
    uv_close((uv_handle_t *)&ctl->sigint, NULL);
}

static const char *config_arg(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    return NULL;
}

static int cmd_check(const char *path)
{
    struct gh_err err = {{0}};
    struct gh_snapshot *snap;
    if (load(path, 1, &snap, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (snap->cfg->nsecret_refs) {
        /* the secrets it names must be in the store (their values are not needed to say so) */
        struct gh_store_config scfg = {snap->cfg->store_driver, snap->cfg->store_path};
        struct gh_store *store = NULL;
        int rc = gh_store_open(&scfg, &store, &err);
        if (rc == 0)
            rc = resolve_secrets(snap->cfg, store, NULL, NULL, &err);
        gh_store_close(store);
        if (rc) {
            fprintf(stderr, "%s\n", err.msg);
            gh_snapshot_unref(snap);
            return 1;
        }
    }
    printf("%s: ok (%zu API%s)\n", path, snap->napis, snap->napis == 1 ? "" : "s");
    gh_snapshot_unref(snap);
    return 0;
}

static int cmd_serve(const char *path)
{
    struct control ctl = {.loop = uv_default_loop(), .config_path = path, .generation = 1};
    struct gh_err err = {{0}};
    if (load(path, ctl.generation, &ctl.snap, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    gh_log_level = ctl.snap->cfg->log_level;
    struct gh_store_config scfg = {ctl.snap->cfg->store_driver, ctl.snap->cfg->store_path};
    if (gh_store_open(&scfg, &ctl.store, &err) != 0) {
        gh_log(GH_LOG_ERROR, "store: %s", err.msg);
        gh_snapshot_unref(ctl.snap);
        return 1;
    }
    if (gh_catalog_service_start(ctl.loop, ctl.store, ctl.snap->cfg, &ctl.catalog, &err) != 0) {
        gh_log(GH_LOG_ERROR, "catalog: %s", err.msg);
        gh_store_close(ctl.store);
        gh_snapshot_unref(ctl.snap);
        return 1;
    }
    ctl.api = gh_api_new(ctl.catalog);
    unsigned char *token = NULL;
    size_t token_len = 0;
    if (resolve_secrets(ctl.snap->cfg, ctl.store, &token, &token_len, &err) != 0) {
        gh_log(GH_LOG_ERROR, "%s", err.msg);
        gh_catalog_service_stop(ctl.catalog);
        uv_run(ctl.loop, UV_RUN_NOWAIT);
        gh_api_free(ctl.api);
        gh_store_close(ctl.store);
        gh_snapshot_unref(ctl.snap);
        return 1;
    }
    gh_api_set_admin_token(ctl.api, token, token_len);
    gh_access_thread_online(); /* the control thread updates the credential table */
    ctl.access = gh_access_table_new();
    if (gh_access_table_sync(ctl.access, ctl.store, ctl.snap->cfg, &err) != 0) {
        gh_log(GH_LOG_ERROR, "access: %s", err.msg);
        gh_access_table_free(ctl.access);
        gh_catalog_service_stop(ctl.catalog);
        uv_run(ctl.loop, UV_RUN_NOWAIT);
        gh_api_free(ctl.api);
        gh_store_close(ctl.store);
        gh_snapshot_unref(ctl.snap);
        return 1;
    }
    gh_gateway_access = ctl.access;
    gh_gateway_iplimit = gh_iplimit_new();
    ctl.jwks = gh_jwks_registry_new(ctl.loop);
    gh_jwks_registry_configure(ctl.jwks, ctl.snap->cfg);
    gh_gateway_jwks = ctl.jwks;
    ctl.oidc = gh_oidc_new(ctl.loop, ctl.jwks);
    gh_api_set_oidc(ctl.api, ctl.oidc);
    if (configure_oidc(&ctl, ctl.snap->cfg, &err) != 0)
        gh_log(GH_LOG_ERROR, "identity.oidc.client_secret: %s", err.msg);
    if (gh_gateway_start(ctl.snap, &ctl.gateway, &err) != 0) {
        gh_log(GH_LOG_ERROR, "listen.gateway: %s", err.msg);
        gh_catalog_service_stop(ctl.catalog);
        uv_run(ctl.loop, UV_RUN_NOWAIT);
        gh_api_free(ctl.api);
        gh_store_close(ctl.store);
        return 1;
    }
    gh_api_set_metrics(ctl.api, gh_gateway_metrics, ctl.gateway);
    gh_api_set_config(ctl.api, ctl.snap->cfg);
    gh_api_set_access_hook(ctl.api, on_api_access_change, &ctl);
    if (gh_portal_start(ctl.loop, ctl.snap->cfg->portal_listen, ctl.snap->cfg->header_bytes, gh_api_handle,
                        ctl.api, &ctl.portal, &err) != 0) {
        gh_log(GH_LOG_ERROR, "listen.portal: %s", err.msg);
        gh_gateway_drain(ctl.gateway);
        gh_gateway_join(ctl.gateway);
        gh_catalog_service_stop(ctl.catalog);
        uv_run(ctl.loop, UV_RUN_NOWAIT);
        gh_api_free(ctl.api);
        gh_store_close(ctl.store);
        return 1;
    }
    uv_signal_init(ctl.loop, &ctl.sighup);
    uv_signal_init(ctl.loop, &ctl.sigterm);
    uv_signal_init(ctl.loop, &ctl.sigint);
    ctl.sighup.data = ctl.sigterm.data = ctl.sigint.data = &ctl;
    uv_signal_start(&ctl.sighup, on_sighup, SIGHUP);
    uv_signal_start(&ctl.sigterm, on_sigterm, SIGTERM);
    uv_signal_start(&ctl.sigint, on_sigterm, SIGINT);
    uv_timer_init(ctl.loop, &ctl.checkpoints);
    ctl.checkpoints.data = &ctl;
    arm_checkpoints(&ctl);
    uv_timer_init(ctl.loop, &ctl.access_poll);
    ctl.access_poll.data = &ctl;
    uv_timer_start(&ctl.access_poll, on_access_poll, 50, 50);
    uv_timer_init(ctl.loop, &ctl.usage);
    ctl.usage.data = &ctl;
    arm_usage(&ctl);
    ctl.webhooks = gh_webhooks_new(ctl.loop, ctl.store);
    if (configure_webhooks(&ctl, ctl.snap->cfg, &err) != 0)
        gh_log(GH_LOG_ERROR, "webhooks: %s", err.msg);
    read_test_clock();
    uv_timer_init(ctl.loop, &ctl.workflow);
    ctl.workflow.data = &ctl;
    uv_timer_start(&ctl.workflow, on_workflow_timer, 1000, 1000);
    gh_log(GH_LOG_INFO, "gatehouse %s ready (config %s, %zu API%s)", GH_VERSION, path, ctl.snap->napis,
           ctl.snap->napis == 1 ? "" : "s");
    uv_run(ctl.loop, UV_RUN_DEFAULT);
    gh_gateway_join(ctl.gateway);
    flush_usage(&ctl); /* what the workers handed over last */
    gh_gateway_access = NULL;
    gh_gateway_jwks = NULL;
    gh_iplimit_free(gh_gateway_iplimit);
    gh_gateway_iplimit = NULL;
    gh_access_table_free(ctl.access); /* the workers are gone */
    gh_jwks_registry_free(ctl.jwks);
    gh_oidc_free(ctl.oidc);
    gh_webhooks_free(ctl.webhooks);
    gh_access_thread_offline();
    gh_api_free(ctl.api);
    gh_store_close(ctl.store);
    gh_snapshot_unref(ctl.snap);
    uv_loop_close(ctl.loop);
    gh_log(GH_LOG_INFO, "stopped");
    return 0;
}

/* ---- catalog commands ---- */

static void print_errors(const struct gh_catalog_batch *b)
{
    const struct gh_json *errs = gh_catalog_batch_error_list(b);
    for (size_t i = 0; i < gh_json_size(errs); i++) {
        const struct gh_json *e = gh_json_at(errs, i);
        fprintf(stderr, "%s: %s\n", gh_json_str(gh_json_get(e, "source"), NULL),
                gh_json_str(gh_json_get(e, "message"), NULL));
    }
}

static void on_progress(void *ctx, size_t files)
{
    const char *what = ctx;
    if (files % 250 == 0)
        fprintf(stderr, "%s: %zu files read\r", what, files);
}

static int cmd_catalog_validate(int argc, char **argv)
{
    int bad = 0;
    size_t entities = 0, files = 0;
    for (int i = 0; i < argc; i++) {
        struct gh_err err = {{0}};
        char *dir = gh_catalog_target_dir(argv[i], &err);
        if (dir == NULL) {
            fprintf(stderr, "%s\n", err.msg);
            bad = 1;
            continue;
        }
        const char *dirs[] = {dir};
        struct gh_ingest_opts o = {dirs, 1, NULL, NULL, NULL, on_progress, argv[i]};
        struct gh_catalog_batch *b = gh_catalog_batch_new();
        files += gh_catalog_ingest_file(argv[i], &o, b);
        entities += gh_catalog_batch_count(b);
        if (gh_catalog_batch_errors(b)) {
            print_errors(b);
            bad = 1;
        }
        gh_catalog_batch_free(b);
        free(dir);
    }
    printf("%zu entit%s in %zu file%s%s\n", entities, entities == 1 ? "y" : "ies", files,
           files == 1 ? "" : "s", bad ? "; errors above" : ", all valid");
    return bad;
}

static int open_store_from(const char *path, struct gh_snapshot **snap, struct gh_store **store)
{
    struct gh_err err = {{0}};
    if (load(path, 1, snap, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct gh_store_config scfg = {(*snap)->cfg->store_driver, (*snap)->cfg->store_path};
    if (gh_store_open(&scfg, store, &err) != 0) {
        fprintf(stderr, "store: %s\n", err.msg);
        gh_snapshot_unref(*snap);
        return 1;
    }
    return 0;
}

static int cmd_catalog_import(const char *config, int argc, char **argv)
{
    struct gh_snapshot *snap;
    struct gh_store *store;
    if (open_store_from(config, &snap, &store))
        return 1;
    int bad = 0;
    for (int i = 0; i < argc; i++) {
        struct gh_err err = {{0}};
        char *real = realpath(argv[i], NULL);
        char *dir = real ? gh_catalog_target_dir(real, &err) : NULL;
        if (dir == NULL) {
            fprintf(stderr, "%s: %s\n", argv[i], real ? err.msg : strerror(errno));
            free(real);
            bad = 1;
            continue;
        }
        char id[GH_LOCATION_ID_MAX];
        int existed = 0;
        struct gh_catalog_counts c = {0};
        const char *dirs[] = {dir};
        struct gh_ingest_opts o = {dirs, 1, NULL, NULL, NULL, on_progress, argv[i]};
        struct gh_catalog_batch *b = gh_catalog_batch_new();
        uint64_t t0 = gh_time_mono_ns();
        gh_catalog_ingest_file(real, &o, b);
        int rc = gh_catalog_location_add(store, "file", real, "cli", id, &existed, &err);
        if (rc == 0)
            rc = gh_catalog_commit(store, id, b, &c, &err);
        if (rc) {
            fprintf(stderr, "%s: %s\n", argv[i], err.msg);
            bad = 1;
        } else {
            print_errors(b);
            printf("%s: %s location %s: %zu added, %zu updated, %zu unchanged, %zu removed, %zu error%s "
                   "(%.2f s)\n",
                   argv[i], existed ? "existing" : "new", id, c.added, c.updated, c.unchanged, c.removed,
                   c.errors, c.errors == 1 ? "" : "s", (double)(gh_time_mono_ns() - t0) / 1e9);
            if (c.errors)
                bad = 1;
        }
        gh_catalog_batch_free(b);
        free(dir);
        free(real);
    }
    gh_store_close(store);
    gh_snapshot_unref(snap);
    return bad;
}

static int cmd_catalog_get(const char *config, const char *ref)
{
    struct gh_entity_ref r;
    struct gh_err err = {{0}};
    if (gh_catalog_parse_ref((struct gh_str){ref, strlen(ref)}, NULL, NULL, &r, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    struct gh_snapshot *snap;
    struct gh_store *store;
    if (open_store_from(config, &snap, &store))
        return 1;
    char canon[GH_ENTITY_REF_MAX];
    gh_catalog_ref_string(&r, canon, sizeof(canon));
    struct gh_json *e = gh_catalog_get_by_ref(store, canon, &err);
    int rc = 0;
    if (e == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        rc = 1;
    } else {
        char *text = gh_json_dump_pretty(e);
        printf("%s\n", text);
        free(text);
        gh_json_unref(e);
    }
    gh_store_close(store);
    gh_snapshot_unref(snap);
    return rc;
}

static int cmd_apply(const char *config)
{
    struct gh_snapshot *snap;
    struct gh_store *store;
    if (open_store_from(config, &snap, &store))
        return 1;
    struct gh_catalog_service *svc = NULL;
    struct gh_err err = {{0}};
    int rc = gh_catalog_service_start(NULL, store, snap->cfg, &svc, &err);
    if (rc)
        fprintf(stderr, "catalog: %s\n", err.msg);
    else
        printf("%s: ok; catalog locations re-read\n", config);
    gh_catalog_service_stop(svc);
    gh_store_close(store);
    gh_snapshot_unref(snap);
    return rc ? 1 : 0;
}

/* ---- secrets and audit ---- */

#define CHECKPOINT_KEY "gatehouse.audit-checkpoint-key"

static void cli_actor(char *buf, size_t cap)
{
    struct passwd *pw = getpwuid(geteuid());
    snprintf(buf, cap, "cli:%s", pw ? pw->pw_name : "unknown");
}

/*
 * The master key for cfg's store, checked against the store's fingerprint. A rotation that crashed
 * after its commit but before renaming <file>.new over <file> is finished here: the new key is the one
 * the store expects.
 */
static int load_bound_key(const struct gh_config *cfg, struct gh_store *s, struct gh_master_key *k,
                          struct gh_err *err)
{
    int rc = gh_master_key_load(cfg->master_key_file, k, err);
    if (rc)
        return rc;
    rc = gh_secrets_bind(s, k, err);
    if (rc != GH_EINVAL || getenv(GH_MASTER_KEY_ENV))
        return rc;
    char next[4096];
    snprintf(next, sizeof(next), "%s.new", cfg->master_key_file);
    struct gh_master_key n;
    struct gh_err why = {{0}};
    if (gh_master_key_load(next, &n, &why) != 0 || gh_secrets_bind(s, &n, &why) != 0) {
        gh_master_key_wipe(&n);
        return rc;
    }
    if (rename(next, cfg->master_key_file) != 0) {
        gh_master_key_wipe(&n);
        return gh_err_set(err, GH_EIO, "%s: cannot finish the interrupted rotation: %s", next,
                          strerror(errno));
    }
    fprintf(stderr, "%s: finished an interrupted master key rotation\n", cfg->master_key_file);
    *k = n;
    gh_master_key_wipe(&n);
    return 0;
}

/* One audited change by the person at this terminal. */
static int audited(struct gh_store *s, const char *action, const char *target, gh_audit_change_fn fn,
                   void *ctx, struct gh_err *err)
{
    char actor[128];
    cli_actor(actor, sizeof(actor));
    return gh_audit_change(s, actor, action, target, fn, ctx, err);
}

struct secret_change {
    const struct gh_master_key *k, *new_key;
    const char *name;
    const unsigned char *value;
    size_t len;
    int64_t version;
    size_t count;
};

static int do_set(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct secret_change *c = ctx;
    int rc = gh_secret_set(s, c->k, c->name, c->value, c->len, &c->version, err);
    gh_json_set(d, "version", gh_json_int(c->version));
    return rc;
}

static int do_rm(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    (void)d;
    return gh_secret_rm(s, ((struct secret_change *)ctx)->name, err);
}

static int do_rollback(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct secret_change *c = ctx;
    int rc = gh_secret_rollback(s, c->name, &c->version, err);
    gh_json_set(d, "version", gh_json_int(c->version));
    return rc;
}

static int do_rotate(void *ctx, struct gh_store *s, struct gh_json *d, struct gh_err *err)
{
    struct secret_change *c = ctx;
    int rc = gh_secrets_rotate_master(s, c->k, c->new_key, &c->count, err);
    gh_json_set(d, "rewrapped", gh_json_int((int64_t)c->count));
    return rc;
}

static int on_secret_row(void *ctx, const struct gh_store_val *c, size_t n)
{
    (void)ctx;
    if (n >= 4)
        printf("%-40.*s v%-4lld %-4lld %.*s\n", (int)c[0].len, c[0].p, (long long)c[1].i, (long long)c[3].i,
               (int)c[2].len, c[2].p);
    return 0;
}

/* The value to store: a file as it is, or stdin without one trailing newline (as typed or echoed). */
static int read_value(const char *from_file, unsigned char **out, size_t *len, struct gh_err *err)
{
    char *buf;
    int rc = from_file ? gh_read_file(from_file, GH_SECRET_MAX, &buf, len, err)
                       : gh_read_fd(STDIN_FILENO, "stdin", GH_SECRET_MAX, &buf, len, err);
    if (rc)
        return rc;
    if (!from_file && *len && buf[*len - 1] == '\n')
        (*len)--;
    *out = (unsigned char *)buf;
    return 0;
}

static int rotate_master(const struct gh_config *cfg, struct gh_store *store, struct secret_change *c,
                         struct gh_err *err)
{
    /* the new key is on disk before the store depends on it; renamed into place after */
    char next[4096];
    snprintf(next, sizeof(next), "%s.new", cfg->master_key_file);
    if (getenv(GH_MASTER_KEY_ENV))
        return gh_err_set(err, GH_EINVAL, "%s is set: rotate the key where it is kept, not here",
                          GH_MASTER_KEY_ENV);
    struct gh_master_key nk;
    int rc = gh_master_key_create(next, err);
    if (rc == 0 && (rc = gh_master_key_load(next, &nk, err)) == 0) {
        c->new_key = &nk;
        rc = audited(store, "secret.rotate-master", "secrets", do_rotate, c, err);
        c->new_key = NULL; /* nk is gone when this returns */
        if (rc != 0)
            unlink(next); /* nothing depends on it */
        else if (rename(next, cfg->master_key_file) != 0)
            rc = gh_err_set(
                err, GH_EIO,
                "%s: the store uses this new key, but it could not be renamed to %s: %s; rename it by hand",
                next, cfg->master_key_file, strerror(errno));
        gh_master_key_wipe(&nk);
    }
    return rc;
}

static int cmd_secrets(const char *sub, const char *config, int n, char **rest, const char *from_file)
{
    int one = n == 1, none = n == 0;
    int known = (!strcmp(sub, "init") && none) || (!strcmp(sub, "list") && none) ||
                (!strcmp(sub, "set") && one) || (!strcmp(sub, "rm") && one) ||
                (!strcmp(sub, "rollback") && one) || (!strcmp(sub, "rotate-master") && none);
    if (!known) {
        fprintf(stderr,
                "gatehouse secrets: expected init, list, set NAME [--from-file F], rm NAME, rollback NAME or "
                "rotate-master, each with -c gatehouse.yaml\n");
        return 2;
    }
    struct gh_snapshot *snap;
    struct gh_store *store;
    if (open_store_from(config, &snap, &store))
        return 1;
    const struct gh_config *cfg = snap->cfg;
    struct gh_err err = {{0}};
    struct gh_master_key k;
    int rc = 0;
    char target[256] = "";
    if (one)
        snprintf(target, sizeof(target), "secret:%s", rest[0]);
    if (!strcmp(sub, "init")) {
        rc = gh_master_key_create(cfg->master_key_file, &err);
        if (rc == 0 && (rc = gh_master_key_load(cfg->master_key_file, &k, &err)) == 0) {
            rc = gh_secrets_bind(store, &k, &err);
            gh_master_key_wipe(&k);
        }
        if (rc == 0)
            printf("%s: new master key (mode 0600); back it up: without it the secrets cannot be read\n",
                   cfg->master_key_file);
    } else if (!strcmp(sub, "list")) {
        printf("%-40s %-5s %-4s %s\n", "NAME", "VER", "ALL", "CREATED");
        rc = gh_secret_list(store, on_secret_row, NULL, &err);
    } else if ((rc = load_bound_key(cfg, store, &k, &err)) == 0) {
        struct secret_change c = {&k, NULL, one ? rest[0] : NULL, NULL, 0, 0, 0};
        unsigned char *value = NULL;
        if (!strcmp(sub, "set")) {
            if (!gh_secret_valid_name(rest[0]))
                rc = gh_err_set(&err, GH_EINVAL,
                                "'%s' is not a secret name (1-128 of letters, digits, '.', '_', '-')",
                                rest[0]);
            else if ((rc = read_value(from_file, &value, &c.len, &err)) == 0) {
                c.value = value;
                rc = audited(store, "secret.set", target, do_set, &c, &err);
            }
            if (rc == 0)
                printf("%s: version %lld\n", rest[0], (long long)c.version);
        } else if (!strcmp(sub, "rm")) {
            rc = audited(store, "secret.delete", target, do_rm, &c, &err);
            if (rc == 0)
                printf("%s: removed, with every version\n", rest[0]);
        } else if (!strcmp(sub, "rollback")) {
            rc = audited(store, "secret.rollback", target, do_rollback, &c, &err);
            if (rc == 0)
                printf("%s: version %lld is current again\n", rest[0], (long long)c.version);
        } else {
            rc = rotate_master(cfg, store, &c, &err);
            if (rc == 0)
                printf("%s: new master key; %zu data key%s re-wrapped\n", cfg->master_key_file, c.count,
                       c.count == 1 ? "" : "s");
        }
        gh_secret_wipe(value, c.len);
        gh_master_key_wipe(&k);
    }
    if (rc)
        fprintf(stderr, "gatehouse secrets %s: %s\n", sub, err.msg);
    gh_store_close(store);
    gh_snapshot_unref(snap);
    return rc ? 1 : 0;
}

/* The checkpoint key, from the secret store (made, audited, on first use when create). */
static int checkpoint_key(const struct gh_config *cfg, struct gh_store *s, int create, unsigned char **key,
                          size_t *len, struct gh_err *err)
{
    struct gh_master_key k;
    int rc = load_bound_key(cfg, s, &k, err);
    if (rc)
        return rc;
    rc = gh_secret_get(s, &k, CHECKPOINT_KEY, key, len, err);
    if (rc == GH_ENOTFOUND && create) {
        unsigned char fresh[32];
        gh_random_bytes(fresh, sizeof(fresh));
        struct secret_change c = {&k, NULL, CHECKPOINT_KEY, fresh, sizeof(fresh), 0, 0};
        rc = audited(s, "secret.set", "secret:" CHECKPOINT_KEY, do_set, &c, err);
        OPENSSL_cleanse(fresh, sizeof(fresh));
        if (rc == 0)
            rc = gh_secret_get(s, &k, CHECKPOINT_KEY, key, len, err);
    }
    gh_master_key_wipe(&k);
    return rc;
}

struct export_opts {
    const char *since, *until, *format;
};

static void csv_field(const char *s, int last)
{
    if (strpbrk(s, ",\"\n\r") == NULL) {
        fputs(s, stdout);
    } else {
        putchar('"');
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                putchar('"');
            putchar(*p);
        }
        putchar('"');
    }
    putchar(last ? '\n' : ',');
}

static int on_export(void *ctx, struct gh_json *e)
{
    const struct export_opts *o = ctx;
    (void)o;
    char seq[24];
    snprintf(seq, sizeof(seq), "%lld", (long long)gh_json_int_value(gh_json_get(e, "seq")));
    char *details = gh_json_dump(gh_json_get(e, "details"), 1);
    static const char *cols[] = {"time", "actor", "action", "target", "outcome"};
    csv_field(seq, 0);
    for (size_t i = 0; i < GH_ARRAY_SIZE(cols); i++)
        csv_field(gh_json_str(gh_json_get(e, cols[i]), NULL), 0);
    csv_field(details, 0);
    csv_field(gh_json_str(gh_json_get(e, "request_id"), NULL), 0);
    csv_field(gh_json_str(gh_json_get(e, "prev_hash"), NULL), 0);
    csv_field(gh_json_str(gh_json_get(e, "hash"), NULL), 1);
    free(details);
    return 0;
}

/* Exports events (jsonl or csv) and ends with the checkpoint written for the export. */
static int audit_export(struct gh_store *store, const struct export_opts *o, struct gh_err *err)
{
    if (strcmp(o->format, "jsonl") == 0) {
        struct gh_buf out = {0};
        int rc = gh_audit_export_jsonl(store, o->since, o->until, &out, err);
        if (rc == 0 && out.len)
            fwrite(out.p, 1, out.len, stdout);
        gh_buf_free(&out);
        return rc;
    }
    puts("seq,time,actor,action,target,outcome,details,request_id,prev_hash,hash");
    struct gh_audit_query q = {.since = o->since, .until = o->until};
    int rc = gh_audit_list(store, &q, on_export, (void *)o, err);
    struct gh_json *cp = rc == 0 ? gh_audit_last_checkpoint(store, err) : NULL;
    if (cp) {
        char *t = gh_json_dump(cp, 0);
        printf("# checkpoint %s\n", t);
        free(t);
        gh_json_unref(cp);
    }
    return rc;
}

/* gatehouse audit verify --file EXPORT: an export checked on its own (no store needed). */
static int audit_verify_file(const char *file)
{
    char *text = NULL;
    size_t len = 0;
    struct gh_err err = {{0}};
    if (gh_read_file(file, (size_t)1 << 30, &text, &len, &err) != 0) {
        fprintf(stderr, "gatehouse audit verify: %s\n", err.msg);
        return 1;
    }
    struct gh_audit_report r;
    gh_audit_verify_export(text, len, &r, &err);
    free(text);
    if (r.bad_seq) {
        printf("audit: %s: NOT intact: %s\n", file, r.why);
        return 1;
    }
    if (r.count == 0) {
        printf("audit: %s: no events in it\n", file);
        return 1;
    }
    printf("audit: %s: %lld event%s intact (to event %lld), head %s\n", file, (long long)r.count,
           r.count == 1 ? "" : "s", (long long)r.last_seq, r.head);
    if (r.checkpoint_seq == r.last_seq)
        printf("audit: the export ends at its checkpoint (its MAC is checked by verify -c)\n");
    else if (r.checkpoint_seq)
        printf("audit: the last checkpoint names event %lld: events after %lld are not in this export\n",
               (long long)r.checkpoint_seq, (long long)r.last_seq);
    else
        printf("audit: no checkpoint in the export\n");
    return 0;
}

static int cmd_audit(const char *sub, const char *config, const struct export_opts *xo)
{
    if (strcmp(sub, "verify") != 0 && strcmp(sub, "checkpoint") != 0 && strcmp(sub, "export") != 0) {
        fprintf(stderr, "gatehouse audit: expected verify, checkpoint or export [--since T] [--until T] "
                        "[--format jsonl|csv], with -c gatehouse.yaml\n");
        return 2;
    }
    if ((xo->since && !gh_audit_valid_time(xo->since)) || (xo->until && !gh_audit_valid_time(xo->until))) {
        fprintf(stderr, "gatehouse audit: --since/--until take YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ\n");
        return 2;
    }
    if (strcmp(xo->format, "jsonl") != 0 && strcmp(xo->format, "csv") != 0) {
        fprintf(stderr, "gatehouse audit: --format is jsonl or csv\n");
        return 2;
    }
    struct gh_snapshot *snap;
    struct gh_store *store;
    if (open_store_from(config, &snap, &store))
        return 1;
    struct gh_err err = {{0}};
    unsigned char *key = NULL;
    size_t keylen = 0;
    int verify = sub[0] == 'v', exit_code = 0;
    int rc = checkpoint_key(snap->cfg, store, !verify, &key, &keylen, &err);
    if (rc == 0 && sub[0] == 'e') {
        /* the export ends with a checkpoint of the head, so a later cut is evident */
        rc = gh_audit_checkpoint(store, key, keylen, &err);
        if (rc == 0)
            rc = audit_export(store, xo, &err);
        verify = -1;
    }
    if (verify && rc != 0 && rc != GH_EIO) {
        /* no key or no checkpoint key yet: the chain alone, saying so */
        fprintf(stderr, "gatehouse audit verify: checkpoints not checked: %s\n", err.msg);
        rc = 0;
    }
    if (verify < 0) {
        /* exported */
    } else if (rc == 0 && !verify) {
        rc = gh_audit_checkpoint(store, key, keylen, &err);
        if (rc == 0)
            printf("audit: checkpoint written\n");
    } else if (rc == 0) {
        struct gh_audit_report r;
        rc = gh_audit_verify(store, key, keylen, &r, &err);
        if (rc == 0 && r.bad_seq) {
            printf("audit: NOT intact: %s\n", r.why);
            exit_code = 1;
        } else if (rc == 0) {
            printf("audit: %lld event%s intact, head %s, %lld checkpoint%s\n", (long long)r.count,
                   r.count == 1 ? "" : "s", r.count ? r.head : "-", (long long)r.checkpoints,
                   r.checkpoints == 1 ? "" : "s");
        }
    }
    if (rc) {
        fprintf(stderr, "gatehouse audit %s: %s\n", sub, err.msg);
        exit_code = 1;
    }
    gh_secret_wipe(key, keylen);
    gh_store_close(store);
    gh_snapshot_unref(snap);
    return exit_code;
}

/* ---- applications, keys, grants ---- */

static int on_row_print(void *ctx, const struct gh_store_val *c, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        if (c[i].type == GH_VAL_INT)
            printf("%s%lld", i ? "  " : "", (long long)c[i].i);
        else
            printf("%s%.*s", i ? "  " : "", (int)c[i].len, c[i].p ? c[i].p : "");
    }
    putchar('\n');
    return 0;
}

static const char *opt(int argc, char **argv, const char *name)
{
    for (int i = 3; i + 1 < argc; i++)
        if (argv[i] != NULL && strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

/* gatehouse apps|keys|grants SUB -c FILE [options] [ID] */
/* gatehouse access explain: the person as the catalog knows them, the rules as configured. */
static int access_explain(const struct gh_config *cfg, struct gh_store *store, const char *user,
                          const char *api, const char *plan, struct gh_err *err)
{
    struct gh_actor who = {0};
    int rc = gh_access_person(store, cfg, user, &who, err);
    if (rc)
        return rc;
    struct gh_json *out = NULL;
    rc = gh_access_explain(store, cfg, &who, api, plan, &out, err);
    gh_actor_clear(&who);
    if (rc)
        return rc;
    printf("%s asking for %s on %s:\n", gh_json_str(gh_json_get(out, "requester"), NULL), plan,
           gh_json_str(gh_json_get(out, "api"), NULL));
    const struct gh_json *sk = gh_json_get(out, "skipped");
    for (size_t i = 0; i < gh_json_size(sk); i++)
        printf("  %-24s no: %s\n", gh_json_str(gh_json_get(gh_json_at(sk, i), "rule"), NULL),
               gh_json_str(gh_json_get(gh_json_at(sk, i), "reason"), NULL));
    int64_t max = gh_json_int_value(gh_json_get(out, "maxDurationSeconds"));
    printf("  %-24s decides: %s", gh_json_str(gh_json_get(out, "rule"), NULL),
           gh_json_str(gh_json_get(out, "decide"), NULL));
    if (max)
        printf(" (at most %lld days)", (long long)(max / 86400));
    printf("\n");
    gh_json_unref(out);
    return 0;
}

static int cmd_access(int argc, char **argv)
{
    const char *what = argv[1], *sub = argc > 2 ? argv[2] : "", *config = opt(argc, argv, "-c");
    if (config == NULL)
        config = opt(argc, argv, "--config");
    /* the one argument that is not an option or an option's value: a name or an id */
    const char *last = NULL;
    for (int i = 3; i < argc; i++) {
        if (argv[i] != NULL && argv[i][0] == '-')
            i++; /* every option here takes a value */
        else if (argv[i] != NULL && last == NULL)
            last = argv[i];
    }
    if (config == NULL) {
        fprintf(stderr, "gatehouse %s: missing -c gatehouse.yaml\n", what);
        return 2;
    }
    struct gh_snapshot *snap;
    struct gh_store *store;
    if (open_store_from(config, &snap, &store))
        return 1;
    char actor[128];
    cli_actor(actor, sizeof(actor));
    struct gh_err err = {{0}};
    int rc = 0, usage = 0;
    if (!strcmp(what, "apps") && !strcmp(sub, "create") && last && opt(argc, argv, "--owner")) {
        char id[GH_ACCESS_ID_MAX];
        rc = gh_app_create(store, actor, last, opt(argc, argv, "--owner"), id, &err);
        if (rc == 0)
            printf("%s: application %s\n", last, id);
    } else if (!strcmp(what, "apps") && !strcmp(sub, "list")) {
        printf("NAME  OWNER  CREATED  KEYS  GRANTS\n");
        rc = gh_app_list(store, on_row_print, NULL, &err);
    } else if (!strcmp(what, "keys") && !strcmp(sub, "create") && opt(argc, argv, "--app")) {
        const char *slot = opt(argc, argv, "--slot"), *e = opt(argc, argv, "--expires");
        char key[GH_KEY_LEN + 1], id[GH_KEY_ID_LEN + 1];
        uint64_t expires = 0;
        if (e && (gh_parse_duration_ms(e, &expires) != 0 || expires == 0))
            rc = gh_err_set(&err, GH_EINVAL, "--expires '%s': a duration like 90d or 12h", e);
        else
            rc = gh_key_issue(store, actor, opt(argc, argv, "--app"), slot ? slot : "primary",
                              expires ? gh_time_wall_ms() + expires : 0, key, id, &err);
        if (rc == 0) {
            /* the only time the key is ever shown */
            printf("%s\n", key);
            fprintf(stderr, "key %s (%s): shown once; only its hash is kept\n", id, slot ? slot : "primary");
            OPENSSL_cleanse(key, sizeof(key));
        }
    } else if (!strcmp(what, "keys") && !strcmp(sub, "rotate") && opt(argc, argv, "--app")) {
        struct gh_key_rotation k;
        rc = gh_key_rotate(store, actor, opt(argc, argv, "--app"), &k, &err);
        if (rc == 0) {
            printf("%s\n", k.key); /* the new secondary: the only time it is ever shown */
            fprintf(stderr, "key %s (secondary): shown once; only its hash is kept\n", k.id);
            if (k.promoted_id[0])
                fprintf(stderr, "key %s is primary now%s%s%s\n", k.promoted_id,
                        k.revoked_id[0] ? "; key " : "", k.revoked_id, k.revoked_id[0] ? " is revoked" : "");
            OPENSSL_cleanse(&k, sizeof(k));
        }
    } else if (!strcmp(what, "token") && !strcmp(sub, "create") &&
               (opt(argc, argv, "--role") || opt(argc, argv, "--user"))) {
        /* a service token has a role; a personal one acts for a person (developer unless told) */
        const char *name = opt(argc, argv, "--name"), *user = opt(argc, argv, "--user");
        const char *role = opt(argc, argv, "--role") ? opt(argc, argv, "--role") : "developer";
        char token[GH_KEY_LEN + 1], id[GH_KEY_ID_LEN + 1];
        rc = gh_token_create(store, actor, name ? name : "cli", role, user, token, id, &err);
        if (rc == 0) {
            printf("%s\n", token); /* the only time it is ever shown */
            fprintf(stderr, "token %s (%s%s%s): shown once; only its hash is kept\n", id, role,
                    user ? ", for " : "", user ? user : "");
            OPENSSL_cleanse(token, sizeof(token));
        }
    } else if (!strcmp(what, "token") && !strcmp(sub, "list")) {
        printf("ID  NAME  ROLE  USER  STATE  CREATED_BY  CREATED\n");
        rc = gh_token_list(store, on_row_print, NULL, &err);
    } else if (!strcmp(what, "keys") && !strcmp(sub, "bind") && opt(argc, argv, "--app") &&
               opt(argc, argv, "--issuer") && opt(argc, argv, "--client")) {
        /* the issuer by its name in the config, or its iss */
        const char *want = opt(argc, argv, "--issuer"), *iss = NULL;
        for (size_t i = 0; i < snap->cfg->nissuers && !iss; i++)
            if (!strcmp(snap->cfg->issuers[i].name, want) || !strcmp(snap->cfg->issuers[i].issuer, want))
                iss = snap->cfg->issuers[i].issuer;
        char id[GH_ACCESS_ID_MAX];
        rc = iss ? gh_jwt_bind(store, actor, opt(argc, argv, "--app"), iss, opt(argc, argv, "--client"), id,
                               &err)
                 : gh_err_set(&err, GH_EINVAL, "--issuer '%s': no such issuer in %s (see issuers:)", want,
                              config);
        if (rc == 0)
            printf("%s\n", id);
    } else if ((!strcmp(what, "keys") || !strcmp(what, "grants") || !strcmp(what, "token")) &&
               !strcmp(sub, "revoke") && last) {
        rc = what[0] == 'k'   ? gh_key_revoke(store, actor, last, &err)
             : what[0] == 'g' ? gh_grant_revoke(store, actor, last, &err)
                              : gh_token_revoke(store, actor, last, &err);
        if (rc == 0)
            printf("%s: revoked\n", last);
    } else if (!strcmp(what, "keys") && !strcmp(sub, "list")) {
        printf("ID  APPLICATION  SLOT  STATE  CREATED  EXPIRES  OWNER\n");
        rc = gh_key_list(store, on_row_print, NULL, &err);
    } else if (!strcmp(what, "grants") && !strcmp(sub, "create") && opt(argc, argv, "--app") &&
               opt(argc, argv, "--api") && opt(argc, argv, "--plan")) {
        uint64_t expires = 0;
        const char *e = opt(argc, argv, "--expires");
        if (e && (gh_parse_duration_ms(e, &expires) != 0 || expires == 0)) {
            rc = gh_err_set(&err, GH_EINVAL, "--expires '%s': a duration like 30d or 12h", e);
        } else {
            char id[GH_ACCESS_ID_MAX];
            rc = gh_grant_create(store, actor, snap->cfg, opt(argc, argv, "--app"), opt(argc, argv, "--api"),
                                 opt(argc, argv, "--plan"), expires ? gh_time_wall_ms() + expires : 0, id,
                                 &err);
            if (rc == 0)
                printf("%s\n", id);
        }
    } else if (!strcmp(what, "grants") && !strcmp(sub, "list")) {
        printf("ID  APPLICATION  API  PLAN  STATE  EXPIRES  OWNER\n");
        rc = gh_grant_list(store, on_row_print, NULL, &err);
    } else if (!strcmp(what, "access") && !strcmp(sub, "explain") && opt(argc, argv, "--user") &&
               opt(argc, argv, "--api") && opt(argc, argv, "--plan")) {
        rc = access_explain(snap->cfg, store, opt(argc, argv, "--user"), opt(argc, argv, "--api"),
                            opt(argc, argv, "--plan"), &err);
    } else {
        usage = 1;
        fprintf(
            stderr,
            "gatehouse %s: expected\n"
            "  apps create NAME --owner REF | apps list\n"
            "  keys create --app NAME [--slot primary|secondary] | keys rotate --app NAME | keys revoke "
            "KEY_ID |\n"
            "  keys list\n"
            "  keys bind --app NAME --issuer ISSUER --client CLIENT_ID   (a JWT client acts for the app)\n"
            "  grants create --app NAME --api API --plan PLAN [--expires 30d] | grants revoke ID | "
            "grants list\n"
            "  access explain --user USER --api API --plan PLAN   (which access rule decides, and why)\n"
            "each with -c gatehouse.yaml\n",
            what);
    }
    if (rc)
        fprintf(stderr, "gatehouse %s %s: %s\n", what, sub, err.msg);
    gh_store_close(store);
    gh_snapshot_unref(snap);
    return usage ? 2 : rc ? 1 : 0;
}

static int cmd_catalog(int argc, char **argv)
{
    /* gatehouse catalog <sub> [-c file] args... */
    if (argc < 3) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[2], *config = NULL;
    char *rest[256];
    int n = 0;
    for (int i = 3; i < argc && n < 256; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            config = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            config = argv[i] + 9;
        else
            rest[n++] = argv[i];
    }
    if (strcmp(sub, "validate") == 0 && n > 0)
        return cmd_catalog_validate(n, rest);
    if ((strcmp(sub, "import") == 0 && n > 0) || (strcmp(sub, "get") == 0 && n == 1)) {
        if (config == NULL) {
            fprintf(stderr, "gatehouse catalog %s: missing -c gatehouse.yaml (it names the store)\n", sub);
            return 2;
        }
        return sub[0] == 'i' ? cmd_catalog_import(config, n, rest) : cmd_catalog_get(config, rest[0]);
    }
    fprintf(stderr,
            "gatehouse catalog: expected validate PATH..., import -c FILE PATH... or get -c FILE REF\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    gh_child_set_self(argv[0]);
    signal(SIGPIPE, SIG_IGN); /* a write to a closed pipe or socket is an error to handle, not a death */
    if (strcmp(cmd, "__yaml-check") == 0 && argc == 3)
        return cmd_yaml_check(argv[2]);
    if (strcmp(cmd, "__yaml-json") == 0 && argc == 3)
        return gh_child_yaml_json_main(argv[2]);
    if (strcmp(cmd, "__yaml-json-many") == 0 && argc == 3)
        return gh_child_yaml_many_main();
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("gatehouse %s\n", GH_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "catalog") == 0)
        return cmd_catalog(argc, argv);
    if (strcmp(cmd, "apps") == 0 || strcmp(cmd, "keys") == 0 || strcmp(cmd, "grants") == 0 ||
        strcmp(cmd, "token") == 0 || strcmp(cmd, "access") == 0)
        return cmd_access(argc, argv);
    if ((strcmp(cmd, "secrets") == 0 || strcmp(cmd, "audit") == 0) && argc >= 3) {
        const char *config = NULL, *from_file = NULL, *file = NULL;
        struct export_opts xo = {NULL, NULL, "jsonl"};
        char *rest[8];
        int n = 0;
        for (int i = 3; i < argc; i++) {
            if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
                config = argv[++i];
            else if (strcmp(argv[i], "--from-file") == 0 && i + 1 < argc)
                from_file = argv[++i];
            else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
                xo.since = argv[++i];
            else if (strcmp(argv[i], "--until") == 0 && i + 1 < argc)
                xo.until = argv[++i];
            else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
                xo.format = argv[++i];
            else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
                file = argv[++i];
            else if (n < 8)
                rest[n++] = argv[i];
        }
        if (cmd[0] == 'a' && strcmp(argv[2], "verify") == 0 && file && config == NULL && n == 0)
            return audit_verify_file(file);
        if (config == NULL) {
            fprintf(stderr,
                    "gatehouse %s: missing -c gatehouse.yaml (it names the store and the master key)\n", cmd);
            return 2;
        }
        if (cmd[0] == 'a')
            return n ? 2 : cmd_audit(argv[2], config, &xo);
        return cmd_secrets(argv[2], config, n, rest, from_file);
    }
    if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "check") == 0 || strcmp(cmd, "apply") == 0) {
        const char *path = config_arg(argc, argv);
        if (path == NULL) {
            fprintf(stderr, "gatehouse %s: missing -c gatehouse.yaml\n", cmd);
            return 2;
        }
        return strcmp(cmd, "serve") == 0   ? cmd_serve(path)
               : strcmp(cmd, "apply") == 0 ? cmd_apply(path)
                                           : cmd_check(path);
    }
    fprintf(stderr, "gatehouse: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
