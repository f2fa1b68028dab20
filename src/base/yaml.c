/*
 * yaml.c: libfyaml behind a small interface. Parse diagnostics are collected, not printed, so the
 * caller can report them as "file:line: message" like every other config error.
 */
#include "yaml.h"

#include "json.h"

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
    int line; /* where the document starts in its stream */
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
    if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
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
            return gh_err_set(err, GH_EINVAL,
                              "%s:%d: invalid YAML: directives (%%YAML, %%TAG) are not supported", name,
                              line);
        bol = ch == '\n';
        if (ch == '\n')
            line++;
        if ((ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n') || ch == 0x7f)
            return gh_err_set(err, GH_EINVAL, "%s:%d: invalid YAML: control character 0x%02x", name, line,
                              ch);
        size_t n = utf8_len(p + i, len - i);
        if (n == 0)
            return gh_err_set(err, GH_EINVAL, "%s:%d: invalid YAML: not valid UTF-8", name, line);
        i += n;
    }
    return 0;
}

static struct fy_diag *make_diag(struct diag_capture *cap)
{
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = on_diag;
    dcfg.user = cap;
    dcfg.level = FYET_ERROR;
    dcfg.colorize = false;
    dcfg.show_source = false;
    dcfg.show_position = true;
    dcfg.show_type = false;
    dcfg.show_module = false;
    dcfg.position_width = 0;
    return fy_diag_create(&dcfg);
}

/* Turns the captured "<source>:<line>:<column>: error: <message>" into "name:line: invalid YAML: ...". */
static int diag_error(const char *name, const struct diag_capture *cap, struct gh_err *err)
{
    long line = 0;
    const char *msg = strstr(cap->text, "error: ");
    for (const char *c = cap->text; *c && line == 0; c++) {
        char *e1, *e2;
        if (*c != ':' || c[1] < '0' || c[1] > '9')
            continue;
        long l = strtol(c + 1, &e1, 10);
        if (*e1 == ':' && e1[1] >= '0' && e1[1] <= '9' && (strtol(e1 + 1, &e2, 10), *e2 == ':'))
            line = l;
    }
    if (line > 0 && msg != NULL)
        return gh_err_set(err, GH_EINVAL, "%s:%ld: invalid YAML: %s", name, line, msg + 7);
    return gh_err_set(err, GH_EINVAL, "%s: cannot read or parse YAML%s%s", name, cap->have ? ": " : "",
                      cap->text);
}

static int load(const char *name, const char *text, size_t len, struct gh_yaml_doc **out, struct gh_err *err)
{
    int rc = check_text(name, text, len, err);
    if (rc)
        return rc;
    struct diag_capture cap = {{0}, 0};
    struct fy_diag *diag = make_diag(&cap);
    if (diag == NULL)
        return gh_err_set(err, GH_ENOMEM, "%s: cannot create YAML diagnostics", name);
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET, .diag = diag};
    struct fy_document *fyd = fy_document_build_from_string(&cfg, text, len);
    int failed = fyd == NULL || fy_diag_got_error(diag);
    fy_diag_unref(diag);
    if (failed) {
        fy_document_destroy(fyd);
        return diag_error(name, &cap, err);
    }
    *out = gh_calloc(1, sizeof(**out));
    (*out)->fyd = fyd;
    return 0;
}

/* A line starting a document marker: "---" or "..." at column 0, then a space, a tab or the line's end. */
static int marker(const char *p, const char *end, char c)
{
    return end - p >= 3 && p[0] == c && p[1] == c && p[2] == c &&
           (end - p == 3 || p[3] == ' ' || p[3] == '\t' || p[3] == '\n' || p[3] == '\r');
}

/* Nothing but blank lines and comments. */
static int blank(const char *p, size_t n)
{
    int in_comment = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\n')
            in_comment = 0;
        else if (c == '#' && !in_comment)
            in_comment = 1;
        else if (!in_comment && c != ' ' && c != '\t' && c != '\r')
            return 0;
    }
    return 1;
}

/*
 * Streams are split into documents here and each is built on its own: libfyaml 0.7.12's streaming
 * parser crashes in fy_parser_destroy after some syntax errors (found by fuzz_yaml), while its
 * single-document builder holds up. YAML forbids document markers inside any scalar, so a line-wise
 * split at markers is exact.
 */
int gh_yaml_load_stream(const char *name, const char *text, size_t len, gh_yaml_doc_fn fn, void *ctx,
                        struct gh_err *err)
{
    int rc = check_text(name, text, len, err);
    if (rc)
        return rc;
    const char *end = text + len, *p = text, *doc_start = text;
    int line = 1, doc_line = 1, index = 0;
    for (;;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        int at_end = p >= end;
        int dashes = !at_end && marker(p, end, '-'), dots = !at_end && marker(p, end, '.');
        if (at_end || dashes || dots) {
            /* the document so far is [doc_start, p) */
            size_t n = (size_t)(p - doc_start);
            if (n > 0 && !blank(doc_start, n)) {
                /* a copy: the document keeps pointers into its text; pad it so lines keep their numbers */
                char *buf = gh_malloc((size_t)(doc_line - 1) + n + 1);
                memset(buf, '\n', (size_t)(doc_line - 1));
                memcpy(buf + doc_line - 1, doc_start, n);
                if (n >= 3 && marker(buf + doc_line - 1, buf + doc_line - 1 + n, '-'))
                    memset(buf + doc_line - 1, ' ', 3); /* "--- key: v" keeps its content */
                buf[doc_line - 1 + n] = '\0';
                struct gh_yaml_doc *doc = NULL;
                rc = load(name, buf, (size_t)(doc_line - 1) + n, &doc, err);
                if (rc == 0 && doc) {
                    /* a document's line is that of its first content: after a bare "---" line */
                    const char *q = doc_start + 3;
                    int bare = marker(doc_start, doc_start + n, '-');
                    while (bare && q < doc_start + n && (*q == ' ' || *q == '\t'))
                        q++;
                    doc->line =
                        doc_line + (bare && (q == doc_start + n || *q == '\n' || *q == '\r' || *q == '#'));
                }
                if (rc == 0 && doc && gh_yaml_root(doc) != NULL)
                    rc = fn(ctx, doc, index++);
                gh_yaml_free(doc);
                free(buf);
                if (rc)
                    return rc;
            }
            if (at_end)
                break;
            /* "---" opens the next document on this line; "..." only ends this one */
            doc_start = dashes ? p : next;
            doc_line = dashes ? line : line + 1;
        }
        p = next;
        line++;
    }
    return 0;
}

/* YAML 1.2 core schema resolution of a plain scalar, as Backstage's parser does it. */
static struct gh_json *plain_scalar(const char *s, size_t n)
{
    char buf[64];
    if (n == 0 || (n == 1 && s[0] == '~') ||
        (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4))))
        return gh_json_null();
    if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4))))
        return gh_json_bool(1);
    if ((n == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5))))
        return gh_json_bool(0);
    if (n >= sizeof(buf))
        return gh_json_string(s, n);
    memcpy(buf, s, n);
    buf[n] = '\0';
    size_t i = (buf[0] == '-' || buf[0] == '+') ? 1 : 0;
    int base = 10;
    if (buf[0] == '0' && n > 2 && (buf[1] == 'x' || buf[1] == 'o'))
        base = buf[1] == 'x' ? 16 : 8, i = 2;
    size_t digits = 0, k;
    for (k = i; k < n; k++) {
        char c = buf[k];
        int ok = base == 16 ? ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
                            : (c >= '0' && c <= (base == 8 ? '7' : '9'));
        if (!ok)
            break;
        digits++;
    }
    if (digits && k == n) {
        errno = 0;
        char *end;
        long long v = strtoll(buf + (base == 10 ? 0 : 2), &end, base);
        if (errno == 0 && *end == '\0')
            return gh_json_int(v);
        if (base == 10)
            return gh_json_real(strtod(buf, NULL));
    }
    /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    k = (buf[0] == '-' || buf[0] == '+') ? 1 : 0;
    size_t int_digits = 0, frac_digits = 0;
    while (k < n && buf[k] >= '0' && buf[k] <= '9')
        k++, int_digits++;
    if (k < n && buf[k] == '.') {
        k++;
        while (k < n && buf[k] >= '0' && buf[k] <= '9')
            k++, frac_digits++;
    }
    if (int_digits + frac_digits > 0 && (int_digits > 0 || frac_digits > 0)) {
        if (k < n && (buf[k] == 'e' || buf[k] == 'E')) {
            size_t e = ++k;
            if (k < n && (buf[k] == '-' || buf[k] == '+'))
                k++, e++;
            while (k < n && buf[k] >= '0' && buf[k] <= '9')
                k++;
            if (k == e)
                return gh_json_string(s, n);
        }
        if (k == n)
            return gh_json_real(strtod(buf, NULL));
    }
    return gh_json_string(s, n); /* .inf and .nan have no JSON form: kept as text */
}

/* The line of a node: its own for a scalar, else that of the first scalar inside it. */
static int first_line(struct fy_node *n, int depth)
{
    void *it = NULL;
    if (n == NULL || depth > 64)
        return 0;
    if (fy_node_is_scalar(n))
        return gh_yaml_line((struct gh_yaml_node *)n);
    if (fy_node_is_sequence(n))
        return first_line(fy_node_sequence_iterate(n, &it), depth + 1);
    struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
    return p ? first_line(fy_node_pair_key(p), depth + 1) : 0;
}

static struct gh_json *to_json(struct fy_node *n, const char *name, int depth, struct gh_err *err)
{
    if (depth > 64) {
        gh_err_set(err, GH_EINVAL, "%s: YAML nested more than 64 levels", name);
        return NULL;
    }
    if (n == NULL)
        return gh_json_null();
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR: {
        size_t len, tl = 0;
        const char *s = fy_node_get_scalar(n, &len);
        const char *tag = fy_node_get_tag(n, &tl);
        if (fy_node_get_style(n) == FYNS_ALIAS) {
            gh_err_set(err, GH_EINVAL, "%s:%d: YAML aliases are not supported", name,
                       gh_yaml_line((struct gh_yaml_node *)n));
            return NULL;
        }
        struct gh_json *j;
        int is_str_tag = tag && ((tl == 5 && memcmp(tag, "!!str", 5) == 0) ||
                                 (tl == 21 && memcmp(tag, "tag:yaml.org,2002:str", 21) == 0));
        if (fy_node_get_style(n) == FYNS_PLAIN && !is_str_tag)
            j = plain_scalar(s ? s : "", s ? len : 0);
        else
            j = gh_json_string(s ? s : "", s ? len : 0);
        if (j == NULL)
            gh_err_set(err, GH_EINVAL, "%s:%d: text is not valid UTF-8", name,
                       gh_yaml_line((struct gh_yaml_node *)n));
        return j;
    }
    case FYNT_SEQUENCE: {
        struct gh_json *arr = gh_json_array();
        void *it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
            struct gh_json *v = to_json(item, name, depth + 1, err);
            if (v == NULL) {
                gh_json_unref(arr);
                return NULL;
            }
            gh_json_append(arr, v);
        }
        return arr;
    }
    case FYNT_MAPPING: {
        struct gh_json *obj = gh_json_object();
        void *it = NULL;
        struct fy_node_pair *p;
        while ((p = fy_node_mapping_iterate(n, &it)) != NULL) {
            struct fy_node *k = fy_node_pair_key(p);
            size_t kl;
            const char *ks = k && fy_node_is_scalar(k) ? fy_node_get_scalar(k, &kl) : NULL;
            if (ks == NULL || memchr(ks, '\0', kl)) {
                gh_err_set(err, GH_EINVAL, "%s:%d: mapping keys must be text", name, first_line(k, 0));
                gh_json_unref(obj);
                return NULL;
            }
            char *key = gh_strndup(ks, kl);
            if (fy_node_get_style(k) == FYNS_PLAIN && strcmp(key, "<<") == 0) {
                gh_err_set(err, GH_EINVAL, "%s:%d: YAML merge keys are not supported", name,
                           gh_yaml_line((struct gh_yaml_node *)k));
                free(key);
                gh_json_unref(obj);
                return NULL;
            }
            struct gh_json *v = to_json(fy_node_pair_value(p), name, depth + 1, err);
            if (v == NULL) {
                free(key);
                gh_json_unref(obj);
                return NULL;
            }
            gh_json_set(obj, key, v);
            free(key);
        }
        return obj;
    }
    }
    return gh_json_null();
}

struct gh_json *gh_yaml_to_json(struct gh_yaml_node *n, const char *name, struct gh_err *err)
{
    return to_json((struct fy_node *)n, name, 0, err);
}

#define MAX_YAML_FILE ((size_t)16 << 20)

int gh_yaml_load_file(const char *path, struct gh_yaml_doc **out, struct gh_err *err)
{
    char *buf;
    size_t len;
    int rc = gh_read_file(path, MAX_YAML_FILE, &buf, &len, err);
    if (rc)
        return rc;
    /* the document keeps pointers into its text, so the text lives as long as the document */
    rc = load(path, buf, len, out, err);
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

int gh_yaml_doc_line(const struct gh_yaml_doc *doc)
{
    return doc->line ? doc->line : 1;
}

static int on_stream_doc(void *ctx, struct gh_yaml_doc *doc, int index)
{
    (void)index;
    struct gh_json *arr = ((void **)ctx)[0];
    const char *name = ((void **)ctx)[1];
    struct gh_err *err = ((void **)ctx)[2];
    struct gh_json *j = gh_yaml_to_json(gh_yaml_root(doc), name, err);
    if (j == NULL)
        return GH_EINVAL;
    struct gh_json *item = gh_json_object();
    gh_json_set(item, "line", gh_json_int(gh_yaml_doc_line(doc)));
    gh_json_set(item, "doc", j);
    gh_json_append(arr, item);
    return 0;
}

struct gh_json *gh_yaml_stream_json(const char *name, const char *text, size_t len, struct gh_err *err)
{
    struct gh_json *arr = gh_json_array();
    void *ctx[] = {arr, (void *)name, err};
    if (gh_yaml_load_stream(name, text, len, on_stream_doc, ctx, err) != 0) {
        gh_json_unref(arr);
        return NULL;
    }
    return arr;
}
