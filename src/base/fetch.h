/*
 * fetch: outbound HTTP(S) GETs through libcurl (the one file that talks to it) -- discovery
 * documents and JWKS now, webhooks later. Blocking: call it from libuv's thread pool, never from a
 * loop thread.
 */
#ifndef GH_FETCH_H
#define GH_FETCH_H

#include "base.h"

struct gh_fetch_result {
    long status; /* HTTP status */
    struct gh_buf body;
};

/* GETs url (http or https only; redirects not followed) with the timeout and a cap on the body.
 * Returns 0 with the status and body (caller frees body), or GH_EIO with why in err. */
int gh_fetch(const char *url, uint64_t timeout_ms, size_t max_bytes, struct gh_fetch_result *out,
             struct gh_err *err);

#endif
