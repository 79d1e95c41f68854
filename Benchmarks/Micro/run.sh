#!/usr/bin/env bash
# make bench-micro: builds Benchmarks/Micro in release, writes its inputs (the 4.8 KB review of
# Benchmarks/peers/make_review.py and a generated 1 MB review, with the matching ServiceAccount
# file) and writes the table to $MICRO_OUT (default Benchmarks/results/micro.md).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${MICRO_OUT:-$REPO/Benchmarks/results/micro.md}
WORK=$(mktemp -d /tmp/irsa-micro.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cd "$REPO"
swift build -c release --static-swift-stdlib --product loadgen >&2
LOADGEN=$(swift build -c release --show-bin-path)/loadgen
"$LOADGEN" corpus --write-service-accounts "$WORK/serviceaccounts.json" 2>/dev/null
python3 "$REPO/Benchmarks/peers/make_review.py" -o "$WORK/small.json"
SMALL_NAME="4.8 KB Deployment pod (Benchmarks/peers/make_review.py)"
"$LOADGEN" corpus --mix 100:0:0 --pod-size 1048576 --reviews 1 --write-review "$WORK/large.json" 2>/dev/null

cd "$REPO/Benchmarks/Micro"
swift build -c release >&2
BIN=$(swift build -c release --show-bin-path)/MicroBench
{
  echo "# irsa-webhook microbenchmarks"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg). Thread CPU time, best of 7 runs; allocations counted"
  echo "by the harness's malloc (calloc, realloc and aligned allocations included). \`make bench-micro\`."
  echo
  taskset -c "$(( $(nproc) - 1 ))" "$BIN" "$WORK/serviceaccounts.json" "$SMALL_NAME=$WORK/small.json" "1 MB generated pod=$WORK/large.json"
} >"$WORK/micro.md"
mkdir -p "$(dirname "$OUT")"
cp "$WORK/micro.md" "$OUT"
cat "$OUT"
