// The access workflow over time: webhooks signed and retried until the receiver is up (and across a
// restart), key rotation without downtime, an API's consumers for its owners, revocation by owners,
// reminders and expiry with a moved clock (the gateway refuses afterwards), renewal by a new request,
// and nobody reaching someone else's key or grant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BIN, startGatehouse, startUpstream, sleep, freePort, accessYaml, devLogin } from './helpers.mjs';

const HOOK_SECRET = 'whsec_0123456789abcdef';
const DAY = 86400;

const org = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: engineering }
spec: { type: team, children: [] }
` + [['ana', '[engineering]'], ['bo', '[]'], ['carol', '[engineering]'], ['dan', '[]']].map(([u, m]) => `---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: ${u} }
spec: { memberOf: ${m} }
`).join('');

// A webhook receiver that checks each signature as a receiver should: HMAC-SHA256 over "t.body",
// compared in constant time, on the exact bytes received.
function startReceiver(port, { status = 200 } = {}) {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const sig = req.headers['gatehouse-signature'] ?? '';
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig);
      const want = m && createHmac('sha256', HOOK_SECRET).update(`${m[1]}.`).update(body).digest();
      const ok = !!m && timingSafeEqual(Buffer.from(m[2], 'hex'), want) && Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
      const event = JSON.parse(body.toString());
      got.push({ ok, event, type: req.headers['gatehouse-event'], id: req.headers['gatehouse-event-id'],
        contentType: req.headers['content-type'] });
      res.writeHead(status).end();
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({
    got,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  })));
}

async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('workflow: webhooks, rotation, consumers, revocation, reminders, expiry and renewal', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-flow-'));
  writeFileSync(path.join(dir, 'org.yaml'), org);
  const clock = path.join(dir, 'clock');
  writeFileSync(clock, '0');
  const hookPort = await freePort();
  const up = await startUpstream(() => ({ status: 200, body: 'orders' }));
  const yaml = accessYaml({ catalogFile: `${dir}/org.yaml`, upstream: up.url, extra: '    auth: key\n',
    rest: `store: { path: "${dir}/gatehouse.db" }
secrets: { master_key_file: "${dir}/master.key" }
usage: { flush_interval: 1s }
access: { sweep_interval: 1s }
access_rules:
  - name: engineering-internal
    when: { requester_groups_any: [engineering] }
    decide: approve
    max_duration: 30d
  - name: default
    decide: owner_approval
    max_duration: 30d
webhooks:
  - name: ops
    url: "http://127.0.0.1:${hookPort}/hook"
    events: ["*"]
    secret: secret:ops-hook
    allow: [127.0.0.1/32]
    backoff: 1s
    max_attempts: 20
` });
  const before = (file) => {
    let r = spawnSync(BIN, ['secrets', 'init', '-c', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    r = spawnSync(BIN, ['secrets', 'set', '-c', file, 'ops-hook'], { input: HOOK_SECRET, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  const env = { GATEHOUSE_TEST_CLOCK_FILE: clock };
  let gh = await startGatehouse(yaml, { before, env });
  let rx = null;
  const portalOf = () => `http://127.0.0.1:${gh.portalPort}`;
  const signIn = (user) => devLogin(portalOf(), user);
  const send = (who, method, p, body) => fetch(`${portalOf()}${p}`, { method,
    headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const post = (who, p, body = {}) => send(who, 'POST', p, body);
  const get = (who, p) => fetch(`${portalOf()}${p}`, { headers: { cookie: who.cookie } });
  const call = (key) => fetch(`http://127.0.0.1:${gh.port}/orders/1`, { headers: { 'x-api-key': key } });
  const cli = (...args) => spawnSync(BIN, [...args, '-c', gh.file], { encoding: 'utf8' });
  const admin = cli('token', 'create', '--role', 'admin').stdout.trim();
  const adminGet = async (p) => (await fetch(`${portalOf()}${p}`, { headers: { authorization: `Bearer ${admin}` } })).json();
  const deliveries = async (q = '') => (await adminGet(`/api/webhooks/deliveries${q}`)).items;
  const received = (type) => rx.got.filter((g) => g.type === type);
  try {
    for (let i = 0; i < 100 && (await (await fetch(`${portalOf()}/auth/dev-login`)).json()).users.length < 4; i++) await sleep(20);
    let ana = await signIn('ana');
    let r = await post(ana, '/api/access/requests', { api: 'orders', plan: 'starter', app: 'ana-app', appOwner: 'ana' });
    const req = await r.json();
    assert.equal(r.status, 201, JSON.stringify(req));
    const k1 = req.key;
    assert.equal((await call(k1)).status, 200);

    // the receiver is down: the deliveries wait, with the failure recorded for admins
    const failed = await until('a failed attempt', async () => (await deliveries()).find((d) => d.attempts >= 1));
    assert.equal(failed.state, 'pending');
    assert.equal(failed.webhook, 'ops');
    assert.match(failed.lastError, /connect|refused/i);
    const hooks = (await adminGet('/api/webhooks')).items;
    assert.equal(hooks[0].name, 'ops');
    assert.ok(hooks[0].deliveries.pending >= 2); // request.created and request.decided
    const nonAdmin = await get(ana, '/api/webhooks/deliveries');
    assert.equal(nonAdmin.status, 403);

    // up: the retry delivers, signed, once per event
    rx = await startReceiver(hookPort);
    await until('request.created delivered', () => received('request.created').length && received('request.decided').length);
    const created = received('request.created')[0];
    assert.ok(created.ok, 'signature verifies');
    assert.equal(created.contentType, 'application/json');
    assert.equal(created.event.type, 'request.created');
    assert.equal(created.event.id, created.id);
    assert.equal(created.event.data.request, req.id);
    assert.equal(created.event.data.requester, 'user:default/ana');
    assert.ok(!JSON.stringify(rx.got).includes(k1), 'never the key');
    await until('delivered state', async () => (await deliveries('?state=delivered')).length >= 2);
    const done = (await deliveries('?state=delivered')).find((d) => d.type === 'request.created');
    assert.ok(done.attempts >= 2, 'it took a retry');
    assert.equal(done.lastStatus, 200);
    assert.equal(received('request.created').length, 1);
    // the admin page shows the rules, the webhook and its deliveries; nobody else sees it
    const adminPage = await (await fetch(`${portalOf()}/admin`, { headers: { authorization: `Bearer ${admin}` } })).text();
    assert.match(adminPage, /<tr><td>engineering-internal<\/td><td><strong>requester in<\/strong>: group:default\/engineering<\/td><td>approve<\/td><td>30 days<\/td><\/tr>/);
    assert.match(adminPage, /<tr><td>default<\/td><td><span class="muted">always \(the default\)<\/span><\/td><td>owner_approval<\/td>/);
    assert.match(adminPage, /<h3>ops<\/h3><p><code>http:\/\/127\.0\.0\.1:\d+\/hook<\/code> &middot; events: \*<\/p>/);
    assert.match(adminPage, /<tr><td>ops<\/td><td>evt_\d+<\/td><td>request\.created<\/td><td><span class="badge ok">delivered<\/span><\/td><td>[2-9]\d*<\/td><td>HTTP 200<\/td>/);
    assert.equal((await get(ana, '/admin')).status, 403);

    // rotation without downtime: a secondary first (both work), then it becomes primary
    r = await post(ana, '/api/apps/ana-app/keys/rotate');
    assert.equal(r.status, 201);
    const rot1 = await r.json();
    assert.equal(rot1.promoted, null);
    assert.equal((await call(k1)).status, 200);
    assert.equal((await call(rot1.key)).status, 200);
    r = await post(ana, '/api/apps/ana-app/keys/rotate');
    const rot2 = await r.json();
    assert.equal(rot2.promoted, rot1.id);
    assert.equal((await call(k1)).status, 401);
    assert.equal((await call(rot1.key)).status, 200);
    assert.equal((await call(rot2.key)).status, 200);
    await until('key.rotated', () => received('key.rotated').length === 2);
    const second = received('key.rotated').find((g) => g.event.data.promoted); // deliveries may arrive in any order
    assert.equal(second.event.data.revoked, req.keyId);
    assert.equal(second.event.data.promoted, rot1.id);
    assert.equal(second.event.data.issued, rot2.id);
    // nobody else rotates it, revokes its keys or ends its grant: as if they did not exist
    const bo = await signIn('bo');
    assert.equal((await post(bo, '/api/apps/ana-app/keys/rotate')).status, 404);
    assert.equal((await send(bo, 'DELETE', `/api/keys/${rot2.id}`)).status, 404);
    assert.equal((await send(bo, 'DELETE', `/api/grants/${req.grantId}`)).status, 404);
    assert.equal((await call(rot2.key)).status, 200);

    // bo asks; the API's owners approve; bo's key works; then an owner ends it
    r = await post(bo, '/api/access/requests', { api: 'orders', plan: 'gold', app: 'bo-app', appOwner: 'bo' });
    const boReq = await r.json();
    assert.equal(r.status, 202);
    r = await post(ana, `/api/access/requests/${boReq.id}/decide`, { decision: 'approve' });
    const boGrant = (await r.json()).grantId;
    const boKey = (await (await post(bo, '/api/apps/bo-app/keys')).json()).key;
    assert.equal((await call(boKey)).status, 200);

    // the owners see who uses their API, and how much; others do not
    await until('usage counted', async () => {
      const items = (await (await get(ana, '/api/apis/orders/consumers')).json()).items;
      return items.find((c) => c.app === 'ana-app' && c.requests30d >= 4);
    });
    const consumers = (await (await get(ana, '/api/apis/orders/consumers')).json()).items;
    assert.deepEqual(consumers.map((c) => [c.app, c.appOwner, c.plan, c.state]),
      [['ana-app', 'user:default/ana', 'starter', 'active'], ['bo-app', 'user:default/bo', 'gold', 'active']]);
    assert.equal((await get(bo, '/api/apis/orders/consumers')).status, 403);
    assert.equal((await get(bo, '/api/apis/nope/consumers')).status, 404);

    r = await send(ana, 'DELETE', `/api/grants/${boGrant}`);
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal((await call(boKey)).status, 403);
    assert.equal((await send(ana, 'DELETE', `/api/grants/${boGrant}`)).status, 409);
    await until('grant.revoked', () => received('grant.revoked').length === 1);
    assert.equal(received('grant.revoked')[0].event.data.by, 'user:default/ana');
    // and bo may end his own key
    assert.equal((await send(bo, 'DELETE', `/api/keys/${(await (await get(bo, '/api/keys')).json()).items[0].id}`)).status, 200);

    // dan's request waits for the owners, who never answer
    const dan = await signIn('dan');
    r = await post(dan, '/api/access/requests', { api: 'orders', plan: 'starter', app: 'dan-app', appOwner: 'dan' });
    const danReq = await r.json();
    assert.equal(r.status, 202);

    // twenty days on: a reminder (ten days left); dan's request has expired
    writeFileSync(clock, String(20 * DAY));
    await until('grant.expiring', () => received('grant.expiring').length === 1);
    const remind = received('grant.expiring')[0].event.data;
    assert.equal(remind.grant, req.grantId);
    assert.equal(remind.daysLeft, 10);
    await until('request.expired', () => received('request.expired').length === 1);
    assert.equal(received('request.expired')[0].event.data.request, danReq.id);
    assert.equal((await call(rot2.key)).status, 200);

    // thirty-one days on: the grant has ended, and the gateway refuses its keys
    writeFileSync(clock, String(31 * DAY));
    await until('grant.expired', () => received('grant.expired').length === 1);
    assert.equal((await call(rot2.key)).status, 403);
    const grants = (await adminGet('/api/grants')).items;
    assert.equal(grants.find((g) => g.id === req.grantId).state, 'expired');

    // renewal: a new request; the application's key works again
    ana = await signIn('ana'); // the old session ended with the clock
    r = await post(ana, '/api/access/requests', { api: 'orders', plan: 'starter', app: 'ana-app' });
    const renewed = await r.json();
    assert.equal(r.status, 201, JSON.stringify(renewed));
    assert.equal(renewed.key, undefined); // it has one
    assert.equal((await call(rot2.key)).status, 200);

    // a restart loses nothing: events written while the receiver is down arrive after
    await rx.close();
    r = await post(ana, '/api/apps/ana-app/keys/rotate');
    assert.equal(r.status, 201);
    await gh.stop();
    writeFileSync(clock, '0'); // back to the receiver's time, which checks the signature's age
    const seen = rx.got.length;
    gh = await startGatehouse(yaml, { env });
    rx = await startReceiver(hookPort);
    const after = await until('key.rotated after restart', () => rx.got.find((g) => g.type === 'key.rotated'));
    assert.ok(after.ok);
    assert.ok(seen >= 8);

    // every step is on the record
    const audit = (await adminGet('/api/audit?limit=1000')).items.map((e) => e.action);
    for (const a of ['key.rotate', 'grant.revoke', 'grant.expire', 'access.expire', 'grant.create'])
      assert.ok(audit.includes(a), a);
  } catch (e) {
    console.log(gh.stderr);
    throw e;
  } finally {
    await gh.stop();
    await rx?.close();
    await up.close();
  }
});

test('webhooks: a receiver that keeps failing is given up on after max_attempts', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-hookfail-'));
  writeFileSync(path.join(dir, 'org.yaml'), org);
  const hookPort = await freePort();
  const rx = await startReceiver(hookPort, { status: 500 });
  const gh = await startGatehouse(accessYaml({ catalogFile: `${dir}/org.yaml`, rest: `secrets: { master_key_file: "${dir}/master.key" }
access_rules:
  - name: default
    decide: owner_approval
webhooks:
  - name: flaky
    url: "http://127.0.0.1:${hookPort}/"
    events: [request.created]
    secret: secret:ops-hook
    allow: [127.0.0.0/8]
    backoff: 1s
    max_attempts: 2
` }), { before: (file) => {
    spawnSync(BIN, ['secrets', 'init', '-c', file]);
    spawnSync(BIN, ['secrets', 'set', '-c', file, 'ops-hook'], { input: HOOK_SECRET });
  } });
  try {
    const portal = `http://127.0.0.1:${gh.portalPort}`;
    for (let i = 0; i < 100 && (await (await fetch(`${portal}/auth/dev-login`)).json()).users.length < 4; i++) await sleep(20);
    const r = await fetch(`${portal}/auth/dev-login`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'bo' }) });
    const cookie = r.headers.getSetCookie()[0].split(';')[0];
    const csrf = (await (await fetch(`${portal}/api/me`, { headers: { cookie } })).json()).csrfToken;
    const q = await fetch(`${portal}/api/access/requests`, { method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ api: 'orders', plan: 'starter', app: 'bo-app', appOwner: 'bo' }) });
    assert.equal(q.status, 202);
    const admin = spawnSync(BIN, ['token', 'create', '--role', 'admin', '-c', gh.file], { encoding: 'utf8' }).stdout.trim();
    const d = await until('failed', async () => (await (await fetch(`${portal}/api/webhooks/deliveries?state=failed`,
      { headers: { authorization: `Bearer ${admin}` } })).json()).items[0]);
    assert.equal(d.attempts, 2);
    assert.equal(d.lastStatus, 500);
    assert.match(d.lastError, /answered 500/);
    assert.equal(rx.got.length, 2); // the first try and one retry, each signed
    assert.ok(rx.got.every((g) => g.ok && g.type === 'request.created'));
    await sleep(2500);
    assert.equal(rx.got.length, 2);
  } finally {
    await gh.stop();
    await rx.close();
  }
});
