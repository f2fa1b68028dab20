// The portal in a real browser (Debian's chromium, headless, driven by playwright-core): people sign in
// through a real OpenID provider (oidc-provider), find an API, ask for access and use the key; an
// owner approves another person's request. Screenshots of each main page go to
// tests/browser/artifacts/ (ignored by git).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { BIN, startGatehouse, startUpstream, freePort, sleep } from '../integration/helpers.mjs';
import { startIdp, oidcIdentity, storeClientSecret } from '../integration/idp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const shots = path.join(here, 'artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const accounts = {
  ana: { name: 'Ana Lima', email: 'ana@example.com', preferred_username: 'ana', groups: ['eng'] },
  bo: { name: 'Bo Berg', email: 'bo@example.com', preferred_username: 'bo', groups: [] },
  carol: { name: 'Carol Diaz', email: 'carol@example.com', preferred_username: 'carol', groups: ['eng'] },
  dora: { name: 'Dora Eze', email: 'dora@example.com', preferred_username: 'dora', groups: ['auditors'] },
};

let idp, gh, up, portal, browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  const port = await freePort();
  portal = `http://127.0.0.1:${port}`;
  idp = await startIdp({ redirectUri: `${portal}/auth/callback`, accounts });
  up = await startUpstream(() => ({ status: 200, body: '{"id":"ord-1","status":"open"}' }));
  gh = await startGatehouse(`log: { access: off }
${oidcIdentity(idp, portal, '  group_map: { eng: engineering }\n  role_map: { auditors: auditor }\n')}usage: { flush_interval: 1s }
plans:
  - name: starter
    rate: { requests: 10, per: 1s }
  - name: gold
    rate: { requests: 100, per: 1s }
apis:
  - name: orders
    route: { path: /orders }
    upstream: { targets: ["${up.url}"] }
    auth: key
    lifecycle: production
    owner: engineering
    description: Place, list and cancel orders
    plans: [starter, gold]
access_rules:
  - name: engineering-internal
    when: { requester_groups_any: [engineering], plans: [starter] }
    decide: approve
  - name: default
    decide: owner_approval
`, {
    portalPort: port,
    before: storeClientSecret(BIN, idp),
  });
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${portal}/auth/login`, { redirect: 'manual' })).status === 302) break;
    await sleep(20);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await gh?.stop();
  await idp?.close();
  await up?.close();
});

// A person's own browser, signed in through the provider (sign-in starts at the first page).
async function person(user) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: portal });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  idp.next = user;
  await page.goto(`${portal}/`);
  await page.waitForURL(`${portal}/`);
  return { context, page, problems };
}

const call = (key) => fetch(`http://127.0.0.1:${gh.port}/orders/1`, { headers: { 'x-api-key': key } });

test('a developer signs in, finds an API, gets access in one click and sees the call in the usage chart', async () => {
  const { page, problems } = await person('ana');
  await assert.doesNotReject(page.getByRole('heading', { name: 'Welcome to Gatehouse' }).waitFor());
  await page.screenshot({ path: path.join(shots, 'home.png'), fullPage: true });

  // search from the start page; the catalog narrows as one types
  await page.getByLabel('Find an API, a service or a team').fill('orders');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/\/catalog\?q=orders/);
  await page.getByLabel('Search', { exact: true }).fill('ord');
  await page.waitForFunction(() => location.search === '?q=ord');
  await page.screenshot({ path: path.join(shots, 'catalog.png'), fullPage: true });
  await page.getByRole('link', { name: 'orders', exact: true }).first().click();
  await page.waitForURL(/\/catalog\/default\/api\/orders/);
  await assert.doesNotReject(page.getByText('Place, list and cancel orders').waitFor());
  await page.screenshot({ path: path.join(shots, 'api.png'), fullPage: true });

  // request access: the deciding rule is shown first
  await page.getByRole('link', { name: 'Request access' }).click();
  await page.getByLabel('Plan').selectOption('starter');
  await page.getByRole('button', { name: 'Show who decides' }).click();
  await assert.doesNotReject(page.getByText('this request will be approved at once').waitFor());
  await page.getByLabel("New application's name").fill('ana-app');
  await page.getByLabel('Why do you need it?').fill('checkout');
  await page.screenshot({ path: path.join(shots, 'request.png'), fullPage: true });
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Request access' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Access granted' }).waitFor());
  const key = (await page.locator('#key').textContent()).trim();
  assert.match(key, /^ghk_/);
  // the copy button puts exactly the key on the clipboard
  await page.locator('button[data-copy="key"]').click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
  await page.screenshot({ path: path.join(shots, 'key.png'), fullPage: true });
  const r = await call(key);
  assert.equal(r.status, 200);
  console.log(`# click to first gateway call in the browser: ${Date.now() - t0} ms`);
  // past the plan's 10 a second: some are throttled
  const burst = await Promise.all(Array.from({ length: 30 }, () => call(key).then((x) => x.status)));
  assert.ok(burst.includes(429), JSON.stringify(burst));

  // the calls show in the usage chart, the throttled ones marked
  let caption = '';
  for (let i = 0; i < 60 && !/[1-9]\d* of them throttled/.test(caption); i++) {
    await sleep(200);
    await page.goto(`${portal}/access`);
    caption = (await page.locator('figcaption').allTextContents()).join('\n'); // no waiting: none before the flush
  }
  assert.match(caption, /ana-app calling orders: [1-9]\d* requests in the last 24 hours, [1-9]\d* of them throttled/);
  const throttledBars = await page.locator('svg.chart rect.bar-throttled').evaluateAll(
    (rs) => rs.filter((r) => Number(r.getAttribute('height')) > 0).length);
  assert.equal(throttledBars, 1);
  assert.ok(await page.locator('svg.chart rect.bar-ok').count() >= 24);
  await page.screenshot({ path: path.join(shots, 'my-access.png'), fullPage: true });
  assert.deepEqual(problems, [], 'no console errors (CSP violations show there)');
});

test('an owner approves a request through the inbox, and the requester\'s key works', async () => {
  const bo = await person('bo');
  await bo.page.goto(`${portal}/access/request?api=orders&plan=gold`);
  await assert.doesNotReject(bo.page.getByText("sent to the API's owners to decide").waitFor());
  await bo.page.getByLabel("New application's name").fill('bo-app');
  await bo.page.getByLabel('Why do you need it?').fill('monthly reports');
  await bo.page.getByRole('button', { name: 'Request access' }).click();
  await assert.doesNotReject(bo.page.getByRole('heading', { name: 'Request sent' }).waitFor());

  const carol = await person('carol');
  await carol.page.getByRole('link', { name: 'Approvals' }).first().click();
  await assert.doesNotReject(carol.page.getByText('monthly reports').waitFor());
  await carol.page.screenshot({ path: path.join(shots, 'approvals.png'), fullPage: true });
  await carol.page.getByLabel('Comment for the requester').fill('fine for reports');
  await carol.page.getByRole('button', { name: 'Approve' }).click();
  await assert.doesNotReject(carol.page.getByText('Approved. The requester can take a key now.').waitFor());

  await bo.page.goto(`${portal}/access`);
  await assert.doesNotReject(bo.page.getByText('approved', { exact: true }).first().waitFor());
  await bo.page.getByRole('button', { name: 'Create a key' }).click();
  const key = (await bo.page.locator('#key').textContent()).trim();
  assert.equal((await call(key)).status, 200);
  // revoking asks first, then the key stops at once
  await bo.page.goto(`${portal}/access`);
  bo.page.once('dialog', (d) => d.accept());
  await bo.page.locator(`form[action="/access/keys/${key.slice(0, 12)}/revoke"] button`).click();
  await bo.page.waitForURL(/done=revoked/);
  assert.equal((await call(key)).status, 401);
  assert.deepEqual([...bo.problems, ...carol.problems], []);
});

test('an auditor filters the audit trail, exports it, and gatehouse audit verify accepts the file', async () => {
  const { page, problems } = await person('dora');
  await page.getByRole('link', { name: 'Audit' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Audit trail' }).waitFor());
  await page.getByLabel('Action (grant.* for all grant actions)').fill('access.*');
  await page.getByRole('button', { name: 'Filter' }).click();
  await assert.doesNotReject(page.getByRole('cell', { name: 'access.approve' }).waitFor());
  assert.equal(await page.getByRole('cell', { name: 'grant.create', exact: true }).count(), 0);
  await page.screenshot({ path: path.join(shots, 'audit.png'), fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export (JSON lines)' }).click()]);
  const file = path.join(shots, 'audit-export.jsonl');
  await download.saveAs(file);
  let r = spawnSync(BIN, ['audit', 'verify', '--file', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /events? intact/);
  // and an edited copy is refused
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[1] = lines[1].replace('"outcome":"success"', '"outcome":"failure"');
  const edited = path.join(shots, 'audit-export-edited.jsonl');
  writeFileSync(edited, lines.join('\n'));
  r = spawnSync(BIN, ['audit', 'verify', '--file', edited], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /NOT intact: event \d+ was changed/);
  // a developer has no audit page
  const ana = await person('ana');
  assert.equal(await ana.page.getByRole('link', { name: 'Audit' }).count(), 0);
  const res = await ana.page.goto(`${portal}/audit`);
  assert.equal(res.status(), 403);
  assert.deepEqual(problems, []);
});

test('the pages fit a phone screen, and the keyboard reaches everything from the skip link', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  idp.next = 'ana';
  await page.goto(`${portal}/`);
  await page.waitForURL(`${portal}/`);
  for (const [p, name] of [['/', 'home'], ['/catalog', 'catalog'], ['/catalog/default/api/orders', 'api'],
    ['/access', 'my-access'], ['/access/request?api=orders', 'request']]) {
    await page.goto(`${portal}${p}`);
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: innerWidth }));
    assert.ok(scroll <= width, `${p}: the page is ${scroll}px wide on a ${width}px screen`);
    await page.screenshot({ path: path.join(shots, `narrow-${name}.png`), fullPage: true });
  }
  // the first Tab lands on "Skip to content", which moves focus past the navigation
  await page.goto(`${portal}/catalog`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(new URL(page.url()).hash, '#main');
  // every form control has a label a screen reader can read
  for (const p of ['/', '/catalog', '/access/request?api=orders&plan=starter', '/access']) {
    await page.goto(`${portal}${p}`);
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map((el) => el.name));
    assert.deepEqual(unlabelled, [], p);
  }
  await context.close();
});
