/* Entity references: never crash; what parses has valid parts and a canonical form that parses back
 * to the same canonical form. */
#include "catalog/catalog.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    struct gh_entity_ref r, r2;
    struct gh_err err;
    if (gh_catalog_parse_ref((struct gh_str){buf, size}, size % 2 ? "Component" : NULL, NULL, &r, &err) ==
        0) {
        char a[256], b[256];
        if (!gh_catalog_valid_name((struct gh_str){r.name, strlen(r.name)}) ||
            !gh_catalog_valid_kind((struct gh_str){r.kind, strlen(r.kind)}))
            abort();
        size_t n = gh_catalog_ref_string(&r, a, sizeof(a));
        if (n >= sizeof(a) || gh_catalog_parse_ref((struct gh_str){a, n}, NULL, NULL, &r2, &err) != 0)
            abort();
        gh_catalog_ref_string(&r2, b, sizeof(b));
        if (strcmp(a, b) != 0)
            abort();
    }
    free(buf);
    return 0;
}
