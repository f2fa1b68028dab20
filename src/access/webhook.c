/*
 * webhook.c: see webhook.h.
 */
#include "webhook.h"

#include "../base/fetch.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FANOUT_BATCH 200
#define SEND_BATCH 8
#define MAX_BACKOFF_MS (3600ull * 1000)

struct hook {
    char *name, *url, *secret;
    size_t secret_len;
    char **events;
    size_t nevents;
    struct gh_cidr *allow;
    size_t nallow;
    uint64_t backoff_ms, timeout_ms;
    int max_attempts;
};

struct gh_webhooks {
    uv_loop_t *loop;
    struct gh_store *store;
    struct hook *hooks;
    size_t nhooks;
    int busy; /* deliveries in flight: no new batch until they are back */
};

/* One attempt, on the thread pool: everything it needs is its own copy. */
struct attempt {
    uv_work_t work;
    struct gh_webhooks *w;
    int64_t seq;
    char *hook, *url, *body, *type, *secret;
    size_t secret_len;
    struct gh_cidr *allow;
    size_t nallow;
    uint64_t timeout_ms, backoff_ms;
    int max_attempts, attempts;
    /* the outcome */
    long status;
    char error[512];
};

/* The allowed address blocks, copied (a hook outlives a reload only through its own copies). */
static struct gh_cidr *cidrs_dup(const struct gh_cidr *c, size_t n)
{
    struct gh_cidr *d = gh_calloc(n ? n : 1, sizeof(*d));
    memcpy(d, c, n * sizeof(*d));
    return d;
}

static void free_hooks(struct gh_webhooks *w)
{
    for (size_t i = 0; i < w->nhooks; i++) {
        struct hook *h = &w->hooks[i];
        free(h->name);
        free(h->url);
        if (h->secret)
            OPENSSL_cleanse(h->secret, h->secret_len);
        free(h->secret);
        for (size_t k = 0; k < h->nevents; k++)
            free(h->events[k]);
        free(h->events);
        free(h->allow);
    }
    free(w->hooks);
    w->hooks = NULL;
    w->nhooks = 0;
}

struct gh_webhooks *gh_webhooks_new(uv_loop_t *loop, struct gh_store *s)
{
    struct gh_webhooks *w = gh_calloc(1, sizeof(*w));
    w->loop = loop;
    w->store = s;
    return w;
}

void gh_webhooks_configure(struct gh_webhooks *w, const struct gh_config *cfg, char *const *secrets)
{
    free_hooks(w);
    if (cfg->nwebhooks == 0)
        return;
    w->hooks = gh_calloc(cfg->nwebhooks, sizeof(*w->hooks));
    for (size_t i = 0; i < cfg->nwebhooks; i++) {
        const struct gh_config_webhook *c = &cfg->webhooks[i];
        struct hook *h = &w->hooks[w->nhooks++];
        h->name = gh_strdup(c->name);
        h->url = gh_strdup(c->url);
        h->secret = gh_strdup(secrets && secrets[i] ? secrets[i] : "");
        h->secret_len = strlen(h->secret);
        h->events = gh_calloc(c->nevents ? c->nevents : 1, sizeof(char *));
        for (size_t k = 0; k < c->nevents; k++)
            h->events[h->nevents++] = gh_strdup(c->events[k]);
        h->allow = cidrs_dup(c->allow, c->nallow);
        h->nallow = c->nallow;
        h->backoff_ms = c->backoff_ms;
        h->timeout_ms = c->timeout_ms;
        h->max_attempts = c->max_attempts;
    }
}

void gh_webhooks_free(struct gh_webhooks *w)
{
    if (w == NULL)
        return;
    free_hooks(w);
    free(w);
}

void gh_webhook_sign(const char *secret, size_t secret_len, uint64_t unix_seconds, const char *body,
                     char *out, size_t cap)
{
    struct gh_buf msg = {0};
    gh_buf_addf(&msg, "%llu.", (unsigned long long)unix_seconds);
    gh_buf_adds(&msg, body);
    char mac[65];
    gh_hmac_sha256_hex(secret, secret_len, msg.p, msg.len, mac);
    gh_buf_free(&msg);
    snprintf(out, cap, "t=%llu,v1=%s", (unsigned long long)unix_seconds, mac);
}

/* ---- fan-out: new events become deliveries ---- */

static int subscribed(const struct hook *h, const char *type)
{
    for (size_t i = 0; i < h->nevents; i++)
        if (strcmp(h->events[i], "*") == 0 || strcmp(h->events[i], type) == 0)
            return 1;
    return 0;
}

struct fan {
    int64_t seqs[FANOUT_BATCH];
    char types[FANOUT_BATCH][32];
    size_t n;
};

static int on_event(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct fan *f = ctx;
    if (n < 2 || f->n >= FANOUT_BATCH)
        return 0;
    f->seqs[f->n] = c[0].i;
    gh_store_val_text(&c[1], f->types[f->n], sizeof(f->types[0]));
    f->n++;
    return 0;
}

static int on_cursor(void *ctx, const struct gh_store_val *c, size_t n)
{
    if (n == 1 && c[0].type == GH_VAL_TEXT)
        gh_parse_u64(c[0].p, c[0].len, INT64_MAX, (uint64_t *)ctx);
    return 0;
}

static int fan_out(struct gh_webhooks *w, uint64_t now_ms, struct gh_err *err)
{
    struct gh_store *s = w->store;
    uint64_t cursor = 0;
    int rc = gh_store_begin(s, err);
    if (rc)
        return rc;
    struct fan *f = gh_calloc(1, sizeof(*f));
    rc = gh_store_exec(s, "SELECT value FROM gh_meta WHERE key = 'webhook_cursor'", NULL, 0, on_cursor,
                       &cursor, err);
    struct gh_store_val p[] = {GH_VINT((int64_t)cursor)};
    if (rc == 0)
        rc = gh_store_exec(s, "SELECT seq, type FROM events WHERE seq > $1 ORDER BY seq LIMIT 200", p, 1,
                           on_event, f, err);
    for (size_t i = 0; rc == 0 && i < f->n; i++)
        for (size_t k = 0; rc == 0 && k < w->nhooks; k++) {
            if (!subscribed(&w->hooks[k], f->types[i]))
                continue;
            struct gh_store_val d[] = {GH_VINT(f->seqs[i]), GH_VTEXT(w->hooks[k].name),
                                       GH_VINT((int64_t)now_ms)};
            rc =
                gh_store_exec(s,
                              "INSERT INTO webhook_deliveries (event_seq, webhook, state, attempts, next_ms) "
                              "VALUES ($1, $2, 'pending', 0, $3) ON CONFLICT DO NOTHING",
                              d, 3, NULL, NULL, err);
        }
    if (rc == 0 && f->n) {
        char v[24];
        snprintf(v, sizeof(v), "%lld", (long long)f->seqs[f->n - 1]);
        struct gh_store_val u[] = {GH_VTEXT(v)};
        rc = gh_store_exec(s,
                           "INSERT INTO gh_meta (key, value) VALUES ('webhook_cursor', $1) "
                           "ON CONFLICT (key) DO UPDATE SET value = $1",
                           u, 1, NULL, NULL, err);
    }
    free(f);
    if (rc == 0)
        rc = gh_store_commit(s, err);
    if (rc)
        gh_store_rollback(s);
    return rc;
}

/* ---- attempts ---- */

static void attempt_free(struct attempt *a)
{
    free(a->hook);
    free(a->url);
    free(a->body);
    free(a->type);
    if (a->secret)
        OPENSSL_cleanse(a->secret, a->secret_len);
    free(a->secret);
    free(a->allow);
    free(a);
}

static void do_post(uv_work_t *req)
{
    struct attempt *a = req->data;
    char sig[128], h1[160], h2[96], h3[64];
    gh_webhook_sign(a->secret, a->secret_len, gh_time_wall_ms() / 1000, a->body, sig, sizeof(sig));
    snprintf(h1, sizeof(h1), "Gatehouse-Signature: %s", sig);
    snprintf(h2, sizeof(h2), "Gatehouse-Event: %s", a->type);
    snprintf(h3, sizeof(h3), "Gatehouse-Event-Id: evt_%lld", (long long)a->seq);
    const char *const headers[] = {h1, h2, h3, NULL};
    struct gh_fetch_req r = {.url = a->url,
                             .timeout_ms = a->timeout_ms,
                             .max_bytes = 4096,
                             .body = a->body,
                             .content_type = "application/json",
                             .headers = headers,
                             .guard = 1,
                             .allow = a->allow,
                             .nallow = a->nallow};
    struct gh_fetch_result res;
    struct gh_err err = {{0}};
    if (gh_fetch_req(&r, &res, &err) != 0) {
        snprintf(a->error, sizeof(a->error), "%s", err.msg);
        return;
    }
    a->status = res.status;
    if (res.status < 200 || res.status > 299)
        snprintf(a->error, sizeof(a->error), "the receiver answered %ld", res.status);
    gh_buf_free(&res.body);
}

static void post_done(uv_work_t *req, int status)
{
    struct attempt *a = req->data;
    struct gh_webhooks *w = a->w;
    (void)status;
    w->busy--;
    uint64_t now = gh_time_wall_ms();
    int attempts = a->attempts + 1, ok = a->error[0] == '\0';
    const char *state = ok ? "delivered" : attempts >= a->max_attempts ? "failed" : "pending";
    uint64_t delay = a->backoff_ms;
    for (int i = 1; i < attempts && delay < MAX_BACKOFF_MS; i++)
        delay *= 2;
    if (delay > MAX_BACKOFF_MS)
        delay = MAX_BACKOFF_MS;
    char when[40] = "";
    if (ok)
        gh_time_rfc3339(now, when, sizeof(when));
    struct gh_store_val p[] = {GH_VINT(a->seq),
                               GH_VTEXT(a->hook),
                               GH_VTEXT(state),
                               GH_VINT(attempts),
                               GH_VINT((int64_t)(now + delay)),
                               a->status ? GH_VINT(a->status) : GH_VNULL,
                               ok ? GH_VNULL : GH_VTEXT(a->error),
                               ok ? GH_VTEXT(when) : GH_VNULL};
    struct gh_err err = {{0}};
    if (gh_store_exec(
            w->store,
            "UPDATE webhook_deliveries SET state = $3, attempts = $4, next_ms = $5, last_status = $6, "
            "last_error = $7, delivered_at = $8 WHERE event_seq = $1 AND webhook = $2",
            p, GH_ARRAY_SIZE(p), NULL, NULL, &err) != 0)
        gh_log(GH_LOG_ERROR, "webhook %s: delivery of evt_%lld not recorded: %s", a->hook, (long long)a->seq,
               err.msg);
    if (!ok)
        gh_log(GH_LOG_WARN, "webhook %s: evt_%lld attempt %d failed (%s)%s", a->hook, (long long)a->seq,
               attempts, a->error, strcmp(state, "failed") == 0 ? "; giving up" : "");
    attempt_free(a);
}

struct due {
    struct gh_webhooks *w;
    struct attempt *list[SEND_BATCH];
    size_t n;
};

static const struct hook *find_hook(const struct gh_webhooks *w, const char *name, size_t len)
{
    for (size_t i = 0; i < w->nhooks; i++)
        if (strlen(w->hooks[i].name) == len && memcmp(w->hooks[i].name, name, len) == 0)
            return &w->hooks[i];
    return NULL;
}

static int on_due(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct due *d = ctx;
    if (n != 5 || d->n >= SEND_BATCH)
        return 0;
    const struct hook *h = find_hook(d->w, c[1].p, c[1].len);
    if (h == NULL) /* a webhook no longer configured: its deliveries wait */
        return 0;
    struct attempt *a = gh_calloc(1, sizeof(*a));
    a->w = d->w;
    a->seq = c[0].i;
    a->hook = gh_strdup(h->name);
    a->url = gh_strdup(h->url);
    a->secret = gh_strndup(h->secret, h->secret_len);
    a->secret_len = h->secret_len;
    a->allow = cidrs_dup(h->allow, h->nallow);
    a->nallow = h->nallow;
    a->timeout_ms = h->timeout_ms;
    a->backoff_ms = h->backoff_ms;
    a->max_attempts = h->max_attempts;
    a->attempts = (int)c[2].i;
    a->body = gh_strndup(c[3].p, c[3].len);
    a->type = gh_strndup(c[4].p, c[4].len);
    d->list[d->n++] = a;
    return 0;
}

void gh_webhooks_tick(struct gh_webhooks *w, uint64_t now_ms)
{
    struct gh_err err = {{0}};
    if (w->busy)
        return;
    if (fan_out(w, now_ms, &err) != 0) {
        gh_log(GH_LOG_ERROR, "webhooks: %s", err.msg);
        return;
    }
    if (w->nhooks == 0)
        return;
    struct due d = {w, {0}, 0};
    struct gh_store_val p[] = {GH_VINT((int64_t)now_ms)};
    if (gh_store_exec(w->store,
                      "SELECT d.event_seq, d.webhook, d.attempts, e.body, e.type FROM webhook_deliveries d "
                      "JOIN events e ON e.seq = d.event_seq WHERE d.state = 'pending' AND d.next_ms <= $1 "
                      "ORDER BY d.next_ms, d.event_seq LIMIT 64",
                      p, 1, on_due, &d, &err) != 0) {
        gh_log(GH_LOG_ERROR, "webhooks: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < d.n; i++) {
        struct attempt *a = d.list[i];
        a->work.data = a;
        if (uv_queue_work(w->loop, &a->work, do_post, post_done) == 0)
            w->busy++;
        else
            attempt_free(a);
    }
}

int gh_webhook_deliveries(struct gh_store *s, const char *webhook, const char *state, int limit,
                          gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    struct gh_store_val p[] = {webhook ? GH_VTEXT(webhook) : GH_VNULL, state ? GH_VTEXT(state) : GH_VNULL,
                               GH_VINT(limit)};
    return gh_store_exec(s,
                         "SELECT d.webhook, 'evt_' || d.event_seq, e.type, d.state, d.attempts, "
                         "COALESCE(d.last_status, 0), COALESCE(d.last_error, ''), d.next_ms, "
                         "COALESCE(d.delivered_at, '') FROM webhook_deliveries d JOIN events e ON "
                         "e.seq = d.event_seq WHERE ($1 IS NULL OR d.webhook = $1) AND ($2 IS NULL OR "
                         "d.state = $2) ORDER BY d.event_seq DESC, d.webhook LIMIT $3",
                         p, 3, fn, ctx, err);
}
