// Upstream selection and connection pools, the access log file, and the drain deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { startGatehouse, startUpstream, rawExchange, parseResponses, sleep } from './helpers.mjs';

test('round robin across targets', async () => {
  const a = await startUpstream(() => ({ status: 200, body: 'a' }));
  const b = await startUpstream(() => ({ status: 200, body: 'b' }));
  const gh = await startGatehouse(`
apis:
  - name: rr
    route: { path: / }
    upstream: { targets: ["${a.url}", "${b.url}"] }
`);
  const bodies = [];
  for (let i = 0; i < 6; i++) {
    const r = await rawExchange(gh.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { idleMs: 100 });
    bodies.push(parseResponses(r.data)[0].body);
  }
  await gh.stop();
  await a.close();
  await b.close();
  assert.deepEqual(bodies.sort(), ['a', 'a', 'a', 'b', 'b', 'b']);
});

test('the idle pool keeps at most max_idle connections and closes them after idle_timeout', async () => {
  let open = 0;
  const up = await startUpstream(async () => { await sleep(300); return { status: 200, body: 'ok' }; });
  up.server.on('connection', (s) => { open++; s.on('close', () => open--); });
  const gh = await startGatehouse(`
upstreams: { max_idle: 1, idle_timeout: 2s }
apis:
  - name: p
    route: { path: / }
    upstream: { targets: ["${up.url}"] }
`);
  const rs = await Promise.all([1, 2, 3].map(() => rawExchange(gh.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { idleMs: 600 })));
  assert.deepEqual(rs.map((r) => parseResponses(r.data)[0].status), [200, 200, 200]);
  assert.equal(up.connections, 3, 'three requests at once need three connections');
  assert.equal(open, 1, 'only max_idle stay open once idle');
  // the kept connection is reused
  await rawExchange(gh.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { idleMs: 600 });
  assert.equal(up.connections, 3);
  await sleep(2600);
  assert.equal(open, 0, 'closed after idle_timeout');
  await gh.stop();
  await up.close();
});

test('the access log goes to a file; lines are flushed within a second and at exit', async () => {
  const up = await startUpstream(() => ({ status: 201, body: 'made' }));
  const gh = await startGatehouse(`
log: { access: "ACCESS_LOG" }
apis:
  - name: logged
    route: { path: /x }
    upstream: { targets: ["${up.url}"] }
`.replace('ACCESS_LOG', path.join('/tmp', `gh-access-${process.pid}.log`)));
  const file = path.join('/tmp', `gh-access-${process.pid}.log`);
  await rawExchange(gh.port, 'POST /x/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nX-Request-Id: log-1\r\n\r\n', { idleMs: 50 });
  await sleep(1300);
  let lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 1);
  assert.deepEqual(
    { request_id: lines[0].request_id, method: lines[0].method, path: lines[0].path, status: lines[0].status,
      bytes: lines[0].bytes, api: lines[0].api, client: lines[0].client },
    { request_id: 'log-1', method: 'POST', path: '/x/1', status: 201, bytes: 4, api: 'logged', client: '127.0.0.1' });
  assert.match(lines[0].time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  await rawExchange(gh.port, 'GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: log-2\r\n\r\n', { idleMs: 50 });
  await gh.stop();
  lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2, 'flushed at exit');
  assert.equal(lines[1].status, 404);
  assert.equal(lines[1].api, null);
  assert.ok(existsSync(file));
  await up.close();
});

test('drain_timeout: a request still running at the deadline is cut and the process exits', async () => {
  const up = await startUpstream(async () => { await sleep(5000); return { status: 200, body: 'too late' }; });
  const gh = await startGatehouse(`
limits: { drain_timeout: 500ms }
apis:
  - name: slow
    route: { path: / }
    upstream: { targets: ["${up.url}"], timeout: 30s }
`);
  const inflight = rawExchange(gh.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { idleMs: 8000 });
  await sleep(200);
  const t0 = Date.now();
  gh.proc.kill('SIGTERM');
  const { code } = await gh.exited;
  const took = Date.now() - t0;
  const r = await inflight;
  assert.equal(code, 0);
  assert.ok(took >= 400 && took < 3000, `exited after ${took} ms`);
  assert.equal(r.closed, true);
  assert.ok(!r.data.includes('too late'));
  assert.match(gh.stderr, /drain timeout, closing 1 connection/);
  await up.close();
});

test('SIGHUP reopens the access log: after rotation, and when the path changes', async () => {
  const up = await startUpstream(() => ({ status: 200, body: 'ok' }));
  const file = path.join('/tmp', `gh-rot-${process.pid}.log`);
  const other = path.join('/tmp', `gh-rot2-${process.pid}.log`);
  const cfg = (f) => `
log: { access: "${f}" }
apis:
  - name: r
    route: { path: / }
    upstream: { targets: ["${up.url}"] }
`;
  const gh = await startGatehouse(cfg(file));
  const get = (id) => rawExchange(gh.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\n\r\n`, { idleMs: 50 });
  const ids = (f) => readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).request_id);
  await get('before');
  await sleep(1200);
  renameSync(file, `${file}.1`); // what logrotate does
  gh.reload(cfg(file));
  await gh.waitLog(/generation 2/);
  await sleep(100);
  await get('after-rotate');
  gh.reload(cfg(other));
  await gh.waitLog(/generation 3/);
  await sleep(100);
  await get('after-move');
  await gh.stop();
  await up.close();
  assert.deepEqual(ids(`${file}.1`), ['before']);
  assert.deepEqual(ids(file), ['after-rotate']);
  assert.deepEqual(ids(other), ['after-move']);
});
