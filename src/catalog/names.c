/*
 * names.c: Backstage's naming rules and entity references. Pure functions on byte slices: no
 * allocation, nothing locale-dependent (Backstage lower-cases with the en-US locale, which for the
 * ASCII these rules allow is plain ASCII folding).
 */
#include "catalog.h"

#include <stdio.h>
#include <string.h>

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int gh_catalog_valid_name(struct gh_str s)
{
    if (s.len < 1 || s.len > 63 || !is_alnum(s.p[0]) || !is_alnum(s.p[s.len - 1]))
        return 0;
    for (size_t i = 1; i + 1 < s.len; i++)
        if (!is_alnum(s.p[i]) && s.p[i] != '-' && s.p[i] != '_' && s.p[i] != '.')
            return 0;
    return 1;
}

/* [a-z0-9]+(-[a-z0-9]+)*, 1-63 */
static int dns_label(struct gh_str s)
{
    if (s.len < 1 || s.len > 63)
        return 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        int lower_alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (lower_alnum)
            continue;
        if (c != '-' || i == 0 || i + 1 == s.len || s.p[i - 1] == '-')
            return 0;
    }
    return 1;
}

static int dns_subdomain(struct gh_str s)
{
    if (s.len < 1 || s.len > 253)
        return 0;
    size_t start = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i == s.len || s.p[i] == '.') {
            if (!dns_label((struct gh_str){s.p + start, i - start}))
                return 0;
            start = i + 1;
        }
    }
    return 1;
}

int gh_catalog_valid_namespace(struct gh_str s)
{
    return dns_label(s);
}

/* Backstage's tag rule: groups of [a-z0-9:+#] joined by single '-', 1-63 in all */
int gh_catalog_valid_tag(struct gh_str s)
{
    if (s.len < 1 || s.len > 63)
        return 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '+' || c == '#')
            continue;
        if (c != '-' || i == 0 || i + 1 == s.len || s.p[i - 1] == '-')
            return 0;
    }
    return 1;
}

int gh_catalog_valid_kind(struct gh_str s)
{
    if (s.len < 1 || s.len > 63 || !((s.p[0] >= 'a' && s.p[0] <= 'z') || (s.p[0] >= 'A' && s.p[0] <= 'Z')))
        return 0;
    for (size_t i = 1; i < s.len; i++)
        if (!is_alnum(s.p[i]))
            return 0;
    return 1;
}

/* "<suffix>" or "<prefix>/<suffix>" with exactly one '/', each part checked by its own rule */
static int prefixed(struct gh_str s, int (*prefix)(struct gh_str), int (*suffix)(struct gh_str))
{
    const char *slash = memchr(s.p, '/', s.len);
    if (slash == NULL)
        return suffix(s);
    struct gh_str a = {s.p, (size_t)(slash - s.p)}, b = {slash + 1, s.len - a.len - 1};
    if (memchr(b.p, '/', b.len))
        return 0;
    return prefix(a) && suffix(b);
}

static int version_part(struct gh_str s)
{
    if (s.len < 1 || s.len > 63)
        return 0;
    for (size_t i = 0; i < s.len; i++)
        if (!is_alnum(s.p[i]))
            return 0;
    return 1;
}

int gh_catalog_valid_api_version(struct gh_str s)
{
    return s.len > 0 && prefixed(s, dns_subdomain, version_part);
}

int gh_catalog_valid_label_key(struct gh_str s)
{
    return s.len > 0 && prefixed(s, dns_subdomain, gh_catalog_valid_name);
}

int gh_catalog_valid_label_value(struct gh_str s)
{
    return s.len == 0 || gh_catalog_valid_name(s);
}

static void copy_part(char *dst, struct gh_str s)
{
    memcpy(dst, s.p, s.len);
    dst[s.len] = '\0';
}

int gh_catalog_parse_ref(struct gh_str ref, const char *default_kind, const char *default_ns,
                         struct gh_entity_ref *out, struct gh_err *err)
{
    const char *colon = memchr(ref.p, ':', ref.len), *slash = memchr(ref.p, '/', ref.len);
    if (colon && slash && slash < colon)
        colon = NULL; /* a ':' after the namespace is part of the name (and fails its rule) */
    struct gh_str kind = {NULL, 0}, ns = {NULL, 0}, name;
    const char *rest = ref.p;
    if (colon) {
        kind = (struct gh_str){ref.p, (size_t)(colon - ref.p)};
        rest = colon + 1;
    }
    if (slash) {
        ns = (struct gh_str){rest, (size_t)(slash - rest)};
        rest = slash + 1;
    }
    name = (struct gh_str){rest, (size_t)(ref.p + ref.len - rest)};
    if ((colon && kind.len == 0) || (slash && ns.len == 0) || name.len == 0)
        return gh_err_set(err, GH_EINVAL,
                          "entity reference '%.*s' is not of the form [<kind>:][<namespace>/]<name>",
                          (int)ref.len, ref.p);
    if (!colon) {
        if (default_kind == NULL)
            return gh_err_set(err, GH_EINVAL, "entity reference '%.*s' has no kind", (int)ref.len, ref.p);
        kind = (struct gh_str){default_kind, strlen(default_kind)};
    }
    if (!slash) {
        const char *d = default_ns ? default_ns : "default";
        ns = (struct gh_str){d, strlen(d)};
    }
    if (!gh_catalog_valid_kind(kind))
        return gh_err_set(err, GH_EINVAL, "entity reference '%.*s': '%.*s' is not a valid kind", (int)ref.len,
                          ref.p, (int)kind.len, kind.p);
    /* namespaces are matched without regard to case, as Backstage does; the rule is checked folded */
    char folded[GH_ENTITY_PART_MAX] = {0};
    if (ns.len < sizeof(folded)) {
        for (size_t i = 0; i < ns.len; i++)
            folded[i] = (char)(ns.p[i] >= 'A' && ns.p[i] <= 'Z' ? ns.p[i] + 32 : ns.p[i]);
    }
    if (ns.len >= sizeof(folded) || !gh_catalog_valid_namespace((struct gh_str){folded, ns.len}))
        return gh_err_set(err, GH_EINVAL, "entity reference '%.*s': '%.*s' is not a valid namespace",
                          (int)ref.len, ref.p, (int)ns.len, ns.p);
    if (!gh_catalog_valid_name(name))
        return gh_err_set(err, GH_EINVAL, "entity reference '%.*s': '%.*s' is not a valid name", (int)ref.len,
                          ref.p, (int)name.len, name.p);
    copy_part(out->kind, kind);
    copy_part(out->ns, ns);
    copy_part(out->name, name);
    return 0;
}

size_t gh_catalog_ref_string(const struct gh_entity_ref *ref, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s:%s/%s", ref->kind, ref->ns, ref->name);
    for (char *p = buf; cap && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    return n < 0 ? 0 : (size_t)n;
}
