/* Bearer tokens and JWKS documents as the network hands them over: decoding a token, parsing a key
 * set and verifying the one against the other never crash, and nothing unsigned verifies. */
#include "identity/jwt.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the input is "<jwks>\n<token>" or just a token */
    const char *p = (const char *)data;
    const char *nl = memchr(p, '\n', size);
    struct gh_err err;
    struct gh_jwk_set *set = NULL;
    struct gh_str token = {p, size};
    if (nl) {
        gh_jwks_parse(p, (size_t)(nl - p), &set, &err);
        token = (struct gh_str){nl + 1, size - (size_t)(nl - p) - 1};
    }
    struct gh_jwt t;
    if (gh_jwt_decode(token, 16384, &t, &err) == 0) {
        static char *aud[] = {"a"}, *algs[] = {"RS256", "ES256", "PS256"};
        struct gh_jwt_rules r = {"https://i", aud, 1, algs, 3, NULL, 0, 60, "azp"};
        char client[64];
        uint64_t exp;
        /* a key set and token both made by the fuzzer would need a forged signature to pass */
        if (gh_jwt_verify(&t, &r, set, 1700000000, client, sizeof(client), &exp, &err) == 0)
            abort();
        gh_jwt_release(&t);
    }
    gh_jwks_free(set);
    return 0;
}
