/*
 * credcache: credentials a worker has already checked -- API keys (checksum and SHA-256) and bearer
 * tokens (signature and claims) -- mapped to what they stood for, so a repeated one skips that work.
 * One per worker thread, never shared. A hit needs the same bytes (compared in constant time after a
 * seeded 64-bit hash matched), an unexpired entry and the same generation (the caller bumps it when
 * keys or rules change, which empties the cache in effect). What a credential stands for is only a
 * digest: whether it may call is still decided on every request, so revocation is never delayed.
 */
#ifndef GH_BASE_CREDCACHE_H
#define GH_BASE_CREDCACHE_H

#include "base.h"

struct gh_cred_cache;

struct gh_cred_cache *gh_cred_cache_new(size_t slots); /* rounded up to a power of two */
void gh_cred_cache_free(struct gh_cred_cache *c);

struct gh_cred_cached {
    unsigned char cred[32]; /* the credential's digest */
    uint64_t exp_s;         /* usable while now < exp_s */
    /* a token's rate-limit key for `rate_limit: {by: claim}`: which claim (the caller's id for it; 0:
     * none yet) and a digest of the issuer and that claim's value */
    uint64_t limit_for;
    unsigned char limit_key[16];
};
const struct gh_cred_cached *gh_cred_cache_get(struct gh_cred_cache *c, struct gh_str secret, uint64_t now_s,
                                               uint64_t generation);
void gh_cred_cache_put(struct gh_cred_cache *c, struct gh_str secret, const struct gh_cred_cached *v,
                       uint64_t generation);

#endif
