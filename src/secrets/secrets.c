/*
 * secrets.c: see secrets.h. AES-256-GCM through OpenSSL's EVP interface; a sealed blob is
 * nonce (12) || ciphertext || tag (16).
 */
#include "secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NONCE 12
#define TAG 16

static int seal(const unsigned char key[32], const void *aad, size_t aadlen, const void *in, size_t len,
                unsigned char *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, ok = c && gh_random_bytes(out, NONCE) == 0 &&
                    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, out) == 1 &&
                    EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen) == 1 &&
                    EVP_EncryptUpdate(c, out + NONCE, &n, in, (int)len) == 1 &&
                    EVP_EncryptFinal_ex(c, out + NONCE + n, &n) == 1 &&
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, out + NONCE + len) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : GH_EINTERNAL;
}

/* Opens a blob of `len` bytes into out (len - NONCE - TAG bytes). GH_EINVAL when it does not authenticate. */
static int open_sealed(const unsigned char key[32], const void *aad, size_t aadlen, const unsigned char *in,
                       size_t len, unsigned char *out)
{
    if (len < NONCE + TAG)
        return GH_EINVAL;
    size_t n = len - NONCE - TAG;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int m = 0, ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in) == 1 &&
                    EVP_DecryptUpdate(c, NULL, &m, aad, (int)aadlen) == 1 &&
                    EVP_DecryptUpdate(c, out, &m, in + NONCE, (int)n) == 1 &&
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, (void *)(in + NONCE + n)) == 1 &&
                    EVP_DecryptFinal_ex(c, out + m, &m) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok)
        OPENSSL_cleanse(out, n);
    return ok ? 0 : GH_EINVAL;
}

/* ---- the master key ---- */

void gh_master_key_wipe(struct gh_master_key *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}

static int decode_key(const char *text, size_t len, struct gh_master_key *out)
{
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    unsigned char buf[64];
    if (len != 44)
        return GH_EINVAL; /* base64 of 32 bytes */
    int n = EVP_DecodeBlock(buf, (const unsigned char *)text, (int)len);
    int ok = n == 33 && text[43] == '=' && text[42] != '=';
    if (ok)
        memcpy(out->k, buf, GH_MASTER_KEY_LEN);
    OPENSSL_cleanse(buf, sizeof(buf));
    return ok ? 0 : GH_EINVAL;
}

int gh_master_key_load(const char *file, struct gh_master_key *out, struct gh_err *err)
{
    const char *env = getenv(GH_MASTER_KEY_ENV);
    if (env && env[0]) {
        if (decode_key(env, strlen(env), out) != 0)
            return gh_err_set(err, GH_EINVAL, "%s: not a master key (base64 of 32 bytes)", GH_MASTER_KEY_ENV);
        return 0;
    }
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return gh_err_set(err, GH_EINVAL, "%s: cannot open the master key: %s%s", file, strerror(errno),
                          errno == ENOENT ? " (create one with `gatehouse secrets init`)" : "");
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return gh_err_set(err, GH_EINVAL, "%s: the master key must be a regular file", file);
    }
    if (st.st_uid != geteuid()) {
        close(fd);
        return gh_err_set(err, GH_EINVAL,
                          "%s: the master key file belongs to uid %u, not to this user (uid %u)", file,
                          (unsigned)st.st_uid, (unsigned)geteuid());
    }
    if (st.st_mode & 077) {
        close(fd);
        return gh_err_set(err, GH_EINVAL,
                          "%s: the master key file has mode %04o: others may read it; it must be 0600 "
                          "(chmod 600 %s)",
                          file, (unsigned)(st.st_mode & 07777), file);
    }
    char text[128];
    ssize_t n = read(fd, text, sizeof(text));
    close(fd);
    int rc = n > 0 ? decode_key(text, (size_t)n, out) : GH_EINVAL;
    OPENSSL_cleanse(text, sizeof(text));
    if (rc)
        return gh_err_set(err, GH_EINVAL, "%s: not a master key (one line: base64 of 32 bytes)", file);
    return 0;
}

int gh_master_key_create(const char *file, struct gh_err *err)
{
    struct gh_master_key k;
    if (gh_random_bytes(k.k, sizeof(k.k)) != 0)
        return gh_err_set(err, GH_EIO, "no randomness for a master key");
    char text[64];
    int n = EVP_EncodeBlock((unsigned char *)text, k.k, GH_MASTER_KEY_LEN);
    gh_master_key_wipe(&k);
    text[n++] = '\n';
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        OPENSSL_cleanse(text, sizeof(text));
        return gh_err_set(err, GH_EINVAL, "%s: %s", file,
                          errno == EEXIST ? "a master key is already there (it is never overwritten)"
                                          : strerror(errno));
    }
    int ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
    OPENSSL_cleanse(text, sizeof(text));
    if (close(fd) != 0 || !ok) {
        unlink(file);
        return gh_err_set(err, GH_EIO, "%s: cannot write the master key: %s", file, strerror(errno));
    }
    return 0;
}

/* ---- binding the key to the store ---- */

static void fingerprint(const struct gh_master_key *k, char out[65])
{
    unsigned char d[32];
    unsigned int n = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    EVP_DigestUpdate(c, "gatehouse master key fingerprint", 32);
    EVP_DigestUpdate(c, k->k, sizeof(k->k));
    EVP_DigestFinal_ex(c, d, &n);
    EVP_MD_CTX_free(c);
    for (int i = 0; i < 32; i++)
        snprintf(out + (size_t)2 * i, 3, "%02x", d[i]);
}

static int set_fingerprint(struct gh_store *s, const struct gh_master_key *k, struct gh_err *err)
{
    char fp[65];
    fingerprint(k, fp);
    struct gh_store_val p[] = {GH_VTEXT(fp)};
    return gh_store_exec(s,
                         "INSERT INTO gh_meta (key, value) VALUES ('secrets_master_fingerprint', $1) "
                         "ON CONFLICT (key) DO UPDATE SET value = $1",
                         p, 1, NULL, NULL, err);
}

int gh_secrets_bind(struct gh_store *s, const struct gh_master_key *k, struct gh_err *err)
{
    char stored[128];
    int rc = gh_store_first_text(s, "SELECT value FROM gh_meta WHERE key = 'secrets_master_fingerprint'",
                                 NULL, 0, stored, sizeof(stored), err);
    if (rc < 0)
        return rc;
    char fp[65];
    fingerprint(k, fp);
    if (rc == 0)
        return set_fingerprint(s, k, err);
    if (CRYPTO_memcmp(fp, stored, 64) != 0 || strlen(stored) != 64)
        return gh_err_set(err, GH_EINVAL,
                          "this master key is not the one the store's secrets were written with "
                          "(fingerprint %.16s..., the store expects %.16s...)",
                          fp, stored);
    return 0;
}

/* ---- secrets ---- */

int gh_secret_valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static size_t key_aad(char *buf, size_t cap, const char *name, int64_t version)
{
    int n = snprintf(buf, cap, "gatehouse/data-key%c%s%c%lld", 0, name, 0, (long long)version);
    return n < 0 ? 0 : (size_t)n;
}

static size_t value_aad(char *buf, size_t cap, const char *name)
{
    int n = snprintf(buf, cap, "gatehouse/secret%c%s", 0, name);
    return n < 0 ? 0 : (size_t)n;
}

static int on_int(void *ctx, const struct gh_store_val *c, size_t n)
{
    if (n >= 1 && c[0].type == GH_VAL_INT)
        *(int64_t *)ctx = c[0].i;
    return 0;
}

static struct gh_store_val blob(const void *p, size_t len)
{
    return (struct gh_store_val){.type = GH_VAL_BLOB, .p = p, .len = len};
}

int gh_secret_set(struct gh_store *s, const struct gh_master_key *k, const char *name, const void *value,
                  size_t len, int64_t *version, struct gh_err *err)
{
    if (!gh_secret_valid_name(name))
        return gh_err_set(err, GH_EINVAL,
                          "'%s' is not a secret name (1-128 of letters, digits, '.', '_', '-')", name);
    if (len > GH_SECRET_MAX)
        return gh_err_set(err, GH_EINVAL, "%s: a secret holds at most %zu bytes", name, GH_SECRET_MAX);
    int64_t v = 0;
    struct gh_store_val np[] = {GH_VTEXT(name)};
    int rc = gh_store_exec(s, "SELECT COALESCE(MAX(version), 0) + 1 FROM secrets WHERE name = $1", np, 1,
                           on_int, &v, err);
    if (rc)
        return rc;
    unsigned char dk[32], wrapped[NONCE + 32 + TAG];
    unsigned char *ct = gh_malloc(NONCE + len + TAG);
    char aad[200];
    rc = gh_random_bytes(dk, sizeof(dk)) != 0 ? GH_EINTERNAL : 0;
    if (rc == 0)
        rc = seal(k->k, aad, key_aad(aad, sizeof(aad), name, v), dk, sizeof(dk), wrapped);
    if (rc == 0)
        rc = seal(dk, aad, value_aad(aad, sizeof(aad), name), value, len, ct);
    OPENSSL_cleanse(dk, sizeof(dk));
    if (rc) {
        free(ct);
        return gh_err_set(err, GH_EINTERNAL, "%s: cannot encrypt", name);
    }
    char when[40];
    gh_time_rfc3339(gh_time_wall_ms(), when, sizeof(when));
    struct gh_store_val p[] = {GH_VTEXT(name), GH_VINT(v), blob(wrapped, sizeof(wrapped)),
                               blob(ct, NONCE + len + TAG), GH_VTEXT(when)};
    if ((rc = gh_store_exec(s, "UPDATE secrets SET current = 0 WHERE name = $1", np, 1, NULL, NULL, err)) ==
        0)
        rc =
            gh_store_exec(s,
                          "INSERT INTO secrets (name, version, wrapped_key, ciphertext, created_at, current) "
                          "VALUES ($1, $2, $3, $4, $5, 1)",
                          p, 5, NULL, NULL, err);
    free(ct);
    if (rc == 0 && version)
        *version = v;
    return rc;
}

struct sealed {
    int64_t version;
    unsigned char *wrapped, *ct;
    size_t wlen, clen;
    int found;
};

static int on_sealed(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct sealed *x = ctx;
    if (n < 3 || c[1].type != GH_VAL_BLOB || c[2].type != GH_VAL_BLOB)
        return 0;
    x->version = c[0].i;
    x->wrapped = gh_malloc(c[1].len + 1);
    memcpy(x->wrapped, c[1].p, c[1].len);
    x->wlen = c[1].len;
    x->ct = gh_malloc(c[2].len + 1);
    memcpy(x->ct, c[2].p, c[2].len);
    x->clen = c[2].len;
    x->found = 1;
    return 1; /* one row */
}

int gh_secret_get(struct gh_store *s, const struct gh_master_key *k, const char *name, unsigned char **value,
                  size_t *len, struct gh_err *err)
{
    struct sealed x = {0};
    struct gh_store_val np[] = {GH_VTEXT(name)};
    int rc = gh_store_exec(
        s, "SELECT version, wrapped_key, ciphertext FROM secrets WHERE name = $1 AND current = 1", np, 1,
        on_sealed, &x, err);
    if (rc < 0)
        return rc;
    if (!x.found)
        return gh_err_set(err, GH_ENOTFOUND, "no secret '%s'", name);
    unsigned char dk[32];
    char aad[200];
    rc = x.wlen == NONCE + 32 + TAG
             ? open_sealed(k->k, aad, key_aad(aad, sizeof(aad), name, x.version), x.wrapped, x.wlen, dk)
             : GH_EINVAL;
    unsigned char *out = NULL;
    if (rc == 0 && x.clen >= NONCE + TAG) {
        out = gh_malloc(x.clen - NONCE - TAG + 1);
        rc = open_sealed(dk, aad, value_aad(aad, sizeof(aad), name), x.ct, x.clen, out);
    } else if (rc == 0) {
        rc = GH_EINVAL;
    }
    OPENSSL_cleanse(dk, sizeof(dk));
    free(x.wrapped);
    free(x.ct);
    if (rc) {
        free(out);
        return gh_err_set(err, GH_EINVAL,
                          "secret '%s' (version %lld) does not authenticate: it was altered, or moved from "
                          "another name, or written under another master key",
                          name, (long long)x.version);
    }
    *value = out;
    *len = x.clen - NONCE - TAG;
    return 0;
}

void gh_secret_wipe(unsigned char *value, size_t len)
{
    if (value == NULL)
        return;
    OPENSSL_cleanse(value, len);
    free(value);
}

int gh_secret_exists(struct gh_store *s, const char *name)
{
    int64_t n = 0;
    struct gh_store_val np[] = {GH_VTEXT(name)};
    gh_store_exec(s, "SELECT COUNT(*) FROM secrets WHERE name = $1", np, 1, on_int, &n, NULL);
    return n > 0;
}

int gh_secret_rm(struct gh_store *s, const char *name, struct gh_err *err)
{
    if (!gh_secret_exists(s, name))
        return gh_err_set(err, GH_ENOTFOUND, "no secret '%s'", name);
    struct gh_store_val np[] = {GH_VTEXT(name)};
    return gh_store_exec(s, "DELETE FROM secrets WHERE name = $1", np, 1, NULL, NULL, err);
}

int gh_secret_rollback(struct gh_store *s, const char *name, int64_t *version, struct gh_err *err)
{
    int64_t cur = 0, prev = 0;
    struct gh_store_val np[] = {GH_VTEXT(name)};
    int rc = gh_store_exec(s, "SELECT version FROM secrets WHERE name = $1 AND current = 1", np, 1, on_int,
                           &cur, err);
    if (rc)
        return rc;
    if (cur == 0)
        return gh_err_set(err, GH_ENOTFOUND, "no secret '%s'", name);
    struct gh_store_val pp[] = {GH_VTEXT(name), GH_VINT(cur)};
    rc = gh_store_exec(s, "SELECT COALESCE(MAX(version), 0) FROM secrets WHERE name = $1 AND version < $2",
                       pp, 2, on_int, &prev, err);
    if (rc)
        return rc;
    if (prev == 0)
        return gh_err_set(err, GH_EINVAL, "secret '%s' has no version before %lld", name, (long long)cur);
    struct gh_store_val up[] = {GH_VTEXT(name), GH_VINT(prev)};
    if ((rc = gh_store_exec(s, "UPDATE secrets SET current = 0 WHERE name = $1", np, 1, NULL, NULL, err)) ==
        0)
        rc = gh_store_exec(s, "UPDATE secrets SET current = 1 WHERE name = $1 AND version = $2", up, 2, NULL,
                           NULL, err);
    if (rc == 0 && version)
        *version = prev;
    return rc;
}

int gh_secret_list(struct gh_store *s, gh_store_row_fn fn, void *ctx, struct gh_err *err)
{
    return gh_store_exec(
        s,
        "SELECT c.name, c.version, c.created_at, (SELECT COUNT(*) FROM secrets v WHERE v.name = c.name) "
        "FROM secrets c WHERE c.current = 1 ORDER BY c.name",
        NULL, 0, fn, ctx, err);
}

struct rewrap {
    char **names;
    int64_t *versions;
    unsigned char **wrapped;
    size_t *wlen;
    size_t n;
};

static int on_rewrap(void *ctx, const struct gh_store_val *c, size_t n)
{
    struct rewrap *r = ctx;
    if (n < 3 || c[2].type != GH_VAL_BLOB)
        return 0;
    r->names = gh_realloc(r->names, (r->n + 1) * sizeof(char *));
    r->versions = gh_realloc(r->versions, (r->n + 1) * sizeof(int64_t));
    r->wrapped = gh_realloc(r->wrapped, (r->n + 1) * sizeof(unsigned char *));
    r->wlen = gh_realloc(r->wlen, (r->n + 1) * sizeof(size_t));
    r->names[r->n] = gh_malloc(c[0].len + 1);
    memcpy(r->names[r->n], c[0].p, c[0].len);
    r->names[r->n][c[0].len] = '\0';
    r->versions[r->n] = c[1].i;
    r->wrapped[r->n] = gh_malloc(c[2].len + 1);
    memcpy(r->wrapped[r->n], c[2].p, c[2].len);
    r->wlen[r->n] = c[2].len;
    r->n++;
    return 0;
}

int gh_secrets_rotate_master(struct gh_store *s, const struct gh_master_key *old,
                             const struct gh_master_key *new_key, size_t *count, struct gh_err *err)
{
    struct rewrap r = {0};
    int rc = gh_store_exec(s, "SELECT name, version, wrapped_key FROM secrets", NULL, 0, on_rewrap, &r, err);
    for (size_t i = 0; rc == 0 && i < r.n; i++) {
        unsigned char dk[32], wrapped[NONCE + 32 + TAG];
        char aad[200];
        size_t al = key_aad(aad, sizeof(aad), r.names[i], r.versions[i]);
        if (r.wlen[i] != sizeof(wrapped) || open_sealed(old->k, aad, al, r.wrapped[i], r.wlen[i], dk) != 0) {
            rc = gh_err_set(err, GH_EINVAL,
                            "secret '%s' version %lld does not open with the current master key", r.names[i],
                            (long long)r.versions[i]);
            break;
        }
        rc = seal(new_key->k, aad, al, dk, sizeof(dk), wrapped);
        OPENSSL_cleanse(dk, sizeof(dk));
        struct gh_store_val p[] = {GH_VTEXT(r.names[i]), GH_VINT(r.versions[i]),
                                   blob(wrapped, sizeof(wrapped))};
        if (rc == 0)
            rc = gh_store_exec(s, "UPDATE secrets SET wrapped_key = $3 WHERE name = $1 AND version = $2", p,
                               3, NULL, NULL, err);
    }
    if (rc == 0)
        rc = set_fingerprint(s, new_key, err);
    if (rc == 0 && count)
        *count = r.n;
    for (size_t i = 0; i < r.n; i++) {
        free(r.names[i]);
        free(r.wrapped[i]);
    }
    free(r.names);
    free(r.versions);
    free(r.wrapped);
    free(r.wlen);
    return rc;
}
