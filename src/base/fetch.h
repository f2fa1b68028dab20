/*
 * fetch: outbound HTTP(S) GETs through libcurl (the one file that talks to it) -- discovery
 * documents and JWKS now, webhooks later. Blocking: call it from libuv's thread pool, never from a
 * loop thread.
 */
#ifndef GH_FETCH_H
#define GH_FETCH_H

#include "base.h"
#include "netguard.h"

struct gh_fetch_result {
    long status; /* HTTP status */
    struct gh_buf body;
};

/* GETs url (http or https only; redirects not followed) with the timeout and a cap on the body.
 * Returns 0 with the status and body (caller frees body), or GH_EIO with why in err. */
int gh_fetch(const char *url, uint64_t timeout_ms, size_t max_bytes, struct gh_fetch_result *out,
             struct gh_err *err);

/* The same with a request: method POST when form is not NULL (an
 * application/x-www-form-urlencoded body), HTTP Basic credentials when user is not NULL, and a
 * bearer token when bearer is not NULL. */
struct gh_fetch_req {
    const char *url;
    const char *form;
    const char *user, *password; /* Basic: each form-urlencoded first, as RFC 6749 2.3.1 asks */
    const char *bearer;
    uint64_t timeout_ms;
    size_t max_bytes;
    /* POST this body instead (with its Content-Type), and more header lines ("Name: value", NULL-ended) */
    const char *body, *content_type;
    const char *const *headers;
    /* connect only to addresses netguard allows (with these blocks allowed too); proxies are not used.
     * A denied address fails the transfer with why in err. */
    int guard;
    const struct gh_cidr *allow;
    size_t nallow;
};
int gh_fetch_req(const struct gh_fetch_req *r, struct gh_fetch_result *out, struct gh_err *err);

/* Appends s to b percent-encoded for a URL query or form value (all but A-Z a-z 0-9 - . _ ~). */
void gh_url_encode(struct gh_buf *b, const char *s);

#endif
