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
    struct rlimit mem = {(rlim_t)1 << 30, (rlim_t)1 << 30};
    setrlimit(RLIMIT_CPU, &cpu);
    setrlimit(RLIMIT_AS, &mem);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

int gh_child_run(const char *sub, const char *name, const char *in, size_t inlen, size_t max_out, char **out,
                 size_t *outlen, struct gh_err *err)
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
        rc = gh_err_set(err, GH_EINVAL, "%s: the YAML parser did not finish within %d s; the file is refused", name,
                        GH_CHILD_MS / 1000);
    else if (too_big)
        rc = gh_err_set(err, GH_EINVAL, "%s: the parsed document is larger than %zu bytes; the file is refused", name,
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

struct gh_json *gh_yaml_stream_json_isolated(const char *name, const char *text, size_t len, struct gh_err *err)
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

int gh_child_yaml_json_main(const char *name)
{
    gh_child_limit();
    char *buf;
    size_t len;
    struct gh_err err = {{0}};
    if (gh_read_fd(STDIN_FILENO, name, GH_CHILD_MAX_INPUT, &buf, &len, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct gh_json *j = gh_yaml_stream_json(name, buf, len, &err);
    free(buf);
    if (j == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    char *text = gh_json_dump(j, 0);
    gh_json_unref(j);
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, stdout) == n && fflush(stdout) == 0;
    free(text);
    return ok ? 0 : 1;
}
