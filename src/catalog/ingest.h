/*
 * ingest.h: reading a file location into a batch (db.h). A target is a file or a glob; each file holds
 * one or more YAML documents (or one JSON document); a directory stands for every *.yaml, *.yml and
 * *.json below it. What a document can be:
 *   - an entity (any kind), checked by gh_entity_check;
 *   - a Location entity, whose spec.target/targets (files or globs, relative to the file) are read too;
 *   - an OpenAPI 3.x document, registered as an API entity (gh_openapi_entity).
 * `$text`, `$json` and `$yaml` placeholders are replaced by the local file they name (relative to the
 * file); a remote URL, or a path outside the allowed directories, is an error for that entity only.
 * Every error lands in the batch with its file and line; nothing here stops at the first one.
 */
#ifndef GH_CATALOG_INGEST_H
#define GH_CATALOG_INGEST_H

#include "db.h"

struct gh_ingest_opts {
    const char *const *allowed_dirs; /* absolute, resolved; files and placeholders must be inside one */
    size_t nallowed;
    const char *default_owner; /* owner for OpenAPI documents without info.x-owner (or NULL) */
    /* called for each checked entity before it joins the batch (the gateway's facts on APIs) */
    void (*enrich)(void *ctx, struct gh_json *entity);
    void *enrich_ctx;
    /* called as the files of a directory are read, with the count so far (a progress line) */
    void (*progress)(void *ctx, size_t files);
    void *progress_ctx;
};

/* Ingests a file location's target into b. Returns the number of files read. */
size_t gh_catalog_ingest_file(const char *target, const struct gh_ingest_opts *o, struct gh_catalog_batch *b);

/* The directory a target lives in (the part before any glob character), resolved; a new string, or
 * NULL with err when it does not exist. The default allowed directory of a location. */
char *gh_catalog_target_dir(const char *target, struct gh_err *err);

/* The operations of a parsed OpenAPI document: [{method, path, summary, tags}] (new reference). */
struct gh_json *gh_openapi_operations(const struct gh_json *doc);

/* Whether a parsed document is an OpenAPI 3.x description rather than an entity. */
int gh_openapi_is_document(const struct gh_json *doc);

/*
 * An API entity for an OpenAPI document: name from info.x-gatehouse-name or else info.title (made a
 * valid name), title/description from info, version as the gatehouse.dev/api-version annotation,
 * owner/lifecycle/system from info.x-owner / x-lifecycle (default production) / x-system, or the
 * default owner; spec.definition is the document's text. New reference, or NULL with err.
 */
struct gh_json *gh_openapi_entity(const struct gh_json *doc, const char *text, const char *default_owner,
                                  struct gh_err *err);

#endif
