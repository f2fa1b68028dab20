/*
 * jwks: the configured issuers' signing keys, kept fresh by the control thread and read by the
 * gateway workers without a lock. Each issuer's key set is fetched (libcurl, on libuv's thread pool,
 * never on a loop thread) from its jwks_uri or through its discovery document, on start, every
 * `refresh`, and when a worker meets a token whose kid is unknown (at most once per `min_refresh`).
 * A failed fetch keeps the last good keys; an issuer that never answered has none, and its tokens are
 * refused with 503 until it does.
 *
 * Key sets are published by RCU (liburcu): readers must be registered RCU reader threads and call
 * the lookup inside rcu_read_lock()/rcu_read_unlock() (gh_jwks_read_lock).
 */
#ifndef GH_IDENTITY_JWKS_H
#define GH_IDENTITY_JWKS_H

#include "../config/config.h"
#include "jwt.h"

#include <uv.h>

struct gh_jwks_registry;

/* Control thread: a registry whose fetches run from loop. */
struct gh_jwks_registry *gh_jwks_registry_new(uv_loop_t *loop);
/* Follows the config's issuers: new ones are fetched at once, removed ones lose their keys. */
void gh_jwks_registry_configure(struct gh_jwks_registry *r, const struct gh_config *cfg);
/* Stops the timer (fetches in flight finish; their results are dropped). */
void gh_jwks_registry_stop(struct gh_jwks_registry *r);
/* After the loop has run dry and no reader is left. */
void gh_jwks_registry_free(struct gh_jwks_registry *r);

/* Workers. */
void gh_jwks_read_lock(void);
void gh_jwks_read_unlock(void);
/* The key set for issuer `iss` (NULL: none yet or not configured); valid until the read unlock.
 * *slot receives an index to pass to gh_jwks_want_refresh. */
const struct gh_jwk_set *gh_jwks_lookup(struct gh_jwks_registry *r, const char *iss, int *slot);
/* Bumped whenever any key set changes (for the verified-token caches). */
uint64_t gh_jwks_generation(const struct gh_jwks_registry *r);
/* A token named a kid the keys lack: ask for a fetch (honours min_refresh). */
void gh_jwks_want_refresh(struct gh_jwks_registry *r, int slot);

/* Control thread only: the issuer's discovery document as last fetched (NULL: none yet, or the
 * issuer is configured by jwks_uri alone), and its key set (the control thread publishes them, so
 * it needs no read lock). */
const struct gh_json *gh_jwks_discovery(struct gh_jwks_registry *r, const char *iss);
const struct gh_jwk_set *gh_jwks_current(struct gh_jwks_registry *r, const char *iss);

/* For status and tests: the number of keys held for iss, and fetches done / failed. */
size_t gh_jwks_key_count(struct gh_jwks_registry *r, const char *iss);

#endif
