/*
 * router.c: a sorted list scanned in order. Gateways front tens to hundreds of APIs; a scan of short
 * prefixes with memcmp beats a tree at that size and has no allocation on the request path.
 */
#include "router.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int any_host(const struct gh_route *r)
{
    for (size_t i = 0; i < r->nhosts; i++)
        if (strcmp(r->hosts[i], "*") == 0)
            return 1;
    return r->nhosts == 0;
}

static int cmp_route(const void *a, const void *b)
{
    const struct gh_route *x = a, *y = b;
    if (x->prefix_len != y->prefix_len)
        return x->prefix_len > y->prefix_len ? -1 : 1;
    int wx = any_host(x), wy = any_host(y);
    if (wx != wy)
        return wx - wy;
    /* routes limited to some methods before catch-all ones, so "GET only" wins over "any" */
    return (x->methods == 0) - (y->methods == 0);
}

void gh_router_init(struct gh_router *r, const struct gh_route *routes, size_t n)
{
    r->routes = gh_calloc(n ? n : 1, sizeof(*r->routes));
    memcpy(r->routes, routes, n * sizeof(*routes));
    r->n = n;
    qsort(r->routes, n, sizeof(*r->routes), cmp_route);
}

void gh_router_dispose(struct gh_router *r)
{
    free(r->routes);
    r->routes = NULL;
    r->n = 0;
}

static int host_matches(const struct gh_route *r, struct gh_str host)
{
    /* drop the port: "[::1]:80" -> "[::1]", "a.example:8080" -> "a.example" */
    size_t n = host.len;
    if (n && host.p[0] == '[') {
        const char *close = memchr(host.p, ']', n);
        if (close)
            n = (size_t)(close - host.p) + 1;
    } else {
        const char *colon = memchr(host.p, ':', n);
        if (colon)
            n = (size_t)(colon - host.p);
    }
    for (size_t i = 0; i < r->nhosts; i++) {
        const char *h = r->hosts[i];
        if (h[0] == '*' && h[1] == '\0')
            return 1;
        if (strlen(h) == n && strncasecmp(h, host.p, n) == 0)
            return 1;
    }
    return r->nhosts == 0;
}

const struct gh_route *gh_router_match(const struct gh_router *r, struct gh_str host, int method_id,
                                       struct gh_str path, int *status, uint32_t *allow)
{
    *status = 404;
    *allow = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct gh_route *rt = &r->routes[i];
        size_t pl = rt->prefix_len;
        if (!(pl == 1 && rt->prefix[0] == '/')) {
            if (path.len < pl || memcmp(path.p, rt->prefix, pl) != 0)
                continue;
            if (path.len > pl && path.p[pl] != '/')
                continue;
        }
        if (!host_matches(rt, host))
            continue;
        if (rt->methods && !(rt->methods & (1u << method_id))) {
            *status = 405;
            *allow |= rt->methods;
            continue;
        }
        return rt;
    }
    return NULL;
}
