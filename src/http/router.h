/*
 * router: host + method + longest path prefix, compiled once per config. Prefixes match on segment
 * boundaries: "/orders" matches "/orders", "/orders/1" and "/orders?x", never "/ordersx".
 */
#ifndef GH_ROUTER_H
#define GH_ROUTER_H

#include "http.h"

struct gh_route {
    const char *prefix; /* borrowed; "/" or without a trailing slash */
    size_t prefix_len;
    const char *const *hosts; /* borrowed; lower-case names without port, or "*" */
    size_t nhosts;
    uint32_t methods; /* bit (1 << method id); 0 = every method */
    void *data;       /* the caller's (the gateway's API) */
};

struct gh_router {
    struct gh_route *routes; /* owned; longest prefix first, host-specific before "*" */
    size_t n;
};

/* Copies and orders the routes into r. The strings they point to must outlive r. */
void gh_router_init(struct gh_router *r, const struct gh_route *routes, size_t n);
void gh_router_dispose(struct gh_router *r);

/*
 * Finds the route for a request. host is the Host value (a port is ignored, case does not matter).
 * Returns the route, or NULL with *status = 404 (no route for host and path) or 405 (a route for the
 * path exists but not for this method; *allow then holds the methods that are, as method-id bits).
 */
const struct gh_route *gh_router_match(const struct gh_router *r, struct gh_str host, int method_id,
                                       struct gh_str path, int *status, uint32_t *allow);

#endif
