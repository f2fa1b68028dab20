#!/usr/bin/env bash
# Installs everything Gatehouse needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are not reinstalled, `npm ci` only runs when
# node_modules is missing or older than package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# --build: only what building the binary needs (make demo on a fresh machine)
build=(
  build-essential pkg-config clang llvm
  libuv1-dev libssl-dev libjansson-dev libfyaml-dev libcjose-dev libcurl4-openssl-dev
  libsqlite3-dev libpq-dev libhiredis-dev liburcu-dev
)
pkgs=(
  "${build[@]}"
  # tests: cmocka, sanitizer and libFuzzer runtimes, node for black-box tests
  libcmocka-dev libclang-rt-14-dev nodejs npm
  # browser tests: Debian's chromium, driven by playwright-core (npm)
  chromium
  # benchmarks
  nginx-light haproxy wrk nghttp2-client valgrind strace linux-perf
  # lint / format
  clang-format clang-tidy cppcheck
)

only_build=0
if [[ ${1:-} == --build ]]; then
  only_build=1
  pkgs=("${build[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# nodejs/npm may come from elsewhere on a developer machine; only ask apt when the command is absent.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]}")
fi

if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # nginx and haproxy packages start system services; the benchmarks run their own instances.
  for s in nginx haproxy; do
    $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || $SUDO service "$s" stop >/dev/null 2>&1 || true
  done
fi

if [[ -f package-lock.json && $only_build -eq 0 ]]; then
  if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "deps: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
