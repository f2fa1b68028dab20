// Requests for access: a rule that approves gives a working key at once; one that asks the owners
// leaves the request pending; duplicates, other people's applications and requests, and members a
// client may not set are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, startGatehouse, startUpstream, sleep, accessYaml, devLogin } from './helpers.mjs';

const org = ['engineering'].map((g) => `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: ${g} }
spec: { type: team, children: [] }
`).concat([['ana', '[engineering]'], ['bo', '[]'], ['carol', '[engineering]'], ['dan', '[]']].map(([u, m]) => `apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: ${u} }
spec: { memberOf: ${m} }
`)).join('---\n');

test('request access: auto-approved to a working key in one call, owner approval left pending, BOLA refused', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-req-'));
  writeFileSync(path.join(dir, 'org.yaml'), org);
  const up = await startUpstream(() => ({ status: 200, body: 'orders' }));
  const gh = await startGatehouse(accessYaml({ catalogFile: `${dir}/org.yaml`, upstream: up.url, extra: '    auth: key\n',
    rest: `access_rules:
  - name: engineering-internal
    when: { requester_groups_any: [engineering], plans: [starter] }
    decide: approve
    max_duration: 90d
  - name: default
    decide: owner_approval
    max_duration: 30d
` }), { workers: 2 });
  const portal = `http://127.0.0.1:${gh.portalPort}`;
  const signIn = (user) => devLogin(portal, user);
  const post = (who, p, body) => fetch(`${portal}${p}`, { method: 'POST',
    headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const get = (who, p) => fetch(`${portal}${p}`, { headers: { cookie: who.cookie } });
  const call = (key) => fetch(`http://127.0.0.1:${gh.port}/orders/1`, { headers: key ? { 'x-api-key': key } : {} });
  try {
    for (let i = 0; i < 100 && (await (await fetch(`${portal}/auth/dev-login`)).json()).users.length < 4; i++) await sleep(20);
    const ana = await signIn('ana');

    // one click: the rule approves; the key works on the very next call
    const t0 = performance.now();
    let r = await post(ana, '/api/access/requests', { api: 'orders', plan: 'starter', app: 'ana-app',
      appOwner: 'ana', justification: 'building the checkout' });
    const body = await r.json();
    assert.equal(r.status, 201, JSON.stringify(body));
    assert.equal(body.state, 'approved');
    assert.equal(body.rule, 'engineering-internal');
    assert.equal(body.durationDays, 90);
    assert.match(body.key, /^ghk_/);
    const first = await call(body.key);
    const ms = performance.now() - t0;
    assert.equal(first.status, 200);
    console.log(`# click to first successful gateway call: ${ms.toFixed(1)} ms`);
    // the grant ends when the rule says at the latest
    assert.ok(Math.abs(Date.parse(body.expiresAt) - Date.now() - 90 * 86400000) < 60000);
    r = await get(ana, '/api/access/requests');
    const mine = (await r.json()).items;
    assert.equal(mine.length, 1);
    assert.equal(mine[0].state, 'approved');
    assert.equal(mine[0].grantId, body.grantId);
    assert.equal(mine[0].decidedBy, 'rule:engineering-internal');

    // a longer wish is capped by the rule
    const carol = await signIn('carol');
    r = await post(carol, '/api/access/requests', { api: 'orders', plan: 'starter', app: 'team-app', appOwner: 'engineering', durationDays: 365 });
    assert.equal((await r.json()).durationDays, 90);
    // a team's application can be used by another member of the team (it has a key already: none issued)
    r = await post(ana, '/api/access/requests', { api: 'orders', plan: 'gold', app: 'team-app' });
    assert.equal(r.status, 202);

    // the default rule: the owners decide; nothing works yet
    const bo = await signIn('bo');
    r = await post(bo, '/api/access/requests', { api: 'orders', plan: 'starter', app: 'bo-app', appOwner: 'bo', durationDays: 7 });
    const pending = await r.json();
    assert.equal(r.status, 202);
    assert.equal(pending.state, 'pending');
    assert.equal(pending.decide, 'owner_approval');
    assert.equal(pending.key, undefined);
    r = await post(bo, '/api/access/requests', { api: 'orders', plan: 'starter', app: 'bo-app' });
    assert.equal(r.status, 409);
    assert.equal((await r.json()).existing, pending.id);

    // nobody reaches someone else's application or request
    r = await post(ana, '/api/access/requests', { api: 'orders', plan: 'starter', app: 'bo-app' });
    assert.equal(r.status, 403);
    r = await post(bo, '/api/access/requests', { api: 'orders', plan: 'starter', app: 'x-app', appOwner: 'engineering' });
    assert.equal(r.status, 403);
    assert.match((await r.json()).error.message, /you or one of your teams/);
    r = await post(ana, `/api/access/requests/${pending.id}/withdraw`, {});
    assert.equal(r.status, 404);
    assert.equal((await (await get(ana, '/api/access/requests')).json()).items.some((q) => q.id === pending.id), false);
    // members a client may not set
    r = await post(bo, '/api/access/requests', { api: 'orders', plan: 'gold', app: 'bo-app', state: 'approved' });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error.message, /unknown member 'state'/);
    // no CSRF token, no request
    r = await fetch(`${portal}/api/access/requests`, { method: 'POST', headers: { cookie: bo.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ api: 'orders', plan: 'gold', app: 'bo-app' }) });
    assert.equal(r.status, 403);

    // the owners decide: not the requester, not someone outside the owning team
    const dan = await signIn('dan');
    assert.equal((await post(bo, `/api/access/requests/${pending.id}/decide`, { decision: 'approve' })).status, 403);
    r = await post(dan, `/api/access/requests/${pending.id}/decide`, { decision: 'approve' });
    assert.equal(r.status, 403);
    assert.match((await r.json()).error.message, /access\.approve is for the API's owners and admins/);
    assert.deepEqual((await (await get(dan, '/api/access/approvals')).json()).items, []);
    const inbox = (await (await get(ana, '/api/access/approvals')).json()).items;
    assert.deepEqual(inbox.map((q) => [q.id, q.requester, q.app]), [[pending.id, 'user:default/bo', 'bo-app']]);
    const carolInbox = (await (await get(carol, '/api/access/approvals')).json()).items;
    assert.equal(carolInbox.length, 2); // bo's, and ana's request for gold
    r = await post(ana, `/api/access/requests/${pending.id}/decide`, { decision: 'approve', comment: 'welcome' });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).state, 'approved');
    assert.equal((await post(carol, `/api/access/requests/${pending.id}/decide`, { decision: 'deny' })).status, 409);
    // the requester takes a key for the application, and it works at once; nobody else can
    assert.equal((await post(ana, '/api/apps/bo-app/keys', {})).status, 404);
    r = await post(bo, '/api/apps/bo-app/keys', {});
    assert.equal(r.status, 201);
    const boKey = (await r.json()).key;
    assert.equal((await call(boKey)).status, 200);
    // a denial, with its reason on the request
    const gold = carolInbox.find((q) => q.requester === 'user:default/ana');
    r = await post(carol, `/api/access/requests/${gold.id}/decide`, { decision: 'deny', comment: 'starter is enough' });
    assert.equal((await r.json()).state, 'denied');
    assert.equal((await (await get(ana, '/api/access/requests')).json()).items.find((q) => q.id === gold.id).state, 'denied');

    // people see their own and their teams' applications, keys and grants, nobody else's
    const names = async (who, what) => (await (await get(who, `/api/${what}`)).json()).items.map((i) => i.app ?? i.name).sort();
    assert.deepEqual(await names(bo, 'apps'), ['bo-app']);
    assert.deepEqual(await names(ana, 'apps'), ['ana-app', 'team-app']);
    assert.deepEqual(await names(carol, 'grants'), ['team-app']);
    assert.deepEqual(await names(bo, 'keys'), ['bo-app']);
    assert.deepEqual(await names(dan, 'keys'), []);

    // withdrawn by its requester, once
    r = await post(dan, '/api/access/requests', { api: 'orders', plan: 'gold', app: 'dan-app', appOwner: 'dan' });
    const dans = await r.json();
    assert.equal(r.status, 202);
    assert.equal((await post(ana, `/api/access/requests/${dans.id}/withdraw`, {})).status, 404);
    assert.equal((await post(dan, `/api/access/requests/${dans.id}/withdraw`, {})).status, 200);
    assert.equal((await post(dan, `/api/access/requests/${dans.id}/withdraw`, {})).status, 409);

    // every step is on the record; the key never is
    const tok = spawnSync(BIN, ['token', 'create', '--role', 'auditor', '-c', gh.file], { encoding: 'utf8' }).stdout.trim();
    const audit = await (await fetch(`${portal}/api/audit?limit=1000`, { headers: { authorization: `Bearer ${tok}` } })).json();
    const steps = audit.items.filter((e) => e.target === body.id || e.details?.request === body.id).map((e) => e.action);
    assert.deepEqual(steps.sort(), ['access.request', 'grant.create', 'key.issue']); // one transaction
    assert.ok(!JSON.stringify(audit).includes(body.key));
    assert.ok(audit.items.some((e) => e.action === 'access.withdraw' && e.target === dans.id && e.actor === 'user:default/dan'));
    assert.ok(audit.items.some((e) => e.action === 'access.approve' && e.target === pending.id && e.actor === 'user:default/ana'));
    assert.ok(audit.items.some((e) => e.action === 'access.deny' && e.target === gold.id && e.details.comment === 'starter is enough'));
  } finally {
    await gh.stop();
    await up.close();
  }
});
