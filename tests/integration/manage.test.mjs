// The management API on the control port (admin API tokens from `gatehouse token create`), the
// Prometheus metrics and the usage series: a key made and revoked through REST is enforced on every
// worker by the time the response arrives; refusals are counted by reason; usage lands in the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, startGatehouse, startUpstream, sleep } from './helpers.mjs';

test('REST management with API tokens, metrics and usage', async () => {
  const up = await startUpstream(() => ({ status: 200, body: 'paid' }));
  const gh = await startGatehouse(`log: { access: off }
usage: { flush_interval: 200ms }
plans:
  - name: starter
    description: For trying things out
    rate: { requests: 1000, per: 1m, burst: 1000 }
    quota: { requests: 5000, per: day }
apis:
  - name: pay
    route: { path: /pay }
    upstream: { targets: ["${up.url}"] }
    auth: key
    plans: [starter]
`, { workers: 2 });
  const cli = (...args) => spawnSync(BIN, [...args, '-c', gh.file], { encoding: 'utf8' });
  const base = `http://127.0.0.1:${gh.portalPort}`;
  const api = (method, path, token, body) => fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const call = (headers = {}) => fetch(`http://127.0.0.1:${gh.port}/pay/x`, { headers });
  try {
    const made = cli('token', 'create', '--role', 'admin', '--name', 'ci');
    assert.equal(made.status, 0, made.stderr);
    const admin = made.stdout.trim();
    assert.match(admin, /^gha_[0-9A-Za-z]{49}$/);
    const auditor = cli('token', 'create', '--role', 'auditor').stdout.trim();
    assert.equal(cli('token', 'create', '--role', 'root').status, 1);

    // who may do what
    let r = await api('GET', '/api/apps');
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate'), /^Bearer/);
    const wrong = `${admin.slice(0, -1)}${admin.endsWith('x') ? 'y' : 'x'}`; // one character off (never the same)
    assert.equal((await api('GET', '/api/apps', wrong)).status, 401);
    r = await api('POST', '/api/apps', auditor, { name: 'billing', owner: 'team-pay' });
    assert.equal(r.status, 403);
    assert.match((await r.json()).error.message, /apps\.manage is for their owners and admins; you are token:gha_\w+ \(auditor\)/);
    assert.equal((await api('GET', '/api/apps', auditor)).status, 200);
    assert.equal((await api('PUT', '/api/apps', admin)).status, 405);
    assert.equal((await api('GET', '/api/nope', admin)).status, 404);

    // plans as configured
    r = await api('GET', '/api/plans', auditor);
    assert.deepEqual((await r.json()).items, [{ name: 'starter', description: 'For trying things out',
      rate: { requests: 1000, perSeconds: 60, burst: 1000 }, quota: { requests: 5000, per: 'day' } }]);

    // application, key, grant
    r = await api('POST', '/api/apps', admin, { name: 'billing', owner: 'team-pay' });
    assert.equal(r.status, 201);
    assert.equal((await api('POST', '/api/apps', admin, { name: 'billing', owner: 'team-pay' })).status, 409);
    r = await api('POST', '/api/apps', admin, { name: 'x' });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error.message, /owner: a non-empty string is required/);
    assert.equal((await api('POST', '/api/apps', admin, '{not json')).status, 400);
    r = await api('POST', '/api/apps/billing/keys', admin, {});
    assert.equal(r.status, 201);
    const { key, id } = await r.json();
    assert.match(key, /^ghk_/);
    assert.equal(id, key.slice(0, 12));
    assert.equal((await api('POST', '/api/apps/nobody/keys', admin, {})).status, 404);
    r = await api('GET', '/api/keys', admin);
    const listed = JSON.stringify(await r.json());
    assert.ok(listed.includes(id) && !listed.includes(key), 'keys are listed by id only');
    r = await api('POST', '/api/grants', admin, { app: 'billing', api: 'pay', plan: 'gold' });
    assert.equal(r.status, 400);
    r = await api('POST', '/api/grants', admin, { app: 'billing', api: 'pay', plan: 'starter', expiresIn: '30d' });
    assert.equal(r.status, 201, await r.clone().text());
    // enforced before the response came back: no waiting for a poll
    assert.equal((await call({ 'x-api-key': key })).status, 200);

    // traffic for metrics and usage: 5 good, 4 malformed keys, 2 unknown well-formed ones, 1 missing
    for (let i = 0; i < 4; i++) assert.equal((await call({ 'x-api-key': key })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await call({ 'x-api-key': `ghk_guess${i}` })).status, 401);
    const other = (await (await api('POST', '/api/apps/billing/keys', admin, { slot: 'secondary' })).json()).key;
    const unknown = `${other.slice(0, 10)}${other[10] === 'a' ? 'b' : 'a'}${other.slice(11)}`;
    // a one-character change keeps the format but breaks the checksum: still "malformed"; an unknown
    // well-formed key needs a valid checksum, which only an issued key has -- revoke one to get it
    r = await api('DELETE', `/api/keys/${other.slice(0, 12)}`, admin);
    assert.equal(r.status, 200);
    assert.equal((await call({ 'x-api-key': other })).status, 401);
    assert.equal((await call({ 'x-api-key': other })).status, 401);
    assert.equal((await call({ 'x-api-key': unknown })).status, 401);
    assert.equal((await call()).status, 401);
    r = await fetch(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    const metric = (re) => Number((re.exec(text) || [, 'NaN'])[1]);
    assert.equal(metric(/^gatehouse_requests_total\{api="pay",code="2xx"\} (\d+)$/m), 5);
    assert.equal(metric(/^gatehouse_requests_total\{api="pay",code="4xx"\} (\d+)$/m), 7);
    assert.equal(metric(/^gatehouse_denied_total\{api="pay",reason="malformed"\} (\d+)$/m), 4);
    assert.equal(metric(/^gatehouse_denied_total\{api="pay",reason="unknown"\} (\d+)$/m), 2);
    assert.equal(metric(/^gatehouse_denied_total\{api="pay",reason="missing"\} (\d+)$/m), 1);
    assert.equal(metric(/^gatehouse_request_duration_seconds_count\{api="pay"\} (\d+)$/m), 12);
    assert.equal(metric(/^gatehouse_request_duration_seconds_bucket\{api="pay",le="\+Inf"\} (\d+)$/m), 12);
    assert.match(text, /^# TYPE gatehouse_request_duration_seconds histogram$/m);

    // revocation through the API: the very next request fails, on every worker (new connections spread
    // over both), because the response only leaves once the table is updated
    r = await api('DELETE', `/api/keys/${id}`, admin);
    assert.equal(r.status, 200);
    for (let i = 0; i < 8; i++) {
      assert.equal((await fetch(`http://127.0.0.1:${gh.port}/pay/x`, { headers: { 'x-api-key': key, connection: 'close' } })).status, 401);
    }
    assert.equal((await api('DELETE', `/api/keys/${id}`, admin)).status, 409); // already revoked

    // usage: the successful calls of billing on pay, per minute
    let series = [];
    for (let i = 0; i < 50; i++) {
      r = await api('GET', '/api/usage?bucket=minute&app=billing', auditor);
      assert.equal(r.status, 200);
      series = (await r.json()).series;
      if (series.length && series[0].points.reduce((n, p) => n + p.requests, 0) >= 5) break;
      await sleep(100);
    }
    assert.equal(series.length, 1);
    assert.equal(series[0].app, 'billing');
    assert.equal(series[0].api, 'pay');
    const total = series[0].points.reduce((n, p) => ({ requests: n.requests + p.requests, ok: n.ok + p.ok,
      clientErrors: n.clientErrors + p.clientErrors }), { requests: 0, ok: 0, clientErrors: 0 });
    // usage counts the requests of a known application: the 5 that passed (a revoked or unknown key
    // names no application, so its refusals are in the metrics, not in anyone's usage)
    assert.deepEqual(total, { requests: 5, ok: 5, clientErrors: 0 });
    assert.match(series[0].points[0].t, /^\d{4}-\d\d-\d\dT\d\d:\d\dZ$/);
    assert.equal((await api('GET', '/api/usage?bucket=week', admin)).status, 400);
    assert.equal((await api('GET', '/api/usage?since=yesterday', admin)).status, 400);

    // revoked tokens stop working
    const tokenId = admin.slice(0, 12);
    assert.match(cli('token', 'list').stdout, new RegExp(`${tokenId}  ci  admin  -  active`));
    assert.equal(cli('token', 'revoke', tokenId).status, 0);
    assert.equal((await api('GET', '/api/apps', admin)).status, 401);
    // and the trail has every step, with the token as actor and never a secret
    r = await api('GET', '/api/audit?limit=1000', auditor);
    const trail = await r.json();
    const revokes = trail.items.filter((e) => e.action === 'key.revoke');
    assert.deepEqual(revokes.map((e) => e.actor), [`token:${tokenId}`, `token:${tokenId}`]);
    assert.deepEqual(trail.items.map((e) => e.action).filter((x) => x.startsWith('grant') || x.startsWith('token')),
      ['token.create', 'token.create', 'grant.create', 'token.revoke']);
    const text2 = JSON.stringify(trail);
    assert.ok(!text2.includes(key) && !text2.includes(admin.slice(12)), 'no secret in the trail');
  } finally {
    await gh.stop();
    await up.close();
  }
});
