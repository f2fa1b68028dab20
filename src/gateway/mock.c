/*
 * mock.c: see mock.h.
 */
#include "mock.h"

#include "../base/json.h"
#include "../http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void op_free(struct gh_mock_op *o)
{
    for (size_t i = 0; i < o->nsegs; i++)
        free(o->segs[i]);
    free(o->segs);
    free(o->ctype);
    free(o->body);
    free(o->headers);
}

void gh_mock_free(struct gh_mock *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        op_free(&m->ops[i]);
    free(m->ops);
    free(m);
}

/* A media type's example: example, the first of examples (OpenAPI 3: {value}), or the schema's. */
static const struct gh_json *media_example(const struct gh_json *media)
{
    const struct gh_json *x = gh_json_get(media, "example");
    if (x)
        return x;
    const struct gh_json *xs = gh_json_get(media, "examples");
    void *it = NULL;
    const char *k;
    struct gh_json *v;
    if (xs && gh_json_next(xs, &it, &k, &v))
        return gh_json_get(v, "value") ? gh_json_get(v, "value") : v;
    return gh_json_get(gh_json_get(media, "schema"), "example");
}

static int json_type(const char *ctype)
{
    size_t n = strcspn(ctype, ";");
    return (n >= 16 && strncasecmp(ctype, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ctype + n - 5, "+json", 5) == 0);
}

/* The answer for one operation: its lowest 2xx response (or default) with an example if it has one. */
static void answer(const struct gh_json *op, const struct gh_json *produces, struct gh_mock_op *o)
{
    const struct gh_json *responses = gh_json_get(op, "responses"), *pick = NULL;
    int best = 0;
    void *it = NULL;
    const char *code;
    struct gh_json *resp;
    while (responses && gh_json_next(responses, &it, &code, &resp)) {
        int c = (int)strtol(code, NULL, 10);
        if (c >= 200 && c <= 299 && (best == 0 || c < best)) {
            best = c;
            pick = resp;
        }
    }
    if (pick == NULL && (pick = gh_json_get(responses, "default")) != NULL)
        best = 200;
    o->status = best ? best : 200;
    o->headers = gh_strdup("");
    if (pick == NULL)
        return;
    /* OpenAPI 3: content: {type: {example}}; Swagger 2: examples: {type: value} */
    const struct gh_json *content = gh_json_get(pick, "content"), *example = NULL;
    const char *ctype = NULL;
    it = NULL;
    struct gh_json *media;
    const char *type;
    while (content && gh_json_next(content, &it, &type, &media))
        if ((example = media_example(media)) != NULL) {
            ctype = type;
            break;
        }
    if (example == NULL && gh_json_get(pick, "examples")) {
        it = NULL;
        struct gh_json *v;
        if (gh_json_next(gh_json_get(pick, "examples"), &it, &type, &v)) {
            ctype = type;
            example = v;
        }
    }
    if (example == NULL && gh_json_get(pick, "schema") &&
        gh_json_get(gh_json_get(pick, "schema"), "example")) {
        example = gh_json_get(gh_json_get(pick, "schema"), "example");
        ctype = gh_json_str(gh_json_at(produces, 0), NULL);
        if (ctype == NULL)
            ctype = "application/json";
    }
    if (example) {
        o->ctype = gh_strdup(ctype);
        const char *s = gh_json_str(example, NULL);
        if (s && !json_type(ctype)) {
            o->body = gh_strdup(s);
        } else {
            char *d = gh_json_dump(example, 0);
            size_t n = strlen(d);
            o->body = gh_malloc(n + 2);
            memcpy(o->body, d, n);
            o->body[n] = '\n';
            o->body[n + 1] = '\0';
            free(d);
        }
        o->body_len = strlen(o->body);
    }
    /* headers: {Name: {example} | {schema: {example}}} */
    struct gh_buf h = {0};
    it = NULL;
    const char *name;
    struct gh_json *hv;
    while (gh_json_get(pick, "headers") && gh_json_next(gh_json_get(pick, "headers"), &it, &name, &hv)) {
        const struct gh_json *x = gh_json_get(hv, "example");
        if (x == NULL)
            x = gh_json_get(gh_json_get(hv, "schema"), "example");
        char num[32];
        const char *v = gh_json_str(x, NULL);
        if (v == NULL && gh_json_type(x) == GH_JSON_INT) {
            snprintf(num, sizeof(num), "%lld", (long long)gh_json_int_value(x));
            v = num;
        }
        /* only a plain token-ish value: nothing that could split the head */
        if (v == NULL || strpbrk(v, "\r\n") || strpbrk(name, "\r\n: ") ||
            strcasecmp(name, "content-type") == 0 || strcasecmp(name, "content-length") == 0 ||
            strcasecmp(name, "transfer-encoding") == 0 || strcasecmp(name, "connection") == 0)
            continue;
        gh_buf_addf(&h, "%s: %s\r\n", name, v);
    }
    if (h.len) {
        gh_buf_add(&h, "", 1);
        free(o->headers);
        o->headers = h.p;
    } else {
        gh_buf_free(&h);
    }
}

static int method_id(const char *m)
{
    for (int i = 1; i < GH_METHOD_COUNT_; i++)
        if (strcasecmp(m, gh_http_method_name(i)) == 0)
            return i;
    return 0;
}

int gh_mock_build(const struct gh_json *doc, struct gh_mock **out, struct gh_err *err)
{
    const struct gh_json *paths = gh_json_get(doc, "paths");
    if (gh_json_type(paths) != GH_JSON_OBJECT || gh_json_size(paths) == 0)
        return gh_err_set(err, GH_EINVAL, "the document has no paths to answer");
    struct gh_mock *m = gh_calloc(1, sizeof(*m));
    void *pi = NULL;
    const char *tpl;
    struct gh_json *item;
    while (gh_json_next(paths, &pi, &tpl, &item)) {
        void *mi = NULL;
        const char *meth;
        struct gh_json *op;
        while (gh_json_type(item) == GH_JSON_OBJECT && gh_json_next(item, &mi, &meth, &op)) {
            int id = method_id(meth);
            if (id == 0 || gh_json_type(op) != GH_JSON_OBJECT)
                continue; /* parameters, summary, servers, ... */
            m->ops = gh_realloc(m->ops, (m->n + 1) * sizeof(*m->ops));
            struct gh_mock_op *o = &m->ops[m->n++];
            memset(o, 0, sizeof(*o));
            o->method = id;
            char *copy = gh_strdup(tpl), *save = NULL;
            for (char *s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
                o->segs = gh_realloc(o->segs, (o->nsegs + 1) * sizeof(char *));
                o->segs[o->nsegs++] = gh_strdup(s);
            }
            free(copy);
            answer(op, gh_json_get(doc, "produces"), o);
        }
    }
    if (m->n == 0) {
        gh_mock_free(m);
        return gh_err_set(err, GH_EINVAL, "the document has no operations to answer");
    }
    *out = m;
    return 0;
}

/* Whether a path's segments fit a template's. */
static int fits(const struct gh_mock_op *o, struct gh_str path)
{
    size_t i = 0;
    const char *p = path.p;
    struct gh_str seg;
    while (gh_path_segment(&p, path.p + path.len, &seg)) {
        if (i == o->nsegs)
            return 0;
        const char *t = o->segs[i++];
        size_t tl = strlen(t);
        if (!(tl >= 2 && t[0] == '{' && t[tl - 1] == '}') &&
            (tl != seg.len || memcmp(t, seg.p, seg.len) != 0))
            return 0;
    }
    return i == o->nsegs;
}

const struct gh_mock_op *gh_mock_match(const struct gh_mock *m, int method, struct gh_str path,
                                       struct gh_str prefix, int *status, unsigned *allow)
{
    *allow = 0;
    const char *q = memchr(path.p, '?', path.len);
    if (q)
        path.len = (size_t)(q - path.p);
    struct gh_str tries[2] = {path, {NULL, 0}};
    if (prefix.len > 1 && path.len >= prefix.len && memcmp(path.p, prefix.p, prefix.len) == 0)
        tries[1] = (struct gh_str){path.p + prefix.len, path.len - prefix.len};
    *status = 404;
    for (int t = 0; t < 2; t++) {
        if (tries[t].p == NULL)
            continue;
        for (size_t i = 0; i < m->n; i++) {
            if (!fits(&m->ops[i], tries[t]))
                continue;
            if (m->ops[i].method == method || (method == GH_METHOD_HEAD && m->ops[i].method == GH_METHOD_GET))
                return &m->ops[i];
            *status = 405;
            *allow |= 1u << m->ops[i].method;
        }
        if (*status == 405)
            return NULL;
    }
    return NULL;
}
