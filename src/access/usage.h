/*
 * usage: requests per application, API and minute in the store (the gateway counts them per worker;
 * the control thread writes them once a minute), and the series the portal charts.
 */
#ifndef GH_ACCESS_USAGE_H
#define GH_ACCESS_USAGE_H

#include "../base/json.h"
#include "../store/store.h"

struct gh_usage_counts {
    uint64_t requests, ok, client_errors, server_errors, throttled;
};

/* Adds counts to (minute of at_ms, application id, API); inside the caller's transaction if any. */
int gh_usage_add(struct gh_store *s, uint64_t at_ms, const char *app_id, const char *api,
                 const struct gh_usage_counts *c, struct gh_err *err);

struct gh_usage_query {
    const char *app;    /* application name; NULL: all */
    const char *api;    /* NULL: all */
    const char *since;  /* RFC 3339 time or date, inclusive; NULL: 24 hours ago */
    const char *until;  /* exclusive; NULL: now */
    const char *bucket; /* "minute", "hour" (default) or "day" */
};

/* *out = {"bucket","since","until","series":[{"app","api","points":[{"t","requests","ok","clientErrors",
 * "serverErrors","throttled"}]}]} (new reference). Returns 0, GH_EINVAL for a bad parameter, or GH_EIO. */
int gh_usage_series(struct gh_store *s, const struct gh_usage_query *q, struct gh_json **out,
                    struct gh_err *err);

#endif
