/* API keys as presented by callers: parsing never crashes, and what parses regenerates its checksum. */
#include "access/keys.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gh_str s = {(const char *)data, size};
    struct gh_err err;
    if (gh_key_parse(s, &err) == 0) {
        if (size != GH_KEY_LEN || memcmp(data, GH_KEY_PREFIX, 4) != 0)
            abort();
        unsigned char h[32];
        gh_key_hash(s, h);
    }
    return 0;
}
