// SIGHUP reload (good and bad configs, under load) and SIGTERM drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { startGatehouse, startUpstream, rawExchange, parseResponses, sleep } from './helpers.mjs';

const api = (name, prefix, url) => `  - name: ${name}\n    route: { path: ${prefix} }\n    upstream: { targets: ["${url}"] }\n`;

test('SIGHUP applies a new config; a bad one is refused and the old one keeps serving', async () => {
  const up = await startUpstream((req) => ({ status: 200, body: req.target }));
  const gh = await startGatehouse(`apis:\n${api('a', '/a', up.url)}`, { workers: 2 });
  try {
    // each worker has its own listening socket on the one port (SO_REUSEPORT)
    const hexPort = gh.port.toString(16).toUpperCase().padStart(4, '0');
    const listeners = readFileSync('/proc/net/tcp', 'utf8').split('\n')
      .filter((l) => l.includes(`:${hexPort} `) && l.trim().split(/\s+/)[3] === '0A');
    assert.equal(listeners.length, 2, 'two listening sockets for two workers');
    let r = await rawExchange(gh.port, 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(parseResponses(r.data)[0].status, 404);
    gh.reload(`apis:\n${api('a', '/a', up.url)}${api('b', '/b', up.url)}`);
    await gh.waitLog(/reloaded .*generation 2, 2 APIs/);
    await sleep(50);
    for (let i = 0; i < 4; i++) { // both workers
      r = await rawExchange(gh.port, 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(parseResponses(r.data)[0].status, 200);
    }
    gh.reload(`apis:\n  - name: broken\n    route: { path: /c }\n    upstream: { targets: [], timeout: soon }\n`);
    await gh.waitLog(/reload refused, still serving config generation 2: .*gatehouse.yaml:\d+: apis.broken.upstream.timeout: 'soon' is not a duration/);
    r = await rawExchange(gh.port, 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(parseResponses(r.data)[0].status, 200);
    // a file that crashes the YAML parser is refused too, and the gateway lives on
    gh.reload('apis:\n  ? a:\t-\n');
    await gh.waitLog(/reload refused, still serving config generation 2: .*the YAML parser crashed on this file/);
    r = await rawExchange(gh.port, 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(parseResponses(r.data)[0].status, 200);
    assert.equal(gh.proc.exitCode, null, 'still running');
  } finally {
    await gh.stop();
    await up.close();
  }
});

test('reload under load: no request fails while the config is swapped repeatedly', { timeout: 60000 }, async () => {
  const up = await startUpstream(async (req) => ({ status: 200, body: 'ok' }));
  const cfgA = `apis:\n${api('a', '/', up.url)}`;
  const cfgB = `limits: { idle_timeout: 30s }\napis:\n${api('a', '/', up.url)}${api('b', '/other', up.url)}`;
  const gh = await startGatehouse(cfgA, { workers: 2 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let ok = 0, failed = 0, stop = false;
  const errors = [];
  const worker = async () => {
    while (!stop) {
      await new Promise((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: gh.port, path: '/x', agent }, (res) => {
          res.resume();
          res.on('end', () => { if (res.statusCode === 200) ok++; else { failed++; errors.push(res.statusCode); } resolve(); });
        });
        req.on('error', (e) => { failed++; errors.push(e.code); resolve(); });
      });
    }
  };
  const load = Array.from({ length: 16 }, worker);
  for (let i = 0; i < 10; i++) {
    await sleep(150);
    gh.reload(i % 2 ? cfgA : cfgB);
  }
  await sleep(200);
  stop = true;
  await Promise.all(load);
  agent.destroy();
  await gh.waitLog(/generation 11/);
  await gh.stop();
  await up.close();
  assert.equal(failed, 0, `failures: ${errors.slice(0, 5)}`);
  assert.ok(ok > 100, `${ok} requests`);
});

test('SIGTERM drains: a request in flight completes, new connections are refused, exit 0', async () => {
  const up = await startUpstream(async () => { await sleep(700); return { status: 200, body: 'finished' }; });
  const gh = await startGatehouse(`apis:\n${api('a', '/', up.url)}`);
  const inflight = rawExchange(gh.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { idleMs: 3000 });
  const idle = rawExchange(gh.port, '', { idleMs: 3000 });
  await sleep(200);
  gh.proc.kill('SIGTERM');
  const r = await inflight;
  const res = parseResponses(r.data)[0];
  assert.equal(res.status, 200);
  assert.equal(res.body, 'finished');
  assert.equal(res.headers.connection, 'close');
  assert.equal((await idle).closed, true, 'an idle connection is closed at once');
  const { code } = await gh.exited;
  assert.equal(code, 0);
  await up.close();
  assert.match(gh.stderr, /draining requests in flight/);
});
