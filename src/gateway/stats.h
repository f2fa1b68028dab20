/*
 * stats: what the gateway counts. Per worker and per API: requests by status class, a latency
 * histogram, refusals by reason, upstream errors -- plain counters each worker alone writes and the
 * control thread reads (relaxed atomics, no locks) to render GET /metrics. Per worker and per
 * (application, API): usage, handed over to the control thread once a second (the worker's own
 * tick) and written to the store per minute by the control thread (gh_usage_flush in access/).
 *
 * An API's counters live in a slot chosen by its name, so they survive reloads; slot 0 counts
 * requests that matched no API. Slots are assigned by the control thread (gh_stats_slot) only.
 */
#ifndef GH_GATEWAY_STATS_H
#define GH_GATEWAY_STATS_H

#include "../access/table.h"
#include "../base/base.h"

#include <stdatomic.h>

#define GH_STATS_SLOTS 1024
#define GH_STATS_BUCKETS 12 /* 5ms 10ms 25ms 50ms 100ms 250ms 500ms 1s 2.5s 5s 10s +Inf */

enum { GH_UPSTREAM_UNAVAILABLE = 1, GH_UPSTREAM_TIMEOUT, GH_UPSTREAM_INVALID };

struct gh_api_stats {
    _Atomic uint64_t by_class[6]; /* [status / 100] */
    _Atomic uint64_t buckets[GH_STATS_BUCKETS];
    _Atomic uint64_t latency_us;
    _Atomic uint64_t denied[GH_DENY_COUNT];
    _Atomic uint64_t upstream[4]; /* [GH_UPSTREAM_*] */
};

struct gh_stats {
    struct gh_api_stats api[GH_STATS_SLOTS];
};

/* The slot for an API name (assigned on first sight; GH_STATS_SLOTS - 1 is shared once full). */
int gh_stats_slot(const char *api);

/* One finished request (the worker that owns s). */
void gh_stats_request(struct gh_stats *s, int slot, int status, uint64_t latency_ns, enum gh_deny reason,
                      int upstream_error);

/* Prometheus text exposition of every worker's counters summed (control thread). */
void gh_stats_render(struct gh_stats *const *workers, size_t n, struct gh_buf *out);

/* ---- usage per application ---- */

struct gh_usage_row {
    char app[GH_ACCESS_APP_MAX];
    int slot;
    uint64_t requests, ok, client_errors, server_errors, throttled;
};

struct gh_usage_table {
    struct gh_usage_row *rows;
    size_t cap, used;
};

/* Counts one request of application app (an id; happ any well-spread hash of it) to the API in slot
 * (the worker's own table). */
void gh_usage_count(struct gh_usage_table *t, const char *app, uint64_t happ, int slot, int status,
                    int throttled);
/* Moves the worker's counts to the shared hand-over (worker thread, once a second). */
void gh_usage_hand_over(struct gh_usage_table *t);
void gh_usage_table_free(struct gh_usage_table *t);

/* Control thread: the counts handed over since the last call, merged per (application, API), with
 * each row's API name. Caller frees *rows. */
size_t gh_usage_take(struct gh_usage_row **rows);
const char *gh_stats_slot_name(int slot);

#endif
