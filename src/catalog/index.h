/*
 * index.h: the catalog's in-memory query index (see index.c). Control thread only. Built from the
 * store; valid while the store's catalog generation (bumped by every catalog change) is the one it was
 * built at.
 */
#ifndef GH_CATALOG_INDEX_H
#define GH_CATALOG_INDEX_H

#include "db.h"

struct gh_catalog_index;

struct gh_catalog_index *gh_catalog_index_build(struct gh_store *s, struct gh_err *err);
void gh_catalog_index_free(struct gh_catalog_index *x); /* accepts NULL */

/* The store's catalog generation now, and the one an index was built at. */
int64_t gh_catalog_generation(struct gh_store *s);
int64_t gh_catalog_index_generation(const struct gh_catalog_index *x);

/* Evaluates a query: the page's ordinals (a new array of *npage) and how many match in all. */
int gh_catalog_index_query(struct gh_catalog_index *x, const struct gh_catalog_query *q, uint32_t **page,
                           size_t *npage, size_t *total);
const char *gh_catalog_index_uid(const struct gh_catalog_index *x, uint32_t ordinal);

/* {facets: {key: [{value, count}]}} over the entities a filter matches (new reference). */
struct gh_json *gh_catalog_index_facets(struct gh_catalog_index *x, const struct gh_filter *f,
                                        const char *const *keys, size_t nkeys);

/* The indexed words with a letter in them (for typo correction), loaded on first use. */
size_t gh_catalog_index_words(struct gh_catalog_index *x, struct gh_store *s, const char *const **words);

#endif
