#!/usr/bin/env bash
# make bench, catalog part: (1) `gatehouse catalog import` of 10,000 entities in 10 YAML files, the
# real path (YAML parsed in isolated children, validation, relations, search rows, FTS, one
# transaction), fresh store each time, median of IMPORT_ROUNDS; (2) bench/catalog_bench.c: query
# latency on a 100,000-entity catalog, p50/p99/max over QUERY_ROUNDS runs of each query.
set -euo pipefail
cd "$(dirname "$0")/.."
IMPORT_ROUNDS=${IMPORT_ROUNDS:-5}
QUERY_N=${QUERY_N:-100000}
QUERY_ROUNDS=${QUERY_ROUNDS:-200}
W=build/bench-catalog
rm -rf "$W"
mkdir -p "$W/src"
W=$(cd "$W" && pwd)
node - "$W/src" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const docs = [];
for (let t = 0; t < 50; t++)
  docs.push(`apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-${t}\nspec:\n  type: team\n  children: []\n`);
for (let i = 0; docs.length < 10000; i++) {
  const kind = ['Component', 'API', 'Resource', 'System'][i % 4];
  const t = i % 50;
  const spec = {
    Component: `  type: service\n  lifecycle: production\n  owner: team-${t}\n  system: sys-${i % 200}\n  providesApis: [api-${i + 1}]\n`,
    API: `  type: openapi\n  lifecycle: production\n  owner: team-${t}\n  definition: 'openapi: 3.0.0'\n`,
    Resource: `  type: database\n  owner: team-${t}\n`,
    System: `  owner: team-${t}\n`,
  }[kind];
  const name = { Component: 'svc', API: 'api', Resource: 'db', System: 'sys' }[kind] + `-${i}`;
  docs.push(`apiVersion: backstage.io/v1alpha1\nkind: ${kind}\nmetadata:\n  name: ${name}\n` +
    `  description: Entity number ${i} handles payments and orders for region ${i % 17}\n  tags: [t${i % 10}, rest]\nspec:\n${spec}`);
}
for (let f = 0; f < 10; f++) fs.writeFileSync(`${dir}/part${f}.yaml`, docs.slice(f * 1000, (f + 1) * 1000).join('---\n'));
JS
printf 'store: { path: %s/import.db }\nlog: { level: warn }\n' "$W" > "$W/gatehouse.yaml"
times=()
for r in $(seq "$IMPORT_ROUNDS"); do
  rm -f "$W"/import.db*
  out=$(build/gatehouse catalog import -c "$W/gatehouse.yaml" "$W/src" 2>/dev/null)
  times+=("$(printf '%s\n' "$out" | sed -n 's/.*(\([0-9.]*\) s)$/\1/p')")
  printf '%s\n' "$out" | grep -q '10000 added' || { echo "catalog bench: import failed: $out"; exit 1; }
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
echo "catalog: import of 10,000 entities: median ${median} s over ${IMPORT_ROUNDS} runs (target < 2 s): ${times[*]}"
build/bench-bin/catalog_bench "$W/query.db" "$QUERY_N" "$QUERY_ROUNDS"
