/*
 * keys.c: see keys.h.
 */
#include "keys.h"

#include <openssl/evp.h>
#include <string.h>

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int b62_value(char c)
{
    const char *p = c ? strchr(B62, c) : NULL;
    return p ? (int)(p - B62) : -1;
}

/* n base62 digits of v, most significant first */
static void b62_u32(uint32_t v, char *out, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        out[i] = B62[v % 62];
        v /= 62;
    }
}

/* The first 32 bits of SHA-256 (OpenSSL's; a CRC would need one more library) */
static uint32_t checksum(const char *p, size_t n)
{
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
    return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

int gh_key_generate(char out[GH_KEY_LEN + 1])
{
    memcpy(out, GH_KEY_PREFIX, 4);
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
    b62_u32(checksum(out, 4 + GH_KEY_BODY), out + 4 + GH_KEY_BODY, GH_KEY_CHECK);
    out[GH_KEY_LEN] = '\0';
    return 0;
}

int gh_key_parse(struct gh_str s, struct gh_err *err)
{
    if (s.len != GH_KEY_LEN || memcmp(s.p, GH_KEY_PREFIX, 4) != 0)
        return gh_err_set(err, GH_EINVAL, "not a Gatehouse API key (%d characters starting with %s)",
                          GH_KEY_LEN, GH_KEY_PREFIX);
    for (size_t i = 4; i < s.len; i++)
        if (b62_value(s.p[i]) < 0)
            return gh_err_set(err, GH_EINVAL, "not a Gatehouse API key (letters and digits after %s)",
                              GH_KEY_PREFIX);
    char want[GH_KEY_CHECK];
    b62_u32(checksum(s.p, 4 + GH_KEY_BODY), want, GH_KEY_CHECK);
    if (memcmp(want, s.p + 4 + GH_KEY_BODY, GH_KEY_CHECK) != 0)
        return gh_err_set(err, GH_EINVAL, "API key checksum mismatch (mistyped or truncated)");
    return 0;
}

void gh_key_hash(struct gh_str key, unsigned char out[32])
{
    unsigned int n = 0;
    EVP_Digest(key.p, key.len, out, &n, EVP_sha256(), NULL);
}

void gh_key_id(struct gh_str key, char out[GH_KEY_ID_LEN + 1])
{
    size_t n = key.len < GH_KEY_ID_LEN ? key.len : GH_KEY_ID_LEN;
    memcpy(out, key.p, n);
    out[n] = '\0';
}
