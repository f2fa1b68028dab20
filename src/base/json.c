/*
 * json.c: jansson behind gh_json_*. Values are json_t underneath; the casts live only here.
 */
#include "json.h"

#include <jansson.h>
#include <stdlib.h>

#define J(x) ((json_t *)(x))
#define G(x) ((struct gh_json *)(x))

struct gh_json *gh_json_parse(const char *text, size_t len, struct gh_err *err)
{
    json_error_t e;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (j == NULL)
        gh_err_set(err, GH_EINVAL, "line %d, column %d: %s", e.line, e.column, e.text);
    return G(j);
}

char *gh_json_dump(const struct gh_json *j, int sorted)
{
    return json_dumps(J(j), JSON_COMPACT | JSON_ENCODE_ANY | (sorted ? JSON_SORT_KEYS : 0));
}

char *gh_json_dump_pretty(const struct gh_json *j)
{
    return json_dumps(J(j), JSON_INDENT(2) | JSON_ENCODE_ANY);
}

struct gh_json *gh_json_ref(struct gh_json *j)
{
    return G(json_incref(J(j)));
}

void gh_json_unref(struct gh_json *j)
{
    json_decref(J(j));
}

int gh_json_type(const struct gh_json *j)
{
    switch (j ? json_typeof(J(j)) : JSON_NULL) {
    case JSON_TRUE:
    case JSON_FALSE:
        return GH_JSON_BOOL;
    case JSON_INTEGER:
        return GH_JSON_INT;
    case JSON_REAL:
        return GH_JSON_REAL;
    case JSON_STRING:
        return GH_JSON_STRING;
    case JSON_ARRAY:
        return GH_JSON_ARRAY;
    case JSON_OBJECT:
        return GH_JSON_OBJECT;
    default:
        return GH_JSON_NULL;
    }
}

struct gh_json *gh_json_null(void)
{
    return G(json_null());
}

struct gh_json *gh_json_bool(int v)
{
    return G(json_boolean(v));
}

struct gh_json *gh_json_int(int64_t v)
{
    return G(json_integer((json_int_t)v));
}

struct gh_json *gh_json_real(double v)
{
    return G(json_real(v));
}

struct gh_json *gh_json_string(const char *p, size_t len)
{
    return G(json_stringn(p, len));
}

struct gh_json *gh_json_object(void)
{
    return G(json_object());
}

struct gh_json *gh_json_array(void)
{
    return G(json_array());
}

const char *gh_json_str(const struct gh_json *j, size_t *len)
{
    if (!json_is_string(J(j)))
        return NULL;
    if (len)
        *len = json_string_length(J(j));
    return json_string_value(J(j));
}

int64_t gh_json_int_value(const struct gh_json *j)
{
    return json_is_integer(J(j)) ? (int64_t)json_integer_value(J(j)) : 0;
}

double gh_json_real_value(const struct gh_json *j)
{
    return json_is_real(J(j)) ? json_real_value(J(j)) : 0;
}

int gh_json_bool_value(const struct gh_json *j)
{
    return json_is_true(J(j));
}

struct gh_json *gh_json_get(const struct gh_json *obj, const char *key)
{
    return G(json_object_get(J(obj), key));
}

int gh_json_set(struct gh_json *obj, const char *key, struct gh_json *v)
{
    return json_object_set_new(J(obj), key, J(v)) == 0 ? 0 : GH_EINVAL;
}

int gh_json_del(struct gh_json *obj, const char *key)
{
    return json_object_del(J(obj), key) == 0 ? 0 : GH_ENOTFOUND;
}

int gh_json_next(const struct gh_json *obj, void **iter, const char **key, struct gh_json **value)
{
    void *it = *iter ? json_object_iter_next(J(obj), *iter) : json_object_iter(J(obj));
    if (it == NULL)
        return 0;
    *iter = it;
    *key = json_object_iter_key(it);
    *value = G(json_object_iter_value(it));
    return 1;
}

size_t gh_json_size(const struct gh_json *j)
{
    if (json_is_object(J(j)))
        return json_object_size(J(j));
    if (json_is_array(J(j)))
        return json_array_size(J(j));
    return 0;
}

struct gh_json *gh_json_at(const struct gh_json *arr, size_t i)
{
    return G(json_array_get(J(arr), i));
}

int gh_json_append(struct gh_json *arr, struct gh_json *v)
{
    return json_array_append_new(J(arr), J(v)) == 0 ? 0 : GH_EINVAL;
}

struct gh_json *gh_json_copy(const struct gh_json *j)
{
    return G(json_deep_copy(J(j)));
}
