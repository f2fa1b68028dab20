/*
 * parser.c: strict HTTP/1.1 request and response heads and the chunked transfer coding.
 *
 * A gateway that parses more leniently than the server behind it can be made to see one request where
 * the server sees two (request smuggling). So every choice here is the strict one: bare LF, bare CR,
 * obs-fold, whitespace before a colon, control bytes, duplicate or differing Content-Length, CL with
 * TE, TE other than a final single "chunked", duplicate Host and malformed targets are all refused,
 * and the caller closes the connection after answering.
 */
#include "http.h"

#include <string.h>

/* tchar from RFC 9110 5.6.2 */
static const uint8_t tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1,
    ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,  ['0'] = 1, ['1'] = 1, ['2'] = 1,
    ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,  ['9'] = 1, ['A'] = 1, ['B'] = 1,
    ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,  ['I'] = 1, ['J'] = 1, ['K'] = 1,
    ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1,  ['R'] = 1, ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,  ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,  ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,  ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

int gh_http_tchar(unsigned char c)
{
    return tchar[c];
}

/*
 * Characters allowed in a request target's path and query (RFC 3986 pchar, "/", "?", and '%' which is
 * checked separately for two hex digits). Anything else — space, quotes, '<', '>', '\\', '^', '`',
 * '{', '|', '}', '#', control bytes and non-ASCII — is refused rather than passed to a backend that may
 * read it differently.
 */
static uint8_t uri_char[256];
static uint8_t hexval[256]; /* value + 1, 0 for non-hex */

__attribute__((constructor)) static void init_tables(void)
{
    const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?%";
    for (const char *p = ok; *p; p++)
        uri_char[(unsigned char)*p] = 1;
    for (int i = 0; i < 10; i++)
        hexval['0' + i] = (uint8_t)(i + 1);
    for (int i = 0; i < 6; i++) {
        hexval['a' + i] = (uint8_t)(11 + i);
        hexval['A' + i] = (uint8_t)(11 + i);
    }
}

static inline int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* field-value octets: VCHAR, SP, HTAB, obs-text. Everything else is a control byte. */
static inline int is_value_char(unsigned char c)
{
    return c >= 0x20 ? c != 0x7f : c == '\t';
}

/* Whether all 8 bytes of w are printable ASCII (0x20-0x7e): the common case, checked a word at a
 * time (a byte below 0x20 borrows into its top bit; one above 0x7e carries into it or has it set). */
static inline int plain_word(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    return (((w - ones * 0x20) | (w + ones * 0x01) | w) & highs) == 0;
}

static int fail(struct gh_http_head *out, int status, const char *why)
{
    out->error = why;
    return -status;
}

const char *gh_http_method_name(int id)
{
    static const char *names[GH_METHOD_COUNT_] = {NULL,     "GET",     "HEAD",  "POST",  "PUT",
                                                  "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"};
    return id > 0 && id < GH_METHOD_COUNT_ ? names[id] : NULL;
}

static int method_id(const char *p, size_t n)
{
    /* methods are case-sensitive (RFC 9110 9.1) */
    switch (n) {
    case 3:
        if (memcmp(p, "GET", 3) == 0)
            return GH_METHOD_GET;
        if (memcmp(p, "PUT", 3) == 0)
            return GH_METHOD_PUT;
        break;
    case 4:
        if (memcmp(p, "POST", 4) == 0)
            return GH_METHOD_POST;
        if (memcmp(p, "HEAD", 4) == 0)
            return GH_METHOD_HEAD;
        break;
    case 5:
        if (memcmp(p, "PATCH", 5) == 0)
            return GH_METHOD_PATCH;
        if (memcmp(p, "TRACE", 5) == 0)
            return GH_METHOD_TRACE;
        break;
    case 6:
        if (memcmp(p, "DELETE", 6) == 0)
            return GH_METHOD_DELETE;
        break;
    case 7:
        if (memcmp(p, "OPTIONS", 7) == 0)
            return GH_METHOD_OPTIONS;
        if (memcmp(p, "CONNECT", 7) == 0)
            return GH_METHOD_CONNECT;
        break;
    }
    return GH_METHOD_OTHER;
}

static int header_id(struct gh_str n)
{
    switch (n.len) {
    case 2:
        return gh_str_ieq(n, "te") ? GH_HDR_TE : 0;
    case 4:
        if (gh_str_ieq(n, "host"))
            return GH_HDR_HOST;
        return gh_str_ieq(n, "date") ? GH_HDR_DATE : 0;
    case 6:
        if (gh_str_ieq(n, "cookie"))
            return GH_HDR_COOKIE;
        return gh_str_ieq(n, "expect") ? GH_HDR_EXPECT : 0;
    case 7:
        if (gh_str_ieq(n, "trailer"))
            return GH_HDR_TRAILER;
        return gh_str_ieq(n, "upgrade") ? GH_HDR_UPGRADE : 0;
    case 9:
        return gh_str_ieq(n, "forwarded") ? GH_HDR_FORWARDED : 0;
    case 10:
        if (gh_str_ieq(n, "connection"))
            return GH_HDR_CONNECTION;
        return gh_str_ieq(n, "keep-alive") ? GH_HDR_KEEP_ALIVE : 0;
    case 11:
        return gh_str_ieq(n, "traceparent") ? GH_HDR_TRACEPARENT : 0;
    case 12:
        return gh_str_ieq(n, "x-request-id") ? GH_HDR_X_REQUEST_ID : 0;
    case 14:
        return gh_str_ieq(n, "content-length") ? GH_HDR_CONTENT_LENGTH : 0;
    case 15:
        return gh_str_ieq(n, "x-forwarded-for") ? GH_HDR_X_FORWARDED_FOR : 0;
    case 16:
        if (gh_str_ieq(n, "x-forwarded-host"))
            return GH_HDR_X_FORWARDED_HOST;
        return gh_str_ieq(n, "proxy-connection") ? GH_HDR_PROXY_CONNECTION : 0;
    case 17:
        if (gh_str_ieq(n, "transfer-encoding"))
            return GH_HDR_TRANSFER_ENCODING;
        return gh_str_ieq(n, "x-forwarded-proto") ? GH_HDR_X_FORWARDED_PROTO : 0;
    case 19:
        return gh_str_ieq(n, "proxy-authorization") ? GH_HDR_PROXY_AUTHORIZATION : 0;
    }
    return 0;
}

/*
 * Finds the end of the head. Leading CRLFs are skipped (RFC 9112 2.2). Every LF must follow a CR.
 * Returns the offset just past the empty line, 0 if not complete yet, or -status.
 */
static long find_head_end(const char *buf, size_t len, size_t max_head, size_t *start, int response,
                          struct gh_http_head *out)
{
    const int bad = response ? 502 : 400;
    size_t s = 0;
    while (s + 1 < len && buf[s] == '\r' && buf[s + 1] == '\n' && s < 8)
        s += 2;
    if (s < len && (buf[s] == '\r' || buf[s] == '\n')) {
        if (s + 1 < len || buf[s] == '\n')
            return fail(out, bad, "empty line before the start line");
        return 0;
    }
    /* refuse at once what cannot begin a valid start line (e.g. a TLS handshake or an SSH banner) */
    if (s < len && !tchar[(unsigned char)buf[s]])
        return fail(out, bad, "invalid start line");
    if (response) {
        size_t n = len - s < 7 ? len - s : 7;
        if (memcmp(buf + s, "HTTP/1.", n) != 0)
            return fail(out, bad, "invalid status line");
    }
    *start = s;
    const char *p = buf + s, *end = buf + len;
    const char *line = p;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        if (nl == buf || nl[-1] != '\r')
            return fail(out, bad, "bare LF");
        if (nl - 1 == line) /* empty line: end of head */
            return (long)(nl + 1 - buf);
        if (line == buf + s && !response && (size_t)(nl - line) > max_head)
            return fail(out, 414, "request line too long");
        p = line = nl + 1;
    }
    if (len - s > max_head) {
        if (!response && line == buf + s)
            return fail(out, 414, "request line too long");
        return fail(out, response ? 502 : 431, "head too large");
    }
    return 0;
}

/* host = IP-literal / IPv4address / reg-name, then optional ":" port (1*DIGIT). */
static int valid_authority(struct gh_str a)
{
    size_t i = 0;
    if (a.len == 0 || a.len > 255)
        return 0;
    if (a.p[0] == '[') {
        for (i = 1; i < a.len && a.p[i] != ']'; i++) {
            char c = a.p[i];
            if (!(hexval[(unsigned char)c] || c == ':' || c == '.'))
                return 0;
        }
        if (i >= a.len || i == 1)
            return 0;
        i++;
    } else {
        for (; i < a.len && a.p[i] != ':'; i++) {
            unsigned char c = (unsigned char)a.p[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '.' || c == '_' || c == '~'))
                return 0;
        }
        if (i == 0)
            return 0;
    }
    if (i == a.len)
        return 1;
    if (a.p[i] != ':')
        return 0;
    uint64_t port;
    return a.len - i - 1 <= 5 && gh_parse_u64(a.p + i + 1, a.len - i - 1, 65535, &port) == 0;
}

/* A path segment p[a..b) that is "." or ".." in any spelling (plain or %2e) is refused. */
static int is_dot_segment(const char *p, size_t a, size_t b)
{
    size_t dots = 0;
    while (a < b) {
        if (p[a] == '.') {
            a++;
        } else if (p[a] == '%' && a + 2 < b + 1 && p[a + 1] == '2' && (p[a + 2] == 'e' || p[a + 2] == 'E')) {
            a += 3;
        } else {
            return 0;
        }
        dots++;
    }
    return dots == 1 || dots == 2;
}

/*
 * Checks path+query characters and percent-encoding, and refuses dot segments: a backend that
 * resolves "/orders/../admin" would otherwise be reached outside the route that matched.
 */
static int valid_path_query(const char *p, size_t n, struct gh_http_head *out)
{
    size_t seg = 0, i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!uri_char[c])
            return fail(out, 400, "invalid character in request target");
        if (c == '%' && (i + 2 >= n || !hexval[(unsigned char)p[i + 1]] || !hexval[(unsigned char)p[i + 2]]))
            return fail(out, 400, "bad percent-encoding in request target");
        if (c == '/' || c == '?') {
            if (is_dot_segment(p, seg, i))
                return fail(out, 400, "dot segment in request path");
            seg = i + 1;
            if (c == '?')
                break;
        }
    }
    if (i == n && is_dot_segment(p, seg, n))
        return fail(out, 400, "dot segment in request path");
    for (; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!uri_char[c])
            return fail(out, 400, "invalid character in request target");
        if (c == '%' && (i + 2 >= n || !hexval[(unsigned char)p[i + 1]] || !hexval[(unsigned char)p[i + 2]]))
            return fail(out, 400, "bad percent-encoding in request target");
    }
    return 0;
}

static void split_path_query(struct gh_http_head *out, const char *p, size_t n)
{
    const char *q = memchr(p, '?', n);
    out->path.p = p;
    out->path.len = q ? (size_t)(q - p) : n;
    if (q) {
        out->has_query = 1;
        out->query.p = q + 1;
        out->query.len = n - out->path.len - 1;
    }
}

static int parse_target(struct gh_http_head *out)
{
    const char *t = out->target.p;
    size_t n = out->target.len;
    if (t[0] == '/') {
        int rc = valid_path_query(t, n, out);
        if (rc)
            return rc;
        split_path_query(out, t, n);
        return 0;
    }
    if (n == 1 && t[0] == '*') {
        if (out->method_id != GH_METHOD_OPTIONS)
            return fail(out, 400, "asterisk-form target outside OPTIONS");
        out->path = GH_STR_LIT("*");
        return 0;
    }
    /* absolute-form: http://authority[/path][?query] */
    size_t skip = 0;
    if (n > 7 && gh_str_ieq((struct gh_str){t, 7}, "http://"))
        skip = 7;
    else if (n > 8 && gh_str_ieq((struct gh_str){t, 8}, "https://"))
        skip = 8;
    else
        return fail(out, 400, "invalid request target");
    const char *a = t + skip, *e = t + n, *slash = a;
    while (slash < e && *slash != '/' && *slash != '?')
        slash++;
    struct gh_str auth = {a, (size_t)(slash - a)};
    if (memchr(auth.p, '@', auth.len))
        return fail(out, 400, "userinfo in request target");
    if (!valid_authority(auth))
        return fail(out, 400, "invalid authority in request target");
    out->host = auth;
    out->absolute_form = 1;
    if (slash == e || *slash == '?') {
        if (slash < e) {
            int rc = valid_path_query(slash, (size_t)(e - slash), out);
            if (rc)
                return rc;
            split_path_query(out, slash, (size_t)(e - slash));
        }
        out->path = GH_STR_LIT("/");
        return 0;
    }
    int rc = valid_path_query(slash, (size_t)(e - slash), out);
    if (rc)
        return rc;
    split_path_query(out, slash, (size_t)(e - slash));
    return 0;
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT; only major 1 is served. */
static int parse_version(const char *p, size_t n, struct gh_http_head *out, int bad)
{
    if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' || p[5] > '9' || p[7] < '0' ||
        p[7] > '9')
        return fail(out, bad, "malformed HTTP version");
    if (p[5] != '1')
        return fail(out, bad == 400 ? 505 : bad, "unsupported HTTP version");
    out->minor = p[7] == '0' ? 0 : 1;
    return 0;
}

/* Splits a comma-separated list value into trimmed elements; calls fn for each; empty elements skipped. */
typedef int (*list_fn)(struct gh_str elem, void *ctx);
static int each_list_elem(struct gh_str v, list_fn fn, void *ctx)
{
    size_t i = 0;
    while (i <= v.len) {
        size_t j = i;
        while (j < v.len && v.p[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && is_ows(v.p[a]))
            a++;
        while (b > a && is_ows(v.p[b - 1]))
            b--;
        if (b > a) {
            int rc = fn((struct gh_str){v.p + a, b - a}, ctx);
            if (rc)
                return rc;
        }
        i = j + 1;
    }
    return 0;
}

struct te_state {
    int count, chunked_at, other;
};

static int te_elem(struct gh_str e, void *ctx)
{
    struct te_state *s = ctx;
    if (gh_str_ieq(e, "chunked")) {
        if (s->chunked_at)
            return 1; /* chunked twice */
        s->chunked_at = ++s->count;
    } else {
        for (size_t i = 0; i < e.len; i++)
            if (!tchar[(unsigned char)e.p[i]] && e.p[i] != ';' && e.p[i] != '=' && !is_ows(e.p[i]) &&
                e.p[i] != '"')
                return 1;
        s->other = 1;
        s->count++;
    }
    return 0;
}

struct conn_state {
    struct gh_http_head *h;
    int close, keep_alive;
};

static int conn_elem(struct gh_str e, void *ctx)
{
    struct conn_state *s = ctx;
    for (size_t i = 0; i < e.len; i++)
        if (!tchar[(unsigned char)e.p[i]])
            return 1;
    if (gh_str_ieq(e, "close"))
        s->close = 1;
    else if (gh_str_ieq(e, "keep-alive"))
        s->keep_alive = 1;
    /* any header named here is hop-by-hop for this message (RFC 9110 7.6.1) */
    for (size_t k = 0; k < s->h->nheaders; k++) {
        struct gh_http_header *hd = &s->h->headers[k];
        if (hd->name.len == e.len && strncasecmp(hd->name.p, e.p, e.len) == 0)
            hd->hop = 1;
    }
    return 0;
}

/*
 * Parses header lines from p up to the empty line at `end` (exclusive of its CRLF), applying the
 * framing rules common to requests and responses. Returns 0 or -status.
 */
static int parse_fields(const char *p, const char *end, struct gh_http_head *out, int response)
{
    const int bad = response ? 502 : 400;
    struct gh_http_header *cl = NULL, *te = NULL, *host = NULL, *conn = NULL, *expect = NULL;
    while (p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        /* the head scan guaranteed "\r\n" ends every line, and the last one ends at `end` */
        if (eol == NULL || eol[1] != '\n')
            return fail(out, bad, "bare CR in header");
        if (is_ows(*p))
            return fail(out, bad, "obsolete line folding");
        const char *colon = p;
        while (colon < eol && tchar[(unsigned char)*colon])
            colon++;
        if (colon == eol || *colon != ':') {
            if (colon < eol && is_ows(*colon))
                return fail(out, bad, "whitespace before colon in header");
            return fail(out, bad, "invalid header name");
        }
        if (colon == p)
            return fail(out, bad, "empty header name");
        const char *v = colon + 1, *ve = eol;
        while (v < ve && is_ows(*v))
            v++;
        while (ve > v && is_ows(ve[-1]))
            ve--;
        const char *c = v;
        for (; c + 8 <= ve; c += 8) {
            uint64_t w;
            memcpy(&w, c, 8);
            if (!plain_word(w))
                break; /* a tab, obs-text or a bad byte: the byte loop decides */
        }
        for (; c < ve; c++)
            if (!is_value_char((unsigned char)*c))
                return fail(out, bad, "control character in header value");
        if (out->nheaders == GH_HTTP_MAX_HEADERS)
            return fail(out, response ? 502 : 431, "too many headers");
        struct gh_http_header *hd = &out->headers[out->nheaders++];
        hd->name = (struct gh_str){p, (size_t)(colon - p)};
        hd->value = (struct gh_str){v, (size_t)(ve - v)};
        hd->id = (uint8_t)header_id(hd->name);
        hd->hop = 0;
        switch (hd->id) {
        case GH_HDR_HOST:
            if (host)
                return fail(out, bad, "duplicate Host");
            host = hd;
            break;
        case GH_HDR_CONTENT_LENGTH:
            if (cl)
                return fail(out, bad, "duplicate Content-Length");
            cl = hd;
            hd->hop = 1;
            break;
        case GH_HDR_TRANSFER_ENCODING:
            if (te)
                return fail(out, bad, "duplicate Transfer-Encoding");
            te = hd;
            hd->hop = 1;
            break;
        case GH_HDR_CONNECTION:
            if (conn)
                return fail(out, bad, "duplicate Connection");
            conn = hd;
            hd->hop = 1;
            break;
        case GH_HDR_EXPECT:
            if (expect)
                return fail(out, bad, "duplicate Expect");
            expect = hd;
            hd->hop = 1;
            break;
        case GH_HDR_KEEP_ALIVE:
        case GH_HDR_PROXY_CONNECTION:
        case GH_HDR_TE:
        case GH_HDR_TRAILER:
        case GH_HDR_UPGRADE:
        case GH_HDR_PROXY_AUTHORIZATION:
            hd->hop = 1;
            break;
        }
        p = eol + 2;
    }

    out->keep_alive = out->minor >= 1;
    if (conn) {
        struct conn_state cs = {out, 0, 0};
        if (conn->value.len == 0 || each_list_elem(conn->value, conn_elem, &cs))
            return fail(out, bad, "invalid Connection header");
        if (cs.close)
            out->keep_alive = 0;
        else if (cs.keep_alive)
            out->keep_alive = 1;
    }

    if (te) {
        if (cl)
            return fail(out, bad, "both Content-Length and Transfer-Encoding");
        if (!response && out->minor == 0)
            return fail(out, 400, "Transfer-Encoding in an HTTP/1.0 request");
        struct te_state ts = {0, 0, 0};
        size_t commas = 0;
        for (size_t k = 0; k < te->value.len; k++)
            commas += te->value.p[k] == ',';
        /* empty list elements are legal elsewhere but have no business in a framing header */
        if (each_list_elem(te->value, te_elem, &ts) || ts.count == 0 || (size_t)ts.count != commas + 1)
            return fail(out, bad, "invalid Transfer-Encoding");
        if (ts.chunked_at == ts.count) {
            if (ts.other)
                return fail(out, response ? 502 : 501, "unsupported transfer coding");
            out->body = GH_BODY_CHUNKED;
        } else {
            if (!response)
                return fail(out, 400, "chunked is not the final transfer coding");
            if (ts.chunked_at)
                return fail(out, 502, "chunked is not the final transfer coding");
            out->body = GH_BODY_EOF;
        }
    } else if (cl) {
        if (gh_parse_u64(cl->value.p, cl->value.len, (uint64_t)1 << 62, &out->content_length) != 0)
            return fail(out, bad, "invalid Content-Length");
        out->body = out->content_length ? GH_BODY_LENGTH : GH_BODY_NONE;
    } else {
        out->body = response ? GH_BODY_EOF : GH_BODY_NONE;
    }

    if (!response) {
        if (host && !valid_authority(host->value))
            return fail(out, 400, "invalid Host");
        if (!host && out->minor >= 1)
            return fail(out, 400, "missing Host");
        if (host)
            host->hop = 1; /* re-added by the serializer */
        if (!out->absolute_form && host)
            out->host = host->value;
        if (expect) {
            if (!gh_str_ieq(expect->value, "100-continue"))
                return fail(out, 417, "unsupported expectation");
            out->expect_continue = out->minor >= 1;
        }
    }
    return 0;
}

static void head_reset(struct gh_http_head *out)
{
    /* clearing the whole struct would touch 3 KiB of header slots per request; clear the fields only */
    memset(out, 0, offsetof(struct gh_http_head, headers));
    out->nheaders = 0;
    out->body = GH_BODY_NONE;
    out->content_length = 0;
    out->keep_alive = out->expect_continue = out->has_query = out->absolute_form = 0;
    out->head_len = 0;
    out->error = NULL;
}

int gh_http_parse_request(const char *buf, size_t len, size_t max_head, struct gh_http_head *out)
{
    size_t start = 0;
    head_reset(out);
    long end = find_head_end(buf, len, max_head, &start, 0, out);
    if (end <= 0)
        return (int)end;
    if ((size_t)end - start > max_head)
        return fail(out, 431, "head too large");
    const char *p = buf + start, *le = memchr(p, '\r', (size_t)end - start);
    /* request-line = method SP request-target SP HTTP-version */
    const char *sp1 = p;
    while (sp1 < le && tchar[(unsigned char)*sp1])
        sp1++;
    if (sp1 == p || sp1 == le || *sp1 != ' ')
        return fail(out, 400, "malformed request line");
    out->method = (struct gh_str){p, (size_t)(sp1 - p)};
    out->method_id = method_id(p, out->method.len);
    const char *t = sp1 + 1, *sp2 = t;
    while (sp2 < le && (unsigned char)*sp2 > 0x20 && (unsigned char)*sp2 < 0x7f)
        sp2++;
    if (sp2 == t || sp2 == le || *sp2 != ' ')
        return fail(out, 400, "malformed request line");
    out->target = (struct gh_str){t, (size_t)(sp2 - t)};
    int rc = parse_version(sp2 + 1, (size_t)(le - sp2 - 1), out, 400);
    if (rc)
        return rc;
    if (out->method_id == GH_METHOD_CONNECT)
        return fail(out, 501, "CONNECT is not supported");
    if ((rc = parse_target(out)) != 0)
        return rc;
    if ((rc = parse_fields(le + 2, buf + end - 2, out, 0)) != 0)
        return rc;
    out->head_len = (size_t)end;
    return (int)end;
}

int gh_http_parse_response(const char *buf, size_t len, size_t max_head, int request_method,
                           struct gh_http_head *out)
{
    size_t start = 0;
    head_reset(out);
    long end = find_head_end(buf, len, max_head, &start, 1, out);
    if (end <= 0)
        return (int)end;
    const char *p = buf + start, *le = memchr(p, '\r', (size_t)end - start);
    /* status-line = HTTP-version SP status-code SP [ reason-phrase ] */
    if (le - p < 12 || p[8] != ' ')
        return fail(out, 502, "malformed status line");
    int rc = parse_version(p, 8, out, 502);
    if (rc)
        return rc;
    uint64_t st;
    if (gh_parse_u64(p + 9, 3, 999, &st) != 0 || st < 100 || st > 599)
        return fail(out, 502, "malformed status code");
    out->status = (int)st;
    const char *r = p + 12;
    if (r < le) {
        if (*r != ' ')
            return fail(out, 502, "malformed status line");
        for (const char *c = r + 1; c < le; c++)
            if (!is_value_char((unsigned char)*c))
                return fail(out, 502, "control character in reason phrase");
        out->reason = (struct gh_str){r + 1, (size_t)(le - r - 1)};
    }
    if ((rc = parse_fields(le + 2, buf + end - 2, out, 1)) != 0)
        return rc;
    /* RFC 9112 6.3: these never have a body, whatever the headers say */
    if (out->status < 200 || out->status == 204 || out->status == 304 || request_method == GH_METHOD_HEAD) {
        out->body = GH_BODY_NONE;
        out->content_length = 0;
    }
    if (out->body == GH_BODY_EOF)
        out->keep_alive = 0; /* the end of the body is the end of the connection */
    out->head_len = (size_t)end;
    return (int)end;
}

const struct gh_http_header *gh_http_find(const struct gh_http_head *h, enum gh_http_hdr_id id)
{
    for (size_t i = 0; i < h->nheaders; i++)
        if (h->headers[i].id == id)
            return &h->headers[i];
    return NULL;
}

/* ---- chunked transfer coding (RFC 9112 7.1) ---- */

enum {
    CK_SIZE = 0, /* hex digits */
    CK_SIZE_WS,  /* BWS after the size, before ';' */
    CK_EXT,      /* chunk extensions, until CR */
    CK_SIZE_LF,  /* LF after the size line */
    CK_DATA,
    CK_DATA_CR,
    CK_DATA_LF,
    CK_TRAILER_START, /* start of a trailer line or the final CRLF */
    CK_TRAILER_NAME,
    CK_TRAILER_VALUE,
    CK_TRAILER_LF,
    CK_END_LF,
    CK_DONE,
};

#define CK_MAX_LINE 4096
#define CK_MAX_TRAILERS 16384

int gh_chunked_decode(struct gh_chunked *c, const char *in, size_t len, size_t *consumed, const char **data,
                      size_t *data_len, const char **why)
{
    size_t i = 0;
    *data = NULL;
    *data_len = 0;
#define BAD(msg)                                                                                             \
    do {                                                                                                     \
        *why = (msg);                                                                                        \
        *consumed = i;                                                                                       \
        return GH_EINVAL;                                                                                    \
    } while (0)
    while (i < len) {
        unsigned char ch = (unsigned char)in[i];
        switch (c->state) {
        case CK_SIZE:
            if (hexval[ch]) {
                if (++c->digits > 16)
                    BAD("chunk size too large");
                c->remaining = (c->remaining << 4) | (uint64_t)(hexval[ch] - 1);
                i++;
                break;
            }
            if (c->digits == 0)
                BAD("missing chunk size");
            if (c->remaining > ((uint64_t)1 << 62))
                BAD("chunk size too large");
            if (ch == '\r')
                c->state = CK_SIZE_LF;
            else if (ch == ';')
                c->state = CK_EXT;
            else if (is_ows((char)ch))
                c->state = CK_SIZE_WS;
            else
                BAD("invalid chunk size");
            i++;
            break;
        case CK_SIZE_WS:
            if (ch == ';')
                c->state = CK_EXT;
            else if (!is_ows((char)ch))
                BAD("invalid chunk size line");
            i++;
            break;
        case CK_EXT:
            if (ch == '\r')
                c->state = CK_SIZE_LF;
            else if (!is_value_char(ch))
                BAD("control character in chunk extension");
            if (++c->line_bytes > CK_MAX_LINE)
                BAD("chunk extension too long");
            i++;
            break;
        case CK_SIZE_LF:
            if (ch != '\n')
                BAD("bare CR in chunk size line");
            i++;
            c->line_bytes = 0;
            c->digits = 0;
            c->state = c->remaining ? CK_DATA : CK_TRAILER_START;
            break;
        case CK_DATA: {
            size_t n = len - i;
            if (n > c->remaining)
                n = (size_t)c->remaining;
            *data = in + i;
            *data_len = n;
            i += n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = CK_DATA_CR;
            *consumed = i;
            return 0;
        }
        case CK_DATA_CR:
            if (ch != '\r')
                BAD("chunk data longer than its size");
            c->state = CK_DATA_LF;
            i++;
            break;
        case CK_DATA_LF:
            if (ch != '\n')
                BAD("bare CR after chunk data");
            c->state = CK_SIZE;
            c->remaining = 0;
            i++;
            break;
        case CK_TRAILER_START:
            if (ch == '\r') {
                c->state = CK_END_LF;
            } else if (tchar[ch]) {
                c->state = CK_TRAILER_NAME;
            } else {
                BAD("invalid trailer field");
            }
            i++;
            if (++c->trailer_bytes > CK_MAX_TRAILERS)
                BAD("trailers too large");
            break;
        case CK_TRAILER_NAME:
            if (ch == ':')
                c->state = CK_TRAILER_VALUE;
            else if (!tchar[ch])
                BAD("invalid trailer field name");
            i++;
            if (++c->trailer_bytes > CK_MAX_TRAILERS)
                BAD("trailers too large");
            break;
        case CK_TRAILER_VALUE:
            if (ch == '\r')
                c->state = CK_TRAILER_LF;
            else if (!is_value_char(ch))
                BAD("control character in trailer field");
            i++;
            if (++c->trailer_bytes > CK_MAX_TRAILERS)
                BAD("trailers too large");
            break;
        case CK_TRAILER_LF:
            if (ch != '\n')
                BAD("bare CR in trailer field");
            c->state = CK_TRAILER_START;
            i++;
            break;
        case CK_END_LF:
            if (ch != '\n')
                BAD("bare CR at end of chunked body");
            c->state = CK_DONE;
            i++;
            *consumed = i;
            return 1;
        case CK_DONE:
            *consumed = i;
            return 1;
        }
    }
#undef BAD
    *consumed = i;
    return c->state == CK_DONE;
}

const char *gh_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 417:
        return "Expectation Failed";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    }
    return "Unknown";
}
