/*
 * audit.c: see audit.h.
 */
#include "audit.h"

#include "../base/json.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void sha256_hex(const char *text, char out[65])
{
    unsigned char d[32];
    unsigned int n = 0;
    EVP_Digest(text, strlen(text), d, &n, EVP_sha256(), NULL);
    hex(d, 32, out);
}

static struct gh_json *str(const char *s)
{
    struct gh_json *j = gh_json_string(s ? s : "", strlen(s ? s : ""));
    return j ? j : gh_json_string("", 0);
}

char *gh_audit_canonical(int64_t seq, const char *time, const struct gh_audit_event *e, const char *prev_hash)
{
    struct gh_json *o = gh_json_object();
    gh_json_set(o, "seq", gh_json_int(seq));
    gh_json_set(o, "time", str(time));
    gh_json_set(o, "actor", str(e->actor));
    gh_json_set(o, "action", str(e->action));
    gh_json_set(o, "target", str(e->target));
    gh_json_set(o, "outcome", str(e->outcome));
    gh_json_set(o, "details", e->details ? gh_json_copy(e->details) : gh_json_object());
    gh_json_set(o, "request_id", str(e->request_id));
    gh_json_set(o, "prev_hash", str(prev_hash));
    char *text = gh_json_dump(o, 1);
    gh_json_unref(o);
    return text;
}

struct head {
    int64_t seq;
    char hash[65];
};

static int on_head(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct head *h = ctx;
    if (n >= 2 && c[0].type == GH_VAL_INT) {
        h->seq = c[0].i;
        snprintf(h->hash, sizeof(h->hash), "%.*s", (int)c[1].len, c[1].p ? c[1].p : "");
    }
    return 0;
}

int gh_audit_record(struct gh_store *s, const struct gh_audit_event *e, int64_t *seq, struct gh_err *err)
{
    if (!gh_store_in_transaction(s))
        return gh_err_set(err, GH_EINTERNAL,
                          "audit: an event must be written in the transaction of its change");
    if (e->actor == NULL || e->action == NULL || e->target == NULL || e->outcome == NULL)
        return gh_err_set(err, GH_EINTERNAL, "audit: actor, action, target and outcome are required");
    if (e->details && gh_json_type(e->details) != GH_JSON_OBJECT)
        return gh_err_set(err, GH_EINTERNAL, "audit: details must be an object");
    struct head h = {0, GENESIS};
    int rc = gh_store_exec(s, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", NULL, 0,
                           on_head, &h, err);
    if (rc)
        return rc;
    int64_t next = h.seq + 1;
    char when[40], hash[65];
    gh_time_rfc3339(gh_time_wall_ms(), when, sizeof(when));
    char *canon = gh_audit_canonical(next, when, e, h.hash);
    sha256_hex(canon, hash);
    free(canon);
    char *details = e->details ? gh_json_dump(e->details, 1) : gh_strdup("{}");
    struct gh_store_val p[] = {GH_VINT(next),       GH_VTEXT(when),
                               GH_VTEXT(e->actor),  GH_VTEXT(e->action),
                               GH_VTEXT(e->target), GH_VTEXT(e->outcome),
                               GH_VTEXT(details),   GH_VTEXT(e->request_id ? e->request_id : ""),
                               GH_VTEXT(h.hash),    GH_VTEXT(hash)};
    rc = gh_store_exec(
        s,
        "INSERT INTO audit_events (seq, time, actor, action, target, outcome, details, request_id, "
        "prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        p, GH_ARRAY_SIZE(p), NULL, NULL, err);
    free(details);
    if (rc == 0 && seq)
        *seq = next;
    return rc;
}

int gh_audit_change(struct gh_store *s, const char *actor, const char *action, const char *target,
                    gh_audit_change_fn fn, void *ctx, struct gh_err *err)
{
    struct gh_json *details = gh_json_object();
    int rc = gh_store_begin(s, err);
    if (rc == 0)
        rc = fn(ctx, s, details, err);
    char *named = NULL;
    if (rc == 0 && target == NULL) {
        const char *t = gh_json_str(gh_json_get(details, "target"), NULL);
        named = gh_strdup(t ? t : "");
        gh_json_del(details, "target");
    }
    struct gh_audit_event e = {actor, action, target ? target : named, "success", details, NULL};
    if (rc == 0)
        rc = gh_audit_record(s, &e, NULL, err);
    if (rc == 0)
        rc = gh_store_commit(s, err);
    if (rc)
        gh_store_rollback(s);
    free(named);
    gh_json_unref(details);
    return rc;
}

/* ---- verification ---- */

struct walk {
    struct gh_audit_report *r;
    int64_t expect_seq;
    char prev[65];
    int stopped;
};

static char *col(const struct gh_store_val *v)
{
    char *s = gh_malloc(v->len + 1);
    if (v->len)
        memcpy(s, v->p, v->len);
    s[v->len] = '\0';
    return s;
}

static int on_event(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct walk *w = ctx;
    struct gh_audit_report *r = w->r;
    if (n < 10)
        return 0;
    int64_t seq = c[0].i;
    char *f[9];
    for (int i = 0; i < 9; i++)
        f[i] = col(&c[i + 1]);
    /* time, actor, action, target, outcome, details, request_id, prev_hash, hash */
    struct gh_json *details = gh_json_parse(f[5], strlen(f[5]), NULL);
    struct gh_audit_event e = {f[1], f[2], f[3], f[4], details, f[6]};
    char *canon = gh_audit_canonical(seq, f[0], &e, f[7]);
    char hash[65];
    sha256_hex(canon, hash);
    free(canon);
    gh_json_unref(details);
    int bad = 1;
    if (seq != w->expect_seq)
        snprintf(
            r->why, sizeof(r->why),
            seq > w->expect_seq
                ? "event %lld is missing: the trail jumps from %lld to %lld (removed)"
                : "event %lld appears again or out of order (after %lld comes %lld: inserted or reordered)",
            (long long)w->expect_seq, (long long)w->expect_seq - 1, (long long)seq);
    else if (strcmp(f[7], w->prev) != 0)
        snprintf(
            r->why, sizeof(r->why),
            "event %lld does not follow the event before it (its previous-hash differs: an event before it "
            "was removed, inserted or reordered)",
            (long long)seq);
    else if (details == NULL || CRYPTO_memcmp(hash, f[8], 64) != 0 || strlen(f[8]) != 64)
        snprintf(r->why, sizeof(r->why), "event %lld was changed (its content does not match its hash)",
                 (long long)seq);
    else
        bad = 0;
    if (bad) {
        r->bad_seq = seq != w->expect_seq && seq > w->expect_seq ? w->expect_seq : seq;
        w->stopped = 1;
    } else {
        r->count++;
        snprintf(r->head, sizeof(r->head), "%s", f[8]);
        snprintf(w->prev, sizeof(w->prev), "%s", f[8]);
        w->expect_seq = seq + 1;
    }
    for (int i = 0; i < 9; i++)
        free(f[i]);
    return bad; /* stop at the first wrong event */
}

static void mac_hex(const unsigned char *key, size_t keylen, int64_t seq, const char *head, const char *time,
                    char out[65])
{
    char msg[200];
    int n =
        snprintf(msg, sizeof(msg), "gatehouse audit checkpoint\n%lld\n%s\n%s", (long long)seq, head, time);
    gh_hmac_sha256_hex(key, keylen, msg, (size_t)n, out);
}

struct cps {
    struct walk *w;
    struct gh_store *s;
    const unsigned char *key;
    size_t keylen;
    int64_t last_event_seq;
};

static int on_checkpoint(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct cps *x = ctx;
    struct gh_audit_report *r = x->w->r;
    if (n < 4 || r->bad_seq)
        return 0;
    int64_t seq = c[0].i;
    char *head = col(&c[1]), *time = col(&c[2]), *mac = col(&c[3]);
    r->checkpoints++;
    if (x->key) {
        char want[65];
        mac_hex(x->key, x->keylen, seq, head, time, want);
        if (CRYPTO_memcmp(want, mac, 64) != 0 || strlen(mac) != 64) {
            r->bad_seq = seq;
            snprintf(r->why, sizeof(r->why),
                     "the checkpoint at event %lld is not signed by the checkpoint key", (long long)seq);
        }
    }
    if (r->bad_seq == 0 && seq > x->last_event_seq) {
        r->bad_seq = x->last_event_seq + 1;
        snprintf(r->why, sizeof(r->why),
                 "the trail ends at event %lld but a checkpoint vouches for event %lld: events were cut off "
                 "the end",
                 (long long)x->last_event_seq, (long long)seq);
    }
    if (r->bad_seq == 0) {
        /* the checkpointed event's hash must be the one in the trail */
        struct head h = {0, ""};
        struct gh_store_val p[] = {GH_VINT(seq)};
        gh_store_exec(x->s, "SELECT seq, hash FROM audit_events WHERE seq = $1", p, 1, on_head, &h, NULL);
        if (strcmp(h.hash, head) != 0) {
            r->bad_seq = seq;
            snprintf(r->why, sizeof(r->why), "event %lld differs from what its checkpoint recorded",
                     (long long)seq);
        }
    }
    free(head);
    free(time);
    free(mac);
    return 0;
}

int gh_audit_verify(struct gh_store *s, const unsigned char *key, size_t keylen, struct gh_audit_report *r,
                    struct gh_err *err)
{
    memset(r, 0, sizeof(*r));
    struct walk w = {r, 1, GENESIS, 0};
    int rc = gh_store_exec(
        s,
        "SELECT seq, time, actor, action, target, outcome, details, request_id, prev_hash, hash "
        "FROM audit_events ORDER BY seq",
        NULL, 0, on_event, &w, err);
    if (rc < 0)
        return rc;
    struct cps x = {&w, s, key, keylen, w.expect_seq - 1};
    if (r->bad_seq == 0)
        rc = gh_store_exec(s, "SELECT seq, head_hash, time, mac FROM audit_checkpoints ORDER BY seq", NULL, 0,
                           on_checkpoint, &x, err);
    return rc < 0 ? rc : 0;
}

int gh_audit_valid_time(const char *t)
{
    /* YYYY-MM-DD, optionally THH:MM[:SS[.fff]] and Z */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    size_t n = strlen(t);
    if (n != 10 && n != 16 && n != 17 && n != 19 && n != 20 && n != 23 && n != 24)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char want = shape[i];
        if (i == n - 1 && n > 10 && t[i] == 'Z')
            continue;
        if (want == 'd' ? !(t[i] >= '0' && t[i] <= '9') : t[i] != want)
            return 0;
    }
    return 1;
}

struct list_ctx {
    gh_audit_event_fn fn;
    void *ctx;
};

static int on_list(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct list_ctx *l = ctx;
    if (n < 10)
        return 0;
    static const char *names[] = {"seq",     "time",    "actor",      "action",    "target",
                                  "outcome", "details", "request_id", "prev_hash", "hash"};
    struct gh_json *o = gh_json_object();
    gh_json_set(o, "seq", gh_json_int(c[0].i));
    for (int i = 1; i < 10; i++) {
        if (i == 6) {
            struct gh_json *d = gh_json_parse(c[i].p ? c[i].p : "{}", c[i].len ? c[i].len : 2, NULL);
            gh_json_set(o, names[i], d ? d : gh_json_object());
        } else {
            gh_json_set(o, names[i],
                        c[i].type == GH_VAL_TEXT ? gh_json_string(c[i].p, c[i].len) : gh_json_null());
        }
    }
    int rc = l->fn(l->ctx, o);
    gh_json_unref(o);
    return rc;
}

int gh_audit_list(struct gh_store *s, const struct gh_audit_query *q, gh_audit_event_fn fn, void *ctx,
                  struct gh_err *err)
{
    struct gh_buf sql = {0};
    struct gh_store_val p[8];
    size_t n = 0;
    char prefix[256] = "";
    gh_buf_adds(&sql,
                "SELECT seq, time, actor, action, target, outcome, details, request_id, prev_hash, hash "
                "FROM audit_events WHERE seq > $1");
    p[n++] = GH_VINT(q->after_seq);
    if (q->actor) {
        p[n++] = GH_VTEXT(q->actor);
        gh_buf_addf(&sql, " AND actor = $%zu", n);
    }
    if (q->action) {
        size_t al = strlen(q->action);
        if (al >= 2 && strcmp(q->action + al - 2, ".*") == 0) {
            snprintf(prefix, sizeof(prefix), "%.*s", (int)(al - 1), q->action); /* "grant." */
            p[n++] = GH_VTEXT(prefix);
            gh_buf_addf(&sql, " AND substr(action, 1, length($%zu)) = $%zu", n, n);
        } else {
            p[n++] = GH_VTEXT(q->action);
            gh_buf_addf(&sql, " AND action = $%zu", n);
        }
    }
    if (q->target) {
        p[n++] = GH_VTEXT(q->target);
        gh_buf_addf(&sql, " AND target = $%zu", n);
    }
    if (q->since) {
        p[n++] = GH_VTEXT(q->since);
        gh_buf_addf(&sql, " AND time >= $%zu", n);
    }
    if (q->until) {
        p[n++] = GH_VTEXT(q->until);
        gh_buf_addf(&sql, " AND time < $%zu", n);
    }
    gh_buf_adds(&sql, " ORDER BY seq");
    if (q->limit)
        gh_buf_addf(&sql, " LIMIT %zu", q->limit);
    struct list_ctx l = {fn, ctx};
    int rc = gh_store_exec(s, sql.p, p, n, on_list, &l, err);
    gh_buf_free(&sql);
    return rc;
}

static int on_cp(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct gh_json **out = ctx;
    if (n < 4)
        return 0;
    struct gh_json *o = gh_json_object();
    gh_json_set(o, "seq", gh_json_int(c[0].i));
    gh_json_set(o, "head_hash", gh_json_string(c[1].p, c[1].len));
    gh_json_set(o, "time", gh_json_string(c[2].p, c[2].len));
    gh_json_set(o, "mac", gh_json_string(c[3].p, c[3].len));
    *out = o;
    return 0;
}

struct gh_json *gh_audit_last_checkpoint(struct gh_store *s, struct gh_err *err)
{
    struct gh_json *o = NULL;
    gh_store_exec(s, "SELECT seq, head_hash, time, mac FROM audit_checkpoints ORDER BY seq DESC LIMIT 1",
                  NULL, 0, on_cp, &o, err);
    return o;
}

int gh_audit_checkpoint(struct gh_store *s, const unsigned char *key, size_t keylen, struct gh_err *err)
{
    struct head h = {0, ""};
    int rc = gh_store_exec(s, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", NULL, 0,
                           on_head, &h, err);
    if (rc || h.seq == 0)
        return rc;
    char when[40], mac[65];
    gh_time_rfc3339(gh_time_wall_ms(), when, sizeof(when));
    mac_hex(key, keylen, h.seq, h.hash, when, mac);
    struct gh_store_val p[] = {GH_VINT(h.seq), GH_VTEXT(h.hash), GH_VTEXT(when), GH_VTEXT(mac)};
    return gh_store_exec(s,
                         "INSERT INTO audit_checkpoints (seq, head_hash, time, mac) VALUES ($1, $2, $3, $4) "
                         "ON CONFLICT (seq) DO UPDATE SET head_hash = $2, time = $3, mac = $4",
                         p, 4, NULL, NULL, err);
}

/* ---- exports ---- */

static int on_export_line(void *ctx, struct gh_json *e)
{
    char *t = gh_json_dump(e, 0);
    gh_buf_adds(ctx, t);
    gh_buf_add(ctx, "\n", 1);
    free(t);
    return 0;
}

int gh_audit_export_jsonl(struct gh_store *s, const char *since, const char *until, struct gh_buf *out,
                          struct gh_err *err)
{
    struct gh_audit_query q = {.since = since, .until = until};
    int rc = gh_audit_list(s, &q, on_export_line, out, err);
    struct gh_json *cp = rc == 0 ? gh_audit_last_checkpoint(s, err) : NULL;
    if (cp) {
        char *t = gh_json_dump(cp, 0);
        gh_buf_addf(out, "{\"checkpoint\":%s}\n", t);
        free(t);
        gh_json_unref(cp);
    }
    return rc;
}

/* One exported event: its hash recomputed from its fields and the hash it names before it. */
static int check_line(const struct gh_json *e, const char *prev, struct gh_audit_report *r)
{
    const char *time = gh_json_str(gh_json_get(e, "time"), NULL),
               *hash = gh_json_str(gh_json_get(e, "hash"), NULL),
               *ph = gh_json_str(gh_json_get(e, "prev_hash"), NULL);
    int64_t seq = gh_json_int_value(gh_json_get(e, "seq"));
    if (time == NULL || hash == NULL || ph == NULL || seq <= 0) {
        r->bad_seq = seq > 0 ? seq : -1;
        snprintf(r->why, sizeof(r->why), "line %lld: not an audit event", (long long)r->count + 1);
        return -1;
    }
    if (prev[0] && strcmp(ph, prev) != 0) {
        r->bad_seq = seq;
        snprintf(r->why, sizeof(r->why), "event %lld does not follow the one before it (prev_hash)",
                 (long long)seq);
        return -1;
    }
    struct gh_audit_event ev = {gh_json_str(gh_json_get(e, "actor"), NULL),
                                gh_json_str(gh_json_get(e, "action"), NULL),
                                gh_json_str(gh_json_get(e, "target"), NULL),
                                gh_json_str(gh_json_get(e, "outcome"), NULL),
                                gh_json_get(e, "details"),
                                gh_json_str(gh_json_get(e, "request_id"), NULL)};
    char *canon = gh_audit_canonical(seq, time, &ev, ph), mine[65];
    sha256_hex(canon, mine);
    free(canon);
    if (strcmp(mine, hash) != 0) {
        r->bad_seq = seq;
        snprintf(r->why, sizeof(r->why), "event %lld was changed (its hash does not match its fields)",
                 (long long)seq);
        return -1;
    }
    return 0;
}

int gh_audit_verify_export(const char *text, size_t len, struct gh_audit_report *r, struct gh_err *err)
{
    memset(r, 0, sizeof(*r));
    char prev[65] = "";
    int64_t last_seq = 0;
    const char *p = text, *end = text + len;
    while (p < end && r->bad_seq == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n) {
            struct gh_json *e = gh_json_parse(p, n, NULL);
            const struct gh_json *cp = gh_json_get(e, "checkpoint");
            if (e == NULL) {
                r->bad_seq = -1;
                snprintf(r->why, sizeof(r->why), "line %lld is not JSON", (long long)r->count + 1);
            } else if (cp) {
                /* it must name an exported event as the head it signed */
                int64_t cs = gh_json_int_value(gh_json_get(cp, "seq"));
                const char *ch = gh_json_str(gh_json_get(cp, "head_hash"), NULL);
                r->checkpoints++;
                r->checkpoint_seq = cs;
                if (cs == last_seq && (ch == NULL || strcmp(ch, prev) != 0)) {
                    r->bad_seq = cs;
                    snprintf(r->why, sizeof(r->why), "the checkpoint does not match event %lld",
                             (long long)cs);
                }
            } else if (check_line(e, prev, r) == 0) {
                int64_t seq = gh_json_int_value(gh_json_get(e, "seq"));
                if (last_seq && seq != last_seq + 1) {
                    r->bad_seq = seq;
                    snprintf(r->why, sizeof(r->why), "events %lld to %lld are missing",
                             (long long)last_seq + 1, (long long)seq - 1);
                }
                last_seq = r->last_seq = seq;
                snprintf(prev, sizeof(prev), "%s", gh_json_str(gh_json_get(e, "hash"), NULL));
                snprintf(r->head, sizeof(r->head), "%s", prev);
                r->count++;
            }
            gh_json_unref(e);
        }
        p += n + (nl ? 1 : 0);
    }
    (void)err;
    return 0;
}
