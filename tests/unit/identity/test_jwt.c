/* JWT verification: every rejection the gateway promises, with tokens signed here (OpenSSL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "identity/jwt.h"
#include "base/credcache.h"

#define NOW 1800000000ull

static EVP_PKEY *rsa_key, *rsa_key2, *ec_key, *ec384_key;
static char jwks[8192];

static size_t b64url(const unsigned char *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        out[o++] = a[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

static void bn_param(EVP_PKEY *k, const char *name, size_t pad, char *out)
{
    BIGNUM *bn = NULL;
    assert_true(EVP_PKEY_get_bn_param(k, name, &bn));
    unsigned char buf[600];
    int n = pad ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
    b64url(buf, (size_t)n, out);
    BN_free(bn);
}

static void rsa_jwk(EVP_PKEY *k, const char *kid, const char *extra, char *out, size_t cap)
{
    char n[800], e[16];
    bn_param(k, OSSL_PKEY_PARAM_RSA_N, 0, n);
    bn_param(k, OSSL_PKEY_PARAM_RSA_E, 0, e);
    snprintf(out, cap, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\",\"n\":\"%s\",\"e\":\"%s\"%s}", kid, n,
             e, extra);
}

static void ec_jwk(EVP_PKEY *k, const char *kid, const char *crv, size_t size, char *out, size_t cap)
{
    char x[200], y[200];
    bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, size, x);
    bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, size, y);
    snprintf(out, cap, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", kid, crv,
             x, y);
}

/* header and claims JSON -> a compact JWS signed with k under alg (RS256, ES256, ES384) */
static char *sign(EVP_PKEY *k, const char *alg, const char *header, const char *claims)
{
    static char tok[8192];
    size_t o = b64url((const unsigned char *)header, strlen(header), tok);
    tok[o++] = '.';
    o += b64url((const unsigned char *)claims, strlen(claims), tok + o);
    const EVP_MD *md = strcmp(alg, "ES384") == 0 ? EVP_sha384() : EVP_sha256();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[600];
    size_t sl = sizeof(sig);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, k), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &sl, (unsigned char *)tok, o), 1);
    EVP_MD_CTX_free(ctx);
    if (alg[0] == 'E') { /* DER -> r || s */
        size_t half = strcmp(alg, "ES384") == 0 ? 48 : 32;
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
        unsigned char raw[132];
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)half);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, (int)half);
        ECDSA_SIG_free(es);
        memcpy(sig, raw, 2 * half);
        sl = 2 * half;
    }
    tok[o++] = '.';
    b64url(sig, sl, tok + o);
    return tok;
}

static char *claims(const char *extra)
{
    static char c[2048];
    snprintf(c, sizeof(c),
             "{\"iss\":\"https://idp.example\",\"aud\":\"gatehouse\",\"azp\":\"billing-app\",\"exp\":%llu,"
             "\"iat\":%llu%s}",
             NOW + 300, NOW - 10, extra);
    return c;
}

static char *audiences[] = {"gatehouse", "api://gw"};
static char *algorithms[] = {"RS256", "ES256", "ES384", "HS256", "none"};
static char *required[] = {"iat"};
static struct gh_jwt_rules rules = {
    "https://idp.example", audiences, 2, algorithms, 3, required, 1, 60, "azp"};

static int setup(void **state)
{
    (void)state;
    rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa_key2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ec384_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    assert_non_null(rsa_key);
    char a[2048], b[1024], c[1024];
    rsa_jwk(rsa_key, "r1", ",\"alg\":\"RS256\"", a, sizeof(a));
    ec_jwk(ec_key, "e1", "P-256", 32, b, sizeof(b));
    ec_jwk(ec384_key, "e2", "P-384", 48, c, sizeof(c));
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,%s,%s,{\"kty\":\"oct\",\"kid\":\"h1\",\"k\":\"c2VjcmV0\"}]}",
             a, b, c);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(rsa_key2);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(ec384_key);
    return 0;
}

/* decode + verify with the test's key set; returns the verify result and leaves why in err */
static int check(const char *token, struct gh_err *err, char client[128])
{
    struct gh_jwk_set *set = NULL;
    assert_int_equal(gh_jwks_parse(jwks, strlen(jwks), &set, err), 0);
    struct gh_jwt t;
    int rc = gh_jwt_decode((struct gh_str){token, strlen(token)}, 8192, &t, err);
    uint64_t exp = 0;
    if (rc == 0)
        rc = gh_jwt_verify(&t, &rules, set, NOW, client, 128, &exp, err);
    gh_jwt_release(&t);
    gh_jwks_free(set);
    return rc;
}

static void expect_refused(const char *token, const char *why)
{
    struct gh_err err = {{0}};
    char client[128];
    int rc = check(token, &err, client);
    if (rc == 0)
        fail_msg("accepted a token that should fail with '%s'", why);
    if (strstr(err.msg, why) == NULL)
        fail_msg("refused with '%s', expected '%s'", err.msg, why);
}

static void test_key_set(void **state)
{
    (void)state;
    struct gh_err err = {{0}};
    struct gh_jwk_set *set = NULL;
    assert_int_equal(gh_jwks_parse(jwks, strlen(jwks), &set, &err), 0);
    assert_int_equal(gh_jwks_count(set), 3); /* the symmetric key is never taken */
    gh_jwks_free(set);
    const char *oct = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AA\"}]}";
    assert_int_equal(gh_jwks_parse(oct, strlen(oct), &set, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "no usable signing key"));
    assert_int_equal(gh_jwks_parse("[]", 2, &set, &err), GH_EINVAL);
    /* an RSA key under 2048 bits is skipped */
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    char a[1024], doc[1200];
    rsa_jwk(small, "s", "", a, sizeof(a));
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", a);
    assert_int_equal(gh_jwks_parse(doc, strlen(doc), &set, &err), GH_EINVAL);
    EVP_PKEY_free(small);
}

static void test_valid_tokens(void **state)
{
    (void)state;
    struct gh_err err = {{0}};
    char client[128];
    assert_int_equal(
        check(sign(rsa_key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"JWT\"}", claims("")), &err,
              client),
        0);
    assert_string_equal(client, "billing-app");
    assert_int_equal(
        check(sign(ec_key, "ES256", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims("")), &err, client), 0);
    assert_int_equal(
        check(sign(ec384_key, "ES384", "{\"alg\":\"ES384\",\"kid\":\"e2\"}", claims("")), &err, client), 0);
    /* aud as a list holding one accepted value; exp inside the clock skew */
    char c[512];
    snprintf(c, sizeof(c),
             "{\"iss\":\"https://idp.example\",\"aud\":[\"other\",\"api://gw\"],\"azp\":\"x\",\"exp\":%llu,"
             "\"iat\":1,\"nbf\":%llu}",
             NOW - 30, NOW + 30);
    assert_int_equal(check(sign(rsa_key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c), &err, client), 0);
}

static void test_header_attacks(void **state)
{
    (void)state;
    /* alg none, with and without a signature */
    expect_refused("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "signature");
    char tok[4096];
    snprintf(tok, sizeof(tok), "%s", sign(rsa_key, "RS256", "{\"alg\":\"none\",\"kid\":\"r1\"}", claims("")));
    expect_refused(tok, "algorithm is not accepted");
    /* HMAC keyed with the public key's bytes (the classic confusion) */
    expect_refused(sign(rsa_key, "RS256", "{\"alg\":\"HS256\",\"kid\":\"r1\"}", claims("")),
                   "algorithm is not accepted");
    /* an algorithm not in the configured list */
    expect_refused(sign(rsa_key, "RS256", "{\"alg\":\"PS256\",\"kid\":\"r1\"}", claims("")),
                   "algorithm is not accepted");
    /* the key says RS256; an ES256 token naming it does not fit */
    expect_refused(sign(ec_key, "ES256", "{\"alg\":\"ES256\",\"kid\":\"r1\"}", claims("")), "does not fit");
    /* ES384 signature claimed for the P-256 key */
    expect_refused(sign(ec384_key, "ES384", "{\"alg\":\"ES384\",\"kid\":\"e1\"}", claims("")),
                   "does not fit");
    /* keys brought along by the token */
    expect_refused(
        sign(rsa_key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"jwk\":{\"kty\":\"RSA\"}}", claims("")),
        "carries jwk");
    expect_refused(
        sign(rsa_key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"jku\":\"https://evil\"}", claims("")),
        "carries jku");
    expect_refused(
        sign(rsa_key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"x5u\":\"https://evil\"}", claims("")),
        "carries x5u");
    expect_refused(sign(rsa_key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"x5c\":[\"AA\"]}", claims("")),
                   "carries x5c");
    expect_refused(
        sign(rsa_key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"],\"exp\":1}", claims("")),
        "carries crit");
    /* signed by another key under a known kid */
    expect_refused(sign(rsa_key2, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims("")),
                   "signature is not valid");
    /* unknown kid: GH_ENOTFOUND so the caller can refresh */
    struct gh_err err = {{0}};
    char client[128];
    assert_int_equal(
        check(sign(rsa_key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"nope\"}", claims("")), &err, client),
        GH_ENOTFOUND);
}

static void test_ecdsa_signatures(void **state)
{
    (void)state;
    char tok[4096];
    snprintf(tok, sizeof(tok), "%s", sign(ec_key, "ES256", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims("")));
    char *sig = strrchr(tok, '.') + 1;
    /* all zero r and s ("psychic signature") */
    char zero[100];
    unsigned char z[64] = {0};
    b64url(z, 64, zero);
    char forged[4096];
    snprintf(forged, sizeof(forged), "%.*s%s", (int)(sig - tok), tok, zero);
    expect_refused(forged, "malformed");
    /* r zero, s kept */
    unsigned char half[64] = {0};
    memset(half + 32, 1, 32);
    b64url(half, 64, zero);
    snprintf(forged, sizeof(forged), "%.*s%s", (int)(sig - tok), tok, zero);
    expect_refused(forged, "malformed");
    /* wrong length: DER or truncated */
    snprintf(forged, sizeof(forged), "%.*s", (int)strlen(tok) - 4, tok);
    expect_refused(forged, "malformed");
}

static void test_claims(void **state)
{
    (void)state;
    const char *h = "{\"alg\":\"RS256\",\"kid\":\"r1\"}";
    char c[512];
    snprintf(c, sizeof(c), "{\"iss\":\"https://idp.example\",\"aud\":\"gatehouse\",\"azp\":\"a\",\"iat\":1}");
    expect_refused(sign(rsa_key, "RS256", h, c), "no valid exp");
    snprintf(
        c, sizeof(c),
        "{\"iss\":\"https://idp.example\",\"aud\":\"gatehouse\",\"azp\":\"a\",\"iat\":1,\"exp\":\"soon\"}");
    expect_refused(sign(rsa_key, "RS256", h, c), "no valid exp");
    snprintf(c, sizeof(c),
             "{\"iss\":\"https://idp.example\",\"aud\":\"gatehouse\",\"azp\":\"a\",\"iat\":1,\"exp\":%llu}",
             NOW - 61);
    expect_refused(sign(rsa_key, "RS256", h, c), "expired");
    expect_refused(sign(rsa_key, "RS256", h, claims(",\"nbf\":1800000100")), "not valid yet");
    snprintf(
        c, sizeof(c),
        "{\"iss\":\"https://idp.example\",\"aud\":\"gatehouse\",\"azp\":\"a\",\"exp\":%llu,\"iat\":%llu}",
        NOW + 900, NOW + 600);
    expect_refused(sign(rsa_key, "RS256", h, c), "issued in the future");
    snprintf(c, sizeof(c),
             "{\"iss\":\"https://evil.example\",\"aud\":\"gatehouse\",\"azp\":\"a\",\"iat\":1,\"exp\":%llu}",
             NOW + 60);
    expect_refused(sign(rsa_key, "RS256", h, c), "issuer");
    snprintf(c, sizeof(c),
             "{\"iss\":\"https://idp.example\",\"aud\":[\"x\",\"y\"],\"azp\":\"a\",\"iat\":1,\"exp\":%llu}",
             NOW + 60);
    expect_refused(sign(rsa_key, "RS256", h, c), "audience");
    snprintf(c, sizeof(c),
             "{\"iss\":\"https://idp.example\",\"aud\":\"gatehouse\",\"azp\":\"a\",\"exp\":%llu}", NOW + 60);
    expect_refused(sign(rsa_key, "RS256", h, c), "required claim iat");
    snprintf(c, sizeof(c), "{\"iss\":\"https://idp.example\",\"aud\":\"gatehouse\",\"iat\":1,\"exp\":%llu}",
             NOW + 60);
    expect_refused(sign(rsa_key, "RS256", h, c), "azp claim");
}

static void test_malformed(void **state)
{
    (void)state;
    struct gh_err err = {{0}};
    struct gh_jwt t;
    const char *bad[] = {"",
                         "abc",
                         "a.b",
                         "a.b.c.d.e",
                         "eyJ!.eyJ.sig",
                         "e30.e30.",
                         "W10.e30.AAAA",
                         "e30.e30.AAAA",
                         "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.AAAA"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (gh_jwt_decode((struct gh_str){bad[i], strlen(bad[i])}, 8192, &t, &err) == 0) {
            gh_jwt_release(&t);
            fail_msg("decoded '%s'", bad[i]);
        }
    /* oversized */
    char *big = malloc(9000);
    memset(big, 'A', 8999);
    big[8999] = '\0';
    assert_int_equal(gh_jwt_decode((struct gh_str){big, 8999}, 8192, &t, &err), GH_EINVAL);
    assert_non_null(strstr(err.msg, "larger than"));
    free(big);
}

static void test_cache(void **state)
{
    (void)state;
    struct gh_cred_cache *c = gh_cred_cache_new(64);
    const char *tok = "aaaa.bbbb.cccc";
    struct gh_str t = {tok, strlen(tok)};
    struct gh_cred_cached v = {.exp_s = NOW + 10};
    gh_jwt_credential("https://idp.example", "billing-app", v.cred);
    assert_null(gh_cred_cache_get(c, t, NOW, 1));
    gh_cred_cache_put(c, t, &v, 1);
    const struct gh_cred_cached *hit = gh_cred_cache_get(c, t, NOW, 1);
    assert_non_null(hit);
    assert_memory_equal(hit->cred, v.cred, 32);
    assert_null(gh_cred_cache_get(c, t, NOW + 10, 1)); /* expired */
    assert_null(gh_cred_cache_get(c, t, NOW, 2));      /* keys or rules changed */
    assert_null(gh_cred_cache_get(c, (struct gh_str){"aaaa.bbbb.cccd", 14}, NOW, 1));
    /* long secrets that differ only where the slot's hash does not look: the whole is compared */
    char a1[200], a2[200];
    memset(a1, 'x', sizeof(a1));
    memcpy(a2, a1, sizeof(a2));
    a2[3] = 'y';
    gh_cred_cache_put(c, (struct gh_str){a1, sizeof(a1)}, &v, 1);
    assert_non_null(gh_cred_cache_get(c, (struct gh_str){a1, sizeof(a1)}, NOW, 1));
    assert_null(gh_cred_cache_get(c, (struct gh_str){a2, sizeof(a2)}, NOW, 1));
    a2[3] = 'x';
    a2[197] = 'y'; /* and in the last word */
    assert_null(gh_cred_cache_get(c, (struct gh_str){a2, sizeof(a2)}, NOW, 1));
    gh_cred_cache_free(c);
    /* the digest separates issuer from client */
    unsigned char a[32], b[32];
    gh_jwt_credential("https://a", "bc", a);
    gh_jwt_credential("https://ab", "c", b);
    assert_memory_not_equal(a, b, 32);
}

/* the key a claim-keyed rate limit counts by: issuer, claim name and value, and only string values */
static void claim_key(const char *extra, const char *claim, int want, unsigned char out[16])
{
    struct gh_jwt t;
    struct gh_err err = {{0}};
    char *tok = sign(rsa_key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims(extra));
    assert_int_equal(gh_jwt_decode((struct gh_str){tok, strlen(tok)}, 8192, &t, &err), 0);
    assert_int_equal(gh_jwt_claim_key(&t, claim, out), want);
    gh_jwt_release(&t);
}

static void test_claim_key(void **state)
{
    (void)state;
    unsigned char a[16], b[16], c[16], d[16];
    claim_key(",\"sub\":\"alice\",\"tid\":\"alice\"", "sub", 0, a);
    claim_key(",\"sub\":\"alice\",\"jti\":\"other\"", "sub", 0, b);
    assert_memory_equal(a, b, 16); /* another token of the same user */
    claim_key(",\"sub\":\"bob\"", "sub", 0, c);
    assert_memory_not_equal(a, c, 16);
    claim_key(",\"sub\":\"alice\",\"tid\":\"alice\"", "tid", 0, d);
    assert_memory_not_equal(a, d, 16); /* the claim's name counts too */
    claim_key("", "sub", GH_ENOTFOUND, d);
    claim_key(",\"sub\":\"\"", "sub", GH_ENOTFOUND, d);
    claim_key(",\"sub\":42", "sub", GH_ENOTFOUND, d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_set),        cmocka_unit_test(test_valid_tokens),
        cmocka_unit_test(test_header_attacks), cmocka_unit_test(test_ecdsa_signatures),
        cmocka_unit_test(test_claims),         cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_cache),          cmocka_unit_test(test_claim_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
