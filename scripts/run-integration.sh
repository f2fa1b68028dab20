#!/usr/bin/env bash
# Runs the black-box tests (Node's test runner, one file at a time: each starts real servers) with
# readable output, and ends with "NAME: N passed, N failed". Arguments: the folder (tests/integration)
# (or files: a space-separated list) and the name (integration); the browser tests run the same way
# (tests/browser browser).
set -u
dir=${1:-tests/integration}
name=${2:-integration}
mkdir -p build
node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=build/$name.tap $(for d in $dir; do [ -d "$d" ] && echo "$d/" || echo "$d"; done)
rc=$?
pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' build/$name.tap | tail -1)
fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' build/$name.tap | tail -1)
cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' build/$name.tap | tail -1)
fail=$(( ${fail:-0} + ${cancelled:-0} ))
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "$name: ${pass:-0} passed, $fail failed"
exit "$rc"
