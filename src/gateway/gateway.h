/*
 * gateway: the data plane. N worker threads, each with its own libuv loop and its own SO_REUSEPORT
 * listener, proxy requests by the snapshot they were handed. Nothing here touches the store.
 */
#ifndef GH_GATEWAY_H
#define GH_GATEWAY_H

#include "snapshot.h"

struct gh_gateway;

/*
 * Binds the gateway listeners (N = snap->cfg->workers) and starts the workers. snap is borrowed: each
 * worker takes its own reference. A port of 0 picks a free port, the same for every worker; the bound
 * address is logged and available from gh_gateway_port. Returns 0, or GH_EIO with err set (nothing left
 * running).
 */
struct gh_access_table;
/* The credential table `auth: key` APIs check (set before the workers start; NULL: every such
 * request is refused with 503). */
extern struct gh_access_table *gh_gateway_access; /* in auth.h too */

int gh_gateway_start(struct gh_snapshot *snap, struct gh_gateway **out, struct gh_err *err);

/* The port the workers listen on. */
int gh_gateway_port(const struct gh_gateway *g);

/* Hands a new snapshot to every worker (each takes a reference); requests in flight keep the old one. */
void gh_gateway_publish(struct gh_gateway *g, struct gh_snapshot *snap);

/* Stops accepting, lets requests in flight finish (at most drain_timeout), then the workers exit. */
void gh_gateway_drain(struct gh_gateway *g);

/* Renders every worker's counters summed, in Prometheus' text format (control thread). */
void gh_gateway_metrics(void *gateway, struct gh_buf *out); /* a gh_api_metrics_fn */

/* Waits for every worker to exit, then frees g. Call after gh_gateway_drain. Accepts NULL. */
void gh_gateway_join(struct gh_gateway *g);

/* Creates a listening TCP socket on "host:port" (port may be 0), with SO_REUSEPORT when reuseport.
 * Returns the fd or -1 with err set ("address already in use", ...). Shared with the portal. */
int gh_listen_socket(const char *hostport, int reuseport, struct gh_err *err);

#endif
