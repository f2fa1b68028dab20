/* For unit tests that need a fresh store: a temporary directory with a new SQLite database in it,
 * opened in setup and removed in teardown. Include after cmocka.h; uses the names dir, dbpath, db. */
#ifndef GH_TEST_STORE_FIXTURE_H
#define GH_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/store.h"

static char dir[64], dbpath[128];
static struct gh_store *db;

static int store_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gh-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(dbpath, sizeof(dbpath), "%s/t.db", dir);
    struct gh_store_config cfg = {"sqlite", dbpath};
    struct gh_err err = {{0}};
    if (gh_store_open(&cfg, &db, &err) != 0)
        fail_msg("open: %s", err.msg);
    return 0;
}

static int store_teardown(void **state)
{
    (void)state;
    gh_store_close(db);
    db = NULL;
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
