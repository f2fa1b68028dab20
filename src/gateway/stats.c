/*
 * stats.c: see stats.h.
 */
#include "stats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- API slots (control thread) ---- */

static char *slot_names[GH_STATS_SLOTS] = {"_unmatched"};
static int nslots = 1;

int gh_stats_slot(const char *api)
{
    for (int i = 1; i < nslots; i++)
        if (strcmp(slot_names[i], api) == 0)
            return i;
    if (nslots == GH_STATS_SLOTS) {
        slot_names[GH_STATS_SLOTS - 1] = "_overflow"; /* shared, and says so */
        return GH_STATS_SLOTS - 1;
    }
    slot_names[nslots] = gh_strdup(api);
    return nslots++;
}

const char *gh_stats_slot_name(int slot)
{
    return slot >= 0 && slot < nslots ? slot_names[slot] : "_unmatched";
}

/* ---- counting (each worker its own struct: a relaxed load and store, no locked instruction) ---- */

#define BUMP(x, n)                                                                                           \
    atomic_store_explicit(&(x), atomic_load_explicit(&(x), memory_order_relaxed) + (n), memory_order_relaxed)

static const uint64_t bucket_us[GH_STATS_BUCKETS - 1] = {5000,   10000,   25000,   50000,   100000,  250000,
                                                         500000, 1000000, 2500000, 5000000, 10000000};

void gh_stats_request(struct gh_stats *s, int slot, int status, uint64_t latency_ns, enum gh_deny reason,
                      int upstream_error)
{
    struct gh_api_stats *a = &s->api[slot];
    int cls = status / 100;
    BUMP(a->by_class[cls >= 1 && cls <= 5 ? cls : 0], 1);
    uint64_t us = latency_ns / 1000;
    size_t b = 0;
    while (b < GH_STATS_BUCKETS - 1 && us > bucket_us[b])
        b++;
    BUMP(a->buckets[b], 1);
    BUMP(a->latency_us, us);
    if (reason)
        BUMP(a->denied[reason], 1);
    if (upstream_error)
        BUMP(a->upstream[upstream_error & 3], 1);
}

/* ---- rendering ---- */

static uint64_t sum(struct gh_stats *const *w, size_t n, size_t off)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += atomic_load_explicit((_Atomic uint64_t *)((char *)w[i] + off), memory_order_relaxed);
    return t;
}

#define OFF(slot, field)                                                                                     \
    (offsetof(struct gh_stats, api) + (size_t)(slot) * sizeof(struct gh_api_stats) +                         \
     offsetof(struct gh_api_stats, field))

void gh_stats_render(struct gh_stats *const *w, size_t n, struct gh_buf *out)
{
    static const char *const classes[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    static const char *const upstream[4] = {"", "unavailable", "timeout", "invalid_response"};
    static const char *const le[GH_STATS_BUCKETS] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                                     "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
    gh_buf_adds(out, "# HELP gatehouse_requests_total Requests answered, by API and status class.\n"
                     "# TYPE gatehouse_requests_total counter\n");
    for (int s = 0; s < nslots; s++)
        for (int c = 0; c < 6; c++) {
            uint64_t v = sum(w, n, OFF(s, by_class[c]));
            if (v || (c == 2 && s > 0))
                gh_buf_addf(out, "gatehouse_requests_total{api=\"%s\",code=\"%s\"} %llu\n", slot_names[s],
                            classes[c], (unsigned long long)v);
        }
    gh_buf_adds(out,
                "# HELP gatehouse_request_duration_seconds Time from the request head to the last byte of "
                "the response.\n# TYPE gatehouse_request_duration_seconds histogram\n");
    for (int s = 0; s < nslots; s++) {
        uint64_t cum = 0;
        for (int b = 0; b < GH_STATS_BUCKETS; b++) {
            cum += sum(w, n, OFF(s, buckets[b]));
            gh_buf_addf(out, "gatehouse_request_duration_seconds_bucket{api=\"%s\",le=\"%s\"} %llu\n",
                        slot_names[s], le[b], (unsigned long long)cum);
        }
        uint64_t us = sum(w, n, OFF(s, latency_us));
        gh_buf_addf(out, "gatehouse_request_duration_seconds_sum{api=\"%s\"} %llu.%06llu\n", slot_names[s],
                    (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000));
        gh_buf_addf(out, "gatehouse_request_duration_seconds_count{api=\"%s\"} %llu\n", slot_names[s],
                    (unsigned long long)cum);
    }
    gh_buf_adds(
        out, "# HELP gatehouse_denied_total Requests refused by the gateway, by API and reason "
             "(malformed and unknown credentials show guessing).\n# TYPE gatehouse_denied_total counter\n");
    for (int s = 0; s < nslots; s++)
        for (int r = 1; r < GH_DENY_COUNT; r++) {
            uint64_t v = sum(w, n, OFF(s, denied[r]));
            if (v)
                gh_buf_addf(out, "gatehouse_denied_total{api=\"%s\",reason=\"%s\"} %llu\n", slot_names[s],
                            gh_deny_names[r], (unsigned long long)v);
        }
    gh_buf_adds(out, "# HELP gatehouse_throttled_total Requests refused for a spent rate limit or quota.\n"
                     "# TYPE gatehouse_throttled_total counter\n");
    for (int s = 1; s < nslots; s++) {
        uint64_t v = sum(w, n, OFF(s, denied[GH_DENY_RATE]));
        v += sum(w, n, OFF(s, denied[GH_DENY_QUOTA]));
        gh_buf_addf(out, "gatehouse_throttled_total{api=\"%s\"} %llu\n", slot_names[s],
                    (unsigned long long)v);
    }
    gh_buf_adds(out,
                "# HELP gatehouse_upstream_errors_total Upstream exchanges that failed, by API and kind.\n"
                "# TYPE gatehouse_upstream_errors_total counter\n");
    for (int s = 1; s < nslots; s++)
        for (int u = 1; u < 4; u++) {
            uint64_t v = sum(w, n, OFF(s, upstream[u]));
            if (v)
                gh_buf_addf(out, "gatehouse_upstream_errors_total{api=\"%s\",kind=\"%s\"} %llu\n",
                            slot_names[s], upstream[u], (unsigned long long)v);
        }
}

/* ---- usage ---- */

static uint64_t app_hash(const char *app)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = app; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

/* The row for (app, slot) in t, made when missing (t grows at three quarters full); happ is a hash of
 * app (the request path has one already). */
static struct gh_usage_row *row_for(struct gh_usage_table *t, const char *app, uint64_t happ, int slot)
{
    if (t->used * 4 >= t->cap * 3) {
        struct gh_usage_table bigger = {gh_calloc(t->cap ? t->cap * 2 : 64, sizeof(struct gh_usage_row)),
                                        t->cap ? t->cap * 2 : 64, 0};
        for (size_t i = 0; i < t->cap; i++)
            if (t->rows[i].app[0]) {
                *row_for(&bigger, t->rows[i].app, app_hash(t->rows[i].app), t->rows[i].slot) = t->rows[i];
            }
        free(t->rows);
        *t = bigger;
    }
    size_t i = (size_t)((happ ^ (uint64_t)slot * 0x9e3779b97f4a7c15ull) & (t->cap - 1));
    while (t->rows[i].app[0] && (t->rows[i].slot != slot || strcmp(t->rows[i].app, app) != 0))
        i = (i + 1) & (t->cap - 1);
    struct gh_usage_row *r = &t->rows[i];
    if (r->app[0] == '\0') {
        snprintf(r->app, sizeof(r->app), "%s", app);
        r->slot = slot;
        t->used++;
    }
    return r;
}

void gh_usage_count(struct gh_usage_table *t, const char *app, uint64_t happ, int slot, int status,
                    int throttled)
{
    struct gh_usage_row *r = row_for(t, app, happ, slot);
    r->requests++;
    if (status < 400)
        r->ok++;
    else if (status < 500)
        r->client_errors++;
    else
        r->server_errors++;
    r->throttled += throttled != 0;
}

static pthread_mutex_t handed_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gh_usage_table handed;

static void add_row(struct gh_usage_table *t, const struct gh_usage_row *src)
{
    struct gh_usage_row *r = row_for(t, src->app, app_hash(src->app), src->slot);
    r->requests += src->requests;
    r->ok += src->ok;
    r->client_errors += src->client_errors;
    r->server_errors += src->server_errors;
    r->throttled += src->throttled;
}

void gh_usage_hand_over(struct gh_usage_table *t)
{
    if (t->used == 0)
        return;
    pthread_mutex_lock(&handed_lock);
    for (size_t i = 0; i < t->cap; i++)
        if (t->rows[i].app[0])
            add_row(&handed, &t->rows[i]);
    pthread_mutex_unlock(&handed_lock);
    memset(t->rows, 0, t->cap * sizeof(*t->rows));
    t->used = 0;
}

void gh_usage_table_free(struct gh_usage_table *t)
{
    free(t->rows);
    memset(t, 0, sizeof(*t));
}

size_t gh_usage_take(struct gh_usage_row **rows)
{
    pthread_mutex_lock(&handed_lock);
    struct gh_usage_table t = handed;
    memset(&handed, 0, sizeof(handed));
    pthread_mutex_unlock(&handed_lock);
    size_t n = 0;
    for (size_t i = 0; i < t.cap; i++)
        if (t.rows[i].app[0])
            t.rows[n++] = t.rows[i];
    *rows = t.rows;
    return n;
}
