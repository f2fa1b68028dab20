/*
 * main.c: the command line. `serve` runs both planes: gateway workers on their own threads, and the
 * control loop on this thread (portal listener, signals: SIGHUP reloads, SIGTERM/SIGINT drain).
 */
#include "base/base.h"
#include "base/child.h"
#include "config/config.h"
#include "gateway/gateway.h"
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
    fprintf(f, "Gatehouse %s: API gateway and developer portal\n\n"
               "usage:\n"
               "  gatehouse serve -c gatehouse.yaml   run the gateway and the portal\n"
               "  gatehouse check -c gatehouse.yaml   validate a config and exit (0 ok, 1 errors)\n"
               "  gatehouse --version                 print the version\n"
               "  gatehouse help                      this text\n\n"
               "signals (serve): SIGHUP reloads the config (a bad one is refused, the old one keeps\n"
               "serving); SIGTERM or SIGINT stop accepting, finish requests in flight, then exit.\n",
            GH_VERSION);
}

/* The child side: parse stdin as the config named argv[2]; say why not on stderr, exit 1. */
static int cmd_yaml_check(const char *name)
{
    gh_child_limit();
    char *buf;
    size_t len;
    struct gh_err err = {{0}};
    if (gh_read_fd(STDIN_FILENO, name, MAX_CONFIG_BYTES, &buf, &len, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
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
    if (strcmp(o->gateway_listen, n->gateway_listen) != 0 || strcmp(o->portal_listen, n->portal_listen) != 0 ||
        o->workers != n->workers || strcmp(o->store_driver, n->store_driver) != 0 ||
        strcmp(o->store_path, n->store_path) != 0)
        gh_log(GH_LOG_WARN,
               "reload: listen addresses, workers and the store change only on restart; keeping the running ones");
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
    gh_log(GH_LOG_INFO, "%s: draining requests in flight, then exiting", signum == SIGINT ? "SIGINT" : "SIGTERM");
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
    if (gh_portal_start(ctl.loop, ctl.snap->cfg->portal_listen, ctl.snap->cfg->header_bytes, gh_api_handle, ctl.api,
                        &ctl.portal, &err) != 0) {
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
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("gatehouse %s\n", GH_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "check") == 0) {
        const char *path = config_arg(argc, argv);
        if (path == NULL) {
            fprintf(stderr, "gatehouse %s: missing -c gatehouse.yaml\n", cmd);
            return 2;
        }
        return strcmp(cmd, "serve") == 0 ? cmd_serve(path) : cmd_check(path);
    }
    fprintf(stderr, "gatehouse: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
