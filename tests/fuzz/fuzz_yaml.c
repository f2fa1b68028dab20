/* YAML streams to JSON: never crash, hang or leak; every document either converts or fails with a
 * message naming the input. */
#include "base/json.h"
#include "base/yaml.h"

#include <stdlib.h>
#include <string.h>

static int on_doc(void *ctx, struct gh_yaml_doc *doc, int index)
{
    (void)ctx;
    (void)index;
    struct gh_err err = {{0}};
    struct gh_json *j = gh_yaml_to_json(gh_yaml_root(doc), "f.yaml", &err);
    if (j == NULL) {
        if (strncmp(err.msg, "f.yaml", 6) != 0)
            abort();
        return 0;
    }
    char *s = gh_json_dump(j, 0);
    free(s);
    gh_json_unref(j);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    struct gh_err err = {{0}};
    if (gh_yaml_load_stream("f.yaml", buf, size, on_doc, NULL, &err) != 0 &&
        strncmp(err.msg, "f.yaml", 6) != 0)
        abort();
    free(buf);
    return 0;
}
