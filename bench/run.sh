#!/usr/bin/env bash
# make bench: gatehouse against nginx and HAProxy as plain reverse proxies in front of the same
# backend, on this machine, in the same run.
#
# Layout on 2 cores: the backend (nginx returning a fixed body) and the load generator share core 0;
# each proxy under test runs alone on core 1 with one worker and keep-alive to the backend, access
# logs off for all three. Runs alternate between proxies, and the median of ROUNDS is reported.
#
#   req/s, p50, p99   wrk, keep-alive, CONNS connections, SECONDS per run
#   h2load req/s      h2load --h1, the same connections, NREQ requests
#   CPU us/req        the proxy's user+system CPU time over a wrk run / requests
#   syscalls/req      perf stat -e raw_syscalls:sys_enter on the proxy over a wrk run / requests
#   instr/req         valgrind callgrind, user-space instructions of the proxy for CG_REQS requests
#                     after a warm-up (counters zeroed), divided by CG_REQS: exact and repeatable
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_init build/bench 5
BASE=${BENCH_PORT:-19100}
BACK=$BASE
PORT_NGINX=$((BASE + 1))
PORT_HAPROXY=$((BASE + 2))
PORT_GH=$((BASE + 3))

trap cleanup EXIT

nginx_conf backend "server { listen 127.0.0.1:$BACK; location / { return 200 'hello, world\n'; } }"
nginx_conf proxy "upstream b { server 127.0.0.1:$BACK; keepalive 256; }
  server { listen 127.0.0.1:$PORT_NGINX; location / { proxy_pass http://b; proxy_http_version 1.1;
    proxy_set_header Connection \"\"; proxy_buffering on; } }"
haproxy_conf "$PORT_HAPROXY" "" ""
cat > "$W/gatehouse.yaml" <<EOF
listen: { gateway: "127.0.0.1:$PORT_GH", portal: "127.0.0.1:0" }
workers: 1
log: { access: "off", level: warn }
store: { path: "$W/gatehouse.db" }
apis:
  - name: bench
    route: { path: / }
    upstream: { targets: ["http://127.0.0.1:$BACK"] }
EOF

cmd_of() {
  case $1 in
  nginx) echo "nginx -c $W/proxy.conf -p $W" ;;
  haproxy) echo "haproxy -db -f $W/haproxy.cfg" ;;
  gatehouse) echo "$PWD/build/gatehouse serve -c $W/gatehouse.yaml" ;;
  esac
}
port_of() {
  case $1 in nginx) echo $PORT_NGINX ;; haproxy) echo $PORT_HAPROXY ;; gatehouse) echo $PORT_GH ;; esac
}

taskset -c 0 nginx -c "$W/backend.conf" -p "$W" &
pids+=($!)
wait_port $BACK

proxies=(gatehouse nginx haproxy)
echo "bench: ${ROUNDS} alternating rounds of ${SECONDS_RUN}s, ${CONNS} connections; this takes a few minutes"
for r in $(seq 1 "$ROUNDS"); do
  for p in "${proxies[@]}"; do
    start_proxy "$p"
    taskset -c 0 wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$(port_of "$p")/" >/dev/null # warm-up
    echo "$p $(wrk_run "$p") $(h2load_run "$p")" >> "$W/runs.txt"
    stop_proxy
  done
  echo "bench: round $r done"
done

declare -A instr
for p in "${proxies[@]}"; do
  instr[$p]=$(instr_per_req "$p")
done

echo
print_table
echo
echo "raw runs: $W/runs.txt (name reqs rps p50 p99 cpu_us/req syscalls/req h2load_rps)"
