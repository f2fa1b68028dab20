/* The control API's handler, called directly: the loopback-only rule (no test can connect from a
 * non-loopback address on this machine), and a route through to the catalog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/service.h"
#include "config/config.h"
#include "http/http.h"
#include "portal/api.h"
#include "store/store.h"

static void call(struct gh_api *a, int loopback, const char *path, int want_status, const char *want_body)
{
    struct gh_http_head h;
    memset(&h, 0, sizeof(h));
    struct gh_preq req = {.h = &h,
                          .method = GH_METHOD_GET,
                          .path = {path, strlen(path)},
                          .query = {"", 0},
                          .loopback = loopback};
    struct gh_presp resp = {0, NULL, {0}, {0}};
    gh_api_handle(a, &req, &resp);
    if (resp.status != want_status || resp.body.p == NULL || strstr(resp.body.p, want_body) == NULL)
        fail_msg("%s: %d %s", path, resp.status, resp.body.p ? resp.body.p : "");
    gh_buf_free(&resp.body);
    gh_buf_free(&resp.headers);
}

static void test_loopback_only(void **state)
{
    (void)state;
    char dir[] = "/tmp/gh-api-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char yaml[256], db[128];
    snprintf(db, sizeof(db), "%s/t.db", dir);
    snprintf(yaml, sizeof(yaml), "store: { path: %s }\n", db);
    struct gh_config *cfg = NULL;
    struct gh_err err = {{0}};
    assert_int_equal(gh_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &err), 0);
    struct gh_store_config scfg = {cfg->store_driver, cfg->store_path};
    struct gh_store *s = NULL;
    assert_int_equal(gh_store_open(&scfg, &s, &err), 0);
    struct gh_catalog_service *svc = NULL;
    if (gh_catalog_service_start(NULL, s, cfg, &svc, &err) != 0)
        fail_msg("%s", err.msg);
    struct gh_api *a = gh_api_new(svc);
    call(a, 1, "/api/catalog/entities", 200, "[]");
    call(a, 0, "/api/catalog/entities", 403, "clients on this machine only");
    call(a, 0, "/api/search", 403, "\"NotAllowedError\"");
    call(a, 1, "/api/catalog/entities/by-name/api/default/nope", 404, "\"NotFoundError\"");
    gh_api_free(a);
    gh_catalog_service_stop(svc);
    gh_store_close(s);
    gh_config_free(cfg);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_loopback_only)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
