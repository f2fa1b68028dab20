/*
 * yaml: the one place that talks to libfyaml. The config loader (and later the catalog) read YAML
 * through these calls, and every node can say which line it came from, so errors name file:line.
 */
#ifndef GH_YAML_H
#define GH_YAML_H

#include "base.h"

struct gh_yaml_doc;  /* a parsed document (owns its nodes) */
struct gh_yaml_node; /* borrowed from its document */

enum gh_yaml_type { GH_YAML_SCALAR = 0, GH_YAML_SEQUENCE, GH_YAML_MAPPING };

/* Parses a file holding one YAML document. On failure returns GH_EINVAL with "file:line: why" in err. */
int gh_yaml_load_file(const char *path, struct gh_yaml_doc **out, struct gh_err *err);

/* Parses YAML from memory; `name` stands for the file in messages. text must outlive the document. */
int gh_yaml_load_string(const char *name, const char *text, size_t len, struct gh_yaml_doc **out,
                        struct gh_err *err);

void gh_yaml_free(struct gh_yaml_doc *doc); /* accepts NULL */

/* Called for each document of a stream, in order; doc is valid only during the call. Return non-zero
 * to stop (gh_yaml_load_stream then returns that value). */
typedef int (*gh_yaml_doc_fn)(void *ctx, struct gh_yaml_doc *doc, int index);

/* Parses a stream of documents ("---"-separated), calling fn for each. A syntax error anywhere stops
 * the stream with GH_EINVAL and "name:line: invalid YAML: ..." (documents before it were delivered). */
int gh_yaml_load_stream(const char *name, const char *text, size_t len, gh_yaml_doc_fn fn, void *ctx,
                        struct gh_err *err);

struct gh_json;
/*
 * Converts a node to JSON by YAML 1.2's core schema (plain true/false/null/numbers resolve to those
 * types; quoted, block and !!str scalars stay text). Aliases and merge keys are refused (an alias can
 * multiply a small file into a huge value), as are non-text keys and nesting past 64 levels.
 * Returns a new reference, or NULL with "name:line: why" in err. NULL n gives JSON null.
 */
struct gh_json *gh_yaml_to_json(struct gh_yaml_node *n, const char *name, struct gh_err *err);

/* The root node; NULL for an empty document. */
struct gh_yaml_node *gh_yaml_root(struct gh_yaml_doc *doc);

int gh_yaml_type(struct gh_yaml_node *n);

/* 1-based line of a scalar node (0 for a collection, whose line the caller knows from its key). */
int gh_yaml_line(struct gh_yaml_node *n);

/* A scalar's text as a new NUL-terminated string (caller frees), or NULL if n is not a scalar. */
char *gh_yaml_scalar_dup(struct gh_yaml_node *n);

/* Iterates a mapping: set *iter = NULL first; returns 1 with *key (scalar text, borrowed until the
 * document is freed, NUL-terminated copy held in the doc) *key_line and *value, or 0 at the end. */
int gh_yaml_map_next(struct gh_yaml_doc *doc, struct gh_yaml_node *map, void **iter, const char **key,
                     int *key_line, struct gh_yaml_node **value);

/* Iterates a sequence: set *iter = NULL first; returns the next item or NULL. */
struct gh_yaml_node *gh_yaml_seq_next(struct gh_yaml_node *seq, void **iter);

/* The line a document of a stream starts on (1 for a single document). */
int gh_yaml_doc_line(const struct gh_yaml_doc *doc);

/* A whole stream as JSON: [{"line": N, "doc": value}, ...], empty documents left out. New reference,
 * or NULL with "name:line: why" in err. In this process: only for trusted bytes (see child.h). */
struct gh_json *gh_yaml_stream_json(const char *name, const char *text, size_t len, struct gh_err *err);

#endif
