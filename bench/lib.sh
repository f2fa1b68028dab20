# Shared by the benchmark scripts (sourced): config writers, process control, one wrk run with CPU
# time and system calls, callgrind instruction counts, medians. Expects W (work folder), SECONDS_RUN,
# CONNS, NREQ, CG_REQS and the functions cmd_of NAME / port_of NAME from the caller; the arrays
# WRK_ARGS and H2_ARGS (extra arguments: a Lua script, a header) may be set per run.

# The knobs (environment, with defaults; ROUNDS defaults to $2) and a fresh work folder W ($1).
bench_init() {
  SECONDS_RUN=${SECONDS_RUN:-6}
  ROUNDS=${ROUNDS:-$2}
  CONNS=${CONNS:-64}
  NREQ=${NREQ:-200000}
  CG_REQS=${CG_REQS:-20000}
  W=$1
  rm -rf "$W"
  mkdir -p "$W"
  W=$(cd "$W" && pwd)
  for t in nginx haproxy wrk h2load valgrind perf taskset node; do
    command -v "$t" >/dev/null || { echo "bench: $t is missing (bash scripts/deps.sh)"; exit 1; }
  done
  [ -x build/gatehouse ] || make -s build/gatehouse
}

pids=()
PROXY_PID=
# On exit: the backend, and a proxy left running by a failed step.
cleanup() {
  for p in "${pids[@]}" $PROXY_PID; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

nginx_conf() { # $1 name, $2 server block
  cat > "$W/$1.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $W/$1.pid;
error_log $W/$1.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path $W/$1-body;
  proxy_temp_path $W/$1-proxy;
  fastcgi_temp_path $W/$1-fcgi;
  uwsgi_temp_path $W/$1-uwsgi;
  scgi_temp_path $W/$1-scgi;
  $2
}
EOF
}

haproxy_conf() { # $1 port, $2 frontend lines (may be empty), $3 extra sections: one thread, keep-alive
  cat > "$W/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend f
  bind 127.0.0.1:$1
$2
  default_backend b
backend b
  server s1 127.0.0.1:$BACK
$3
EOF
}

wait_port() { # $1 port; WAIT_TRIES tenths of a second (default 100)
  for _ in $(seq 1 "${WAIT_TRIES:-100}"); do
    if curl -s -o /dev/null "http://127.0.0.1:$1/"; then return 0; fi
    sleep 0.1
  done
  echo "bench: nothing answers on port $1"; exit 1
}

start_proxy() { # $1 name [$2 prefix command]; sets PROXY_PID
  local prefix=${2:-}
  # shellcheck disable=SC2086
  taskset -c 1 $prefix $(cmd_of "$1") >"$W/$1.out" 2>&1 &
  PROXY_PID=$!
  wait_port "$(port_of "$1")"
}
stop_proxy() { kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# One wrk run against a running proxy: prints "reqs rps p50_ms p99_ms cpu_us_per_req syscalls_per_req".
wrk_run() { # $1 name
  local port pid before after out reqs sc
  port=$(port_of "$1")
  pid=$PROXY_PID
  before=$(cpu_ticks "$pid")
  perf stat -x, -e raw_syscalls:sys_enter -p "$pid" -o "$W/perf.txt" -- sleep "$SECONDS_RUN" &
  local perfpid=$!
  out=$(taskset -c 0 wrk -t1 -c"$CONNS" -d"${SECONDS_RUN}s" --latency ${WRK_ARGS[@]+"${WRK_ARGS[@]}"} \
    "http://127.0.0.1:$port/")
  wait $perfpid || true
  after=$(cpu_ticks "$pid")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  sc=$(awk -F, '/raw_syscalls/ {print $1}' "$W/perf.txt")
  echo "$out" > "$W/wrk-$1.txt"
  local tick
  tick=$(getconf CLK_TCK)
  echo "$out" | awk -v reqs="$reqs" -v sc="$sc" -v cpu=$((after - before)) -v tick="$tick" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    END { printf "%d %.0f %.3f %.3f %.2f %.2f\n", reqs, rps, p50, p99, cpu * 1e6 / tick / reqs, sc / reqs }'
}

h2load_run() { # $1 name: prints req/s
  taskset -c 0 h2load --h1 -n "$NREQ" -c "$CONNS" -t 1 ${H2_ARGS[@]+"${H2_ARGS[@]}"} "http://127.0.0.1:$(port_of "$1")/" 2>/dev/null |
    awk '/^finished in/ { gsub(",", "", $4); print $4 }'
}

median() { sort -n | awk '{a[NR] = $1} END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# callgrind: warm up, zero the counters, run CG_REQS requests, dump
instr_per_req() { # $1 name
  local out="$W/cg-$1"
  start_proxy "$1" "valgrind --tool=callgrind --callgrind-out-file=$out.%p --dump-instr=no --collect-atstart=yes"
  taskset -c 0 h2load --h1 -n 2000 -c 8 -t 1 ${H2_ARGS[@]+"${H2_ARGS[@]}"} "http://127.0.0.1:$(port_of "$1")/" >/dev/null 2>&1
  callgrind_control -z "$PROXY_PID" >/dev/null 2>&1
  taskset -c 0 h2load --h1 -n "$CG_REQS" -c 8 -t 1 ${H2_ARGS[@]+"${H2_ARGS[@]}"} "http://127.0.0.1:$(port_of "$1")/" >/dev/null 2>&1
  callgrind_control -d "$PROXY_PID" >/dev/null 2>&1
  stop_proxy
  # the dump after zeroing holds only the measured requests (one file per dump; the last counts)
  local f
  f=$(ls -t "$out".*.[0-9]* 2>/dev/null | head -1)
  [ -n "$f" ] || f=$(ls -t "$out".* | head -1)
  awk -v n="$CG_REQS" '/^summary:/ { s = $2 } /^totals:/ { t = $2 } END { v = s ? s : t; printf "%.0f\n", v / n }' "$f"
}

# The table of medians over "$W/runs.txt" for the proxies in the array `proxies`, with the
# associative array `instr` (instructions per request) and ratios to nginx.
print_table() {
  printf '%-10s %10s %8s %8s %12s %11s %13s %11s %14s %14s\n' proxy "req/s" "p50 ms" "p99 ms" "h2load req/s" \
    "CPU us/req" "syscalls/req" "instr/req" "req/s vs nginx" "instr vs nginx"
  local -A rps
  local p
  for p in "${proxies[@]}"; do
    rps[$p]=$(awk -v p="$p" '$1 == p {print $3}' "$W/runs.txt" | median)
  done
  for p in "${proxies[@]}"; do
    col() { awk -v p="$p" -v c="$1" '$1 == p {print $c}' "$W/runs.txt" | median; }
    printf '%-10s %10.0f %8.3f %8.3f %12.0f %11.2f %13.2f %11s %14.2f %14.2f\n' "$p" "${rps[$p]}" "$(col 4)" \
      "$(col 5)" "$(col 8)" "$(col 6)" "$(col 7)" "${instr[$p]}" \
      "$(awk -v a="${rps[$p]}" -v b="${rps[nginx]}" 'BEGIN{print a / b}')" \
      "$(awk -v a="${instr[$p]}" -v b="${instr[nginx]}" 'BEGIN{print a / b}')"
  done
}
