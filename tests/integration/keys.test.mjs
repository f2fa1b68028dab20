// auth: key in the gateway: 401 without a valid key, 403 without a live grant, 429 past the plan's
// rate, and revocation felt by the very next requests -- with keys and grants changed from another
// process (the command line) while the gateway runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, startGatehouse, startUpstream, sleep } from './helpers.mjs';

test('API keys: 401, 403, 200, 429 with its headers, revocation within a poll; keys never forwarded', async () => {
  const up = await startUpstream(() => ({ status: 200, body: 'paid' }));
  const gh = await startGatehouse(`log: { access: off }
plans:
  - name: starter
    rate: { requests: 3, per: 1m, burst: 3 }
apis:
  - name: pay
    route: { path: /pay }
    upstream: { targets: ["${up.url}"] }
    auth: key
    apim_names: true
    plans: [starter]
  - name: open
    route: { path: /open }
    upstream: { targets: ["${up.url}"] }
`);
  const cli = (...args) => spawnSync(BIN, [...args, '-c', gh.file], { encoding: 'utf8' });
  const call = (path, headers = {}) => fetch(`http://127.0.0.1:${gh.port}${path}`, { headers });
  try {
    let r = await call('/pay/x');
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate'), /^ApiKey/);
    assert.match((await r.json()).error.message, /an API key is required/);
    r = await call('/pay/x', { 'x-api-key': 'ghk_not-a-key' });
    assert.equal(r.status, 401);
    assert.equal((await call('/open/x')).status, 200); // other APIs are unaffected
    assert.equal(up.requests.length, 1);

    assert.equal(cli('apps', 'create', '--owner', 'team-pay', 'billing').status, 0);
    const made = cli('keys', 'create', '--app', 'billing');
    const key = made.stdout.trim();
    assert.match(key, /^ghk_/, made.stderr);
    // a well-formed key that the store never issued
    const other = `${key.slice(0, 10)}${key[10] === 'a' ? 'b' : 'a'}${key.slice(11)}`;
    r = await call('/pay/x', { 'x-api-key': other });
    assert.equal(r.status, 401);

    let status = 0;
    let body = '';
    for (let i = 0; i < 40 && status !== 403; i++) {
      r = await call('/pay/x', { 'x-api-key': key });
      status = r.status;
      body = await r.text();
      if (status !== 403) await sleep(25);
    }
    assert.equal(status, 403, body); // a valid key, but no grant yet
    const t0 = Date.now();
    const grant = cli('grants', 'create', '--app', 'billing', '--api', 'pay', '--plan', 'starter').stdout.trim();
    assert.match(grant, /^grant_/);
    for (let i = 0; i < 40 && status !== 200; i++) {
      r = await call('/pay/x', { 'x-api-key': key });
      status = r.status;
      body = await r.text();
      if (status !== 200) await sleep(25);
    }
    assert.equal(status, 200, `${body}\n${gh.stderr}`);
    const grantMs = Date.now() - t0;
    const forwarded = up.requests.at(-1);
    assert.equal(forwarded.headers['x-api-key'], undefined); // the credential stays at the edge
    assert.equal(forwarded.target, '/pay/x');

    // burst 3: two more, then 429 with Retry-After and the RateLimit headers
    // as Azure API Management clients send it: the query parameter is taken out before forwarding
    assert.equal((await call(`/pay/x?a=1&subscription-key=${key}&b=%2F`)).status, 200);
    assert.equal(up.requests.at(-1).target, '/pay/x?a=1&b=%2F');
    assert.equal((await call('/pay/x', { 'ocp-apim-subscription-key': key })).status, 200);
    assert.equal(up.requests.at(-1).headers['ocp-apim-subscription-key'], undefined);
    r = await call('/pay/x', { 'x-api-key': key });
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '20'); // one request every 20 s
    assert.equal(r.headers.get('ratelimit-policy'), '"grant";q=3;w=60');
    assert.match(r.headers.get('ratelimit'), /^"grant";r=0;t=\d+$/);
    assert.match((await r.json()).error.message, /rate limit exceeded/);

    // revocation: the next requests fail, from another process, within a poll or two
    const id = key.slice(0, 12);
    const t1 = Date.now();
    assert.equal(cli('keys', 'revoke', id).status, 0);
    for (let i = 0; i < 40 && status !== 401; i++) {
      status = (await call('/pay/x', { 'x-api-key': key })).status;
      if (status !== 401) await sleep(10);
    }
    assert.equal(status, 401);
    const revokeMs = Date.now() - t1;
    assert.ok(revokeMs < 1000, `revocation took ${revokeMs} ms`);
    console.log(`# grant usable after ${grantMs} ms, revocation enforced after ${revokeMs} ms (incl. the CLI)`);

    // rotation from the CLI: a new secondary (shown once), then it becomes primary
    let rot = cli('keys', 'rotate', '--app', 'billing');
    assert.equal(rot.status, 0, rot.stderr);
    const k2 = rot.stdout.trim();
    assert.match(k2, /^ghk_/);
    rot = cli('keys', 'rotate', '--app', 'billing');
    assert.equal(rot.status, 0, rot.stderr);
    const k3 = rot.stdout.trim();
    assert.match(rot.stderr, new RegExp(`key ${k2.slice(0, 12)} is primary now`));
    const rows = cli('keys', 'list').stdout.split('\n');
    const row = (k) => rows.find((l) => l.startsWith(k.slice(0, 12))) ?? '';
    assert.match(row(k2), /\bprimary\b.*\bactive\b/);
    assert.match(row(k3), /\bsecondary\b.*\bactive\b/);
    assert.equal(cli('keys', 'rotate', '--app', 'nope').status, 1);
  } finally {
    await gh.stop();
    await up.close();
  }
});
