/* Config loader: any YAML either loads or fails with a message naming t.yaml; never crashes or leaks. */
#include "config/config.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gh_config *cfg = NULL;
    struct gh_err err = {{0}};
    int rc = gh_config_load_string("t.yaml", (const char *)data, size, &cfg, &err);
    if (rc == 0) {
        if (cfg == NULL)
            abort();
        gh_config_free(cfg);
    } else if (strncmp(err.msg, "t.yaml", 6) != 0) {
        abort();
    }
    return 0;
}
