#!/usr/bin/env bash
# make bench, second part: API key auth + a rate limit per caller, in front of the same backend.
#
#   gatehouse  auth: key, a plan with a rate limit, NKEYS keys (one application and grant each)
#   nginx      map $http_x_api_key -> application, limit_req keyed by it, 401 when unmapped
#   haproxy    map of key -> application, stick table tracking it (http_req_rate), 401 when unmapped
#   plain      gatehouse without auth (the baseline for "auth + limit adds N instructions")
#   jwt        gatehouse with auth: jwt, one RS256 token (verified once, then from the cache)
#
# wrk rotates over ROTATE keys (a Lua script); callgrind and h2load send one key. Then gatehouse again
# with BIGKEYS keys loaded: start-up time, resident memory, and the same wrk run.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_init build/bench-auth 3
NKEYS=${NKEYS:-10000}
ROTATE=${ROTATE:-1000}
BIGKEYS=${BIGKEYS:-1000000}
BASE=$((${BENCH_PORT:-19100} + 20))
BACK=$BASE

[ -x build/bench-bin/keys_load ] || make -s build/bench-bin/keys_load
trap cleanup EXIT

echo "bench auth: loading $NKEYS keys"
build/bench-bin/keys_load "$W/gh.db" "$NKEYS" "$W/keys.txt" "$W/keys.nginx.map" "$W/keys.haproxy.map"
head -n "$ROTATE" "$W/keys.txt" > "$W/rotate.txt"
KEY=$(head -n 1 "$W/keys.txt")
cat > "$W/rotate.lua" <<LUA
local keys = {}
for line in io.lines("$W/rotate.txt") do keys[#keys + 1] = line end
local i = 0
request = function()
  i = i % #keys + 1
  return wrk.format("GET", "/", { ["X-Api-Key"] = keys[i] })
end
LUA
node bench/jwt_setup.mjs "$W/jwks.json" "$W/token.txt" "https://bench.example" bench-client
TOKEN=$(cat "$W/token.txt")

nginx_conf backend "server { listen 127.0.0.1:$BACK; location = /jwks.json { default_type application/json; alias $W/jwks.json; }
  location / { return 200 'hello, world\n'; } }"
nginx_conf proxy "map_hash_max_size $((NKEYS * 4 > 65536 ? NKEYS * 4 : 65536)); map_hash_bucket_size 128;
  map \$http_x_api_key \$app { default \"\"; include $W/keys.nginx.map; }
  limit_req_zone \$app zone=apps:256m rate=100000r/s;
  upstream b { server 127.0.0.1:$BACK; keepalive 256; }
  server { listen 127.0.0.1:$((BASE + 1)); location / {
    if (\$app = \"\") { return 401; }
    limit_req zone=apps burst=100000 nodelay; limit_req_status 429;
    proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header X-Api-Key \"\"; } }"
haproxy_conf $((BASE + 2)) "  http-request set-var(txn.app) req.hdr(x-api-key),map($W/keys.haproxy.map)
  http-request deny deny_status 401 unless { var(txn.app) -m found }
  http-request track-sc0 var(txn.app) table apps
  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100000 }
  http-request del-header x-api-key" "backend apps
  stick-table type string len 40 size 2m expire 60s store http_req_rate(1s)"
gh_conf() { # $1 file, $2 port, $3 store, $4 auth
  cat > "$1" <<YAML
listen: { gateway: "127.0.0.1:$2", portal: "127.0.0.1:0" }
workers: 1
log: { access: "off", level: warn }
store: { path: "$3" }
usage: { flush_interval: 1h }
plans:
  - name: bench
    rate: { requests: 100000, per: 1s, burst: 100000 }
issuers:
  - name: bench
    issuer: https://bench.example
    jwks_uri: http://127.0.0.1:$BACK/jwks.json
    audiences: [gatehouse]
apis:
  - name: bench
    route: { path: / }
    upstream: { targets: ["http://127.0.0.1:$BACK"] }
    auth: $4
    plans: [bench]
YAML
}
gh_conf "$W/key.yaml" $((BASE + 3)) "$W/gh.db" key
gh_conf "$W/plain.yaml" $((BASE + 4)) "$W/gh.db" none
gh_conf "$W/jwt.yaml" $((BASE + 5)) "$W/gh.db" jwt
build/gatehouse keys bind --app bench-0 --issuer bench --client bench-client -c "$W/jwt.yaml" >/dev/null

cmd_of() {
  case $1 in
  nginx) echo "nginx -c $W/proxy.conf -p $W" ;;
  haproxy) echo "haproxy -db -f $W/haproxy.cfg" ;;
  gatehouse) echo "$PWD/build/gatehouse serve -c $W/key.yaml" ;;
  plain) echo "$PWD/build/gatehouse serve -c $W/plain.yaml" ;;
  jwt) echo "$PWD/build/gatehouse serve -c $W/jwt.yaml" ;;
  big) echo "$PWD/build/gatehouse serve -c $W/big.yaml" ;;
  esac
}
port_of() {
  case $1 in nginx) echo $((BASE + 1)) ;; haproxy) echo $((BASE + 2)) ;; gatehouse) echo $((BASE + 3)) ;;
    plain) echo $((BASE + 4)) ;; jwt) echo $((BASE + 5)) ;; big) echo $((BASE + 6)) ;; esac
}
args_for() { # sets WRK_ARGS and H2_ARGS for proxy $1
  case $1 in
  plain) WRK_ARGS=(); H2_ARGS=() ;;
  jwt) WRK_ARGS=(-H "Authorization: Bearer $TOKEN"); H2_ARGS=(-H "Authorization: Bearer $TOKEN") ;;
  *) WRK_ARGS=(-s "$W/rotate.lua"); H2_ARGS=(-H "x-api-key: $KEY") ;;
  esac
}
# wait_port answers 401 on the keyed proxies: any HTTP answer counts as up

taskset -c 0 nginx -c "$W/backend.conf" -p "$W" &
pids+=($!)
wait_port "$BACK"

check_auth() { # a refused request and an accepted one, so the numbers below are of real work
  local p=$1 code
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(port_of "$p")/")
  [ "$code" = 401 ] || { echo "bench auth: $p answered $code without a credential"; exit 1; }
  if [ "$p" = jwt ]; then
    for _ in $(seq 1 50); do
      code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$(port_of "$p")/")
      [ "$code" = 200 ] && break
      sleep 0.1
    done
  else
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $KEY" "http://127.0.0.1:$(port_of "$p")/")
  fi
  [ "$code" = 200 ] || { echo "bench auth: $p answered $code with a credential"; exit 1; }
}

proxies=(gatehouse nginx haproxy plain jwt)
echo "bench auth: ${ROUNDS} alternating rounds of ${SECONDS_RUN}s, ${CONNS} connections, keys rotating over $ROTATE"
for r in $(seq 1 "$ROUNDS"); do
  for p in "${proxies[@]}"; do
    args_for "$p"
    start_proxy "$p"
    [ "$p" = plain ] || check_auth "$p"
    taskset -c 0 wrk -t1 -c"$CONNS" -d1s ${WRK_ARGS[@]+"${WRK_ARGS[@]}"} "http://127.0.0.1:$(port_of "$p")/" >/dev/null
    echo "$p $(wrk_run "$p") $(h2load_run "$p")" >> "$W/runs.txt"
    if grep -q 'Non-2xx' "$W/wrk-$p.txt"; then
      echo "bench auth: $p answered errors under load:"; grep 'Non-2xx' "$W/wrk-$p.txt"; exit 1
    fi
    stop_proxy
  done
  echo "bench auth: round $r done"
done

declare -A instr
for p in "${proxies[@]}"; do
  args_for "$p"
  instr[$p]=$(instr_per_req "$p")
done

echo
echo "API key auth + rate limit, $NKEYS keys, wrk rotating over $ROTATE (medians of $ROUNDS):"
print_table
echo "auth + limit cost over plain proxying: $((instr[gatehouse] - instr[plain])) instructions per request"
echo "JWT (cached) vs key: $(awk -v a="${instr[jwt]}" -v b="${instr[gatehouse]}" 'BEGIN{printf "%+.1f%%", (a - b) * 100 / b}') instructions per request"

# a million keys: load, start, memory, the same run
if [ "$BIGKEYS" -gt 0 ]; then
  echo
  echo "bench auth: loading $BIGKEYS keys"
  build/bench-bin/keys_load "$W/big.db" "$BIGKEYS" "$W/bigkeys.txt" /dev/null /dev/null
  head -n "$ROTATE" "$W/bigkeys.txt" > "$W/rotate.txt"
  KEY=$(head -n 1 "$W/bigkeys.txt")
  gh_conf "$W/big.yaml" $((BASE + 6)) "$W/big.db" key
  t0=$(date +%s%N)
  args_for big
  WAIT_TRIES=1200 start_proxy big
  check_auth big
  t1=$(date +%s%N)
  rss0=$(awk '/VmRSS/ {print $2}' "/proc/$PROXY_PID/status")
  res=$(wrk_run big)
  rss1=$(awk '/VmRSS/ {print $2}' "/proc/$PROXY_PID/status")
  stop_proxy
  echo "$BIGKEYS keys: ready in $(( (t1 - t0) / 1000000 )) ms, RSS $((rss0 / 1024)) MB after start, $((rss1 / 1024)) MB after the run"
  echo "$res" | awk '{ printf "  wrk: %.0f req/s, p99 %.3f ms, CPU %.2f us/req, %.2f syscalls/req\n", $2, $4, $5, $6 }'
fi
echo "raw runs: $W/runs.txt"
