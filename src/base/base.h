/*
 * base: the few things every module needs and that depend on nothing of ours —
 * error codes and error records, string slices, logging, time, and strict number parsing.
 */
#ifndef GH_BASE_H
#define GH_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Error codes: 0 is success, failures are negative (libuv's convention). */
enum {
    GH_OK = 0,
    GH_EINTERNAL = -1,
    GH_ENOMEM = -2,
    GH_EINVAL = -3,
    GH_EAGAIN = -4, /* need more input */
    GH_ETOOBIG = -5,
    GH_ENOTFOUND = -6,
    GH_EIO = -7,
    GH_EEXIST = -8, /* in the way of something already there (a conflict) */
    GH_EPERM = -9,  /* not allowed */
};

/* A record of why something failed, for a person to read: message plus where (file:line). */
struct gh_err {
    char msg[512];
};

/* Formats the message into err (which may be NULL). Returns `code` so callers can `return gh_err_set(...)`.
 */
int gh_err_set(struct gh_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A borrowed, not NUL-terminated view of bytes. */
struct gh_str {
    const char *p;
    size_t len;
};

#define GH_STR_LIT(s) ((struct gh_str){(s), sizeof(s) - 1})

/* ASCII case-insensitive equality of a slice and a NUL-terminated lower-case literal. */
int gh_str_ieq(struct gh_str s, const char *lit);

/* Exact equality of a slice and a NUL-terminated literal. */
int gh_str_eq(struct gh_str s, const char *lit);

/*
 * Strict unsigned decimal: only digits, at least one, no sign, no spaces, no overflow past max.
 * Returns 0 and sets *out, or GH_EINVAL.
 */
int gh_parse_u64(const char *p, size_t len, uint64_t max, uint64_t *out);

/* The next '/'-separated segment of a path from *p (before end), empty ones skipped: 1 with seg set and
 * *p past it, or 0 at the end. */
int gh_path_segment(const char **p, const char *end, struct gh_str *seg);

/* "10s", "250ms", "2m", "1h" or a bare number of seconds, into milliseconds. Returns 0 or GH_EINVAL. */
int gh_parse_duration_ms(const char *s, uint64_t *out_ms);

/* "16384", "16k", "10m", "1g" (binary multiples) into bytes. Returns 0 or GH_EINVAL. */
int gh_parse_size(const char *s, uint64_t *out);

/* Wall-clock milliseconds since the epoch, and a monotonic clock in nanoseconds. */
uint64_t gh_time_wall_ms(void);
uint64_t gh_time_mono_ns(void);
/* Moves the wall clock every thread reads by offset_ms (0: the real time). For black-box tests only:
 * `serve` sets it from the file GATEHOUSE_TEST_CLOCK_FILE names, when that variable is set. */
void gh_time_set_offset_ms(int64_t offset_ms);

/* Formats wall-clock ms as RFC 3339 UTC with milliseconds into buf (>= 25 bytes). Returns length. */
size_t gh_time_rfc3339(uint64_t wall_ms, char *buf, size_t cap);
/* That form (YYYY-MM-DDTHH:MM:SS.fffZ) back to milliseconds; 0 when it is not that. */
uint64_t gh_time_parse_rfc3339(const char *s, size_t len);

/* Logging: levels, and a macro that tests the level before evaluating the arguments (Redis). */
enum gh_log_level { GH_LOG_ERROR = 0, GH_LOG_WARN = 1, GH_LOG_INFO = 2, GH_LOG_DEBUG = 3 };
extern int gh_log_level;
void gh_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define gh_log(level, ...)                                                                                   \
    do {                                                                                                     \
        if ((level) <= gh_log_level)                                                                         \
            gh_log_write((level), __VA_ARGS__);                                                              \
    } while (0)

/* Allocation that aborts on exhaustion: a gateway that cannot allocate a few bytes cannot go on. */
void *gh_malloc(size_t n);
void *gh_calloc(size_t n, size_t size);
void *gh_realloc(void *p, size_t n);
char *gh_strndup(const char *p, size_t n);
char *gh_strdup(const char *s);

/* A growable byte buffer, always NUL-terminated once anything is added. Zero-initialise to start. */
struct gh_buf {
    char *p;
    size_t len, cap;
};
void gh_buf_add(struct gh_buf *b, const void *p, size_t len);
void gh_buf_adds(struct gh_buf *b, const char *s);
void gh_buf_addf(struct gh_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s escaped for HTML text and attribute values (& < > " ' as character references). */
void gh_buf_add_html(struct gh_buf *b, const char *s);
void gh_buf_free(struct gh_buf *b);

/* Reads a whole file into a new NUL-terminated buffer (caller frees). Refuses files over max bytes.
 * Returns 0, or GH_EINVAL with "path: why" in err. */
int gh_read_file(const char *path, size_t max, char **out, size_t *len, struct gh_err *err);

/* The same for an open descriptor read to its end (a pipe, stdin); name is for messages. */
int gh_read_fd(int fd, const char *name, size_t max, char **out, size_t *len, struct gh_err *err);

/* Fills buf with n cryptographically random bytes (OpenSSL). Returns 0 or GH_EINTERNAL. */
int gh_random_bytes(void *buf, size_t n);

/* base64url without padding of n bytes into out (at least 4 * ((n + 2) / 3) + 1 bytes); returns the
 * length written before the NUL. */
size_t gh_b64url(const void *in, size_t n, char *out);

/* A random token: 32 random bytes in base64url (43 characters and the NUL). 0 or GH_EINTERNAL. */
#define GH_TOKEN_LEN 43
int gh_random_token(char out[GH_TOKEN_LEN + 1]);

/* SHA-256 of n bytes, as 64 lower-case hex characters and the NUL. */
void gh_sha256_hex(const void *in, size_t n, char out[65]);
/* HMAC-SHA256 of msg under key, as lower-case hex. */
void gh_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t n, char out[65]);

#define GH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define GH_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GH_LIKELY(x) __builtin_expect(!!(x), 1)

#endif
