/*
 * portal.c: a small buffered HTTP/1.1 server for the control plane, using the same strict parser as
 * the gateway. Control-plane requests are small, so each connection reads a whole request (head and
 * Content-Length body, bounded) into one buffer and answers it; the handler runs on the control thread.
 * Chunked request bodies are refused with 411: every client of the control API sends a length.
 */
#include "portal.h"

#include "../gateway/gateway.h"
#include "../http/http.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pconn {
    uv_tcp_t tcp;
    struct gh_portal *p;
    struct pconn *prev, *next;
    char *buf;
    size_t len, cap;
    int closing;
    int continued;                     /* 100 Continue sent for the request being read */
    int loopback;                      /* the peer is 127.0.0.0/8 or ::1 */
    struct gh_portal_pending *pending; /* a deferred answer is awaited */
    struct gh_http_head h;
};

struct gh_portal_pending {
    struct pconn *c; /* NULL once the connection has gone */
    int head_only, close_after;
};

struct gh_portal {
    uv_tcp_t listener;
    size_t max_head;
    struct pconn *conns;
    int stopping;
    int handles; /* listener + connections; the portal is freed when the last one is closed */
    gh_portal_handler handler;
    void *handler_ctx;
};

static void portal_release(struct gh_portal *p)
{
    if (--p->handles == 0)
        free(p);
}

struct pwrite {
    uv_write_t req;
    char data[];
};

static void on_conn_closed(uv_handle_t *h)
{
    struct pconn *c = h->data;
    if (c->pending)
        c->pending->c = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    struct gh_portal *p = c->p;
    free(c->buf);
    free(c);
    portal_release(p);
}

static void conn_close(struct pconn *c)
{
    if (!c->closing) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    }
}

static void on_written(uv_write_t *req, int status)
{
    struct pconn *c = req->handle->data;
    free(req);
    if (status < 0 || c->closing == 2) {
        c->closing = 0;
        conn_close(c);
    }
}

static void write_raw(struct pconn *c, const char *data, size_t len)
{
    struct pwrite *w = gh_malloc(sizeof(*w) + len);
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(w);
        conn_close(c);
    }
}

static void respond_full(struct pconn *c, int status, const char *ctype, const char *headers,
                         const char *body, size_t bl, int head_only, int close_after)
{
    size_t hl = headers ? strlen(headers) : 0;
    struct pwrite *w = gh_malloc(sizeof(*w) + bl + hl + 512);
    int n =
        snprintf(w->data, hl + 512,
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
                 "X-Content-Type-Options: nosniff\r\n%s%s\r\n",
                 status, gh_http_reason(status), ctype, bl, headers ? headers : "",
                 close_after ? "Connection: close\r\n" : "");
    if (!head_only && status != 204 && status != 304) {
        memcpy(w->data + n, body, bl);
        n += (int)bl;
    }
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(w);
        conn_close(c);
        return;
    }
    if (close_after)
        c->closing = 2; /* close once written */
}

static void respond(struct pconn *c, int status, const char *ctype, const char *body, int close_after)
{
    respond_full(c, status, ctype, NULL, body, strlen(body), 0, close_after);
}

static void error_json(struct pconn *c, int status, const char *message, int close_after)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"error\":{\"name\":\"%s\",\"message\":\"%s\"},\"response\":{\"statusCode\":%d}}\n",
             status == 404   ? "NotFoundError"
             : status == 405 ? "NotAllowedError"
                             : "InputError",
             message, status);
    respond(c, status, "application/json", body, close_after);
}

static void handle(struct pconn *c, int rc, const char *body, size_t body_len)
{
    struct gh_http_head *h = &c->h;
    if (rc < 0) {
        error_json(c, -rc, h->error, 1);
        return;
    }
    int close_after = !h->keep_alive || c->p->stopping;
    if (gh_str_eq(h->path, "/healthz")) {
        if (h->method_id == GH_METHOD_GET || h->method_id == GH_METHOD_HEAD)
            respond(c, 200, "application/json", "{\"status\":\"ok\"}\n", close_after);
        else
            error_json(c, 405, "method not allowed", close_after);
        return;
    }
    if (c->p->handler == NULL) {
        error_json(c, 404, "not found", close_after);
        return;
    }
    struct gh_preq req = {.h = h,
                          .method = h->method_id,
                          .path = h->path,
                          .query = h->has_query ? h->query : (struct gh_str){"", 0},
                          .body = body,
                          .body_len = body_len,
                          .loopback = c->loopback};
    struct gh_presp resp = {0, NULL, {0}, {0}, NULL};
    c->p->handler(c->p->handler_ctx, &req, &resp);
    if (resp.deferred) {
        resp.deferred->c = c;
        resp.deferred->head_only = h->method_id == GH_METHOD_HEAD;
        resp.deferred->close_after = close_after;
        c->pending = resp.deferred;
        gh_buf_free(&resp.body);
        gh_buf_free(&resp.headers);
        return;
    }
    if (resp.status == 0)
        resp.status = 500;
    respond_full(c, resp.status, resp.ctype ? resp.ctype : "application/json", resp.headers.p,
                 resp.body.p ? resp.body.p : "", resp.body.len, h->method_id == GH_METHOD_HEAD, close_after);
    gh_buf_free(&resp.body);
    gh_buf_free(&resp.headers);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct pconn *c = h->data;
    buf->base = c->buf + c->len;
    buf->len = c->cap - c->len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Answers every whole request in the buffer, in order; stops at a deferred one. */
static void process(struct pconn *c)
{
    while (c->len > 0 && !c->closing && !c->pending) {
        int rc = gh_http_parse_request(c->buf, c->len, c->p->max_head, &c->h);
        if (rc == 0) {
            if (c->len == c->cap)
                conn_close(c);
            return;
        }
        if (rc < 0) {
            handle(c, rc, NULL, 0);
            return; /* closing */
        }
        size_t body_len = 0;
        if (c->h.body == GH_BODY_CHUNKED) {
            error_json(c, 411, "a request body needs Content-Length here", 1);
            return;
        }
        if (c->h.body == GH_BODY_LENGTH) {
            if (c->h.content_length > GH_PORTAL_MAX_BODY) {
                char msg[96];
                snprintf(msg, sizeof(msg), "the body is larger than %d bytes", GH_PORTAL_MAX_BODY);
                error_json(c, 413, msg, 1);
                return;
            }
            body_len = (size_t)c->h.content_length;
            size_t need = (size_t)rc + body_len;
            if (c->len < need) {
                if (c->cap < need + 1) {
                    c->buf = gh_realloc(c->buf, need + 1);
                    c->cap = need + 1;
                }
                if (c->h.expect_continue && !c->continued) {
                    c->continued = 1;
                    write_raw(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
                }
                return; /* the head is parsed again when the rest arrives: cheap, and keeps no state */
            }
        }
        c->continued = 0;
        handle(c, rc, c->buf + rc, body_len);
        size_t used = (size_t)rc + body_len;
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        if (c->pending)
            uv_read_stop((uv_stream_t *)&c->tcp);
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct pconn *c = s->data;
    if (nread < 0 || c->closing) {
        if (nread < 0)
            conn_close(c);
        return;
    }
    c->len += (size_t)nread;
    process(c);
}

struct gh_portal_pending *gh_portal_defer(struct gh_presp *resp)
{
    resp->deferred = gh_calloc(1, sizeof(*resp->deferred));
    return resp->deferred;
}

void gh_portal_finish(struct gh_portal_pending *p, struct gh_presp *resp)
{
    struct pconn *c = p->c;
    if (c && !c->closing) {
        c->pending = NULL;
        respond_full(c, resp->status ? resp->status : 500, resp->ctype ? resp->ctype : "application/json",
                     resp->headers.p, resp->body.p ? resp->body.p : "", resp->body.len, p->head_only,
                     p->close_after || c->p->stopping);
        if (!c->closing && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
            process(c);
    } else if (c) {
        c->pending = NULL;
    }
    gh_buf_free(&resp->body);
    gh_buf_free(&resp->headers);
    free(p);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct gh_portal *p = l->data;
    if (status < 0)
        return;
    struct pconn *c = gh_calloc(1, sizeof(*c));
    c->p = p;
    c->cap = p->max_head + 1;
    c->buf = gh_malloc(c->cap);
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    p->handles++;
    c->next = p->conns;
    if (p->conns)
        p->conns->prev = c;
    p->conns = c;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close(c);
        return;
    }
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            c->loopback = (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
        } else if (ss.ss_family == AF_INET6) {
            const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
            c->loopback = IN6_IS_ADDR_LOOPBACK(a) ||
                          (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127); /* ::ffff:127.x.y.z */
        }
    }
}

int gh_portal_start(uv_loop_t *loop, const char *listen, size_t max_head, gh_portal_handler handler,
                    void *ctx, struct gh_portal **out, struct gh_err *err)
{
    int fd = gh_listen_socket(listen, 0, err);
    if (fd < 0)
        return GH_EIO;
    struct gh_portal *p = gh_calloc(1, sizeof(*p));
    p->max_head = max_head;
    p->handles = 1;
    p->handler = handler;
    p->handler_ctx = ctx;
    uv_tcp_init(loop, &p->listener);
    p->listener.data = p;
    int rc = uv_tcp_open(&p->listener, fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&p->listener, 128, on_connection);
    if (rc != 0) {
        close(fd);
        free(p);
        return gh_err_set(err, GH_EIO, "portal %s: %s", listen, uv_strerror(rc));
    }
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    char ip[64] = "?";
    int port = 0;
    if (uv_tcp_getsockname(&p->listener, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    gh_log(GH_LOG_INFO,
           ss.ss_family == AF_INET6 ? "portal listening on [%s]:%d" : "portal listening on %s:%d", ip, port);
    *out = p;
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    portal_release(h->data);
}

void gh_portal_stop(struct gh_portal *p)
{
    if (p == NULL)
        return;
    p->stopping = 1;
    for (struct pconn *c = p->conns; c; c = c->next)
        if (!c->closing || c->closing == 2) {
            c->closing = 0;
            conn_close(c);
        }
    uv_close((uv_handle_t *)&p->listener, on_listener_closed);
}
