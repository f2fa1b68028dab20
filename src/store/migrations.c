/*
 * migrations.c: the schema, as numbered steps embedded in the binary. A step is never edited once
 * released; a change is a new step. Each runs in its own transaction together with its record in
 * gh_schema_migrations, so a crash leaves the database at one version or the next, never between.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static const struct migration {
    int version;
    const char *name;
    const char *sql;
    const char *sqlite_sql; /* the driver's own part (full-text indexes), run after sql */
} migrations[] = {
    {1, "init",
     "CREATE TABLE gh_meta (\n"
     "  key   TEXT PRIMARY KEY,\n"
     "  value TEXT NOT NULL\n"
     ");\n",
     NULL},
    /*
     * The catalog. Refs, kinds, namespaces and names are kept lower-case (Backstage compares them
     * without regard to case). catalog_search holds each entity flattened to lower-case key/value pairs
     * (Backstage's search table), which the filter syntax queries; relations are kept per originating
     * entity, so removing an entity removes exactly the relations it caused, in both directions.
     */
    {2, "catalog",
     "CREATE TABLE catalog_locations (\n"
     "  id           TEXT PRIMARY KEY,\n"
     "  type         TEXT NOT NULL,\n"
     "  target       TEXT NOT NULL,\n"
     "  origin       TEXT NOT NULL,\n"
     "  status       TEXT NOT NULL,\n"
     "  created_at   TEXT NOT NULL,\n"
     "  refreshed_at TEXT,\n"
     "  UNIQUE (type, target)\n"
     ");\n"
     "CREATE TABLE catalog_entities (\n"
     "  uid         TEXT PRIMARY KEY,\n"
     "  ref         TEXT NOT NULL UNIQUE,\n"
     "  kind        TEXT NOT NULL,\n"
     "  namespace   TEXT NOT NULL,\n"
     "  name        TEXT NOT NULL,\n"
     "  location_id TEXT NOT NULL REFERENCES catalog_locations (id) ON DELETE CASCADE,\n"
     "  source      TEXT NOT NULL,\n"
     "  etag        TEXT NOT NULL,\n"
     "  body        TEXT NOT NULL,\n"
     "  updated_at  TEXT NOT NULL\n"
     ");\n"
     "CREATE INDEX catalog_entities_location ON catalog_entities (location_id);\n"
     "CREATE TABLE catalog_relations (\n"
     "  origin_uid TEXT NOT NULL REFERENCES catalog_entities (uid) ON DELETE CASCADE,\n"
     "  source_ref TEXT NOT NULL,\n"
     "  type       TEXT NOT NULL,\n"
     "  target_ref TEXT NOT NULL\n"
     ");\n"
     "CREATE INDEX catalog_relations_source ON catalog_relations (source_ref);\n"
     "CREATE INDEX catalog_relations_target ON catalog_relations (type, target_ref);\n"
     "CREATE INDEX catalog_relations_origin ON catalog_relations (origin_uid);\n"
     "CREATE TABLE catalog_search (\n"
     "  uid   TEXT NOT NULL REFERENCES catalog_entities (uid) ON DELETE CASCADE,\n"
     "  key   TEXT NOT NULL,\n"
     "  value TEXT,\n"
     "  original_value TEXT\n"
     ");\n"
     "CREATE INDEX catalog_search_uid ON catalog_search (uid);\n"
     "CREATE TABLE catalog_operations (\n"
     "  uid     TEXT NOT NULL REFERENCES catalog_entities (uid) ON DELETE CASCADE,\n"
     "  method  TEXT NOT NULL,\n"
     "  path    TEXT NOT NULL,\n"
     "  summary TEXT,\n"
     "  tags    TEXT\n"
     ");\n"
     "CREATE INDEX catalog_operations_uid ON catalog_operations (uid);\n",
     "CREATE VIRTUAL TABLE catalog_fts USING fts5 (\n"
     "  uid UNINDEXED, kind, name, title, description, tags, owner, operations,\n"
     "  tokenize = 'unicode61'\n"
     ");\n"
     "CREATE VIRTUAL TABLE catalog_fts_vocab USING fts5vocab (catalog_fts, 'row');\n"},
    /*
     * Secrets (envelope encryption: each version its own data key, wrapped by the master key, whose
     * fingerprint gh_meta keeps) and the audit trail (a hash chain; checkpoints sign its head).
     */
    {3, "secrets and audit",
     "CREATE TABLE secrets (\n"
     "  name        TEXT NOT NULL,\n"
     "  version     INTEGER NOT NULL,\n"
     "  wrapped_key BLOB NOT NULL,\n"
     "  ciphertext  BLOB NOT NULL,\n"
     "  created_at  TEXT NOT NULL,\n"
     "  current     INTEGER NOT NULL,\n"
     "  PRIMARY KEY (name, version)\n"
     ");\n"
     "CREATE TABLE audit_events (\n"
     "  seq        INTEGER PRIMARY KEY,\n"
     "  time       TEXT NOT NULL,\n"
     "  actor      TEXT NOT NULL,\n"
     "  action     TEXT NOT NULL,\n"
     "  target     TEXT NOT NULL,\n"
     "  outcome    TEXT NOT NULL,\n"
     "  details    TEXT NOT NULL,\n"
     "  request_id TEXT NOT NULL,\n"
     "  prev_hash  TEXT NOT NULL,\n"
     "  hash       TEXT NOT NULL\n"
     ");\n"
     "CREATE TABLE audit_checkpoints (\n"
     "  seq       INTEGER PRIMARY KEY,\n"
     "  head_hash TEXT NOT NULL,\n"
     "  time      TEXT NOT NULL,\n"
     "  mac       TEXT NOT NULL\n"
     ");\n",
     NULL},
    /* Who may call what: applications hold credentials (only hashes of keys) and grants. */
    {4, "access",
     "CREATE TABLE applications (\n"
     "  id         TEXT PRIMARY KEY,\n"
     "  name       TEXT NOT NULL UNIQUE,\n"
     "  owner      TEXT NOT NULL,\n"
     "  created_at TEXT NOT NULL\n"
     ");\n"
     "CREATE TABLE credentials (\n"
     "  id         TEXT PRIMARY KEY,\n"
     "  app_id     TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,\n"
     "  kind       TEXT NOT NULL,\n"
     "  slot       TEXT NOT NULL,\n"
     "  hash       TEXT NOT NULL UNIQUE,\n"
     "  state      TEXT NOT NULL,\n"
     "  created_at TEXT NOT NULL,\n"
     "  expires_at TEXT,\n"
     "  revoked_at TEXT\n"
     ");\n"
     "CREATE INDEX credentials_app ON credentials (app_id);\n"
     "CREATE TABLE grants (\n"
     "  id         TEXT PRIMARY KEY,\n"
     "  app_id     TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,\n"
     "  api        TEXT NOT NULL,\n"
     "  plan       TEXT NOT NULL,\n"
     "  state      TEXT NOT NULL,\n"
     "  created_at TEXT NOT NULL,\n"
     "  expires_at TEXT,\n"
     "  revoked_at TEXT,\n"
     "  UNIQUE (app_id, api)\n"
     ");\n",
     NULL},
    /* JWT client bindings: an application's credential may be a token issuer's client id. */
    {5, "jwt-bindings",
     "ALTER TABLE credentials ADD COLUMN issuer TEXT;\n"
     "ALTER TABLE credentials ADD COLUMN client_id TEXT;\n",
     NULL},
    /* Requests per application, API and minute, for usage charts (written once a minute). */
    {6, "usage",
     "CREATE TABLE usage (\n"
     "  minute        TEXT NOT NULL,\n"
     "  app_id        TEXT NOT NULL,\n"
     "  api           TEXT NOT NULL,\n"
     "  requests      INTEGER NOT NULL,\n"
     "  ok            INTEGER NOT NULL,\n"
     "  client_errors INTEGER NOT NULL,\n"
     "  server_errors INTEGER NOT NULL,\n"
     "  throttled     INTEGER NOT NULL,\n"
     "  PRIMARY KEY (minute, app_id, api)\n"
     ");\n"
     "CREATE INDEX usage_app ON usage (app_id, minute);\n",
     NULL},
    /* Admin API tokens for the control API (only their SHA-256 is kept). */
    {7, "api-tokens",
     "CREATE TABLE api_tokens (\n"
     "  id         TEXT PRIMARY KEY,\n"
     "  name       TEXT NOT NULL,\n"
     "  role       TEXT NOT NULL,\n"
     "  hash       TEXT NOT NULL UNIQUE,\n"
     "  state      TEXT NOT NULL,\n"
     "  created_by TEXT NOT NULL,\n"
     "  created_at TEXT NOT NULL,\n"
     "  revoked_at TEXT\n"
     ");\n",
     NULL},
    /* The access generation that last changed a row: the gateway's table follows changes, not scans. */
    {8, "access-changes",
     "ALTER TABLE credentials ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE grants ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;\n"
     "CREATE INDEX credentials_changed ON credentials (changed);\n"
     "CREATE INDEX grants_changed ON grants (changed);\n",
     NULL},
    /* Portal sessions: only the SHA-256 of the cookie's value is kept. */
    {9, "sessions",
     "CREATE TABLE sessions (\n"
     "  id_hash    TEXT PRIMARY KEY,\n"
     "  user_ref   TEXT NOT NULL,\n"
     "  name       TEXT NOT NULL,\n"
     "  email      TEXT NOT NULL,\n"
     "  role       TEXT NOT NULL,\n"
     "  groups     TEXT NOT NULL,\n"
     "  csrf       TEXT NOT NULL,\n"
     "  logout_url TEXT NOT NULL,\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  seen_ms    INTEGER NOT NULL\n"
     ");\n"
     "CREATE INDEX sessions_user ON sessions (user_ref);\n",
     NULL},
    /* Personal API tokens: a token may act for a person (their User ref; '' for a service token). */
    {10, "personal-tokens", "ALTER TABLE api_tokens ADD COLUMN user_ref TEXT NOT NULL DEFAULT '';\n", NULL},
    /* Requests for access and how they were decided. */
    {11, "access-requests",
     "CREATE TABLE access_requests (\n"
     "  id            TEXT PRIMARY KEY,\n"
     "  requester     TEXT NOT NULL,\n"
     "  app_id        TEXT NOT NULL REFERENCES applications (id),\n"
     "  api           TEXT NOT NULL,\n"
     "  plan          TEXT NOT NULL,\n"
     "  justification TEXT NOT NULL,\n"
     "  duration_ms   INTEGER NOT NULL,\n"
     "  rule          TEXT NOT NULL,\n"
     "  decide        TEXT NOT NULL,\n"
     "  state         TEXT NOT NULL,\n"
     "  decided_by    TEXT,\n"
     "  decided_at    TEXT,\n"
     "  comment       TEXT,\n"
     "  grant_id      TEXT,\n"
     "  created_at    TEXT NOT NULL\n"
     ");\n"
     "CREATE INDEX access_requests_requester ON access_requests (requester);\n"
     "CREATE INDEX access_requests_pending ON access_requests (app_id, api) WHERE state = 'pending';\n",
     NULL},
    /* Events of the access workflow, written in the change's own transaction (the outbox), and their
     * deliveries to each webhook; the reminders a grant has had (the shortest lead time sent, in ms). */
    {12, "events-and-webhooks",
     "CREATE TABLE events (\n"
     "  seq        INTEGER PRIMARY KEY,\n"
     "  type       TEXT NOT NULL,\n"
     "  body       TEXT NOT NULL,\n"
     "  created_at TEXT NOT NULL\n"
     ");\n"
     "CREATE TABLE webhook_deliveries (\n"
     "  event_seq    INTEGER NOT NULL REFERENCES events (seq),\n"
     "  webhook      TEXT NOT NULL,\n"
     "  state        TEXT NOT NULL,\n"
     "  attempts     INTEGER NOT NULL DEFAULT 0,\n"
     "  next_ms      INTEGER NOT NULL,\n"
     "  last_status  INTEGER,\n"
     "  last_error   TEXT,\n"
     "  delivered_at TEXT,\n"
     "  PRIMARY KEY (event_seq, webhook)\n"
     ");\n"
     "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_ms) WHERE state = 'pending';\n"
     "ALTER TABLE grants ADD COLUMN reminded_ms INTEGER;\n",
     NULL},
    /* The parameters of an API's operations, for its definition page ("id (path, required), ..."). */
    {13, "operation-parameters", "ALTER TABLE catalog_operations ADD COLUMN params TEXT;\n", NULL},
};

int gh_store_schema_latest(void)
{
    return migrations[GH_ARRAY_SIZE(migrations) - 1].version;
}

static int on_version(void *ctx, const struct gh_store_val *cols, size_t n)
{
    int *v = ctx;
    if (n == 1 && cols[0].type == GH_VAL_INT)
        *v = (int)cols[0].i;
    return 0;
}

int gh__store_migrate(struct gh_store *s, const char *name, struct gh_err *err)
{
    int rc = s->ops->script(s,
                            "CREATE TABLE IF NOT EXISTS gh_schema_migrations (\n"
                            "  version    INTEGER PRIMARY KEY,\n"
                            "  name       TEXT NOT NULL,\n"
                            "  applied_at TEXT NOT NULL\n"
                            ");\n",
                            err);
    if (rc)
        return rc;
    int current = 0;
    rc = s->ops->exec(s, "SELECT MAX(version) FROM gh_schema_migrations", NULL, 0, on_version, &current, err);
    if (rc)
        return rc;
    int latest = gh_store_schema_latest();
    if (current > latest)
        return gh_err_set(err, GH_EINVAL,
                          "%s: the database is at schema version %d, newer than this gatehouse knows (%d); "
                          "run the gatehouse that wrote it, or a newer one",
                          name, current, latest);
    for (size_t i = 0; i < GH_ARRAY_SIZE(migrations); i++) {
        const struct migration *m = &migrations[i];
        if (m->version <= current)
            continue;
        char when[32];
        gh_time_rfc3339(gh_time_wall_ms(), when, sizeof(when));
        struct gh_store_val params[] = {GH_VINT(m->version), GH_VTEXT(m->name), GH_VTEXT(when)};
        if ((rc = s->ops->begin(s, err)) != 0)
            return rc;
        const char *own = strcmp(s->ops->driver, "sqlite") == 0 ? m->sqlite_sql : NULL;
        if ((rc = s->ops->script(s, m->sql, err)) != 0 || (own && (rc = s->ops->script(s, own, err)) != 0) ||
            (rc = s->ops->exec(
                 s, "INSERT INTO gh_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                 params, 3, NULL, NULL, err)) != 0 ||
            (rc = s->ops->commit(s, err)) != 0) {
            s->ops->rollback(s);
            char why[sizeof(err->msg)];
            snprintf(why, sizeof(why), "%s", err ? err->msg : "");
            return gh_err_set(err, rc, "%s: migration %d (%s) failed: %s", name, m->version, m->name, why);
        }
        gh_log(GH_LOG_INFO, "%s: applied schema migration %d (%s)", name, m->version, m->name);
        current = m->version;
    }
    s->schema_version = current;
    return 0;
}
