/*
 * netguard.c: see netguard.h.
 */
#include "netguard.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int gh_cidr_parse(const char *s, struct gh_cidr *out)
{
    char a[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(a))
        return -1;
    memcpy(a, s, n);
    a[n] = '\0';
    memset(out, 0, sizeof(*out));
    int max;
    if (inet_pton(AF_INET, a, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, a, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    out->prefix = max;
    if (slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || p < 0 || p > max)
            return -1;
        out->prefix = (int)p;
    }
    return 0;
}

static int in_block(int family, const uint8_t *addr, const struct gh_cidr *c)
{
    if (c->family != family)
        return 0;
    int bytes = c->prefix / 8, bits = c->prefix % 8;
    if (memcmp(addr, c->addr, (size_t)bytes) != 0)
        return 0;
    if (bits == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - bits));
    return (addr[bytes] & mask) == (c->addr[bytes] & mask);
}

static const char *v4_denied(const uint8_t a[4])
{
    uint32_t x = ((uint32_t)a[0] << 24) | ((uint32_t)a[1] << 16) | ((uint32_t)a[2] << 8) | a[3];
    if (a[0] == 127)
        return "a loopback address";
    if (a[0] == 0)
        return "an unspecified address";
    if (x == 0xa9fea9feu || x == 0x646464c8u) /* 169.254.169.254, 100.100.100.200 */
        return "a cloud metadata address";
    if (a[0] == 169 && a[1] == 254)
        return "a link-local address";
    if (a[0] >= 224)
        return "a multicast or broadcast address";
    return NULL;
}

static const char *v6_denied(const uint8_t a[16])
{
    static const uint8_t loop[16] = {[15] = 1}, any[16] = {0};
    static const uint8_t ec2[16] = {0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02};
    if (memcmp(a, loop, 16) == 0)
        return "a loopback address";
    if (memcmp(a, any, 16) == 0)
        return "an unspecified address";
    if (memcmp(a, ec2, 16) == 0)
        return "a cloud metadata address";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return "a link-local address";
    if (a[0] == 0xff)
        return "a multicast address";
    return NULL;
}

static const char *judge(int family, const uint8_t *addr, const struct gh_cidr *allow, size_t nallow)
{
    uint8_t v4[4];
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (family == AF_INET6 && memcmp(addr, mapped, 12) == 0) { /* ::ffff:a.b.c.d */
        memcpy(v4, addr + 12, 4);
        family = AF_INET;
        addr = v4;
    }
    for (size_t i = 0; i < nallow; i++)
        if (in_block(family, addr, &allow[i]))
            return NULL;
    return family == AF_INET ? v4_denied(addr) : v6_denied(addr);
}

const char *gh_net_denied(const struct sockaddr *sa, const struct gh_cidr *allow, size_t nallow)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return judge(AF_INET, (const uint8_t *)&in->sin_addr, allow, nallow);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return judge(AF_INET6, in6->sin6_addr.s6_addr, allow, nallow);
    }
    return "not an internet address";
}

const char *gh_url_denied(const char *url, const struct gh_cidr *allow, size_t nallow)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    const char *why = NULL;
    if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        why = "not a URL";
    } else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        why = "not an http or https URL";
    } else {
        size_t n = strlen(host);
        struct in_addr v4;
        uint8_t v6[16];
        char bare[64];
        if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(bare)) {
            memcpy(bare, host + 1, n - 2);
            bare[n - 2] = '\0';
            char *zone = strchr(bare, '%');
            if (zone)
                *zone = '\0';
            why = inet_pton(AF_INET6, bare, v6) == 1 ? judge(AF_INET6, v6, allow, nallow) : "not a URL";
        } else if (inet_aton(host, &v4) == 1) { /* also 127.1, 0x7f000001 and 2130706433 */
            why = judge(AF_INET, (const uint8_t *)&v4, allow, nallow);
        } else if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0 ||
                   (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0)) {
            /* a name that means this machine: judged as the loopback address it resolves to */
            uint8_t lo[4] = {127, 0, 0, 1};
            why = judge(AF_INET, lo, allow, nallow);
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return why;
}
