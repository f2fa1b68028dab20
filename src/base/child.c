/*
 * child.c: see child.h.
 */
#include "child.h"

#include "json.h"
#include "yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *self_path;

void gh_child_set_self(const char *argv0)
{
    self_path = argv0;
}

void gh_child_limit(void)
{
    struct rlimit cpu = {GH_CHILD_MS / 1000, GH_CHILD_MS / 1000 + 1};
    setrlimit(RLIMIT_CPU, &cpu);
#ifndef __SANITIZE_ADDRESS__
    /* under AddressSanitizer the process already spans terabytes of shadow: a 1 GiB cap would fail
     * its every new mapping, so sanitizer builds (tests only) go without it */
    struct rlimit mem = {(rlim_t)1 << 30, (rlim_t)1 << 30};
    setrlimit(RLIMIT_AS, &mem);
#endif
}

static long ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A child started and given its input, whose output is still to be read. */
struct child {
    pid_t pid;
    int out, err;
    const char *name;
};

static int child_start(const char *sub, const char *name, const char *in, size_t inlen, struct child *c,
                       struct gh_err *err)
{
    int pin[2], pout[2], perr[2];
    if (pipe2(pin, O_CLOEXEC) != 0)
        return gh_err_set(err, GH_EIO, "%s: cannot start the parser: %s", name, strerror(errno));
    if (pipe2(pout, O_CLOEXEC) != 0) {
        close(pin[0]);
        close(pin[1]);
        return gh_err_set(err, GH_EIO, "%s: cannot start the parser: %s", name, strerror(errno));
    }
    if (pipe2(perr, O_CLOEXEC) != 0) {
        close(pin[0]);
        close(pin[1]);
        close(pout[0]);
        close(pout[1]);
        return gh_err_set(err, GH_EIO, "%s: cannot start the parser: %s", name, strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pin[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, pout[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, perr[1], STDERR_FILENO);
    char *argv[] = {"gatehouse", (char *)sub, (char *)name, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, self_path ? self_path : "gatehouse", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    if (rc != 0) {
        close(pin[1]);
        close(pout[0]);
        close(perr[0]);
        return gh_err_set(err, GH_EIO, "%s: cannot start the parser: %s", name, strerror(rc));
    }
    /* the child reads all of stdin before it writes anything, so writing first cannot deadlock */
    for (size_t off = 0; off < inlen;) {
        ssize_t n = write(pin[1], in + off, inlen - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* it died early: its exit status says why */
        off += (size_t)n;
    }
    close(pin[1]);
    *c = (struct child){pid, pout[0], perr[0], name};
    return 0;
}

/* Reads a started child's output to its end (or the time limit) and reaps it. */
static int child_finish(struct child *c, size_t max_out, char **out, size_t *outlen, struct gh_err *err)
{
    pid_t pid = c->pid;
    const char *name = c->name;
    int pout[1] = {c->out}, perr[1] = {c->err}, rc;
    struct gh_buf obuf = {0};
    char msg[sizeof(err->msg)];
    size_t mlen = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int timed_out = 0, too_big = 0, open_fds = 2;
    struct pollfd pfd[2] = {{pout[0], POLLIN, 0}, {perr[0], POLLIN, 0}};
    while (open_fds > 0) {
        long left = GH_CHILD_MS - ms_since(&t0);
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        int pr = poll(pfd, 2, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[65536];
            ssize_t n = read(pfd[i].fd, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                pfd[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 0) {
                if (obuf.len + (size_t)n > max_out) {
                    too_big = 1;
                    open_fds = 0;
                    break;
                }
                gh_buf_add(&obuf, buf, (size_t)n);
            } else {
                size_t take = (size_t)n < sizeof(msg) - 1 - mlen ? (size_t)n : sizeof(msg) - 1 - mlen;
                memcpy(msg + mlen, buf, take);
                mlen += take;
            }
        }
    }
    if (timed_out || too_big)
        kill(pid, SIGKILL);
    close(pout[0]);
    close(perr[0]);
    msg[mlen] = '\0';
    while (mlen && msg[mlen - 1] == '\n')
        msg[--mlen] = '\0';
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    rc = 0;
    if (timed_out)
        rc = gh_err_set(err, GH_EINVAL, "%s: the YAML parser did not finish within %d s; the file is refused",
                        name, GH_CHILD_MS / 1000);
    else if (too_big)
        rc = gh_err_set(err, GH_EINVAL,
                        "%s: the parsed document is larger than %zu bytes; the file is refused", name,
                        max_out);
    else if (WIFSIGNALED(status))
        rc = gh_err_set(err, GH_EINVAL,
                        "%s: the YAML parser crashed on this file (signal %d), so it is refused; "
                        "look for malformed YAML (tabs, complex keys)",
                        name, WTERMSIG(status));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = gh_err_set(err, GH_EINVAL, "%s", mlen ? msg : "the file could not be parsed");
    if (rc == 0 && out) {
        gh_buf_add(&obuf, "", 0);
        *out = obuf.p;
        if (outlen)
            *outlen = obuf.len;
    } else {
        gh_buf_free(&obuf);
    }
    return rc;
}

int gh_child_run(const char *sub, const char *name, const char *in, size_t inlen, size_t max_out, char **out,
                 size_t *outlen, struct gh_err *err)
{
    struct child c;
    int rc = child_start(sub, name, in, inlen, &c, err);
    return rc ? rc : child_finish(&c, max_out, out, outlen, err);
}

struct gh_json *gh_yaml_stream_json_isolated(const char *name, const char *text, size_t len,
                                             struct gh_err *err)
{
    if (self_path == NULL)
        return gh_yaml_stream_json(name, text, len, err);
    char *out = NULL;
    size_t outlen = 0;
    /* the JSON form is never much larger than the YAML (aliases are refused); 4x leaves room for escapes */
    if (gh_child_run("__yaml-json", name, text, len, 4 * len + 4096, &out, &outlen, err) != 0)
        return NULL;
    struct gh_json *j = gh_json_parse(out, outlen, err);
    free(out);
    return j;
}

int gh_child_read_stdin(const char *name, size_t max, char **buf, size_t *len)
{
    gh_child_limit();
    struct gh_err err = {{0}};
    if (gh_read_fd(STDIN_FILENO, name, max, buf, len, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return 0;
}

/* Writes j (taken) to stdout; the child's exit status. */
static int answer(struct gh_json *j)
{
    char *text = gh_json_dump(j, 0);
    gh_json_unref(j);
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, stdout) == n && fflush(stdout) == 0;
    free(text);
    return ok ? 0 : 1;
}

int gh_child_yaml_json_main(const char *name)
{
    char *buf;
    size_t len;
    struct gh_err err = {{0}};
    if (gh_child_read_stdin(name, GH_CHILD_MAX_INPUT, &buf, &len) != 0)
        return 1;
    struct gh_json *j = gh_yaml_stream_json(name, buf, len, &err);
    free(buf);
    if (j == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return answer(j);
}

/* The child side of __yaml-json-many: stdin [[name, text], ...]; stdout [result, ...]. */
int gh_child_yaml_many_main(void)
{
    char *buf;
    size_t len;
    struct gh_err err = {{0}};
    if (gh_child_read_stdin("batch", GH_CHILD_MAX_INPUT * 2, &buf, &len) != 0)
        return 1;
    struct gh_json *in = gh_json_parse(buf, len, &err);
    free(buf);
    if (gh_json_type(in) != GH_JSON_ARRAY) {
        fprintf(stderr, "batch: %s\n", in ? "not an array" : err.msg);
        return 1;
    }
    struct gh_json *out = gh_json_array();
    for (size_t i = 0; i < gh_json_size(in); i++) {
        const struct gh_json *pair = gh_json_at(in, i);
        size_t tl = 0;
        const char *name = gh_json_str(gh_json_at(pair, 0), NULL),
                   *text = gh_json_str(gh_json_at(pair, 1), &tl);
        struct gh_err e = {{0}};
        struct gh_json *r = name && text ? gh_yaml_stream_json(name, text, tl, &e) : NULL;
        gh_json_append(out, r ? r : gh_json_string(e.msg, strlen(e.msg)));
    }
    gh_json_unref(in);
    return answer(out);
}

/* A batch of inputs [from, to) for one child. */
struct many {
    size_t from, to, bytes;
    char *payload;
    struct child c;
    int started;
    char *out;
    size_t outlen;
    int rc;
    struct gh_err err;
};

static void many_start(struct many *m, const char *const *names, const char *const *texts, const size_t *lens)
{
    struct gh_json *in = gh_json_array();
    for (size_t i = m->from; i < m->to; i++) {
        struct gh_json *pair = gh_json_array();
        gh_json_append(pair, gh_json_string(names[i], strlen(names[i])));
        gh_json_append(pair, gh_json_string(texts[i], lens[i])); /* checked UTF-8 by the caller */
        gh_json_append(in, pair);
    }
    m->payload = gh_json_dump(in, 0);
    gh_json_unref(in);
    m->rc = child_start("__yaml-json-many", "batch", m->payload, strlen(m->payload), &m->c, &m->err);
    m->started = m->rc == 0;
}

static void many_finish(struct many *m)
{
    if (m->started)
        m->rc = child_finish(&m->c, 4 * m->bytes + 65536, &m->out, &m->outlen, &m->err);
    free(m->payload);
    m->payload = NULL;
}

static void many_one(const char *const *names, const char *const *texts, const size_t *lens, size_t from,
                     size_t to, struct gh_json *results);

/* The results of a finished batch; on its failure, each input again in a child of its own. */
static void many_collect(struct many *m, const char *const *names, const char *const *texts,
                         const size_t *lens, struct gh_json *results)
{
    struct gh_json *res = m->rc == 0 ? gh_json_parse(m->out, m->outlen, &m->err) : NULL;
    free(m->out);
    m->out = NULL;
    if (gh_json_type(res) == GH_JSON_ARRAY && gh_json_size(res) == m->to - m->from) {
        for (size_t i = 0; i < gh_json_size(res); i++)
            gh_json_append(results, gh_json_ref(gh_json_at(res, i)));
    } else if (m->to - m->from == 1) {
        const char *why = strstr(m->err.msg, "batch: ") == m->err.msg ? m->err.msg + 7 : m->err.msg;
        struct gh_buf msg = {0};
        gh_buf_addf(&msg, "%s: %s", names[m->from], why);
        gh_json_append(results, gh_json_string(msg.p, msg.len));
        gh_buf_free(&msg);
    } else {
        for (size_t i = m->from; i < m->to; i++)
            many_one(names, texts, lens, i, i + 1, results);
    }
    gh_json_unref(res);
}

static void many_one(const char *const *names, const char *const *texts, const size_t *lens, size_t from,
                     size_t to, struct gh_json *results)
{
    struct many m = {from, to, 0, NULL, {0}, 0, NULL, 0, 0, {{0}}};
    for (size_t i = from; i < to; i++)
        m.bytes += lens[i];
    many_start(&m, names, texts, lens);
    many_finish(&m);
    many_collect(&m, names, texts, lens, results);
}

#define PARALLEL_MIN_BYTES (256 << 10) /* below this one child is quicker than two */

struct gh_json *gh_yaml_many_json_isolated(const char *const *names, const char *const *texts,
                                           const size_t *lens, size_t n)
{
    struct gh_json *results = gh_json_array();
    if (self_path == NULL) {
        for (size_t i = 0; i < n; i++) {
            struct gh_err e = {{0}};
            struct gh_json *r = gh_yaml_stream_json(names[i], texts[i], lens[i], &e);
            gh_json_append(results, r ? r : gh_json_string(e.msg, strlen(e.msg)));
        }
        return results;
    }
    /* batches of at most GH_CHILD_MAX_INPUT bytes of text, two children at a time (one per core
     * here): halves of a round when it is large enough to be worth it */
    for (size_t from = 0; from < n;) {
        size_t total = 0, to = from;
        while (to < n && (to == from || total + lens[to] <= 2 * GH_CHILD_MAX_INPUT))
            total += lens[to++];
        struct many m[2] = {{from, to, total, NULL, {0}, 0, NULL, 0, 0, {{0}}},
                            {to, to, 0, NULL, {0}, 0, NULL, 0, 0, {{0}}}};
        int two = to - from >= 2 && total >= PARALLEL_MIN_BYTES;
        if (two || total > GH_CHILD_MAX_INPUT) {
            /* split where the first half's bytes pass half the total */
            size_t half = 0, mid = from;
            while (mid < to - 1 && half + lens[mid] <= total / 2)
                half += lens[mid++];
            if (mid == from)
                mid = from + 1;
            m[0].to = mid;
            m[1].from = mid;
            m[0].bytes = 0;
            for (size_t i = from; i < mid; i++)
                m[0].bytes += lens[i];
            m[1].bytes = total - m[0].bytes;
        }
        for (int k = 0; k < 2; k++)
            if (m[k].to > m[k].from)
                many_start(&m[k], names, texts, lens);
        for (int k = 0; k < 2; k++)
            if (m[k].to > m[k].from) {
                many_finish(&m[k]);
                many_collect(&m[k], names, texts, lens, results);
            }
        from = to;
    }
    return results;
}
