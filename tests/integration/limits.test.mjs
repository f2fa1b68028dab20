// Limits, timeouts and upstream failures: slowloris, idle keep-alive, 413/431, upstream down (502),
// slow (504), retries, stale pooled connections, and bounded memory for a 1 GiB upload.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startGatehouse, startUpstream, rawExchange, parseResponses, rss, sleep, streamBytes } from './helpers.mjs';

const cleanup = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

async function setup(yaml, respond) {
  const up = await startUpstream(respond);
  const gh = await startGatehouse(yaml(up));
  cleanup.push(() => up.close(), () => gh.stop());
  return { up, gh };
}

// a port nothing listens on
async function deadPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}

test('slowloris: a head that dribbles in is cut off at header_timeout with 408', async () => {
  const { gh, up } = await setup((u) => `
limits: { header_timeout: 1s, idle_timeout: 5s }
apis:
  - name: a
    route: { path: / }
    upstream: { targets: ["${u.url}"] }
`);
  const writes = ['GET / HTTP/1.1\r\n'];
  for (let i = 0; i < 40; i++) writes.push(150, `X-${i}: y\r\n`);
  const r = await rawExchange(gh.port, null, { writes, totalMs: 8000 });
  assert.equal(r.closed, true);
  assert.ok(r.ms < 3000, `cut off after ${r.ms} ms`);
  assert.equal(parseResponses(r.data)[0].status, 408);
  assert.equal(up.requests.length, 0);
});

test('a connection that sends nothing is closed at header_timeout; idle keep-alive at idle_timeout', async () => {
  const { gh } = await setup((u) => `
limits: { header_timeout: 500ms, idle_timeout: 1s }
apis:
  - name: a
    route: { path: / }
    upstream: { targets: ["${u.url}"] }
`);
  let r = await rawExchange(gh.port, '', { idleMs: 5000 });
  assert.equal(r.closed, true);
  assert.equal(r.data, '');
  assert.ok(r.ms >= 400 && r.ms < 2500, `${r.ms} ms`);
  r = await rawExchange(gh.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 5000 });
  assert.equal(parseResponses(r.data)[0].status, 200);
  assert.equal(r.closed, true);
  assert.ok(r.ms >= 900 && r.ms < 3000, `idle close after ${r.ms} ms`);
});

test('413 for a declared body over body_bytes, 413 for a chunked body that grows past it, 431 for big heads', async () => {
  const { gh, up } = await setup((u) => `
limits: { header_bytes: 2k, body_bytes: 1k }
apis:
  - name: a
    route: { path: / }
    upstream: { targets: ["${u.url}"] }
`);
  let r = await rawExchange(gh.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n');
  assert.equal(parseResponses(r.data)[0].status, 413);
  assert.equal(r.closed, true);
  assert.equal(up.requests.length, 0);
  r = await rawExchange(gh.port, `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'a'.repeat(1024)}\r\n1\r\nb\r\n0\r\n\r\n`);
  assert.equal(parseResponses(r.data)[0].status, 413);
  r = await rawExchange(gh.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(3000)}\r\n\r\n`);
  assert.equal(parseResponses(r.data)[0].status, 431);
  r = await rawExchange(gh.port, `GET /${'a'.repeat(3000)} HTTP/1.1\r\nHost: a\r\n\r\n`);
  assert.equal(parseResponses(r.data)[0].status, 414);
  r = await rawExchange(gh.port, `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1024\r\n\r\n${'z'.repeat(1024)}`);
  assert.equal(parseResponses(r.data)[0].status, 200, 'exactly at the limit is fine');
});

test('upstream down: 502 after one retry; a second target takes over', async () => {
  const dead = await deadPort();
  const { gh, up } = await setup((u) => `
apis:
  - name: down
    route: { path: /down }
    upstream: { targets: ["http://127.0.0.1:${dead}"] }
  - name: failover
    route: { path: /failover }
    upstream: { targets: ["http://127.0.0.1:${dead}", "${u.url}"] }
`);
  let r = await rawExchange(gh.port, 'GET /down HTTP/1.1\r\nHost: a\r\n\r\n');
  const res = parseResponses(r.data)[0];
  assert.equal(res.status, 502);
  assert.equal(JSON.parse(res.body).error.message, 'upstream unavailable');
  assert.equal(r.closed, false, 'the client connection survives a 502 for a body-less request');
  for (let i = 0; i < 4; i++) {
    // POST too: a refused connection means nothing was sent, so it is safe to try the next target
    r = await rawExchange(gh.port, `POST /failover HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi`);
    assert.equal(parseResponses(r.data)[0].status, 200, `request ${i}`);
  }
  assert.equal(up.requests.length, 4);
});

test('upstream slow: 504 after the response timeout', async () => {
  const { gh } = await setup((u) => `
apis:
  - name: slow
    route: { path: / }
    upstream: { targets: ["${u.url}"], timeout: 300ms }
`, async () => { await sleep(1500); return { status: 200, body: 'late' }; });
  const r = await rawExchange(gh.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 3000 });
  const res = parseResponses(r.data)[0];
  assert.equal(res.status, 504);
  assert.ok(r.firstMs >= 250 && r.firstMs < 1400, `answered after ${r.firstMs} ms`);
  assert.ok(!r.data.includes('late'));
});

test('a pooled connection closed by the upstream is retried transparently for idempotent requests', async () => {
  const { gh, up } = await setup((u) => `
apis:
  - name: a
    route: { path: / }
    upstream: { targets: ["${u.url}"] }
`, (req, sock) => {
    // answer keep-alive, then close the connection shortly after, as upstream idle timeouts do
    setTimeout(() => sock.destroy(), 50);
    return { status: 200, body: `ok ${req.target}` };
  });
  for (let i = 0; i < 5; i++) {
    const r = await rawExchange(gh.port, `GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`, { idleMs: 100 });
    assert.equal(parseResponses(r.data)[0].body, `ok /${i}`);
    await sleep(100);
  }
  assert.equal(up.requests.length, 5);
});

test('upstream closing mid-body: the client sees a truncated response, never a short "complete" one', async () => {
  const { gh } = await setup((u) => `
apis:
  - name: a
    route: { path: / }
    upstream: { targets: ["${u.url}"] }
`, (req, sock) => {
    sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part');
    setTimeout(() => sock.destroy(), 50);
    return null;
  });
  const r = await rawExchange(gh.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 2000 });
  assert.ok(r.data.startsWith('HTTP/1.1 200 OK\r\n'));
  assert.ok(r.data.endsWith('only part'));
  assert.equal(r.closed, true);
});

test('a 1 GiB upload and a 256 MiB download stream through with bounded memory', { timeout: 180000 }, async () => {
  const big = 256 * 1024 * 1024;
  const up = await startUpstream((req) => (req.head.startsWith('GET') ? null : { status: 200, body: 'stored' }),
    { countOnly: true });
  // the download is served raw by a second upstream that streams its body
  const dl = net.createServer((sock) => {
    sock.once('data', () => {
      sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${big}\r\n\r\n`);
      streamBytes(sock, big, 'd');
    });
    sock.on('error', () => {});
  });
  await new Promise((r) => dl.listen(0, '127.0.0.1', r));
  const gh = await startGatehouse(`
limits: { body_bytes: 2g }
apis:
  - name: up
    route: { path: /upload }
    upstream: { targets: ["${up.url}"], timeout: 60s }
  - name: down
    route: { path: /download }
    upstream: { targets: ["http://127.0.0.1:${dl.address().port}"], timeout: 60s }
`);
  cleanup.push(() => up.close(), () => new Promise((r) => dl.close(r)), () => gh.stop());
  const base = rss(gh.proc.pid);
  const total = 1024 * 1024 * 1024;
  let peak = base;
  const sampler = setInterval(() => { peak = Math.max(peak, rss(gh.proc.pid)); }, 20);
  const answer = await new Promise((resolve, reject) => {
    const sock = net.connect(gh.port, '127.0.0.1');
    let data = '';
    sock.on('data', (d) => { data += d; if (data.includes('stored')) { sock.destroy(); resolve(data); } });
    sock.on('error', reject);
    sock.write(`POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: ${total}\r\n\r\n`);
    streamBytes(sock, total, 'u');
  });
  assert.match(answer, /^HTTP\/1.1 200 OK/);
  assert.equal(up.requests[0].bodyLength, total);
  assert.equal(up.received - up.requests[0].head.length - 4, total, 'every byte arrived');
  let got = 0;
  await new Promise((resolve, reject) => {
    const sock = net.connect(gh.port, '127.0.0.1');
    sock.on('data', (d) => { got += d.length; });
    sock.on('error', reject);
    sock.on('close', resolve);
    sock.write('GET /download HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  });
  clearInterval(sampler);
  assert.ok(got > big, `downloaded ${got}`);
  const growth = peak - base;
  assert.ok(growth < 16 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
});

test('a response timeout on a reused connection is answered 504 and never retried', async () => {
  let n = 0;
  const { gh, up } = await setup((u) => `
apis:
  - name: a
    route: { path: / }
    upstream: { targets: ["${u.url}"], timeout: 300ms }
`, async () => { n++; if (n > 1) await sleep(1000); return { status: 200, body: 'ok' }; });
  let r = await rawExchange(gh.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 100 });
  assert.equal(parseResponses(r.data)[0].status, 200);
  r = await rawExchange(gh.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { idleMs: 1500 });
  assert.equal(parseResponses(r.data)[0].status, 504);
  await sleep(1000);
  assert.equal(up.connections, 1, 'the second request went over the pooled connection');
  assert.equal(up.requests.length, 2, 'and was not sent again');
});

test('a client that stops reading its response is cut off after idle_timeout (slow read)', async () => {
  let upstreamClosed = false;
  const big = 64 * 1024 * 1024;
  const dl = net.createServer((sock) => {
    sock.once('data', () => {
      sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${big}\r\n\r\n`);
      streamBytes(sock, big, 's');
    });
    sock.on('error', () => {});
    sock.on('close', () => { upstreamClosed = true; });
  });
  await new Promise((r) => dl.listen(0, '127.0.0.1', r));
  const gh = await startGatehouse(`
limits: { idle_timeout: 1s }
apis:
  - name: d
    route: { path: / }
    upstream: { targets: ["http://127.0.0.1:${dl.address().port}"], timeout: 30s }
`);
  cleanup.push(() => new Promise((r) => dl.close(r)), () => gh.stop());
  const sock = net.connect(gh.port, '127.0.0.1');
  let closed = false;
  sock.on('close', () => { closed = true; });
  sock.on('error', () => {});
  sock.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  sock.pause(); // never read
  const t0 = Date.now();
  while (!upstreamClosed && Date.now() - t0 < 8000) await sleep(50);
  assert.ok(upstreamClosed, 'the exchange was abandoned');
  assert.ok(Date.now() - t0 >= 900, 'not before idle_timeout');
  sock.destroy();
  assert.match(gh.stderr, /did not read the response for 1000 ms/);
  void closed;
});

test('a body that fills the buffer before the upstream connection is up still flows (no stall)', async () => {
  const { gh, up } = await setup((u) => `
limits: { header_bytes: 1k }
apis:
  - name: a
    route: { path: / }
    upstream: { targets: ["${u.url}"] }
`, (req) => ({ status: 200, body: `got ${req.body.length}` }));
  const body = 'b'.repeat(1 << 20);
  // head and body in one write: the first read fills the buffer while the connect is in flight
  const r = await rawExchange(gh.port, `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    { idleMs: 3000, totalMs: 15000 });
  assert.equal(parseResponses(r.data)[0]?.body, `got ${1 << 20}`);
  assert.equal(up.requests.length, 1);
});
