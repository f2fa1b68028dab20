/*
 * http: a strict HTTP/1.1 message parser (RFC 9110/9112) shared by the gateway, the upstream client
 * and the portal server, plus the router. Framing is decided here, once; anything ambiguous is an
 * error, never a guess.
 *
 * The parser works on a complete head held in one buffer: the caller passes everything received so
 * far, and the parser either finds the end of the head and validates all of it, or says it needs more
 * (or that no valid head can start this way). Slices in the result borrow from the caller's buffer.
 */
#ifndef GH_HTTP_H
#define GH_HTTP_H

#include "../base/base.h"

/* Whether c may appear in a token (a header name, a method): RFC 9110 5.6.2. */
int gh_http_tchar(unsigned char c);

#define GH_HTTP_MAX_HEADERS 100

enum gh_http_method {
    GH_METHOD_OTHER = 0,
    GH_METHOD_GET,
    GH_METHOD_HEAD,
    GH_METHOD_POST,
    GH_METHOD_PUT,
    GH_METHOD_DELETE,
    GH_METHOD_OPTIONS,
    GH_METHOD_PATCH,
    GH_METHOD_TRACE,
    GH_METHOD_CONNECT,
    GH_METHOD_COUNT_,
};

/* Headers the gateway treats specially; everything else is GH_HDR_OTHER. */
enum gh_http_hdr_id {
    GH_HDR_OTHER = 0,
    GH_HDR_HOST,
    GH_HDR_CONTENT_LENGTH,
    GH_HDR_TRANSFER_ENCODING,
    GH_HDR_CONNECTION,
    GH_HDR_KEEP_ALIVE,
    GH_HDR_PROXY_CONNECTION,
    GH_HDR_TE,
    GH_HDR_TRAILER,
    GH_HDR_UPGRADE,
    GH_HDR_EXPECT,
    GH_HDR_PROXY_AUTHORIZATION,
    GH_HDR_X_FORWARDED_FOR,
    GH_HDR_X_FORWARDED_PROTO,
    GH_HDR_X_FORWARDED_HOST,
    GH_HDR_FORWARDED,
    GH_HDR_X_REQUEST_ID,
    GH_HDR_TRACEPARENT,
    GH_HDR_DATE,
    GH_HDR_COOKIE,
};

struct gh_http_header {
    struct gh_str name, value;
    uint8_t id;  /* enum gh_http_hdr_id */
    uint8_t hop; /* hop-by-hop: fixed list, or named in Connection; never forwarded */
};

enum gh_http_body {
    GH_BODY_NONE = 0,
    GH_BODY_LENGTH,  /* exactly content_length bytes */
    GH_BODY_CHUNKED, /* chunked transfer coding */
    GH_BODY_EOF,     /* responses only: until the server closes */
};

struct gh_http_head {
    /* request line */
    struct gh_str method;
    int method_id;        /* enum gh_http_method */
    struct gh_str target; /* exactly as sent */
    struct gh_str path;   /* path part (origin-form, or of absolute-form); "/" for asterisk-form "*" */
    struct gh_str query;  /* after '?', without it; has_query tells an empty query from none */
    struct gh_str host;   /* authority for routing: from an absolute-form target, else the Host header */
    /* status line */
    int status;
    struct gh_str reason;
    /* both */
    int minor; /* HTTP/1.<minor>: 0 or 1 (1.x for x > 1 is treated as 1.1) */
    struct gh_http_header headers[GH_HTTP_MAX_HEADERS];
    size_t nheaders;
    int body; /* enum gh_http_body */
    uint64_t content_length;
    unsigned keep_alive : 1;
    unsigned expect_continue : 1;
    unsigned has_query : 1;
    unsigned absolute_form : 1;
    size_t head_len;   /* bytes of the head including the final CRLF (and any leading CRLFs skipped) */
    const char *error; /* on failure: a short reason for logs and error bodies (static string) */
};

/*
 * Parses a request head from buf[0..len). `max_head` bounds the head (431 past it).
 * Returns the head length (> 0) on success with *out filled; 0 when more bytes are needed;
 * or -status (-400, -414, -431, -501, -505, -417) when the request must be refused, with out->error set.
 * The caller answers a failure with that status and closes the connection.
 */
int gh_http_parse_request(const char *buf, size_t len, size_t max_head, struct gh_http_head *out);

/*
 * Parses a response head. `request_method` is the method of the request it answers (HEAD and CONNECT
 * change the framing). Returns as gh_http_parse_request, with -502 for every malformed response.
 * 1xx responses parse successfully with body GH_BODY_NONE; the caller skips them.
 */
int gh_http_parse_response(const char *buf, size_t len, size_t max_head, int request_method,
                           struct gh_http_head *out);

/* Finds the first header with this id, or NULL. */
const struct gh_http_header *gh_http_find(const struct gh_http_head *h, enum gh_http_hdr_id id);

/* Incremental decoder for the chunked transfer coding. Zero-initialise before use. */
struct gh_chunked {
    int state;
    uint64_t remaining; /* data bytes left in the current chunk */
    unsigned digits;
    size_t line_bytes;    /* bytes of the current size/extension or trailer line */
    size_t trailer_bytes; /* all trailer bytes so far */
};

/*
 * Decodes from in[0..len). Consumes framing bytes and at most one run of data; on return *consumed is
 * how many input bytes were used and *data, *data_len the run of body data inside them (may be empty).
 * Returns 1 when the last chunk and trailers have been read (the body is complete; *consumed stops
 * right after it), 0 when the input was used up, or GH_EINVAL on malformed framing (with *why set).
 * Trailers are validated and dropped.
 */
int gh_chunked_decode(struct gh_chunked *c, const char *in, size_t len, size_t *consumed, const char **data,
                      size_t *data_len, const char **why);

/* The name ("GET", ...) for a method id; NULL for GH_METHOD_OTHER. */
const char *gh_http_method_name(int method_id);

/* Standard reason phrase for a status ("Bad Request"); "Unknown" when none. */
const char *gh_http_reason(int status);

#endif
