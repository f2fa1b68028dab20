/*
 * keys: the API key format. A key is "ghk_" + 43 base62 characters (256 random bits) + 6 base62
 * characters of a checksum over everything before them: the first 32 bits of its SHA-256, which is
 * also what the store keeps. The fixed prefix
 * and the checksum let secret scanners recognise a leaked Gatehouse key and tell a real one from a typo
 * offline, as GitHub's tokens do; the checksum also lets the gateway refuse garbage before any lookup. Only a
 * SHA-256 of the key is ever stored (256 random bits need no slow hash); the first 12 characters are its
 * visible id ("ghk_" + 8), shown in lists and audit events instead of the key.
 */
#ifndef GH_ACCESS_KEYS_H
#define GH_ACCESS_KEYS_H

#include "../base/base.h"

#define GH_KEY_PREFIX "ghk_"
#define GH_KEY_BODY 43
#define GH_KEY_CHECK 6
#define GH_KEY_LEN (4 + GH_KEY_BODY + GH_KEY_CHECK) /* 53 */
#define GH_KEY_ID_LEN 12

/* A new key (NUL-terminated). Returns 0, or GH_EINTERNAL when no randomness is available. */
int gh_key_generate(char out[GH_KEY_LEN + 1]);

/* Whether s is a well-formed key with a correct checksum: 0, or GH_EINVAL with why in err. */
int gh_key_parse(struct gh_str s, struct gh_err *err);

/* The stored form: SHA-256 of the key without its checksum (whose first 32 bits are the checksum). */
void gh_key_hash(struct gh_str key, unsigned char out[32]);

/* gh_key_parse, also giving the stored form: one SHA-256 for both (the request path). */
int gh_key_check(struct gh_str s, unsigned char hash[32], struct gh_err *err);

/* Admin API tokens: the same format with the prefix "gha_" (so scanners tell them from keys). */
#define GH_TOKEN_PREFIX "gha_"
int gh_token_generate(char out[GH_KEY_LEN + 1]);
int gh_token_check(struct gh_str s, unsigned char hash[32], struct gh_err *err);

/* The visible id: the key's first GH_KEY_ID_LEN characters. */
void gh_key_id(struct gh_str key, char out[GH_KEY_ID_LEN + 1]);

/* A thread that checked keys is ending: its reusable digest context goes (workers call it). */
void gh_key_thread_done(void);

#endif
