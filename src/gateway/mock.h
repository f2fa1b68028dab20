/*
 * mock: an API that answers from its OpenAPI document's examples instead of an upstream, as Azure API
 * Management's mock-response policy does (apis[].mock: the document). Each operation answers with its
 * lowest 2xx response: that status, the example of its first media type (a JSON example as JSON, a
 * string as is) and the examples of its headers. Built once per config on the control thread; the
 * workers only read it.
 */
#ifndef GH_GATEWAY_MOCK_H
#define GH_GATEWAY_MOCK_H

#include "../base/base.h"

struct gh_json;

struct gh_mock_op {
    int method;  /* enum gh_http_method */
    char **segs; /* the path template's segments; "{...}" matches any one */
    size_t nsegs;
    int status;
    char *ctype; /* NULL: no body */
    char *body;
    size_t body_len;
    char *headers; /* "Name: value\r\n" lines from the headers' examples ("" none) */
};

struct gh_mock {
    struct gh_mock_op *ops;
    size_t n;
};

/* From an OpenAPI 3 (or Swagger 2) document as JSON. GH_EINVAL when it has no paths. */
int gh_mock_build(const struct gh_json *doc, struct gh_mock **out, struct gh_err *err);
void gh_mock_free(struct gh_mock *m); /* accepts NULL */

/* The operation for a request path (no query) -- tried as it is and, when it starts with prefix,
 * without it. NULL with *status 404 (no path matches) or 405 (the path does, the method does not;
 * *allow then has a bit (1 << method) for each method the path has). */
const struct gh_mock_op *gh_mock_match(const struct gh_mock *m, int method, struct gh_str path,
                                       struct gh_str prefix, int *status, unsigned *allow);

#endif
