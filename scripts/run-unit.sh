#!/usr/bin/env bash
# Runs cmocka test binaries and ends with one summary line: "<name>: N passed, N failed".
set -u
name=$1; shift
passed=0; failed=0; crashed=0
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ "$rc" -ne 0 ]; then
    printf '%s\n' "$out" | grep -vE '^\[ (RUN|      OK) ' | head -80
    echo "FAILED: $t (exit $rc)"
    if [ -z "$f" ] || [ "${f:-0}" -eq 0 ]; then crashed=$((crashed + 1)); fi
  fi
done
failed=$((failed + crashed))
echo "$name: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
