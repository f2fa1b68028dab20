// The catalog through its REST API, driven by Backstage's own client (@backstage/catalog-client),
// with every entity we return checked by Backstage's own validators (@backstage/catalog-model).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CatalogClient } from '@backstage/catalog-client';
import {
  apiEntityV1alpha1Validator, componentEntityV1alpha1Validator, domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator, locationEntityV1alpha1Validator, resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator, userEntityV1alpha1Validator, EntityPolicies, DefaultNamespaceEntityPolicy,
  FieldFormatEntityPolicy, NoForeignRootFieldsEntityPolicy, SchemaValidEntityPolicy, stringifyEntityRef,
} from '@backstage/catalog-model';
import { createRequire } from 'node:module';
import { startGatehouse, sleep } from './helpers.mjs';

// the alpha export's ES module build does not load in Node (an extensionless lodash import); its CommonJS build does
const { mcpServerApiEntityValidator } = createRequire(import.meta.url)('@backstage/catalog-model/alpha');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLES = path.resolve(root, '../shared/testdata/backstage-examples');

const kindValidators = [
  apiEntityV1alpha1Validator, componentEntityV1alpha1Validator, domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator, locationEntityV1alpha1Validator, resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator, userEntityV1alpha1Validator,
];
const policy = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(['apiVersion', 'kind', 'metadata', 'spec', 'relations', 'status']),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);

// Backstage's validation of one entity as we serve it: the envelope policies, then its kind's schema.
// API spec types have their own schemas: mcp-server's is in the alpha export; ai-model-server (in the
// example catalog) is newer than the newest @backstage/catalog-model on npm (1.10.3), which has no
// schema for it, so such an entity is held to the envelope policies only.
async function assertValid(e) {
  await policy.enforce(e);
  let validators = kindValidators;
  if (e.kind === 'API' && e.spec.type === 'mcp-server') validators = [mcpServerApiEntityValidator];
  if (e.kind === 'API' && e.spec.type === 'ai-model-server') validators = [];
  let matched = validators.length === 0;
  for (const v of validators) if (await v.check(e)) matched = true;
  assert.ok(matched, `no kind validator accepted ${stringifyEntityRef(e)}`);
  assert.match(e.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.ok(e.metadata.etag);
  for (const r of e.relations) assert.match(r.targetRef, /^[a-z0-9]+:[a-z0-9-]+\/.+$/);
}

let gh, client, work;
const api = (p, init) => fetch(`http://127.0.0.1:${gh.portalPort}${p}`, init);

function config(apisUpstream = 'http://127.0.0.1:9') {
  return `
log: { access: off }
catalog:
  locations:
    - target: ${EXAMPLES}/all.yaml
    - target: ${EXAMPLES}/acme-corp.yaml
    - target: ${work}/demo/catalog-info.yaml
  allowed_dirs: [${work}/extra]
  poll_interval: 200ms
  gateway_url: https://api.acme.example
apis:
  - name: orders
    route: { path: /orders, methods: [GET, POST] }
    upstream: { targets: ["${apisUpstream}"] }
  - name: billing
    owner: group:commerce-team
    description: Invoices (described only in the gateway config)
    route: { path: /billing }
    upstream: { targets: ["http://127.0.0.1:9"] }
    strip_prefix: true
`;
}

before(async () => {
  const { mkdtempSync } = await import('node:fs');
  const os = await import('node:os');
  work = mkdtempSync(path.join(os.tmpdir(), 'gh-catalog-'));
  cpSync(path.join(root, 'examples/catalog'), path.join(work, 'demo'), { recursive: true });
  mkdirSync(path.join(work, 'extra'));
  gh = await startGatehouse(config());
  client = new CatalogClient({
    discoveryApi: { getBaseUrl: async () => `http://127.0.0.1:${gh.portalPort}/api/catalog` },
  });
});

after(async () => {
  await gh?.stop();
});

test('every entity Backstage\'s example catalog and our example catalog reach is ingested, and valid by Backstage', async () => {
  const { items } = await client.getEntities();
  const byKind = {};
  for (const e of items) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
  // examples: 9 APIs (4 take their definition from GitHub), 13 components, 3 domains, 1 resource,
  // 3 systems, 9 groups, 17 users, 8 locations; ours: 3 APIs, 4 components, 1 domain, 1 resource,
  // 3 systems, 5 groups, 4 users, 1 location; the gateway: the billing API
  assert.deepEqual(byKind, {
    API: 9 + 3 + 1, Component: 13 + 4, Domain: 3 + 1, Resource: 1 + 1, System: 3 + 3, Group: 9 + 5,
    User: 17 + 4, Location: 8 + 1,
  });
  for (const e of items) await assertValid(e);
  // the remote placeholders are per-entity errors on their location
  const locs = await (await api('/api/catalog/locations')).json();
  const all = locs.find((l) => l.data.target.endsWith('/all.yaml'));
  const status = await (await api(`/api/catalog/locations/${all.data.id}`)).json();
  assert.equal(status.errors.length, 4);
  assert.ok(status.errors.every((e) => /is a remote URL; Gatehouse reads placeholders from local files only/.test(e.message)));
  assert.deepEqual(status.errors.map((e) => e.entity).sort(),
    ['api:default/config-schema', 'api:default/spotify', 'api:default/wayback-archive', 'api:default/wayback-search']);
});

const reverse = {
  ownedBy: 'ownerOf', ownerOf: 'ownedBy', partOf: 'hasPart', hasPart: 'partOf', providesApi: 'apiProvidedBy',
  apiProvidedBy: 'providesApi', consumesApi: 'apiConsumedBy', apiConsumedBy: 'consumesApi', dependsOn: 'dependencyOf',
  dependencyOf: 'dependsOn', parentOf: 'childOf', childOf: 'parentOf', memberOf: 'hasMember', hasMember: 'memberOf',
};

test('every relation of the example organisation holds both ways', async () => {
  const { items } = await client.getEntities({ filter: { 'metadata.annotations.backstage.io/managed-by-origin-location': `file:${work}/demo/catalog-info.yaml` } });
  assert.equal(items.length, 22);
  const everything = (await client.getEntities()).items;
  const refs = new Map(everything.map((e) => [stringifyEntityRef(e), e]));
  let checked = 0;
  for (const e of items) {
    for (const r of e.relations) {
      const target = refs.get(r.targetRef);
      assert.ok(target, `${stringifyEntityRef(e)} ${r.type} ${r.targetRef}: target missing`);
      const back = target.relations.some((x) => x.type === reverse[r.type] && x.targetRef === stringifyEntityRef(e));
      assert.ok(back, `${r.targetRef} lacks ${reverse[r.type]} ${stringifyEntityRef(e)}`);
      checked++;
    }
  }
  assert.ok(checked > 60, `only ${checked} relations`);
  const orders = await client.getEntityByRef('component:default/orders-service');
  const rel = (t) => orders.relations.filter((r) => r.type === t).map((r) => r.targetRef).sort();
  assert.deepEqual(rel('ownedBy'), ['group:default/commerce-team']);
  assert.deepEqual(rel('partOf'), ['system:default/checkout']);
  assert.deepEqual(rel('providesApi'), ['api:default/orders']);
  assert.deepEqual(rel('consumesApi'), ['api:default/accounts', 'api:default/inventory']);
  assert.deepEqual(rel('dependsOn'), ['resource:default/orders-db']);
  const team = await client.getEntityByRef('group:commerce-team');
  const has = (t) => team.relations.filter((r) => r.type === t).map((r) => r.targetRef).sort();
  assert.deepEqual(has('hasMember'), ['user:default/ada.lovelace', 'user:default/grace.hopper']);
  assert.deepEqual(has('childOf'), ['group:default/engineering']);
  assert.ok(has('ownerOf').includes('api:default/orders'));
});

test('getEntityByRef, getEntitiesByRefs, filters and fields', async () => {
  const e = await client.getEntityByRef('component:default/artist-lookup');
  assert.equal(e.spec.owner, 'team-a');
  assert.ok(e.relations.some((r) => r.type === 'ownedBy' && r.targetRef === 'group:default/team-a'));
  assert.equal(await client.getEntityByRef('component:default/nope'), undefined);
  const { items } = await client.getEntitiesByRefs({
    entityRefs: ['api:default/orders', 'component:default/nope', 'group:default/team-a'],
    fields: ['kind', 'metadata.name'],
  });
  assert.deepEqual(items, [
    { kind: 'API', metadata: { name: 'orders' } }, undefined, { kind: 'Group', metadata: { name: 'team-a' } },
  ]);
  // OR of filter sets, AND within one, existence, relations, case-insensitivity
  const r = await client.getEntities({
    filter: [{ kind: 'component', 'spec.type': 'website' }, { kind: 'API', 'spec.lifecycle': 'EXPERIMENTAL' }],
    fields: ['metadata.name'],
  });
  const names = r.items.map((x) => x.metadata.name).sort();
  assert.ok(names.includes('web-shop') && names.includes('accounts') && !names.includes('orders'), names.join());
  const owned = await client.getEntities({ filter: { 'relations.ownedBy': 'group:default/commerce-team' } });
  assert.deepEqual(owned.items.map((x) => stringifyEntityRef(x)).sort(), [
    'api:default/billing', 'api:default/orders', 'component:default/orders-service', 'component:default/web-shop',
    'resource:default/orders-db', 'system:default/checkout',
  ]);
  const tagged = await client.getEntities({ filter: { 'metadata.tags': 'java', 'spec.system': 'checkout' }, fields: ['metadata.name'] });
  assert.deepEqual(tagged.items, [{ metadata: { name: 'orders-service' } }]);
});

test('queryEntities pages with cursors through the whole result, in order', async () => {
  const first = await client.queryEntities({
    filter: { kind: 'user' }, limit: 5, orderFields: { field: 'metadata.name', order: 'desc' },
    fields: ['metadata.name', 'metadata.namespace'],
  });
  assert.equal(first.totalItems, 21);
  assert.equal(first.items.length, 5);
  const seen = [...first.items];
  let page = first;
  let pages = 1;
  while (page.pageInfo.nextCursor) {
    page = await client.queryEntities({ cursor: page.pageInfo.nextCursor, limit: 5 });
    assert.equal(page.totalItems, 21);
    assert.ok(page.pageInfo.prevCursor);
    seen.push(...page.items);
    pages++;
  }
  assert.equal(pages, 5);
  const names = seen.map((x) => x.metadata.name);
  assert.deepEqual(names, [...names].sort().reverse());
  // "guest" is in two namespaces: 21 users, 20 names
  assert.equal(new Set(seen.map((x) => `${x.metadata.namespace}/${x.metadata.name}`)).size, 21);
  // a full-text filter on a field
  const ft = await client.queryEntities({ filter: { kind: 'component' }, fullTextFilter: { term: 'SERVICE', fields: ['metadata.name'] } });
  assert.deepEqual(ft.items.map((x) => x.metadata.name).sort(), ['accounts-service', 'orders-service', 'stock-service']);
  // streamEntities uses the same cursors
  let streamed = 0;
  for await (const batch of client.streamEntities({ filter: { kind: 'group' }, pageSize: 4 })) streamed += batch.length;
  assert.equal(streamed, 14);
});

test('getEntityFacets counts values with their original case', async () => {
  const { facets } = await client.getEntityFacets({ facets: ['kind', 'spec.lifecycle'], filter: { kind: 'API' } });
  assert.deepEqual(facets.kind, [{ value: 'API', count: 13 }]);
  const lc = Object.fromEntries(facets['spec.lifecycle'].map((f) => [f.value, f.count]));
  // examples: 2 production, 6 experimental, 1 deprecated; ours: orders, inventory, billing, accounts
  assert.deepEqual(lc, { production: 2 + 3, experimental: 6 + 1, deprecated: 1 });
});

test('the gateway\'s APIs are API entities carrying what the gateway serves; a reload updates them', async () => {
  const orders = await client.getEntityByRef('api:default/orders');
  const a = orders.metadata.annotations;
  assert.equal(a['gatehouse.dev/gateway-url'], 'https://api.acme.example/orders');
  assert.equal(a['gatehouse.dev/routes'], 'GET,POST * /orders');
  assert.equal(a['gatehouse.dev/upstream'], 'http://127.0.0.1:9');
  assert.equal(orders.spec.owner, 'commerce-team'); // the catalog file's description wins
  assert.match(orders.spec.definition, /summary: Place an order/);
  const billing = await client.getEntityByRef('api:default/billing');
  assert.equal(billing.metadata.description, 'Invoices (described only in the gateway config)');
  assert.equal(billing.spec.owner, 'group:commerce-team');
  assert.match(billing.metadata.annotations['gatehouse.dev/policies'], /strip_prefix/);
  assert.equal(billing.metadata.annotations['backstage.io/managed-by-location'], 'gateway:config');
  await assertValid(billing);

  gh.reload(config('http://127.0.0.1:7'));
  await gh.waitLog(/reloaded/);
  const after2 = await client.getEntityByRef('api:default/orders');
  assert.equal(after2.metadata.annotations['gatehouse.dev/upstream'], 'http://127.0.0.1:7');
  assert.notEqual(after2.metadata.etag, orders.metadata.etag);
  assert.equal(after2.metadata.uid, orders.metadata.uid);
});

test('a changed file is re-ingested by polling; an invalid change keeps the last good entity', async () => {
  const file = path.join(work, 'demo/systems.yaml');
  const before1 = await client.getEntityByRef('system:default/identity');
  writeFileSync(file, readFileSync(file, 'utf8').replace('description: Customer accounts', 'description: Who is who'));
  let now;
  for (let i = 0; i < 100; i++) {
    now = await client.getEntityByRef('system:default/identity');
    if (now.metadata.description === 'Who is who') break;
    await sleep(50);
  }
  assert.equal(now.metadata.description, 'Who is who');
  assert.notEqual(now.metadata.etag, before1.metadata.etag);
  // queries run on an index rebuilt in the background after the change: it catches up
  let found = [];
  for (let i = 0; i < 100 && found.length === 0; i++) {
    found = (await client.getEntities({ filter: { 'metadata.description': 'who is who' } })).items;
    if (!found.length) await sleep(50);
  }
  assert.deepEqual(found.map((e) => stringifyEntityRef(e)), ['system:default/identity']);
  // break it: the stored version stays and the location says why
  writeFileSync(file, readFileSync(file, 'utf8').replace('owner: identity-team', 'owner: [identity-team]'));
  const loc = (await (await api('/api/catalog/locations')).json()).find((l) => l.data.target.endsWith('demo/catalog-info.yaml'));
  let status;
  for (let i = 0; i < 100; i++) {
    status = await (await api(`/api/catalog/locations/${loc.data.id}`)).json();
    if (status.errors.length) break;
    await sleep(50);
  }
  assert.match(status.errors[0].message, /^system:default\/identity: spec.owner: must be a non-empty string$/);
  assert.match(status.errors[0].source, /systems\.yaml:\d+$/);
  assert.equal((await client.getEntityByRef('system:default/identity')).metadata.description, 'Who is who');
});

test('addLocation, dry runs, removal; locations outside the allowed directories are refused', async () => {
  const file = path.join(work, 'extra/more.yaml');
  writeFileSync(file, 'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: extra-svc}\n' +
    'spec: {type: service, lifecycle: production, owner: commerce-team, providesApis: [orders]}\n');
  const dry = await client.addLocation({ type: 'file', target: file, dryRun: true });
  assert.equal(dry.entities.length, 1);
  assert.equal(await client.getEntityByRef('component:extra-svc'), undefined);
  const added = await client.addLocation({ type: 'file', target: file });
  assert.equal(added.location.target, file);
  assert.equal(added.entities[0].metadata.name, 'extra-svc');
  const orders = await client.getEntityByRef('api:orders');
  assert.ok(orders.relations.some((r) => r.type === 'apiProvidedBy' && r.targetRef === 'component:default/extra-svc'));
  const again = await api('/api/catalog/locations', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'file', target: file }),
  });
  assert.equal(again.status, 409);
  const says = (re) => (err) => err.response?.status === 400 && re.test(err.body?.error?.message);
  await assert.rejects(client.addLocation({ type: 'file', target: '/etc/passwd' }), says(/outside the directories/));
  await assert.rejects(client.addLocation({ type: 'url', target: 'https://example.com/x.yaml' }), says(/only 'file'/));
  assert.equal((await client.getLocationById(added.location.id)).target, file);
  await client.removeLocationById(added.location.id);
  assert.equal(await client.getEntityByRef('component:extra-svc'), undefined);
  assert.equal(await client.getLocationById(added.location.id), undefined);
});

test('validateEntity, refresh, removeEntityByUid', async () => {
  const ok = await client.validateEntity({
    apiVersion: 'backstage.io/v1alpha1', kind: 'System', metadata: { name: 'x' }, spec: { owner: 'me' },
  }, 'url:https://example.com');
  assert.deepEqual(ok, { valid: true });
  const bad = await client.validateEntity({
    apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'x y' }, spec: {},
  }, 'url:https://example.com');
  assert.equal(bad.valid, false);
  assert.match(bad.errors[0].message, /metadata.name: 'x y' is not a valid name/);

  const d = await client.getEntityByRef('domain:commerce');
  await client.removeEntityByUid(d.metadata.uid);
  assert.equal(await client.getEntityByRef('domain:commerce'), undefined);
  await client.refreshEntity('system:default/checkout'); // its location provides the domain again
  const back = await client.getEntityByRef('domain:commerce');
  assert.ok(back);
  assert.notEqual(back.metadata.uid, d.metadata.uid);
  await assert.rejects(client.refreshEntity('component:default/never-was'), (err) => err.response?.status === 404);
});

test('search: ranked, by kind, tolerant of typos and prefixes', async () => {
  const get = async (q) => (await api(`/api/search?${q}`)).json();
  let r = await get('q=reserve%20units');
  assert.equal(r.results[0].entityRef, 'api:default/inventory');
  r = await get('q=invntory&kind=api');
  assert.equal(r.results[0].entityRef, 'api:default/inventory');
  r = await get('q=acco');
  assert.ok(r.results.some((x) => x.entityRef === 'api:default/accounts'));
  r = await get('q=orders&kind=component');
  assert.ok(r.results.every((x) => x.kind === 'Component'));
  const res = await api('/api/search');
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.name, 'InputError');
});

test('errors are JSON with a status and a reason', async () => {
  let r = await api('/api/catalog/entities/by-query?filter=%3Dx');
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /has no key before '='/);
  r = await api('/api/catalog/entities/by-query?cursor=bm90LWEtY3Vyc29y');
  assert.equal(r.status, 400);
  r = await api('/api/catalog/entities/by-query?limit=-1');
  assert.equal(r.status, 400);
  r = await api('/api/catalog/nope');
  assert.equal(r.status, 404);
  assert.equal((await r.json()).error.name, 'NotFoundError');
  r = await api('/api/catalog/entities', { method: 'DELETE' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET, HEAD');
  r = await api('/api/catalog/validate-entity', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"entity":' });
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /not valid JSON/);
  r = await api('/api/catalog/entities?filter=kind%ZZ');
  assert.equal(r.status, 400);
  // the legacy list pages through Link headers
  r = await api('/api/catalog/entities?filter=kind=user&limit=10&fields=metadata.name');
  const link = r.headers.get('link');
  assert.match(link, /rel="next"/);
  const next = await api(link.slice(1, link.indexOf('>')));
  assert.equal((await next.json()).length, 10);
});
