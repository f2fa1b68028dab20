/*
 * keys.c: see keys.h.
 */
#include "keys.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

/*
 * SHA-256 on the request path: OpenSSL 3 looks the algorithm up on every EVP_sha256()/EVP_Digest call
 * (thousands of instructions, and an allocation); fetched once and with one context per thread, a
 * digest of a key costs what the hashing costs.
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static _Thread_local EVP_MD_CTX *sha256_ctx;

static void sha256_init(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void sha256(const void *p, size_t n, unsigned char out[32])
{
    pthread_once(&sha256_once, sha256_init);
    if (sha256_ctx == NULL)
        sha256_ctx = EVP_MD_CTX_new();
    unsigned int dl = 0;
    if (sha256_md == NULL || sha256_ctx == NULL || EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) != 1 ||
        EVP_DigestUpdate(sha256_ctx, p, n) != 1 || EVP_DigestFinal_ex(sha256_ctx, out, &dl) != 1)
        EVP_Digest(p, n, out, &dl, EVP_sha256(), NULL); /* the slow way still works */
}

void gh_key_thread_done(void)
{
    EVP_MD_CTX_free(sha256_ctx);
    sha256_ctx = NULL;
}

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* base62 digit values by byte, -1 for anything else (a table: this runs on every keyed request) */
static signed char b62_table[256];
static pthread_once_t b62_once = PTHREAD_ONCE_INIT;

static void b62_init(void)
{
    memset(b62_table, -1, sizeof(b62_table));
    for (int i = 0; i < 62; i++)
        b62_table[(unsigned char)B62[i]] = (signed char)i;
}

static int b62_value(char c)
{
    return b62_table[(unsigned char)c];
}

/* n base62 digits of v, most significant first */
static void b62_u32(uint32_t v, char *out, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        out[i] = B62[v % 62];
        v /= 62;
    }
}

/* The checksum is the first 32 bits of the SHA-256 of everything before it -- the same digest that
 * is stored and looked up, so a presented key costs one SHA-256 in all. */
static uint32_t checksum_of(const unsigned char d[32])
{
    return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

/* Keys and admin tokens share the format; only the 4-character prefix (and the noun) differ. */
static int generate(const char *prefix, char out[GH_KEY_LEN + 1])
{
    memcpy(out, prefix, 4);
    /* 43 digits from unbiased draws: bytes >= 248 (= 4 * 62) are redrawn */
    size_t n = 0;
    while (n < GH_KEY_BODY) {
        unsigned char buf[64];
        if (gh_random_bytes(buf, sizeof(buf)) != 0)
            return GH_EINTERNAL;
        for (size_t i = 0; i < sizeof(buf) && n < GH_KEY_BODY; i++)
            if (buf[i] < 248)
                out[4 + n++] = B62[buf[i] % 62];
    }
    unsigned char d[32];
    sha256(out, 4 + GH_KEY_BODY, d);
    b62_u32(checksum_of(d), out + 4 + GH_KEY_BODY, GH_KEY_CHECK);
    out[GH_KEY_LEN] = '\0';
    return 0;
}

int gh_key_generate(char out[GH_KEY_LEN + 1])
{
    return generate(GH_KEY_PREFIX, out);
}

int gh_token_generate(char out[GH_KEY_LEN + 1])
{
    return generate(GH_TOKEN_PREFIX, out);
}

int gh_key_parse(struct gh_str s, struct gh_err *err)
{
    unsigned char d[32];
    return gh_key_check(s, d, err);
}

static int check(const char *prefix, const char *noun, struct gh_str s, unsigned char hash[32],
                 struct gh_err *err)
{
    pthread_once(&b62_once, b62_init);
    if (s.len != GH_KEY_LEN || memcmp(s.p, prefix, 4) != 0)
        return gh_err_set(err, GH_EINVAL, "not a Gatehouse %s (%d characters starting with %s)", noun,
                          GH_KEY_LEN, prefix);
    for (size_t i = 4; i < s.len; i++)
        if (b62_value(s.p[i]) < 0)
            return gh_err_set(err, GH_EINVAL, "not a Gatehouse %s (letters and digits after %s)", noun,
                              prefix);
    char want[GH_KEY_CHECK];
    sha256(s.p, 4 + GH_KEY_BODY, hash);
    b62_u32(checksum_of(hash), want, GH_KEY_CHECK);
    if (memcmp(want, s.p + 4 + GH_KEY_BODY, GH_KEY_CHECK) != 0)
        return gh_err_set(err, GH_EINVAL, "%s checksum mismatch (mistyped or truncated)", noun);
    return 0;
}

int gh_key_check(struct gh_str s, unsigned char hash[32], struct gh_err *err)
{
    return check(GH_KEY_PREFIX, "API key", s, hash, err);
}

int gh_token_check(struct gh_str s, unsigned char hash[32], struct gh_err *err)
{
    return check(GH_TOKEN_PREFIX, "admin token", s, hash, err);
}

void gh_key_hash(struct gh_str key, unsigned char out[32])
{
    sha256(key.p, key.len < 4 + GH_KEY_BODY ? key.len : 4 + GH_KEY_BODY, out);
}

void gh_key_id(struct gh_str key, char out[GH_KEY_ID_LEN + 1])
{
    size_t n = key.len < GH_KEY_ID_LEN ? key.len : GH_KEY_ID_LEN;
    memcpy(out, key.p, n);
    out[n] = '\0';
}
