#!/usr/bin/env bash
# Runs each libFuzzer target (built by `make fuzz` into .build/fuzz/release) for a bounded time
# on a scratch copy of its seed corpus and regression inputs, with final statistics; prints
# executions, exec/s and coverage per target. A crash or invariant violation fails the run; the
# input is kept in .build/fuzz-runs/<corpus>/artifacts/ (copy it to Tests/Fuzz/Regressions/<corpus>/).
#
# Usage: Tests/Fuzz/run-fuzzers.sh SECONDS [CORPUS...]   (corpora: http admission configuration)
set -euo pipefail

seconds=${1:?usage: run-fuzzers.sh SECONDS [CORPUS...]}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
binaries=$root/.build/fuzz/release
runs=$root/.build/fuzz-runs
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http admission configuration)

declare -A fuzzer=([http]=HTTPRequestStreamFuzzer [admission]=AdmissionReviewFuzzer [configuration]=ConfigurationFileFuzzer)
declare -A max_len=([http]=4096 [admission]=32768 [configuration]=8192)

failed=()
summary=()
for corpus in "${targets[@]}"; do
  name=${fuzzer[$corpus]:?unknown corpus $corpus}
  work=$runs/$corpus
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp "$root/Tests/Fuzz/Corpus/$corpus/"* "$work/corpus/"
  cp "$root/Tests/Fuzz/Regressions/$corpus/"* "$work/corpus/" 2>/dev/null || true
  echo "== $name: ${seconds}s on $(find "$work/corpus" -type f | wc -l) seeds"
  status=0
  # The scratch directory is the working directory: relative paths in fuzzed files stay inside it.
  # Swift's own crash backtracer is off: AddressSanitizer reports its memory reads as errors.
  (cd "$work" && SWIFT_BACKTRACE=enable=no "$binaries/$name" corpus -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
     -rss_limit_mb=2048 -max_len="${max_len[$corpus]}" -dict="$root/Tests/Fuzz/Dictionaries/$corpus.dict" \
     -artifact_prefix=artifacts/) >"$work/fuzz.log" 2>&1 || status=$?
  runs_done=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log")
  coverage=$(grep -E '^#[0-9]+' "$work/fuzz.log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
  corpus_size=$(find "$work/corpus" -type f | wc -l)
  summary+=("$(printf '%-24s %10s runs %8s exec/s  %-22s corpus %s' "$name" "${runs_done:-?}" "${rate:-?}" "${coverage:-?}" "$corpus_size")")
  if [ "$status" -ne 0 ]; then
    failed+=("$name")
    grep -E 'ERROR|fuzz invariant violated|Fatal error|SUMMARY' "$work/fuzz.log" | head -5 || true
    echo "   input kept: $(find "$work/artifacts" -type f | head -3 | tr '\n' ' ')"
    echo "   log: $work/fuzz.log"
  fi
done

echo "== fuzz summary (${seconds}s each)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
