// Access rules: `gatehouse access explain` and GET /api/access/explain say which rule would decide a
// request for access, and why each earlier one does not match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, startGatehouse, sleep, accessYaml } from './helpers.mjs';

const catalog = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: engineering }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: ana }
spec: { memberOf: [engineering] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: bo }
spec: { memberOf: [] }
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: { name: partners, tags: [partner] }
spec: { type: openapi, lifecycle: production, owner: engineering, definition: "openapi: 3.0.0" }
`;

test('access explain: CLI and REST, for oneself and (admins) for others', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-rules-'));
  writeFileSync(path.join(dir, 'catalog.yaml'), catalog);
  const gh = await startGatehouse(accessYaml({ catalogFile: `${dir}/catalog.yaml`, rest: `access_rules:
  - name: engineering-internal
    when: { requester_groups_any: [engineering], api_lifecycle: [production], api_tags_none: [partner], plans: [starter] }
    decide: approve
    max_duration: 90d
  - name: partner-apis
    when: { api_tags_any: [partner] }
    decide: owner_approval
    max_duration: 30d
  - name: default
    decide: owner_approval
` }));
  const portal = `http://127.0.0.1:${gh.portalPort}`;
  const cli = (...args) => spawnSync(BIN, [...args, '-c', gh.file], { encoding: 'utf8' });
  try {
    for (let i = 0; i < 100 && !(await fetch(`${portal}/auth/dev-login`).then((r) => r.json())).users.length; i++) await sleep(20);
    let r = cli('access', 'explain', '--user', 'ana', '--api', 'orders', '--plan', 'starter');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'user:default/ana asking for starter on api:default/orders:\n' +
      '  engineering-internal     decides: approve (at most 90 days)\n');
    r = cli('access', 'explain', '--user', 'bo', '--api', 'partners', '--plan', 'starter');
    assert.equal(r.stdout, 'user:default/bo asking for starter on api:default/partners:\n' +
      '  engineering-internal     no: the requester is in none of the groups group:default/engineering\n' +
      '  partner-apis             decides: owner_approval (at most 30 days)\n');
    r = cli('access', 'explain', '--user', 'nobody', '--api', 'orders', '--plan', 'starter');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no user:default\/nobody in the catalog/);
    r = cli('access', 'explain', '--user', 'ana', '--api', 'orders', '--plan', 'platinum');
    assert.match(r.stderr, /no plan named 'platinum'/);

    // REST, signed in as ana
    const login = await fetch(`${portal}/auth/dev-login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"ana"}' });
    const cookie = login.headers.getSetCookie()[0].split(';')[0];
    r = await fetch(`${portal}/api/access/explain?api=orders&plan=gold`, { headers: { cookie } });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), {
      rule: 'default', decide: 'owner_approval', api: 'api:default/orders', plan: 'gold', requester: 'user:default/ana',
      skipped: [
        { rule: 'engineering-internal', reason: 'the plan (gold) is not one of starter' },
        { rule: 'partner-apis', reason: 'the API has none of the tags partner' },
      ],
    });
    // someone else's: admins only
    r = await fetch(`${portal}/api/access/explain?api=orders&plan=starter&user=bo`, { headers: { cookie } });
    assert.equal(r.status, 403);
    const admin = cli('token', 'create', '--role', 'admin').stdout.trim();
    r = await fetch(`${portal}/api/access/explain?api=orders&plan=starter&user=bo`, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal((await r.json()).rule, 'default');
    // a service token is nobody in particular
    r = await fetch(`${portal}/api/access/explain?api=orders&plan=starter`, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(r.status, 400);
    r = await fetch(`${portal}/api/access/explain?api=nope&plan=starter`, { headers: { cookie } });
    assert.equal(r.status, 404);
  } finally {
    await gh.stop();
  }
});
