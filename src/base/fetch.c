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

int gh_fetch(const char *url, uint64_t timeout_ms, size_t max_bytes, struct gh_fetch_result *out,
             struct gh_err *err)
{
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
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(h);
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
