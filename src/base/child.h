/*
 * child: running a parse in a fresh gatehouse process. Debian 12's libfyaml (0.7.12) crashes or hangs
 * on some malformed YAML (fuzzing finds such inputs in seconds), and the server must survive any
 * config or catalog file. So YAML bytes that are not our own are parsed by a spawned child (not
 * forked: the workers' threads are left alone) under CPU and memory limits; only its result comes
 * back. The child side is `gatehouse __yaml-check NAME` (config) or `gatehouse __yaml-json NAME`
 * (a stream as JSON), both reading the bytes on stdin.
 */
#ifndef GH_CHILD_H
#define GH_CHILD_H

#include "base.h"

#define GH_CHILD_MS 10000 /* wall-clock limit for one child */
#define GH_CHILD_MAX_INPUT ((size_t)16 << 20)

/* Where this program is (argv[0]); until it is set, gh_yaml_stream_json_isolated parses in process
 * (unit tests, fuzzing). */
void gh_child_set_self(const char *argv0);

/*
 * Runs `gatehouse <sub> <name>` with `in` on stdin. Collects stdout (up to max_out bytes; *out is a
 * new NUL-terminated buffer the caller frees, may be NULL when out is NULL). Returns 0 when it exits
 * 0; otherwise GH_EINVAL with its stderr, or with why it was killed (crash, time), in err.
 */
int gh_child_run(const char *sub, const char *name, const char *in, size_t inlen, size_t max_out, char **out,
                 size_t *outlen, struct gh_err *err);

/* gh_yaml_stream_json in a child (or in process before gh_child_set_self). */
struct gh_json *gh_yaml_stream_json_isolated(const char *name, const char *text, size_t len,
                                             struct gh_err *err);

/*
 * Parses several YAML streams in as few children as possible: result i is stream i's
 * [{"line", "doc"}] array, or a string saying why not ("name:line: why"). Should a child die on a
 * batch, each of its inputs is tried again alone, so a file that crashes the parser costs only itself.
 * Texts must be valid UTF-8 (the YAML check refuses anything else anyway). New reference.
 */
struct gh_json *gh_yaml_many_json_isolated(const char *const *names, const char *const *texts,
                                           const size_t *lens, size_t n);

/* The child side of __yaml-json-many. */
int gh_child_yaml_many_main(void);

/* The child side of __yaml-json: reads stdin, writes the JSON to stdout, or why not to stderr. */
int gh_child_yaml_json_main(const char *name);

/* Limits a child applies to itself before parsing. */
void gh_child_limit(void);

/* The start of every child side: the limits, then all of stdin (at most max bytes). On failure says
 * why on stderr and returns 1 (the child's exit status). */
int gh_child_read_stdin(const char *name, size_t max, char **buf, size_t *len);

#endif
