/*
 * accesslog.c: JSON-lines access log, buffered per worker so a request costs no system call; the
 * buffer is written with one write(2) (whole lines, so workers sharing a file never interleave) every
 * second by the worker's tick, when nearly full, and at exit.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_CAP ((size_t)64 << 10)

void gh__accesslog_init(struct accesslog *l, const char *target)
{
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    if (target == NULL || strcmp(target, "off") == 0)
        return;
    if (strcmp(target, "stdout") == 0) {
        l->fd = STDOUT_FILENO;
    } else if (strcmp(target, "stderr") == 0) {
        l->fd = STDERR_FILENO;
    } else {
        l->fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (l->fd < 0) {
            gh_log(GH_LOG_ERROR, "access log %s: %s; access logging is off", target, strerror(errno));
            return;
        }
    }
    l->cap = LOG_CAP;
    l->buf = gh_malloc(l->cap);
}

void gh__accesslog_flush(struct accesslog *l)
{
    size_t off = 0;
    while (off < l->len) {
        ssize_t n = write(l->fd, l->buf + off, l->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* a log that cannot be written must not stop the gateway */
        off += (size_t)n;
    }
    l->len = 0;
}

void gh__accesslog_dispose(struct accesslog *l)
{
    if (l->buf != NULL)
        gh__accesslog_flush(l);
    if (l->fd > STDERR_FILENO)
        close(l->fd);
    free(l->buf);
    l->buf = NULL;
    l->fd = -1;
}

char *gh__accesslog_reserve(struct accesslog *l, size_t n)
{
    if (l->buf == NULL)
        return NULL;
    if (l->len + n > l->cap)
        gh__accesslog_flush(l);
    return l->buf + l->len;
}

size_t gh__accesslog_time(struct accesslog *l, uint64_t wall_ms, char *out)
{
    uint64_t sec = wall_ms / 1000;
    if (sec != l->sec || l->stamp[0] == '\0') {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(l->stamp, sizeof(l->stamp), "%Y-%m-%dT%H:%M:%S", &tm);
        l->sec = sec;
    }
    unsigned ms = (unsigned)(wall_ms % 1000);
    memcpy(out, l->stamp, 19);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    out[21] = (char)('0' + ms / 10 % 10);
    out[22] = (char)('0' + ms % 10);
    out[23] = 'Z';
    return 24;
}
