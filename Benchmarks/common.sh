# shellcheck shell=bash
# Sourced by bench.sh, soak.sh and idle-memory.sh (which define log and die first).

# scratch_start PREFIX: a scratch directory WORK (/tmp/PREFIX.XXXXXX) and PIDS, the processes the
# script starts: killed and waited for, and the directory removed, however the script ends.
scratch_start() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  PIDS=()
  trap scratch_cleanup EXIT
  trap 'exit 130' INT TERM
}

scratch_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}

# release_binaries SKIP-BUILD: builds irsa-webhook and loadgen in release unless SKIP-BUILD is
# set, then sets WEBHOOK and LOADGEN (IRSA_WEBHOOK / LOADGEN override them). Run from the repo.
release_binaries() {
  if [[ -z "$1" ]]; then
    log "building release (irsa-webhook, loadgen)"
    # Statically linked Swift runtime, as `make release` and deploy/Dockerfile build it.
    swift build -c release --static-swift-stdlib --product irsa-webhook >&2
    swift build -c release --static-swift-stdlib --product loadgen >&2
  fi
  local bin
  bin=$(swift build -c release --show-bin-path)
  WEBHOOK=${IRSA_WEBHOOK:-$bin/irsa-webhook}
  LOADGEN=${LOADGEN:-$bin/loadgen}
  [[ -x $WEBHOOK && -x $LOADGEN ]] || die "release binaries missing in $bin"
}

# test_certificate COMMON-NAME: a self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost
# in WORK; sets CERT and KEY.
test_certificate() {
  CERT=$WORK/tls.crt; KEY=$WORK/tls.key
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$KEY" -out "$CERT" \
    -days 2 -subj "/CN=$1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# wait_https PORT PID [SECONDS]: until the server answers TLS on PORT (SECONDS, default 10, at
# most); fails when PID exits.
wait_https() {
  local port=$1 pid=$2 i
  for ((i = 0; i < ${3:-10} * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    if curl -sk -o /dev/null --max-time 1 "https://127.0.0.1:$port/healthz"; then return 0; fi
    sleep 0.1
  done
  return 1
}

# rss_kib PID: the process's VmRSS in KiB (0 once it is gone).
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
