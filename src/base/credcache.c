/*
 * credcache.c: see credcache.h.
 */
#include "credcache.h"

#include <stdlib.h>
#include <string.h>

struct slot {
    char *token; /* NULL: empty */
    size_t len;
    uint64_t hash, generation;
    struct gh_cred_cached v;
};

struct gh_cred_cache {
    struct slot *slots;
    size_t mask;
    uint64_t seed;
};

struct gh_cred_cache *gh_cred_cache_new(size_t slots)
{
    size_t n = 16;
    while (n < slots)
        n *= 2;
    struct gh_cred_cache *c = gh_calloc(1, sizeof(*c));
    c->slots = gh_calloc(n, sizeof(*c->slots));
    c->mask = n - 1;
    if (gh_random_bytes(&c->seed, sizeof(c->seed)) != 0)
        c->seed = (uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ull;
    return c;
}

void gh_cred_cache_free(struct gh_cred_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i <= c->mask; i++)
        free(c->slots[i].token);
    free(c->slots);
    free(c);
}

/* A seeded 64-bit mix of the length and the last (at most) 64 bytes: a key's whole body, a token's
 * signature -- the part that differs between credentials. A slot only ever answers for the whole
 * secret compared below, so a chosen collision costs its sender a miss, nothing more. */
static uint64_t token_hash(const struct gh_cred_cache *c, struct gh_str t)
{
    uint64_t h = c->seed ^ (t.len * 0x9e3779b97f4a7c15ull);
    size_t from = t.len > 64 ? t.len - 64 : 0, i = from;
    for (; i + 8 <= t.len; i += 8) {
        uint64_t w;
        memcpy(&w, t.p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, t.p + i, t.len - i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

/* Equal in constant time (for the length), a word at a time: CRYPTO_memcmp goes a byte at a time,
 * about 4,000 instructions for a bearer token on every request. */
static int same_secret(const char *a, const char *b, size_t n)
{
    uint64_t d = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        d |= x ^ y;
    }
    for (; i < n; i++)
        d |= (uint64_t)(unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

const struct gh_cred_cached *gh_cred_cache_get(struct gh_cred_cache *c, struct gh_str token, uint64_t now_s,
                                               uint64_t generation)
{
    uint64_t h = token_hash(c, token);
    struct slot *s = &c->slots[h & c->mask];
    if (s->token == NULL || s->hash != h || s->len != token.len || s->generation != generation ||
        now_s >= s->v.exp_s || !same_secret(s->token, token.p, token.len))
        return NULL;
    return &s->v;
}

void gh_cred_cache_put(struct gh_cred_cache *c, struct gh_str token, const struct gh_cred_cached *v,
                       uint64_t generation)
{
    uint64_t h = token_hash(c, token);
    struct slot *s = &c->slots[h & c->mask];
    if (s->len != token.len || s->token == NULL) {
        free(s->token);
        s->token = gh_malloc(token.len ? token.len : 1);
    }
    memcpy(s->token, token.p, token.len);
    s->len = token.len;
    s->hash = h;
    s->generation = generation;
    s->v = *v;
}
