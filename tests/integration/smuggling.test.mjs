// Request smuggling and malformed framing: every ambiguous message is refused with the right status,
// the connection is closed, and no second request ever reaches the upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse, startUpstream, rawExchange, parseResponses } from './helpers.mjs';

let up, gh;
before(async () => {
  up = await startUpstream((req) => ({ status: 200, body: `seen ${req.target}` }));
  gh = await startGatehouse(`
apis:
  - name: all
    route: { path: / }
    upstream: { targets: ["${up.url}"] }
`);
});
after(async () => {
  await gh.stop();
  await up.close();
});

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n';

// [name, attack bytes, expected status]; the attack is refused before anything reaches the upstream
const headAttacks = [
  ['CL.TE', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ['TE.CL', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n', 400],
  ['TE.TE obfuscated by a space before the colon', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n', 400],
  ['TE with a vertical tab', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\x0bchunked\r\n\r\n', 400],
  ['TE xchunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n', 400],
  ['TE chunked twice on two lines', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n', 400],
  ['TE obs-fold', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n', 400],
  ['TE gzip, chunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
  ['TE in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ['two Content-Lengths', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n', 400],
  ['Content-Length list', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0, 44\r\n\r\n', 400],
  ['Content-Length with sign', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +0\r\n\r\n', 400],
  ['bare LF line ends', 'GET / HTTP/1.1\nHost: a\n\n', 400],
  ['bare CR in a header', 'GET / HTTP/1.1\r\nHost: a\r\nX: 1\rContent-Length: 44\r\n\r\n', 400],
  ['NUL in a header', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n', 400],
  ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
  ['missing Host', 'GET / HTTP/1.1\r\n\r\n', 400],
  ['space in the target', 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ['dot-dot past a route', 'GET /public/../admin HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505],
  ['CONNECT tunnel', 'CONNECT internal:22 HTTP/1.1\r\nHost: internal:22\r\n\r\n', 501],
  ['unknown Expect', 'POST / HTTP/1.1\r\nHost: a\r\nExpect: 101-upgrade\r\nContent-Length: 0\r\n\r\n', 417],
];

for (const [name, attack, status] of headAttacks) {
  test(`refused: ${name}`, async () => {
    const before = up.requests.length;
    const r = await rawExchange(gh.port, attack + SMUGGLED);
    const res = parseResponses(r.data);
    assert.equal(res.length, 1, `exactly one response: ${JSON.stringify(r.data)}`);
    assert.equal(res[0].status, status);
    assert.equal(res[0].headers.connection, 'close');
    assert.equal(JSON.parse(res[0].body).error.status, status);
    assert.equal(r.closed, true, 'connection closed');
    assert.equal(up.requests.length, before, 'nothing reached the upstream');
  });
}

// Bodies whose framing breaks part-way: the head was valid and went upstream, but no second request may.
const bodyAttacks = [
  ['chunk size with junk', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n'],
  ['chunk size overflow', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000000\r\n'],
  ['chunk data longer than its size', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n'],
  ['bare LF after a chunk size', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n'],
  ['negative chunk size', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n'],
];

for (const [name, attack] of bodyAttacks) {
  test(`refused mid-body: ${name}`, async () => {
    const before = up.requests.length;
    const r = await rawExchange(gh.port, attack + SMUGGLED);
    const res = parseResponses(r.data);
    assert.equal(res.length, 1);
    assert.equal(res[0].status, 400);
    assert.equal(r.closed, true);
    assert.ok(!up.requests.slice(before).some((q) => q.target === '/smuggled'), 'the smuggled request never arrived');
  });
}

test('a valid request followed by a pipelined one: both answered in order (the control case)', async () => {
  const r = await rawExchange(gh.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' + SMUGGLED);
  const res = parseResponses(r.data);
  assert.deepEqual(res.map((x) => x.body), ['seen /', 'seen /smuggled']);
});

test('malformed upstream responses become 502 and their bytes never reach the client', async () => {
  const bad = [
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\nContent-Length: 5\n\nhello',
    'HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX-Evil : yes\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n',
    'SSH-2.0-OpenSSH_9.2\r\n',
  ];
  for (const resp of bad) {
    const bup = await startUpstream(() => resp);
    const g = await startGatehouse(`
apis:
  - name: bad
    route: { path: / }
    upstream: { targets: ["${bup.url}"] }
`);
    const r = await rawExchange(g.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const res = parseResponses(r.data);
    assert.equal(res[0].status, 502, resp);
    assert.ok(!r.data.includes('hello') && !r.data.includes('Evil') && !r.data.includes('SSH'), r.data);
    await g.stop();
    await bup.close();
  }
});
