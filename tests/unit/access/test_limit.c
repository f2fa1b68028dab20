/* Rate limits (GCRA) and quotas: exact counts with an injected clock, and exact across threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "access/limit.h"

#define SEC 1000000000ull

static void test_rate_burst_and_refill(void **state)
{
    (void)state;
    struct gh_rate r;
    assert_int_equal(gh_rate_init(&r, 10, 60 * SEC, 3), 0); /* 10 a minute, 3 at once */
    _Atomic uint64_t tat = 0;
    uint64_t now = 1000 * SEC;
    for (int i = 0; i < 3; i++) {
        struct gh_rate_result x = gh_rate_take(&r, &tat, now);
        assert_true(x.allowed);
        assert_int_equal(x.remaining, 2 - i);
    }
    struct gh_rate_result x = gh_rate_take(&r, &tat, now);
    assert_false(x.allowed);
    assert_int_equal(x.retry_after_ns, 6 * SEC); /* one every 6 s */
    x = gh_rate_take(&r, &tat, now + 6 * SEC - 1);
    assert_false(x.allowed);
    x = gh_rate_take(&r, &tat, now + 6 * SEC);
    assert_true(x.allowed);
    assert_int_equal(x.remaining, 0);
    /* over a long run: no more than the rate, plus the burst */
    int allowed = 0;
    for (uint64_t t = now + 7 * SEC; t < now + 7 * SEC + 600 * SEC; t += SEC / 10)
        allowed += gh_rate_take(&r, &tat, t).allowed;
    assert_true(allowed >= 99 && allowed <= 101);
    assert_int_equal(gh_rate_init(&r, 0, SEC, 0), -1);
    assert_int_equal(gh_rate_init(&r, 5, 4, 0), -1);
    assert_int_equal(gh_rate_init(&r, 5, SEC, 0), 0);
    assert_int_equal(r.burst, 5);
}

struct worker {
    const struct gh_rate *r;
    _Atomic uint64_t *tat;
    _Atomic uint64_t *quota;
    int allowed, quota_allowed;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 20000; i++) {
        w->allowed += gh_rate_take(w->r, w->tat, 5 * SEC).allowed; /* the same instant for everyone */
        w->quota_allowed += gh_quota_take(777, GH_QUOTA_DAY, w->quota, 1700000000000ull).allowed;
    }
    return NULL;
}

static void test_exact_across_threads(void **state)
{
    (void)state;
    struct gh_rate r;
    assert_int_equal(gh_rate_init(&r, 100, SEC, 50), 0);
    _Atomic uint64_t tat = 0, quota = 0;
    struct worker w[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (struct worker){&r, &tat, &quota, 0, 0};
        pthread_create(&t[i], NULL, hammer, &w[i]);
    }
    int total = 0, qtotal = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        total += w[i].allowed;
        qtotal += w[i].quota_allowed;
    }
    assert_int_equal(total, 50); /* the burst, exactly, however the threads interleave */
    assert_int_equal(qtotal, 777);
}

static void test_quota_periods(void **state)
{
    (void)state;
    _Atomic uint64_t q = 0;
    uint64_t jan31_late = 1706745599000ull; /* 2024-01-31T23:59:59Z */
    for (int i = 0; i < 3; i++)
        assert_true(gh_quota_take(3, GH_QUOTA_MONTH, &q, jan31_late).allowed);
    struct gh_quota_result x = gh_quota_take(3, GH_QUOTA_MONTH, &q, jan31_late);
    assert_false(x.allowed);
    assert_int_equal(x.used, 3);
    assert_int_equal(x.retry_after_ms, 1000); /* February starts in a second */
    x = gh_quota_take(3, GH_QUOTA_MONTH, &q, jan31_late + 1000);
    assert_true(x.allowed);
    assert_int_equal(x.used, 1);
    uint64_t next = 0;
    assert_int_equal(gh_quota_period_id(GH_QUOTA_MONTH, 1735689599000ull, &next), (2024 - 1970) * 12 + 11);
    assert_int_equal(next, 1735689600000ull); /* 2025-01-01 */
    assert_int_equal(gh_quota_period_id(GH_QUOTA_DAY, 86400000ull * 3 + 5, &next), 3);
    assert_int_equal(next, 86400000ull * 4);
    _Atomic uint64_t d = 0;
    assert_true(gh_quota_take(1, GH_QUOTA_DAY, &d, 10).allowed);
    x = gh_quota_take(1, GH_QUOTA_DAY, &d, 20);
    assert_false(x.allowed);
    assert_int_equal(x.retry_after_ms, 86400000ull - 20);
    assert_true(gh_quota_take(1, GH_QUOTA_DAY, &d, 86400000ull).allowed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_burst_and_refill),
        cmocka_unit_test(test_exact_across_threads),
        cmocka_unit_test(test_quota_periods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
