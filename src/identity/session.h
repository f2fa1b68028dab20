/*
 * session: portal sign-ins kept on the server. The browser holds only a random 32-byte value (the
 * cookie); the store keeps its SHA-256, who signed in, their role and groups as mapped at sign-in, a
 * per-session CSRF token, and when it began and was last used. A session ends at logout, after
 * idle_timeout without use, or absolute_timeout after sign-in, whichever comes first; an ended
 * session's row is deleted, so its cookie can never come back.
 */
#ifndef GH_IDENTITY_SESSION_H
#define GH_IDENTITY_SESSION_H

#include "../store/store.h"
#include "perm.h"

struct gh_session_new {
    const char *user; /* User entity ref */
    const char *name, *email;
    enum gh_role role;
    char *const *groups; /* Group entity refs */
    size_t ngroups;
    const char *logout_url; /* the provider's end-session URL for this sign-in, "" when none */
    const char *how;        /* for the audit trail: "oidc", "dev-login" */
};

/* Starts a session (audited as session.login): the cookie value and the CSRF token come out. */
int gh_session_create(struct gh_store *s, const struct gh_session_new *n, uint64_t now_ms,
                      char id[GH_TOKEN_LEN + 1], char csrf[GH_TOKEN_LEN + 1], struct gh_err *err);

struct gh_session_limits {
    uint64_t idle_ms, absolute_ms;
};

/* The session a cookie value names at now_ms: fills the actor (session = 1) and its CSRF token, and
 * the provider's logout URL when logout_url is not NULL. GH_ENOTFOUND when there is none or it has
 * timed out (its row is then deleted). Marks it used (at most once a minute, to spare writes). */
int gh_session_get(struct gh_store *s, struct gh_str id, uint64_t now_ms, const struct gh_session_limits *l,
                   struct gh_actor *a, char csrf[GH_TOKEN_LEN + 1], char *logout_url, size_t logout_cap,
                   struct gh_err *err);

/* Ends the session the cookie value names (audited as session.logout). GH_ENOTFOUND when none. */
int gh_session_end(struct gh_store *s, struct gh_str id, const char *actor, struct gh_err *err);

/* Ends every session of a user (a role change, a leaver). Returns how many, or a negative error. */
int gh_session_end_user(struct gh_store *s, const char *user, const char *actor, struct gh_err *err);

#endif
