/*
 * assets: the portal's static files (web/), embedded at build time by scripts/embed.sh.
 */
#ifndef GH_PORTAL_ASSETS_H
#define GH_PORTAL_ASSETS_H

#include <stddef.h>

struct gh_asset {
    const char *name, *type;
    const unsigned char *data;
    size_t len;
};

/* Ends with an entry whose name is NULL. */
extern const struct gh_asset gh_assets[];

#endif
