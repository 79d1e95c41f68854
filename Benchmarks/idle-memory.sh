#!/usr/bin/env bash
# Benchmarks/idle-memory.sh: server memory per idle TLS keep-alive connection.
#
# Starts a release irsa-webhook (--threads 1, pinned to core 1), records its VmRSS, opens
# IDLE_CONNECTIONS TLS connections with loadgen (core 0) that each get one answer to
# GET /healthz and then wait as keep-alive connections (IDLE_MODE=handshake: the handshake only),
# records VmRSS while they are held, and prints the difference divided by the connection count.
# Repeats IDLE_RUNS times with a fresh server. It also counts the server's open descriptors: with
# IDLE_MODE=handshake, connections that wait longer than --request-head-timeout (10 s from
# accept) for a first request are closed by the server while the rest are still opening, so
# fewer than IDLE_CONNECTIONS may be held (the figure then means little).
#
# Environment: IDLE_CONNECTIONS (default 10000; the descriptor limit must allow it), IDLE_RUNS
# (default 3), IDLE_MODE (request | handshake), BENCH_SKIP_BUILD=1 (use the existing release
# build), IRSA_WEBHOOK / LOADGEN (binaries to use instead of this checkout's release build).
set -euo pipefail

COUNT=${IDLE_CONNECTIONS:-10000}
RUNS=${IDLE_RUNS:-3}
MODE=${IDLE_MODE:-request}
case "$MODE" in request|handshake) ;; *) echo "IDLE_MODE must be request or handshake" >&2; exit 2 ;; esac
REPO=$(cd "$(dirname "$0")/.." && pwd)
SERVER_CPU=1; LOAD_CPU=0
(( $(nproc) < 2 )) && SERVER_CPU=0

log() { printf '[idle-memory] %s\n' "$*" >&2; }
die() { printf '[idle-memory] ERROR: %s\n' "$*" >&2; exit 1; }

# shellcheck source=Benchmarks/common.sh
source "$(dirname "$0")/common.sh"
scratch_start irsa-idle-memory
ulimit -n $((COUNT + 1000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
(( $(ulimit -n) > COUNT + 100 )) || die "descriptor limit $(ulimit -n) is too low for $COUNT connections"

cd "$REPO"
release_binaries "${BENCH_SKIP_BUILD:-}"
test_certificate idle-memory.local
"$LOADGEN" corpus --write-service-accounts "$WORK/serviceaccounts.json" 2>/dev/null
request_flag=()
[[ $MODE == request ]] && request_flag=(--idle-after-request)

for ((run = 1; run <= RUNS; run++)); do
  port=$(free_port)
  taskset -c "$SERVER_CPU" "$WEBHOOK" --host 127.0.0.1 --port "$port" --tls-cert-file "$CERT" \
    --tls-key-file "$KEY" --service-accounts-file "$WORK/serviceaccounts.json" --threads 1 \
    --max-connections $((COUNT + 100)) --log-level warning --metrics-port 0 >"$WORK/webhook.log" 2>&1 &
  server=$!; PIDS+=("$server")
  wait_https "$port" "$server" || die "irsa-webhook did not start: $(cat "$WORK/webhook.log")"
  sleep 0.5
  before=$(rss_kib "$server")
  descriptors_before=$(ls "/proc/$server/fd" | wc -l)
  : >"$WORK/loadgen.log"
  taskset -c "$LOAD_CPU" "$LOADGEN" run --idle-connections "$COUNT" "${request_flag[@]}" --hold 3s \
    --ca-file "$CERT" --threads 1 "https://127.0.0.1:$port/healthz" 2>"$WORK/loadgen.log" >"$WORK/loadgen.out" &
  idle=$!; PIDS+=("$idle")
  for ((i = 0; i < 1200; i++)); do
    grep -q holding "$WORK/loadgen.log" && break
    kill -0 "$idle" 2>/dev/null || break
    sleep 0.1
  done
  sleep 1  # past the 100 ms after which idle connections free their buffers
  held=$(rss_kib "$server")
  open=$(( $(ls "/proc/$server/fd" | wc -l) - descriptors_before ))
  wait "$idle" || die "loadgen failed: $(tail -n 3 "$WORK/loadgen.log")"
  kill "$server"; wait "$server" 2>/dev/null || true
  python3 -c 'import sys; b, h, n, o = map(int, sys.argv[1:5]); print(f"run {sys.argv[5]}: {(h - b) * 1024 / n / 1000:.2f} KB per idle connection ({sys.argv[6]}; VmRSS {b} KiB before, {h} KiB with {n} idle; {o} open on the server)")' \
    "$before" "$held" "$COUNT" "$open" "$run" "$MODE"
done
