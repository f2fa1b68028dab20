#!/usr/bin/env bash
# make demo: ./demo/ (config, SQLite store, master key) from examples/demo, then Gatehouse in the
# foreground with the example organisation, five mock APIs and the development sign-in. Ctrl-C stops it;
# running it again keeps what ./demo/ holds (delete the folder to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p demo
[ -f demo/gatehouse.yaml ] || cp examples/demo/gatehouse.yaml demo/gatehouse.yaml
[ -f demo/master.key ] || ./build/gatehouse secrets init -c demo/gatehouse.yaml >/dev/null
./build/gatehouse check -c demo/gatehouse.yaml >/dev/null
cat <<'MSG'

  Gatehouse demo
  --------------
  portal   http://127.0.0.1:7070      (sign in as anyone in the example organisation)
  gateway  http://127.0.0.1:8080      (orders, inventory, accounts, payments, shipping: mock APIs)

  A three-step tour
  1. Open the portal and sign in as ada.lovelace (Commerce). Search "inventory", open the API and
     press "Request access": a rule approves it at once and shows your key once, with a curl line.
  2. Call the gateway with it:
       curl -i -H 'X-API-Key: ghk_...' http://127.0.0.1:8080/inventory/sku-1
     Without the key it answers 401; too fast, 429.
  3. Request the payments API (a partner API): it waits for its owners. Sign out, sign in as
     grace.hopper (Commerce), open Approvals and approve; back as ada, the same key now works on
       curl -i -H 'X-API-Key: ghk_...' http://127.0.0.1:8080/payments/pay-5531

  Ctrl-C stops it; the data stays in ./demo/ (delete it to start over).

MSG
exec ./build/gatehouse serve -c demo/gatehouse.yaml
