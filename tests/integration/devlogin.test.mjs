// Development sign-in (identity.dev_login): sign in as a User of the catalog, with the role their
// teams map to; only on a loopback portal, only without a real identity provider.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, startGatehouse, sleep } from './helpers.mjs';

const org = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: platform }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: payments }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: ana }
spec: { profile: { displayName: Ana Lima, email: ana@example.com }, memberOf: [platform, payments] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: bo }
spec: { profile: { displayName: Bo Berg }, memberOf: [payments] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: eve }
spec: { profile: { displayName: "Eve <script>alert('x')</script> & co" }, memberOf: [] }
`;

test('dev login: users from the catalog, roles from their teams, session and CSRF like any other', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-org-'));
  writeFileSync(path.join(dir, 'org.yaml'), org);
  const gh = await startGatehouse(`log: { access: off }
catalog:
  locations: [{ type: file, target: "${dir}/org.yaml" }]
identity:
  dev_login: true
  role_map: { platform: admin }
  session: { idle_timeout: 2s, absolute_timeout: 5s }
`);
  const portal = `http://127.0.0.1:${gh.portalPort}`;
  try {
    let list;
    for (let i = 0; i < 100; i++) {
      list = await (await fetch(`${portal}/auth/dev-login`)).json();
      if (list.users.length === 3) break;
      await sleep(20);
    }
    assert.deepEqual(list.users, [
      { user: 'user:default/ana', name: 'Ana Lima', role: 'admin', groups: ['group:default/platform', 'group:default/payments'] },
      { user: 'user:default/bo', name: 'Bo Berg', role: 'developer', groups: ['group:default/payments'] },
      { user: 'user:default/eve', name: "Eve <script>alert('x')</script> & co", role: 'developer', groups: [] },
    ]);
    // the page a browser gets: a form per person, every value escaped, no script allowed
    const page = await fetch(`${portal}/auth/dev-login?return_to=%2Fcatalog`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    assert.match(page.headers.get('content-security-policy'), /default-src 'none'; form-action 'self'; frame-ancestors 'none'/);
    const html = await page.text();
    assert.match(html, /<form method="post" action="\/auth\/dev-login"><input type="hidden" name="user" value="user:default\/ana"><input type="hidden" name="return_to" value="\/catalog"><button type="submit">Ana Lima<\/button>/);
    assert.ok(html.includes('Eve &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co'));
    assert.ok(!html.includes('<script>'));
    // without a session nothing but sign-in answers: sign-in is configured now
    assert.equal((await fetch(`${portal}/api/catalog/entities`)).status, 401);

    let r = await fetch(`${portal}/auth/dev-login`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'ana' }) });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).role, 'admin');
    const cookie = r.headers.getSetCookie()[0].split(';')[0];
    assert.match(cookie, /^gh_session=[A-Za-z0-9_-]{43}$/);
    const me = await (await fetch(`${portal}/api/me`, { headers: { cookie } })).json();
    assert.equal(me.user, 'user:default/ana');
    assert.equal(me.via, 'session');
    assert.equal((await fetch(`${portal}/api/catalog/entities`, { headers: { cookie } })).status, 200);

    // a form from a page: back to where it was
    r = await fetch(`${portal}/auth/dev-login`, { method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: portal },
      body: 'user=bo&return_to=%2Fcatalog' });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/catalog');

    const post = (body, headers = {}) => fetch(`${portal}/auth/dev-login`, { method: 'POST',
      headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    assert.equal((await post({ user: 'nobody' })).status, 404);
    assert.equal((await post({ user: 'component:default/x' })).status, 400);
    assert.equal((await post({})).status, 400);
    assert.equal((await post({ user: 'ana' }, { origin: 'https://evil.example' })).status, 403);
    // sessions end after idle_timeout unused, and after absolute_timeout however busy
    const fresh = async () => (await fetch(`${portal}/auth/dev-login`, { method: 'POST',
      headers: { 'content-type': 'application/json' }, body: '{"user":"bo"}' })).headers.getSetCookie()[0].split(';')[0];
    const idle = await fresh();
    assert.equal((await fetch(`${portal}/api/me`, { headers: { cookie: idle } })).status, 200);
    await sleep(2300);
    assert.equal((await fetch(`${portal}/api/me`, { headers: { cookie: idle } })).status, 401);
    const busy = await fresh();
    const t0 = Date.now();
    while (Date.now() - t0 < 3500) {
      assert.equal((await fetch(`${portal}/api/me`, { headers: { cookie: busy } })).status, 200);
      await sleep(300);
    }
    await sleep(Math.max(0, 5300 - (Date.now() - t0)));
    assert.equal((await fetch(`${portal}/api/me`, { headers: { cookie: busy } })).status, 401);

    // the audit trail says how they signed in
    const tok = spawnSync(BIN, ['token', 'create', '--role', 'auditor', '-c', gh.file], { encoding: 'utf8' }).stdout.trim();
    const audit = await (await fetch(`${portal}/api/audit?action=session.login`, { headers: { authorization: `Bearer ${tok}` } })).json();
    assert.deepEqual(audit.items.map((e) => [e.target, e.details.via]).slice(0, 2), [['user:default/ana', 'dev-login'], ['user:default/bo', 'dev-login']]);
  } finally {
    await gh.stop();
  }
});

test('dev login is refused off loopback and next to a real provider', () => {
  const check = (yaml) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-dev-'));
    writeFileSync(path.join(dir, 'g.yaml'), yaml);
    return spawnSync(BIN, ['check', '-c', path.join(dir, 'g.yaml')], { encoding: 'utf8' });
  };
  let r = check('listen: { portal: "0.0.0.0:7070" }\nidentity:\n  dev_login: true\n');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /g\.yaml:2: identity\.dev_login: needs the portal on a loopback address \(listen\.portal is 0\.0\.0\.0:7070\)/);
  r = check('identity:\n  dev_login: true\n  oidc: { issuer: "https://idp.example", client_id: c, redirect_uri: "https://p.example/auth/callback" }\n');
  assert.match(r.stderr, /identity\.dev_login: is only for a config without identity\.oidc/);
});
