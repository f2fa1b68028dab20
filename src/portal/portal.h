/*
 * portal: the control plane's HTTP listener, on the control thread's loop. It serves GET /healthz
 * itself and hands every other request to one handler (the control API: src/portal/api.c).
 */
#ifndef GH_PORTAL_H
#define GH_PORTAL_H

#include "../base/base.h"

#include <uv.h>

struct gh_portal;
struct gh_http_head;

#define GH_PORTAL_MAX_BODY (8 << 20) /* the largest request body (an entity with its API definition) */

/* A whole request, valid during the handler call. */
struct gh_preq {
    const struct gh_http_head *h;
    int method;          /* enum gh_http_method */
    struct gh_str path;  /* as sent (percent-encoded) */
    struct gh_str query; /* after '?', empty when none */
    const char *body;
    size_t body_len;
    int loopback; /* the client connected from 127.0.0.0/8 or ::1 */
};

/* What the handler answers: status, content type (default application/json), body, and any extra
 * header lines ("Name: value\r\n" each). */
struct gh_portal_pending;
struct gh_presp {
    int status;
    const char *ctype;
    struct gh_buf body;
    struct gh_buf headers;
    struct gh_portal_pending *deferred; /* set by gh_portal_defer */
    int html;                           /* the answer is a page: errors as pages too */
};

/* From inside a handler: the answer will come later, from gh_portal_finish on the same loop (after
 * work on the thread pool, say). The connection reads nothing more until then. The request (struct
 * gh_preq) is not valid after the handler returns: copy what the answer needs. */
struct gh_portal_pending *gh_portal_defer(struct gh_presp *resp);
/* Sends resp (its buffers are freed); if the client has gone meanwhile, only frees. */
void gh_portal_finish(struct gh_portal_pending *p, struct gh_presp *resp);

typedef void (*gh_portal_handler)(void *ctx, const struct gh_preq *req, struct gh_presp *resp);

/* Listens on "host:port" (port 0 picks one; logged); every request but /healthz goes to handler
 * (NULL: 404). Returns 0 or GH_EIO with err set. */
int gh_portal_start(uv_loop_t *loop, const char *listen, size_t max_head, gh_portal_handler handler,
                    void *ctx, struct gh_portal **out, struct gh_err *err);

/* Stops listening and closes every connection; the portal frees itself once its handles are closed. */
void gh_portal_stop(struct gh_portal *p);

#endif
