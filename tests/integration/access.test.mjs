// Applications, keys and grants through the command line: a key is printed once and stored only as
// a hash; every change lands in the audit trail. (Gateway enforcement builds on these next.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './helpers.mjs';

const run = (args) => spawnSync(BIN, args, { encoding: 'utf8' });

test('apps, keys and grants: created, listed without secrets, revoked, audited', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-access-'));
  const cfg = path.join(dir, 'gatehouse.yaml');
  writeFileSync(cfg, `apis:
  - name: pay
    route: { path: /pay }
    upstream: { targets: ["http://127.0.0.1:9"] }
    plans: [starter]
plans:
  - name: starter
    rate: { requests: 100, per: 1m }
`);
  let r = run(['apps', 'create', '-c', cfg, '--owner', 'team-pay', 'billing']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^billing: application app_[0-9a-f]{24}\n$/);
  r = run(['keys', 'create', '-c', cfg, '--app', 'billing']);
  assert.equal(r.status, 0, r.stderr);
  const key = r.stdout.trim();
  assert.match(key, /^ghk_[0-9A-Za-z]{49}$/);
  assert.match(r.stderr, /shown once; only its hash is kept/);
  r = run(['keys', 'list', '-c', cfg]);
  assert.match(r.stdout, new RegExp(`^${key.slice(0, 12)}  billing  primary  active  `, 'm'));
  assert.ok(!r.stdout.includes(key));
  for (const f of ['gatehouse.db', 'gatehouse.db-wal']) {
    if (existsSync(path.join(dir, f))) assert.ok(!readFileSync(path.join(dir, f)).includes(key.slice(12)), f);
  }
  r = run(['grants', 'create', '-c', cfg, '--app', 'billing', '--api', 'pay', '--plan', 'gold']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /API 'pay' does not offer plan 'gold'/);
  r = run(['grants', 'create', '-c', cfg, '--app', 'billing', '--api', 'pay', '--plan', 'starter', '--expires', '30d']);
  assert.equal(r.status, 0, r.stderr);
  const grant = r.stdout.trim();
  r = run(['grants', 'list', '-c', cfg]);
  assert.match(r.stdout, new RegExp(`^${grant}  billing  pay  starter  active  \\d{4}-`, 'm'));
  r = run(['grants', 'revoke', '-c', cfg, grant]);
  assert.equal(r.status, 0, r.stderr);
  r = run(['keys', 'revoke', '-c', cfg, key.slice(0, 12)]);
  assert.equal(r.status, 0, r.stderr);
  r = run(['keys', 'revoke', '-c', cfg, key.slice(0, 12)]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /already revoked/);
  r = run(['apps', 'list', '-c', cfg]);
  assert.match(r.stdout, /^billing  group:default\/team-pay  \S+  0  0$/m);
  r = run(['audit', 'verify', '-c', cfg]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^audit: 5 events intact/);
  r = run(['keys', 'frobnicate', '-c', cfg]);
  assert.equal(r.status, 2);
});
