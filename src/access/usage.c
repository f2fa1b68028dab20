/*
 * usage.c: see usage.h.
 */
#include "usage.h"

#include <stdio.h>
#include <string.h>

int gh_usage_add(struct gh_store *s, uint64_t at_ms, const char *app_id, const char *api,
                 const struct gh_usage_counts *c, struct gh_err *err)
{
    char minute[40];
    gh_time_rfc3339(at_ms - at_ms % 60000, minute, sizeof(minute));
    minute[16] = 'Z'; /* YYYY-MM-DDTHH:MMZ */
    minute[17] = '\0';
    struct gh_store_val p[] = {GH_VTEXT(minute),
                               GH_VTEXT(app_id),
                               GH_VTEXT(api),
                               GH_VINT((int64_t)c->requests),
                               GH_VINT((int64_t)c->ok),
                               GH_VINT((int64_t)c->client_errors),
                               GH_VINT((int64_t)c->server_errors),
                               GH_VINT((int64_t)c->throttled)};
    return gh_store_exec(
        s,
        "INSERT INTO usage (minute, app_id, api, requests, ok, client_errors, server_errors, "
        "throttled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (minute, app_id, api) DO UPDATE SET "
        "requests = usage.requests + excluded.requests, ok = usage.ok + excluded.ok, "
        "client_errors = usage.client_errors + excluded.client_errors, "
        "server_errors = usage.server_errors + excluded.server_errors, "
        "throttled = usage.throttled + excluded.throttled",
        p, 8, NULL, NULL, err);
}

/* A time parameter as the minute key's prefix form: "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[...]". */
static int time_param(const char *in, char out[18])
{
    size_t n = strlen(in);
    static const char shape[] = "dddd-dd-ddTdd:dd";
    if (n != 10 && n < 16)
        return -1;
    for (size_t i = 0; i < (n == 10 ? 10 : 16); i++)
        if (shape[i] == 'd' ? (in[i] < '0' || in[i] > '9') : in[i] != shape[i])
            return -1;
    snprintf(out, 18, "%.*s%s", n == 10 ? 10 : 16, in, n == 10 ? "T00:00Z" : "Z");
    return 0;
}

struct series_ctx {
    struct gh_json *series, *cur;
    char app[64], api[64];
};

static int on_point(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct series_ctx *x = ctx;
    if (n < 8)
        return 0;
    if (x->cur == NULL || strncmp(x->app, c[0].p, c[0].len) != 0 || x->app[c[0].len] != '\0' ||
        strncmp(x->api, c[1].p, c[1].len) != 0 || x->api[c[1].len] != '\0') {
        snprintf(x->app, sizeof(x->app), "%.*s", (int)c[0].len, c[0].p);
        snprintf(x->api, sizeof(x->api), "%.*s", (int)c[1].len, c[1].p);
        struct gh_json *s = gh_json_object();
        gh_json_set(s, "app", gh_json_string(c[0].p, c[0].len));
        gh_json_set(s, "api", gh_json_string(c[1].p, c[1].len));
        x->cur = gh_json_array();
        gh_json_set(s, "points", x->cur);
        gh_json_append(x->series, s);
    }
    static const char *const names[] = {"requests", "ok", "clientErrors", "serverErrors", "throttled"};
    struct gh_json *pt = gh_json_object();
    gh_json_set(pt, "t", gh_json_string(c[2].p, c[2].len));
    for (size_t i = 0; i < 5; i++)
        gh_json_set(pt, names[i], gh_json_int(c[3 + i].i));
    gh_json_append(x->cur, pt);
    return 0;
}

int gh_usage_series(struct gh_store *s, const struct gh_usage_query *q, struct gh_json **out,
                    struct gh_err *err)
{
    *out = NULL;
    const char *bucket = q->bucket ? q->bucket : "hour";
    /* the bucket is a prefix of the minute key, completed back to a time */
    int len = strcmp(bucket, "minute") == 0 ? 17
              : strcmp(bucket, "hour") == 0 ? 13
              : strcmp(bucket, "day") == 0  ? 10
                                            : 0;
    if (len == 0)
        return gh_err_set(err, GH_EINVAL, "bucket: minute, hour or day");
    char since[18], until[18], tmp[40];
    uint64_t now = gh_time_wall_ms();
    if (q->since ? time_param(q->since, since) : 0)
        return gh_err_set(err, GH_EINVAL, "since: a time like 2026-11-27 or 2026-11-27T10:00Z");
    if (q->until ? time_param(q->until, until) : 0)
        return gh_err_set(err, GH_EINVAL, "until: a time like 2026-11-27 or 2026-11-27T10:00Z");
    if (!q->since) {
        gh_time_rfc3339(now - 86400000ull, tmp, sizeof(tmp));
        time_param(tmp, since);
    }
    if (!q->until) {
        gh_time_rfc3339(now + 60000, tmp, sizeof(tmp));
        time_param(tmp, until);
    }
    char sql[900];
    const char *suffix = len == 17 ? "" : len == 13 ? ":00Z" : "T00:00Z";
    snprintf(
        sql, sizeof(sql),
        "SELECT a.name, u.api, substr(u.minute, 1, %d) || '%s', SUM(u.requests), SUM(u.ok), "
        "SUM(u.client_errors), SUM(u.server_errors), SUM(u.throttled) "
        "FROM usage u JOIN applications a ON a.id = u.app_id "
        "WHERE u.minute >= $1 AND u.minute < $2 AND ($3 = '' OR a.name = $3) AND ($4 = '' OR u.api = $4) "
        "GROUP BY a.name, u.api, substr(u.minute, 1, %d) ORDER BY a.name, u.api, 3",
        len, suffix, len);
    struct gh_store_val p[] = {GH_VTEXT(since), GH_VTEXT(until), GH_VTEXT(q->app ? q->app : ""),
                               GH_VTEXT(q->api ? q->api : "")};
    struct series_ctx x = {gh_json_array(), NULL, "", ""};
    if (gh_store_exec(s, sql, p, 4, on_point, &x, err) != 0) {
        gh_json_unref(x.series);
        return GH_EIO;
    }
    struct gh_json *res = gh_json_object();
    gh_json_set(res, "bucket", gh_json_string(bucket, strlen(bucket)));
    gh_json_set(res, "since", gh_json_string(since, strlen(since)));
    gh_json_set(res, "until", gh_json_string(until, strlen(until)));
    gh_json_set(res, "series", x.series);
    *out = res;
    return 0;
}
