/*
 * json: the one place that talks to jansson. A struct gh_json is a jansson value behind an opaque
 * name; ownership follows jansson's rules, spelled out per call: "new" returns a reference the caller
 * owns (release with gh_json_unref), "borrowed" does not, and "takes" consumes the caller's reference.
 */
#ifndef GH_JSON_H
#define GH_JSON_H

#include "base.h"

struct gh_json;

enum gh_json_type {
    GH_JSON_NULL = 0,
    GH_JSON_BOOL,
    GH_JSON_INT,
    GH_JSON_REAL,
    GH_JSON_STRING,
    GH_JSON_ARRAY,
    GH_JSON_OBJECT,
};

/* Parses one JSON text; duplicate object keys are an error. New reference, or NULL with err set. */
struct gh_json *gh_json_parse(const char *text, size_t len, struct gh_err *err);

/* Serialises compactly (sorted keys when `sorted`); returns a new string the caller frees. */
char *gh_json_dump(const struct gh_json *j, int sorted);
/* Indented for people to read (keys in their order). */
char *gh_json_dump_pretty(const struct gh_json *j);

struct gh_json *gh_json_ref(struct gh_json *j);
void gh_json_unref(struct gh_json *j); /* accepts NULL */

int gh_json_type(const struct gh_json *j); /* GH_JSON_NULL for a NULL pointer */

/* New values */
struct gh_json *gh_json_null(void);
struct gh_json *gh_json_bool(int v);
struct gh_json *gh_json_int(int64_t v);
struct gh_json *gh_json_real(double v);
struct gh_json *gh_json_string(const char *p, size_t len); /* NULL if p is not valid UTF-8 */
struct gh_json *gh_json_object(void);
struct gh_json *gh_json_array(void);

/* Reading; wrong types give 0 / NULL */
const char *gh_json_str(const struct gh_json *j, size_t *len); /* borrowed, NUL-terminated */
int64_t gh_json_int_value(const struct gh_json *j);
double gh_json_real_value(const struct gh_json *j);
int gh_json_bool_value(const struct gh_json *j);

/* Objects: get is borrowed; set takes `v` (and fails, releasing it, if obj is not an object). */
struct gh_json *gh_json_get(const struct gh_json *obj, const char *key);
int gh_json_set(struct gh_json *obj, const char *key, struct gh_json *v);
int gh_json_del(struct gh_json *obj, const char *key);
/* Iterates an object: *iter = NULL first; returns 1 with borrowed *key and *value, 0 at the end. */
int gh_json_next(const struct gh_json *obj, void **iter, const char **key, struct gh_json **value);
size_t gh_json_size(const struct gh_json *j); /* members of an object, items of an array */

/* Arrays: at is borrowed; append takes `v`. */
struct gh_json *gh_json_at(const struct gh_json *arr, size_t i);
int gh_json_append(struct gh_json *arr, struct gh_json *v);

/* A deep copy (new reference). */
struct gh_json *gh_json_copy(const struct gh_json *j);

#endif
