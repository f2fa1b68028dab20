/*
 * worker.c: gateway worker threads. Each owns a libuv loop and an SO_REUSEPORT listener, so the kernel
 * spreads connections and no lock is shared on the request path. The control thread talks to a worker
 * only through its async handle: a new snapshot to adopt, or a request to drain.
 */
#include "internal.h"

#include "../access/keys.h"
#include "../access/table.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int gh_listen_socket(const char *hostport, int reuseport, struct gh_err *err)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    size_t hl = colon ? (size_t)(colon - hostport) : 0;
    if (colon == NULL || hl >= sizeof(host))
        return gh_err_set(err, -1, "%s: not host:port", hostport), -1;
    memcpy(host, hostport, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE},
                    *res;
    int gai = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (gai != 0)
        return gh_err_set(err, -1, "%s: %s", hostport, gai_strerror(gai)), -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        gh_err_set(err, -1, "%s: %s", hostport, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss = {0};
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return -1;
    /* getsockname filled ss (the analyzer cannot tell) */
    in_port_t port = ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port // NOLINT
                                              : ((struct sockaddr_in *)&ss)->sin_port;  // NOLINT
    return ntohs(port);
}

static void adopt(struct worker *w, struct gh_snapshot *s)
{
    gh_snapshot_unref(w->snap);
    w->snap = s;
    free(w->rr);
    w->nrr = s->napis;
    w->rr = gh_calloc(w->nrr ? w->nrr : 1, sizeof(*w->rr));
}

static void on_close_noop(uv_handle_t *h)
{
    (void)h;
}

void gh__worker_maybe_stop(struct worker *w)
{
    if (!w->draining || w->nclients > 0 || w->stopping)
        return;
    w->stopping = 1;
    gh__pools_close(w);
    uv_close((uv_handle_t *)&w->async, on_close_noop);
    uv_close((uv_handle_t *)&w->tick, on_close_noop);
    uv_close((uv_handle_t *)&w->drain_timer, on_close_noop);
}

static void on_drain_timeout(uv_timer_t *t)
{
    struct worker *w = t->data;
    gh_log(GH_LOG_WARN, "worker %d: drain timeout, closing %zu connection(s)", w->id, w->nclients);
    gh__proxy_close_all(w);
}

static void on_async(uv_async_t *a)
{
    struct worker *w = a->data;
    struct gh_snapshot *s = atomic_exchange(&w->next_snap, NULL);
    if (s != NULL) {
        adopt(w, s);
        /* a reload reopens the access log: it may name another file, or logrotate may have moved it */
        gh__accesslog_dispose(&w->log);
        gh__accesslog_init(&w->log, s->cfg->access_log);
    }
    if (atomic_load(&w->drain_requested) && !w->draining) {
        w->draining = 1;
        uv_close((uv_handle_t *)&w->listener, on_close_noop);
        uv_timer_start(&w->drain_timer, on_drain_timeout, w->snap->cfg->drain_timeout_ms, 0);
        gh__proxy_drain(w);
        gh__worker_maybe_stop(w);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct worker *w = t->data;
    if (w->log.len)
        gh__accesslog_flush(&w->log);
    gh_usage_hand_over(&w->usage);
}

static void worker_main(void *arg)
{
    struct worker *w = arg;
    gh_access_thread_online(); /* workers read the credential table */
    uv_run(&w->loop, UV_RUN_DEFAULT);
    gh_access_thread_offline();
    gh__accesslog_dispose(&w->log);
    gh_cred_cache_free(w->cred_cache);
    w->cred_cache = NULL;
    gh_usage_hand_over(&w->usage); /* the last second's usage is not lost at shutdown */
    gh_usage_table_free(&w->usage);
    gh_key_thread_done();  /* the thread's digest context */
    OPENSSL_thread_stop(); /* and OpenSSL's own per-thread state */
}

static int worker_init(struct worker *w, struct gh_snapshot *snap, int fd, struct gh_err *err)
{
    uv_loop_init(&w->loop);
    w->loop.data = w;
    w->listen_fd = fd;
    adopt(w, gh_snapshot_ref(snap));
    atomic_init(&w->next_snap, NULL);
    atomic_init(&w->drain_requested, 0);
    unsigned char rnd[8];
    if (gh_random_bytes(rnd, sizeof(rnd)) != 0)
        return gh_err_set(err, GH_EIO, "no randomness for request ids");
    for (int i = 0; i < 8; i++)
        snprintf(w->rid_prefix + (size_t)2 * i, 3, "%02x", rnd[i]);
    gh__accesslog_init(&w->log, snap->cfg->access_log);
    w->cred_cache = gh_cred_cache_new(4096);
    w->stats = gh_calloc(1, sizeof(*w->stats));
    uv_tcp_init(&w->loop, &w->listener);
    w->listener.data = w;
    int rc = uv_tcp_open(&w->listener, fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&w->listener, 1024, gh__proxy_on_accept);
    if (rc != 0)
        return gh_err_set(err, GH_EIO, "listen: %s", uv_strerror(rc));
    uv_async_init(&w->loop, &w->async, on_async);
    w->async.data = w;
    uv_timer_init(&w->loop, &w->tick);
    w->tick.data = w;
    uv_timer_start(&w->tick, on_tick, 1000, 1000);
    uv_unref((uv_handle_t *)&w->tick);
    uv_timer_init(&w->loop, &w->drain_timer);
    w->drain_timer.data = w;
    return 0;
}

int gh_gateway_start(struct gh_snapshot *snap, struct gh_gateway **out, struct gh_err *err)
{
    const struct gh_config *cfg = snap->cfg;
    /*
     * SO_REUSEPORT would let us share the port with another process of the same user without a word;
     * a plain bind first turns that into the "address already in use" an operator expects.
     */
    int probe = gh_listen_socket(cfg->gateway_listen, 0, err);
    if (probe < 0)
        return GH_EIO;
    int port = bound_port(probe);
    close(probe);
    char addr[300];
    const char *colon = strrchr(cfg->gateway_listen, ':');
    snprintf(addr, sizeof(addr), "%.*s:%d", (int)(colon - cfg->gateway_listen), cfg->gateway_listen, port);

    struct gh_gateway *g = gh_calloc(1, sizeof(*g));
    g->nworkers = cfg->workers;
    g->port = port;
    g->workers = gh_calloc((size_t)g->nworkers, sizeof(*g->workers));
    for (int i = 0; i < g->nworkers; i++) {
        struct worker *w = &g->workers[i];
        w->g = g;
        w->id = i;
        int fd = gh_listen_socket(addr, 1, err);
        if (fd < 0 || worker_init(w, snap, fd, err) != 0) {
            if (fd >= 0 && w->snap == NULL)
                close(fd);
            for (int j = 0; j <= i; j++) {
                atomic_store(&g->workers[j].drain_requested, 1);
                if (g->workers[j].snap)
                    gh_snapshot_unref(g->workers[j].snap);
            }
            return GH_EIO; /* the process exits on this error; nothing else is cleaned up */
        }
    }
    for (int i = 0; i < g->nworkers; i++)
        uv_thread_create(&g->workers[i].thread, worker_main, &g->workers[i]);
    gh_log(GH_LOG_INFO, "gateway listening on %s (%d worker%s)", addr, g->nworkers,
           g->nworkers == 1 ? "" : "s");
    *out = g;
    return 0;
}

int gh_gateway_port(const struct gh_gateway *g)
{
    return g->port;
}

void gh_gateway_publish(struct gh_gateway *g, struct gh_snapshot *snap)
{
    for (int i = 0; i < g->nworkers; i++) {
        struct worker *w = &g->workers[i];
        struct gh_snapshot *old = atomic_exchange(&w->next_snap, gh_snapshot_ref(snap));
        gh_snapshot_unref(old); /* a snapshot the worker never picked up */
        uv_async_send(&w->async);
    }
}

void gh_gateway_drain(struct gh_gateway *g)
{
    for (int i = 0; i < g->nworkers; i++) {
        atomic_store(&g->workers[i].drain_requested, 1);
        uv_async_send(&g->workers[i].async);
    }
}

void gh_gateway_metrics(void *gateway, struct gh_buf *out)
{
    struct gh_gateway *g = gateway;
    struct gh_stats *all[256];
    size_t n = 0;
    for (int i = 0; i < g->nworkers && n < 256; i++)
        if (g->workers[i].stats)
            all[n++] = g->workers[i].stats;
    gh_stats_render(all, n, out);
}

void gh_gateway_join(struct gh_gateway *g)
{
    if (g == NULL)
        return;
    for (int i = 0; i < g->nworkers; i++) {
        struct worker *w = &g->workers[i];
        uv_thread_join(&w->thread);
        uv_loop_close(&w->loop);
        gh_snapshot_unref(atomic_exchange(&w->next_snap, NULL));
        gh_snapshot_unref(w->snap);
        free(w->rr);
        free(w->stats);
    }
    free(g->workers);
    free(g);
}
