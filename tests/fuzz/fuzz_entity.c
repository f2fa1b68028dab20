/* Entities as the catalog receives them (a document already turned into JSON): checking never
 * crashes; a checked entity has a valid ref, and its relations come in pairs of valid refs. */
#include "base/json.h"
#include "catalog/catalog.h"

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
