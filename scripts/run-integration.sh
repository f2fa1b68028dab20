#!/usr/bin/env bash
# Runs the black-box tests (Node's test runner, one file at a time: each starts real servers) with
# readable output, and ends with "integration: N passed, N failed".
set -u
mkdir -p build
node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=build/integration.tap tests/integration/
rc=$?
pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' build/integration.tap | tail -1)
fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' build/integration.tap | tail -1)
cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' build/integration.tap | tail -1)
fail=$(( ${fail:-0} + ${cancelled:-0} ))
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "integration: ${pass:-0} passed, $fail failed"
exit "$rc"
