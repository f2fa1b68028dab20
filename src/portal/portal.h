/*
 * portal: the control plane's HTTP listener, on the control thread's loop. For now it serves
 * GET /healthz; the catalog, REST API and pages arrive with later work on the same listener.
 */
#ifndef GH_PORTAL_H
#define GH_PORTAL_H

#include "../base/base.h"

#include <uv.h>

struct gh_portal;

/* Listens on "host:port" (port 0 picks one; logged). Returns 0 or GH_EIO with err set. */
int gh_portal_start(uv_loop_t *loop, const char *listen, size_t max_head, struct gh_portal **out,
                    struct gh_err *err);

/* Stops listening and closes every connection; the portal frees itself once its handles are closed. */
void gh_portal_stop(struct gh_portal *p);

#endif
