#!/usr/bin/env bash
# make soak: irsa-webhook under steady open-loop load at half its measured peak for a long time,
# all on 127.0.0.1. Decides pass/fail and writes $SOAK_OUT (default Benchmarks/results/soak.md).
#
#   1. release build of irsa-webhook and loadgen; a test certificate; the ServiceAccount file of
#      loadgen's generated corpus (--service-accounts-file: no Kubernetes API needed);
#   2. peak: loadgen closed loop (64 connections, --verify SOAK_VERIFY, as the soak) for SOAK_PEAK_DURATION;
#   3. warm-up: open loop at 50% of the peak for SOAK_WARMUP (not judged);
#   4. soak: open loop at the same rate for SOAK_DURATION, in consecutive loadgen runs of
#      SOAK_INTERVAL each (--verify SOAK_VERIFY on every answer), one p99 per run;
#      the server's VmRSS is sampled every SOAK_SAMPLE. Each run first loads the server for
#      2 s unmeasured (loadgen --warmup): a new loadgen's open-loop schedule starts while its 64
#      connections are still being set up, and measuring that start put 40–90 ms into p99.9 and max.
#
# Pass when all hold:
#   - the rate held: every interval reached at least 95% of the target rate;
#   - RSS growth from the end of the warm-up to the end of the soak is under SOAK_RSS_GROWTH_PERCENT (5);
#   - zero errors: no failed request in any run, the server still running, no error line in its log;
#   - p99 stable: every interval's p99 is at most SOAK_P99_SPREAD (2) times the median interval
#     p99 (and, when SOAK_P99_MAX_MS is set, under that many milliseconds).
#
# Environment: SOAK_DURATION (10m), SOAK_WARMUP (1m), SOAK_INTERVAL (1m), SOAK_SAMPLE (10s),
# SOAK_PEAK_DURATION (15s), SOAK_RATE (requests/s; skips the peak run), SOAK_CONNECTIONS (64),
# SOAK_VERIFY (envelope: status, uid echo and a patch exactly when the account has a role, on
# every answer; full also applies every patch, which makes loadgen, not the server, the limit of
# the peak run), SOAK_OUT, SOAK_SKIP_BUILD=1 (use the existing release build), IRSA_WEBHOOK / LOADGEN (binaries).
# Pinning as in bench.sh: the server on core 1, the load on core 0. Exit code 0 pass, 1 fail.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '[soak] %s\n' "$*" >&2; }
die() { printf '[soak] ERROR: %s\n' "$*" >&2; exit 2; }

# shellcheck source=Benchmarks/common.sh
source "$(dirname "$0")/common.sh"
scratch_start irsa-soak

# seconds DURATION: "90s", "10m", "1h" or a plain number of seconds.
seconds() {
  case "$1" in
    *h) echo $(( ${1%h} * 3600 )) ;;
    *m) echo $(( ${1%m} * 60 )) ;;
    *s) echo $(( ${1%s} )) ;;
    *[!0-9]*|'') die "not a duration: $1 (use 90s, 10m or 1h)" ;;
    *) echo "$1" ;;
  esac
}

DURATION_S=$(seconds "${SOAK_DURATION:-10m}")
WARMUP_S=$(seconds "${SOAK_WARMUP:-1m}")
INTERVAL_S=$(seconds "${SOAK_INTERVAL:-1m}")
SAMPLE_S=$(seconds "${SOAK_SAMPLE:-10s}")
PEAK_S=$(seconds "${SOAK_PEAK_DURATION:-15s}")
CONNECTIONS=${SOAK_CONNECTIONS:-64}
VERIFY=${SOAK_VERIFY:-envelope}
[[ $VERIFY == envelope || $VERIFY == full ]] || die "SOAK_VERIFY must be envelope or full"
RSS_LIMIT=${SOAK_RSS_GROWTH_PERCENT:-5}
P99_SPREAD=${SOAK_P99_SPREAD:-2}
P99_MAX_MS=${SOAK_P99_MAX_MS:-0}
OUT=${SOAK_OUT:-$REPO/Benchmarks/results/soak.md}
(( INTERVAL_S > 0 && SAMPLE_S > 0 && PEAK_S > 0 )) || die "SOAK_INTERVAL, SOAK_SAMPLE and SOAK_PEAK_DURATION must be positive"
(( DURATION_S >= INTERVAL_S )) || die "SOAK_DURATION ($DURATION_S s) is shorter than SOAK_INTERVAL ($INTERVAL_S s)"
INTERVALS=$(( DURATION_S / INTERVAL_S ))
SERVER_CPU=1; LOAD_CPU=0
if (( $(nproc) < 2 )); then SERVER_CPU=0; fi

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

cd "$REPO"
LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)  # other work on the machine shows in the latencies
release_binaries "${SOAK_SKIP_BUILD:-}"

test_certificate webhook-soak.local
"$LOADGEN" corpus --write-service-accounts "$WORK/serviceaccounts.json" 2>/dev/null

PORT=$(free_port)
taskset -c "$SERVER_CPU" "$WEBHOOK" --host 127.0.0.1 --port "$PORT" --tls-cert-file "$CERT" --tls-key-file "$KEY" \
  --service-accounts-file "$WORK/serviceaccounts.json" --threads 1 --log-level warning --metrics-port 0 \
  >"$WORK/webhook.log" 2>&1 &
SERVER=$!; PIDS+=("$SERVER")
wait_https "$PORT" "$SERVER" || { cat "$WORK/webhook.log" >&2; die "irsa-webhook did not start"; }
URL=https://127.0.0.1:$PORT/mutate

# loadgen_json NAME ARGS...: one loadgen run with --json; the report goes to $WORK/NAME.json.
loadgen_json() {
  local name=$1; shift
  taskset -c "$LOAD_CPU" "$LOADGEN" run --json --ca-file "$CERT" --connections "$CONNECTIONS" "$@" "$URL" \
    >"$WORK/$name.json" 2>"$WORK/$name.err" || true
  [[ -s "$WORK/$name.json" ]] || { cat "$WORK/$name.err" >&2; die "loadgen run $name printed no report"; }
}
field() { python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"r": r}))' "$@"; }

if [[ -n "${SOAK_RATE:-}" ]]; then
  PEAK="(not measured)"; RATE=$SOAK_RATE
else
  log "peak: closed loop, $CONNECTIONS connections, ${PEAK_S}s"
  loadgen_json peak --duration "${PEAK_S}s" --warmup 2s --verify "$VERIFY"
  PEAK=$(field "$WORK/peak.json" 'round(r["requestsPerSecond"])')
  (( PEAK > 0 )) || die "peak run measured 0 requests/s"
  RATE=$(( PEAK / 2 ))
fi
log "rate: $RATE requests/s (peak $PEAK)"

rss() { rss_kib "$SERVER"; }
START=$(date +%s)
: >"$WORK/rss.txt"
( while kill -0 "$SERVER" 2>/dev/null; do echo "$(( $(date +%s) - START )) $(rss)"; sleep "$SAMPLE_S"; done ) >>"$WORK/rss.txt" &
PIDS+=("$!")

if (( WARMUP_S > 0 )); then
  log "warm-up: ${WARMUP_S}s at $RATE/s"
  loadgen_json warmup --rate "$RATE" --duration "${WARMUP_S}s" --warmup 0s --verify "$VERIFY"
fi
WARM_RSS=$(rss); WARM_AT=$(( $(date +%s) - START ))
echo "$WARM_AT $WARM_RSS" >>"$WORK/rss.txt"
for ((n = 1; n <= INTERVALS; n++)); do
  log "interval $n/$INTERVALS: ${INTERVAL_S}s at $RATE/s"
  loadgen_json "interval-$n" --rate "$RATE" --duration "${INTERVAL_S}s" --warmup 2s --verify "$VERIFY"
  echo "$(( $(date +%s) - START )) $(rss)" >>"$WORK/rss.txt"
done
END_RSS=$(rss)
ALIVE=yes; kill -0 "$SERVER" 2>/dev/null || ALIVE=no

set +e
python3 - "$WORK" "$INTERVALS" "$RATE" "$PEAK" "$WARM_AT" "$WARM_RSS" "$END_RSS" "$ALIVE" "$RSS_LIMIT" "$P99_SPREAD" "$P99_MAX_MS" \
  "$INTERVAL_S" "$WARMUP_S" "$VERIFY" "$(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), load average at the start $LOAD_AT_START" \
  >"$WORK/soak.md" <<'PY'
import json, statistics, sys
work, intervals, rate, peak, warm_at, warm_rss, end_rss, alive = sys.argv[1:9]
rss_limit, spread, p99_max_ms = float(sys.argv[9]), float(sys.argv[10]), float(sys.argv[11])
interval_s, warmup_s, verify, machine = sys.argv[12], sys.argv[13], sys.argv[14], sys.argv[15]
intervals, warm_at, warm_rss, end_rss = int(intervals), int(warm_at), int(warm_rss), int(end_rss)
runs = [json.load(open(f"{work}/interval-{n}.json")) for n in range(1, intervals + 1)]
p99s = [r["latencyMicroseconds"]["p99"] for r in runs]
median = statistics.median(p99s)
failed = sum(r["failed"] for r in runs)
requests = sum(r["requests"] for r in runs)
log = open(f"{work}/webhook.log", errors="replace").read().splitlines()
error_lines = [line for line in log if "error" in line.lower()]
samples = [tuple(map(int, line.split())) for line in open(f"{work}/rss.txt") if line.strip()]
growth = (end_rss - warm_rss) * 100.0 / warm_rss if warm_rss else float("inf")
checks = [
    (f"RSS growth after warm-up < {rss_limit:g}%", growth < rss_limit, f"{warm_rss / 1024:.1f} MiB -> {end_rss / 1024:.1f} MiB ({growth:+.2f}%)"),
    ("rate held: every interval >= 95% of the target", all(r["requestsPerSecond"] >= 0.95 * int(rate) for r in runs),
     f"min {min(r['requestsPerSecond'] for r in runs):.0f} of {rate} requests/s"),
    ("zero failed requests", failed == 0, f"{failed} failed of {requests + failed}"),
    ("server running at the end", alive == "yes", alive),
    ("no error line in the server log", not error_lines, f"{len(error_lines)} lines"),
    (f"every interval p99 <= {spread:g} x median", all(p <= spread * median for p in p99s), f"median {median / 1000:.3f} ms, max {max(p99s) / 1000:.3f} ms"),
]
if p99_max_ms > 0:
    checks.append((f"every interval p99 < {p99_max_ms:g} ms", all(p < p99_max_ms * 1000 for p in p99s), f"max {max(p99s) / 1000:.3f} ms"))
passed = all(ok for _, ok, _ in checks)
print("# irsa-webhook soak\n")
print(f"{machine}. Server pinned to core 1 (--threads 1), load to core 0; TLS 1.3 keep-alive.")
print(f"Peak (closed loop, --verify {verify}): {peak} requests/s. Soak: open loop at {rate} requests/s, "
      f"{warmup_s} s warm-up, then {intervals} x {interval_s} s with --verify {verify}; "
      f"{requests} requests checked.\n")
print(f"**Result: {'PASS' if passed else 'FAIL'}**\n")
print("| check | result | measured |\n|---|---|---|")
for name, ok, measured in checks:
    print(f"| {name} | {'pass' if ok else 'FAIL'} | {measured} |")
print("\nLatency in ms. Bodies of 256 KiB and more (the corpus's 1 MiB outliers) are also shown apart: "
      "their own latency, and the p99.9 and max of all other requests.\n")
print("| interval | requests/s | p50 | p99 | p99.9 | max | p99.9 < 256 KiB | max < 256 KiB | >= 256 KiB: requests, p50, max | failed |\n"
      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for n, r in enumerate(runs, 1):
    l = r["latencyMicroseconds"]
    split = r.get("latencyMicrosecondsByBodySize")
    small = split["under256KiB"] if split else l
    large = f"{split['from256KiB']['requests']}, {split['from256KiB']['p50'] / 1000:.1f}, {split['from256KiB']['max'] / 1000:.1f}" if split else "none"
    print(f"| {n} | {r['requestsPerSecond']:.0f} | {l['p50'] / 1000:.3f} | {l['p99'] / 1000:.3f} | {l['p999'] / 1000:.3f} | {l['max'] / 1000:.3f} "
          f"| {small['p999'] / 1000:.3f} | {small['max'] / 1000:.3f} | {large} | {r['failed']} |")
print("\nVmRSS samples (seconds since the soak's start: MiB; warm-up ends at %d s):\n" % warm_at)
print(", ".join(f"{t}: {kib / 1024:.1f}" for t, kib in samples))
if error_lines:
    print("\nServer log errors (first 5):\n\n```\n" + "\n".join(error_lines[:5]) + "\n```")
sys.exit(0 if passed else 1)
PY
VERDICT=$?
set -e
mkdir -p "$(dirname "$OUT")"
cp "$WORK/soak.md" "$OUT"
cat "$WORK/soak.md"
log "written to $OUT"
[[ $VERDICT == 0 ]]  # the exit code: 0 pass, 1 fail
