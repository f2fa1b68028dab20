/*
 * config: gatehouse.yaml into a plain struct, with every error naming file, line and key.
 * The loader checks syntax and values; gateway/snapshot.c compiles the result for the data plane.
 * Every key is documented in docs/configuration.md.
 */
#ifndef GH_CONFIG_H
#define GH_CONFIG_H

#include "../base/base.h"
#include "../base/netguard.h"

struct gh_config_plan;

struct gh_config_api {
    char *name;
    int line;
    /* route */
    char *path;   /* prefix, starts with '/' */
    char **hosts; /* exact host names (lower case, no port) or "*" */
    size_t nhosts;
    uint32_t methods; /* bit (1 << enum gh_http_method); 0 means every method */
    /* upstream */
    char **targets; /* "http://host:port[/base]" */
    size_t ntargets;
    uint64_t connect_timeout_ms, timeout_ms;
    int strip_prefix;
    /* auth: how callers prove who they are; every mode but none also needs a grant on this API */
    enum gh_config_auth { GH_AUTH_NONE = 0, GH_AUTH_KEY, GH_AUTH_JWT, GH_AUTH_KEY_OR_JWT } auth;
    char *key_header; /* where the API key comes (default X-Api-Key) */
    int apim_names;   /* also Azure APIM's Ocp-Apim-Subscription-Key header and subscription-key query */
    /* the issuers whose tokens this API takes (names in gh_config.issuers; none listed: all) */
    char **issuers;
    size_t nissuers;
    int issuers_line;
    /* rate_limit: {requests, per, burst, by: ip | claim, claim: NAME}: a limit per client address, or
     * per value of a verified token's claim (rate_* of a plan) */
    struct gh_config_plan *client_limit; /* NULL: none */
    char *limit_claim;                   /* by: claim -- the claim's name; NULL: by ip */
    int limit_line;
    /* catalog facts for the API entity the gateway publishes (all optional) */
    char *owner, *description, *lifecycle, *system;
    char *mock; /* an OpenAPI document (resolved path): the gateway answers from its examples */
    /* the plans callers may get access to this API under (names in gh_config.plans) */
    char **plans;
    size_t nplans;
    int plans_line;
};

/* plans[]: what a grant allows */
struct gh_config_plan {
    char *name, *description;
    int line;
    uint32_t rate_requests, rate_burst; /* 0 requests: no rate limit */
    uint64_t rate_per_ms;
    uint64_t quota_requests; /* 0: no quota */
    int quota_per;           /* enum gh_quota_period: 1 day, 2 month */
};

/* catalog.locations[]: where entities come from */
struct gh_config_location {
    char *type;   /* "file" */
    char *target; /* a path or glob, resolved against the config file's directory */
    char *owner;  /* default owner for OpenAPI documents found there (or NULL) */
    int line;
};

/* issuers: identity providers whose JWTs the gateway accepts */
struct gh_config_issuer {
    char *name;
    int line;
    char *issuer;    /* the exact `iss` value */
    char *jwks_uri;  /* where the keys are; NULL: from the discovery document */
    char *discovery; /* the discovery document (default: issuer + /.well-known/openid-configuration) */
    char **audiences, **algorithms, **required_claims;
    size_t naudiences, nalgorithms, nrequired_claims;
    char *client_claim;       /* the claim naming the application (default azp) */
    uint64_t clock_skew_ms;   /* default 60s */
    uint64_t refresh_ms;      /* keys fetched again this often (default 1h) */
    uint64_t min_refresh_ms;  /* and on an unknown kid at most this often (default 30s) */
    uint64_t max_token_bytes; /* default 8k */
};

/* identity: who signs in to the portal, and what their IdP groups make them */
struct gh_config_pair {
    char *from, *to;
    int line;
};

struct gh_config_identity {
    int line; /* 0: no identity section */
    /* identity.oidc: the OpenID Connect provider (issuer NULL: none) */
    char *issuer, *discovery, *client_id, *redirect_uri;
    const char *client_secret; /* a name in secret_refs (borrowed), or NULL (a public client) */
    char **scopes, **algorithms;
    size_t nscopes, nalgorithms;
    char *groups_claim, *roles_claim, *username_claim;
    int userinfo;           /* also read the userinfo endpoint's claims */
    uint64_t clock_skew_ms; /* for the ID token's exp and iat */
    /* IdP values (groups, roles) to Gatehouse roles, and to catalog Group refs */
    struct gh_config_pair *role_map, *group_map;
    size_t nrole_map, ngroup_map;
    char *default_role; /* for everyone else: developer */
    uint64_t session_idle_ms, session_absolute_ms;
    int dev_login; /* a page to sign in as a catalog User, for demos (loopback only) */
};

/* access_rules[]: who gets access how, first match wins (the last rule has no conditions) */
enum gh_rule_decision { GH_DECIDE_APPROVE = 1, GH_DECIDE_OWNER, GH_DECIDE_ADMIN, GH_DECIDE_DENY };
struct gh_config_list {
    char **v;
    size_t n;
    int set; /* the condition is present (an empty list then matches nothing, or for _none everything) */
};
struct gh_config_rule {
    char *name;
    int line;
    /* conditions (all must hold): requester, API, plan */
    struct gh_config_list requester_groups_any; /* Group refs */
    struct gh_config_list requester_roles_any;  /* roles */
    struct gh_config_list api_owner;            /* Group refs */
    struct gh_config_list api_system;           /* System refs */
    struct gh_config_list api_lifecycle, api_tags_any, api_tags_none, plans;
    struct gh_config_pair *api_annotations; /* each must be present with this value */
    size_t napi_annotations;
    enum gh_rule_decision decide;
    uint64_t max_duration_ms; /* 0: as long as asked */
};

/* webhooks[]: where events go (see access/webhook.h) */
struct gh_config_webhook {
    char *name, *url;
    int line;
    char **events; /* event types, or "*" for every one */
    size_t nevents;
    const char *secret;    /* a name in secret_refs (borrowed): the HMAC key */
    struct gh_cidr *allow; /* address blocks allowed although denied by default (loopback, ...) */
    size_t nallow;
    uint64_t backoff_ms; /* the first retry's delay, doubled each time up to 1h (default 30s) */
    uint64_t timeout_ms; /* per attempt (default 10s) */
    int max_attempts;    /* then the delivery is failed (default 12) */
};

struct gh_config {
    char *file;
    char *gateway_listen; /* "host:port" */
    char *portal_listen;
    int workers;
    uint64_t header_bytes, body_bytes, header_timeout_ms, idle_timeout_ms, drain_timeout_ms;
    uint64_t upstream_idle_timeout_ms;
    int upstream_max_idle; /* idle keep-alive connections per target per worker */
    char *access_log;      /* path, "stdout", "stderr" or "off" */
    char *store_driver;    /* "sqlite" */
    char *store_path;      /* sqlite: the database file */
    int log_level;
    struct gh_config_api *apis;
    size_t napis;
    /* catalog */
    struct gh_config_location *locations;
    size_t nlocations;
    char **allowed_dirs; /* resolved; where placeholders and Location targets may also read */
    size_t nallowed_dirs;
    uint64_t catalog_poll_ms; /* how often file locations are checked for changes; 0: never */
    char *gateway_url;        /* the gateway's public base URL, for API entities (NULL: from listen) */
    char *master_key_file;    /* secrets.master_key_file, resolved against the config's directory */
    /* every `secret:NAME` the config names, for `check` to look up and `serve` to resolve */
    struct gh_config_secret_ref {
        char *name; /* the secret's name */
        char *key;  /* the dotted key it was given for */
        int line;
    } * secret_refs;
    size_t nsecret_refs;
    const char *admin_token_secret; /* admin.token: a name in secret_refs (borrowed), or NULL */
    struct gh_config_plan *plans;
    size_t nplans;
    struct gh_config_issuer *issuers;
    size_t nissuers;
    struct gh_config_identity identity;
    struct gh_config_rule *rules;
    size_t nrules;
    /* access: the workflow's clock -- reminders before a grant ends (longest first; default 14d, 3d,
     * 1d), how long a request may wait for a decision (default 14d), how often the job looks (1m) */
    uint64_t *reminders_ms;
    size_t nreminders;
    uint64_t pending_timeout_ms, sweep_interval_ms;
    struct gh_config_webhook *webhooks;
    size_t nwebhooks;
    uint64_t audit_checkpoint_ms;
    uint64_t usage_flush_ms;
    /* usage.flush_interval: how often usage counts are written (default 1m) */ /* audit.checkpoint_interval;
                                                                                   0: only on export and
                                                                                   by hand */
};

/* The events webhooks may subscribe to, NULL-terminated. */
extern const char *const gh_config_event_types[];

/* Loads and validates a config file. Returns 0 and a new config, or GH_EINVAL with "file:line: key: why". */
int gh_config_load(const char *path, struct gh_config **out, struct gh_err *err);

/* Same, from memory; `name` stands for the file in messages. */
int gh_config_load_string(const char *name, const char *text, size_t len, struct gh_config **out,
                          struct gh_err *err);

void gh_config_free(struct gh_config *cfg); /* accepts NULL */

#endif
