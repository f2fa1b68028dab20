/*
 * events.c: see events.h.
 */
#include "events.h"

#include "../base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int on_seq(void *ctx, const struct gh_store_val *c, size_t n)
{
    if (n == 1 && c[0].type == GH_VAL_INT)
        *(int64_t *)ctx = c[0].i;
    return 0;
}

int gh_event_add(struct gh_store *s, const char *type, struct gh_json *data, uint64_t now_ms,
                 struct gh_err *err)
{
    if (!gh_store_in_transaction(s)) {
        gh_json_unref(data);
        return gh_err_set(err, GH_EINTERNAL, "an event outside a transaction: %s", type);
    }
    int64_t seq = 0;
    int rc = gh_store_exec(s, "SELECT COALESCE(MAX(seq), 0) + 1 FROM events", NULL, 0, on_seq, &seq, err);
    if (rc) {
        gh_json_unref(data);
        return rc;
    }
    char id[32], when[40];
    snprintf(id, sizeof(id), "evt_%lld", (long long)seq);
    gh_time_rfc3339(now_ms, when, sizeof(when));
    struct gh_json *e = gh_json_object();
    gh_json_set(e, "id", gh_json_string(id, strlen(id)));
    gh_json_set(e, "type", gh_json_string(type, strlen(type)));
    gh_json_set(e, "createdAt", gh_json_string(when, strlen(when)));
    gh_json_set(e, "data", data);
    char *body = gh_json_dump(e, 1);
    gh_json_unref(e);
    struct gh_store_val p[] = {GH_VINT(seq), GH_VTEXT(type), GH_VTEXT(body), GH_VTEXT(when)};
    rc = gh_store_exec(s, "INSERT INTO events (seq, type, body, created_at) VALUES ($1, $2, $3, $4)", p, 4,
                       NULL, NULL, err);
    free(body);
    return rc;
}

int gh_event_list(struct gh_store *s, int64_t after, int limit, gh_store_row_fn fn, void *ctx,
                  struct gh_err *err)
{
    struct gh_store_val p[] = {GH_VINT(after), GH_VINT(limit)};
    return gh_store_exec(
        s, "SELECT seq, type, body, created_at FROM events WHERE seq > $1 ORDER BY seq LIMIT $2", p, 2, fn,
        ctx, err);
}
