/*
 * table: the credentials and grants the gateway enforces, in two RCU hash tables (liburcu's
 * lock-free cds_lfht) that the workers read without a lock and the control thread updates in place:
 * a key revoked, a grant added or changed is visible to every worker at once, with no rebuild of
 * the routing snapshot and no store access on the request path. A grant's rate-limit and quota
 * state live in its entry (one atomic word each) and survive updates of the grant.
 *
 * Threads that call gh_access_check must be registered RCU readers (gh_access_thread_online).
 */
#ifndef GH_ACCESS_TABLE_H
#define GH_ACCESS_TABLE_H

#include "../config/config.h"
#include "../store/store.h"
#include "keys.h"

struct gh_access_table;

struct gh_access_table *gh_access_table_new(void);
void gh_access_table_free(struct gh_access_table *t); /* no reader may be inside it */

/* Registers the calling thread as an RCU reader / unregisters it. */
void gh_access_thread_online(void);
void gh_access_thread_offline(void);

/* The store's access generation (bumped by every change to keys and grants). */
int64_t gh_access_generation(struct gh_store *s);
/* Brings the table in line with the store and the config's plans (control thread). */
int gh_access_table_sync(struct gh_access_table *t, struct gh_store *s, const struct gh_config *cfg,
                         struct gh_err *err);
/* Only what changed since the table's generation (the rows each change stamps with its generation):
 * what the control thread runs when the generation moves. */
int gh_access_table_update(struct gh_access_table *t, struct gh_store *s, const struct gh_config *cfg,
                           struct gh_err *err);
int64_t gh_access_table_generation(const struct gh_access_table *t);

/* Why a request was refused (for metrics: brute force shows as malformed and unknown). */
enum gh_deny {
    GH_DENY_NONE = 0,
    GH_DENY_MISSING,     /* no credential */
    GH_DENY_MALFORMED,   /* not a key (format, checksum) */
    GH_DENY_UNKNOWN,     /* a well-formed key or a token's client nobody issued or bound */
    GH_DENY_TOKEN,       /* a bearer token refused (signature, claims, issuer) */
    GH_DENY_NO_GRANT,    /* a known caller without a grant on this API */
    GH_DENY_EXPIRED,     /* its grant has expired */
    GH_DENY_RATE,        /* rate limit */
    GH_DENY_QUOTA,       /* quota */
    GH_DENY_UNAVAILABLE, /* credentials or keys not loaded */
    GH_DENY_COUNT
};
extern const char *const gh_deny_names[GH_DENY_COUNT];

#define GH_ACCESS_APP_MAX 32 /* application ids are "app_" + 24 hex digits */

struct gh_access_decision {
    int status; /* 0: let it through; else 401, 403 or 429 */
    enum gh_deny reason;
    char app[GH_ACCESS_APP_MAX]; /* the caller's application id once known ("" before) */
    unsigned long app_hash;      /* and a hash of it (for per-application counters) */
    const char *why;             /* for the error body */
    uint64_t retry_after_s;      /* 429, and 403 for a spent quota */
    /* the rate limit in effect (limit 0: none), for the RateLimit headers */
    uint32_t limit, remaining;
    uint64_t window_s, reset_s;
    char key_id[GH_KEY_ID_LEN + 1];
};

/* Decides one request to API `api` presenting `key` (len 0: none) at monotonic now_ns, wall now_ms.
 * With a cache (a worker's own; NULL: none), a key seen before skips its checksum and SHA-256. */
struct gh_cred_cache;
void gh_access_check(struct gh_access_table *t, const char *api, struct gh_str key,
                     struct gh_cred_cache *cache, uint64_t now_ns, uint64_t now_ms,
                     struct gh_access_decision *d);

/* The same from the credential's digest (a key's stored hash, or a JWT binding's, see
 * gh_jwt_credential), once the credential itself has been checked; d is already cleared. */
void gh_access_check_digest(struct gh_access_table *t, const char *api, const unsigned char hash[32],
                            uint64_t now_ns, uint64_t now_ms, struct gh_access_decision *d);

#endif
