// The access journeys as people live them, signed in through a real OpenID provider (oidc-provider):
// one click to a working key; owner approval (not the requester, not an outsider, an owner); a
// denial; expiry with a moved clock; and attempts on other people's things refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, startGatehouse, startUpstream, freePort, sleep } from './helpers.mjs';
import { startIdp, browser, oidcIdentity, storeClientSecret } from './idp.mjs';

const accounts = {
  ana: { name: 'Ana Lima', email: 'ana@example.com', preferred_username: 'ana', groups: ['eng'] },
  bo: { name: 'Bo Berg', email: 'bo@example.com', preferred_username: 'bo', groups: [] },
  carol: { name: 'Carol Diaz', email: 'carol@example.com', preferred_username: 'carol', groups: ['eng'] },
  dan: { name: 'Dan Wu', email: 'dan@example.com', preferred_username: 'dan', groups: ['sales'] },
};

let idp, gh, up, portal, clock;

before(async () => {
  const port = await freePort();
  portal = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-journey-'));
  clock = path.join(dir, 'clock');
  writeFileSync(clock, '0');
  idp = await startIdp({ redirectUri: `${portal}/auth/callback`, accounts });
  up = await startUpstream(() => ({ status: 200, body: 'orders' }));
  gh = await startGatehouse(`log: { access: off }
${oidcIdentity(idp, portal, '  group_map: { eng: engineering, sales: sales }\n')}access: { sweep_interval: 1s }
plans:
  - name: starter
  - name: gold
apis:
  - name: orders
    route: { path: /orders }
    upstream: { targets: ["${up.url}"] }
    auth: key
    lifecycle: production
    owner: engineering
    plans: [starter, gold]
access_rules:
  - name: engineering-internal
    when: { requester_groups_any: [engineering], plans: [starter] }
    decide: approve
    max_duration: 90d
  - name: default
    decide: owner_approval
    max_duration: 30d
`, {
    portalPort: port,
    env: { GATEHOUSE_TEST_CLOCK_FILE: clock },
    before: storeClientSecret(BIN, idp),
  });
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${portal}/auth/login`, { redirect: 'manual' });
    if (r.status === 302) break;
    await sleep(20);
  }
});

after(async () => {
  await gh?.stop();
  await idp?.close();
  await up?.close();
});

// A person in their own browser, signed in through the provider, with the portal's CSRF token.
async function person(user) {
  const b = browser();
  idp.next = user;
  const { next } = await b.go(`${portal}/auth/login?return_to=%2F`, { stop: (u) => u.startsWith(`${portal}/auth/callback`) });
  assert.ok(next, 'the provider sent the browser back');
  const r = await b.request(next);
  assert.equal(r.status, 302, await r.clone().text());
  const me = await (await b.request(`${portal}/api/me`)).json();
  assert.equal(me.user, `user:default/${user}`);
  const send = (method, p, body) => b.request(`${portal}${p}`, { method,
    headers: { 'x-csrf-token': me.csrfToken, 'content-type': 'application/json', origin: portal },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return {
    me,
    post: (p, body = {}) => send('POST', p, body),
    del: (p) => send('DELETE', p),
    get: async (p) => (await b.request(`${portal}${p}`)).json(),
  };
}

const call = (key) => fetch(`http://127.0.0.1:${gh.port}/orders/1`, { headers: { 'x-api-key': key } });

test('journey: one click to a working key, owner approval, denial, expiry; BOLA and mass assignment refused', async () => {
  const ana = await person('ana');
  assert.deepEqual(ana.me.groups, ['group:default/engineering']);

  // auto-approved: the key works on the next call
  const t0 = performance.now();
  let r = await ana.post('/api/access/requests', { api: 'orders', plan: 'starter', app: 'ana-app', appOwner: 'ana', durationDays: 1 });
  const mine = await r.json();
  assert.equal(r.status, 201, JSON.stringify(mine));
  assert.equal(mine.rule, 'engineering-internal');
  assert.equal((await call(mine.key)).status, 200);
  console.log(`# click to first gateway call (OIDC session): ${(performance.now() - t0).toFixed(1)} ms`);

  // owner approval: bo asks for gold; bo cannot decide it, dan (outside the owning team) cannot, carol can
  const bo = await person('bo');
  r = await bo.post('/api/access/requests', { api: 'orders', plan: 'gold', app: 'bo-app', appOwner: 'bo', justification: 'reports' });
  const boReq = await r.json();
  assert.equal(r.status, 202);
  assert.equal(boReq.decide, 'owner_approval');
  assert.equal((await bo.post(`/api/access/requests/${boReq.id}/decide`, { decision: 'approve' })).status, 403);
  const dan = await person('dan');
  assert.equal((await dan.post(`/api/access/requests/${boReq.id}/decide`, { decision: 'approve' })).status, 403);
  assert.deepEqual((await dan.get('/api/access/approvals')).items, []);
  const carol = await person('carol');
  assert.deepEqual((await carol.get('/api/access/approvals')).items.map((q) => q.id), [boReq.id]);
  r = await carol.post(`/api/access/requests/${boReq.id}/decide`, { decision: 'approve', comment: 'ok for reports' });
  assert.equal(r.status, 200);
  r = await bo.post('/api/apps/bo-app/keys');
  assert.equal(r.status, 201);
  const boKey = (await r.json()).key;
  assert.equal((await call(boKey)).status, 200);

  // denied: dan's request, with the reason on it
  r = await dan.post('/api/access/requests', { api: 'orders', plan: 'starter', app: 'dan-app', appOwner: 'dan' });
  const danReq = await r.json();
  assert.equal(r.status, 202);
  r = await carol.post(`/api/access/requests/${danReq.id}/decide`, { decision: 'deny', comment: 'use the sales API' });
  assert.equal((await r.json()).state, 'denied');
  assert.equal((await dan.get('/api/access/requests')).items[0].state, 'denied');

  // BOLA: nobody reads or changes another person's application, key, grant or request
  assert.equal((await dan.post('/api/apps/bo-app/keys')).status, 404);
  assert.equal((await dan.post('/api/apps/bo-app/keys/rotate')).status, 404);
  const boKeys = (await bo.get('/api/keys')).items;
  assert.equal((await dan.del(`/api/keys/${boKeys[0].id}`)).status, 404);
  assert.equal((await dan.del(`/api/grants/${mine.grantId}`)).status, 404);
  assert.equal((await dan.post(`/api/access/requests/${boReq.id}/withdraw`)).status, 404);
  assert.deepEqual((await dan.get('/api/keys')).items, []);
  assert.equal((await dan.post('/api/access/requests', { api: 'orders', plan: 'starter', app: 'bo-app' })).status, 403);
  // mass assignment: members a client may not set
  r = await dan.post('/api/access/requests', { api: 'orders', plan: 'starter', app: 'dan-app', state: 'approved' });
  assert.equal(r.status, 400);
  r = await dan.post('/api/access/requests', { api: 'orders', plan: 'starter', app: 'dan-app', grantId: mine.grantId });
  assert.equal(r.status, 400);
  r = await bo.post(`/api/access/requests/${boReq.id}/decide`, { decision: 'approve', decidedBy: 'user:default/carol' });
  assert.notEqual(r.status, 200);
  assert.equal((await call(boKey)).status, 200);

  // two days on: ana's one-day grant has ended; the gateway refuses her key, bo's still works
  writeFileSync(clock, String(2 * 86400));
  for (let i = 0; i < 100 && (await call(mine.key)).status !== 403; i++) await sleep(50);
  assert.equal((await call(mine.key)).status, 403);
  assert.equal((await call(boKey)).status, 200);
  const admin = spawnSync(BIN, ['token', 'create', '--role', 'admin', '-c', gh.file], { encoding: 'utf8' }).stdout.trim();
  for (let i = 0; i < 100; i++) {
    const g = (await (await fetch(`${portal}/api/grants`, { headers: { authorization: `Bearer ${admin}` } })).json()).items;
    if (g.find((x) => x.id === mine.grantId).state === 'expired') break;
    await sleep(50);
  }
  const grants = (await (await fetch(`${portal}/api/grants`, { headers: { authorization: `Bearer ${admin}` } })).json()).items;
  assert.equal(grants.find((x) => x.id === mine.grantId).state, 'expired');
  writeFileSync(clock, '0');
});
