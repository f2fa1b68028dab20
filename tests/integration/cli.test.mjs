// The command line: check validates configs and names file, line and key for every error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './helpers.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-cli-'));
function check(yaml) {
  const f = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, yaml);
  const r = spawnSync(BIN, ['check', '-c', f], { encoding: 'utf8' });
  return { ...r, file: f };
}

test('--version and help', () => {
  let r = spawnSync(BIN, ['--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^gatehouse \d+\.\d+\.\d+\n$/);
  r = spawnSync(BIN, ['help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /gatehouse serve -c gatehouse.yaml/);
  r = spawnSync(BIN, ['frobnicate'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});

test('a valid config checks ok', () => {
  const r = check(`listen: { gateway: "127.0.0.1:8080", portal: "127.0.0.1:7070" }
workers: 2
limits: { header_bytes: 16384, body_bytes: 10485760, header_timeout: 10s, idle_timeout: 60s }
apis:
  - name: orders
    route: { path: /orders, hosts: ["*"], methods: [GET, POST] }
    upstream: { targets: ["http://127.0.0.1:9001"], connect_timeout: 2s, timeout: 30s }
    strip_prefix: false
`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ok \(1 API\)/);
});

const bad = [
  ['unknown top-level key', 'listen: { gateway: "127.0.0.1:1" }\nlisten_extra: 1\n', 2, 'listen_extra: unknown key'],
  ['unknown nested key', 'limits:\n  header_bytes: 16k\n  body_byte: 1\n', 3, 'limits.body_byte: unknown key'],
  ['bad duration', 'limits:\n  idle_timeout: forever\n', 2, "limits.idle_timeout: 'forever' is not a duration"],
  ['bad size', 'limits: { header_bytes: lots }\n', 1, "limits.header_bytes: 'lots' is not a size"],
  ['size out of range', 'limits:\n  header_bytes: 10\n', 2, "limits.header_bytes: '10' is out of range"],
  ['bad listen', 'listen:\n  gateway: nowhere\n', 2, "listen.gateway: 'nowhere' is not host:port"],
  ['workers zero', 'workers: 0\n', 1, 'workers'],
  ['api without name', 'apis:\n  - route: { path: /a }\n    upstream: { targets: ["http://127.0.0.1:1"] }\n', 2, 'apis[0]: name is required'],
  ['bad api name', 'apis:\n  - name: "no spaces"\n', 2, "apis[0].name: 'no spaces' must be"],
  ['missing targets', 'apis:\n  - name: a\n    route: { path: /a }\n    upstream: { timeout: 1s }\n', 4, 'apis.a.upstream.targets: at least one target'],
  ['https target', 'apis:\n  - name: a\n    route: { path: /a }\n    upstream:\n      targets: ["https://x"]\n', 5, 'https upstreams are not supported yet'],
  ['bad method', 'apis:\n  - name: a\n    route:\n      path: /a\n      methods: [GET, FETCH]\n    upstream: { targets: ["http://127.0.0.1:1"] }\n', 5, "'FETCH' is not a method"],
  ['bad path', 'apis:\n  - name: a\n    route:\n      path: orders\n    upstream: { targets: ["http://127.0.0.1:1"] }\n', 4, "apis.a.route.path: 'orders' must be a valid path"],
  ['duplicate names', 'apis:\n  - name: a\n    route: { path: /a }\n    upstream: { targets: ["http://127.0.0.1:1"] }\n  - name: a\n    route: { path: /b }\n    upstream: { targets: ["http://127.0.0.1:1"] }\n', 5, 'apis.a: duplicate API name (also at line 2)'],
  ['conflicting routes', 'apis:\n  - name: a\n    route: { path: /a }\n    upstream: { targets: ["http://127.0.0.1:1"] }\n  - name: b\n    route: { path: /a/ }\n    upstream: { targets: ["http://127.0.0.1:1"] }\n', 5, "apis.b.route: same path, host and methods as API 'a'"],
  ['bad bool', 'apis:\n  - name: a\n    route: { path: /a }\n    upstream: { targets: ["http://127.0.0.1:1"] }\n    strip_prefix: yes\n', 5, "apis.a.strip_prefix: 'yes' must be true or false"],
  ['unresolvable target', 'apis:\n  - name: a\n    route: { path: /a }\n    upstream: { targets: ["http://no-such-host.invalid:80"] }\n', 2, "cannot resolve 'no-such-host.invalid'"],
  ['YAML syntax', 'apis:\n  - name: a\n    route: { path: /a\n', 4, 'invalid YAML'],
  ['top level not a mapping', '- a\n- b\n', 1, 'the top level must be a mapping'],
];

for (const [name, yaml, line, msg] of bad) {
  test(`check refuses: ${name}`, () => {
    const r = check(yaml);
    assert.equal(r.status, 1, r.stdout);
    assert.ok(r.stderr.startsWith(`${r.file}:${line}: `), `names file and line ${line}: ${r.stderr}`);
    assert.ok(r.stderr.includes(msg), r.stderr);
  });
}

test('a missing file and a missing -c are reported', () => {
  let r = spawnSync(BIN, ['check', '-c', path.join(dir, 'nope.yaml')], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nope.yaml: cannot read the file/);
  r = spawnSync(BIN, ['serve'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing -c/);
});

test('serve refuses a busy port with a clear message', async () => {
  const net = await import('node:net');
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const f = path.join(dir, 'busy.yaml');
  writeFileSync(f, `listen: { gateway: "127.0.0.1:${srv.address().port}", portal: "127.0.0.1:0" }\n` +
    `store: { path: "${path.join(dir, 'busy.db')}" }\n`);
  const { spawn } = await import('node:child_process');
  const p = spawn(BIN, ['serve', '-c', f]);
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  const code = await new Promise((r) => p.on('exit', r));
  srv.close();
  assert.equal(code, 1);
  assert.match(err, /listen.gateway: 127.0.0.1:\d+: Address already in use/);
});

test('serve refuses a store it cannot use, naming the file and why', async () => {
  const { spawnSync: run } = await import('node:child_process');
  const f = path.join(dir, 'nostore.yaml');
  writeFileSync(f, 'listen: { gateway: "127.0.0.1:0", portal: "127.0.0.1:0" }\nstore: { path: /nonexistent/dir/g.db }\n');
  let r = run(BIN, ['serve', '-c', f], { encoding: 'utf8', timeout: 5000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /store: \/nonexistent\/dir\/g.db: cannot open the database: No such file or directory/);
  const junk = path.join(dir, 'junk.db');
  writeFileSync(junk, 'not a database '.repeat(20));
  writeFileSync(f, `listen: { gateway: "127.0.0.1:0", portal: "127.0.0.1:0" }\nstore: { path: "${junk}" }\n`);
  r = run(BIN, ['serve', '-c', f], { encoding: 'utf8', timeout: 5000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /store: .*junk.db: .*not a database/);
  r = check('store: { driver: postgres }\n');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /:1: store.driver: 'postgres' is not supported/);
});

test('a file that crashes the YAML parser is refused, not fatal (libfyaml 0.7.12)', () => {
  const r = check('? a:\t-');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /: the YAML parser crashed on this file \(signal 11\), so it is refused/);
});

test('the config check works when gatehouse runs under a wrapper (valgrind) or from another directory', () => {
  const f = path.join(dir, 'ok.yaml');
  writeFileSync(f, 'workers: 1\n');
  let r = spawnSync('valgrind', ['-q', '--tool=none', BIN, 'check', '-c', f], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ok \(0 APIs\)/);
  r = spawnSync(path.relative(dir, BIN), ['check', '-c', f], { encoding: 'utf8', cwd: dir });
  assert.equal(r.status, 0, r.stderr);
});

test('catalog validate: exit 0 for a valid folder, 1 with file:line: entity: field: why', () => {
  const root = path.resolve(path.dirname(BIN), '..');
  let r = spawnSync(BIN, ['catalog', 'validate', path.join(root, 'examples/catalog')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '22 entities in 8 files, all valid\n');
  const bad = path.join(dir, 'bad-catalog');
  mkdirSync(bad);
  writeFileSync(path.join(bad, 'a.yaml'), 'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: ok}\n' +
    'spec: {type: service, lifecycle: production, owner: me}\n---\n' +
    'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: notok}\nspec: {type: service, owner: me}\n');
  writeFileSync(path.join(bad, 'b.yaml'), 'kind: [\n');
  r = spawnSync(BIN, ['catalog', 'validate', bad], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /a\.yaml:6: component:default\/notok: spec\.lifecycle: is required for kind Component\n/);
  assert.match(r.stderr, /b\.yaml:2: invalid YAML: flow sequence without a closing bracket\n/);
  assert.equal(r.stdout, '1 entity in 2 files; errors above\n');
  r = spawnSync(BIN, ['catalog', 'validate', path.join(dir, 'missing')], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot read '.*missing': No such file or directory/);
});

test('catalog import, get, apply', () => {
  const root = path.resolve(path.dirname(BIN), '..');
  const cfg = path.join(dir, 'cat.yaml');
  writeFileSync(cfg, `store: { path: ${path.join(dir, 'cat.db')} }\n`);
  let r = spawnSync(BIN, ['catalog', 'import', '-c', cfg, path.join(root, 'examples/catalog')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /examples\/catalog: new location [0-9a-f-]{36}: 22 added, 0 updated, 0 unchanged, 0 removed, 0 errors/);
  r = spawnSync(BIN, ['catalog', 'import', '-c', cfg, path.join(root, 'examples/catalog')], { encoding: 'utf8' });
  assert.match(r.stdout, /existing location [0-9a-f-]{36}: 0 added, 0 updated, 22 unchanged/);
  r = spawnSync(BIN, ['catalog', 'get', '-c', cfg, 'API:Orders'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.equal(e.metadata.title, 'Orders API');
  assert.ok(e.relations.some((x) => x.type === 'apiProvidedBy' && x.targetRef === 'component:default/orders-service'));
  r = spawnSync(BIN, ['catalog', 'get', '-c', cfg, 'api:nope'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no entity 'api:default\/nope'/);
  r = spawnSync(BIN, ['catalog', 'get', '-c', cfg, 'no such'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  r = spawnSync(BIN, ['catalog', 'get', 'api:orders'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing -c gatehouse.yaml/);
  r = spawnSync(BIN, ['apply', '-c', cfg], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ok; catalog locations re-read/);
});
