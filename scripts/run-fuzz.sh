#!/usr/bin/env bash
# Runs each libFuzzer target for N seconds on its seed corpus (tests/fuzz/corpus/<target>).
# New inputs go to a scratch folder so the committed corpus only changes on purpose. A crash fails.
set -u
secs=$1; shift
passed=0; failed=0
for f in "$@"; do
  name=$(basename "$f")
  seeds=tests/fuzz/corpus/$name
  work=build/fuzz-work/$name; mkdir -p "$work" "$seeds"
  # libfyaml leaks in some malformed documents (tests/fuzz/lsan.supp); suppressing it by function name
  # needs full malloc stacks, so the targets that parse YAML run with them
  case $name in fuzz_config | fuzz_yaml) unwind=fast_unwind_on_malloc=0 ;; *) unwind= ;; esac
  if ASAN_OPTIONS=$unwind LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp:print_suppressions=0 \
       "$f" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix=build/fuzz-work/"$name"- "$work" "$seeds" > build/fuzz-work/"$name".log 2>&1; then
    passed=$((passed + 1)); echo "fuzz $name: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' build/fuzz-work/"$name".log | tail -1 | awk '{print $2}') runs)"
  else
    failed=$((failed + 1)); tail -40 build/fuzz-work/"$name".log; echo "fuzz $name: FAILED"
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
