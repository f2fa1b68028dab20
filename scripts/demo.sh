#!/usr/bin/env bash
# make demo: starts an echo upstream and Gatehouse with examples/gatehouse.yaml, in the foreground.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/demo-upstream.mjs 9001 &
up=$!
trap 'kill $up 2>/dev/null || true' EXIT
sleep 0.3
cat <<'MSG'

  Gatehouse demo
  --------------
  gateway  http://127.0.0.1:8080      try:  curl -i http://127.0.0.1:8080/orders/42?expand=items
                                            curl -i -d '{"qty":1}' http://127.0.0.1:8080/orders
                                            curl -i http://127.0.0.1:8080/inventory/sku-1
                                            curl -i http://127.0.0.1:8080/nothing-here
  portal   http://127.0.0.1:7070/healthz
  catalog  curl -s http://127.0.0.1:7070/api/catalog/entities/by-name/api/default/orders
           curl -s 'http://127.0.0.1:7070/api/search?q=invntory'  (edit examples/catalog/*.yaml: re-read within 2 s)
  reload   kill -HUP <gatehouse pid> after editing examples/gatehouse.yaml
  stop     Ctrl-C

MSG
./build/gatehouse serve -c examples/gatehouse.yaml
