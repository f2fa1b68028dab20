/* Catalog ingestion and store: Backstage's example catalog, re-ingestion, relations, queries, search. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "catalog/db.h"
#include "catalog/ingest.h"
#include "store/store.h"

#define EXAMPLES "../shared/testdata/backstage-examples"

#include "../store_fixture.h"

#define setup store_setup
#define teardown store_teardown

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Ingests a location into the store; returns the counts, and the batch's errors as one string. */
static struct gh_catalog_counts ingest(const char *target, const char *location_id, char *errors, size_t cap)
{
    struct gh_err err = {{0}};
    char *allowed = gh_catalog_target_dir(target, &err);
    if (allowed == NULL)
        fail_msg("%s", err.msg);
    const char *dirs[] = {allowed};
    struct gh_ingest_opts o = {dirs, 1, NULL};
    struct gh_catalog_batch *b = gh_catalog_batch_new();
    gh_catalog_ingest_file(target, &o, b);
    struct gh_catalog_counts c;
    if (gh_catalog_commit(db, location_id, b, &c, &err) != 0)
        fail_msg("commit: %s", err.msg);
    if (errors) {
        size_t len = 0;
        errors[0] = '\0';
        const struct gh_json *list = gh_catalog_batch_error_list(b);
        for (size_t i = 0; i < gh_json_size(list); i++) {
            const struct gh_json *e = gh_json_at(list, i);
            len += (size_t)snprintf(errors + len, cap - len, "%s | %s\n",
                                    gh_json_str(gh_json_get(e, "source"), NULL),
                                    gh_json_str(gh_json_get(e, "message"), NULL));
            if (len >= cap)
                break;
        }
    }
    gh_catalog_batch_free(b);
    free(allowed);
    return c;
}

static void add_location(const char *target, char id[GH_LOCATION_ID_MAX])
{
    struct gh_err err = {{0}};
    int existed = -1;
    if (gh_catalog_location_add(db, "file", target, "config", id, &existed, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(existed, 0);
}

static size_t count(const char *filter)
{
    struct gh_filter f = {0};
    struct gh_err err = {{0}};
    if (filter && gh_filter_add(&f, filter, strlen(filter), &err) != 0)
        fail_msg("%s", err.msg);
    struct gh_catalog_query q = {.filter = &f};
    size_t total = 0;
    if (gh_catalog_query(db, &q, NULL, &total, &err) != 0)
        fail_msg("%s", err.msg);
    gh_filter_free(&f);
    return total;
}

static int has_relation(const char *ref, const char *type, const char *target)
{
    struct gh_err err = {{0}};
    struct gh_json *e = gh_catalog_get_by_ref(db, ref, &err);
    if (e == NULL)
        fail_msg("%s: %s", ref, err.msg);
    const struct gh_json *rels = gh_json_get(e, "relations");
    int found = 0;
    for (size_t i = 0; i < gh_json_size(rels); i++) {
        const struct gh_json *r = gh_json_at(rels, i);
        if (strcmp(gh_json_str(gh_json_get(r, "type"), NULL), type) == 0 &&
            strcmp(gh_json_str(gh_json_get(r, "targetRef"), NULL), target) == 0)
            found = 1;
    }
    gh_json_unref(e);
    return found;
}

static void test_backstage_examples(void **state)
{
    (void)state;
    char all[GH_LOCATION_ID_MAX], acme[GH_LOCATION_ID_MAX], errors[8192];
    add_location(EXAMPLES "/all.yaml", all);
    struct gh_catalog_counts c = ingest(EXAMPLES "/all.yaml", all, errors, sizeof(errors));
    /* four APIs take their definition from GitHub: each is its own error, everything else ingests */
    static const char *remote[] = {"config-schema-api.yaml", "spotify-api.yaml", "wayback-archive-api.yaml",
                                   "wayback-search-api.yaml"};
    for (size_t i = 0; i < 4; i++) {
        char want[128];
        snprintf(want, sizeof(want), "%s:", remote[i]);
        if (strstr(errors, want) == NULL)
            fail_msg("no error for %s in:\n%s", remote[i], errors);
    }
    assert_non_null(
        strstr(errors, "'https://github.com/APIs-guru/openapi-directory/blob/main/APIs/archive.org/search/"
                       "1.0.0/openapi.yaml' is a remote URL"));
    if (c.errors != 4)
        fail_msg("%zu errors:\n%s", c.errors, errors);
    /* 6 Location entities, 13 - 4 APIs, 13 components, 3 domains, 1 resource, 3 systems */
    assert_int_equal(c.added, 6 + 9 + 13 + 3 + 1 + 3);
    assert_int_equal(count("kind=location"), 6);
    assert_int_equal(count("kind=api"), 9);
    assert_int_equal(count("kind=component"), 13);
    assert_int_equal(count("kind=domain"), 3);
    assert_int_equal(count("kind=resource"), 1);
    assert_int_equal(count("kind=system"), 3);

    add_location(EXAMPLES "/acme-corp.yaml", acme);
    c = ingest(EXAMPLES "/acme-corp.yaml", acme, errors, sizeof(errors));
    if (c.errors)
        fail_msg("acme-corp errors:\n%s", errors);
    assert_int_equal(count("kind=group"), 9);
    assert_int_equal(count("kind=user"), 17);
    assert_int_equal(c.added, 2 + 9 + 17);

    /* relations, both ways, across locations */
    assert_true(has_relation("component:default/artist-lookup", "ownedBy", "group:default/team-a"));
    assert_true(has_relation("group:default/team-a", "ownerOf", "component:default/artist-lookup"));
    assert_true(has_relation("user:default/breanna.davison", "memberOf", "group:default/team-a"));
    assert_true(has_relation("group:default/team-a", "hasMember", "user:default/breanna.davison"));
    assert_true(has_relation("group:default/team-a", "childOf", "group:default/backstage"));
    assert_true(has_relation("group:default/backstage", "parentOf", "group:default/team-a"));
    assert_true(has_relation("group:default/acme-corp", "parentOf", "group:default/infrastructure"));
    assert_true(has_relation("api:default/petstore", "apiProvidedBy", "component:default/petstore"));
    assert_true(has_relation("component:default/petstore", "providesApi", "api:default/petstore"));
    assert_true(has_relation("system:default/audio-playback", "partOf", "domain:default/playback"));
    assert_true(has_relation("domain:default/playback", "hasPart", "system:default/audio-playback"));
    assert_true(
        has_relation("system:default/artist-engagement-portal", "hasPart", "resource:default/artists-db"));

    /* $text from a local file: the definition is the file's text, and its operations are indexed */
    struct gh_err err = {{0}};
    struct gh_json *api = gh_catalog_get_by_ref(db, "api:default/petstore-webhook", &err);
    assert_non_null(api);
    const char *def = gh_json_str(gh_json_get(gh_json_get(api, "spec"), "definition"), NULL);
    assert_non_null(def);
    assert_non_null(strstr(def, "webhooks:"));
    const char *managed = gh_json_str(gh_json_get(gh_json_get(gh_json_get(api, "metadata"), "annotations"),
                                                  "backstage.io/managed-by-location"),
                                      NULL);
    assert_non_null(managed);
    assert_non_null(strstr(managed, "file:/"));
    assert_non_null(strstr(managed, "/apis/petstore-webhook-api.yaml"));
    assert_non_null(gh_json_get(gh_json_get(api, "metadata"), "uid"));
    assert_non_null(gh_json_get(gh_json_get(api, "metadata"), "etag"));
    gh_json_unref(api);

    /* filters: AND within one, OR across, exists, relations, case-insensitive */
    assert_int_equal(count("kind=Component,spec.type=website"), 2);
    assert_int_equal(count("KIND=api,kind=system"), 12);
    assert_int_equal(count("relations.ownedBy=group:default/team-a"),
                     count("spec.owner=team-a") + count("spec.owner=group:default/team-a") +
                         count("spec.owner=default/team-a"));
    assert_int_equal(count("metadata.namespace=default"), 35 + 28 - 1);
    assert_int_equal(count("metadata.namespace=Development"), 1); /* a user in team-a-group.yaml */
    assert_int_equal(count("spec.memberOf"), 17);
    assert_int_equal(count("relations.notARelation=x"), 0);

    /* re-ingesting the same files changes nothing */
    c = ingest(EXAMPLES "/all.yaml", all, NULL, 0);
    assert_int_equal(c.added, 0);
    assert_int_equal(c.updated, 0);
    assert_int_equal(c.removed, 0);
    assert_int_equal(c.unchanged, 35);
    assert_int_equal(c.kept, 0);

    /* removing the location removes its entities (and their relations) */
    assert_int_equal(gh_catalog_location_remove(db, all, &err), 0);
    assert_int_equal(count("kind=component"), 0);
    assert_false(has_relation("group:default/team-a", "ownerOf", "component:default/artist-lookup"));
    assert_int_equal(count("kind=user"), 17);
    assert_int_equal(gh_catalog_location_remove(db, all, &err), GH_ENOTFOUND);
}

static const char *ONE =
    "apiVersion: backstage.io/v1alpha1\n"
    "kind: Component\n"
    "metadata:\n"
    "  name: one\n"
    "  description: first version\n"
    "spec: {type: service, lifecycle: production, owner: team-x, providesApis: [pay]}\n"
    "---\n"
    "apiVersion: backstage.io/v1alpha1\n"
    "kind: API\n"
    "metadata: {name: pay, title: Payments, tags: [billing]}\n"
    "spec: {type: openapi, lifecycle: production, owner: team-x, definition: {$text: ./pay.yaml}}\n";

static const char *PAY = "openapi: 3.0.0\n"
                         "info: {title: Payments, version: '1'}\n"
                         "paths:\n"
                         "  /payments/{id}:\n"
                         "    get: {summary: Fetch a payment by id, tags: [payments]}\n"
                         "    delete: {operationId: cancelPayment}\n"
                         "  /refunds:\n"
                         "    post: {summary: Refund a payment}\n";

static struct gh_json *get(const char *ref)
{
    struct gh_err err = {{0}};
    struct gh_json *e = gh_catalog_get_by_ref(db, ref, &err);
    if (e == NULL)
        fail_msg("%s: %s", ref, err.msg);
    return e;
}

static const char *field(const struct gh_json *e, const char *a, const char *b)
{
    return gh_json_str(gh_json_get(gh_json_get(e, a), b), NULL);
}

static void test_reingest(void **state)
{
    (void)state;
    char id[GH_LOCATION_ID_MAX], target[128], errors[4096];
    snprintf(target, sizeof(target), "%s/*.yaml", dir);
    write_file("one.yaml", ONE);
    write_file("pay.yaml", PAY);
    add_location(target, id);
    struct gh_catalog_counts c = ingest(target, id, errors, sizeof(errors));
    /* pay.yaml is also matched by the glob, but it is the API's $text definition, not an API of its own */
    assert_int_equal(c.added, 2);
    assert_int_equal(c.errors, 0);
    /* an OpenAPI document nobody uses as a definition is an API; without an owner, an error */
    write_file("lone.yaml", "openapi: 3.0.0\ninfo: {title: Lone Wolf, version: '2'}\npaths: {}\n");
    c = ingest(target, id, errors, sizeof(errors));
    assert_int_equal(c.added, 0);
    assert_non_null(strstr(
        errors, "lone.yaml:1 | api:default/lone-wolf: OpenAPI document has no owner: set info.x-owner"));
    write_file("lone.yaml",
               "openapi: 3.0.0\ninfo: {title: Lone Wolf, version: '2', x-owner: team-x}\npaths: {}\n");
    c = ingest(target, id, errors, sizeof(errors));
    assert_int_equal(c.added, 1);
    struct gh_json *lone = get("api:default/lone-wolf");
    assert_string_equal(field(lone, "spec", "owner"), "team-x");
    gh_json_unref(lone);
    struct gh_json *v1 = get("component:default/one");
    char uid[64], etag[64];
    snprintf(uid, sizeof(uid), "%s", field(v1, "metadata", "uid"));
    snprintf(etag, sizeof(etag), "%s", field(v1, "metadata", "etag"));
    gh_json_unref(v1);

    /* operations of the $text definition are searchable; a typo still finds them */
    struct gh_err err = {{0}};
    struct gh_json *hits = gh_catalog_search(db, "refund", NULL, 10, &err);
    assert_non_null(hits);
    assert_int_equal(gh_json_size(hits), 1);
    assert_string_equal(gh_json_str(gh_json_get(gh_json_at(hits, 0), "entityRef"), NULL), "api:default/pay");
    gh_json_unref(hits);
    hits = gh_catalog_search(db, "paymnets", NULL, 10, &err);
    assert_true(gh_json_size(hits) >= 1);
    gh_json_unref(hits);
    hits = gh_catalog_search(db, "pay", "component", 10, &err);
    assert_int_equal(gh_json_size(hits), 0); /* "pay" is only in the API (the component provides it) */
    gh_json_unref(hits);
    hits = gh_catalog_search(db, "first", "component", 10, &err);
    assert_int_equal(gh_json_size(hits), 1);
    gh_json_unref(hits);

    /* a change: same uid, new etag */
    char *changed = strdup(ONE);
    memcpy(strstr(changed, "first version"), "other", 5);
    write_file("one.yaml", changed);
    c = ingest(target, id, NULL, 0);
    assert_int_equal(c.updated, 1);
    assert_int_equal(c.unchanged, 2);
    struct gh_json *v2 = get("component:default/one");
    assert_string_equal(field(v2, "metadata", "uid"), uid);
    assert_string_not_equal(field(v2, "metadata", "etag"), etag);
    assert_string_equal(field(v2, "metadata", "description"), "other version");
    gh_json_unref(v2);

    /* an invalid new version never replaces the valid stored one; the error names entity and field */
    write_file("one.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: one}\n"
                           "spec: {type: service, lifecycle: production}\n---\n"
                           "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: pay}\n"
                           "spec: {type: openapi, lifecycle: production, owner: team-x, definition: x}\n");
    c = ingest(target, id, errors, sizeof(errors));
    assert_int_equal(c.kept, 1);
    assert_int_equal(c.updated, 1);
    assert_non_null(
        strstr(errors, "one.yaml:1 | component:default/one: spec.owner: is required for kind Component"));
    v2 = get("component:default/one");
    assert_string_equal(field(v2, "metadata", "description"), "other version");
    gh_json_unref(v2);

    /* the location's status keeps the errors */
    struct gh_json *loc = gh_catalog_location_get(db, id, &err);
    assert_non_null(loc);
    char *dump = gh_json_dump(loc, 1);
    assert_non_null(strstr(dump, "spec.owner: is required"));
    free(dump);
    gh_json_unref(loc);

    /* a file that no longer parses keeps everything it held */
    write_file("one.yaml", "apiVersion: [unclosed\n");
    c = ingest(target, id, errors, sizeof(errors));
    assert_int_equal(c.kept, 2);
    assert_int_equal(c.removed, 0);
    assert_non_null(strstr(errors, "one.yaml:"));

    /* an entity gone from its file is removed, with the relations it caused */
    write_file("one.yaml", "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: pay}\n"
                           "spec: {type: openapi, lifecycle: production, owner: team-x, definition: x}\n");
    c = ingest(target, id, NULL, 0);
    assert_int_equal(c.removed, 1);
    assert_int_equal(count("kind=component"), 0);
    assert_false(has_relation("api:default/pay", "apiProvidedBy", "component:default/one"));
    free(changed);
}

static void test_conflicts_and_paths(void **state)
{
    (void)state;
    char a[GH_LOCATION_ID_MAX], b[GH_LOCATION_ID_MAX], target[128], errors[4096];
    write_file(
        "a.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {owner: t}\n"
        "---\napiVersion: backstage.io/v1alpha1\nkind: Domain\nmetadata: {name: D}\nspec: {owner: u}\n");
    snprintf(target, sizeof(target), "%s/a.yaml", dir);
    add_location(target, a);
    struct gh_catalog_counts c = ingest(target, a, errors, sizeof(errors));
    assert_int_equal(c.added, 1);
    assert_non_null(
        strstr(errors, "a.yaml:6 | domain:default/d: defined again here; the first definition, at "));

    /* the same entity from another location is a conflict; the first location keeps it */
    write_file("b.yaml",
               "apiVersion: backstage.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {owner: v}\n"
               "---\napiVersion: backstage.io/v1alpha1\nkind: Domain\nmetadata:\n  name: e\n"
               "  description: {$text: ../../etc/passwd}\nspec: {owner: v}\n"
               "---\napiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: up}\n"
               "spec: {targets: [/etc/hostname, ./missing.yaml, 'https://example.com/x.yaml']}\n");
    snprintf(target, sizeof(target), "%s/b.yaml", dir);
    add_location(target, b);
    c = ingest(target, b, errors, sizeof(errors));
    assert_non_null(strstr(errors, "domain:default/d: conflict: the entity is already provided by location"));
    assert_non_null(strstr(
        errors, "domain:default/e: description: $text: '../../etc/passwd' is outside the directories"));
    assert_non_null(strstr(errors, "'/etc/hostname' is outside the directories this location may read"));
    assert_non_null(strstr(errors, "missing.yaml': No such file or directory"));
    assert_non_null(strstr(errors, "'https://example.com/x.yaml' not read: a remote URL"));
    assert_int_equal(c.added, 1); /* the Location entity */
    struct gh_json *d = get("domain:default/d");
    assert_string_equal(field(d, "spec", "owner"), "t");
    gh_json_unref(d);
}

static void test_facets_and_order(void **state)
{
    (void)state;
    char id[GH_LOCATION_ID_MAX], target[128];
    struct gh_buf y = {0};
    for (int i = 0; i < 30; i++)
        gh_buf_addf(&y,
                    "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c%02d\n"
                    "  tags: [t%d]\nspec: {type: %s, lifecycle: production, owner: team-%d}\n",
                    29 - i, i % 3, i % 2 ? "service" : "Website", i % 4);
    write_file("many.yaml", y.p);
    gh_buf_free(&y);
    snprintf(target, sizeof(target), "%s/many.yaml", dir);
    add_location(target, id);
    struct gh_catalog_counts c = ingest(target, id, NULL, 0);
    assert_int_equal(c.added, 30);

    struct gh_err err = {{0}};
    const char *keys[] = {"spec.type", "metadata.tags"};
    struct gh_json *f = gh_catalog_facets(db, NULL, keys, 2, &err);
    assert_non_null(f);
    char *dump = gh_json_dump(f, 1);
    assert_string_equal(
        dump, "{\"facets\":{\"metadata.tags\":[{\"count\":10,\"value\":\"t0\"},{\"count\":10,\"value\":"
              "\"t1\"},{\"count\":10,\"value\":\"t2\"}],\"spec.type\":[{\"count\":15,\"value\":\"Website\"},"
              "{\"count\":15,\"value\":\"service\"}]}}");
    free(dump);
    gh_json_unref(f);

    struct gh_filter flt = {0};
    assert_int_equal(gh_filter_add(&flt, "spec.type=service", 17, &err), 0);
    struct gh_catalog_query q = {
        .filter = &flt, .order_key = "metadata.name", .order_desc = 1, .offset = 2, .limit = 3};
    struct gh_json *items = NULL;
    size_t total = 0;
    if (gh_catalog_query(db, &q, &items, &total, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(total, 15);
    assert_int_equal(gh_json_size(items), 3);
    /* services are c28, c26, ... c00 (odd i): descending, skip 2 */
    assert_string_equal(field(gh_json_at(items, 0), "metadata", "name"), "c24");
    assert_string_equal(field(gh_json_at(items, 2), "metadata", "name"), "c20");
    gh_json_unref(items);
    /* ordering by a search key, and the full-text filter */
    q = (struct gh_catalog_query){.filter = &flt, .order_key = "spec.owner", .limit = 1, .text = "C0"};
    if (gh_catalog_query(db, &q, &items, &total, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(total, 5); /* c00..c08 even: 5 services */
    assert_string_equal(field(gh_json_at(items, 0), "spec", "owner"),
                        "team-1"); /* i = 29, 25, 21: i % 4 == 1 */
    gh_json_unref(items);
    gh_filter_free(&flt);
}

static void test_filter_parse(void **state)
{
    (void)state;
    struct gh_filter f = {0};
    struct gh_err err = {{0}};
    assert_int_equal(gh_filter_add(&f, "Kind=API, kind=Component ,spec.type,,metadata.name = x", 54, &err),
                     0);
    assert_int_equal(f.ngroups, 1);
    assert_int_equal(f.groups[0].nconds, 3);
    assert_string_equal(f.groups[0].conds[0].key, "kind");
    assert_int_equal(f.groups[0].conds[0].nvalues, 2);
    assert_string_equal(f.groups[0].conds[0].values[0], "api");
    assert_string_equal(f.groups[0].conds[0].values[1], "component");
    assert_true(f.groups[0].conds[1].exists);
    assert_int_equal(f.groups[0].conds[1].nvalues, 0);
    assert_string_equal(f.groups[0].conds[2].values[0], "x");
    assert_int_equal(gh_filter_add(&f, "=x", 2, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "has no key before '='"));
    assert_int_equal(f.ngroups, 1);
    assert_int_equal(gh_filter_add(&f, "", 0, &err), 0);
    assert_int_equal(f.groups[1].nconds, 0);
    for (int i = 2; i < GH_FILTER_MAX_GROUPS; i++)
        assert_int_equal(gh_filter_add(&f, "a=b", 3, &err), 0);
    assert_int_equal(gh_filter_add(&f, "a=b", 3, &err), GH_EINVAL);
    gh_filter_free(&f);
    struct gh_buf many = {0};
    for (int i = 0; i < 17; i++)
        gh_buf_addf(&many, "k%d=v,", i);
    assert_int_equal(gh_filter_add(&f, many.p, many.len, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "at most 16 keys"));
    gh_buf_free(&many);
    gh_filter_free(&f);
}

static void test_openapi(void **state)
{
    (void)state;
    struct gh_err err = {{0}};
    const char *doc =
        "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"Pet Store: v2!\",\"description\":\"Pets\","
        "\"version\":\"2.0\",\"x-owner\":\"group:pets\",\"x-system\":\"shop\"},"
        "\"paths\":{\"/pets\":{\"get\":{\"summary\":\"List\",\"tags\":[\"pets\",\"read\"]},"
        "\"parameters\":[],\"post\":{\"operationId\":\"addPet\"}}}}";
    struct gh_json *j = gh_json_parse(doc, strlen(doc), &err);
    assert_true(gh_openapi_is_document(j));
    struct gh_json *e = gh_openapi_entity(j, doc, NULL, &err);
    assert_non_null(e);
    assert_int_equal(gh_entity_check(e, NULL, &err), 0);
    assert_string_equal(field(e, "metadata", "name"), "pet-store-v2");
    assert_string_equal(field(e, "metadata", "title"), "Pet Store: v2!");
    assert_string_equal(field(e, "spec", "owner"), "group:pets");
    assert_string_equal(field(e, "spec", "system"), "shop");
    assert_string_equal(field(e, "spec", "lifecycle"), "production");
    assert_string_equal(field(e, "spec", "definition"), doc);
    gh_json_unref(e);
    struct gh_json *ops = gh_openapi_operations(j);
    char *dump = gh_json_dump(ops, 1);
    assert_string_equal(
        dump, "[{\"method\":\"GET\",\"path\":\"/pets\",\"summary\":\"List\",\"tags\":\"pets,read\"},"
              "{\"method\":\"POST\",\"path\":\"/pets\",\"summary\":\"addPet\"}]");
    free(dump);
    gh_json_unref(ops);
    gh_json_unref(j);
    j = gh_json_parse("{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"!!\"}}", 41, &err);
    assert_null(gh_openapi_entity(j, "x", "team", &err));
    assert_non_null(strstr(err.msg, "set info.x-gatehouse-name"));
    gh_json_unref(j);
    j = gh_json_parse("{\"swagger\":\"2.0\"}", 17, &err);
    assert_false(gh_openapi_is_document(j));
    gh_json_unref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backstage_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reingest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflicts_and_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_facets_and_order, setup, teardown),
        cmocka_unit_test(test_filter_parse),
        cmocka_unit_test(test_openapi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
