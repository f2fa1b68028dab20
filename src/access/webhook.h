/*
 * webhook: delivers the access workflow's events (access/events.h) to the webhooks in config, from the
 * control thread. Each tick it fans new events out into one delivery row per subscribed webhook
 * (webhook_deliveries, in one transaction with the cursor that says how far it read) and posts the
 * deliveries that are due, on libuv's thread pool. A delivery that fails is retried with exponential
 * backoff (webhooks[].backoff, doubling, at most 1h apart) until max_attempts, then marked failed.
 * Because both the events and the deliveries are rows, nothing is lost across restarts.
 *
 * Each POST carries the event's JSON body and
 *   Gatehouse-Signature: t=UNIX_SECONDS,v1=HEX(HMAC-SHA256(secret, "UNIX_SECONDS." + body))
 *   Gatehouse-Event: the type;  Gatehouse-Event-Id: evt_N (the same on every retry)
 * as Stripe signs theirs: a receiver recomputes the HMAC, compares in constant time and refuses stale
 * timestamps. Connections go only where netguard allows (see base/netguard.h), checked again on the
 * address every attempt connects to.
 */
#ifndef GH_ACCESS_WEBHOOK_H
#define GH_ACCESS_WEBHOOK_H

#include "../config/config.h"
#include "../store/store.h"

#include <uv.h>

struct gh_webhooks;

struct gh_webhooks *gh_webhooks_new(uv_loop_t *loop, struct gh_store *s);
/* The webhooks of a config, each with its secret's value (secrets[i] for cfg->webhooks[i]); copied. */
void gh_webhooks_configure(struct gh_webhooks *w, const struct gh_config *cfg, char *const *secrets);
/* Fans out new events and starts due deliveries (the control thread's timer calls it each second). */
void gh_webhooks_tick(struct gh_webhooks *w, uint64_t now_ms);
/* Waits for deliveries in flight (on the loop) and frees. */
void gh_webhooks_free(struct gh_webhooks *w);

/* The signature header's value for a body at a time (exposed for tests). out: >= 96 bytes. */
void gh_webhook_sign(const char *secret, size_t secret_len, uint64_t unix_seconds, const char *body,
                     char *out, size_t cap);

/* Delivery rows for admins: webhook, event id, type, state, attempts, last status, last error,
 * next attempt (ms), delivered at; newest first; webhook and state may be NULL (all). */
int gh_webhook_deliveries(struct gh_store *s, const char *webhook, const char *state, int limit,
                          gh_store_row_fn fn, void *ctx, struct gh_err *err);

#endif
