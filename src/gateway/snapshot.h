/*
 * snapshot: the immutable, reference-counted picture of the config that gateway workers serve from.
 * The control thread builds a new one on start and on reload and hands it to every worker; a request
 * holds a reference to the snapshot it started with, so a reload never changes a request in flight.
 */
#ifndef GH_SNAPSHOT_H
#define GH_SNAPSHOT_H

#include "../config/config.h"
#include "../http/router.h"
#include "../access/limit.h"
#include "../identity/jwt.h"

#include <stdatomic.h>
#include <sys/socket.h>

struct gh_target {
    char *url;       /* as configured */
    char *authority; /* "host[:port]", sent as Host */
    char *name;      /* "ip:port", for logs */
    char *base_path; /* "" or "/base" without trailing slash; prepended to the forwarded path */
    size_t base_len;
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

/* an issuer whose JWTs the gateway takes, with its rules compiled from the config */
struct gh_issuer {
    const struct gh_config_issuer *cfg;
    struct gh_jwt_rules rules;
};

struct gh_api {
    const char *name; /* borrowed from cfg */
    size_t index;
    const char *prefix;
    size_t prefix_len;
    int strip_prefix;
    enum gh_config_auth auth;
    int stats_slot; /* its counters (stats.h) */
    /* rate_limit: by client address, or by a verified token's claim (then tokens are taken even
     * with auth: none) */
    enum { GH_LIMIT_NONE, GH_LIMIT_IP, GH_LIMIT_CLAIM } limit_by;
    struct gh_rate client_rate;
    const char *limit_claim; /* borrowed from cfg */
    uint64_t limit_claim_id; /* a hash of its name, never 0 (gh_cred_cached.limit_for) */
    const char *key_header;  /* lower case */
    size_t key_header_len;
    int apim_names;
    const struct gh_issuer **issuers; /* the ones this API takes */
    size_t nissuers;
    struct gh_target *targets;
    size_t ntargets;
    uint64_t connect_timeout_ms, timeout_ms;
    struct gh_mock *mock; /* answers from the OpenAPI document's examples instead (mock.h), or NULL */
};

struct gh_mock;

struct gh_snapshot {
    atomic_int refs;
    uint64_t generation;
    struct gh_config *cfg; /* owned */
    struct gh_api *apis;
    size_t napis;
    struct gh_issuer *issuers;
    size_t nissuers;
    struct gh_router router;
};

/*
 * Compiles cfg (taken: freed with the snapshot, or on failure) into a new snapshot with one reference.
 * Resolves upstream host names (blocking; control thread only). Returns 0 or GH_EINVAL with err set.
 */
int gh_snapshot_build(struct gh_config *cfg, uint64_t generation, struct gh_snapshot **out,
                      struct gh_err *err);

struct gh_snapshot *gh_snapshot_ref(struct gh_snapshot *s);
void gh_snapshot_unref(struct gh_snapshot *s); /* frees at zero; accepts NULL; any thread */

#endif
