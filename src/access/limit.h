/*
 * limit: rate limits and quotas, exact across worker threads without a lock.
 *
 * A rate limit is GCRA (the generic cell rate algorithm): N requests per period P with a burst of B
 * means one request every T = P/N on average, and up to B at once. Its whole state is one 64-bit
 * "theoretical arrival time" updated with compare-and-swap, so every worker sees the same limit and
 * no request is ever let through twice the allowance.
 *
 * A quota is N requests per calendar day or month (UTC): a counter and the period it counts, packed
 * in one 64-bit word, also updated with compare-and-swap; a new period starts it again from zero.
 *
 * Times are passed in (nanoseconds): the gateway passes its clock, tests inject theirs.
 */
#ifndef GH_ACCESS_LIMIT_H
#define GH_ACCESS_LIMIT_H

#include <stdatomic.h>
#include <stdint.h>

struct gh_rate {
    uint64_t interval_ns;  /* T = period / requests */
    uint64_t tolerance_ns; /* (burst - 1) * T */
    uint32_t requests, burst;
    uint64_t period_ns;
};

/* requests per period_ns with the given burst (0: burst = requests). Returns 0, or -1 when the numbers
 * make no limit (no requests, no period, a period shorter than the requests in nanoseconds). */
int gh_rate_init(struct gh_rate *r, uint32_t requests, uint64_t period_ns, uint32_t burst);

struct gh_rate_result {
    int allowed;
    uint32_t remaining;      /* requests that could still go through right now */
    uint64_t retry_after_ns; /* when denied: until the next one would be allowed */
    uint64_t reset_ns;       /* until the full burst is available again */
};

/* One request at time now against the state tat (zero-initialised for a new grant). */
struct gh_rate_result gh_rate_take(const struct gh_rate *r, _Atomic uint64_t *tat, uint64_t now_ns);

enum gh_quota_period { GH_QUOTA_DAY = 1, GH_QUOTA_MONTH };

/* The number of the calendar period (UTC) a wall-clock time falls in, and when the next one starts. */
uint32_t gh_quota_period_id(enum gh_quota_period p, uint64_t wall_ms, uint64_t *next_start_ms);

struct gh_quota_result {
    int allowed;
    uint64_t used;           /* in this period, counting this request when allowed */
    uint64_t retry_after_ms; /* when spent: until the next period */
};

/* One request at wall time now against state (zero-initialised). */
struct gh_quota_result gh_quota_take(uint64_t limit, enum gh_quota_period p, _Atomic uint64_t *state,
                                     uint64_t now_wall_ms);

#endif
