// The secret store and the audit trail through the command line: values only ever from stdin or a
// file, never printed; every change audited; the chain verifies; the master key's rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './helpers.mjs';

function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-secrets-'));
  const cfg = path.join(dir, 'gatehouse.yaml');
  writeFileSync(cfg, 'store: { path: ./s.db }\nsecrets: { master_key_file: ./keys/master.key }\n'); // both relative to cfg
  return { dir, cfg };
}
const env = { ...process.env };
delete env.GATEHOUSE_MASTER_KEY;
const run = (args, input, extraEnv = {}) => spawnSync(BIN, args, { encoding: 'utf8', input, env: { ...env, ...extraEnv } });

test('init, set from stdin and from a file, list without values, rollback, rm; all audited', () => {
  const { dir, cfg } = setup();
  let r = run(['secrets', 'init', '-c', cfg]);
  assert.equal(r.status, 1); // the key's directory does not exist: said clearly
  assert.match(r.stderr, /keys\/master\.key: No such file or directory/);
  spawnSync('mkdir', [path.join(dir, 'keys')]);
  r = run(['secrets', 'init', '-c', cfg]);
  assert.equal(r.status, 0, r.stderr);
  const key = path.join(dir, 'keys/master.key');
  assert.equal(statSync(key).mode & 0o777, 0o600);
  r = run(['secrets', 'init', '-c', cfg]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /never overwritten/);

  r = run(['secrets', 'set', '-c', cfg, 'idp.client-secret'], 'correct horse battery staple\n');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'idp.client-secret: version 1\n');
  writeFileSync(path.join(dir, 'token.txt'), 'tok\nwith newline\n');
  r = run(['secrets', 'set', '-c', cfg, 'idp.client-secret', '--from-file', path.join(dir, 'token.txt')]);
  assert.equal(r.stdout, 'idp.client-secret: version 2\n');
  r = run(['secrets', 'list', '-c', cfg]);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^NAME +VER +ALL +CREATED\nidp\.client-secret +v2 +2 +\d{4}-\d\d-\d\dT/);
  assert.doesNotMatch(r.stdout, /horse|tok/);
  for (const f of ['s.db', 's.db-wal']) {
    if (existsSync(path.join(dir, f))) assert.ok(!readFileSync(path.join(dir, f)).includes('horse'), f);
  }
  r = run(['secrets', 'rollback', '-c', cfg, 'idp.client-secret']);
  assert.equal(r.stdout, 'idp.client-secret: version 1 is current again\n');
  r = run(['secrets', 'rollback', '-c', cfg, 'idp.client-secret']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /has no version before 1/);
  r = run(['secrets', 'set', '-c', cfg, 'not a name'], 'x');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /'not a name' is not a secret name/);
  r = run(['secrets', 'rm', '-c', cfg, 'idp.client-secret']);
  assert.equal(r.status, 0);
  r = run(['secrets', 'rm', '-c', cfg, 'idp.client-secret']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no secret 'idp.client-secret'/);

  r = run(['audit', 'checkpoint', '-c', cfg]);
  assert.equal(r.status, 0, r.stderr);
  r = run(['audit', 'verify', '-c', cfg]);
  assert.equal(r.status, 0, r.stderr);
  // set, set, rollback, rm, and the checkpoint key's own creation
  assert.match(r.stdout, /^audit: 5 events intact, head [0-9a-f]{64}, 1 checkpoint\n$/);
});

test('rotate-master re-wraps every data key; the old key is refused; the key file rules', () => {
  const { dir, cfg } = setup();
  spawnSync('mkdir', [path.join(dir, 'keys')]);
  const key = path.join(dir, 'keys/master.key');
  assert.equal(run(['secrets', 'init', '-c', cfg]).status, 0);
  assert.equal(run(['secrets', 'set', '-c', cfg, 'a'], 'alpha').status, 0);
  assert.equal(run(['secrets', 'set', '-c', cfg, 'b'], 'bravo').status, 0);
  const old = readFileSync(key, 'utf8').trim();
  let r = run(['secrets', 'rotate-master', '-c', cfg]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /new master key; 2 data keys re-wrapped/);
  assert.notEqual(readFileSync(key, 'utf8').trim(), old);
  assert.ok(!existsSync(`${key}.new`));
  // the old key, given through the environment, no longer opens the store
  r = run(['secrets', 'set', '-c', cfg, 'c'], 'charlie', { GATEHOUSE_MASTER_KEY: old });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not the one the store's secrets were written with/);
  r = run(['secrets', 'rotate-master', '-c', cfg], '', { GATEHOUSE_MASTER_KEY: old });
  assert.equal(r.status, 1);
  chmodSync(key, 0o640);
  r = run(['secrets', 'set', '-c', cfg, 'c'], 'charlie');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /mode 0640: others may read it; it must be 0600/);
  chmodSync(key, 0o600);
  assert.equal(run(['secrets', 'set', '-c', cfg, 'c'], 'charlie').status, 0);
  r = run(['audit', 'verify', '-c', cfg]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^audit: 4 events intact/);
  r = run(['secrets', 'frobnicate', '-c', cfg]);
  assert.equal(r.status, 2);
  r = run(['secrets', 'list']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing -c gatehouse.yaml/);
});

test('audit export: jsonl and csv, time filters, the checkpoint at the end', () => {
  const { dir, cfg } = setup();
  spawnSync('mkdir', [path.join(dir, 'keys')]);
  assert.equal(run(['secrets', 'init', '-c', cfg]).status, 0);
  assert.equal(run(['secrets', 'set', '-c', cfg, 'a'], 'alpha').status, 0);
  assert.equal(run(['secrets', 'rm', '-c', cfg, 'a']).status, 0);
  let r = run(['audit', 'export', '-c', cfg]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  // set, delete, the checkpoint key's creation, then the checkpoint
  assert.deepEqual(lines.slice(0, 3).map((e) => [e.seq, e.action, e.target]), [
    [1, 'secret.set', 'secret:a'], [2, 'secret.delete', 'secret:a'], [3, 'secret.set', 'secret:gatehouse.audit-checkpoint-key'],
  ]);
  assert.equal(lines[1].prev_hash, lines[0].hash);
  assert.match(lines[0].actor, /^cli:/);
  assert.equal(lines[3].checkpoint.seq, 3);
  assert.equal(lines[3].checkpoint.head_hash, lines[2].hash);
  assert.match(lines[3].checkpoint.mac, /^[0-9a-f]{64}$/);
  assert.ok(!r.stdout.includes('alpha'));
  r = run(['audit', 'export', '-c', cfg, '--format', 'csv', '--until', '2000-01-01']);
  assert.equal(r.status, 0);
  const csv = r.stdout.trim().split('\n');
  assert.equal(csv[0], 'seq,time,actor,action,target,outcome,details,request_id,prev_hash,hash');
  assert.equal(csv.length, 2); // nothing before 2000, and the checkpoint line
  assert.match(csv[1], /^# checkpoint \{"seq":3,/);
  r = run(['audit', 'export', '-c', cfg, '--since', 'yesterday']);
  assert.equal(r.status, 2);
  r = run(['audit', 'export', '-c', cfg, '--format', 'xml']);
  assert.equal(r.status, 2);
});

test('kill -9 in the middle of audited writes loses no acknowledged change and leaves the chain intact', async () => {
  const { dir, cfg } = setup();
  spawnSync('mkdir', [path.join(dir, 'keys')]);
  assert.equal(run(['secrets', 'init', '-c', cfg]).status, 0);
  const { spawn } = await import('node:child_process');
  let acked = 0;
  const attempts = 40;
  for (let i = 0; i < attempts; i++) {
    const p = spawn(BIN, ['secrets', 'set', '-c', cfg, 'k'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stdin.end(`value ${i}`);
    if (i % 2) setTimeout(() => p.kill('SIGKILL'), (i * 7) % 13);
    const code = await new Promise((res) => p.on('exit', (c) => res(c)));
    if (code === 0 && /version \d+/.test(out)) acked++;
  }
  const r = run(['audit', 'verify', '-c', cfg]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const events = Number(/audit: (\d+) events? intact/.exec(r.stdout)[1]);
  assert.ok(events >= acked && events <= attempts, `${events} events, ${acked} acknowledged`);
  const list = run(['secrets', 'list', '-c', cfg]).stdout;
  if (events) assert.match(list, new RegExp(`^k +v${events} +${events} `, 'm')); // one version per event
  assert.ok(acked >= attempts / 2 - 1, `only ${acked} acknowledged`);
});

test('a full disk is a clear error and leaves the store consistent', (t) => {
  if (process.getuid?.() !== 0 || spawnSync('unshare', ['-m', 'true']).status !== 0) {
    t.skip('needs root and mount namespaces (unshare -m)');
    return;
  }
  const { dir, cfg } = setup();
  const script = `set -e
mount -t tmpfs -o size=1500k tmpfs "${dir}"
mkdir "${dir}/keys"
cd "${dir}"
printf 'store: { path: ./s.db }\\nsecrets: { master_key_file: ./keys/master.key }\\n' > gatehouse.yaml
"${BIN}" secrets init -c gatehouse.yaml >/dev/null 2>&1
head -c 30000 /dev/zero | tr '\\0' 'x' > big
ok=0
for i in $(seq 1 60); do
  if "${BIN}" secrets set -c gatehouse.yaml "s$i" --from-file big >/dev/null 2>"${dir}.err"; then ok=$((ok+1)); else break; fi
done
echo "ok=$ok"
echo "err=$(grep -v 'info\\]' "${dir}.err" | head -1)"
"${BIN}" audit verify -c gatehouse.yaml 2>/dev/null | head -1
"${BIN}" secrets list -c gatehouse.yaml 2>/dev/null | tail -n +2 | wc -l
`;
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const ok = Number(/ok=(\d+)/.exec(r.stdout)[1]);
  assert.ok(ok > 0 && ok < 60, r.stdout);
  assert.match(r.stdout, /err=gatehouse secrets set: .*(full|disk|space)/i);
  assert.match(r.stdout, new RegExp(`audit: ${ok} events? intact`));
  assert.match(r.stdout, new RegExp(`\\n${ok}\\n$`)); // every acknowledged secret listed, no half-written one
});

test('GET /api/audit: the admin token from the secret store, filters, paging; check names unknown secrets', async () => {
  const { startGatehouse } = await import('./helpers.mjs');
  const { dir, cfg } = setup();
  spawnSync('mkdir', [path.join(dir, 'keys')]);
  const store = path.join(dir, 's.db'), key = path.join(dir, 'keys/master.key');
  assert.equal(run(['secrets', 'init', '-c', cfg]).status, 0);
  assert.equal(run(['secrets', 'set', '-c', cfg, 'admin-token'], 'let-me-in-0123456789').status, 0);
  for (const n of ['a', 'b', 'c']) assert.equal(run(['secrets', 'set', '-c', cfg, `app.${n}`], n).status, 0);
  const yaml = `store: { path: ${store} }\nsecrets: { master_key_file: ${key} }\nadmin: { token: "secret:admin-token" }\n` +
    'log: { access: off }\naudit: { checkpoint_interval: 200ms }\n';
  // check: a literal credential and an unknown secret are errors with file and line
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, `store: { path: ${store} }\nadmin:\n  token: let-me-in\n`);
  let r = run(['check', '-c', bad]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.yaml:3: admin\.token: must be a secret:NAME reference/);
  writeFileSync(bad, `store: { path: ${store} }\nadmin:\n  token: secret:nope\n`);
  r = run(['check', '-c', bad]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.yaml:3: admin\.token: secret 'nope' does not exist \(store it: gatehouse secrets set/);
  writeFileSync(bad, yaml);
  assert.equal(run(['check', '-c', bad]).status, 0);

  const gh = await startGatehouse(yaml);
  try {
    const get = (q, token) => fetch(`http://127.0.0.1:${gh.portalPort}/api/audit${q}`,
      { headers: token ? { authorization: `Bearer ${token}` } : {} });
    let res = await get('');
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /^Bearer/);
    res = await get('', 'let-me-in-012345678');
    assert.equal(res.status, 401);
    res = await get('', 'let-me-in-0123456789');
    assert.equal(res.status, 200);
    let body = await res.json();
    assert.deepEqual(body.items.map((e) => e.target), ['secret:admin-token', 'secret:app.a', 'secret:app.b', 'secret:app.c']);
    assert.equal(body.nextAfter, null);
    assert.ok(!JSON.stringify(body).includes('let-me-in'));
    res = await get('?limit=2&action=secret.*', 'let-me-in-0123456789');
    body = await res.json();
    assert.deepEqual(body.items.map((e) => e.seq), [1, 2]);
    assert.equal(body.nextAfter, 2);
    res = await get(`?limit=2&after=${body.nextAfter}`, 'let-me-in-0123456789');
    body = await res.json();
    assert.deepEqual(body.items.map((e) => e.seq), [3, 4]);
    assert.equal(body.nextAfter, null);
    res = await get('?target=secret:app.b', 'let-me-in-0123456789');
    assert.deepEqual((await res.json()).items.map((e) => e.seq), [3]);
    res = await get('?since=2999-01-01', 'let-me-in-0123456789');
    assert.deepEqual((await res.json()).items, []);
    res = await get('?since=soon', 'let-me-in-0123456789');
    assert.equal(res.status, 400);
    // the server signs the head periodically (creating, audited, the checkpoint key first)
    await gh.waitLog(/audit: checkpoint written/);
  } finally {
    await gh.stop();
  }
  r = run(['audit', 'verify', '-c', cfg]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^audit: 5 events intact, head [0-9a-f]{64}, 1 checkpoint\n$/);
});
