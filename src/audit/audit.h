/*
 * audit: the tamper-evident trail of every change to who can call what. One call records an event,
 * inside the transaction of the change it records (it refuses to run outside one), so neither exists
 * without the other. Events form a hash chain: each stores the SHA-256 of its canonical serialisation,
 * which includes the previous event's hash, so changing, removing, inserting or reordering an event
 * breaks the chain at that point. Checkpoints -- the head's sequence and hash, signed with
 * HMAC-SHA256 under a key from the secret store -- make cutting off the tail evident too.
 *
 * Never put a secret in an event: keys by id or prefix only.
 */
#ifndef GH_AUDIT_H
#define GH_AUDIT_H

#include "../store/store.h"

struct gh_json;

struct gh_audit_event {
    const char *actor;             /* "user:jane", "cli:root", "system:catalog" */
    const char *action;            /* dotted verb: "secret.set", "grant.approve" */
    const char *target;            /* entity ref or object id */
    const char *outcome;           /* "success", "denied", "failure" */
    const struct gh_json *details; /* an object, or NULL */
    const char *request_id;        /* or NULL */
};

/* Appends an event. Must run inside a store transaction (GH_EINTERNAL otherwise). *seq: its number. */
int gh_audit_record(struct gh_store *s, const struct gh_audit_event *e, int64_t *seq, struct gh_err *err);

/*
 * One audited change in one transaction: begin, fn (the change; it may add to details, and name the
 * target by setting details.target when target is NULL), the event, commit; on any failure, nothing.
 */
typedef int (*gh_audit_change_fn)(void *ctx, struct gh_store *s, struct gh_json *details, struct gh_err *err);
int gh_audit_change(struct gh_store *s, const char *actor, const char *action, const char *target,
                    gh_audit_change_fn fn, void *ctx, struct gh_err *err);

/* The canonical form hashed for an event (sorted-key compact JSON of every field, prev_hash
 * included): exposed for tests and for auditors re-checking an export by hand. New string. */
char *gh_audit_canonical(int64_t seq, const char *time, const struct gh_audit_event *e,
                         const char *prev_hash);

struct gh_audit_report {
    int64_t count;   /* events walked */
    char head[65];   /* the last event's hash ("" when none) */
    int64_t bad_seq; /* the first event found wrong (0: intact) */
    char why[400];   /* what is wrong with it */
    int64_t checkpoints;
    int64_t checkpoint_seq; /* verify_export: the event the export's checkpoint names (0: none) */
    int64_t last_seq;       /* verify_export: the last event in it */
};

/* Walks the chain from the first event and checks the checkpoints (with key, when given: their MACs
 * too). Returns 0 when it could walk (the report says whether the trail is intact), or a store error. */
int gh_audit_verify(struct gh_store *s, const unsigned char *key, size_t keylen, struct gh_audit_report *r,
                    struct gh_err *err);

/* Which events to list; every field optional (NULL / 0). Times compare as RFC 3339 text. */
struct gh_audit_query {
    const char *actor, *action, *target; /* exact; action may end in ".*" for a prefix ("grant.*") */
    const char *since, *until;           /* since <= time < until */
    int64_t after_seq;                   /* paging: events after this one */
    size_t limit;                        /* 0: all */
};

/* Events in sequence order as JSON objects (seq, time, actor, action, target, outcome, details,
 * request_id, prev_hash, hash), one call of fn each; non-zero from fn stops. */
typedef int (*gh_audit_event_fn)(void *ctx, struct gh_json *event);
int gh_audit_list(struct gh_store *s, const struct gh_audit_query *q, gh_audit_event_fn fn, void *ctx,
                  struct gh_err *err);

/* The newest checkpoint as {seq, head_hash, time, mac} (new reference), or NULL when none. */
struct gh_json *gh_audit_last_checkpoint(struct gh_store *s, struct gh_err *err);

/* Whether text is an RFC 3339 time or a date (YYYY-MM-DD), the forms --since/--until take. */
int gh_audit_valid_time(const char *text);

/* Signs the current head as a checkpoint (inside a transaction or not). No-op on an empty trail. */
int gh_audit_checkpoint(struct gh_store *s, const unsigned char *key, size_t keylen, struct gh_err *err);

/* The events from since to until (either NULL: open) as JSON lines, as gh_audit_list gives them,
 * ending with {"checkpoint": {...}} when one exists: what auditors take away. */
int gh_audit_export_jsonl(struct gh_store *s, const char *since, const char *until, struct gh_buf *out,
                          struct gh_err *err);

/* Checks such an export on its own: each event's hash against its fields, each event following the one
 * before it (prev_hash, no gap in seq), and a closing checkpoint naming the last event's hash (its MAC
 * needs the key, so only the store's verify checks that). The report says whether it is intact. */
int gh_audit_verify_export(const char *text, size_t len, struct gh_audit_report *r, struct gh_err *err);

#endif
