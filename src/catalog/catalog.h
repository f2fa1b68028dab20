/*
 * catalog: the Backstage-compatible software catalog. So far: Backstage's naming rules and entity
 * references (names.c); the entity model, ingestion and the catalog API build on these.
 *
 * The rules are Backstage's own (@backstage/catalog-model's default validators), so anything
 * Backstage accepts we accept and vice versa:
 *   name       1-63 of [A-Za-z0-9-_.], starting and ending with a letter or digit
 *   namespace  a DNS label: 1-63 of [a-z0-9-], no leading, trailing or doubled '-'
 *   kind       1-63 of [A-Za-z0-9], starting with a letter
 *   apiVersion [<DNS subdomain>/]<1-63 of [A-Za-z0-9]>
 *   label and annotation keys  [<DNS subdomain>/]<name>;  label values  empty or a name
 *   tag        1-63 of [a-z0-9:+#], in groups joined by single '-'
 */
#ifndef GH_CATALOG_H
#define GH_CATALOG_H

#include "../base/base.h"

int gh_catalog_valid_name(struct gh_str s);
int gh_catalog_valid_namespace(struct gh_str s);
int gh_catalog_valid_kind(struct gh_str s);
int gh_catalog_valid_api_version(struct gh_str s);
int gh_catalog_valid_label_key(struct gh_str s); /* also annotation keys */
int gh_catalog_valid_label_value(struct gh_str s);
int gh_catalog_valid_tag(struct gh_str s);

#define GH_ENTITY_PART_MAX 64 /* 63 characters and the NUL */

/* A parsed entity reference, with each part as written (case is kept; comparison ignores it). */
struct gh_entity_ref {
    char kind[GH_ENTITY_PART_MAX];
    char ns[GH_ENTITY_PART_MAX];
    char name[GH_ENTITY_PART_MAX];
};

/*
 * Parses "[<kind>:][<namespace>/]<name>" as Backstage does. A missing kind takes default_kind (NULL:
 * a kind is required); a missing namespace takes default_ns (NULL: "default"). Every part is checked
 * against the rules above. Returns 0, or GH_EINVAL with err saying what is wrong with which part.
 */
int gh_catalog_parse_ref(struct gh_str ref, const char *default_kind, const char *default_ns,
                         struct gh_entity_ref *out, struct gh_err *err);

/* The canonical form "kind:namespace/name", all lower case (Backstage's stringifyEntityRef).
 * Writes at most cap bytes including the NUL; returns the length it needed. */
size_t gh_catalog_ref_string(const struct gh_entity_ref *ref, char *buf, size_t cap);

#define GH_ENTITY_REF_MAX (3 * GH_ENTITY_PART_MAX + 2)

/* Whether Backstage defines spec rules for this kind (Component, API, System, Domain, Resource,
 * Group, User, Location). Other kinds are accepted on their envelope alone. */
int gh_catalog_known_kind(struct gh_str kind);

struct gh_json;

/*
 * Checks an entity (parsed JSON) against the envelope rules and its kind's spec rules, and every
 * reference its spec holds. On success normalises it in place -- fields the catalog computes (uid,
 * etag, generation, relations, status) are dropped, a missing namespace becomes "default" -- and
 * fills *out (may be NULL). On failure returns GH_EINVAL with "<ref>: <field>: <why>" in err.
 */
int gh_entity_check(struct gh_json *e, struct gh_entity_ref *out, struct gh_err *err);

/* Called for each relation, source and target as canonical refs; non-zero stops the walk. */
typedef int (*gh_relation_fn)(void *ctx, const char *source, const char *type, const char *target);

/* The relations a checked entity's spec implies, each in both directions (ownedBy then ownerOf, ...). */
int gh_entity_relations(const struct gh_json *e, gh_relation_fn fn, void *ctx);

/* A parsed Backstage filter: any group may match (OR); in a group every condition must (AND); a
 * condition holds when its key exists (exists, no values) or has any of its values. Lower-case. */
#define GH_FILTER_MAX_GROUPS 16
#define GH_FILTER_MAX_CONDS 16
struct gh_filter_cond {
    char *key;
    char **values;
    size_t nvalues;
    int exists;
};
struct gh_filter_group {
    struct gh_filter_cond conds[GH_FILTER_MAX_CONDS];
    size_t nconds;
};
struct gh_filter {
    struct gh_filter_group groups[GH_FILTER_MAX_GROUPS];
    size_t ngroups;
};

/* Adds one `filter` query parameter's value (already percent-decoded) as a group. Returns 0, or
 * GH_EINVAL with err saying what is wrong (the filter is left as it was). */
int gh_filter_add(struct gh_filter *f, const char *text, size_t len, struct gh_err *err);
void gh_filter_group_free(struct gh_filter_group *g);
void gh_filter_free(struct gh_filter *f); /* frees the contents; the struct can be reused */

#endif
