/* Query strings and form bodies: parsing never crashes, and any value written into a page through the
 * templating carries no markup of its own. */
#include "portal/html.h"
#include "portal/internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct params *ps = calloc(1, sizeof(*ps));
    char why[200];
    if (gh__params_parse((struct gh_str){(const char *)data, size}, ps, why, sizeof(why)) == 0) {
        struct gh_buf b = {0};
        for (size_t i = 0; i < ps->n; i++)
            gh_html(&b, "<p title=\"{}\">{}<a href=\"/x?v={u}\"></a></p>", ps->v[i].name, ps->v[i].value,
                    ps->v[i].value);
        gh_buf_add(&b, "", 1);
        /* only the template's own tags and quotes remain */
        size_t lt = 0, q = 0;
        for (const char *p = b.p; p && *p; p++) {
            lt += *p == '<';
            q += *p == '"';
        }
        if (lt != 4 * ps->n || q != 4 * ps->n)
            abort();
        gh_buf_free(&b);
    }
    gh__params_free(ps);
    free(ps);
    return 0;
}
