// Reverse proxy behaviour, asserted on the exact bytes the upstream receives and the client gets back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse, startUpstream, rawExchange, parseResponses, sleep } from './helpers.mjs';

let up, gh;
const script = new Map(); // path -> responder override

before(async () => {
  up = await startUpstream((req, sock) => {
    const f = script.get(req.target.split('?')[0]);
    if (f) return f(req, sock);
    return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: `seen ${req.method} ${req.target}` };
  });
  gh = await startGatehouse(`
apis:
  - name: orders
    route: { path: /orders, methods: [GET, POST, HEAD, PUT] }
    upstream: { targets: ["${up.url}"] }
  - name: orders-admin
    route: { path: /orders/admin, hosts: ["admin.example"] }
    upstream: { targets: ["${up.url}/internal/"] }
  - name: stripped
    route: { path: /v1/things/ }
    upstream: { targets: ["${up.url}/base"] }
    strip_prefix: true
`);
});

after(async () => {
  await gh.stop();
  await up.close();
});

const last = () => up.requests.at(-1);

test('GET is re-serialised with gateway-owned headers and exactly one Host', async () => {
  const r = await rawExchange(gh.port,
    'GET /orders/1?x=1&y=%20 HTTP/1.1\r\nHost: api.example:8080\r\nAccept: */*\r\nX-Request-Id: req-123\r\n' +
    'X-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\n\r\n');
  const [res] = parseResponses(r.data);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'seen GET /orders/1?x=1&y=%20');
  assert.equal(res.headers['x-request-id'], 'req-123');
  assert.equal(last().raw,
    'GET /orders/1?x=1&y=%20 HTTP/1.1\r\n' +
    `Host: 127.0.0.1:${up.port}\r\n` +
    'Accept: */*\r\n' +
    'X-Forwarded-For: 127.0.0.1\r\n' +
    'X-Forwarded-Proto: http\r\n' +
    'X-Forwarded-Host: api.example:8080\r\n' +
    'Forwarded: for=127.0.0.1;host="api.example:8080";proto=http\r\n' +
    'Via: 1.1 gatehouse\r\n' +
    'X-Request-Id: req-123\r\n\r\n');
});

test('hop-by-hop headers and headers named in Connection are not forwarded', async () => {
  await rawExchange(gh.port,
    'GET /orders HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\n' +
    'TE: trailers\r\nUpgrade: websocket\r\nProxy-Authorization: Basic x\r\nProxy-Connection: keep-alive\r\n' +
    'Trailer: X-T\r\nX-Kept: yes\r\nX-Request-Id: hop\r\n\r\n');
  assert.equal(last().raw,
    `GET /orders HTTP/1.1\r\nHost: 127.0.0.1:${up.port}\r\nX-Kept: yes\r\nX-Forwarded-For: 127.0.0.1\r\n` +
    'X-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\nForwarded: for=127.0.0.1;host="a";proto=http\r\n' +
    'Via: 1.1 gatehouse\r\nX-Request-Id: hop\r\n\r\n');
});

test("the portal's session and sign-in cookies never reach an upstream; other cookies pass untouched", async () => {
  const cases = [
    ['a=1;b=2', 'a=1;b=2'],
    ['a=1; gh_session=AAAA; b=2', 'a=1; b=2'],
    ['gh_session=AAAA', null],
    ['__Host-gh_login=x;theme=dark; __Host-gh_session=y', 'theme=dark'],
    ['my_gh_session=keep', 'my_gh_session=keep'],
  ];
  for (const [sent, want] of cases) {
    await rawExchange(gh.port, `GET /orders HTTP/1.1\r\nHost: a\r\nCookie: ${sent}\r\nX-Request-Id: c\r\n\r\n`);
    assert.equal(last().headers.cookie, want === null ? undefined : want, sent);
    if (want === null) assert.doesNotMatch(last().raw, /cookie/i);
  }
});

test('a request id is generated when absent or invalid, and returned to the client', async () => {
  const r = await rawExchange(gh.port, 'GET /orders HTTP/1.1\r\nHost: a\r\nX-Request-Id: bad id\r\n\r\n');
  const [res] = parseResponses(r.data);
  assert.match(res.headers['x-request-id'], /^[0-9a-f]{16}-[0-9a-f]+$/);
  assert.equal(last().headers['x-request-id'], res.headers['x-request-id']);
  const log = gh.accessLog().find((l) => l.request_id === res.headers['x-request-id']);
  assert.ok(log, 'access log line for the request');
  assert.equal(log.status, 200);
  assert.equal(log.method, 'GET');
  assert.equal(log.path, '/orders');
  assert.equal(log.api, 'orders');
  assert.equal(log.upstream, `127.0.0.1:${up.port}`);
  assert.equal(typeof log.latency_ms, 'number');
  assert.equal(log.bytes, res.body.length);
});

test('W3C traceparent is passed on when valid and dropped when not', async () => {
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  await rawExchange(gh.port, `GET /orders HTTP/1.1\r\nHost: a\r\ntraceparent: ${tp}\r\ntracestate: k=v\r\n\r\n`);
  assert.equal(last().headers.traceparent, tp);
  assert.equal(last().headers.tracestate, 'k=v');
  await rawExchange(gh.port, 'GET /orders HTTP/1.1\r\nHost: a\r\ntraceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01\r\n\r\n');
  assert.equal(last().headers.traceparent, undefined);
});

test('routing: longest prefix, host match, segment boundary, 404 and 405 as JSON', async () => {
  await rawExchange(gh.port, 'GET /orders/admin/x HTTP/1.1\r\nHost: ADMIN.example:80\r\n\r\n');
  assert.equal(last().target, '/internal/orders/admin/x');
  await rawExchange(gh.port, 'GET /orders/admin/x HTTP/1.1\r\nHost: other\r\n\r\n');
  assert.equal(last().target, '/orders/admin/x');
  const n = up.requests.length;
  let r = parseResponses((await rawExchange(gh.port, 'GET /ordersx HTTP/1.1\r\nHost: a\r\n\r\n')).data)[0];
  assert.equal(r.status, 404);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(JSON.parse(r.body).error.status, 404);
  assert.match(r.headers.date, / GMT$/);
  r = parseResponses((await rawExchange(gh.port, 'DELETE /orders/1 HTTP/1.1\r\nHost: a\r\n\r\n')).data)[0];
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'GET, HEAD, POST, PUT');
  assert.equal(JSON.parse(r.body).error.message, 'method not allowed for this API');
  assert.equal(up.requests.length, n, 'nothing reached the upstream');
});

test('strip_prefix and a target base path', async () => {
  await rawExchange(gh.port, 'GET /v1/things/42?q=1 HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(last().target, '/base/42?q=1');
  await rawExchange(gh.port, 'GET /v1/things HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(last().target, '/base/');
});

test('POST with Content-Length: body forwarded byte for byte', async () => {
  const body = 'x'.repeat(70000) + 'END';
  const r = await rawExchange(gh.port,
    `POST /orders HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nX-Request-Id: p1\r\n\r\n${body}`);
  assert.equal(parseResponses(r.data)[0].status, 200);
  assert.equal(last().raw,
    `POST /orders HTTP/1.1\r\nHost: 127.0.0.1:${up.port}\r\nContent-Type: text/plain\r\nX-Forwarded-For: 127.0.0.1\r\n` +
    'X-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\nForwarded: for=127.0.0.1;host="a";proto=http\r\nVia: 1.1 gatehouse\r\n' +
    `X-Request-Id: p1\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
});

test('Content-Length: 0 is kept; chunked request bodies are re-chunked, extensions and trailers dropped', async () => {
  await rawExchange(gh.port, 'POST /orders HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nX-Request-Id: z\r\n\r\n');
  assert.ok(last().raw.endsWith('X-Request-Id: z\r\nContent-Length: 0\r\n\r\n'));
  await rawExchange(gh.port, 'POST /orders HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX-Request-Id: c1\r\n\r\n' +
    '5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n');
  const raw = last().raw;
  assert.ok(raw.includes('X-Request-Id: c1\r\nTransfer-Encoding: chunked\r\n\r\n'), raw);
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  assert.match(body, /^(5\r\nhello\r\n6\r\n world\r\n|b\r\nhello world\r\n)0\r\n\r\n$/);
  assert.equal(last().body.toString(), 'hello world');
});

test('chunked request body arriving in pieces', async () => {
  const r = await rawExchange(gh.port, null, {
    writes: ['POST /orders HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n', 50, '3\r\nab', 50, 'c\r\n', 50,
      '2\r\nde\r\n0\r\n', 50, '\r\n'],
  });
  assert.equal(parseResponses(r.data)[0].status, 200);
  assert.equal(last().body.toString(), 'abcde');
});

test('responses: chunked passes as chunked, close-delimited becomes chunked for HTTP/1.1', async () => {
  script.set('/orders/chunked', () => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3;x=y\r\ndef\r\n0\r\nT: 1\r\n\r\n');
  let r = await rawExchange(gh.port, 'GET /orders/chunked HTTP/1.1\r\nHost: a\r\n\r\n');
  let res = parseResponses(r.data)[0];
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  assert.equal(res.body, 'abcdef');
  assert.ok(!r.data.includes('x=y') && !r.data.includes('T: 1'), 'extensions and trailers are not passed');

  script.set('/orders/eof', (req, sock) => {
    setTimeout(() => sock.end(), 20);
    return 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close';
  });
  r = await rawExchange(gh.port, 'GET /orders/eof HTTP/1.1\r\nHost: a\r\n\r\n');
  res = parseResponses(r.data)[0];
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  assert.equal(res.body, 'until close');
  assert.equal(r.closed, false, 'the client connection stays open');

  r = await rawExchange(gh.port, 'GET /orders/eof HTTP/1.0\r\n\r\n');
  res = parseResponses(r.data)[0];
  assert.equal(res.headers['transfer-encoding'], undefined);
  assert.equal(res.headers.connection, 'close');
  assert.equal(res.body, 'until close');
  assert.equal(r.closed, true, 'an HTTP/1.0 client learns the end from the close');
  script.delete('/orders/chunked');
  script.delete('/orders/eof');
});

test('HTTP/1.0 without Host works; keep-alive only when asked', async () => {
  let r = await rawExchange(gh.port, 'GET /orders HTTP/1.0\r\n\r\n');
  let res = parseResponses(r.data)[0];
  assert.equal(res.status, 200);
  assert.equal(r.closed, true);
  assert.equal(r.data.split('\r\n')[0], 'HTTP/1.1 200 OK');
  r = await rawExchange(gh.port, 'GET /orders HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', { idleMs: 300 });
  res = parseResponses(r.data)[0];
  assert.equal(res.headers.connection, 'keep-alive');
  assert.equal(r.closed, false);
});

test('keep-alive and pipelining: responses in order, one upstream connection reused', async () => {
  const conns = up.connections;
  const reqs = [1, 2, 3, 4, 5].map((i) => `GET /orders/${i} HTTP/1.1\r\nHost: a\r\n\r\n`).join('');
  const r = await rawExchange(gh.port, reqs + 'HEAD /orders/6 HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 400 });
  const res = parseResponses(r.data, [false, false, false, false, false, true]);
  assert.deepEqual(res.map((x) => x.body), ['seen GET /orders/1', 'seen GET /orders/2', 'seen GET /orders/3',
    'seen GET /orders/4', 'seen GET /orders/5', '']);
  assert.equal(res[5].headers['content-length'], String('seen HEAD /orders/6'.length), 'HEAD keeps the length');
  assert.equal(r.closed, false);
  assert.ok(up.connections - conns <= 1, `pooled upstream connections (${up.connections - conns} new)`);
});

test('Expect: 100-continue: the client is told to go on, the upstream never sees Expect', async () => {
  const r = await rawExchange(gh.port, null, {
    writes: ['POST /orders HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n', 300, 'data'],
  });
  assert.ok(r.data.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), r.data);
  assert.equal(last().headers.expect, undefined);
  assert.equal(last().body.toString(), 'data');
});

test('upstream response headers pass, hop-by-hop ones do not', async () => {
  script.set('/orders/h', () => 'HTTP/1.1 201 Made\r\nX-Up: 1\r\nConnection: X-Drop\r\nX-Drop: 2\r\nKeep-Alive: 5\r\nContent-Length: 2\r\n\r\nok');
  let r = await rawExchange(gh.port, 'GET /orders/h HTTP/1.1\r\nHost: a\r\nX-Request-Id: rh\r\n\r\n');
  // a response without Date gets one (RFC 9110 6.6.1)
  assert.match(r.data, /^HTTP\/1.1 201 Made\r\nX-Up: 1\r\nDate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT\r\nX-Request-Id: rh\r\nContent-Length: 2\r\n\r\nok$/);
  script.set('/orders/h', () => 'HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 2\r\n\r\nok');
  r = await rawExchange(gh.port, 'GET /orders/h HTTP/1.1\r\nHost: a\r\nX-Request-Id: rh\r\n\r\n');
  assert.equal(r.data, 'HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nX-Request-Id: rh\r\nContent-Length: 2\r\n\r\nok');
  script.delete('/orders/h');
});

test('portal answers /healthz', async () => {
  const r = await rawExchange(gh.portalPort, 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 300 });
  const [res] = parseResponses(r.data);
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { status: 'ok' });
  const r2 = await rawExchange(gh.portalPort, 'GET /nope HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 300 });
  assert.equal(parseResponses(r2.data)[0].status, 404);
  await sleep(0);
});
