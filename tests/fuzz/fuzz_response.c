/*
 * Response parser and chunked decoder: never crash; malformed input is always -502; the decoder
 * fed one byte at a time yields the same body as fed all at once.
 */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

static size_t decode(const char *buf, size_t size, size_t step, char *out, int *result)
{
    struct gh_chunked c = {0};
    size_t pos = 0, o = 0;
    *result = 0;
    while (pos < size) {
        size_t avail = size - pos < step ? size - pos : step, used, dl;
        const char *d, *why;
        int r = gh_chunked_decode(&c, buf + pos, avail, &used, &d, &dl, &why);
        if (used > avail)
            abort();
        if (dl) {
            memcpy(out + o, d, dl);
            o += dl;
        }
        pos += used;
        if (r != 0) {
            *result = r;
            break;
        }
        if (used == 0 && avail == size - pos)
            break;
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    struct gh_http_head h;
    int method = data[0] % GH_METHOD_COUNT_;
    int rc = gh_http_parse_response(buf, size - 1, 4096, method, &h);
    if (rc < 0 && rc != -502)
        abort();
    if (rc > 0 && (h.status < 100 || h.status > 599))
        abort();
    /* the chunked decoder on the whole input, all at once and byte by byte, must agree */
    char *a = malloc(size), *b = malloc(size);
    int ra, rb;
    size_t na = decode(buf, size - 1, size, a, &ra);
    size_t nb = decode(buf, size - 1, 1, b, &rb);
    if (ra != rb || na != nb || memcmp(a, b, na) != 0)
        abort();
    free(a);
    free(b);
    free(buf);
    return 0;
}
