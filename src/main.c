/*
 * main.c: the command line. `serve` runs both planes: gateway workers on their own threads, and the
 * control loop on this thread (portal listener, signals: SIGHUP reloads, SIGTERM/SIGINT drain).
 */
#include "base/base.h"
#include "base/child.h"
#include "config/config.h"
#include "gateway/gateway.h"
#include "base/json.h"
#include "catalog/ingest.h"
#include "catalog/service.h"
#include "portal/api.h"
#include "portal/portal.h"
#include "store/store.h"

#include <errno.h>
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
    uint64_t generation;
    int draining;
};

static void usage(FILE *f)
{
    fprintf(f,
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
    gh_snapshot_unref(ctl->snap);
    ctl->snap = snap;
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
    if (gh_gateway_start(ctl.snap, &ctl.gateway, &err) != 0) {
        gh_log(GH_LOG_ERROR, "listen.gateway: %s", err.msg);
        gh_catalog_service_stop(ctl.catalog);
        uv_run(ctl.loop, UV_RUN_NOWAIT);
        gh_api_free(ctl.api);
        gh_store_close(ctl.store);
        return 1;
    }
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
    gh_log(GH_LOG_INFO, "gatehouse %s ready (config %s, %zu API%s)", GH_VERSION, path, ctl.snap->napis,
           ctl.snap->napis == 1 ? "" : "s");
    uv_run(ctl.loop, UV_RUN_DEFAULT);
    gh_gateway_join(ctl.gateway);
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
