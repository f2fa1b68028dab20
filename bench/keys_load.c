/*
 * keys_load: fills a store with N applications, each with one API key and a grant on API `bench`
 * under plan `bench`, for the key-auth benchmark -- straight into the tables in one transaction (the
 * audited path costs a transaction per change, which is right for people and far too slow for a
 * million rows). Writes the keys (one per line) and the maps nginx and HAProxy need to do the same
 * job: key -> application.
 *
 *   keys_load STORE N KEYS_FILE NGINX_MAP HAPROXY_MAP
 */
#include "access/keys.h"
#include "base/base.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: keys_load STORE N KEYS_FILE NGINX_MAP HAPROXY_MAP\n");
        return 2;
    }
    long n = strtol(argv[2], NULL, 10);
    struct gh_store_config sc = {"sqlite", argv[1]};
    struct gh_store *s = NULL;
    struct gh_err err = {{0}};
    if (gh_store_open(&sc, &s, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    FILE *keys = fopen(argv[3], "w"), *nm = fopen(argv[4], "w"), *hm = fopen(argv[5], "w");
    if (!keys || !nm || !hm) {
        perror("keys_load");
        return 1;
    }
    char when[40];
    gh_time_rfc3339(gh_time_wall_ms(), when, sizeof(when));
    int rc = gh_store_begin(s, &err);
    for (long i = 0; i < n && rc == 0; i++) {
        char app[40], key[GH_KEY_LEN + 1], id[GH_KEY_ID_LEN + 1], grant[40], hex[65], name[32];
        unsigned char h[32];
        snprintf(app, sizeof(app), "app_%024lx", i);
        snprintf(grant, sizeof(grant), "grant_%024lx", i);
        snprintf(name, sizeof(name), "bench-%ld", i);
        if (gh_key_generate(key) != 0)
            return 1;
        gh_key_id((struct gh_str){key, GH_KEY_LEN}, id);
        gh_key_hash((struct gh_str){key, GH_KEY_LEN}, h);
        for (int j = 0; j < 32; j++)
            snprintf(hex + 2 * j, 3, "%02x", h[j]);
        struct gh_store_val a[] = {GH_VTEXT(app), GH_VTEXT(name), GH_VTEXT(when)};
        struct gh_store_val k[] = {GH_VTEXT(id), GH_VTEXT(app), GH_VTEXT(hex), GH_VTEXT(when)};
        struct gh_store_val g[] = {GH_VTEXT(grant), GH_VTEXT(app), GH_VTEXT(when)};
        rc = gh_store_exec(s, "INSERT INTO applications (id, name, owner, created_at) VALUES ($1, $2, 'group:default/bench', $3)",
                           a, 3, NULL, NULL, &err);
        if (rc == 0)
            rc = gh_store_exec(s,
                               "INSERT INTO credentials (id, app_id, kind, slot, hash, state, created_at, changed) "
                               "VALUES ($1, $2, 'key', 'primary', $3, 'active', $4, 1)",
                               k, 4, NULL, NULL, &err);
        if (rc == 0)
            rc = gh_store_exec(s,
                               "INSERT INTO grants (id, app_id, api, plan, state, created_at, changed) "
                               "VALUES ($1, $2, 'bench', 'bench', 'active', $3, 1)",
                               g, 3, NULL, NULL, &err);
        fprintf(keys, "%s\n", key);
        fprintf(nm, "%s %s;\n", key, app);
        fprintf(hm, "%s %s\n", key, app);
    }
    if (rc == 0)
        rc = gh_store_exec(s, "INSERT INTO gh_meta (key, value) VALUES ('access_generation', '1') "
                              "ON CONFLICT (key) DO UPDATE SET value = '1'",
                           NULL, 0, NULL, NULL, &err);
    if (rc == 0)
        rc = gh_store_commit(s, &err);
    if (rc) {
        fprintf(stderr, "keys_load: %s\n", err.msg);
        return 1;
    }
    fclose(keys);
    fclose(nm);
    fclose(hm);
    gh_store_close(s);
    return 0;
}
