/*
 * events: what happened in the access workflow, for others to hear about (webhooks). An event is a
 * row of the `events` table written in the transaction of the change it reports, next to its audit
 * event, so neither exists without the other and none is lost when the process stops before
 * delivering it: the table is the outbox webhooks deliver from (access/webhook.h).
 *
 * Types: gh_config_event_types. Never put a secret in an event: keys by id only.
 */
#ifndef GH_ACCESS_EVENTS_H
#define GH_ACCESS_EVENTS_H

#include "../store/store.h"

struct gh_json;

/* Appends an event of `type` with `data` (an object, consumed) at now_ms. Must run in a transaction.
 * The stored body: {"id": "evt_SEQ", "type", "createdAt", "data"}. */
int gh_event_add(struct gh_store *s, const char *type, struct gh_json *data, uint64_t now_ms,
                 struct gh_err *err);

/* Events after seq, in order: seq, type, body, created_at. */
int gh_event_list(struct gh_store *s, int64_t after, int limit, gh_store_row_fn fn, void *ctx,
                  struct gh_err *err);

#endif
