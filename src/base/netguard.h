/*
 * netguard: where outbound requests may go. Webhook URLs come from configuration and name hosts the
 * control plane then connects to; a URL that reaches this machine, a link-local neighbour or a cloud
 * metadata service would turn Gatehouse into a proxy into places its users cannot reach (SSRF). The
 * same check runs when a URL is registered (on literal addresses and local names) and on every address
 * a connection is about to use (after DNS, so a name that resolves somewhere denied is caught too).
 */
#ifndef GH_NETGUARD_H
#define GH_NETGUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address block: 4 or 16 bytes and a prefix length. */
struct gh_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int prefix;
};

/* "127.0.0.1/32", "::1/128", "10.0.0.0/8"; a bare address is its own block. 0 or -1. */
int gh_cidr_parse(const char *s, struct gh_cidr *out);

/* Whether an address is denied for outbound requests: loopback, unspecified, link-local (with
 * 169.254.169.254, the metadata address of most clouds), other metadata addresses (fd00:ec2::254,
 * 100.100.100.200), multicast and broadcast -- unless one of allow's blocks holds it. IPv4-mapped IPv6
 * addresses are judged as the IPv4 address. Returns NULL when allowed, else the reason. */
const char *gh_net_denied(const struct sockaddr *sa, const struct gh_cidr *allow, size_t nallow);

/* The same for a URL as written (before any DNS): its host, when it is an address (in any form
 * libcurl accepts) or a local name ("localhost", "*.localhost"). Returns NULL when nothing is known to be
 * denied, else the reason (also for a URL that is not http(s)://host...). */
const char *gh_url_denied(const char *url, const struct gh_cidr *allow, size_t nallow);

#endif
