/*
 * fetch.c: see fetch.h.
 */
#include "fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

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
        return gh_err_set(err, GH_EIO, "%s: %s", url, why[0] ? why : curl_easy_strerror(rc));
    }
    if (out->body.p == NULL)
        gh_buf_add(&out->body, "", 0);
    return 0;
}
