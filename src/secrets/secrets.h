/*
 * secrets: credentials Gatehouse must hold (an IdP client secret, an upstream's token, the audit
 * checkpoint key), encrypted in the store. Envelope encryption: every version of a secret has its own
 * random data key; the value is sealed with it (AES-256-GCM, random nonce, the secret's name as
 * associated data) and the data key is sealed with the master key (its name and version as associated
 * data). Any tampering -- a changed byte, a value moved to another name -- fails authentication and is
 * an error, never garbage. The master key never enters the store: only its fingerprint, so a wrong key
 * is refused up front.
 *
 * Writes do not begin or commit: the caller wraps each change and its audit event in one transaction.
 */
#ifndef GH_SECRETS_H
#define GH_SECRETS_H

#include "../store/store.h"

#define GH_MASTER_KEY_LEN 32
#define GH_SECRET_MAX ((size_t)64 << 10)
#define GH_MASTER_KEY_ENV "GATEHOUSE_MASTER_KEY"

struct gh_master_key {
    unsigned char k[GH_MASTER_KEY_LEN];
};

/* The master key: from $GATEHOUSE_MASTER_KEY (base64 of 32 bytes) when set, else from file, which must
 * be owned by this user and readable by nobody else (mode 0600 or stricter). err says why not. */
int gh_master_key_load(const char *file, struct gh_master_key *out, struct gh_err *err);
/* A new random key in a new file (0600; an existing file is never overwritten). */
int gh_master_key_create(const char *file, struct gh_err *err);
void gh_master_key_wipe(struct gh_master_key *k);

/* Checks the key against the store's fingerprint (recording it the first time). GH_EINVAL when the
 * secrets in the store were written under another key. */
int gh_secrets_bind(struct gh_store *s, const struct gh_master_key *k, struct gh_err *err);

/* Secret names: 1-128 of [A-Za-z0-9._-]. */
int gh_secret_valid_name(const char *name);

/* Stores a new version (the current one from now); *version gets its number. */
int gh_secret_set(struct gh_store *s, const struct gh_master_key *k, const char *name, const void *value,
                  size_t len, int64_t *version, struct gh_err *err);
/* The current value: a new buffer the caller releases with gh_secret_wipe. GH_ENOTFOUND when none. */
int gh_secret_get(struct gh_store *s, const struct gh_master_key *k, const char *name, unsigned char **value,
                  size_t *len, struct gh_err *err);
void gh_secret_wipe(unsigned char *value, size_t len); /* zeroes, then frees; accepts NULL */
int gh_secret_exists(struct gh_store *s, const char *name);
/* Removes every version. GH_ENOTFOUND when there is none. */
int gh_secret_rm(struct gh_store *s, const char *name, struct gh_err *err);
/* Makes the version before the current one current again (undoing a rotation); *version: which. */
int gh_secret_rollback(struct gh_store *s, const char *name, int64_t *version, struct gh_err *err);
/* Rows: name, version (current), created_at, versions. */
int gh_secret_list(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err);
/* Re-wraps every data key from old to new and records the new fingerprint. */
int gh_secrets_rotate_master(struct gh_store *s, const struct gh_master_key *old,
                             const struct gh_master_key *new_key, size_t *count, struct gh_err *err);

#endif
