/*
 * base.c: error records, slices, strict number/duration/size parsing, time, logging, allocation.
 * Logging writes whole lines with one write(2) so lines from several threads never interleave.
 */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int gh_log_level = GH_LOG_INFO;

int gh_err_set(struct gh_err *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): started above
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

int gh_str_ieq(struct gh_str s, const char *lit)
{
    size_t i;
    for (i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (lit[i] == '\0')
            return 0;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c != (unsigned char)lit[i])
            return 0;
    }
    return lit[i] == '\0';
}

int gh_str_eq(struct gh_str s, const char *lit)
{
    size_t n = strlen(lit);
    return n == s.len && memcmp(s.p, lit, n) == 0;
}

int gh_parse_u64(const char *p, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return GH_EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned char)p[i] - '0';
        if (d > 9)
            return GH_EINVAL;
        if (v > (max - d) / 10)
            return GH_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int gh_parse_duration_ms(const char *s, uint64_t *out_ms)
{
    size_t n = strlen(s), digits = 0;
    uint64_t v, mult = 1000;
    while (digits < n && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    if (digits == 0 || gh_parse_u64(s, digits, UINT64_MAX / 86400000, &v) != 0)
        return GH_EINVAL;
    const char *unit = s + digits;
    if (*unit == '\0' || strcmp(unit, "s") == 0)
        mult = 1000;
    else if (strcmp(unit, "ms") == 0)
        mult = 1;
    else if (strcmp(unit, "m") == 0)
        mult = 60000;
    else if (strcmp(unit, "h") == 0)
        mult = 3600000;
    else if (strcmp(unit, "d") == 0)
        mult = 86400000;
    else
        return GH_EINVAL;
    *out_ms = v * mult;
    return 0;
}

int gh_parse_size(const char *s, uint64_t *out)
{
    size_t n = strlen(s), digits = 0;
    uint64_t v, mult = 1;
    while (digits < n && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    if (digits == 0 || gh_parse_u64(s, digits, UINT64_MAX >> 30, &v) != 0)
        return GH_EINVAL;
    const char *unit = s + digits;
    if (*unit == '\0')
        mult = 1;
    else if (strcmp(unit, "k") == 0 || strcmp(unit, "K") == 0)
        mult = 1024;
    else if (strcmp(unit, "m") == 0 || strcmp(unit, "M") == 0)
        mult = (uint64_t)1 << 20;
    else if (strcmp(unit, "g") == 0 || strcmp(unit, "G") == 0)
        mult = (uint64_t)1 << 30;
    else
        return GH_EINVAL;
    *out = v * mult;
    return 0;
}

int gh_path_segment(const char **p, const char *end, struct gh_str *seg)
{
    while (*p < end && **p == '/')
        (*p)++;
    if (*p >= end)
        return 0;
    const char *slash = memchr(*p, '/', (size_t)(end - *p));
    seg->p = *p;
    seg->len = slash ? (size_t)(slash - *p) : (size_t)(end - *p);
    *p += seg->len;
    return 1;
}

static _Atomic int64_t clock_offset_ms;

void gh_time_set_offset_ms(int64_t offset_ms)
{
    atomic_store_explicit(&clock_offset_ms, offset_ms, memory_order_relaxed);
}

uint64_t gh_time_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 +
           (uint64_t)atomic_load_explicit(&clock_offset_ms, memory_order_relaxed);
}

uint64_t gh_time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t gh_time_parse_rfc3339(const char *s, size_t len)
{
    static const struct {
        size_t at, n;
    } f[] = {{0, 4}, {5, 2}, {8, 2}, {11, 2}, {14, 2}, {17, 2}, {20, 3}};
    uint64_t v[7];
    if (len < 24)
        return 0;
    for (size_t i = 0; i < 7; i++)
        if (gh_parse_u64(s + f[i].at, f[i].n, 9999, &v[i]) != 0)
            return 0;
    struct tm tm = {0};
    tm.tm_year = (int)v[0] - 1900;
    tm.tm_mon = (int)v[1] - 1;
    tm.tm_mday = (int)v[2];
    tm.tm_hour = (int)v[3];
    tm.tm_min = (int)v[4];
    tm.tm_sec = (int)v[5];
    time_t secs = timegm(&tm);
    return secs < 0 ? 0 : (uint64_t)secs * 1000 + v[6];
}

size_t gh_time_rfc3339(uint64_t wall_ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(wall_ms % 1000));
    return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

void gh_log_write(int level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    char line[2048], ts[32];
    gh_time_rfc3339(gh_time_wall_ms(), ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "%s [%s] ", ts, names[level < 0 ? 0 : level > 3 ? 3 : level]);
    va_list ap;
    va_start(ap, fmt);
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): started above
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

static void oom(void)
{
    static const char msg[] = "gatehouse: out of memory\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    abort();
}

void *gh_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom();
    return p;
}

void *gh_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom();
    return p;
}

void *gh_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom();
    return q;
}

char *gh_strndup(const char *p, size_t n)
{
    char *s = gh_malloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

char *gh_strdup(const char *s)
{
    return gh_strndup(s, strlen(s));
}

void gh_buf_add(struct gh_buf *b, const void *p, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        b->p = gh_realloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, len);
    b->len += len;
    b->p[b->len] = '\0';
}

void gh_buf_adds(struct gh_buf *b, const char *s)
{
    gh_buf_add(b, s, strlen(s));
}

void gh_buf_addf(struct gh_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): started above
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    gh_buf_add(b, "", 0);
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        b->p = gh_realloc(b->p, cap);
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void gh_buf_free(struct gh_buf *b)
{
    free(b->p);
    *b = (struct gh_buf){0};
}

int gh_read_fd(int fd, const char *name, size_t max, char **out, size_t *len, struct gh_err *err)
{
    size_t cap = (size_t)64 << 10, n = 0;
    char *buf = gh_malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                return gh_err_set(err, GH_EINVAL, "%s: larger than %zu bytes", name, max);
            }
            cap = cap * 2 > max ? max : cap * 2;
            buf = gh_realloc(buf, cap + 1);
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            free(buf);
            return gh_err_set(err, GH_EINVAL, "%s: cannot read: %s", name, strerror(errno));
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int gh_read_file(const char *path, size_t max, char **out, size_t *len, struct gh_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gh_err_set(err, GH_EINVAL, "%s: cannot read the file: %s", path, strerror(errno));
    int rc = gh_read_fd(fd, path, max, out, len, err);
    close(fd);
    return rc;
}

int gh_random_bytes(void *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : GH_EINTERNAL;
}

size_t gh_b64url(const void *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    out[len] = '\0';
    return (size_t)len;
}

int gh_random_token(char out[GH_TOKEN_LEN + 1])
{
    unsigned char b[32];
    char tmp[48];
    if (gh_random_bytes(b, sizeof(b)) != 0)
        return GH_EINTERNAL;
    gh_b64url(b, sizeof(b), tmp);
    memcpy(out, tmp, GH_TOKEN_LEN + 1);
    return 0;
}

static void hex32(const unsigned char d[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

void gh_sha256_hex(const void *in, size_t n, char out[65])
{
    unsigned char d[32];
    unsigned int dl = 32;
    EVP_Digest(in, n, d, &dl, EVP_sha256(), NULL);
    hex32(d, out);
}

void gh_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t n, char out[65])
{
    unsigned char d[32] = {0};
    unsigned int dl = 0;
    HMAC(EVP_sha256(), key, (int)keylen, msg, n, d, &dl);
    hex32(d, out);
}

void gh_buf_add_html(struct gh_buf *b, const char *s)
{
    for (const char *p = s; *p; p++) {
        const char *e = *p == '&'    ? "&amp;"
                        : *p == '<'  ? "&lt;"
                        : *p == '>'  ? "&gt;"
                        : *p == '"'  ? "&quot;"
                        : *p == '\'' ? "&#39;"
                                     : NULL;
        if (e)
            gh_buf_adds(b, e);
        else
            gh_buf_add(b, p, 1);
    }
}
