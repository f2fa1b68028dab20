/* What only store/ shares. */
#ifndef GH_STORE_INTERNAL_H
#define GH_STORE_INTERNAL_H

#include "store.h"

#include <string.h>

/* Creates the migrations table if needed and applies every missing step. `name` is for messages. */
int gh__store_migrate(struct gh_store *s, const char *name, struct gh_err *err);

#endif
