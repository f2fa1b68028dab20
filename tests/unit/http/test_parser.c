/*
 * Parser tests: every malformed request from RFC 9110/9112 and the request-smuggling literature that
 * we know of gets its own test asserting the exact status and reason; valid requests assert every
 * parsed field; every prefix of a valid request must ask for more bytes, never fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

#define MAXH 8192

struct bad_case {
    const char *name;
    const char *req;
    size_t len; /* 0: strlen */
    int status;
    const char *why; /* substring of head.error */
};

#define H "Host: a\r\n"
static const struct bad_case bad[] = {
    /* line endings (RFC 9112 2.2) */
    {"bare LF ends every line", "GET / HTTP/1.1\nHost: a\n\n", 0, 400, "bare LF"},
    {"bare LF ends one header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 0, 400, "bare LF"},
    {"bare LF ends the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 0, 400, "bare LF"},
    {"bare LF ends request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 0, 400, "bare LF"},
    {"bare CR in header value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 0, 400, "bare CR"},
    {"bare CR ends header", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\r\n\r\n", 0, 400, "bare CR"},
    {"bare CR in request line", "GET /\r HTTP/1.1\r\n" H "\r\n", 0, 400, "request line"},
    {"empty lines before request", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n", 0, 400, "empty line"},
    {"LF before request", "\nGET / HTTP/1.1\r\n" H "\r\n", 0, 400, "empty line"},
    /* field syntax (RFC 9112 5) */
    {"obs-fold with space", "GET / HTTP/1.1\r\n" H "X: a\r\n b\r\n\r\n", 0, 400, "folding"},
    {"obs-fold with tab", "GET / HTTP/1.1\r\n" H "X: a\r\n\tb\r\n\r\n", 0, 400, "folding"},
    {"space before first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 0, 400, "folding"},
    {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 0, 400, "whitespace before colon"},
    {"tab before colon", "GET / HTTP/1.1\r\n" H "Content-Length\t: 0\r\n\r\n", 0, 400,
     "whitespace before colon"},
    {"space before colon on TE", "GET / HTTP/1.1\r\n" H "Transfer-Encoding : chunked\r\n\r\n", 0, 400,
     "whitespace before colon"},
    {"empty header name", "GET / HTTP/1.1\r\n" H ": x\r\n\r\n", 0, 400, "empty header name"},
    {"no colon", "GET / HTTP/1.1\r\n" H "Xyz\r\n\r\n", 0, 400, "invalid header name"},
    {"paren in header name", "GET / HTTP/1.1\r\n" H "X(y): z\r\n\r\n", 0, 400, "invalid header name"},
    {"slash in header name", "GET / HTTP/1.1\r\n" H "X/y: z\r\n\r\n", 0, 400, "invalid header name"},
    {"NUL in header name", "GET / HTTP/1.1\r\n" H "X\0y: z\r\n\r\n", 35, 400, "invalid header name"},
    {"DEL in header name", "GET / HTTP/1.1\r\n" H "X\x7fy: z\r\n\r\n", 0, 400, "invalid header name"},
    {"non-ASCII header name", "GET / HTTP/1.1\r\n" H "X\xc3\xa9: z\r\n\r\n", 0, 400, "invalid header name"},
    {"NUL in header value", "GET / HTTP/1.1\r\n" H "X: a\0b\r\n\r\n", 35, 400, "control character"},
    {"DEL in header value", "GET / HTTP/1.1\r\n" H "X: a\x7f\r\n\r\n", 0, 400, "control character"},
    {"SOH in header value", "GET / HTTP/1.1\r\n" H "X: a\x01\r\n\r\n", 0, 400, "control character"},
    {"ESC in header value", "GET / HTTP/1.1\r\n" H "X: \x1b[0m\r\n\r\n", 0, 400, "control character"},
    {"VT before chunked",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: \x0b"
     "chunked\r\n\r\n",
     0, 400, "control character"},
    {"FF in Content-Length",
     "POST / HTTP/1.1\r\n" H "Content-Length: \x0c"
     "5\r\n\r\n",
     0, 400, "control character"},
    {"too many headers", NULL, 0, 431, "too many headers"},
    /* Host (RFC 9112 3.2) */
    {"missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 0, 400, "missing Host"},
    {"duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 0, 400, "duplicate Host"},
    {"duplicate Host differing", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 0, 400, "duplicate Host"},
    {"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0, 400, "invalid Host"},
    {"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", 0, 400, "invalid Host"},
    {"Host with port too big", "GET / HTTP/1.1\r\nHost: h:99999\r\n\r\n", 0, 400, "invalid Host"},
    {"Host with letters in port", "GET / HTTP/1.1\r\nHost: h:8o\r\n\r\n", 0, 400, "invalid Host"},
    {"Host with empty port", "GET / HTTP/1.1\r\nHost: h:\r\n\r\n", 0, 400, "invalid Host"},
    {"empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", 0, 400, "invalid Host"},
    {"Host with path", "GET / HTTP/1.1\r\nHost: h/x\r\n\r\n", 0, 400, "invalid Host"},
    {"Host with comma", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 0, 400, "invalid Host"},
    {"Host unclosed IPv6", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 0, 400, "invalid Host"},
    /* Content-Length (RFC 9110 8.6, RFC 9112 6.3) */
    {"CL and TE", "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400,
     "both Content-Length and Transfer-Encoding"},
    {"TE and CL", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 0, 400,
     "both Content-Length and Transfer-Encoding"},
    {"CL zero and TE", "POST / HTTP/1.1\r\n" H "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
     400, "both"},
    {"duplicate CL same value", "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 0,
     400, "duplicate Content-Length"},
    {"duplicate CL different values",
     "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 0, 400,
     "duplicate Content-Length"},
    {"CL as list", "POST / HTTP/1.1\r\n" H "Content-Length: 5, 5\r\n\r\n", 0, 400, "invalid Content-Length"},
    {"CL negative", "POST / HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n", 0, 400, "invalid Content-Length"},
    {"CL plus sign", "POST / HTTP/1.1\r\n" H "Content-Length: +5\r\n\r\n", 0, 400, "invalid Content-Length"},
    {"CL hex", "POST / HTTP/1.1\r\n" H "Content-Length: 0x5\r\n\r\n", 0, 400, "invalid Content-Length"},
    {"CL with inner space", "POST / HTTP/1.1\r\n" H "Content-Length: 1 2\r\n\r\n", 0, 400,
     "invalid Content-Length"},
    {"CL overflow", "POST / HTTP/1.1\r\n" H "Content-Length: 18446744073709551617\r\n\r\n", 0, 400,
     "invalid Content-Length"},
    {"CL beyond 2^62", "POST / HTTP/1.1\r\n" H "Content-Length: 4611686018427387905\r\n\r\n", 0, 400,
     "invalid Content-Length"},
    {"CL empty", "POST / HTTP/1.1\r\n" H "Content-Length: \r\n\r\n", 0, 400, "invalid Content-Length"},
    {"CL decimal point", "POST / HTTP/1.1\r\n" H "Content-Length: 5.0\r\n\r\n", 0, 400,
     "invalid Content-Length"},
    {"CL unicode digit", "POST / HTTP/1.1\r\n" H "Content-Length: \xd9\xa5\r\n\r\n", 0, 400,
     "invalid Content-Length"},
    /* Transfer-Encoding (RFC 9112 6.1) */
    {"TE chunked twice", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, chunked\r\n\r\n", 0, 400,
     "invalid Transfer-Encoding"},
    {"TE gzip only", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\n\r\n", 0, 400, "not the final"},
    {"TE chunked then gzip", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n", 0, 400,
     "not the final"},
    {"TE gzip then chunked", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, 501,
     "unsupported transfer coding"},
    {"TE identity", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: identity\r\n\r\n", 0, 400, "not the final"},
    {"TE duplicate lines",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400,
     "duplicate Transfer-Encoding"},
    {"TE split over lines",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400,
     "duplicate Transfer-Encoding"},
    {"TE xchunked", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: xchunked\r\n\r\n", 0, 400, "not the final"},
    {"TE chunked with parameter", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked;q=1\r\n\r\n", 0, 400,
     "not the final"},
    {"TE empty", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: \r\n\r\n", 0, 400, "invalid Transfer-Encoding"},
    {"TE leading empty element", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: , chunked\r\n\r\n", 0, 400,
     "invalid Transfer-Encoding"},
    {"TE trailing comma", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked,\r\n\r\n", 0, 400,
     "invalid Transfer-Encoding"},
    {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400, "HTTP/1.0"},
    {"TE quoted chunked", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: \"chunked\"\r\n\r\n", 0, 400,
     "not the final"},
    /* request line (RFC 9112 3) */
    {"two spaces after method", "GET  / HTTP/1.1\r\n" H "\r\n", 0, 400, "malformed request line"},
    {"two spaces after target", "GET /  HTTP/1.1\r\n" H "\r\n", 0, 400, "malformed HTTP version"},
    {"tab after method", "GET\t/ HTTP/1.1\r\n" H "\r\n", 0, 400, "malformed request line"},
    {"space after version", "GET / HTTP/1.1 \r\n" H "\r\n", 0, 400, "malformed HTTP version"},
    {"no version", "GET /\r\n" H "\r\n", 0, 400, "malformed request line"},
    {"lower-case version", "GET / http/1.1\r\n" H "\r\n", 0, 400, "malformed HTTP version"},
    {"version without dot", "GET / HTTP/11\r\n" H "\r\n", 0, 400, "malformed HTTP version"},
    {"version with three parts", "GET / HTTP/1.1.1\r\n" H "\r\n", 0, 400, "malformed HTTP version"},
    {"HTTP/2.0 over HTTP/1 framing", "GET / HTTP/2.0\r\n" H "\r\n", 0, 505, "unsupported HTTP version"},
    {"HTTP/0.9", "GET / HTTP/0.9\r\n" H "\r\n", 0, 505, "unsupported HTTP version"},
    {"HTTP/1.1 with two-digit minor", "GET / HTTP/1.10\r\n" H "\r\n", 0, 400, "malformed HTTP version"},
    {"method with paren", "GE(T / HTTP/1.1\r\n" H "\r\n", 0, 400, "malformed request line"},
    {"request starting with space", " GET / HTTP/1.1\r\n" H "\r\n", 0, 400, "invalid start line"},
    {"TLS handshake on plain port", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, 400,
     "invalid start line"},
    {"target with fragment", "GET /a#b HTTP/1.1\r\n" H "\r\n", 0, 400, "invalid character"},
    {"target with angle bracket", "GET /<script> HTTP/1.1\r\n" H "\r\n", 0, 400, "invalid character"},
    {"target with backslash", "GET /a\\b HTTP/1.1\r\n" H "\r\n", 0, 400, "invalid character"},
    {"target with pipe", "GET /a|b HTTP/1.1\r\n" H "\r\n", 0, 400, "invalid character"},
    {"target with raw UTF-8", "GET /caf\xc3\xa9 HTTP/1.1\r\n" H "\r\n", 0, 400, "malformed request line"},
    {"target with quote in query", "GET /a?x=\"1\" HTTP/1.1\r\n" H "\r\n", 0, 400, "invalid character"},
    {"bad percent-encoding", "GET /a%zz HTTP/1.1\r\n" H "\r\n", 0, 400, "percent-encoding"},
    {"truncated percent-encoding", "GET /a%4 HTTP/1.1\r\n" H "\r\n", 0, 400, "percent-encoding"},
    {"bad percent-encoding in query", "GET /a?b=%g1 HTTP/1.1\r\n" H "\r\n", 0, 400, "percent-encoding"},
    {"dot-dot segment", "GET /orders/../admin HTTP/1.1\r\n" H "\r\n", 0, 400, "dot segment"},
    {"trailing dot-dot", "GET /orders/.. HTTP/1.1\r\n" H "\r\n", 0, 400, "dot segment"},
    {"dot segment", "GET /./orders HTTP/1.1\r\n" H "\r\n", 0, 400, "dot segment"},
    {"encoded dot-dot", "GET /orders/%2e%2e/admin HTTP/1.1\r\n" H "\r\n", 0, 400, "dot segment"},
    {"mixed encoded dot-dot", "GET /orders/.%2E/admin HTTP/1.1\r\n" H "\r\n", 0, 400, "dot segment"},
    {"dot-dot before query", "GET /orders/..?x=1 HTTP/1.1\r\n" H "\r\n", 0, 400, "dot segment"},
    {"relative target", "GET orders HTTP/1.1\r\n" H "\r\n", 0, 400, "invalid request target"},
    {"asterisk outside OPTIONS", "GET * HTTP/1.1\r\n" H "\r\n", 0, 400, "asterisk-form"},
    {"authority-form outside CONNECT", "GET example.com:80 HTTP/1.1\r\n" H "\r\n", 0, 400,
     "invalid request target"},
    {"absolute-form with userinfo", "GET http://u:p@h/x HTTP/1.1\r\n" H "\r\n", 0, 400, "userinfo"},
    {"absolute-form ftp", "GET ftp://h/x HTTP/1.1\r\n" H "\r\n", 0, 400, "invalid request target"},
    {"absolute-form empty authority", "GET http:///x HTTP/1.1\r\n" H "\r\n", 0, 400, "invalid authority"},
    {"absolute-form with dot-dot", "GET http://h/a/../b HTTP/1.1\r\n" H "\r\n", 0, 400, "dot segment"},
    {"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 0, 501, "CONNECT"},
    /* other fields with framing or hop meaning */
    {"unknown expectation", "POST / HTTP/1.1\r\n" H "Expect: 200-ok\r\nContent-Length: 1\r\n\r\n", 0, 417,
     "expectation"},
    {"duplicate Expect", "POST / HTTP/1.1\r\n" H "Expect: 100-continue\r\nExpect: 100-continue\r\n\r\n", 0,
     400, "duplicate Expect"},
    {"Connection with space in token", "GET / HTTP/1.1\r\n" H "Connection: close x\r\n\r\n", 0, 400,
     "invalid Connection"},
    {"empty Connection", "GET / HTTP/1.1\r\n" H "Connection: \r\n\r\n", 0, 400, "invalid Connection"},
    {"duplicate Connection", "GET / HTTP/1.1\r\n" H "Connection: close\r\nConnection: keep-alive\r\n\r\n", 0,
     400, "duplicate Connection"},
    /* sizes */
    {"request line too long", NULL, 0, 414, "request line too long"},
    {"head too large", NULL, 0, 431, "head too large"},
};
#undef H

static char *build_special(const struct bad_case *c, size_t *len)
{
    size_t cap = 64 * 1024, n = 0;
    char *b = malloc(cap);
    if (strcmp(c->name, "too many headers") == 0) {
        n += (size_t)snprintf(b + n, cap - n, "GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < GH_HTTP_MAX_HEADERS; i++)
            n += (size_t)snprintf(b + n, cap - n, "X-%d: v\r\n", i);
        n += (size_t)snprintf(b + n, cap - n, "\r\n");
    } else if (strcmp(c->name, "request line too long") == 0) {
        n += (size_t)snprintf(b + n, cap - n, "GET /");
        memset(b + n, 'a', MAXH + 10);
        n += MAXH + 10;
    } else {
        n += (size_t)snprintf(b + n, cap - n, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
        memset(b + n, 'a', MAXH);
        n += MAXH;
    }
    *len = n;
    return b;
}

static void test_bad(void **state)
{
    const struct bad_case *c = *state;
    struct gh_http_head h;
    size_t len = c->len ? c->len : (c->req ? strlen(c->req) : 0);
    char *req = c->req ? (char *)c->req : build_special(c, &len);
    int rc = gh_http_parse_request(req, len, MAXH, &h);
    if (rc != -c->status || h.error == NULL || strstr(h.error, c->why) == NULL)
        print_error("case '%s': rc=%d error=%s\n", c->name, rc, h.error ? h.error : "(none)");
    assert_int_equal(rc, -c->status);
    assert_non_null(h.error);
    assert_non_null(strstr(h.error, c->why));
    if (!c->req)
        free(req);
}

static int parse(const char *req, struct gh_http_head *h)
{
    return gh_http_parse_request(req, strlen(req), MAXH, h);
}

static void assert_str(struct gh_str s, const char *want)
{
    if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
        fail_msg("got '%.*s', want '%s'", (int)s.len, s.p, want);
}

static void test_simple_get(void **state)
{
    (void)state;
    struct gh_http_head h;
    const char *r =
        "GET /orders/1?x=1&y=%20 HTTP/1.1\r\nHost: api.example.com:8080\r\nAccept: */*\r\n\r\nNEXT";
    int rc = parse(r, &h);
    assert_int_equal(rc, (int)strlen(r) - 4);
    assert_int_equal(h.method_id, GH_METHOD_GET);
    assert_str(h.path, "/orders/1");
    assert_str(h.query, "x=1&y=%20");
    assert_true(h.has_query);
    assert_str(h.host, "api.example.com:8080");
    assert_int_equal(h.minor, 1);
    assert_int_equal(h.body, GH_BODY_NONE);
    assert_true(h.keep_alive);
    assert_int_equal(h.nheaders, 2);
    assert_str(h.headers[1].name, "Accept");
    assert_str(h.headers[1].value, "*/*");
    assert_int_equal(h.headers[0].hop, 1); /* Host is re-added, not copied */
    assert_int_equal(h.headers[1].hop, 0);
}

static void test_post_content_length(void **state)
{
    (void)state;
    struct gh_http_head h;
    assert_true(parse("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 005 \r\n\r\n", &h) > 0);
    assert_int_equal(h.body, GH_BODY_LENGTH);
    assert_int_equal(h.content_length, 5);
    assert_true(parse("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &h) > 0);
    assert_int_equal(h.body, GH_BODY_NONE);
}

static void test_chunked_request(void **state)
{
    (void)state;
    struct gh_http_head h;
    assert_true(parse("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", &h) > 0);
    assert_int_equal(h.body, GH_BODY_CHUNKED);
    assert_int_equal(h.headers[1].hop, 1);
}

static void test_http10(void **state)
{
    (void)state;
    struct gh_http_head h;
    assert_true(parse("GET / HTTP/1.0\r\n\r\n", &h) > 0);
    assert_int_equal(h.minor, 0);
    assert_false(h.keep_alive);
    assert_int_equal(h.host.len, 0);
    assert_true(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h) > 0);
    assert_true(h.keep_alive);
    /* Expect: 100-continue is not for HTTP/1.0 clients (RFC 9110 10.1.1) */
    assert_true(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &h) > 0);
    assert_false(h.expect_continue);
}

static void test_connection_header(void **state)
{
    (void)state;
    struct gh_http_head h;
    assert_true(
        parse("GET / HTTP/1.1\r\nX-Secret: 1\r\nHost: a\r\nConnection: close, X-Secret\r\nX-Other: 2\r\n\r\n",
              &h) > 0);
    assert_false(h.keep_alive);
    assert_int_equal(h.headers[0].hop, 1); /* named in Connection */
    assert_int_equal(h.headers[3].hop, 0);
}

static void test_hop_by_hop(void **state)
{
    (void)state;
    struct gh_http_head h;
    assert_true(parse("GET / HTTP/1.1\r\nHost: a\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\n"
                      "Trailer: x\r\nUpgrade: websocket\r\nProxy-Authorization: secret\r\n\r\n",
                      &h) > 0);
    for (size_t i = 0; i < h.nheaders; i++)
        assert_int_equal(h.headers[i].hop, 1);
}

static void test_absolute_form(void **state)
{
    (void)state;
    struct gh_http_head h;
    assert_true(parse("GET http://Example.com:81/a/b?c HTTP/1.1\r\nHost: other\r\n\r\n", &h) > 0);
    assert_true(h.absolute_form);
    assert_str(h.host, "Example.com:81");
    assert_str(h.path, "/a/b");
    assert_str(h.query, "c");
    assert_true(parse("GET http://h HTTP/1.1\r\nHost: h\r\n\r\n", &h) > 0);
    assert_str(h.path, "/");
    assert_true(parse("GET http://h?q=1 HTTP/1.1\r\nHost: h\r\n\r\n", &h) > 0);
    assert_str(h.path, "/");
    assert_str(h.query, "q=1");
}

static void test_misc_valid(void **state)
{
    (void)state;
    struct gh_http_head h;
    assert_true(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &h) > 0);
    assert_str(h.path, "*");
    assert_true(parse("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &h) > 0); /* one stray CRLF is allowed */
    assert_true(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", &h) >
                0);
    assert_true(h.expect_continue);
    assert_true(parse("PURGE /x HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", &h) > 0);
    assert_int_equal(h.method_id, GH_METHOD_OTHER);
    assert_str(h.method, "PURGE");
    assert_true(
        parse("GET /a/.b/..c/%2ex/.well-known HTTP/1.1\r\nHost: a\r\nX: \xff obs-text ok\r\n\r\n", &h) > 0);
    assert_true(parse("GET /a?/../b HTTP/1.1\r\nHost: a\r\n\r\n", &h) > 0); /* dots in a query are data */
    assert_true(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &h) > 0);        /* higher minor: as 1.1 */
    assert_int_equal(h.minor, 1);
    assert_true(parse("GET / HTTP/1.1\r\nHost: a\r\nEmpty:\r\nX:  padded \t\r\n\r\n", &h) > 0);
    assert_int_equal(h.headers[1].value.len, 0);
    assert_str(h.headers[2].value, "padded");
}

/* Every proper prefix of a valid request needs more bytes; none is an error. */
static void test_prefixes_incomplete(void **state)
{
    (void)state;
    const char *r = "POST /a?b=c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n";
    struct gh_http_head h;
    size_t n = strlen(r);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(gh_http_parse_request(r, i, MAXH, &h), 0);
    assert_int_equal(gh_http_parse_request(r, n, MAXH, &h), (int)n);
}

/* ---- responses ---- */

static int presp(const char *r, int method, struct gh_http_head *h)
{
    return gh_http_parse_response(r, strlen(r), MAXH, method, h);
}

static void test_responses(void **state)
{
    (void)state;
    struct gh_http_head h;
    assert_true(presp("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", GH_METHOD_GET, &h) > 0);
    assert_int_equal(h.status, 200);
    assert_str(h.reason, "OK");
    assert_int_equal(h.body, GH_BODY_LENGTH);
    assert_true(h.keep_alive);
    assert_true(presp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", GH_METHOD_GET, &h) > 0);
    assert_int_equal(h.body, GH_BODY_CHUNKED);
    assert_true(presp("HTTP/1.1 200 OK\r\n\r\n", GH_METHOD_GET, &h) > 0);
    assert_int_equal(h.body, GH_BODY_EOF);
    assert_false(h.keep_alive);
    assert_true(presp("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", GH_METHOD_GET, &h) > 0);
    assert_int_equal(h.body, GH_BODY_NONE);
    assert_true(h.keep_alive);
    assert_true(presp("HTTP/1.1 304 Not Modified\r\n\r\n", GH_METHOD_GET, &h) > 0);
    assert_int_equal(h.body, GH_BODY_NONE);
    assert_true(h.keep_alive);
    assert_true(presp("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", GH_METHOD_HEAD, &h) > 0);
    assert_int_equal(h.body, GH_BODY_NONE);
    assert_true(presp("HTTP/1.1 100 Continue\r\n\r\n", GH_METHOD_POST, &h) > 0);
    assert_int_equal(h.status, 100);
    assert_true(presp("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", GH_METHOD_GET, &h) > 0);
    assert_int_equal(h.reason.len, 0);
    assert_true(presp("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", GH_METHOD_GET, &h) > 0);
    assert_false(h.keep_alive);
    assert_true(
        presp("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", GH_METHOD_GET, &h) > 0);
    assert_false(h.keep_alive);
    assert_true(presp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", GH_METHOD_GET, &h) > 0);
    assert_int_equal(h.body, GH_BODY_EOF);
}

static void test_bad_responses(void **state)
{
    (void)state;
    struct gh_http_head h;
    static const char *bad_resp[] = {
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 099 Hm\r\n\r\n",
        "HTTP/1.1 600 Hm\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",
        "HTTP/1.1  200 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 200 O\x01K\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX : y\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: \x7f\r\n\r\n",
        "\x16\x03\x01",
        "SSH-2.0-OpenSSH_9.2\r\n", /* refused before a full line arrives */
        "SSH-",
        "HTTP/2",
    };
    for (size_t i = 0; i < sizeof(bad_resp) / sizeof(bad_resp[0]); i++) {
        int rc = gh_http_parse_response(bad_resp[i], strlen(bad_resp[i]), MAXH, GH_METHOD_GET, &h);
        if (rc != -502)
            fail_msg("response %zu: rc=%d", i, rc);
    }
    char big[MAXH + 64];
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(big + 20, 'a', sizeof(big) - 20);
    assert_int_equal(gh_http_parse_response(big, sizeof(big), MAXH, GH_METHOD_GET, &h), -502);
}

/* ---- chunked decoder ---- */

static int decode_all(const char *in, size_t len, size_t step, char *out, size_t *outlen, size_t *used,
                      const char **why)
{
    struct gh_chunked c = {0};
    size_t pos = 0, o = 0;
    int rc = 0;
    while (pos < len) {
        size_t avail = len - pos < step ? len - pos : step;
        size_t consumed;
        const char *d;
        size_t dl;
        rc = gh_chunked_decode(&c, in + pos, avail, &consumed, &d, &dl, why);
        if (rc < 0)
            return rc;
        if (dl)
            memcpy(out + o, d, dl);
        o += dl;
        pos += consumed;
        if (rc == 1)
            break;
    }
    *outlen = o;
    *used = pos;
    return rc;
}

static void test_chunked_valid(void **state)
{
    (void)state;
    const char *body =
        "5\r\nhello\r\n6;ext=1;q=\"x y\"\r\n world\r\nA \t;e\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT";
    size_t len = strlen(body);
    for (size_t step = 1; step <= len; step++) {
        char out[64];
        size_t olen, used;
        const char *why = NULL;
        assert_int_equal(decode_all(body, len, step, out, &olen, &used, &why), 1);
        assert_int_equal(olen, 21);
        assert_memory_equal(out, "hello world0123456789", 21);
        assert_int_equal(used, len - 4);
    }
    char out[8];
    size_t olen, used;
    const char *why;
    assert_int_equal(decode_all("0\r\n\r\n", 5, 5, out, &olen, &used, &why), 1);
    assert_int_equal(olen, 0);
    assert_int_equal(decode_all("00000000000000000\r\n", 19, 19, out, &olen, &used, &why), GH_EINVAL);
}

static void test_chunked_bad(void **state)
{
    (void)state;
    static const struct {
        const char *in, *why;
    } cases[] = {
        {"\r\n", "missing chunk size"},
        {"-1\r\n", "missing chunk size"},
        {"0x5\r\nhello\r\n", "invalid chunk size"},
        {"g\r\n", "missing chunk size"},
        {"1 2\r\n", "invalid chunk size line"},
        {"5\nhello\r\n", "invalid chunk size"},
        {"5\r\rhello", "bare CR"},
        {"5\r\nhelloXX\r\n", "longer than its size"},
        {"5\r\nhello\n", "longer than its size"},
        {"5\r\nhello\r\r", "bare CR after chunk data"},
        {"5;a\x01\r\nhello\r\n", "control character in chunk extension"},
        {"5;a\nhello\r\n", "control character in chunk extension"},
        {"10000000000000000\r\n", "too large"},
        {"FFFFFFFFFFFFFFFF\r\n", "too large"},
        {"0\r\nX T: 1\r\n\r\n", "invalid trailer field name"},
        {"0\r\n: 1\r\n\r\n", "invalid trailer field"},
        {"0\r\nX: a\x01\r\n\r\n", "control character in trailer"},
        {"0\r\nX: 1\n\r\n", "control character in trailer"},
        {"0\r\n\rX", "bare CR at end"},
        {"0\r\n\n", "invalid trailer field"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        size_t olen, used;
        const char *why = NULL;
        int rc = decode_all(cases[i].in, strlen(cases[i].in), 64, out, &olen, &used, &why);
        if (rc != GH_EINVAL || why == NULL || strstr(why, cases[i].why) == NULL)
            fail_msg("chunked case %zu (%s): rc=%d why=%s", i, cases[i].in, rc, why ? why : "(none)");
    }
}

/* Every byte at every place of a long value: the word-at-a-time check agrees with the byte rule (HTAB,
 * 0x20-0x7e and obs-text allowed; other controls and DEL refused). */
static void test_value_bytes(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        if (b == '\r' || b == '\n')
            continue; /* these end the line */
        int want_ok = b >= 0x20 ? b != 0x7f : b == '\t';
        for (int at = 1; at < 23; at++) { /* not first or last: surrounding whitespace is trimmed */
            char req[128];
            char value[25];
            memset(value, 'a', 24);
            value[24] = '\0';
            value[at] = (char)b;
            int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\nX-Long: ");
            memcpy(req + n, value, 24);
            n += 24;
            n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n\r\n");
            struct gh_http_head h;
            int rc = gh_http_parse_request(req, (size_t)n, MAXH, &h);
            if ((rc > 0) != want_ok)
                fail_msg("byte 0x%02x at %d: %s", b, at, rc > 0 ? "accepted" : h.error);
        }
    }
}

int main(void)
{
    size_t nbad = sizeof(bad) / sizeof(bad[0]);
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_simple_get),          cmocka_unit_test(test_post_content_length),
        cmocka_unit_test(test_chunked_request),     cmocka_unit_test(test_http10),
        cmocka_unit_test(test_connection_header),   cmocka_unit_test(test_hop_by_hop),
        cmocka_unit_test(test_absolute_form),       cmocka_unit_test(test_misc_valid),
        cmocka_unit_test(test_prefixes_incomplete), cmocka_unit_test(test_responses),
        cmocka_unit_test(test_bad_responses),       cmocka_unit_test(test_chunked_valid),
        cmocka_unit_test(test_chunked_bad),         cmocka_unit_test(test_value_bytes),
    };
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    struct CMUnitTest *tests = calloc(nbad + nfixed, sizeof(*tests));
    for (size_t i = 0; i < nbad; i++) {
        tests[i].name = bad[i].name;
        tests[i].test_func = test_bad;
        tests[i].initial_state = (void *)&bad[i];
    }
    memcpy(tests + nbad, fixed, sizeof(fixed));
    int rc = _cmocka_run_group_tests("http_parser", tests, nbad + nfixed, NULL, NULL);
    free(tests);
    return rc;
}
