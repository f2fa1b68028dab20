/*
 * db.h: the catalog in the store. Locations own entities; ingesting a location produces a batch
 * (the entities it reaches now, and the errors met on the way), and committing the batch brings the
 * store in line with it in one transaction: new entities added, changed ones updated (new etag),
 * entities the location no longer provides removed, while an entity that failed validation or sits in
 * a file that could not be read keeps its last good version. Queries speak Backstage's filter syntax.
 * Control thread only.
 */
#ifndef GH_CATALOG_DB_H
#define GH_CATALOG_DB_H

#include "../store/store.h"
#include "catalog.h"

struct gh_json;

#define GH_LOCATION_ID_MAX 40

/* Adds a location (type "file", or "gateway" for the gateway's own) unless one with the same type and
 * target exists; either way *id is its id, and *existed says which. origin: "config", "api", "cli",
 * "gateway". An entity of a "gateway" location gives way when a file location provides the same ref. */
int gh_catalog_location_add(struct gh_store *s, const char *type, const char *target, const char *origin,
                            char id[GH_LOCATION_ID_MAX], int *existed, struct gh_err *err);
/* {id, type, target} of one location (new reference) or NULL with GH_ENOTFOUND. */
struct gh_json *gh_catalog_location_get(struct gh_store *s, const char *id, struct gh_err *err);
/* Every location as [{id, type, target, origin, status}], oldest first (new reference). */
struct gh_json *gh_catalog_location_list(struct gh_store *s, struct gh_err *err);
/* Removes a location and every entity it provided. GH_ENOTFOUND when there is no such location. */
int gh_catalog_location_remove(struct gh_store *s, const char *id, struct gh_err *err);

struct gh_catalog_batch;
struct gh_catalog_batch *gh_catalog_batch_new(void);
void gh_catalog_batch_free(struct gh_catalog_batch *b); /* accepts NULL */
/* A checked entity (gh_entity_check) found at source ("path:line"); takes `entity` and `operations`
 * (an array of {method, path, summary, tags} for API definitions, or NULL). */
void gh_catalog_batch_add(struct gh_catalog_batch *b, struct gh_json *entity, const struct gh_entity_ref *ref,
                          const char *source, struct gh_json *operations);
/* An error met while ingesting: where, which entity (canonical ref, or NULL when unknown), what. An
 * entity named here keeps its stored version. */
void gh_catalog_batch_error(struct gh_catalog_batch *b, const char *source, const char *ref,
                            const char *message);
/* A file that could not be read or parsed as a whole: entities last seen in it are kept. */
void gh_catalog_batch_keep_file(struct gh_catalog_batch *b, const char *path);
/* Something to poll for changes: a file read ("/abs/path") or a glob listed ("glob:<pattern>"). */
void gh_catalog_batch_watch(struct gh_catalog_batch *b, const char *what);
const char *gh_catalog_batch_watched(const struct gh_catalog_batch *b, size_t i); /* NULL past the end */
/* Sets (takes) the operations of item i, found after it joined the batch. */
void gh_catalog_batch_set_operations(struct gh_catalog_batch *b, size_t i, struct gh_json *operations);
struct gh_json *gh_catalog_batch_entity(const struct gh_catalog_batch *b, size_t i); /* borrowed */
size_t gh_catalog_batch_count(const struct gh_catalog_batch *b);
size_t gh_catalog_batch_errors(const struct gh_catalog_batch *b);
/* The errors as [{source, entity, message}] (borrowed). */
struct gh_json *gh_catalog_batch_error_list(const struct gh_catalog_batch *b);

struct gh_catalog_counts {
    size_t added, updated, unchanged, removed, kept, errors;
};
/* Brings the location's entities in line with the batch, in one transaction, and records the batch's
 * errors (with any met while committing: duplicates, conflicts) as the location's status. */
int gh_catalog_commit(struct gh_store *s, const char *location_id, struct gh_catalog_batch *b,
                      struct gh_catalog_counts *counts, struct gh_err *err);

/* One entity as the API returns it (uid, etag, relations filled in), by canonical ref or by uid; a
 * new reference, or NULL with GH_ENOTFOUND. */
struct gh_json *gh_catalog_get_by_ref(struct gh_store *s, const char *ref, struct gh_err *err);
struct gh_json *gh_catalog_get_by_uid(struct gh_store *s, const char *uid, struct gh_err *err);
/* Removes one entity (it comes back if its location still provides it at the next refresh). */
int gh_catalog_delete_uid(struct gh_store *s, const char *uid, struct gh_err *err);

struct gh_catalog_query {
    const struct gh_filter *filter; /* NULL or no groups: every entity */
    const char *order_key;          /* a search key ("metadata.name"); NULL: by ref */
    int order_desc;
    const char *text;             /* full-text filter term (substring, any case), or NULL */
    const char *const *text_keys; /* keys it looks in; NULL: metadata.name */
    size_t ntext_keys;
    size_t offset, limit; /* limit 0: all */
};
/* Queries run on an in-memory index of the catalog (index.h), rebuilt when the catalog changed;
 * gh_catalog_warm rebuilds it now, so the first query after a change does not pay for it. */
int gh_catalog_warm(struct gh_store *s, struct gh_err *err);
struct gh_catalog_index;
/* For the server: queries on s use the index installed last even when the catalog has changed since
 * (a new one is being built elsewhere: gh_catalog_index_install swaps it in, taking it). */
void gh_catalog_index_background(struct gh_store *s);
void gh_catalog_index_install(struct gh_store *s, struct gh_catalog_index *x);
/* Matching entities (array, new reference) and how many match in all. */
int gh_catalog_query(struct gh_store *s, const struct gh_catalog_query *q, struct gh_json **items,
                     size_t *total, struct gh_err *err);
/* {facets: {key: [{value, count}]}} for the entities the filter matches. */
struct gh_json *gh_catalog_facets(struct gh_store *s, const struct gh_filter *f, const char *const *keys,
                                  size_t nkeys, struct gh_err *err);
/* Ranked full-text search: [{entityRef, kind, title, snippet, ...}] (new reference). Words are
 * matched as prefixes; a word that matches nothing is replaced by the nearest indexed word (typos). */
struct gh_json *gh_catalog_search(struct gh_store *s, const char *q, const char *kind, size_t limit,
                                  struct gh_err *err);

#endif
