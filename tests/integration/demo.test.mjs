// `make demo`'s config (examples/demo/gatehouse.yaml) as a newcomer meets it: the three-step tour it
// prints, over HTTP -- mock APIs answering from their OpenAPI examples, a rule approving at once, an
// owner approving a partner API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, startGatehouse, sleep, devLogin } from './helpers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('demo: the tour the demo prints works, on mock APIs', async () => {
  assert.equal(spawnSync('bash', ['-n', path.join(root, 'scripts/demo.sh')]).status, 0);
  // the demo's config, with this test's ports and files (everything else as shipped)
  const yaml = readFileSync(path.join(root, 'examples/demo/gatehouse.yaml'), 'utf8')
    .replace(/^listen:\n(  .*\n)+/m, '').replace(/^workers: .*\n/m, '')
    .replaceAll('../examples/', `${root}/examples/`)
    .replace('access: stdout', 'access: off');
  let gh = null;
  gh = await startGatehouse(yaml, {
    before: (file) => assert.equal(spawnSync(BIN, ['secrets', 'init', '-c', file]).status, 0),
  });
  const portal = `http://127.0.0.1:${gh.portalPort}`;
  const gw = (p, key, init = {}) => fetch(`http://127.0.0.1:${gh.port}${p}`,
    { ...init, headers: { ...(key ? { 'x-api-key': key } : {}), ...(init.headers ?? {}) } });
  const form = (who, p, fields) => fetch(`${portal}${p}`, { method: 'POST', redirect: 'manual',
    headers: { cookie: who.cookie, origin: portal }, body: new URLSearchParams({ csrf: who.csrf, ...fields }) });
  try {
    for (let i = 0; i < 100 && (await (await fetch(`${portal}/auth/dev-login`)).json()).users.length < 4; i++) await sleep(20);
    // 1. ada finds inventory and asks: approved at once, the key shown once
    const ada = await devLogin(portal, 'ada.lovelace');
    const found = await (await fetch(`${portal}/catalog?q=inventory`, { headers: { cookie: ada.cookie } })).text();
    assert.match(found, /href="\/catalog\/default\/api\/inventory">Inventory API<\/a>/);
    // the API's definition: its operations with their parameters
    const def = await (await fetch(`${portal}/catalog/default/api/orders?tab=definition`, { headers: { cookie: ada.cookie } })).text();
    assert.ok(def.includes('<td class="method">GET</td><td><code>/orders/{id}</code></td><td>Fetch one order</td>' +
      '<td>id (path, required)</td>'), def);
    assert.ok(def.includes('<td>List orders</td><td>status (query)</td>'));
    assert.ok(def.includes('<td>Place an order</td><td>body</td>'));
    let r = await form(ada, '/access/request', { api: 'inventory', plan: 'free', app: '', new_app: 'ada-shop',
      owner: 'user:default/ada.lovelace' });
    const page = await r.text();
    assert.equal(r.status, 200, page);
    const key = /<code id="key">(ghk_[A-Za-z0-9]+)<\/code>/.exec(page)[1];
    // 2. the gateway answers from the OpenAPI document's example
    assert.equal((await gw('/inventory/sku-1')).status, 401);
    r = await gw('/inventory/sku-1', key);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.headers.get('x-gatehouse-mock'), 'true');
    assert.deepEqual(await r.json(), { sku: 'sku-1', warehouses: { ber: 12, ams: 3 } });
    r = await gw('/inventory/sku-1/reservations', key, { method: 'POST', body: '{"qty":1}',
      headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 201);
    r = await gw('/inventory/sku-1', key, { method: 'PUT', body: '{}' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD'); // what this path has, not every method of the API
    assert.equal((await gw('/inventory/sku-1/nothing/here', key)).status, 404);
    assert.equal((await gw('/orders/ord-1', key)).status, 403); // no grant on orders
    // 3. payments is a partner API: its owners decide; then the same key works there
    r = await form(ada, '/access/request', { api: 'payments', plan: 'partner', app: 'ada-shop' });
    assert.match(await r.text(), /<h1>Request sent<\/h1>/);
    assert.equal((await gw('/payments/pay-5531', key)).status, 403);
    const grace = await devLogin(portal, 'grace.hopper');
    const inbox = await (await fetch(`${portal}/approvals`, { headers: { cookie: grace.cookie } })).text();
    const id = /action="\/approvals\/(req_[0-9a-f]+)\/decide"/.exec(inbox)[1];
    r = await form(grace, `/approvals/${id}/decide`, { decision: 'approve', comment: 'welcome' });
    assert.equal(r.status, 303);
    r = await gw('/payments', key, { method: 'POST', body: '{"order":"ord-1002","amount":4250}',
      headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), '/payments/pay-5531');
    assert.equal((await r.json()).status, 'authorised');
  } finally {
    await gh?.stop();
  }
});
