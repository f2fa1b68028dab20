/*
 * yaml.c: libfyaml behind a small interface. Parse diagnostics are collected, not printed, so the
 * caller can report them as "file:line: message" like every other config error.
 */
#include "yaml.h"

#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

struct gh_yaml_doc {
    struct fy_document *fyd;
    char **keys; /* NUL-terminated copies of mapping keys handed out by gh_yaml_map_next */
    size_t nkeys, capkeys;
};

static int load(const char *name, const char *path, const char *text, size_t len, struct gh_yaml_doc **out,
                struct gh_err *err)
{
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = NULL;
    dcfg.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (diag == NULL)
        return gh_err_set(err, GH_ENOMEM, "%s: cannot create YAML diagnostics", name);
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG, .diag = diag};
    struct fy_document *fyd =
        path ? fy_document_build_from_file(&cfg, path) : fy_document_build_from_string(&cfg, text, len);
    if (fyd == NULL || fy_diag_got_error(diag)) {
        void *it = NULL;
        struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
        if (e != NULL)
            gh_err_set(err, GH_EINVAL, "%s:%d: invalid YAML: %s", name, e->line > 0 ? e->line : 1, e->msg); /* 1-based already */
        else
            gh_err_set(err, GH_EINVAL, "%s: cannot read or parse YAML", name);
        fy_document_destroy(fyd);
        fy_diag_unref(diag);
        return GH_EINVAL;
    }
    fy_diag_unref(diag);
    *out = gh_calloc(1, sizeof(**out));
    (*out)->fyd = fyd;
    return 0;
}

int gh_yaml_load_file(const char *path, struct gh_yaml_doc **out, struct gh_err *err)
{
    return load(path, path, NULL, 0, out, err);
}

int gh_yaml_load_string(const char *name, const char *text, size_t len, struct gh_yaml_doc **out,
                        struct gh_err *err)
{
    return load(name, NULL, text, len, out, err);
}

void gh_yaml_free(struct gh_yaml_doc *doc)
{
    if (doc == NULL)
        return;
    for (size_t i = 0; i < doc->nkeys; i++)
        free(doc->keys[i]);
    free(doc->keys);
    fy_document_destroy(doc->fyd);
    free(doc);
}

struct gh_yaml_node *gh_yaml_root(struct gh_yaml_doc *doc)
{
    return (struct gh_yaml_node *)fy_document_root(doc->fyd);
}

int gh_yaml_type(struct gh_yaml_node *n)
{
    switch (fy_node_get_type((struct fy_node *)n)) {
    case FYNT_SEQUENCE:
        return GH_YAML_SEQUENCE;
    case FYNT_MAPPING:
        return GH_YAML_MAPPING;
    default:
        return GH_YAML_SCALAR;
    }
}

int gh_yaml_line(struct gh_yaml_node *n)
{
    struct fy_token *t = fy_node_get_scalar_token((struct fy_node *)n);
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    return m ? m->line + 1 : 0;
}

char *gh_yaml_scalar_dup(struct gh_yaml_node *n)
{
    size_t len;
    if (n == NULL || !fy_node_is_scalar((struct fy_node *)n))
        return NULL;
    const char *s = fy_node_get_scalar((struct fy_node *)n, &len);
    return s ? gh_strndup(s, len) : gh_strdup("");
}

int gh_yaml_map_next(struct gh_yaml_doc *doc, struct gh_yaml_node *map, void **iter, const char **key,
                     int *key_line, struct gh_yaml_node **value)
{
    struct fy_node_pair *p = fy_node_mapping_iterate((struct fy_node *)map, iter);
    if (p == NULL)
        return 0;
    struct fy_node *k = fy_node_pair_key(p);
    char *ks = k ? gh_yaml_scalar_dup((struct gh_yaml_node *)k) : NULL;
    if (ks == NULL)
        ks = gh_strdup("?");
    if (doc->nkeys == doc->capkeys) {
        doc->capkeys = doc->capkeys ? doc->capkeys * 2 : 32;
        doc->keys = gh_realloc(doc->keys, doc->capkeys * sizeof(char *));
    }
    doc->keys[doc->nkeys++] = ks;
    *key = ks;
    *key_line = k ? gh_yaml_line((struct gh_yaml_node *)k) : 0;
    *value = (struct gh_yaml_node *)fy_node_pair_value(p);
    return 1;
}

struct gh_yaml_node *gh_yaml_seq_next(struct gh_yaml_node *seq, void **iter)
{
    return (struct gh_yaml_node *)fy_node_sequence_iterate((struct fy_node *)seq, iter);
}
