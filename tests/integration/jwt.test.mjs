// auth: jwt in the gateway, against a local identity provider (discovery document + JWKS) that
// rotates its keys and goes down: tokens signed here with node's crypto, bound to an application
// from the command line, refused for each broken promise, and never forwarded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { BIN, startGatehouse, startUpstream, sleep } from './helpers.mjs';

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function newKey(kid, type = 'rsa') {
  const { privateKey, publicKey } = type === 'rsa'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' } };
}

function sign(key, claims, header = {}) {
  const alg = key.jwk.kty === 'RSA' ? 'RS256' : 'ES256';
  const input = `${b64({ alg, kid: key.kid, typ: 'JWT', ...header })}.${b64(claims)}`;
  const sig = crypto.sign('sha256', Buffer.from(input), key.jwk.kty === 'RSA'
    ? key.privateKey : { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

test('JWTs: discovery, binding, claims checks, key rotation, IdP outage, revocation', async () => {
  const k1 = newKey('k1');
  const k2 = newKey('k2', 'ec');
  const idp = { keys: [k1], up: true, jwksFetches: 0 };
  const issuer = await startUpstream((req) => {
    if (!idp.up) return { status: 503, body: 'down' };
    if (req.target === '/.well-known/openid-configuration') {
      return { status: 200, headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ issuer: issuer.url, jwks_uri: `${issuer.url}/jwks` }) };
    }
    if (req.target === '/jwks') {
      idp.jwksFetches++;
      return { status: 200, headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ keys: idp.keys.map((k) => k.jwk) }) };
    }
    return { status: 404, body: '' };
  });
  const up = await startUpstream(() => ({ status: 200, body: 'orders' }));
  const gh = await startGatehouse(`log: { access: off }
plans:
  - name: starter
issuers:
  - name: corp
    issuer: "${issuer.url}"
    audiences: [gatehouse]
    algorithms: [RS256, ES256]
    min_refresh: 1s
apis:
  - name: orders
    route: { path: /orders }
    upstream: { targets: ["${up.url}"] }
    auth: jwt
    plans: [starter]
  - name: mixed
    route: { path: /mixed }
    upstream: { targets: ["${up.url}"] }
    auth: key_or_jwt
    key_header: X-Key
    plans: [starter]
`, { workers: 2 });
  const cli = (...args) => spawnSync(BIN, [...args, '-c', gh.file], { encoding: 'utf8' });
  const call = (path, headers = {}) => fetch(`http://127.0.0.1:${gh.port}${path}`, { headers });
  const bearer = (t) => ({ authorization: `Bearer ${t}` });
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (extra = {}) => ({ iss: issuer.url, aud: 'gatehouse', azp: 'billing-app', exp: now() + 300,
    iat: now(), ...extra });
  try {
    // keys come through discovery at start
    for (let i = 0; i < 100 && idp.jwksFetches === 0; i++) await sleep(20);
    assert.equal(idp.jwksFetches, 1);
    let r = await call('/orders/1');
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    const good = sign(k1, claims());
    r = await call('/orders/1', bearer(good));
    assert.equal(r.status, 401);
    assert.match((await r.json()).error.message, /application is not registered/);

    assert.equal(cli('apps', 'create', '--owner', 'team-orders', 'billing').status, 0);
    const bound = cli('keys', 'bind', '--app', 'billing', '--issuer', 'corp', '--client', 'billing-app');
    assert.equal(bound.status, 0, bound.stderr);
    const bindingId = bound.stdout.trim();
    assert.match(bindingId, /^jwt_[0-9a-f]{8}$/);
    const unknown = cli('keys', 'bind', '--app', 'billing', '--issuer', 'nope', '--client', 'x');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /--issuer 'nope': no such issuer/);
    assert.equal(cli('grants', 'create', '--app', 'billing', '--api', 'orders', '--plan', 'starter').status, 0);
    let status = 0;
    for (let i = 0; i < 80 && status !== 200; i++) {
      status = (await call('/orders/1', bearer(good))).status;
      if (status !== 200) await sleep(25);
    }
    assert.equal(status, 200, gh.stderr);
    const fwd = up.requests.at(-1);
    assert.equal(fwd.headers.authorization, undefined); // the token stays at the edge
    assert.equal(fwd.target, '/orders/1');
    // no grant on the other API: 403, not 401
    assert.equal((await call('/mixed/1', bearer(good))).status, 403);

    // every broken promise is a 401 with invalid_token
    const refused = async (token, why) => {
      const res = await call('/orders/1', bearer(token));
      assert.equal(res.status, 401, why.source);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      assert.match((await res.json()).error.message, why);
    };
    await refused(sign(k1, claims({ aud: 'someone-else' })), /audience/);
    await refused(sign(k1, claims({ exp: now() - 3600 })), /expired/);
    await refused(sign(k1, claims({ nbf: now() + 3600 })), /not valid yet/);
    await refused(sign(k1, claims({ iss: 'https://evil.example' })), /issuer is not accepted/);
    await refused(sign(k1, claims(), { alg: 'none' }), /algorithm is not accepted/);
    await refused(`${good.slice(0, good.lastIndexOf('.'))}.`, /signature/);
    await refused(`${b64({ alg: 'none' })}.${b64(claims())}.`, /signature|algorithm/);
    const tampered = good.split('.');
    tampered[1] = b64(claims({ azp: 'someone-else' }));
    await refused(tampered.join('.'), /signature is not valid/);
    await refused(sign(k1, claims(), { jku: `${issuer.url}/evil` }), /carries jku/);
    await refused('x'.repeat(9000), /larger than/);
    r = await call('/orders/1', { authorization: `Basic ${b64('a:b')}` });
    assert.equal(r.status, 401);

    // rotation: a token under a new kid is refused once, the keys are fetched again, then it passes
    idp.keys = [k1, k2];
    const rotated = sign(k2, claims());
    const fetchesBefore = idp.jwksFetches;
    r = await call('/orders/1', bearer(rotated));
    assert.equal(r.status, 401);
    status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await call('/orders/1', bearer(rotated))).status;
      if (status !== 200) await sleep(20);
    }
    assert.equal(status, 200, gh.stderr);
    assert.equal(idp.jwksFetches, fetchesBefore + 1);
    // unknown kids hammering: at most one fetch per min_refresh (1s)
    const t0 = Date.now();
    const bogus = sign(newKey('k9'), claims());
    for (let i = 0; i < 30; i++) assert.equal((await call('/orders/1', bearer(bogus))).status, 401);
    await sleep(300);
    const elapsed = (Date.now() - t0) / 1000;
    assert.ok(idp.jwksFetches - (fetchesBefore + 1) <= Math.ceil(elapsed) + 1,
      `${idp.jwksFetches - fetchesBefore - 1} fetches in ${elapsed}s`);

    // the IdP goes down: the last good keys stay, so fresh tokens still pass
    idp.up = false;
    await sleep(1200);
    assert.equal((await call('/orders/1', bearer(sign(k2, claims({ jti: 'fresh-1' }))))).status, 200);
    assert.equal((await call('/orders/1', bearer(sign(k1, claims({ jti: 'fresh-2' }))))).status, 200);
    idp.up = true;

    // key_or_jwt: either credential; neither gets both challenges
    r = await call('/mixed/1');
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate'), /ApiKey header="X-Key".*Bearer/);

    // revoking the binding ends the cached token too
    assert.equal(cli('keys', 'revoke', bindingId).status, 0);
    status = 0;
    for (let i = 0; i < 80 && status !== 401; i++) {
      status = (await call('/orders/1', bearer(good))).status;
      if (status !== 401) await sleep(10);
    }
    assert.equal(status, 401);
    // and the same client can be bound again later
    assert.equal(cli('keys', 'bind', '--app', 'billing', '--issuer', issuer.url, '--client', 'billing-app').status, 0);
  } finally {
    await gh.stop();
    await up.close();
    await issuer.close();
  }
});

test('rate_limit by a claim: per user across workers, tokens required with auth: none, one budget per claim value', async () => {
  const k1 = newKey('k1');
  const issuer = await startUpstream((req) => (req.target === '/jwks'
    ? { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys: [k1.jwk] }) }
    : { status: 404, body: '' }));
  const seen = [];
  const up = await startUpstream((req) => { seen.push(req); return { status: 200, body: 'ok' }; });
  const gh = await startGatehouse(`log: { access: off }
issuers:
  - name: corp
    jwks_uri: "${issuer.url}/jwks"
    issuer: "${issuer.url}"
    audiences: [gatehouse]
    algorithms: [RS256]
    client_claim: azp
apis:
  - name: open
    route: { path: /open }
    upstream: { targets: ["${up.url}"] }
    auth: none
    rate_limit: { requests: 3, per: 1m, by: claim, claim: sub }
  - name: tenants
    route: { path: /tenants }
    upstream: { targets: ["${up.url}"] }
    auth: none
    rate_limit: { requests: 2, per: 1m, by: claim, claim: tid }
`, { workers: 2 });
  const now = () => Math.floor(Date.now() / 1000);
  const token = (extra) => sign(k1, { iss: issuer.url, aud: 'gatehouse', azp: 'web', exp: now() + 300, iat: now(),
    ...extra });
  const call = (path, t) => fetch(`http://127.0.0.1:${gh.port}${path}`,
    { headers: t ? { authorization: `Bearer ${t}` } : {} });
  try {
    let r;
    for (let i = 0; i < 100; i++) {
      r = await call('/open/x', token({ sub: 'warmup' }));
      if (r.status !== 503) break;
      await sleep(20);
    }
    assert.equal(r.status, 200);
    // no token, or a bad one: refused as for auth: jwt (the limit needs a verified claim)
    r = await call('/open/x');
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    r = await call('/open/x', token({ sub: 'alice' }).slice(0, -4) + 'AAAA');
    assert.equal(r.status, 401);
    r = await call('/open/x', token({}));
    assert.equal(r.status, 401);
    assert.match((await r.json()).error.message, /no sub claim/);

    // alice has 3 per minute whichever token she presents, over fresh connections (both workers)
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      r = await call('/open/x', token({ sub: 'alice', jti: `a${i}` }));
      statuses.push(r.status);
      if (r.status === 429) {
        assert.equal(r.headers.get('ratelimit-policy'), '"claim";q=3;w=60');
        assert.match(r.headers.get('ratelimit'), /^"claim";r=0;t=\d+$/);
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
      }
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    // bob's budget is his own
    assert.equal((await call('/open/x', token({ sub: 'bob' }))).status, 200);
    // the same token on another API counts by that API's claim (tid), not sub
    const t = token({ sub: 'alice', tid: 't1' });
    assert.equal((await call('/tenants/x', t)).status, 200);
    assert.equal((await call('/tenants/x', token({ sub: 'carol', tid: 't1' }))).status, 200);
    assert.equal((await call('/tenants/x', t)).status, 429);
    assert.equal((await call('/tenants/x', token({ sub: 'alice', tid: 't2' }))).status, 200);
    // the token is not forwarded
    assert.ok(seen.length > 0);
    for (const req of seen) assert.equal(req.headers.authorization, undefined);
  } finally {
    await gh.stop();
    await up.close();
    await issuer.close();
  }
});

test('issuers: config errors name the file, line and key', () => {
  const check = (yaml) => {
    const dir = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
    const file = `${dir}/g.yaml`;
    spawnSync('sh', ['-c', `cat > ${file}`], { input: yaml });
    return spawnSync(BIN, ['check', '-c', file], { encoding: 'utf8' });
  };
  let r = check('issuers:\n  - name: corp\n    issuer: https://idp.example\n');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /g\.yaml:2: issuers\.corp: audiences is required/);
  r = check('issuers:\n  - name: corp\n    issuer: https://idp.example\n    audiences: [a]\n    algorithms: [HS256]\n');
  assert.match(r.stderr, /g\.yaml:5: issuers\[0\]\.algorithms: 'HS256' is not accepted/);
  r = check('apis:\n  - name: a\n    route: { path: /a }\n    upstream: { targets: ["http://127.0.0.1:1"] }\n    auth: jwt\n');
  assert.match(r.stderr, /g\.yaml:2: apis\.a\.auth: takes JWTs but no issuers are configured/);
  r = check('apis:\n  - name: a\n    route: { path: /a }\n    upstream: { targets: ["http://127.0.0.1:1"] }\n    auth: oauth\n');
  assert.match(r.stderr, /g\.yaml:5: apis\.a\.auth: 'oauth' must be key, jwt, key_or_jwt or none/);
  const api = 'apis:\n  - name: a\n    route: { path: /a }\n    upstream: { targets: ["http://127.0.0.1:1"] }\n';
  r = check(`${api}    rate_limit: { requests: 3, per: 1m, by: claim, claim: sub }\n`);
  assert.match(r.stderr, /g\.yaml:5: apis\.a\.rate_limit: by: claim needs issuers to verify tokens/);
  r = check(`${api}    auth: key\n    rate_limit: { requests: 3, per: 1m, by: claim, claim: sub }\n`);
  assert.match(r.stderr, /g\.yaml:6: apis\.a\.rate_limit: by: claim needs tokens/);
  r = check(`${api}    rate_limit: { requests: 3, per: 1m, by: claim }\n`);
  assert.match(r.stderr, /g\.yaml:5: apis\.a\.rate_limit: by: claim needs the claim's name/);
  r = check(`${api}    rate_limit: { requests: 3, per: 1m }\n`);
  assert.match(r.stderr, /g\.yaml:5: apis\.a\.rate_limit: by is required: ip or claim/);
  r = check(`${api}    rate_limit: { requests: 3, per: 1m, by: ip, claim: sub }\n`);
  assert.match(r.stderr, /g\.yaml:5: apis\.a\.rate_limit: claim is only for by: claim/);
});
