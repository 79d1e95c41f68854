#!/usr/bin/env bash
# Benchmarks/body-flood.sh: memory and good-client latency while clients hold large bodies.
#
# Starts a release irsa-webhook (default flags: --max-body-bytes 8 MiB, --max-buffered-body-bytes
# 64 MiB, one loop per core) and measures a good client (loadgen, open loop, the dev review) alone,
# then again while Benchmarks/body-flood.py opens FLOOD_CONNECTIONS plain-HTTP connections to the
# metrics port (POST /healthz) and as many TLS connections to /mutate, each announcing 8 MiB and
# sending all but the last byte. Prints VmRSS before and at its peak, what the flood connections
# were answered, and the good client's p50/p99 alone and during the flood.
#
# Environment: FLOOD_CONNECTIONS (per port, default 25), FLOOD_HOLD (seconds, default 8),
# GOOD_RATE (req/s, default 200), BENCH_SKIP_BUILD=1 (use the existing release build),
# IRSA_WEBHOOK / LOADGEN (binaries to use instead of this checkout's release build).
set -euo pipefail

PER_PORT=${FLOOD_CONNECTIONS:-25}
HOLD=${FLOOD_HOLD:-8}
RATE=${GOOD_RATE:-200}
BODY=$((8 * 1024 * 1024))
REPO=$(cd "$(dirname "$0")/.." && pwd)

log() { printf '[body-flood] %s\n' "$*" >&2; }
die() { printf '[body-flood] ERROR: %s\n' "$*" >&2; exit 1; }

# shellcheck source=Benchmarks/common.sh
source "$(dirname "$0")/common.sh"
scratch_start irsa-body-flood
cd "$REPO"
release_binaries "${BENCH_SKIP_BUILD:-}"
test_certificate body-flood.local
PORT=$(free_port); METRICS_PORT=$(free_port)
"$WEBHOOK" --host 127.0.0.1 --port "$PORT" --metrics-port "$METRICS_PORT" --tls-cert-file "$CERT" --tls-key-file "$KEY" \
  --service-accounts-file deploy/dev/serviceaccounts.yaml --log-level warning 2>"$WORK/webhook.log" &
SERVER=$!; PIDS+=("$SERVER")
wait_https "$PORT" "$SERVER" || die "irsa-webhook did not start: $(cat "$WORK/webhook.log")"

# good_client SECONDS: loadgen open loop at RATE with the dev review; prints "p50_ms p99_ms max_ms failed".
good_client() {
  "$LOADGEN" run --json --rate "$RATE" --connections 4 --duration "$1s" --warmup 1s --ca-file "$CERT" \
    --review deploy/dev/review.json "https://127.0.0.1:$PORT/mutate" 2>>"$WORK/loadgen.log" | python3 -c '
import json, sys
r = json.load(sys.stdin); l = r["latencyMicroseconds"]
print("%.2f %.2f %.2f %d" % (l["p50"] / 1000, l["p99"] / 1000, l["max"] / 1000, r["failed"]))'
}

log "good client alone, $RATE req/s"
read -r alone_p50 alone_p99 alone_max alone_failed < <(good_client "$HOLD")
log "good client during the flood: $PER_PORT + $PER_PORT connections holding $BODY - 1 bytes each"
good_client $((HOLD + 2)) >"$WORK/good" &
GOOD=$!; PIDS+=("$GOOD")
sleep 2
python3 Benchmarks/body-flood.py "$PORT" "$METRICS_PORT" "$SERVER" "$BODY" "$PER_PORT" "$HOLD" >"$WORK/flood.json"
wait "$GOOD"
read -r flood_p50 flood_p99 flood_max flood_failed <"$WORK/good"
python3 - "$WORK/flood.json" <<PY
import collections, json, sys
r = json.load(open(sys.argv[1]))
answers = collections.Counter((name.split("-")[0], status) for name, status in r["statuses"].items())
print("RSS before %.1f MiB, peak %.1f MiB (+%.1f MiB)" % (r["rss_before"] / 2**20, r["rss_peak"] / 2**20, (r["rss_peak"] - r["rss_before"]) / 2**20))
print("flood answers (port, status: count; 'closed' = no answer within the hold): %s" % dict(sorted(answers.items())))
print("good client at $RATE req/s: alone p50 $alone_p50 ms, p99 $alone_p99 ms, max $alone_max ms, $alone_failed failed; "
      "during the flood p50 $flood_p50 ms, p99 $flood_p99 ms, max $flood_max ms, $flood_failed failed")
PY
