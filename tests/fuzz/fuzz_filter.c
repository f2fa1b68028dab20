/* The catalog filter parser (Backstage's filter syntax): never crash, stay within its bounds, and what
 * it accepts is lower case with non-empty keys. */
#include "catalog/catalog.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gh_filter *f = calloc(1, sizeof(*f));
    struct gh_err err;
    /* each NUL-separated part is one `filter` parameter */
    const char *p = (const char *)data, *end = p + size;
    for (;;) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);
        size_t before = f->ngroups;
        int rc = gh_filter_add(f, p, n, &err);
        if ((rc == 0) != (f->ngroups == before + 1) || f->ngroups > GH_FILTER_MAX_GROUPS)
            abort();
        if (nul == NULL)
            break;
        p = nul + 1;
    }
    for (size_t g = 0; g < f->ngroups; g++)
        for (size_t c = 0; c < f->groups[g].nconds; c++) {
            const struct gh_filter_cond *k = &f->groups[g].conds[c];
            if (k->key[0] == '\0' || (!k->exists && k->nvalues == 0))
                abort();
            for (const char *s = k->key; *s; s++)
                if (*s >= 'A' && *s <= 'Z')
                    abort();
        }
    gh_filter_free(f);
    free(f);
    return 0;
}
