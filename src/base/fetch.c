/*
 * fetch.c: see fetch.h.
 */
#include "fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
    struct gh_fetch_result *out;
    size_t max;
    int too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;
    size_t len = size * n;
    if (s->out->body.len + len > s->max) {
        s->too_big = 1;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    gh_buf_add(&s->out->body, p, len);
    return len;
}

void gh_url_encode(struct gh_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '.' || *p == '_' || *p == '~') {
            gh_buf_add(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            gh_buf_add(b, e, 3);
        }
    }
}

int gh_fetch(const char *url, uint64_t timeout_ms, size_t max_bytes, struct gh_fetch_result *out,
             struct gh_err *err)
{
    struct gh_fetch_req r = {.url = url, .timeout_ms = timeout_ms, .max_bytes = max_bytes};
    return gh_fetch_req(&r, out, err);
}

struct guard {
    const struct gh_fetch_req *r;
    const char *denied; /* why the last address was refused */
};

/* Every address curl is about to connect to (after DNS): refused unless netguard allows it. */
static curl_socket_t open_guarded(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct guard *g = ctx;
    (void)purpose;
    const char *why = gh_net_denied(&a->addr, g->r->allow, g->r->nallow);
    if (why) {
        g->denied = why;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

int gh_fetch_req(const struct gh_fetch_req *r, struct gh_fetch_result *out, struct gh_err *err)
{
    const char *url = r->url;
    uint64_t timeout_ms = r->timeout_ms;
    size_t max_bytes = r->max_bytes;
    memset(out, 0, sizeof(*out));
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return gh_err_set(err, GH_EIO, "%s: only http and https URLs can be fetched", url);
    pthread_once(&once, init_curl);
    CURL *h = curl_easy_init();
    if (h == NULL)
        return gh_err_set(err, GH_EIO, "%s: cannot start a transfer", url);
    struct sink s = {out, max_bytes, 0};
    char why[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, why);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "gatehouse");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    struct curl_slist *hdrs = NULL;
    struct gh_buf cred = {0};
    if (r->form) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->form);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(r->form));
    }
    if (r->user) {
        gh_url_encode(&cred, r->user);
        gh_buf_add(&cred, ":", 1);
        gh_url_encode(&cred, r->password ? r->password : "");
        gh_buf_add(&cred, "", 1);
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERPWD, cred.p);
    }
    if (r->bearer) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, r->bearer);
    }
    if (r->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
        char ct[128];
        snprintf(ct, sizeof(ct), "Content-Type: %s", r->content_type ? r->content_type : "application/json");
        hdrs = curl_slist_append(hdrs, ct);
        hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    }
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        hdrs = curl_slist_append(hdrs, r->headers[i]);
    struct guard g = {r, NULL};
    if (r->guard) {
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &g);
        curl_easy_setopt(h, CURLOPT_PROXY, ""); /* the check is on the address actually connected to */
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    if (cred.p)
        memset(cred.p, 0, cred.len);
    gh_buf_free(&cred);
    if (s.too_big) {
        gh_buf_free(&out->body);
        return gh_err_set(err, GH_EIO, "%s: the response is larger than %zu bytes", url, max_bytes);
    }
    if (rc != CURLE_OK) {
        gh_buf_free(&out->body);
        if (g.denied)
            return gh_err_set(err, GH_EIO, "%s: refused to connect to %s", url, g.denied);
        return gh_err_set(err, GH_EIO, "%s: %s", url, why[0] ? why : curl_easy_strerror(rc));
    }
    if (out->body.p == NULL)
        gh_buf_add(&out->body, "", 0);
    return 0;
}
