/* Entities as the catalog receives them (a document already turned into JSON): checking never
 * crashes; a checked entity has a valid ref, and its relations come in pairs of valid refs. A
 * document that is an OpenAPI description goes the way ingestion takes it: operations, and an API
 * entity that must pass the same check. (The YAML before this runs in a child process: fuzz_yaml.) */
#include "base/json.h"
#include "catalog/catalog.h"
#include "catalog/ingest.h"

#include <stdlib.h>
#include <string.h>

static int on_relation(void *ctx, const char *source, const char *type, const char *target)
{
    (void)type;
    size_t *n = ctx;
    struct gh_entity_ref r;
    if (gh_catalog_parse_ref((struct gh_str){source, strlen(source)}, NULL, NULL, &r, NULL) != 0 ||
        gh_catalog_parse_ref((struct gh_str){target, strlen(target)}, NULL, NULL, &r, NULL) != 0)
        abort();
    (*n)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gh_json *e = gh_json_parse((const char *)data, size, NULL);
    if (e == NULL)
        return 0;
    struct gh_entity_ref ref;
    struct gh_err err;
    if (gh_openapi_is_document(e)) {
        struct gh_json *ops = gh_openapi_operations(e);
        if (gh_json_type(ops) != GH_JSON_ARRAY)
            abort();
        gh_json_unref(ops);
        struct gh_json *api = gh_openapi_entity(e, "openapi: 3.0.0", "team", &err);
        /* what we make from a document is a valid entity, but for the owner, system and lifecycle
         * the document names (x-owner, x-system, x-lifecycle), which the check reports */
        if (api && gh_entity_check(api, &ref, &err) != 0 && strstr(err.msg, ": spec.") == NULL)
            abort();
        gh_json_unref(api);
    }
    if (gh_entity_check(e, &ref, &err) == 0) {
        char s[GH_ENTITY_REF_MAX];
        size_t n = gh_catalog_ref_string(&ref, s, sizeof(s));
        if (gh_catalog_parse_ref((struct gh_str){s, n}, NULL, NULL, &ref, NULL) != 0)
            abort();
        size_t rels = 0;
        gh_entity_relations(e, on_relation, &rels);
        if (rels % 2)
            abort();
        /* checking is idempotent */
        if (gh_entity_check(e, NULL, &err) != 0)
            abort();
    }
    gh_json_unref(e);
    return 0;
}
