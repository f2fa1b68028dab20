/*
 * proxy.c: the request path. A client connection reads a request head, routes it, re-serialises it
 * for an upstream connection (pooled per worker and target), streams the body in both directions,
 * and logs the exchange.
 *
 * Memory stays bounded whatever the body size: each direction has one input buffer and at most one
 * write in flight. A write first goes out with uv_try_write (the usual case on loopback and LANs
 * finishes there, with no request object and no callback); only the rest of a partial write is queued,
 * and until it completes that direction reads nothing more into the buffer the write points at.
 * Reads are left started across keep-alive requests, so the kernel's interest set does not change per
 * request; a read side stops only when its buffer is full.
 */
#include "internal.h"

#include "auth.h"
#include "iplimit.h"
#include "mock.h"

#include "../http/http.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { C_HEAD = 0, C_CONNECT, C_BODY, C_WAIT, C_CLOSING };
enum { UP_CONNECTING = 0, UP_ACTIVE, UP_IDLE };
enum { DIR_REQ = 0, DIR_RESP = 1 };

#define MAX_SPANS 16
#define IOV_MAX_N (2 + 3 * MAX_SPANS + 1)
#define LINGER_MS 2000

struct upconn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_timer_t timer;
    struct worker *w;
    struct pool *pool;
    struct client *c;
    struct upconn *prev, *next; /* pool idle list */
    char *ibuf;
    size_t icap, ipos, ilen;
    int state;
    int handles; /* open libuv handles; freed at zero */
    unsigned reading : 1, reused : 1, got_bytes : 1, closing : 1, eof : 1, keep_alive : 1;
};

struct client {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t sreq;
    struct worker *w;
    struct client *prev, *next;
    int state;
    int handles;
    unsigned reading : 1, closing : 1, eof : 1, keep_alive : 1, req_done : 1, head_sent : 1, resp_started : 1,
        resp_done : 1, qpending : 1, rpending : 1, retried : 1, must_close : 1, lingering : 1,
        close_after : 1, chunk_out : 1, had_cl : 1, expect : 1, sent_continue : 1, in_input : 1,
        head_timer : 1, logged : 1;
    char *ibuf;
    size_t icap, ipos, ilen;
    char *qbuf; /* serialised request head */
    size_t qcap, qlen;
    char *obuf; /* response head or error response */
    size_t ocap, olen;
    struct gh_http_head h; /* the request head, then the response head */
    struct gh_snapshot *snap;
    const struct gh_api *api;
    size_t target_idx;
    struct upconn *up;
    int method, minor;
    int req_body;
    uint64_t req_left, req_bytes;
    struct gh_chunked req_ck;
    int resp_body;
    uint64_t resp_left, resp_bytes;
    struct gh_chunked resp_ck;
    int status;
    uint64_t t_start;
    uint32_t allow;              /* for a 405: the methods the path does take */
    enum gh_deny deny;           /* why the gateway refused it (metrics) */
    int upstream_error;          /* GH_UPSTREAM_* (metrics) */
    char app[GH_ACCESS_APP_MAX]; /* the caller's application, once authenticated (usage) */
    unsigned long app_hash;
    char extra[320]; /* header lines an error response carries (WWW-Authenticate, Retry-After, RateLimit) */
    const struct gh_http_header *traceparent;
    char rid[80];
    size_t rid_len;
    char meth[24];
    size_t meth_len;
    char path[256];
    size_t path_len;
    char peer[64];
    size_t peer_len;
    int peer_v6;
    char qhdr[MAX_SPANS][20];
    char rhdr[MAX_SPANS][20];
};

struct wreq {
    uv_write_t req;
    int dir;
};

static char CRLF[] = "\r\n";
static char LAST_CHUNK[] = "0\r\n\r\n";
static char CONTINUE[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void client_close(struct client *c, int graceful);
static void pump_request(struct client *c);
static void pump_response(struct client *c);
static void process_input(struct client *c);
static void update_client_reading(struct client *c);
static void send_error(struct client *c, int status, const char *msg);
static void send_answer(struct client *c, int status, const char *ctype, const char *body, size_t bl,
                        const char *headers);
static void send_mock(struct client *c);
static void connect_upstream(struct client *c);
static void up_close(struct upconn *up);

static inline char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUTS(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i)
        *p++ = tmp[--i];
    return p;
}

static size_t hex_line(char *out, uint64_t v)
{
    static const char hx[] = "0123456789abcdef";
    char tmp[20];
    int i = 0;
    do {
        tmp[i++] = hx[v & 15];
        v >>= 4;
    } while (v);
    size_t n = 0;
    while (i)
        out[n++] = tmp[--i];
    out[n++] = '\r';
    out[n++] = '\n';
    return n;
}

/* Grows a connection buffer to at least need bytes; they are allocated on first use, so a connection
 * that never sends a request costs only its input buffer. */
static void ensure(char **buf, size_t *cap, size_t need)
{
    if (need > *cap) {
        *cap = need;
        *buf = gh_realloc(*buf, need);
    }
}

/* "Date: <IMF-fixdate>\r\n" for now, made once a second per worker (RFC 9110 6.6.1: a proxy adds
 * Date to a response that has none). */
static const char *date_line(struct worker *w, size_t *len)
{
    time_t now = time(NULL);
    if (now != w->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        w->date_len =
            strftime(w->date_line, sizeof(w->date_line), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        w->date_sec = now;
    }
    *len = w->date_len;
    return w->date_line;
}

static inline const struct gh_config *cfg_of(struct client *c)
{
    return (c->snap ? c->snap : c->w->snap)->cfg;
}

/* ---- writing ---- */

static void on_write(uv_write_t *req, int status);

/*
 * Writes bufs to s: synchronously when the socket takes it all (returns 0), else queues the rest and
 * returns 1 (the data must stay put until on_write). Returns < 0 on a write error.
 */
static int send_bufs(uv_stream_t *s, uv_buf_t *b, unsigned n, int dir)
{
    int r = uv_try_write(s, b, n);
    if (r == UV_EAGAIN || r == UV_ENOSYS)
        r = 0;
    else if (r < 0)
        return r;
    size_t done = (size_t)r;
    while (n && done >= b->len) {
        done -= b->len;
        b++;
        n--;
    }
    if (n == 0)
        return 0;
    b->base += done;
    b->len -= done;
    struct wreq *w = gh_malloc(sizeof(*w));
    w->dir = dir;
    r = uv_write(&w->req, s, b, n, on_write);
    if (r < 0) {
        free(w);
        return r;
    }
    return 1;
}

/* ---- access log ---- */

/* Metrics and usage for the finished request. */
static void count_request(struct client *c, uint64_t latency_ns)
{
    struct worker *w = c->w;
    int slot = c->api ? c->api->stats_slot : 0;
    gh_stats_request(w->stats, slot, c->status, latency_ns, c->deny, c->upstream_error);
    if (c->app[0])
        gh_usage_count(&w->usage, c->app, c->app_hash, slot, c->status,
                       c->deny == GH_DENY_RATE || c->deny == GH_DENY_QUOTA);
}

static void log_access(struct client *c)
{
    if (c->logged || c->t_start == 0)
        return;
    c->logged = 1;
    uint64_t latency_ns = uv_hrtime() - c->t_start;
    count_request(c, latency_ns);
    struct accesslog *l = &c->w->log;
    const char *api = c->api ? c->api->name : NULL;
    size_t need = 300 + c->rid_len + c->meth_len + c->path_len + c->peer_len + (api ? strlen(api) : 0) + 64;
    char *p = gh__accesslog_reserve(l, need);
    if (p == NULL)
        return;
    char *s = p;
    p = PUTS(p, "{\"time\":\"");
    p += gh__accesslog_time(l, gh_time_wall_ms(), p);
    p = PUTS(p, "\",\"request_id\":\"");
    p = put(p, c->rid, c->rid_len);
    p = PUTS(p, "\",\"client\":\"");
    p = put(p, c->peer, c->peer_len);
    p = PUTS(p, "\",\"method\":\"");
    p = put(p, c->meth, c->meth_len);
    p = PUTS(p, "\",\"path\":\"");
    p = put(p, c->path, c->path_len);
    p = PUTS(p, "\",\"status\":");
    p = put_u64(p, (uint64_t)c->status);
    p = PUTS(p, ",\"bytes\":");
    p = put_u64(p, c->resp_bytes);
    if (api) {
        p = PUTS(p, ",\"api\":\"");
        p = put(p, api, strlen(api));
        p = PUTS(p, "\",\"upstream\":\"");
        const char *t = c->api->ntargets ? c->api->targets[c->target_idx].name : "mock";
        p = put(p, t, strlen(t));
        p = PUTS(p, "\"");
    } else {
        p = PUTS(p, ",\"api\":null,\"upstream\":null");
    }
    uint64_t us = latency_ns / 1000;
    p = PUTS(p, ",\"latency_ms\":");
    p = put_u64(p, us / 1000);
    *p++ = '.';
    *p++ = (char)('0' + us % 1000 / 100);
    *p++ = (char)('0' + us % 100 / 10);
    *p++ = (char)('0' + us % 10);
    p = PUTS(p, "}\n");
    l->len += (size_t)(p - s);
}

/* ---- upstream connections and pools ---- */

static struct pool *pool_for(struct worker *w, const struct gh_target *t)
{
    for (struct pool *p = w->pools; p; p = p->next)
        if (p->addrlen == t->addrlen && memcmp(&p->addr, &t->addr, t->addrlen) == 0)
            return p;
    struct pool *p = gh_calloc(1, sizeof(*p));
    memcpy(&p->addr, &t->addr, t->addrlen);
    p->addrlen = t->addrlen;
    p->next = w->pools;
    w->pools = p;
    return p;
}

static void pool_remove(struct upconn *up)
{
    struct pool *p = up->pool;
    if (up->prev)
        up->prev->next = up->next;
    else
        p->idle = up->next;
    if (up->next)
        up->next->prev = up->prev;
    up->prev = up->next = NULL;
    p->nidle--;
}

static void on_up_handle_closed(uv_handle_t *h)
{
    struct upconn *up = h->data;
    if (--up->handles == 0) {
        free(up->ibuf);
        free(up);
    }
}

static void detach(struct client *c)
{
    if (c->up) {
        c->up->c = NULL;
        c->up = NULL;
    }
    c->qpending = 0;
}

static void up_close(struct upconn *up)
{
    if (up->closing)
        return;
    up->closing = 1;
    if (up->state == UP_IDLE)
        pool_remove(up);
    if (up->c)
        detach(up->c);
    uv_close((uv_handle_t *)&up->tcp, on_up_handle_closed);
    uv_close((uv_handle_t *)&up->timer, on_up_handle_closed);
}

static void on_up_timer(uv_timer_t *t);
static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void pool_put(struct upconn *up)
{
    struct worker *w = up->w;
    struct pool *p = up->pool;
    const struct gh_config *cfg = w->snap->cfg;
    if (w->draining || p->nidle >= cfg->upstream_max_idle || !up->reading) {
        up_close(up);
        return;
    }
    up->c = NULL;
    up->state = UP_IDLE;
    up->ipos = up->ilen = 0;
    up->next = p->idle;
    up->prev = NULL;
    if (p->idle)
        p->idle->prev = up;
    p->idle = up;
    p->nidle++;
    uv_timer_start(&up->timer, on_up_timer, cfg->upstream_idle_timeout_ms, 0);
}

void gh__pools_close(struct worker *w)
{
    struct pool *p = w->pools;
    while (p) {
        while (p->idle)
            up_close(p->idle);
        struct pool *next = p->next;
        free(p);
        p = next;
    }
    w->pools = NULL;
}

static void on_up_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct upconn *up = h->data;
    if (up->ipos == up->ilen && !(up->c && up->c->rpending))
        up->ipos = up->ilen = 0;
    buf->base = up->ibuf + up->ilen;
    buf->len = up->icap - up->ilen;
}

static void update_up_reading(struct upconn *up)
{
    if (up->closing || up->eof)
        return;
    int pinned = up->c && up->c->rpending;
    if (!pinned && up->ipos == up->ilen)
        up->ipos = up->ilen = 0;
    int want = up->ilen < up->icap;
    if (want && !up->reading) {
        if (uv_read_start((uv_stream_t *)&up->tcp, on_up_alloc, on_up_read) == 0)
            up->reading = 1;
    } else if (!want && up->reading) {
        uv_read_stop((uv_stream_t *)&up->tcp);
        up->reading = 0;
    }
}

/* A request may be tried again on another connection only if the first try cannot have had an effect. */
static int retry_allowed(struct client *c, struct upconn *up)
{
    if (c->retried || c->resp_started)
        return 0;
    if (up == NULL || up->state == UP_CONNECTING)
        return 1; /* nothing was sent */
    int idempotent = c->method == GH_METHOD_GET || c->method == GH_METHOD_HEAD ||
                     c->method == GH_METHOD_OPTIONS || c->method == GH_METHOD_PUT ||
                     c->method == GH_METHOD_DELETE || c->method == GH_METHOD_TRACE;
    /* a kept-alive connection the upstream closed just as we reused it */
    return up->reused && !up->got_bytes && idempotent && c->req_body == GH_BODY_NONE;
}

static void serialize_request(struct client *c);

/*
 * The exchange with the upstream failed. `timeout`: the upstream was too slow (504) rather than
 * unreachable or gone (502). A timeout on a connection that was already carrying the request is never
 * retried: the upstream has the request and is slow, and a second try would only double its load.
 */
static void upstream_failed(struct client *c, int timeout, const char *why)
{
    struct upconn *up = c->up;
    int connecting = up == NULL || up->state == UP_CONNECTING;
    const struct gh_target *t = &c->api->targets[c->target_idx];
    int retry = (connecting || !timeout) && retry_allowed(c, up);
    c->upstream_error = timeout ? GH_UPSTREAM_TIMEOUT : GH_UPSTREAM_UNAVAILABLE;
    gh_log(GH_LOG_WARN, "%.*s: upstream %s: %s%s", (int)c->rid_len, c->rid, t->name, why,
           retry ? " (retrying)" : "");
    if (retry) {
        c->retried = 1;
        if (up)
            up_close(up);
        if (connecting && c->api->ntargets > 1) {
            /* another target: its Host and base path differ; the request head is still intact */
            c->target_idx = (c->target_idx + 1) % c->api->ntargets;
            serialize_request(c);
        }
        c->head_sent = 0;
        connect_upstream(c);
        return;
    }
    if (up)
        up_close(up);
    if (c->resp_started) {
        client_close(c, 0); /* the client sees a truncated response, as it must */
        return;
    }
    c->must_close |= !c->req_done;
    send_error(c, timeout ? 504 : 502, timeout ? "upstream timed out" : "upstream unavailable");
}

static void on_up_timer(uv_timer_t *t)
{
    struct upconn *up = t->data;
    if (up->state == UP_IDLE || up->c == NULL) {
        up_close(up);
        return;
    }
    upstream_failed(up->c, 1, up->state == UP_CONNECTING ? "connect timeout" : "response timeout");
}

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct upconn *up = s->data;
    if (nread > 0) {
        up->ilen += (size_t)nread;
        up->got_bytes = 1;
        struct client *c = up->c;
        if (c == NULL || up->state != UP_ACTIVE) {
            up_close(up); /* bytes nobody asked for on an idle connection */
            return;
        }
        pump_response(c);
        if (up->closing)
            return;
        /* the upstream spoke: its silence clock starts over, unless this read finished the response
         * (the usual case, which then costs no timer work) */
        c = up->c;
        if (up->state == UP_ACTIVE && c != NULL && !c->resp_done && c->req_done)
            uv_timer_start(&up->timer, on_up_timer, c->api->timeout_ms, 0);
        update_up_reading(up);
        return;
    }
    if (nread == 0)
        return;
    if (nread == UV_ENOBUFS) {
        uv_read_stop(s);
        up->reading = 0;
        return;
    }
    up->eof = 1;
    uv_read_stop(s);
    up->reading = 0;
    struct client *c = up->c;
    if (c == NULL || up->state != UP_ACTIVE) {
        up_close(up);
        return;
    }
    if (c->resp_done)
        return;
    if (!c->resp_started && up->ipos == up->ilen) {
        upstream_failed(
            c, 0, nread == UV_EOF ? "closed the connection without a response" : uv_strerror((int)nread));
        return;
    }
    /* what is buffered may still complete the response (or the close may be its end) */
    pump_response(c);
}

static void on_up_connect(uv_connect_t *req, int status)
{
    struct upconn *up = req->data;
    if (up->closing)
        return;
    struct client *c = up->c;
    if (status < 0) {
        upstream_failed(c, 0, uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&up->tcp, 1);
    up->state = UP_ACTIVE;
    uv_timer_stop(&up->timer);
    update_up_reading(up);
    c->state = C_BODY;
    pump_request(c);
}

static void connect_upstream(struct client *c)
{
    struct worker *w = c->w;
    const struct gh_target *t = &c->api->targets[c->target_idx];
    struct pool *p = pool_for(w, t);
    if (p->idle && !c->retried) {
        struct upconn *up = p->idle;
        pool_remove(up);
        uv_timer_stop(&up->timer);
        size_t want = cfg_of(c)->header_bytes + 16384;
        if (up->icap < want) { /* header_bytes was raised by a reload; the connection is idle and empty */
            up->ibuf = gh_realloc(up->ibuf, want);
            up->icap = want;
        }
        up->state = UP_ACTIVE;
        up->reused = 1;
        up->got_bytes = 0;
        up->c = c;
        c->up = up;
        c->state = C_BODY;
        pump_request(c);
        return;
    }
    struct upconn *up = gh_calloc(1, sizeof(*up));
    up->w = w;
    up->pool = p;
    up->icap = cfg_of(c)->header_bytes + 16384;
    up->ibuf = gh_malloc(up->icap);
    uv_tcp_init(&w->loop, &up->tcp);
    uv_timer_init(&w->loop, &up->timer);
    up->handles = 2;
    up->tcp.data = up->timer.data = up->creq.data = up;
    up->state = UP_CONNECTING;
    up->c = c;
    c->up = up;
    c->state = C_CONNECT;
    int rc = uv_tcp_connect(&up->creq, &up->tcp, (const struct sockaddr *)&t->addr, on_up_connect);
    if (rc < 0) {
        upstream_failed(c, 0, uv_strerror(rc));
        return;
    }
    uv_timer_start(&up->timer, on_up_timer, c->api->connect_timeout_ms, 0);
}

/* ---- request head ---- */

static int valid_request_id(struct gh_str v)
{
    if (v.len == 0 || v.len > 64)
        return 0;
    for (size_t i = 0; i < v.len; i++) {
        char ch = v.p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_' || ch == '.' || ch == ':'))
            return 0;
    }
    return 1;
}

/* W3C Trace Context: version-traceid-parentid-flags, lower-case hex, ids not all zero. */
static int valid_traceparent(struct gh_str v)
{
    static const int seg[] = {2, 32, 16, 2};
    size_t i = 0;
    for (int s = 0; s < 4; s++) {
        int nonzero = 0;
        for (int k = 0; k < seg[s]; k++, i++) {
            if (i >= v.len)
                return 0;
            char ch = v.p[i];
            if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
                return 0;
            nonzero |= ch != '0';
        }
        if ((s == 1 || s == 2) && !nonzero)
            return 0;
        if (s < 3) {
            if (i >= v.len || v.p[i] != '-')
                return 0;
            i++;
        }
    }
    if (v.p[0] == 'f' && v.p[1] == 'f')
        return 0;
    /* version 00 is exactly 55 characters; later versions may append fields after a '-' */
    return i == v.len || (!(v.p[0] == '0' && v.p[1] == '0') && v.p[i] == '-');
}

/* The portal's own cookies (gh_session, gh_login, __Host- or not): a browser sends them to every port
 * of the host, and a portal session must never reach an upstream. */
static int portal_cookie(const char *s, size_t n)
{
    if (n >= 7 && memcmp(s, "__Host-", 7) == 0) {
        s += 7;
        n -= 7;
    }
    return (n >= 11 && memcmp(s, "gh_session=", 11) == 0) || (n >= 9 && memcmp(s, "gh_login=", 9) == 0);
}

/* A Cookie header without the portal's cookies (as sent when it has none; dropped when nothing is left). */
static char *put_cookies(char *p, const struct gh_http_header *hd)
{
    struct gh_str v = hd->value;
    if (memmem(v.p, v.len, "gh_session=", 11) == NULL && memmem(v.p, v.len, "gh_login=", 9) == NULL) {
        p = put(p, hd->name.p, hd->name.len);
        p = PUTS(p, ": ");
        p = put(p, v.p, v.len);
        return PUTS(p, "\r\n");
    }
    char *start = p;
    p = put(p, hd->name.p, hd->name.len);
    p = PUTS(p, ": ");
    int kept = 0;
    for (const char *s = v.p, *end = v.p + v.len; s < end;) {
        while (s < end && (*s == ' ' || *s == ';'))
            s++;
        const char *semi = memchr(s, ';', (size_t)(end - s));
        if (semi == NULL)
            semi = end;
        const char *e = semi;
        while (e > s && e[-1] == ' ')
            e--;
        if (e > s && !portal_cookie(s, (size_t)(e - s))) {
            if (kept++)
                p = PUTS(p, "; ");
            p = put(p, s, (size_t)(e - s));
        }
        s = semi;
    }
    return kept ? PUTS(p, "\r\n") : start;
}

static void serialize_request(struct client *c)
{
    const struct gh_http_head *h = &c->h;
    const struct gh_api *api = c->api;
    const struct gh_target *t = &api->targets[c->target_idx];
    size_t tlen = strlen(t->authority);
    ensure(&c->qbuf, &c->qcap,
           h->head_len + t->base_len + 2 * tlen + 2 * h->host.len + 3 * c->peer_len + c->rid_len + 512);
    char *p = c->qbuf;
    p = put(p, h->method.p, h->method.len);
    *p++ = ' ';
    if (h->path.len == 1 && h->path.p[0] == '*' && t->base_len == 0) {
        *p++ = '*';
    } else {
        struct gh_str path = h->path;
        if (api->strip_prefix && !(api->prefix_len == 1)) {
            path.p += api->prefix_len;
            path.len -= api->prefix_len;
        }
        p = put(p, t->base_path, t->base_len);
        if (path.len == 0)
            *p++ = '/';
        else
            p = put(p, path.p, path.len);
    }
    if (h->has_query) {
        *p++ = '?';
        p = put(p, h->query.p, h->query.len);
    }
    p = PUTS(p, " HTTP/1.1\r\nHost: ");
    p = put(p, t->authority, tlen);
    p = PUTS(p, "\r\n");
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct gh_http_header *hd = &h->headers[i];
        if (hd->hop)
            continue;
        switch (hd->id) {
        case GH_HDR_X_FORWARDED_FOR:
        case GH_HDR_X_FORWARDED_PROTO:
        case GH_HDR_X_FORWARDED_HOST:
        case GH_HDR_FORWARDED:
        case GH_HDR_X_REQUEST_ID:
        case GH_HDR_TRACEPARENT:
            continue; /* the gateway owns these */
        case GH_HDR_COOKIE:
            p = put_cookies(p, hd);
            continue;
        }
        p = put(p, hd->name.p, hd->name.len);
        *p++ = ':';
        *p++ = ' ';
        p = put(p, hd->value.p, hd->value.len);
        p = PUTS(p, "\r\n");
    }
    /* the gateway is the edge: what a client claims about earlier hops is replaced, not trusted */
    p = PUTS(p, "X-Forwarded-For: ");
    p = put(p, c->peer, c->peer_len);
    p = PUTS(p, "\r\nX-Forwarded-Proto: http\r\n");
    if (h->host.len) {
        p = PUTS(p, "X-Forwarded-Host: ");
        p = put(p, h->host.p, h->host.len);
        p = PUTS(p, "\r\n");
    }
    p = PUTS(p, "Forwarded: for=");
    if (c->peer_v6) {
        p = PUTS(p, "\"[");
        p = put(p, c->peer, c->peer_len);
        p = PUTS(p, "]\"");
    } else {
        p = put(p, c->peer, c->peer_len);
    }
    if (h->host.len) {
        p = PUTS(p, ";host=\"");
        p = put(p, h->host.p, h->host.len);
        *p++ = '"';
    }
    /* RFC 9110 7.6.3: a gateway sends Via on the requests it forwards; a client's own Via went out above */
    p = PUTS(p, ";proto=http\r\nVia: 1.1 gatehouse\r\nX-Request-Id: ");
    p = put(p, c->rid, c->rid_len);
    p = PUTS(p, "\r\n");
    if (c->traceparent) {
        p = PUTS(p, "traceparent: ");
        p = put(p, c->traceparent->value.p, c->traceparent->value.len);
        p = PUTS(p, "\r\n");
    }
    if (h->body == GH_BODY_LENGTH) {
        p = PUTS(p, "Content-Length: ");
        p = put_u64(p, h->content_length);
        p = PUTS(p, "\r\n");
    } else if (h->body == GH_BODY_CHUNKED) {
        p = PUTS(p, "Transfer-Encoding: chunked\r\n");
    } else if (c->had_cl) {
        p = PUTS(p, "Content-Length: 0\r\n");
    }
    p = PUTS(p, "\r\n");
    c->qlen = (size_t)(p - c->qbuf);
}

static void make_request_id(struct client *c, const struct gh_http_header *given)
{
    if (given && valid_request_id(given->value)) {
        memcpy(c->rid, given->value.p, given->value.len);
        c->rid_len = given->value.len;
        return;
    }
    char *p = put(c->rid, c->w->rid_prefix, 16);
    *p++ = '-';
    p += hex_line(p, ++c->w->seq) - 2;
    c->rid_len = (size_t)(p - c->rid);
}

static void begin_request(struct client *c)
{
    c->t_start = uv_hrtime();
    c->logged = 0;
    c->status = 0;
    c->resp_bytes = c->req_bytes = 0;
    c->api = NULL;
    c->extra[0] = '\0';
    c->app[0] = '\0';
    c->deny = GH_DENY_NONE;
    c->upstream_error = 0;
    c->snap = gh_snapshot_ref(c->w->snap);
}

/* a refusal from auth.c, with its challenge, Retry-After and RateLimit headers */
static void refuse_request(struct client *c, const struct gh_auth_result *r)
{
    const struct gh_access_decision *d = &r->d;
    c->deny = d->reason;
    size_t n = 0, cap = sizeof(c->extra);
    if (r->challenge & GH_CHALLENGE_KEY)
        n += (size_t)snprintf(c->extra + n, cap - n, "WWW-Authenticate: ApiKey header=\"%s\"\r\n",
                              c->snap->cfg->apis[c->api->index].key_header);
    if ((r->challenge & GH_CHALLENGE_BEARER) && n < cap)
        n += (size_t)snprintf(c->extra + n, cap - n, "WWW-Authenticate: Bearer%s\r\n",
                              r->bearer_invalid ? " error=\"invalid_token\"" : "");
    if (d->retry_after_s && n < cap)
        n += (size_t)snprintf(c->extra + n, cap - n, "Retry-After: %llu\r\n",
                              (unsigned long long)d->retry_after_s);
    if (d->limit && n < cap)
        snprintf(c->extra + n, cap - n,
                 "RateLimit-Policy: \"%s\";q=%u;w=%llu\r\nRateLimit: \"%s\";r=%u;t=%llu\r\n", r->policy,
                 d->limit, (unsigned long long)d->window_s, r->policy, d->remaining,
                 (unsigned long long)d->reset_s);
    c->must_close |= !c->req_done;
    send_error(c, d->status, d->why);
}

/* rate_limit by client address: one shared GCRA state per (API, address) */
static int ip_allowed(struct client *c)
{
    struct gh_auth_result r = {.policy = "ip"};
    if (gh_auth_client_limit(c->api, (struct gh_str){c->peer, c->peer_len}, uv_hrtime(), &r))
        return 1;
    refuse_request(c, &r);
    return 0;
}

/* credentials, grant, rate limit and quota, and a limit by claim (auth.c) */
static int authorised(struct client *c)
{
    struct gh_auth_result r;
    gh_auth_request(c->snap, c->api, &c->h, c->w->cred_cache, uv_hrtime(), gh_time_wall_ms(), &r);
    const struct gh_access_decision *d = &r.d;
    if (d->app[0]) {
        memcpy(c->app, d->app, sizeof(c->app));
        c->app_hash = d->app_hash;
    }
    c->deny = d->reason;
    if (d->status == 0)
        return 1;
    refuse_request(c, &r);
    return 0;
}

static void on_request_head(struct client *c, int rc)
{
    struct gh_http_head *h = &c->h;
    begin_request(c);
    if (rc < 0) {
        c->rid_len = 0;
        make_request_id(c, NULL);
        c->meth_len = c->path_len = 0;
        c->must_close = 1;
        c->req_done = 0; /* where this request's body would end is unknown */
        gh_log(GH_LOG_INFO, "%.*s: %d: %s", (int)c->rid_len, c->rid, -rc, h->error);
        send_error(c, -rc, h->error);
        return;
    }
    c->ipos += (size_t)rc;
    const struct gh_http_header *rid = NULL;
    c->traceparent = NULL;
    c->had_cl = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        switch (h->headers[i].id) {
        case GH_HDR_X_REQUEST_ID:
            rid = &h->headers[i];
            break;
        case GH_HDR_TRACEPARENT:
            if (valid_traceparent(h->headers[i].value))
                c->traceparent = &h->headers[i];
            break;
        case GH_HDR_CONTENT_LENGTH:
            c->had_cl = 1;
            break;
        }
    }
    make_request_id(c, rid);
    c->meth_len = h->method.len < sizeof(c->meth) ? h->method.len : sizeof(c->meth);
    memcpy(c->meth, h->method.p, c->meth_len);
    c->path_len = h->path.len < sizeof(c->path) ? h->path.len : sizeof(c->path);
    memcpy(c->path, h->path.p, c->path_len);
    c->method = h->method_id;
    c->minor = h->minor;
    c->keep_alive = h->keep_alive;
    c->expect = h->expect_continue;
    c->req_body = h->body;
    c->req_left = h->content_length;
    memset(&c->req_ck, 0, sizeof(c->req_ck));
    c->req_done = h->body == GH_BODY_NONE;
    c->head_sent = c->resp_started = c->resp_done = c->retried = c->sent_continue = 0;
    uv_timer_stop(&c->timer);
    c->head_timer = 0;

    const struct gh_config *cfg = c->snap->cfg;
    if (h->body == GH_BODY_LENGTH && h->content_length > cfg->body_bytes) {
        c->must_close = 1;
        send_error(c, 413, "request body too large");
        return;
    }
    int st;
    const struct gh_route *rt =
        gh_router_match(&c->snap->router, h->host, h->method_id, h->path, &st, &c->allow);
    if (rt == NULL) {
        c->must_close |= !c->req_done;
        send_error(c, st, st == 405 ? "method not allowed for this API" : "no API matches this request");
        return;
    }
    c->api = rt->data;
    if (c->api->limit_by == GH_LIMIT_IP && !ip_allowed(c))
        return;
    if ((c->api->auth != GH_AUTH_NONE || c->api->limit_by == GH_LIMIT_CLAIM) && !authorised(c))
        return;
    if (c->api->mock) {
        send_mock(c);
        return;
    }
    struct worker *w = c->w;
    c->target_idx = c->api->ntargets > 1 ? w->rr[c->api->index]++ % c->api->ntargets : 0;
    serialize_request(c);
    connect_upstream(c);
}

/* ---- request body ---- */

static void request_sent(struct client *c)
{
    if (c->state == C_BODY)
        c->state = C_WAIT;
    uv_timer_stop(&c->timer);
    if (c->up && !c->resp_done)
        uv_timer_start(&c->up->timer, on_up_timer, c->api->timeout_ms, 0);
}

static void on_client_timer(uv_timer_t *t);

static void pump_request(struct client *c)
{
    if (c->state != C_BODY || c->qpending || (c->req_done && c->head_sent) || c->up == NULL)
        return;
    uv_buf_t b[IOV_MAX_N];
    unsigned n = 0;
    if (!c->head_sent)
        b[n++] = uv_buf_init(c->qbuf, (unsigned)c->qlen);
    if (c->req_body == GH_BODY_LENGTH) {
        size_t k = c->ilen - c->ipos;
        if (k > c->req_left)
            k = (size_t)c->req_left;
        if (k) {
            b[n++] = uv_buf_init(c->ibuf + c->ipos, (unsigned)k);
            c->ipos += k;
            c->req_left -= k;
            c->req_bytes += k;
        }
        c->req_done = c->req_left == 0;
    } else if (c->req_body == GH_BODY_CHUNKED) {
        for (int spans = 0; spans < MAX_SPANS && c->ipos < c->ilen && !c->req_done;) {
            size_t used, dl;
            const char *d, *why = NULL;
            int rc =
                gh_chunked_decode(&c->req_ck, c->ibuf + c->ipos, c->ilen - c->ipos, &used, &d, &dl, &why);
            if (rc < 0) {
                gh_log(GH_LOG_INFO, "%.*s: 400: %s", (int)c->rid_len, c->rid, why);
                if (c->up)
                    up_close(c->up);
                c->must_close = 1;
                send_error(c, 400, why);
                return;
            }
            c->ipos += used;
            if (dl) {
                c->req_bytes += dl;
                if (c->req_bytes > cfg_of(c)->body_bytes) {
                    if (c->up)
                        up_close(c->up);
                    c->must_close = 1;
                    send_error(c, 413, "request body too large");
                    return;
                }
                b[n++] = uv_buf_init(c->qhdr[spans], (unsigned)hex_line(c->qhdr[spans], dl));
                b[n++] = uv_buf_init((char *)d, (unsigned)dl);
                b[n++] = uv_buf_init(CRLF, 2);
                spans++;
            }
            if (rc == 1) {
                b[n++] = uv_buf_init(LAST_CHUNK, 5);
                c->req_done = 1;
            }
            if (used == 0)
                break;
        }
    }
    if (n == 0)
        return;
    if (!c->head_sent && c->expect && !c->req_done && c->ipos == c->ilen && !c->resp_started) {
        /* the client waits for this before it sends the body */
        uv_buf_t cb = uv_buf_init(CONTINUE, sizeof(CONTINUE) - 1);
        int r = send_bufs((uv_stream_t *)&c->tcp, &cb, 1, DIR_RESP);
        if (r < 0) {
            client_close(c, 0);
            return;
        }
        c->rpending = r == 1;
        c->sent_continue = 1;
    }
    c->head_sent = 1;
    int r = send_bufs((uv_stream_t *)&c->up->tcp, b, n, DIR_REQ);
    if (r < 0) {
        upstream_failed(c, 0, uv_strerror(r));
        return;
    }
    c->qpending = r == 1;
    if (!c->req_done) {
        uv_timer_start(&c->timer, on_client_timer, cfg_of(c)->idle_timeout_ms, 0);
    } else if (!c->qpending) {
        request_sent(c);
    }
    /*
     * Input was consumed: if reading had stopped on a full buffer (say, while the upstream connection
     * was being made), it must start again here, since a write that completed at once brings no
     * callback that would do it.
     */
    update_client_reading(c);
}

/* ---- response ---- */

static void serialize_response_head(struct client *c)
{
    const struct gh_http_head *h = &c->h;
    ensure(&c->obuf, &c->ocap, h->head_len + c->rid_len + 512); /* fixed extras: about 270 bytes */
    char *p = c->obuf;
    p = PUTS(p, "HTTP/1.1 ");
    p = put_u64(p, (uint64_t)h->status);
    *p++ = ' ';
    if (h->reason.len)
        p = put(p, h->reason.p, h->reason.len);
    else
        p = put(p, gh_http_reason(h->status), strlen(gh_http_reason(h->status)));
    p = PUTS(p, "\r\n");
    int have_rid = 0, have_date = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct gh_http_header *hd = &h->headers[i];
        if (hd->hop) {
            /* a HEAD or 304 answer may state the length of the body it does not carry */
            if (!(hd->id == GH_HDR_CONTENT_LENGTH && h->body == GH_BODY_NONE &&
                  (c->method == GH_METHOD_HEAD || h->status == 304)))
                continue;
        }
        have_rid |= hd->id == GH_HDR_X_REQUEST_ID;
        have_date |= hd->id == GH_HDR_DATE;
        p = put(p, hd->name.p, hd->name.len);
        *p++ = ':';
        *p++ = ' ';
        p = put(p, hd->value.p, hd->value.len);
        p = PUTS(p, "\r\n");
    }
    if (!have_date) {
        size_t dl;
        const char *d = date_line(c->w, &dl);
        p = put(p, d, dl);
    }
    if (!have_rid) {
        p = PUTS(p, "X-Request-Id: ");
        p = put(p, c->rid, c->rid_len);
        p = PUTS(p, "\r\n");
    }
    c->chunk_out = 0;
    int no_body_status = h->status == 204 || h->status == 304 || c->method == GH_METHOD_HEAD;
    switch (h->body) {
    case GH_BODY_LENGTH:
        p = PUTS(p, "Content-Length: ");
        p = put_u64(p, h->content_length);
        p = PUTS(p, "\r\n");
        break;
    case GH_BODY_CHUNKED:
    case GH_BODY_EOF:
        if (c->minor >= 1) {
            p = PUTS(p, "Transfer-Encoding: chunked\r\n");
            c->chunk_out = 1;
        } else {
            c->must_close = 1; /* an HTTP/1.0 client learns the end from the close */
        }
        break;
    default:
        if (!no_body_status)
            p = PUTS(p, "Content-Length: 0\r\n");
    }
    int closing = c->must_close || !c->keep_alive || !c->req_done || c->w->draining;
    if (closing) {
        c->must_close = 1;
        p = PUTS(p, "Connection: close\r\n");
    } else if (c->minor == 0) {
        p = PUTS(p, "Connection: keep-alive\r\n");
    }
    p = PUTS(p, "\r\n");
    c->olen = (size_t)(p - c->obuf);
}

static void maybe_finish(struct client *c);

static void pump_response(struct client *c)
{
    struct upconn *up = c->up;
    if (up == NULL || c->rpending || c->resp_done)
        return;
    uv_buf_t b[IOV_MAX_N];
    unsigned n = 0;
    if (!c->resp_started) {
        int rc;
        for (;;) {
            rc = gh_http_parse_response(up->ibuf + up->ipos, up->ilen - up->ipos, cfg_of(c)->header_bytes,
                                        c->method, &c->h);
            if (rc == 0) {
                if (up->eof)
                    upstream_failed(c, 0, "closed the connection in the response head");
                return;
            }
            if (rc < 0 || c->h.status == 101) {
                gh_log(GH_LOG_WARN, "%.*s: upstream %s: bad response: %s", (int)c->rid_len, c->rid,
                       c->api->targets[c->target_idx].name,
                       rc < 0 ? c->h.error : "unrequested protocol switch");
                up_close(up);
                c->must_close |= !c->req_done;
                c->upstream_error = GH_UPSTREAM_INVALID;
                send_error(c, 502, "upstream sent an invalid response");
                return;
            }
            up->ipos += (size_t)rc;
            if (c->h.status >= 200)
                break;
        }
        up->keep_alive = c->h.keep_alive;
        c->resp_body = c->h.body;
        c->resp_left = c->h.content_length;
        memset(&c->resp_ck, 0, sizeof(c->resp_ck));
        c->status = c->h.status;
        serialize_response_head(c);
        b[n++] = uv_buf_init(c->obuf, (unsigned)c->olen);
        c->resp_started = 1;
    }
    switch (c->resp_body) {
    case GH_BODY_NONE:
        c->resp_done = 1;
        break;
    case GH_BODY_LENGTH: {
        size_t k = up->ilen - up->ipos;
        if (k > c->resp_left)
            k = (size_t)c->resp_left;
        if (k) {
            b[n++] = uv_buf_init(up->ibuf + up->ipos, (unsigned)k);
            up->ipos += k;
            c->resp_left -= k;
            c->resp_bytes += k;
        }
        c->resp_done = c->resp_left == 0;
        break;
    }
    case GH_BODY_CHUNKED:
        for (int spans = 0; spans < MAX_SPANS && up->ipos < up->ilen && !c->resp_done;) {
            size_t used, dl;
            const char *d, *why = NULL;
            int rc = gh_chunked_decode(&c->resp_ck, up->ibuf + up->ipos, up->ilen - up->ipos, &used, &d, &dl,
                                       &why);
            if (rc < 0) {
                gh_log(GH_LOG_WARN, "%.*s: upstream sent a bad chunked body: %s", (int)c->rid_len, c->rid,
                       why);
                up_close(up);
                if (n) /* the head goes out, then the client sees the truncation */
                    send_bufs((uv_stream_t *)&c->tcp, b, n, DIR_RESP);
                client_close(c, 0);
                return;
            }
            up->ipos += used;
            if (dl) {
                c->resp_bytes += dl;
                if (c->chunk_out)
                    b[n++] = uv_buf_init(c->rhdr[spans], (unsigned)hex_line(c->rhdr[spans], dl));
                b[n++] = uv_buf_init((char *)d, (unsigned)dl);
                if (c->chunk_out)
                    b[n++] = uv_buf_init(CRLF, 2);
                spans++;
            }
            if (rc == 1) {
                c->resp_done = 1;
                if (c->chunk_out)
                    b[n++] = uv_buf_init(LAST_CHUNK, 5);
            }
            if (used == 0)
                break;
        }
        break;
    case GH_BODY_EOF: {
        size_t k = up->ilen - up->ipos;
        if (k) {
            if (c->chunk_out)
                b[n++] = uv_buf_init(c->rhdr[0], (unsigned)hex_line(c->rhdr[0], k));
            b[n++] = uv_buf_init(up->ibuf + up->ipos, (unsigned)k);
            if (c->chunk_out)
                b[n++] = uv_buf_init(CRLF, 2);
            up->ipos += k;
            c->resp_bytes += k;
        }
        if (up->eof) {
            c->resp_done = 1;
            if (c->chunk_out)
                b[n++] = uv_buf_init(LAST_CHUNK, 5);
        }
        break;
    }
    }
    if (n) {
        int r = send_bufs((uv_stream_t *)&c->tcp, b, n, DIR_RESP);
        if (r < 0) {
            client_close(c, 0);
            return;
        }
        c->rpending = r == 1;
        if (c->rpending) /* the client is not reading: it has idle_timeout to make progress */
            uv_timer_start(&c->timer, on_client_timer, cfg_of(c)->idle_timeout_ms, 0);
    }
    if (!c->resp_done && up->eof && up->ipos == up->ilen) {
        gh_log(GH_LOG_WARN, "%.*s: upstream %s closed the connection mid-body", (int)c->rid_len, c->rid,
               c->api->targets[c->target_idx].name);
        client_close(c, 0); /* the client must see the truncation, not a short body it takes as whole */
        return;
    }
    if (c->resp_done) {
        uv_timer_stop(&up->timer);
        maybe_finish(c);
    }
}

/* ---- finishing, errors, closing ---- */

static void finish_request(struct client *c)
{
    log_access(c);
    struct upconn *up = c->up;
    if (up) {
        int reuse = c->req_done && !c->qpending && up->keep_alive && up->ipos == up->ilen && !up->eof &&
                    c->resp_body != GH_BODY_EOF;
        detach(c);
        if (reuse)
            pool_put(up);
        else
            up_close(up);
    }
    gh_snapshot_unref(c->snap);
    c->snap = NULL;
    c->t_start = 0;
    if (c->must_close || !c->keep_alive || c->eof || !c->req_done || c->w->draining) {
        client_close(c, 1);
        return;
    }
    c->state = C_HEAD;
    uv_timer_start(&c->timer, on_client_timer, c->w->snap->cfg->idle_timeout_ms, 0);
    if (!c->in_input)
        process_input(c);
}

static void maybe_finish(struct client *c)
{
    if (c->resp_done && !c->rpending && !(c->req_done && c->qpending))
        finish_request(c);
}

/* A local answer (an error, or a mock's): the head, then the body, in one write. */
static void send_answer(struct client *c, int status, const char *ctype, const char *body, size_t bl,
                        const char *headers)
{
    if (c->resp_started) {
        client_close(c, 0);
        return;
    }
    if (c->up)
        up_close(c->up);
    if (!c->req_done)
        c->must_close = 1;
    int closing = c->must_close || !c->keep_alive || c->w->draining;
    c->must_close |= closing;
    size_t dl, hl = strlen(headers);
    const char *date = date_line(c->w, &dl);
    ensure(&c->obuf, &c->ocap, bl + hl + dl + c->rid_len + strlen(ctype) + 256);
    int n =
        snprintf(c->obuf, c->ocap,
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%.*s%s"
                 "X-Request-Id: %.*s\r\n%s\r\n",
                 status, gh_http_reason(status), ctype, bl, (int)dl, date, headers, (int)c->rid_len, c->rid,
                 closing ? "Connection: close\r\n" : (c->minor == 0 ? "Connection: keep-alive\r\n" : ""));
    if (n < 0 || (size_t)n + bl > c->ocap) {
        client_close(c, 0);
        return;
    }
    if (c->method != GH_METHOD_HEAD)
        memcpy(c->obuf + n, body, bl);
    else
        bl = 0;
    c->status = status;
    c->resp_started = c->resp_done = 1;
    c->resp_bytes = (uint64_t)bl;
    c->state = C_WAIT; /* answered: no more input is parsed until this exchange is finished */
    uv_buf_t b = uv_buf_init(c->obuf, (unsigned)((size_t)n + bl));
    int r = c->rpending ? 1 : send_bufs((uv_stream_t *)&c->tcp, &b, 1, DIR_RESP);
    if (c->rpending) {
        /* a 100 Continue is still going out: queue behind it (rare; allocation is fine here) */
        struct wreq *w = gh_malloc(sizeof(*w));
        w->dir = DIR_RESP;
        if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0)
            free(w);
    } else if (r < 0) {
        client_close(c, 0);
        return;
    } else {
        c->rpending = r == 1;
        if (c->rpending)
            uv_timer_start(&c->timer, on_client_timer, cfg_of(c)->idle_timeout_ms, 0);
    }
    maybe_finish(c);
}

static void send_error(struct client *c, int status, const char *msg)
{
    char body[512];
    int bl = snprintf(body, sizeof(body),
                      "{\"error\":{\"status\":%d,\"message\":\"%s\",\"request_id\":\"%.*s\"}}\n", status, msg,
                      (int)c->rid_len, c->rid);
    if (bl < 0 || (size_t)bl >= sizeof(body))
        bl = (int)sizeof(body) - 1;
    char allow[96 + sizeof(c->extra)] = "";
    if (status == 405) {
        size_t al = 0;
        for (int m = 1; m < GH_METHOD_COUNT_ && al + 12 < sizeof(allow); m++)
            if (c->allow & (1u << m))
                al += (size_t)snprintf(allow + al, sizeof(allow) - al, "%s%s",
                                       al ? ", " : "Allow: ", gh_http_method_name(m));
        if (al)
            snprintf(allow + al, sizeof(allow) - al, "\r\n");
    } else if (c->extra[0]) {
        snprintf(allow, sizeof(allow), "%s", c->extra);
    }
    send_answer(c, status, "application/json", body, (size_t)bl, allow);
}

/* A mock API (mock.h): the operation's example answer, or 404/405. */
static void send_mock(struct client *c)
{
    int st = 404;
    unsigned allow = 0;
    const struct gh_mock_op *o =
        gh_mock_match(c->api->mock, c->method, (struct gh_str){c->path, c->path_len},
                      (struct gh_str){c->api->prefix, c->api->prefix_len}, &st, &allow);
    if (o == NULL) {
        c->allow = allow | (allow & (1u << GH_METHOD_GET) ? 1u << GH_METHOD_HEAD : 0); /* HEAD as GET */
        send_error(c, st,
                   st == 405 ? "the mock has no such operation for this method"
                             : "the mock has no operation for this path");
        return;
    }
    char headers[1024];
    snprintf(headers, sizeof(headers), "%sX-Gatehouse-Mock: true\r\n", o->headers);
    send_answer(c, o->status, o->ctype ? o->ctype : "text/plain", o->body ? o->body : "", o->body_len,
                headers);
}

static void on_client_handle_closed(uv_handle_t *h)
{
    struct client *c = h->data;
    if (--c->handles)
        return;
    struct worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nclients--;
    free(c->ibuf);
    free(c->qbuf);
    free(c->obuf);
    free(c);
    gh__worker_maybe_stop(w);
}

static void close_now(struct client *c)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    uv_close((uv_handle_t *)&c->tcp, on_client_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_client_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct client *c = req->data;
    if (status < 0)
        close_now(c);
}

/*
 * Closes a client connection. Graceful: after the queued response is written, and when the client may
 * still be sending (a body we did not read), half-close and read for a moment first, so its kernel
 * does not answer our close with a reset that destroys the response before it is read.
 */
static void client_close(struct client *c, int graceful)
{
    if (c->closing) {
        if (!graceful)
            close_now(c);
        return;
    }
    if (c->snap) {
        if (c->status == 0)
            c->status = 499; /* the client went away, or the exchange was cut */
        log_access(c);
        gh_snapshot_unref(c->snap);
        c->snap = NULL;
    }
    if (c->up)
        up_close(c->up);
    c->closing = 1;
    c->state = C_CLOSING;
    uv_timer_stop(&c->timer);
    if (!graceful) {
        close_now(c);
        return;
    }
    if (c->rpending) {
        c->close_after = 1;
        uv_timer_start(&c->timer, on_client_timer, cfg_of(c)->idle_timeout_ms, 0); /* the send timeout */
        return;
    }
    if (c->eof || (c->req_done && c->ipos == c->ilen)) {
        close_now(c);
        return;
    }
    c->lingering = 1;
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        close_now(c);
        return;
    }
    c->ipos = c->ilen = 0;
    update_client_reading(c);
    uv_timer_start(&c->timer, on_client_timer, LINGER_MS, 0);
}

static void on_write(uv_write_t *req, int status)
{
    struct wreq *wr = (struct wreq *)req;
    int dir = wr->dir;
    uv_stream_t *s = req->handle;
    free(wr);
    if (status == UV_ECANCELED)
        return;
    if (dir == DIR_REQ) {
        struct upconn *up = s->data;
        struct client *c = up->c;
        if (up->closing || c == NULL)
            return;
        c->qpending = 0;
        if (status < 0) {
            upstream_failed(c, 0, uv_strerror(status));
            return;
        }
        if (c->req_done)
            request_sent(c);
        pump_request(c);
        update_client_reading(c);
        maybe_finish(c);
        return;
    }
    struct client *c = s->data;
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    c->rpending = 0;
    if (c->state == C_WAIT)
        uv_timer_stop(&c->timer); /* the send timeout; re-armed if the next write is left pending too */
    if (status < 0) {
        c->close_after = 0;
        client_close(c, 0);
        return;
    }
    if (c->close_after) {
        c->close_after = 0;
        c->closing = 0; /* let client_close run its graceful tail now the bytes are out */
        client_close(c, 1);
        return;
    }
    if (c->up) {
        pump_response(c);
        if (c->up)
            update_up_reading(c->up);
    }
    if (!c->closing)
        maybe_finish(c);
}

/* ---- client input ---- */

static void on_client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct client *c = h->data;
    if (c->lingering)
        c->ipos = c->ilen = 0;
    else if (c->ipos > 0 && (c->ipos == c->ilen || c->ilen == c->icap) && !c->qpending &&
             c->state != C_CONNECT) {
        memmove(c->ibuf, c->ibuf + c->ipos, c->ilen - c->ipos);
        c->ilen -= c->ipos;
        c->ipos = 0;
    }
    buf->base = c->ibuf + c->ilen;
    buf->len = c->icap - c->ilen;
}

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void update_client_reading(struct client *c)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    int movable = c->ipos > 0 && !c->qpending && c->state != C_CONNECT;
    int want = !c->eof && (c->lingering || (!c->closing && (c->ilen < c->icap || movable)));
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_client_alloc, on_client_read) == 0)
            c->reading = 1;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

static void process_input(struct client *c)
{
    c->in_input = 1;
    while (!c->closing) {
        if (c->state == C_HEAD) {
            if (c->ipos == c->ilen) {
                c->ipos = c->ilen = 0;
                break;
            }
            if (!c->head_timer) {
                /* the first byte of a request starts its header clock */
                c->head_timer = 1;
                uv_timer_start(&c->timer, on_client_timer, c->w->snap->cfg->header_timeout_ms, 0);
            }
            int rc = gh_http_parse_request(c->ibuf + c->ipos, c->ilen - c->ipos,
                                           c->w->snap->cfg->header_bytes, &c->h);
            if (rc == 0)
                break;
            on_request_head(c, rc);
            continue; /* a request answered at once (an error) may leave the next one buffered */
        }
        if (c->state == C_BODY)
            pump_request(c);
        break;
    }
    c->in_input = 0;
    if (!c->closing)
        update_client_reading(c);
}

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct client *c = s->data;
    if (nread > 0) {
        if (c->lingering)
            return;
        c->ilen += (size_t)nread;
        process_input(c);
        return;
    }
    if (nread == 0)
        return;
    if (nread == UV_ENOBUFS) {
        uv_read_stop(s);
        c->reading = 0;
        return;
    }
    c->eof = 1;
    uv_read_stop(s);
    c->reading = 0;
    if (c->lingering) {
        close_now(c);
        return;
    }
    switch (c->state) {
    case C_HEAD:
        client_close(c, 0);
        break;
    case C_CONNECT:
    case C_BODY:
        if (!c->req_done) {
            c->status = 499;
            client_close(c, 0);
        }
        break;
    default:
        break; /* the request is complete: answer it, then close */
    }
}

static void on_client_timer(uv_timer_t *t)
{
    struct client *c = t->data;
    if (c->lingering) {
        close_now(c);
        return;
    }
    if (c->rpending) {
        gh_log(GH_LOG_INFO, "%.*s: client did not read the response for %llu ms; closing", (int)c->rid_len,
               c->rid, (unsigned long long)cfg_of(c)->idle_timeout_ms);
        client_close(c, 0);
        return;
    }
    switch (c->state) {
    case C_HEAD:
        if (c->ipos < c->ilen) {
            begin_request(c);
            make_request_id(c, NULL);
            c->meth_len = c->path_len = 0;
            c->must_close = 1;
            c->req_done = 0;
            send_error(c, 408, "request head not received in time");
        } else {
            client_close(c, 0); /* idle keep-alive connection */
        }
        break;
    case C_CONNECT:
    case C_BODY:
        if (!c->req_done) {
            c->must_close = 1;
            send_error(c, 408, "request body not received in time");
        }
        break;
    default:
        break;
    }
}

void gh__proxy_on_accept(uv_stream_t *listener, int status)
{
    struct worker *w = listener->data;
    if (status < 0)
        return;
    struct client *c = gh_calloc(1, sizeof(*c));
    c->w = w;
    uv_tcp_init(&w->loop, &c->tcp);
    uv_timer_init(&w->loop, &c->timer);
    c->handles = 2;
    c->tcp.data = c->timer.data = c;
    c->next = w->clients;
    if (w->clients)
        w->clients->prev = c;
    w->clients = c;
    w->nclients++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        c->closing = 1;
        close_now(c);
        return;
    }
    const struct gh_config *cfg = w->snap->cfg;
    c->icap = cfg->header_bytes + 16384;
    c->ibuf = gh_malloc(c->icap);
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof(c->peer));
            c->peer_v6 = 1;
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof(c->peer));
        }
        c->peer_len = strlen(c->peer);
    }
    c->state = C_HEAD;
    uv_timer_start(&c->timer, on_client_timer, cfg->header_timeout_ms, 0);
    c->head_timer = 1;
    update_client_reading(c);
}

void gh__proxy_drain(struct worker *w)
{
    struct client *c = w->clients, *next;
    for (; c; c = next) {
        next = c->next;
        if (c->state == C_HEAD && c->ipos == c->ilen)
            client_close(c, 0);
    }
}

void gh__proxy_close_all(struct worker *w)
{
    struct client *c = w->clients, *next;
    for (; c; c = next) {
        next = c->next;
        client_close(c, 0);
    }
}
