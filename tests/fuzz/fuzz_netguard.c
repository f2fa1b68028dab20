/* Webhook URLs and address blocks from configuration: parsing never crashes; a parsed block has a
 * prefix within its family's length; a URL whose host is a literal loopback address is never allowed. */
#include "base/netguard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[512];
    if (size >= sizeof(s))
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct gh_cidr c;
    if (gh_cidr_parse(s, &c) == 0 && (c.prefix < 0 || c.prefix > (c.family == AF_INET ? 32 : 128)))
        abort();
    (void)gh_url_denied(s, NULL, 0);
    char url[600];
    snprintf(url, sizeof(url), "http://127.0.0.1/%s", s);
    if (gh_url_denied(url, NULL, 0) == NULL)
        abort(); /* nothing after the host makes a loopback address allowed */
    return 0;
}
