/* Config loader: defaults, every key, and errors that name the line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "http/http.h"

static int load(const char *yaml, struct gh_config **cfg, struct gh_err *err)
{
    return gh_config_load_string("t.yaml", yaml, strlen(yaml), cfg, err);
}

static void test_defaults(void **state)
{
    (void)state;
    struct gh_config *cfg = NULL;
    struct gh_err err = {{0}};
    assert_int_equal(load("{}\n", &cfg, &err), 0);
    assert_string_equal(cfg->gateway_listen, "127.0.0.1:8080");
    assert_string_equal(cfg->portal_listen, "127.0.0.1:7070");
    assert_true(cfg->workers >= 1);
    assert_int_equal(cfg->header_bytes, 16384);
    assert_int_equal(cfg->body_bytes, 10 * 1024 * 1024);
    assert_int_equal(cfg->header_timeout_ms, 10000);
    assert_int_equal(cfg->idle_timeout_ms, 60000);
    assert_string_equal(cfg->access_log, "stdout");
    assert_string_equal(cfg->store_driver, "sqlite");
    /* paths in the config are relative to its directory (the test's name for it has none: the cwd) */
    char *cwd = getcwd(NULL, 0), want[4200];
    snprintf(want, sizeof(want), "%s/gatehouse.db", cwd);
    assert_string_equal(cfg->store_path, want);
    snprintf(want, sizeof(want), "%s/gatehouse.key", cwd);
    assert_string_equal(cfg->master_key_file, want);
    free(cwd);
    assert_int_equal(cfg->catalog_poll_ms, 5000);
    assert_int_equal(cfg->napis, 0);
    gh_config_free(cfg);
}

static void test_full(void **state)
{
    (void)state;
    const char *y = "listen: { gateway: \"0.0.0.0:80\", portal: \"[::1]:7070\" }\n"
                    "workers: 3\n"
                    "limits: { header_bytes: 8k, body_bytes: 1m, header_timeout: 500ms, idle_timeout: 2m, "
                    "drain_timeout: 1h }\n"
                    "upstreams: { idle_timeout: 5s, max_idle: 7 }\n"
                    "log: { access: off, level: debug }\n"
                    "apis:\n"
                    "  - name: orders\n"
                    "    route: { path: /orders/, hosts: [\"API.example\", \"*\"], methods: [GET, PATCH] }\n"
                    "    upstream: { targets: [\"http://127.0.0.1:9001\", \"http://localhost:9002/base\"], "
                    "connect_timeout: 250ms, timeout: 3s }\n"
                    "    strip_prefix: true\n";
    struct gh_config *cfg = NULL;
    struct gh_err err = {{0}};
    assert_int_equal(load(y, &cfg, &err), 0);
    assert_string_equal(cfg->portal_listen, "[::1]:7070");
    assert_int_equal(cfg->workers, 3);
    assert_int_equal(cfg->header_bytes, 8192);
    assert_int_equal(cfg->body_bytes, 1 << 20);
    assert_int_equal(cfg->header_timeout_ms, 500);
    assert_int_equal(cfg->idle_timeout_ms, 120000);
    assert_int_equal(cfg->drain_timeout_ms, 3600000);
    assert_int_equal(cfg->upstream_idle_timeout_ms, 5000);
    assert_int_equal(cfg->upstream_max_idle, 7);
    assert_string_equal(cfg->access_log, "off");
    assert_int_equal(cfg->log_level, GH_LOG_DEBUG);
    assert_int_equal(cfg->napis, 1);
    const struct gh_config_api *a = &cfg->apis[0];
    assert_string_equal(a->name, "orders");
    assert_string_equal(a->path, "/orders"); /* trailing slash dropped */
    assert_int_equal(a->nhosts, 2);
    assert_string_equal(a->hosts[0], "api.example"); /* lower-cased */
    assert_int_equal(a->methods, (1u << GH_METHOD_GET) | (1u << GH_METHOD_PATCH));
    assert_int_equal(a->ntargets, 2);
    assert_int_equal(a->connect_timeout_ms, 250);
    assert_int_equal(a->timeout_ms, 3000);
    assert_true(a->strip_prefix);
    gh_config_free(cfg);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *msg;
    } cases[] = {
        {"nope: 1\n", "t.yaml:1: nope: unknown key"},
        {"\n\nlimits:\n  idle_timeout: 0s\n", "t.yaml:4: limits.idle_timeout: '0s' is not a duration"},
        {"limits:\n  idle_timeout: 5x\n", "t.yaml:2: limits.idle_timeout: '5x' is not a duration"},
        {"limits: []\n", "t.yaml:1: limits: must be a mapping"},
        {"workers: [1]\n", "t.yaml:1: workers: must be a single value"},
        {"workers: 2k\n", "t.yaml:1: workers: '2k' must be a whole number from 1 to 256"},
        {"upstreams: { max_idle: -1 }\n", "t.yaml:1: upstreams.max_idle: '-1' must be a whole number"},
        {"log: { level: loud }\n", "t.yaml:1: log.level: 'loud' must be error, warn, info or debug"},
        {"apis:\n  - name: a\n    route: { path: /a, hosts: [\"*.example\"] }\n",
         "t.yaml:3: apis.a.route.hosts: '*.example': only \"*\" on its own matches any host"},
        {"apis:\n  - name: a\n    route: { path: /a }\n", "t.yaml:2: apis.a: upstream is required"},
        {"apis:\n  - name: a\n    upstream: { targets: [\"http://x\"] }\n",
         "t.yaml:2: apis.a: route is required"},
        {"apis:\n  - name: a\n    route: { path: \"/a/../b\" }\n",
         "t.yaml:3: apis.a.route.path: '/a/../b' must be"},
        {"apis:\n  - name: a\n    route: { path: /a }\n    upstream: { targets: [\"http://u@x\"] }\n",
         "t.yaml:4: apis.a.upstream.targets: 'http://u@x' must be http://host[:port][/path] (no query"},
        {"apis:\n  - name: a\n    extra: 1\n", "t.yaml:3: apis.a.extra: unknown key"},
        {"store:\n  driver: sqlite\n  file: x.db\n",
         "t.yaml:3: store.file: unknown key (expected driver, path)"},
        {"store: { path: \"\" }\n", "t.yaml:1: store.path: must not be empty"},
        {"workers: 1\n%YAML 1.2\n", "t.yaml:2: invalid YAML: directives"},
        {"workers: 1\nx: \x1e\n", "t.yaml:2: invalid YAML: control character 0x1e"},
        {"x: \xc3\x28\n", "t.yaml:1: invalid YAML: not valid UTF-8"},
        {"x: \xed\xa0\x80\n", "t.yaml:1: invalid YAML: not valid UTF-8"}, /* a UTF-16 surrogate */
        {"x: \xc0\xaf\n", "t.yaml:1: invalid YAML: not valid UTF-8"},     /* overlong '/' */
        {"a: [1,\n", "t.yaml:2: invalid YAML: "},
        {"access: { reminders: [3d, 14d] }\n",
         "t.yaml:1: access.reminders: '14d': list the reminders longest"},
        {"access: { reminders: [soon] }\n", "t.yaml:1: access.reminders: 'soon' is not a duration"},
        {"access: { pending_timeout: 0s }\n", "t.yaml:1: access.pending_timeout: '0s' is not a duration"},
        {"access: { later: 1 }\n", "t.yaml:1: access.later: unknown key"},
        {"webhooks:\n  - name: ops\n    url: https://hooks.example.com/x\n    events: [grant.expired]\n",
         "t.yaml:2: webhooks[0]: name, url, events and secret are required"},
        {"webhooks:\n  - name: ops\n    url: https://h.example/x\n    events: [grant.gone]\n",
         "t.yaml:4: webhooks[0].events: 'grant.gone' is not an event"},
        {"webhooks:\n  - name: ops\n    url: https://h.example/x\n    secret: hunter2\n",
         "t.yaml:4: webhooks[0].secret: must be a secret:NAME reference"},
        {"webhooks:\n  - name: ops\n    url: http://169.254.169.254/\n    events: ['*']\n    secret: "
         "secret:w\n",
         "t.yaml:2: webhooks[0]: url http://169.254.169.254/: a cloud metadata address"},
        {"webhooks:\n  - name: ops\n    url: http://127.0.0.1:9/\n    events: ['*']\n    secret: secret:w\n"
         "    allow: [10.0.0.0/8]\n",
         "t.yaml:2: webhooks[0]: url http://127.0.0.1:9/: a loopback address"},
        {"webhooks:\n  - name: ops\n    url: https://h.example/x\n    allow: [nope]\n",
         "t.yaml:4: webhooks[0].allow: 'nope' is not an address block"},
        {"webhooks:\n  - {name: a, url: \"https://h.example/\", events: ['*'], secret: \"secret:w\"}\n"
         "  - {name: a, url: \"https://h.example/\", events: ['*'], secret: \"secret:w\"}\n",
         "t.yaml:3: webhooks[1]: duplicate webhook name 'a'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gh_config *cfg = NULL;
        struct gh_err err = {{0}};
        int rc = load(cases[i].yaml, &cfg, &err);
        if (rc != GH_EINVAL || strstr(err.msg, cases[i].msg) != err.msg)
            fail_msg("case %zu: rc=%d msg=%s\nwant prefix: %s", i, rc, err.msg, cases[i].msg);
        assert_null(cfg);
    }
}

static void test_workflow(void **state)
{
    (void)state;
    const char *y =
        "access:\n  reminders: [7d, 1h]\n  pending_timeout: 3d\n  sweep_interval: 5s\n"
        "webhooks:\n  - name: ops\n    url: http://127.0.0.1:9/hook\n    events: [grant.expired, '*']\n"
        "    secret: secret:ops-hook\n    allow: [127.0.0.1/32]\n    backoff: 2s\n    max_attempts: 3\n";
    struct gh_config *cfg = NULL;
    struct gh_err err = {{0}};
    if (load(y, &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->nreminders, 2);
    assert_int_equal(cfg->reminders_ms[1], 3600 * 1000);
    assert_int_equal(cfg->pending_timeout_ms, 3ull * 86400 * 1000);
    assert_int_equal(cfg->sweep_interval_ms, 5000);
    assert_int_equal(cfg->nwebhooks, 1);
    assert_string_equal(cfg->webhooks[0].secret, "ops-hook");
    assert_int_equal(cfg->webhooks[0].nallow, 1);
    assert_int_equal(cfg->webhooks[0].backoff_ms, 2000);
    assert_int_equal(cfg->webhooks[0].max_attempts, 3);
    assert_int_equal(cfg->webhooks[0].timeout_ms, 10000);
    gh_config_free(cfg);
    /* defaults: 14, 3 and 1 days; two weeks to decide */
    assert_int_equal(load("workers: 1\n", &cfg, &err), 0);
    assert_int_equal(cfg->nreminders, 3);
    assert_int_equal(cfg->reminders_ms[0], 14ull * 86400 * 1000);
    assert_int_equal(cfg->pending_timeout_ms, 14ull * 86400 * 1000);
    gh_config_free(cfg);
}

static void test_secret_refs(void **state)
{
    (void)state;
    struct gh_config *cfg = NULL;
    struct gh_err err = {{0}};
    assert_int_equal(
        load("admin:\n  token: secret:ops.admin-token\naudit: { checkpoint_interval: off }\n", &cfg, &err),
        0);
    assert_int_equal(cfg->nsecret_refs, 1);
    assert_string_equal(cfg->secret_refs[0].name, "ops.admin-token");
    assert_string_equal(cfg->secret_refs[0].key, "admin.token");
    assert_int_equal(cfg->secret_refs[0].line, 2);
    assert_string_equal(cfg->admin_token_secret, "ops.admin-token");
    assert_int_equal(cfg->audit_checkpoint_ms, 0);
    gh_config_free(cfg);
    static const char *bad[] = {"admin: { token: hunter2 }\n", "admin: { token: \"secret:\" }\n",
                                "admin: { token: \"secret:a b\" }\n", "admin: { token: [x] }\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg = NULL;
        if (load(bad[i], &cfg, &err) != GH_EINVAL)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(err.msg, "admin.token"));
    }
    assert_int_equal(load("admin: { token: hunter2 }\n", &cfg, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "must be a secret:NAME reference"));
}

static void test_plans(void **state)
{
    (void)state;
    struct gh_config *cfg = NULL;
    struct gh_err err = {{0}};
    const char *ok = "apis:\n"
                     "  - name: pay\n"
                     "    route: { path: /pay }\n"
                     "    upstream: { targets: [\"http://127.0.0.1:9\"] }\n"
                     "    plans: [starter, gold]\n"
                     "plans:\n"
                     "  - name: starter\n"
                     "    description: Try it\n"
                     "    rate: { requests: 100, per: 1m, burst: 20 }\n"
                     "    quota: { requests: 10000, per: day }\n"
                     "  - name: gold\n"
                     "    quota: { requests: 5, per: month }\n";
    if (load(ok, &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->nplans, 2);
    assert_string_equal(cfg->plans[0].name, "starter");
    assert_int_equal(cfg->plans[0].rate_requests, 100);
    assert_int_equal(cfg->plans[0].rate_per_ms, 60000);
    assert_int_equal(cfg->plans[0].rate_burst, 20);
    assert_int_equal(cfg->plans[0].quota_requests, 10000);
    assert_int_equal(cfg->plans[0].quota_per, 1);
    assert_int_equal(cfg->plans[1].rate_requests, 0);
    assert_int_equal(cfg->plans[1].quota_per, 2);
    assert_int_equal(cfg->apis[0].nplans, 2);
    gh_config_free(cfg);
    static const struct {
        const char *yaml, *msg;
    } bad[] = {
        {"apis:\n  - name: a\n    route: { path: /a }\n    upstream: { targets: [\"http://127.0.0.1:9\"] }\n"
         "    plans: [nope]\n",
         "t.yaml:5: apis.a.plans: no plan named 'nope'"},
        {"plans:\n  - name: p\n  - name: p\n", "t.yaml:3: plans.p: duplicate plan name (also at line 2)"},
        {"plans:\n  - name: p\n    rate: { requests: 10 }\n",
         "t.yaml:3: plans[0].rate: requests and per are required"},
        {"plans:\n  - name: p\n    quota: { requests: 10, per: week }\n",
         "plans[0].quota.per: 'week' must be day or month"},
        {"plans:\n  - name: p\n    rate: { requests: 0, per: 1s }\n", "plans[0].rate.requests"},
        {"plans:\n  - description: x\n", "plans[0]: name is required"},
        {"plans:\n  - name: p\n    price: 3\n", "plans[0].price: unknown key"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg = NULL;
        if (load(bad[i].yaml, &cfg, &err) != GH_EINVAL || strstr(err.msg, bad[i].msg) == NULL)
            fail_msg("case %zu: %s", i, err.msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults), cmocka_unit_test(test_secret_refs), cmocka_unit_test(test_plans),
        cmocka_unit_test(test_full),     cmocka_unit_test(test_errors),      cmocka_unit_test(test_workflow),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
