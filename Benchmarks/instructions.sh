#!/usr/bin/env bash
# make bench-instructions: instructions per admission, counted by valgrind's cachegrind (no cache
# simulation). CPU time on a shared virtual machine moves by 30% between runs of the same binary;
# an instruction count does not, so two builds can be compared exactly.
#
#   Benchmarks/instructions.sh [BINARY...]     default: this checkout's release build
#
# Each binary serves the 4.8 KB review from --service-accounts-file (as `make bench` does), one
# event loop, under cachegrind; loadgen (4 keep-alive connections) sends N1 admissions, then, in
# a second run, N2. The slope (Ir(N2) - Ir(N1)) / (N2 - N1) is the count per admission: start-up,
# the TLS handshakes and shutdown cancel out. Prints a Markdown table.
# Environment: INSTRUCTIONS_REQUESTS (default "1000 5000"), BENCH_SKIP_BUILD=1, LOADGEN.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
read -r N1 N2 <<<"${INSTRUCTIONS_REQUESTS:-1000 5000}"
(( N2 > N1 )) || { echo "INSTRUCTIONS_REQUESTS: the second count must be larger" >&2; exit 2; }

log() { printf '[instructions] %s\n' "$*" >&2; }
die() { printf '[instructions] ERROR: %s\n' "$*" >&2; exit 1; }

# shellcheck source=Benchmarks/common.sh
source "$(dirname "$0")/common.sh"
scratch_start irsa-instructions

if ! command -v valgrind >/dev/null; then
  [[ $(id -u) == 0 ]] || die "missing valgrind (run as root, or: sudo apt-get install valgrind)"
  log "installing valgrind"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi

cd "$REPO"
release_binaries "${BENCH_SKIP_BUILD:-}"
(( $# > 0 )) || set -- "$WEBHOOK"

# Inputs in one directory, everything the runs write in another: a build older than the file
# watcher's fix reloads the ServiceAccounts file whenever anything in its directory changes.
mkdir -p "$WORK/in" "$WORK/out"
WORK=$WORK/in test_certificate webhook-instructions.local
python3 "$REPO/Benchmarks/peers/make_review.py" -o "$WORK/in/review.json"
"$LOADGEN" corpus --write-service-accounts "$WORK/in/serviceaccounts.json" 2>/dev/null

# instructions BINARY REQUESTS: the server's total instruction count for a run of REQUESTS admissions.
instructions() {
  local binary=$1 requests=$2 port out
  port=$(free_port)
  out=$WORK/out/$(basename "$binary").$requests
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out.cg" "$binary" \
    --host 127.0.0.1 --port "$port" --tls-cert-file "$CERT" --tls-key-file "$KEY" \
    --service-accounts-file "$WORK/in/serviceaccounts.json" --threads 1 --log-level warning --metrics-port 0 \
    >"$out.log" 2>&1 &
  local pid=$!; PIDS+=("$pid")
  wait_https "$port" "$pid" 60 || { cat "$out.log" >&2; die "$binary did not start under valgrind"; }
  "$LOADGEN" run --ca-file "$CERT" --review "$WORK/in/review.json" --connections 4 --requests "$requests" \
    --warmup 0s --verify none "https://127.0.0.1:$port/mutate" >"$out.loadgen" 2>&1 \
    || { cat "$out.loadgen" >&2; die "loadgen failed against $binary"; }
  grep -q "($requests ok, 0 failed)" "$out.loadgen" || { cat "$out.loadgen" >&2; die "failed admissions against $binary"; }
  kill -TERM "$pid"; wait "$pid" || true
  awk '/^summary:/ {print $2}' "$out.cg"
}

echo "| binary | instructions per admission | runs |"
echo "|---|---:|---|"
index=0
for binary in "$@"; do
  [[ -x $binary ]] || die "not an executable: $binary"
  index=$((index + 1))
  # valgrind cannot read the DWARF 5 that Swift's toolchain writes: count a copy without it.
  stripped=$WORK/out/binary-$index
  objcopy --strip-debug "$binary" "$stripped"
  log "$binary: $N1 admissions"
  first=$(instructions "$stripped" "$N1")
  log "$binary: $N2 admissions"
  second=$(instructions "$stripped" "$N2")
  echo "| $binary | $(( (second - first) / (N2 - N1) )) | Ir $first at $N1, $second at $N2 |"
done
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, valgrind $(valgrind --version | sed 's/valgrind-//'): \`Benchmarks/instructions.sh\`."
