/*
 * iplimit: rate limits per client rather than per grant -- the client's address
 * (`rate_limit: {..., by: ip}`, typically with `auth: none`) or a digest of a verified token's claim
 * (`by: claim`, gh_jwt_claim_key). One GCRA state per (API, client key) in a liburcu hash table the
 * workers share: a client's first request adds its entry, every worker takes from the same state
 * (exact, lock-free), and the control thread sweeps out entries whose state has fully recovered, so
 * idle clients cost nothing.
 */
#ifndef GH_GATEWAY_IPLIMIT_H
#define GH_GATEWAY_IPLIMIT_H

#include "../access/limit.h"
#include "../base/base.h"

struct gh_iplimit;

struct gh_iplimit *gh_iplimit_new(void);
void gh_iplimit_free(struct gh_iplimit *t); /* no reader may be inside it */

/* One request from the client named by ip (an address or a claim digest, at most 48 bytes) to the API
 * in slot (a registered RCU reader thread). */
struct gh_rate_result gh_iplimit_take(struct gh_iplimit *t, int slot, struct gh_str ip,
                                      const struct gh_rate *r, uint64_t now_ns);

/* Drops entries that are back to a full burst at now_ns; returns how many are left (control thread). */
size_t gh_iplimit_sweep(struct gh_iplimit *t, uint64_t now_ns);

/* Set by the control thread before the workers start. */
extern struct gh_iplimit *gh_gateway_iplimit;

#endif
