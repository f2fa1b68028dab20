/*
 * Proxy internals: header validators and both serialisers, exact bytes. Includes proxy.c to reach its
 * static functions (h2o's t/00unit style).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/proxy.c"

static struct gh_str S(const char *s) {
    return (struct gh_str){s, strlen(s)};
}

static void
test_traceparent(void **state)
{
    (void)state;
    assert_true(valid_traceparent(S("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")));
    assert_true(valid_traceparent(S("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")));
    assert_false(valid_traceparent(S("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")));
    assert_false(valid_traceparent(S("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")));
    assert_false(valid_traceparent(S("00-00000000000000000000000000000000-00f067aa0ba902b7-01")));
    assert_false(valid_traceparent(S("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")));
    assert_false(valid_traceparent(S("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")));
    assert_false(valid_traceparent(S("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01")));
    assert_false(valid_traceparent(S("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")));
    assert_false(valid_traceparent(S("")));
}

static void test_request_id(void **state)
{
    (void)state;
    assert_true(valid_request_id(S("abc-123_x.y:z")));
    assert_false(valid_request_id(S("")));
    assert_false(valid_request_id(S("has space")));
    assert_false(valid_request_id(S("quote\"")));
    char long_id[80];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    assert_false(valid_request_id(S(long_id)));
    long_id[64] = '\0';
    assert_true(valid_request_id(S(long_id)));
}

static void test_numbers(void **state)
{
    (void)state;
    char b[32];
    assert_int_equal(hex_line(b, 0), 3);
    assert_memory_equal(b, "0\r\n", 3);
    assert_int_equal(hex_line(b, 0x1f2e), 6);
    assert_memory_equal(b, "1f2e\r\n", 6);
    char *e = put_u64(b, 18446744073709551615ull);
    assert_int_equal(e - b, 20);
    assert_memory_equal(b, "18446744073709551615", 20);
}

struct fixture {
    struct worker w;
    struct gh_target t;
    struct gh_api api;
    struct client c;
    char req[1024];
};

static struct fixture *fixture(const char *req, const char *base, int strip)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->t.authority = "10.0.0.7:9000";
    f->t.base_path = (char *)base;
    f->t.base_len = strlen(base);
    f->api.targets = &f->t;
    f->api.ntargets = 1;
    f->api.prefix = "/orders";
    f->api.prefix_len = 7;
    f->api.strip_prefix = strip;
    f->c.w = &f->w;
    f->c.api = &f->api;
    strcpy(f->c.peer, "192.0.2.1"); /* NOLINT: fixed test data */
    f->c.peer_len = 9;
    strcpy(f->c.rid, "rid-1"); /* NOLINT */
    f->c.rid_len = 5;
    snprintf(f->req, sizeof(f->req), "%s", req);
    int rc = gh_http_parse_request(f->req, strlen(f->req), 4096, &f->c.h);
    assert_true(rc > 0);
    for (size_t i = 0; i < f->c.h.nheaders; i++) {
        if (f->c.h.headers[i].id == GH_HDR_TRACEPARENT && valid_traceparent(f->c.h.headers[i].value))
            f->c.traceparent = &f->c.h.headers[i];
        if (f->c.h.headers[i].id == GH_HDR_CONTENT_LENGTH)
            f->c.had_cl = 1;
    }
    return f;
}

static void done(struct fixture *f)
{
    free(f->c.qbuf);
    free(f->c.obuf);
    free(f);
}

static void assert_qbuf(struct fixture *f, const char *want)
{
    if (f->c.qlen != strlen(want) || memcmp(f->c.qbuf, want, f->c.qlen) != 0)
        fail_msg("got:\n%.*s\nwant:\n%s", (int)f->c.qlen, f->c.qbuf, want);
}

static void test_serialize_request(void **state)
{
    (void)state;
    struct fixture *f =
        fixture("POST /orders/7?a=b HTTP/1.1\r\nHost: Api.Example\r\nX-Forwarded-For: 6.6.6.6\r\n"
                "Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: X-Hop\r\nX-Hop: 1\r\n"
                "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n",
                "/v2", 1);
    serialize_request(&f->c);
    assert_qbuf(f, "POST /v2/7?a=b HTTP/1.1\r\n"
                   "Host: 10.0.0.7:9000\r\n"
                   "Content-Type: text/plain\r\n"
                   "X-Forwarded-For: 192.0.2.1\r\n"
                   "X-Forwarded-Proto: http\r\n"
                   "X-Forwarded-Host: Api.Example\r\n"
                   "Forwarded: for=192.0.2.1;host=\"Api.Example\";proto=http\r\n"
                   "Via: 1.1 gatehouse\r\n"
                   "X-Request-Id: rid-1\r\n"
                   "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
                   "Content-Length: 3\r\n"
                   "\r\n");
    done(f);

    /* absolute-form: the authority in the target is the client's host; the prefix itself maps to "/" */
    f = fixture("GET http://h.example/orders HTTP/1.1\r\nHost: ignored\r\n\r\n", "", 1);
    serialize_request(&f->c);
    assert_qbuf(
        f,
        "GET / HTTP/1.1\r\nHost: 10.0.0.7:9000\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n"
        "X-Forwarded-Host: h.example\r\nForwarded: for=192.0.2.1;host=\"h.example\";proto=http\r\n"
        "Via: 1.1 gatehouse\r\n"
        "X-Request-Id: rid-1\r\n\r\n");
    done(f);

    /* a client's Via is an end-to-end list: it stays, and ours follows it */
    f = fixture("GET /orders HTTP/1.1\r\nHost: h\r\nVia: 1.0 fred\r\n\r\n", "", 0);
    serialize_request(&f->c);
    assert_qbuf(
        f,
        "GET /orders HTTP/1.1\r\nHost: 10.0.0.7:9000\r\nVia: 1.0 fred\r\nX-Forwarded-For: 192.0.2.1\r\n"
        "X-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\nForwarded: for=192.0.2.1;host=\"h\";proto=http\r\n"
        "Via: 1.1 gatehouse\r\nX-Request-Id: rid-1\r\n\r\n");
    done(f);

    /* IPv6 client, HTTP/1.0 without Host, chunked upload (HTTP/1.1), Content-Length: 0 kept */
    f = fixture("PUT /orders/x HTTP/1.0\r\nContent-Length: 0\r\n\r\n", "", 0);
    strcpy(f->c.peer, "2001:db8::1"); /* NOLINT */
    f->c.peer_len = 11;
    f->c.peer_v6 = 1;
    serialize_request(&f->c);
    assert_qbuf(
        f, "PUT /orders/x HTTP/1.1\r\nHost: 10.0.0.7:9000\r\nX-Forwarded-For: 2001:db8::1\r\n"
           "X-Forwarded-Proto: http\r\nForwarded: for=\"[2001:db8::1]\";proto=http\r\nVia: 1.1 gatehouse\r\n"
           "X-Request-Id: rid-1\r\n"
           "Content-Length: 0\r\n\r\n");
    done(f);
}

static void test_serialize_response(void **state)
{
    (void)state;
    struct fixture *f = fixture("GET /orders HTTP/1.1\r\nHost: a\r\n\r\n", "", 0);
    static char resp[] =
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nTransfer-Encoding: chunked\r\n"
        "Connection: keep-alive, X-Internal\r\nX-Internal: 1\r\nKeep-Alive: timeout=5\r\nETag: \"x\"\r\n\r\n";
    f->c.method = GH_METHOD_GET;
    f->c.minor = 1;
    f->c.keep_alive = 1;
    f->c.req_done = 1;
    assert_true(gh_http_parse_response(resp, strlen(resp), 4096, GH_METHOD_GET, &f->c.h) > 0);
    serialize_response_head(&f->c);
    const char *want =
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nETag: \"x\"\r\nX-Request-Id: rid-1\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    assert_int_equal(f->c.olen, strlen(want));
    assert_memory_equal(f->c.obuf, want, f->c.olen);
    assert_true(f->c.chunk_out);

    /* the same response to an HTTP/1.0 client: no chunking, the close ends the body */
    f->c.minor = 0;
    f->c.must_close = 0;
    serialize_response_head(&f->c);
    want = "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nETag: \"x\"\r\nX-Request-Id: rid-1\r\n"
           "Connection: close\r\n\r\n";
    assert_int_equal(f->c.olen, strlen(want));
    assert_memory_equal(f->c.obuf, want, f->c.olen);
    assert_false(f->c.chunk_out);
    assert_true(f->c.must_close);

    /* HEAD: the upstream's Content-Length is kept though no body follows */
    static char head[] = "HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 42\r\n\r\n";
    f->c.method = GH_METHOD_HEAD;
    f->c.minor = 1;
    f->c.must_close = 0;
    assert_true(gh_http_parse_response(head, strlen(head), 4096, GH_METHOD_HEAD, &f->c.h) > 0);
    serialize_response_head(&f->c);
    want = "HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 42\r\nX-Request-Id: rid-1\r\n\r\n";
    assert_int_equal(f->c.olen, strlen(want));
    assert_memory_equal(f->c.obuf, want, f->c.olen);
    done(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traceparent),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_serialize_request),
        cmocka_unit_test(test_serialize_response),
    };
    return cmocka_run_group_tests_name("gateway_proxy", tests, NULL, NULL);
}
