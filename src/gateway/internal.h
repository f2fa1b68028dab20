/*
 * What only gateway/ shares: the worker, the client and upstream connections, the access log.
 */
#ifndef GH_GATEWAY_INTERNAL_H
#define GH_GATEWAY_INTERNAL_H

#include "gateway.h"
#include "../base/credcache.h"
#include "stats.h"

#include <uv.h>

struct worker;
struct client;

/* Per-worker access log: JSON lines gathered in memory, written once a second or when nearly full. */
struct accesslog {
    int fd; /* -1: off */
    char *buf;
    size_t len, cap;
    uint64_t sec;   /* the second cached in stamp */
    char stamp[32]; /* "YYYY-MM-DDTHH:MM:SS" of that second */
};

void gh__accesslog_init(struct accesslog *l, const char *target);
void gh__accesslog_flush(struct accesslog *l);
void gh__accesslog_dispose(struct accesslog *l);
/* Reserves room for one line of at most n bytes; returns where to write or NULL when logging is off. */
char *gh__accesslog_reserve(struct accesslog *l, size_t n);
/* RFC 3339 time with milliseconds for wall-clock ms, from the cached second; returns the length (24). */
size_t gh__accesslog_time(struct accesslog *l, uint64_t wall_ms, char *out);

/* An idle upstream keep-alive connection pool for one target address, per worker. */
struct pool {
    struct pool *next;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct upconn *idle; /* most recently used first */
    int nidle;
};

struct worker {
    struct gh_gateway *g;
    int id;
    uv_thread_t thread;
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t async;
    uv_timer_t tick;
    uv_timer_t drain_timer;
    int listen_fd;
    struct gh_snapshot *snap;
    _Atomic(struct gh_snapshot *) next_snap;
    atomic_int drain_requested;
    int draining;
    int stopping;
    struct client *clients; /* every open client connection */
    size_t nclients;
    struct pool *pools;
    uint32_t *rr; /* round-robin position per API of snap */
    size_t nrr;
    struct accesslog log;
    uint64_t seq;       /* request counter for generated request ids */
    int64_t date_sec;   /* the second date_line was made for */
    char date_line[48]; /* "Date: <IMF-fixdate>\r\n" */
    size_t date_len;
    char rid_prefix[17];              /* random per worker */
    struct gh_cred_cache *cred_cache; /* keys and bearer tokens already checked (this worker's own) */
    struct gh_stats *stats;           /* this worker's counters (read by the control thread) */
    struct gh_usage_table usage;      /* requests per application since the last tick */
};

struct gh_gateway {
    struct worker *workers;
    int nworkers;
    int port;
};

/* proxy.c */
void gh__proxy_on_accept(uv_stream_t *listener, int status);
void gh__proxy_drain(struct worker *w);     /* close idle clients; others close after their response */
void gh__proxy_close_all(struct worker *w); /* drain timeout: close every client now */
void gh__pools_close(struct worker *w);
void gh__worker_maybe_stop(struct worker *w); /* worker.c: ends the loop once draining and empty */

#endif
