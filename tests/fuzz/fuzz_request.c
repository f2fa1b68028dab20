/*
 * Request parser: never crash, never read outside the input, and every slice of a parsed head lies
 * inside it. A successful parse of a chunked request feeds the rest to the chunked decoder.
 */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

static void inside(const char *buf, size_t len, struct gh_str s)
{
    if (s.len && (s.p < buf || s.p + s.len > buf + len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size heap copy, so ASan sees any read past the end */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    struct gh_http_head h;
    int rc = gh_http_parse_request(buf, size, 4096, &h);
    if (rc > 0) {
        if ((size_t)rc > size || h.head_len != (size_t)rc)
            abort();
        inside(buf, size, h.method);
        inside(buf, size, h.target);
        if (!(h.path.len == 1 && h.path.p[0] == '*') && !(h.path.len == 1 && h.path.p[0] == '/'))
            inside(buf, size, h.path);
        inside(buf, size, h.query);
        inside(buf, size, h.host);
        for (size_t i = 0; i < h.nheaders; i++) {
            inside(buf, size, h.headers[i].name);
            inside(buf, size, h.headers[i].value);
            if (h.headers[i].name.len == 0)
                abort();
        }
        if (h.body == GH_BODY_CHUNKED) {
            struct gh_chunked c = {0};
            size_t pos = (size_t)rc;
            while (pos < size) {
                size_t used, dl;
                const char *d, *why;
                int r = gh_chunked_decode(&c, buf + pos, size - pos, &used, &d, &dl, &why);
                if (used > size - pos || (dl && (d < buf + pos || d + dl > buf + pos + used)))
                    abort();
                pos += used;
                if (r != 0 || used == 0)
                    break;
            }
        }
    } else if (rc < 0) {
        if (h.error == NULL || -rc < 400 || -rc > 505)
            abort();
    }
    free(buf);
    return 0;
}
