/*
 * service.h: the catalog as the running server keeps it. Owns the locations' lifecycle on the control
 * thread: the config's locations (added, and removed with their entities when the config drops them),
 * locations added through the API (kept in the store), and the gateway's own location, whose API
 * entities carry what the gateway serves. A timer polls the files each location read and re-ingests a
 * location when any changed (mtime, size, a glob matching other files).
 */
#ifndef GH_CATALOG_SERVICE_H
#define GH_CATALOG_SERVICE_H

#include "../config/config.h"
#include "db.h"

#include <uv.h>

struct gh_catalog_service;
struct gh_json;

/* Starts on loop (loop NULL: no polling, as in the command-line tools); ingests everything once. */
int gh_catalog_service_start(uv_loop_t *loop, struct gh_store *s, const struct gh_config *cfg,
                             struct gh_catalog_service **out, struct gh_err *err);
/* A new config (reload): locations and gateway APIs brought in line with it. cfg must outlive the
 * service or the next call. */
void gh_catalog_service_config(struct gh_catalog_service *svc, const struct gh_config *cfg);
void gh_catalog_service_stop(struct gh_catalog_service *svc); /* accepts NULL */

struct gh_store *gh_catalog_service_store(struct gh_catalog_service *svc);

/* Re-ingests every location now (POST /refresh, `gatehouse apply`). */
int gh_catalog_service_refresh_all(struct gh_catalog_service *svc, struct gh_err *err);
/* Re-ingests the location that provides an entity (canonical ref). GH_ENOTFOUND when none does. */
int gh_catalog_service_refresh_entity(struct gh_catalog_service *svc, const char *ref, struct gh_err *err);

/*
 * Adds a file location (POST /locations): its target must lie in an allowed directory (the config's
 * catalog.allowed_dirs, or a config location's directory). With dry_run nothing is stored. Fills
 * *out with {location: {id, type, target}, entities: [...], exists} (new reference). Returns 0,
 * GH_EINVAL (bad target, with err saying why), or GH_EIO.
 */
int gh_catalog_service_add_location(struct gh_catalog_service *svc, const char *type, const char *target,
                                    int dry_run, struct gh_json **out, struct gh_err *err);

/* Removes an API-added location and its entities (the config's and the gateway's are refused). */
int gh_catalog_service_remove_location(struct gh_catalog_service *svc, const char *id, struct gh_err *err);

/* The allowed directories (for `catalog validate` and friends). */
size_t gh_catalog_service_allowed(struct gh_catalog_service *svc, const char *const **dirs);

/* The gateway facts of one configured API as annotations (gatehouse.dev/...); new reference. */
/* A person who signed in: their User entity (profile, memberOf) under a location of their own
 * ("identity", the User ref), so each sign-in brings it up to date. A User another location (an org
 * file) provides stays as that location says: the conflict is recorded on the sign-in's location. */
int gh_catalog_service_sync_user(struct gh_catalog_service *svc, const char *user_ref,
                                 const char *display_name, const char *email, char *const *groups,
                                 size_t ngroups, struct gh_err *err);

struct gh_json *gh_catalog_gateway_annotations(const struct gh_config *cfg, const struct gh_config_api *a);

#endif
