// Sign-in to the portal through a real OpenID provider (oidc-provider from npm) on loopback:
// authorization code + PKCE, state bound to the browser and single-use, nonce, iss, ID token checks
// (forged tokens for each broken promise), key rotation, open redirects, sessions, CSRF and logout;
// and every control-API route walked with each role.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, startGatehouse, freePort, sleep } from './helpers.mjs';
import { startIdp, browser, oidcIdentity, storeClientSecret } from './idp.mjs';

const accounts = {
  ana: { name: 'Ana Lima', email: 'ana@example.com', preferred_username: 'ana', groups: ['payments-team', 'platform-admins'] },
  bo: { name: 'Bo Berg', email: 'bo@example.com', preferred_username: 'bo', groups: ['eng'] },
};

let idp, gh, portal, cli;

before(async () => {
  const port = await freePort();
  portal = `http://127.0.0.1:${port}`;
  idp = await startIdp({ redirectUri: `${portal}/auth/callback`, accounts });
  gh = await startGatehouse(`log: { access: off }
${oidcIdentity(idp, portal, `  role_map: { platform-admins: admin }
  group_map: { payments-team: payments, eng: engineering }
  session: { idle_timeout: 1h, absolute_timeout: 8h }
`)}`, { portalPort: port, before: storeClientSecret(BIN, idp) });
  cli = (...args) => spawnSync(BIN, [...args, '-c', gh.file], { encoding: 'utf8' });
  // the discovery document arrives off the loop: sign-in answers 503 until then
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${portal}/auth/login`, { redirect: 'manual' });
    if (r.status === 302) break;
    assert.equal(r.status, 503);
    await sleep(20);
  }
});

after(async () => {
  await gh?.stop();
  await idp?.close();
});

// Runs a sign-in for `user` up to the redirect back to the portal's callback; returns that URL.
async function toCallback(b, user, returnTo = '/catalog') {
  idp.next = user;
  const { next } = await b.go(`${portal}/auth/login?return_to=${encodeURIComponent(returnTo)}`,
    { stop: (u) => u.startsWith(`${portal}/auth/callback`) });
  assert.ok(next, 'the provider sent the browser back');
  return next;
}

async function signIn(b, user, returnTo) {
  const cb = await toCallback(b, user, returnTo);
  const r = await b.request(cb);
  return { r, cb };
}

const me = (b) => b.request(`${portal}/api/me`);

test('sign-in: code + PKCE, groups mapped to roles and teams, session cookie, state used once', async () => {
  const b = browser();
  const start = await b.request(`${portal}/auth/login?return_to=%2Fcatalog%3Fkind%3Dapi`);
  assert.equal(start.status, 302);
  const to = new URL(start.headers.get('location'));
  assert.equal(to.origin + to.pathname, `${idp.url}/auth`);
  assert.equal(to.searchParams.get('code_challenge_method'), 'S256');
  assert.match(to.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(to.searchParams.get('redirect_uri'), `${portal}/auth/callback`);
  assert.equal(to.searchParams.get('scope'), 'openid profile email groups');
  assert.ok(to.searchParams.get('nonce') && to.searchParams.get('state'));
  const setCookie = start.headers.getSetCookie().join('\n');
  assert.match(setCookie, /^gh_login=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/m);

  const { r, cb } = await signIn(b, 'ana', '/catalog?kind=api');
  assert.equal(r.status, 302, await r.clone().text());
  assert.equal(r.headers.get('location'), '/catalog?kind=api');
  assert.match(r.headers.getSetCookie().join('\n'), /^gh_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=28800; HttpOnly; SameSite=Lax$/m);
  assert.equal(b.cookie(portal, 'gh_login'), undefined, 'the pre-login cookie is cleared');
  const who = await (await me(b)).json();
  assert.equal(who.user, 'user:default/ana');
  assert.equal(who.role, 'admin');
  assert.deepEqual(who.groups, ['group:default/payments']);
  assert.equal(who.via, 'session');
  assert.match(who.csrfToken, /^[A-Za-z0-9_-]{43}$/);

  // the catalog knows her, as the provider described her at sign-in
  const entity = async (bb, ref) => (await bb.request(`${portal}/api/catalog/entities/by-name/${ref}`)).json();
  let ana = await entity(b, 'user/default/ana');
  assert.deepEqual(ana.spec, { profile: { displayName: 'Ana Lima', email: 'ana@example.com' }, memberOf: ['group:default/payments'] });
  assert.equal(ana.metadata.annotations['backstage.io/managed-by-location'], 'identity:user:default/ana');

  // the same answer again: the state is spent
  const again = await b.request(cb);
  assert.equal(again.status, 400);
  assert.match((await again.json()).error.message, /unknown, used or expired/);

  // a developer: no mapped role, another team
  const c = browser();
  assert.equal((await signIn(c, 'bo')).r.status, 302);
  const bo = await (await me(c)).json();
  assert.equal(bo.role, 'developer');
  assert.deepEqual(bo.groups, ['group:default/engineering']);
  // her groups change at the provider: the next sign-in brings session and catalog up to date
  accounts.ana.groups = ['eng'];
  try {
    const d = browser();
    assert.equal((await signIn(d, 'ana')).r.status, 302);
    const again2 = await (await me(d)).json();
    assert.equal(again2.role, 'developer');
    assert.deepEqual(again2.groups, ['group:default/engineering']);
    ana = await entity(d, 'user/default/ana');
    assert.deepEqual(ana.spec.memberOf, ['group:default/engineering']);
  } finally {
    accounts.ana.groups = ['payments-team', 'platform-admins'];
  }
  // the audit trail has both sign-ins
  const admin = cli('token', 'create', '--role', 'auditor').stdout.trim();
  const audit = await (await fetch(`${portal}/api/audit?action=session.login`, { headers: { authorization: `Bearer ${admin}` } })).json();
  assert.deepEqual(audit.items.map((e) => e.target).slice(-3), ['user:default/ana', 'user:default/bo', 'user:default/ana']);
});

test('the answer is refused: missing or foreign state, another browser, wrong iss, replayed code, provider error', async () => {
  const b = browser();
  let r = await b.request(`${portal}/auth/callback?code=abc`);
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /unknown, used or expired/);

  // started in one browser, finished in another
  const cb = await toCallback(b, 'bo');
  const other = browser();
  r = await other.request(cb);
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /another browser/);
  // ...and that used the state up: the right browser cannot finish it either
  assert.equal((await b.request(cb)).status, 400);

  // the iss parameter (RFC 9207) must be the issuer, and must be there when the provider sends it
  for (const change of [(u) => u.searchParams.set('iss', 'http://127.0.0.1:1'), (u) => u.searchParams.delete('iss')]) {
    const u = new URL(await toCallback(b, 'bo'));
    assert.equal(u.searchParams.get('iss'), idp.url);
    change(u);
    r = await b.request(u.href);
    assert.equal(r.status, 400);
    assert.match((await r.json()).error.message, /configured identity provider \(iss\)/);
  }

  // a code used once cannot be used again, even with a fresh state
  const first = new URL(await toCallback(b, 'bo'));
  assert.equal((await b.request(first.href)).status, 302);
  const second = new URL(await toCallback(b, 'bo'));
  second.searchParams.set('code', first.searchParams.get('code'));
  r = await b.request(second.href);
  assert.equal(r.status, 401);
  assert.match((await r.json()).error.message, /identity provider refused.*invalid_grant/);

  // the provider says no
  const denied = new URL(await toCallback(b, 'bo'));
  denied.searchParams.delete('code');
  denied.searchParams.set('error', 'access_denied');
  denied.searchParams.set('error_description', 'the user said no');
  r = await b.request(denied.href);
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /refused the sign-in: access_denied: the user said no/);
});

test('ID tokens are checked: nonce, signature, issuer, audience, azp, expiry; unknown kid after rotation', async () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases = [
    [{ }, 302, null], // the forging itself is sound: an honest token passes
    [{ nonce: 'A'.repeat(43) }, 401, /nonce/],
    [{ iss: 'http://127.0.0.1:1' }, 401, /issuer/],
    [{ aud: 'someone-else' }, 401, /audience/],
    [{ aud: ['gatehouse-portal', 'other'], azp: 'other' }, 401, /azp/],
    [{ exp: now() - 3600, iat: now() - 7200 }, 401, /expired/],
    [{ iat: undefined }, 401, /iat/],
  ];
  try {
    for (const [change, want, why] of cases) {
      idp.forge = ({ claims, sign }) => sign(JSON.parse(JSON.stringify({ ...claims, ...change })));
      const b = browser();
      const { r } = await signIn(b, 'bo');
      assert.equal(r.status, want, JSON.stringify(change));
      if (why) assert.match((await r.json()).error.message, why);
    }
    // a tampered payload, and alg none
    idp.forge = ({ claims, sign }) => {
      const [h, , s] = sign(claims).split('.');
      return `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'ana' })).toString('base64url')}.${s}`;
    };
    let { r } = await signIn(browser(), 'bo');
    assert.equal(r.status, 401);
    assert.match((await r.json()).error.message, /signature/);
    idp.forge = ({ claims }) => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    ({ r } = await signIn(browser(), 'bo'));
    assert.equal(r.status, 401);
  } finally {
    idp.forge = null;
  }
  // the provider rotates its key: the first token with the new kid fetches the key set again
  idp.rotate();
  const b = browser();
  const { r } = await signIn(b, 'bo');
  assert.equal(r.status, 302, await r.clone().text());
  assert.equal((await (await me(b)).json()).user, 'user:default/bo');
});

test('return_to must stay on this site; development sign-in is off next to a provider', async () => {
  assert.equal((await fetch(`${portal}/auth/dev-login`)).status, 404);
  for (const bad of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/a b']) {
    const r = await fetch(`${portal}/auth/login?return_to=${encodeURIComponent(bad)}`, { redirect: 'manual' });
    assert.equal(r.status, 400, bad);
    assert.match((await r.json()).error.message, /path on this site/);
  }
});

test('sessions: CSRF on changes, foreign Origin refused, logout ends the session on the server', async () => {
  const b = browser();
  assert.equal((await signIn(b, 'ana')).r.status, 302);
  const { csrfToken } = await (await me(b)).json();
  const oldCookie = b.cookie(portal, 'gh_session');

  // a personal token acts for her, with the role it was given and her teams from the catalog
  const pat = cli('token', 'create', '--user', 'ana', '--name', 'laptop');
  assert.equal(pat.status, 0, pat.stderr);
  const mine = await (await fetch(`${portal}/api/me`, { headers: { authorization: `Bearer ${pat.stdout.trim()}` } })).json();
  assert.deepEqual(mine, { id: 'user:default/ana', user: 'user:default/ana', role: 'developer',
    groups: ['group:default/payments'], via: 'token' });
  const bad = cli('token', 'create', '--user', 'component:default/x');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /must be a User/);
  let r = await b.request(`${portal}/auth/logout`, { method: 'POST' });
  assert.equal(r.status, 403);
  assert.match((await r.json()).error.message, /CSRF token/);
  r = await b.request(`${portal}/auth/logout`, { method: 'POST', headers: { 'x-csrf-token': 'x'.repeat(43) } });
  assert.equal(r.status, 403);
  r = await b.request(`${portal}/auth/logout`, { method: 'POST', headers: { 'x-csrf-token': csrfToken, origin: 'https://evil.example' } });
  assert.equal(r.status, 403);
  assert.match((await r.json()).error.message, /another origin/);
  r = await b.request(`${portal}/auth/logout`, { method: 'POST', headers: { 'x-csrf-token': csrfToken, 'sec-fetch-site': 'cross-site' } });
  assert.equal(r.status, 403);
  // a session cookie never stands in for an API token on the control API's changes either
  r = await b.request(`${portal}/api/apps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x","owner":"y"}' });
  assert.equal(r.status, 403);

  r = await b.request(`${portal}/auth/logout`, { method: 'POST', headers: { 'x-csrf-token': csrfToken, origin: portal } });
  assert.equal(r.status, 200);
  const out = await r.json();
  assert.equal(out.signedOut, true);
  assert.match(out.logoutUrl, new RegExp(`^${idp.url}/session/end\\?client_id=gatehouse-portal&post_logout_redirect_uri=`));
  assert.equal(b.cookie(portal, 'gh_session'), undefined);
  // the old cookie is dead on the server, not just forgotten by the browser
  r = await fetch(`${portal}/api/me`, { headers: { cookie: `gh_session=${oldCookie}` } });
  assert.equal(r.status, 401);
  r = await fetch(`${portal}/api/me`, { headers: { cookie: 'gh_session=made-up' } });
  assert.equal(r.status, 401);
});

// [method, path, the answer per caller: nobody, developer, api-publisher, auditor, admin];
// '+' means let through (whatever the handler then says), 'U' 401, 'D' 403, 'S' sent to sign in (a page).
const routes = [
  ['GET', '/', 'S++++'],
  ['GET', '/static/app.css', '+++++'],
  ['GET', '/catalog', 'S++++'],
  ['GET', '/catalog/default/api/x', 'S++++'],
  ['GET', '/access', 'S++++'],
  ['GET', '/access/request', 'S++D+'],
  ['POST', '/access/request', 'S++D+'],
  ['POST', '/access/apps/x/rotate', 'S++D+'],
  ['POST', '/access/apps/x/keys', 'S++D+'],
  ['POST', '/access/keys/x/revoke', 'S++D+'],
  ['POST', '/access/grants/x/revoke', 'S++D+'],
  ['POST', '/access/requests/x/withdraw', 'S++D+'],
  ['GET', '/approvals', 'S++D+'],
  ['POST', '/approvals/x/decide', 'S++D+'],
  ['GET', '/audit', 'SDD++'],
  ['GET', '/admin', 'SDDD+'],
  ['GET', '/api/audit/export', 'UDD++'],
  ['GET', '/metrics', '+++++'], // clients on this machine may scrape
  ['GET', '/api/me', 'U++++'],
  ['GET', '/api/usage', 'UDD++'],
  ['GET', '/api/audit', 'UDD++'],
  ['GET', '/api/search?q=x', 'U++++'],
  ['GET', '/api/plans', 'U++++'],
  ['GET', '/api/access/explain?api=x&plan=y', 'U++D+'],
  ['GET', '/api/access/requests', 'U++++'],
  ['POST', '/api/access/requests', 'U++D+'],
  ['POST', '/api/access/requests/x/withdraw', 'U++D+'],
  ['POST', '/api/access/requests/x/decide', 'U++D+'],
  ['GET', '/api/access/approvals', 'U++D+'],
  ['GET', '/api/apps', 'UDD++'],
  ['POST', '/api/apps', 'UDDD+'],
  ['POST', '/api/apps/x/keys', 'U++D+'], // the application's owners; x is nobody's: 404
  ['POST', '/api/apps/x/bindings', 'U++D+'],
  ['GET', '/api/keys', 'UDD++'],
  ['DELETE', '/api/keys/x', 'U++D+'], // the application's owners; x is nobody's: 404
  ['POST', '/api/apps/x/keys/rotate', 'U++D+'],
  ['GET', '/api/apis/x/consumers', 'U++++'], // the API's owners, auditors, admins; x is no API: 404
  ['GET', '/api/webhooks', 'UDDD+'],
  ['GET', '/api/webhooks/deliveries', 'UDDD+'],
  ['GET', '/api/grants', 'UDD++'],
  ['POST', '/api/grants', 'UDDD+'],
  ['DELETE', '/api/grants/x', 'U++D+'], // the API's or the application's owners; x is nobody's: 404
  ['GET', '/api/catalog/entities', 'U++++'],
  ['GET', '/api/catalog/entities/by-query', 'U++++'],
  ['POST', '/api/catalog/entities/by-refs', 'U++++'],
  ['GET', '/api/catalog/entities/by-uid/x', 'U++++'],
  ['DELETE', '/api/catalog/entities/by-uid/x', 'UD+D+'],
  ['GET', '/api/catalog/entities/by-name/api/default/x', 'U++++'],
  ['GET', '/api/catalog/locations', 'U++++'],
  ['POST', '/api/catalog/locations', 'UD+D+'],
  ['GET', '/api/catalog/locations/x', 'U++++'],
  ['DELETE', '/api/catalog/locations/x', 'UD+D+'],
  ['GET', '/api/catalog/locations/by-entity/api/default/x', 'U++++'],
  ['GET', '/api/catalog/entity-facets', 'U++++'],
  ['POST', '/api/catalog/validate-entity', 'U++++'],
  ['POST', '/api/catalog/refresh', 'UD+D+'],
];

test('every control-API route with each role: allowed or refused as the permission table says', async () => {
  const tokens = [null, ...['developer', 'api-publisher', 'auditor', 'admin'].map((role) => {
    const r = cli('token', 'create', '--role', role, '--name', `walk-${role}`);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  })];
  for (const [method, path, want] of routes) {
    for (let i = 0; i < tokens.length; i++) {
      const r = await fetch(`${portal}${path}`, {
        method, redirect: 'manual',
        headers: { ...(tokens[i] ? { authorization: `Bearer ${tokens[i]}` } : {}), 'content-type': 'application/json' },
        body: method === 'POST' ? '{}' : undefined,
      });
      await r.arrayBuffer();
      const got = r.status === 401 ? 'U' : r.status === 403 ? 'D'
        : r.status === 302 && r.headers.get('location').startsWith('/auth/login?return_to=') ? 'S' : '+';
      assert.equal(got, want[i], `${method} ${path} as ${['nobody', 'developer', 'api-publisher', 'auditor', 'admin'][i]}: ${r.status}`);
    }
  }
  // a path or method no route has: 404 / 405 for anyone, before any permission is asked
  assert.equal((await fetch(`${portal}/api/nowhere`)).status, 404);
  const r = await fetch(`${portal}/api/keys`, { method: 'POST' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET, HEAD');
});

test('userinfo: claims the ID token leaves out are read from the userinfo endpoint', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const idp2 = await startIdp({ redirectUri: `${base}/auth/callback`, accounts, claimsInIdToken: false });
  const gh2 = await startGatehouse(`log: { access: off }
identity:
  oidc: { issuer: "${idp2.url}", client_id: gatehouse-portal, redirect_uri: "${base}/auth/callback",
          client_secret: secret:oidc-client, scopes: [openid, profile, email, groups], userinfo: true }
  group_map: { payments-team: payments }
  role_map: { platform-admins: admin }
`, {
    portalPort: port,
    before: (file) => {
      assert.equal(spawnSync(BIN, ['secrets', 'init', '-c', file]).status, 0);
      assert.equal(spawnSync(BIN, ['secrets', 'set', '-c', file, 'oidc-client'], { input: 'portal-secret' }).status, 0);
    },
  });
  try {
    let r;
    for (let i = 0; i < 200; i++) {
      r = await fetch(`${base}/auth/login`, { redirect: 'manual' });
      if (r.status === 302) break;
      await sleep(20);
    }
    const b = browser();
    idp2.next = 'ana';
    const { res } = await b.go(`${base}/auth/login`, { stop: (u) => u === `${base}/` });
    assert.equal(res.status, 302);
    const who = await (await b.request(`${base}/api/me`)).json();
    assert.equal(who.role, 'admin');
    assert.deepEqual(who.groups, ['group:default/payments']);
    assert.ok(idp2.requests.some((u) => u.startsWith('/me')), 'the userinfo endpoint was called');
  } finally {
    await gh2.stop();
    await idp2.close();
  }
});
