// The portal's pages: sign-in by redirect, security headers on every page, everything escaped, no
// inline script, forms that need their CSRF token, and the journey through forms: request access,
// see the key once, call the gateway with it, an owner approving, revoking, rotating -- with other
// people's things answering 404.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGatehouse, startUpstream, sleep, accessYaml, devLogin } from './helpers.mjs';

const EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&';

const org = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: engineering, description: ${JSON.stringify(`Builders ${EVIL}`)} }
spec: { type: team, children: [] }
` + [['ana', '[engineering]'], ['bo', '[]']].map(([u, m]) => `---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: ${u} }
spec: { memberOf: ${m} }
`).join('');

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function checkPage(r, html) {
  assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(r.headers.get('content-security-policy'), CSP);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  assert.equal(r.headers.get('referrer-policy'), 'same-origin');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.ok(!html.includes('<script>alert'), 'data is escaped');
  assert.ok(!/onerror=/.test(html.replace(/&[a-z#0-9]+;/g, '')) || !html.includes('<img src=x'), 'no injected markup');
  for (const tag of html.match(/<script[^>]*>/g) ?? []) assert.match(tag, /^<script src="\/static\/app\.js" defer>$/);
  assert.ok(!/ on[a-z]+="/.test(html), 'no inline handlers');
}

test('pages: sign-in, headers, escaping, CSRF, and the access journey through forms', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-pages-'));
  writeFileSync(path.join(dir, 'org.yaml'), org);
  const up = await startUpstream(() => ({ status: 200, body: 'orders' }));
  const gh = await startGatehouse(accessYaml({ catalogFile: `${dir}/org.yaml`, upstream: up.url, extra: '    auth: key\n',
    rest: `usage: { flush_interval: 1s }
access_rules:
  - name: engineering-internal
    when: { requester_groups_any: [engineering], plans: [starter] }
    decide: approve
  - name: default
    decide: owner_approval
` }));
  const portal = `http://127.0.0.1:${gh.portalPort}`;
  const call = (key) => fetch(`http://127.0.0.1:${gh.port}/orders/1`, { headers: { 'x-api-key': key } });
  const signIn = async (user) => {
    const { cookie, csrf } = await devLogin(portal, user);
    const page = async (p) => {
      const res = await fetch(`${portal}${p}`, { headers: { cookie }, redirect: 'manual' });
      const html = await res.text();
      if (res.headers.get('content-type')?.startsWith('text/html')) checkPage(res, html);
      return { res, html };
    };
    const form = async (p, fields, { token = csrf } = {}) => {
      const body = new URLSearchParams({ ...(token ? { csrf: token } : {}), ...fields });
      const res = await fetch(`${portal}${p}`, { method: 'POST', redirect: 'manual', body,
        headers: { cookie, origin: portal, 'sec-fetch-site': 'same-origin' } });
      const html = await res.text();
      if (res.headers.get('content-type')?.startsWith('text/html')) checkPage(res, html);
      return { res, html };
    };
    return { page, form };
  };
  try {
    for (let i = 0; i < 100 && (await (await fetch(`${portal}/auth/dev-login`)).json()).users.length < 2; i++) await sleep(20);
    // nobody: sent to sign in, and back
    let r = await fetch(`${portal}/catalog?kind=api`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/auth/login?return_to=%2Fcatalog%3Fkind%3Dapi');
    r = await fetch(`${portal}${r.headers.get('location')}`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/auth/dev-login?return_to=%2Fcatalog%3Fkind%3Dapi');
    r = await fetch(`${portal}/static/app.css`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.match(await r.text(), /--focus/);
    r = await fetch(`${portal}/static/nope.js`);
    assert.equal(r.status, 404);
    checkPage(r, await r.text());
    r = await fetch(`${portal}/no/such/page`);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /There is no such page/);

    const ana = await signIn('ana');
    let { res, html } = await ana.page('/');
    assert.equal(res.status, 200);
    assert.match(html, /<h1>Welcome to Gatehouse<\/h1>/);
    assert.match(html, /<h2>Recently changed APIs<\/h2><ul><li><a href="\/catalog\/default\/api\/orders">orders<\/a> <span class="muted">[^<]* &middot; changed 20\d\d-/);

    // the catalog: search, facets, and an entity whose description tries to inject markup
    ({ res, html } = await ana.page('/catalog?q=builders'));
    assert.match(html, /1 entity/);
    assert.ok(html.includes('Builders &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;&amp;'));
    ({ html } = await ana.page('/catalog?kind=API'));
    assert.match(html, /<input type="checkbox" name="kind" value="API" checked>/);
    assert.match(html, /href="\/catalog\/default\/api\/orders"/);
    ({ html } = await ana.page('/catalog/default/group/engineering'));
    assert.ok(html.includes('&lt;script&gt;alert(1)'));
    assert.match(html, /ownerOf <a href="\/catalog\/default\/api\/orders">/);
    ({ res, html } = await ana.page('/catalog/default/api/orders'));
    assert.match(html, /<dt>Owner<\/dt><dd><a href="\/catalog\/default\/group\/engineering">engineering<\/a>/);
    assert.match(html, /<a class="button" href="\/access\/request\?api=orders">Request access<\/a>/);
    assert.match(html, /Consumers/); // ana is in the owning team
    ({ res } = await ana.page('/catalog/default/api/nothing'));
    assert.equal(res.status, 404);

    // request access: the rule that will decide, shown before sending
    ({ html } = await ana.page('/access/request?api=orders&plan=starter'));
    assert.match(html, /Rule <strong>engineering-internal<\/strong> decides: this request will be approved at once/);
    // a form without its token, or with a wrong one, changes nothing
    ({ res, html } = await ana.form('/access/request', { api: 'orders', plan: 'starter', new_app: 'ana-app', owner: 'user:default/ana' }, { token: null }));
    assert.equal(res.status, 403);
    ({ res } = await ana.form('/access/request', { api: 'orders', plan: 'starter', new_app: 'ana-app', owner: 'user:default/ana' }, { token: 'x'.repeat(43) }));
    assert.equal(res.status, 403);
    assert.match((await ana.page('/access')).html, /<h2>Applications<\/h2><p class="muted">None yet/);
    // a bad field: the form again, with the reason
    ({ res, html } = await ana.form('/access/request', { api: 'orders', plan: 'starter', new_app: 'ana-app', owner: 'user:default/ana', days: 'soon' }));
    assert.equal(res.status, 400);
    assert.match(html, /role="alert">Days: a whole number from 1 to 3650/);
    // one click: the key, once, with a ready curl line, and it works
    ({ res, html } = await ana.form('/access/request', { api: 'orders', plan: 'starter', app: '', new_app: 'ana-app', owner: 'user:default/ana', justification: EVIL }));
    assert.equal(res.status, 200, html);
    assert.match(html, /<h1>Access granted<\/h1>/);
    const key = /<code id="key">(ghk_[A-Za-z0-9]+)<\/code>/.exec(html)[1];
    // the gateway's URL as its catalog entity says (listen port 0 in tests: the configured one)
    assert.ok(html.includes(`curl -H 'X-API-Key: ${key}' http://127.0.0.1:0/orders/`), html.match(/<pre.*<\/pre>/)?.[0]);
    assert.equal((await call(key)).status, 200);
    ({ html } = await ana.page('/access'));
    assert.ok(!html.includes(key), 'the key is shown once, then only its id');
    assert.ok(html.includes(key.slice(0, 12)));

    // bo asks for gold; ana (owning team) approves through the inbox; bo sees it decided
    const bo = await signIn('bo');
    ({ html } = await bo.form('/access/request', { api: 'orders', plan: 'gold', new_app: 'bo-app', owner: 'user:default/bo', justification: 'reports' }));
    assert.match(html, /<h1>Request sent<\/h1>/);
    assert.match(html, /asks the API&#39;s owners to decide/);
    ({ html } = await bo.page('/approvals'));
    assert.match(html, /Nothing waits for your decision/);
    ({ html } = await ana.page('/approvals'));
    const id = /action="\/approvals\/(req_[0-9a-f]+)\/decide"/.exec(html)[1];
    assert.match(html, /user:default\/bo asks for orders \(gold\)/);
    ({ res } = await bo.form(`/approvals/${id}/decide`, { decision: 'approve' }));
    assert.equal(res.status, 403); // not the requester
    ({ res } = await ana.form(`/approvals/${id}/decide`, { decision: 'maybe' }));
    assert.equal(res.status, 400);
    ({ res } = await ana.form(`/approvals/${id}/decide`, { decision: 'approve', comment: 'ok' }));
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/approvals?done=approved');
    assert.match((await ana.page('/approvals?done=approved')).html, /role="status">Approved/);
    assert.match((await bo.page('/access')).html, /<span class="badge ok">approved<\/span>/);

    // other people's things answer 404 through the pages too
    ({ res } = await bo.form('/access/apps/ana-app/rotate', {}));
    assert.equal(res.status, 404);
    ({ res } = await bo.form(`/access/keys/${key.slice(0, 12)}/revoke`, {}));
    assert.equal(res.status, 404);
    assert.equal((await call(key)).status, 200);

    // rotate (a new secondary, shown once), then revoke the first key: it stops at once
    ({ res, html } = await ana.form('/access/apps/ana-app/rotate', {}));
    assert.equal(res.status, 200);
    const second = /<code id="key">(ghk_[A-Za-z0-9]+)<\/code>/.exec(html)[1];
    assert.equal((await call(second)).status, 200);
    ({ res } = await ana.form(`/access/keys/${key.slice(0, 12)}/revoke`, {}));
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/access?done=revoked');
    assert.equal((await call(key)).status, 401);
    assert.equal((await call(second)).status, 200);
    ({ res, html } = await ana.form(`/access/keys/${key.slice(0, 12)}/revoke`, {}));
    assert.equal(res.status, 409);
    assert.match(html, /<h1>Already done<\/h1>/);

    // usage, drawn on the server: the calls made above, per hour
    let chart = '';
    for (let i = 0; i < 100 && !/calling <strong>orders<\/strong>: [1-9]/.test(chart); i++) {
      await sleep(50);
      chart = (await ana.page('/access')).html;
    }
    assert.match(chart, /<strong>ana-app<\/strong> calling <strong>orders<\/strong>: \d+ requests in the last 24 hours, 0 of them throttled/);
    assert.match(chart, /<svg class="chart" viewBox="0 0 480 120" role="img" aria-label="\d+ requests in the last 24 hours/);
    assert.match(chart, /<title>\d\d:00 UTC: [1-9]\d* requests, 0 throttled<\/title>/);
    const daily = (await ana.page('/access?usage=days')).html;
    assert.match(daily, /<h2>Usage, last 30 days<\/h2>/);
    assert.match(daily, /calling <strong>orders<\/strong>: [1-9]\d* requests in the last 30 days/);
    assert.match(daily, /<title>20\d\d-\d\d-\d\d: [1-9]\d* requests, 0 throttled<\/title>/);
    assert.equal((daily.match(/<rect class="bar-ok"/g) ?? []).length, 30);
    // the same numbers through the API: for the application's owners, not for others
    const cookieOf = async (u) => (await devLogin(portal, u)).cookie;
    r = await fetch(`${portal}/api/usage?app=ana-app`, { headers: { cookie: await cookieOf('ana') } });
    assert.equal(r.status, 200);
    assert.ok((await r.json()).series.some((x) => x.api === 'orders'));
    r = await fetch(`${portal}/api/usage?app=ana-app`, { headers: { cookie: await cookieOf('bo') } });
    assert.equal(r.status, 403);
    assert.doesNotMatch((await bo.page('/access')).html, /ana-app/);
  } finally {
    await gh.stop();
    await up.close();
  }
});
