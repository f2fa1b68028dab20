/*
 * html.c: see html.h.
 */
#include "html.h"

#include "../base/fetch.h"

#include <stdarg.h>
#include <string.h>

void gh_html(struct gh_buf *b, const char *tpl, ...)
{
    va_list ap;
    va_start(ap, tpl);
    const char *p = tpl;
    while (*p) {
        const char *brace = strchr(p, '{');
        if (brace == NULL) {
            gh_buf_adds(b, p);
            break;
        }
        gh_buf_add(b, p, (size_t)(brace - p));
        if (brace[1] == '{') {
            gh_buf_add(b, "{", 1);
            p = brace + 2;
            continue;
        }
        const char *close = strchr(brace, '}');
        size_t kind = close ? (size_t)(close - brace - 1) : 99;
        if (kind > 1) {
            gh_buf_adds(b, "{?}");
            p = close ? close + 1 : brace + 1;
            continue;
        }
        /* started above; the analyzer loses track of it across the loop */
        const char *arg = va_arg(ap, const char *); // NOLINT(clang-analyzer-valist.Uninitialized)
        if (arg == NULL)
            arg = "";
        if (kind == 0) {
            gh_buf_add_html(b, arg);
        } else if (brace[1] == '!') {
            gh_buf_adds(b, arg);
        } else if (brace[1] == 'u') {
            struct gh_buf enc = {0};
            gh_url_encode(&enc, arg);
            gh_buf_add(&enc, "", 1);
            gh_buf_add_html(b, enc.p);
            gh_buf_free(&enc);
        } else {
            gh_buf_adds(b, "{?}");
        }
        p = close + 1;
    }
    va_end(ap);
}
