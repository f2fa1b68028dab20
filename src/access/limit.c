/*
 * limit.c: see limit.h.
 */
#include "limit.h"

#include <time.h>

int gh_rate_init(struct gh_rate *r, uint32_t requests, uint64_t period_ns, uint32_t burst)
{
    if (requests == 0 || period_ns < requests)
        return -1;
    if (burst == 0)
        burst = requests;
    r->requests = requests;
    r->burst = burst;
    r->period_ns = period_ns;
    r->interval_ns = period_ns / requests;
    r->tolerance_ns = (uint64_t)(burst - 1) * r->interval_ns;
    return 0;
}

struct gh_rate_result gh_rate_take(const struct gh_rate *r, _Atomic uint64_t *tat, uint64_t now)
{
    struct gh_rate_result res = {0, 0, 0, 0};
    uint64_t old = atomic_load_explicit(tat, memory_order_relaxed);
    for (;;) {
        uint64_t base = old > now ? old : now;
        uint64_t next = base + r->interval_ns;
        /* allowed while the new arrival time stays within the burst's reach of now */
        if (next - now > r->tolerance_ns + r->interval_ns) {
            res.allowed = 0;
            res.retry_after_ns = next - now - r->tolerance_ns - r->interval_ns;
            res.remaining = 0;
            res.reset_ns = base - now;
            return res;
        }
        if (atomic_compare_exchange_weak_explicit(tat, &old, next, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            res.allowed = 1;
            uint64_t room = r->tolerance_ns + r->interval_ns - (next - now);
            res.remaining = (uint32_t)(room / r->interval_ns);
            res.reset_ns = next - now;
            return res;
        }
        /* another worker moved it: try again with what it wrote */
    }
}

/* days since 1970-01-01 for a civil date (Howard Hinnant's algorithm) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

uint32_t gh_quota_period_id(enum gh_quota_period p, uint64_t wall_ms, uint64_t *next_start_ms)
{
    uint64_t day = wall_ms / 86400000u;
    if (p == GH_QUOTA_DAY) {
        if (next_start_ms)
            *next_start_ms = (day + 1) * 86400000u;
        return (uint32_t)day;
    }
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int64_t y = tm.tm_year + 1900;
    unsigned m = (unsigned)tm.tm_mon + 1;
    if (next_start_ms) {
        int64_t ny = m == 12 ? y + 1 : y;
        unsigned nm = m == 12 ? 1 : m + 1;
        *next_start_ms = (uint64_t)days_from_civil(ny, nm, 1) * 86400000u;
    }
    return (uint32_t)((y - 1970) * 12 + (int64_t)m - 1);
}

/* state: high 32 bits the period id + 1 (0: never used), low 32 bits the count */
struct gh_quota_result gh_quota_take(uint64_t limit, enum gh_quota_period p, _Atomic uint64_t *state,
                                     uint64_t now_wall_ms)
{
    struct gh_quota_result res = {0, 0, 0};
    uint64_t next_start = 0;
    uint64_t period = (uint64_t)gh_quota_period_id(p, now_wall_ms, &next_start) + 1;
    uint64_t old = atomic_load_explicit(state, memory_order_relaxed);
    for (;;) {
        uint64_t count = (old >> 32) == period ? (old & 0xffffffffu) : 0;
        if (count >= limit || count == 0xffffffffu) {
            res.used = count;
            res.retry_after_ms = next_start - now_wall_ms;
            return res;
        }
        uint64_t next = period << 32 | (count + 1);
        if (atomic_compare_exchange_weak_explicit(state, &old, next, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            res.allowed = 1;
            res.used = count + 1;
            return res;
        }
    }
}
