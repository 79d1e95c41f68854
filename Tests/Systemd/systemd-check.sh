#!/usr/bin/env bash
# make systemd-check: the shipped unit under a real systemd (as root; not part of make test).
#
# Boots a minimal Debian bookworm root with systemd-nspawn (private network), installs
# deploy/systemd/irsa-webhook.{service,socket} unchanged plus a drop-in that only adds
# --service-accounts-file and drops the kubeconfig credential, and checks: the socket starts the
# service on the first connection; the unit is active with a StatusText; /healthz and /mutate
# (a patch) answer on port 8443; WATCHDOG=1 arrives; the journal has no refused-syscall line
# and no thread starts over 20 s idle; `systemctl stop` exits 0 with Result=success;
# the socket keeps listening and starts the service again.
#
# The debootstrapped root is cached in .build-systemd/bookworm (first run about 80 s, later
# runs about 20 s); each run boots a copy, removed at the end however the script ends.
# Usage: Tests/Systemd/systemd-check.sh [BINARY] (default .build/release/irsa-webhook, the
# statically linked `make release` build).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BINARY=${1:-$REPO/.build/release/irsa-webhook}
CACHE=${SYSTEMD_CHECK_ROOT:-$REPO/.build-systemd/bookworm}
IDLE_SECONDS=${SYSTEMD_CHECK_IDLE:-20}
PACKAGES=systemd,systemd-sysv,dbus,libssl3,libsystemd0,curl,ca-certificates

log() { printf '[systemd-check] %s\n' "$*" >&2; }
die() { printf '[systemd-check] FAIL: %s\n' "$*" >&2; exit 1; }
pass() { printf '[systemd-check] ok: %s\n' "$*" >&2; }

[[ $(id -u) == 0 ]] || die "run as root (debootstrap and systemd-nspawn need it)"
[[ -x $BINARY ]] || die "no binary at $BINARY (make release builds it)"
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
if (( ${#missing[@]} )); then
  log "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The Debian mirror this machine's apt uses (deb822 .sources or one-line .list), else deb.debian.org.
debian_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
    /^URIs:/ { uri = $2 } /^Suites:/ { if ($0 ~ / bookworm( |$)/) { print uri; exit } }')
  [[ -n $uri ]] || uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }')
  echo "${uri:-http://deb.debian.org/debian}"
}

if [[ ! -x $CACHE/usr/lib/systemd/systemd ]]; then
  mirror=$(debian_mirror)
  log "debootstrap bookworm from $mirror into $CACHE (once)"
  rm -rf "$CACHE.partial"; mkdir -p "$(dirname "$CACHE")"
  debootstrap --variant=minbase --include="$PACKAGES" bookworm "$CACHE.partial" "$mirror" >"$CACHE.log" 2>&1 ||
    { tail -n 20 "$CACHE.log" >&2; die "debootstrap failed"; }
  rm -rf "$CACHE"; mv "$CACHE.partial" "$CACHE"
fi

WORK=$(mktemp -d /tmp/irsa-systemd-check.XXXXXX)
ROOT=$WORK/root
NSPAWN=""
cleanup() {
  if [[ -n $NSPAWN ]] && kill -0 "$NSPAWN" 2>/dev/null; then
    kill -TERM "$NSPAWN" 2>/dev/null || true  # nspawn asks the container's systemd to power off
    for _ in $(seq 100); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NSPAWN" 2>/dev/null || true
    wait "$NSPAWN" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "copying the cached root"
cp -a "$CACHE" "$ROOT"
install -m 0755 "$BINARY" "$ROOT/usr/local/bin/irsa-webhook"
install -m 0644 "$REPO/deploy/systemd/irsa-webhook.service" "$REPO/deploy/systemd/irsa-webhook.socket" "$ROOT/etc/systemd/system/"
mkdir -p "$ROOT/etc/irsa-webhook" "$ROOT/etc/systemd/system/irsa-webhook.service.d" "$ROOT/root"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=systemd-check" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$ROOT/etc/irsa-webhook/tls.key" -out "$ROOT/etc/irsa-webhook/tls.crt" 2>/dev/null
chmod 0600 "$ROOT/etc/irsa-webhook/tls.key" "$ROOT/etc/irsa-webhook/tls.crt"
cp "$ROOT/etc/irsa-webhook/tls.crt" "$ROOT/root/ca.crt"
install -m 0644 "$REPO/deploy/dev/serviceaccounts.yaml" "$ROOT/etc/irsa-webhook/serviceaccounts.yaml"
cp "$REPO/deploy/dev/review.json" "$ROOT/root/review.json"
# The drop-in: the shipped ExecStart plus --service-accounts-file; no kubeconfig credential.
exec_start=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$REPO/deploy/systemd/irsa-webhook.service" | sed 's/^ExecStart=//')
cat >"$ROOT/etc/systemd/system/irsa-webhook.service.d/service-accounts-file.conf" <<CONF
[Service]
ExecStart=
ExecStart=$exec_start \\
    --service-accounts-file=/etc/irsa-webhook/serviceaccounts.yaml
UnsetEnvironment=KUBECONFIG
LoadCredential=
LoadCredential=tls.crt:/etc/irsa-webhook/tls.crt
LoadCredential=tls.key:/etc/irsa-webhook/tls.key
CONF
mkdir -p "$ROOT/etc/systemd/system/sockets.target.wants"
ln -sf /etc/systemd/system/irsa-webhook.socket "$ROOT/etc/systemd/system/sockets.target.wants/irsa-webhook.socket"

log "booting the container"
systemd-nspawn --register=no --keep-unit --console=pipe --private-network -D "$ROOT" -b >"$WORK/console.log" 2>&1 &
NSPAWN=$!

# The container's PID 1, seen from here: the descendant of nspawn whose innermost PID is 1.
descendants() {
  local child children
  read -r -a children <<<"$(cat /proc/"$1"/task/*/children 2>/dev/null)"
  for child in "${children[@]}"; do echo "$child"; descendants "$child"; done
}
LEADER=""
for _ in $(seq 300); do
  for pid in $(descendants "$NSPAWN"); do
    [[ $(awk '/^NSpid:/ { print (NF > 2 ? $NF : "") }' "/proc/$pid/status" 2>/dev/null) == 1 ]] && { LEADER=$pid; break; }
  done
  [[ -n $LEADER ]] && break
  kill -0 "$NSPAWN" 2>/dev/null || { cat "$WORK/console.log" >&2; die "systemd-nspawn exited"; }
  sleep 0.1
done
[[ -n $LEADER ]] || die "no container PID 1 after 30 s"
inside() { nsenter -t "$LEADER" -a "$@"; }
# Until the container's systemd answers on its bus and has finished starting up (120 s at most).
state=""
for _ in $(seq 240); do
  state=$(inside systemctl is-system-running 2>/dev/null || true)
  [[ $state == running || $state == degraded ]] && break
  sleep 0.5
done
[[ $state == running || $state == degraded ]] || { tail -n 30 "$WORK/console.log" >&2; die "the container did not boot: $state"; }
log "booted ($state), systemd $(inside systemctl --version | awk 'NR == 1 { print $2 }')"

show() { inside systemctl show -P "$2" "$1"; }
curl_in() { inside curl -sS --max-time 10 --cacert /root/ca.crt "$@"; }

[[ $(show irsa-webhook.socket SubState) == listening ]] || die "irsa-webhook.socket is not listening"
[[ $(show irsa-webhook.service ActiveState) == inactive ]] || die "irsa-webhook.service runs before any connection"
pass "socket listening, service not started"

health=$(curl_in https://127.0.0.1:8443/healthz) || die "/healthz through the socket failed"
[[ $(show irsa-webhook.service ActiveState) == active ]] || die "the first connection did not start the service"
status_text=$(show irsa-webhook.service StatusText)
[[ -n $status_text ]] || die "no StatusText"
pass "first connection started the service: active, StatusText=\"$status_text\", /healthz: $health"

review=$(curl_in -H 'Content-Type: application/json' --data-binary @/root/review.json https://127.0.0.1:8443/mutate) ||
  die "/mutate failed"
patch=$(python3 -c 'import base64, json, sys; r = json.loads(sys.argv[1])["response"]; print(len(json.loads(base64.b64decode(r["patch"]))) if r.get("allowed") and "patch" in r else 0)' "$review") ||
  die "/mutate answered $review"
(( patch > 0 )) || die "/mutate answered without a patch: $review"
pass "/mutate answered with a patch of $patch operations"

main_pid=$(show irsa-webhook.service MainPID)
threads() { inside ls "/proc/$main_pid/task" | sort; }
threads_before=$(threads)
watchdog_before=$(show irsa-webhook.service WatchdogTimestampMonotonic)
log "idle for $IDLE_SECONDS s (WatchdogSec=$(show irsa-webhook.service WatchdogUSec), $(wc -l <<<"$threads_before") threads)"
sleep "$IDLE_SECONDS"
watchdog_after=$(show irsa-webhook.service WatchdogTimestampMonotonic)
threads_after=$(threads)
(( watchdog_after > watchdog_before )) || die "no WATCHDOG=1 in $IDLE_SECONDS s (WatchdogTimestampMonotonic stayed $watchdog_before)"
pass "WATCHDOG=1 arrived (WatchdogTimestampMonotonic $watchdog_before -> $watchdog_after)"
# Dispatch may retire the pool threads that served startup; no thread may start.
started=$(comm -13 <(echo "$threads_before") <(echo "$threads_after"))
[[ -z $started ]] || die "threads started while idle: $(echo "$started" | tr '\n' ' ')"
pass "no thread started while idle ($(wc -l <<<"$threads_before") -> $(wc -l <<<"$threads_after") threads)"
# libdispatch logs "Failed to set thread priority for worker thread ... errno=1" for each pool
# thread it starts: the unit's SystemCallFilter refuses setpriority.
quiet_journal() {
  local journal refused
  journal=$(inside journalctl --no-pager -o cat -u irsa-webhook.service)
  refused=$(grep -ciE 'errno=1|operation not permitted|failed to set thread priority' <<<"$journal" || true)
  if (( refused > 0 )); then
    grep -iE 'errno=1|operation not permitted|failed to set thread priority' <<<"$journal" | head -n 5 >&2
    die "$refused refused-syscall lines in the journal $1"
  fi
  pass "no refused-syscall line in the journal $1 ($(wc -l <<<"$journal") lines)"
}
quiet_journal "after $IDLE_SECONDS s idle"

inside systemctl stop irsa-webhook.service || die "systemctl stop failed"
result=$(show irsa-webhook.service Result); exit_status=$(show irsa-webhook.service ExecMainStatus)
[[ $result == success ]] || die "Result=$result after stop (ExecMainStatus=$exit_status)"
pass "systemctl stop: exit 0, Result=$result, ExecMainStatus=$exit_status"
quiet_journal "after the stop"
[[ $(show irsa-webhook.socket SubState) == listening ]] || die "the socket stopped listening with the service"
curl_in -o /dev/null https://127.0.0.1:8443/healthz || die "the socket did not start the service again"
pass "socket still listening; the next connection started the service again"
log "passed"
