/*
 * yaml.c: libfyaml behind a small interface. Parse diagnostics are collected, not printed, so the
 * caller can report them as "file:line: message" like every other config error.
 */
#include "yaml.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gh_yaml_doc {
    struct fy_document *fyd;
    char **keys; /* NUL-terminated copies of mapping keys handed out by gh_yaml_map_next */
    char *text;  /* the file's bytes, when loaded from a file (owned) */
    size_t nkeys, capkeys;
};

/*
 * libfyaml 0.7's collect-errors mode leaks its list (seen under LeakSanitizer), so diagnostics are
 * taken from the output callback instead: the first error-level message, with its position.
 */
struct diag_capture {
    char text[384];
    int have;
};

static void on_diag(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    struct diag_capture *cap = user;
    if (cap->have || len == 0)
        return;
    cap->have = 1;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        len--;
    if (len >= sizeof(cap->text))
        len = sizeof(cap->text) - 1;
    memcpy(cap->text, buf, len);
    cap->text[len] = '\0';
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, surrogates or > U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t need;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        need = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 4, cp = c & 0x07;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return need;
}

/*
 * What libfyaml gets must be text it handles: YAML allows only valid UTF-8 and no C0 control byte but
 * TAB, LF and CR (c-printable). Directives ("%YAML", "%TAG") are refused: no Gatehouse file needs them,
 * and libfyaml 0.7.12 loops forever on some malformed ones (found by fuzz_config).
 */
static int check_text(const char *name, const char *text, size_t len, struct gh_err *err)
{
    const unsigned char *p = (const unsigned char *)text;
    int line = 1, bol = 1;
    for (size_t i = 0; i < len;) {
        unsigned char ch = p[i];
        if (bol && ch == '%')
            return gh_err_set(err, GH_EINVAL, "%s:%d: invalid YAML: directives (%%YAML, %%TAG) are not supported",
                              name, line);
        bol = ch == '\n';
        if (ch == '\n')
            line++;
        if ((ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n') || ch == 0x7f)
            return gh_err_set(err, GH_EINVAL, "%s:%d: invalid YAML: control character 0x%02x", name, line, ch);
        size_t n = utf8_len(p + i, len - i);
        if (n == 0)
            return gh_err_set(err, GH_EINVAL, "%s:%d: invalid YAML: not valid UTF-8", name, line);
        i += n;
    }
    return 0;
}

static int load(const char *name, const char *text, size_t len, struct gh_yaml_doc **out, struct gh_err *err)
{
    int rc = check_text(name, text, len, err);
    if (rc)
        return rc;
    struct diag_capture cap = {{0}, 0};
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = on_diag;
    dcfg.user = &cap;
    dcfg.level = FYET_ERROR;
    dcfg.colorize = false;
    dcfg.show_source = false;
    dcfg.show_position = true;
    dcfg.show_type = false;
    dcfg.show_module = false;
    dcfg.position_width = 0;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (diag == NULL)
        return gh_err_set(err, GH_ENOMEM, "%s: cannot create YAML diagnostics", name);
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET, .diag = diag};
    struct fy_document *fyd = fy_document_build_from_string(&cfg, text, len);
    int failed = fyd == NULL || fy_diag_got_error(diag);
    fy_diag_unref(diag);
    if (failed) {
        fy_document_destroy(fyd);
        /* the text is "<source>:<line>:<column>: error: <message>" */
        long line = 0;
        const char *msg = strstr(cap.text, "error: ");
        for (const char *c = cap.text; *c && line == 0; c++) {
            char *e1, *e2;
            if (*c != ':' || c[1] < '0' || c[1] > '9')
                continue;
            long l = strtol(c + 1, &e1, 10);
            if (*e1 == ':' && e1[1] >= '0' && e1[1] <= '9' && (strtol(e1 + 1, &e2, 10), *e2 == ':'))
                line = l;
        }
        if (line > 0 && msg != NULL)
            return gh_err_set(err, GH_EINVAL, "%s:%ld: invalid YAML: %s", name, line, msg + 7);
        return gh_err_set(err, GH_EINVAL, "%s: cannot read or parse YAML%s%s", name, cap.have ? ": " : "",
                          cap.text);
    }
    *out = gh_calloc(1, sizeof(**out));
    (*out)->fyd = fyd;
    return 0;
}

#define MAX_YAML_FILE ((size_t)16 << 20)

int gh_yaml_load_file(const char *path, struct gh_yaml_doc **out, struct gh_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return gh_err_set(err, GH_EINVAL, "%s: cannot read the file: %s", path, strerror(errno));
    size_t cap = (size_t)64 << 10, len = 0;
    char *buf = gh_malloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_YAML_FILE) {
                fclose(f);
                free(buf);
                return gh_err_set(err, GH_EINVAL, "%s: larger than %zu MiB", path, MAX_YAML_FILE >> 20);
            }
            cap *= 2;
            buf = gh_realloc(buf, cap);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return gh_err_set(err, GH_EINVAL, "%s: cannot read the file", path);
    }
    /* the document keeps pointers into its text, so the text lives as long as the document */
    int rc = load(path, buf, len, out, err);
    if (rc == 0)
        (*out)->text = buf;
    else
        free(buf);
    return rc;
}

int gh_yaml_load_string(const char *name, const char *text, size_t len, struct gh_yaml_doc **out,
                        struct gh_err *err)
{
    return load(name, text, len, out, err);
}

void gh_yaml_free(struct gh_yaml_doc *doc)
{
    if (doc == NULL)
        return;
    for (size_t i = 0; i < doc->nkeys; i++)
        free(doc->keys[i]);
    free(doc->keys);
    fy_document_destroy(doc->fyd);
    free(doc->text);
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
