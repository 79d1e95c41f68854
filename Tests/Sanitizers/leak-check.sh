#!/usr/bin/env bash
# LeakSanitizer check of the server: runs the AddressSanitizer build of irsa-webhook, sends it
# admission reviews over new and keep-alive TLS connections, probe and metrics requests, a bad
# review, plain HTTP on the TLS port and an abandoned handshake, then SIGTERM. LeakSanitizer
# reports at exit; the check fails on any report, a failed request or a non-zero exit.
# Usage: Tests/Sanitizers/leak-check.sh [BINARY] (default .build-asan/debug/irsa-webhook).
set -euo pipefail

binary=${1:-.build-asan/debug/irsa-webhook}
reviews=${LEAK_CHECK_REVIEWS:-200}
work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -KILL "$server"; fi
    rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=leak-check" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null

ASAN_OPTIONS=detect_leaks=1:exitcode=23 "$binary" --host 127.0.0.1 --port 0 --metrics-port 0 --threads 2 \
    --tls-cert-file "$work/tls.crt" --tls-key-file "$work/tls.key" \
    --service-accounts-file deploy/dev/serviceaccounts.yaml 2>"$work/server.log" &
server=$!

port=""
for _ in $(seq 300); do
    port=$(grep -m1 listening "$work/server.log" | grep -o '127\.0\.0\.1:[0-9]*' | cut -d: -f2 || true)
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "leak-check: the server did not report a port" >&2
    cat "$work/server.log" >&2
    exit 1
fi
url=https://127.0.0.1:$port
tls=(--cacert "$work/tls.crt" --max-time 10 -sS)

failures=0
expect() { # expect STATUS CURL-ARGS...: one request, counted as a failure unless it answers STATUS
    local want=$1 got
    shift
    got=$(curl "${tls[@]}" -o /dev/null -w '%{http_code}' "$@" || true)
    if [ "$got" != "$want" ]; then failures=$((failures + 1)); echo "leak-check: $* answered $got, not $want" >&2; fi
}

for _ in $(seq "$reviews"); do
    expect 200 -H 'Content-Type: application/json' --data-binary @deploy/dev/review.json "$url/mutate"
done
# One keep-alive connection for 20 reviews.
keepalive=()
for index in $(seq 20); do
    [ "$index" = 1 ] || keepalive+=(--next)
    keepalive+=("${tls[@]}" -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json'
        --data-binary @deploy/dev/review.json "$url/mutate")
done
statuses=$(curl "${keepalive[@]}" || true)
[ "$(grep -c '^200$' <<<"$statuses")" = 20 ] || { failures=$((failures + 1)); echo "leak-check: keep-alive reviews: $statuses" >&2; }
expect 200 "$url/healthz"
expect 200 "$url/metrics"
expect 400 -H 'Content-Type: application/json' --data-binary '{"kind":' "$url/mutate"
expect 404 "$url/nothing-here"
# A request from openssl s_client (TLS 1.3), plain HTTP on the TLS port, and a TLS handshake
# abandoned after part of a record.
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$port" \
    -tls1_3 -ign_eof >/dev/null 2>&1 || true
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET / HTTP/1.1\r\n\r\n' >&3
timeout 5 cat <&3 >/dev/null || true
exec 3>&-
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '\x16\x03\x01\x00\x10' >&3
exec 3>&-

kill -TERM "$server"
status=0
wait "$server" || status=$?
server=""
if grep -q "LeakSanitizer" "$work/server.log"; then
    sed -n '/LeakSanitizer/,$p' "$work/server.log" >&2
    echo "leak-check: LeakSanitizer reported leaks" >&2
    exit 1
fi
if [ "$status" != 0 ] || [ "$failures" != 0 ]; then
    tail -20 "$work/server.log" >&2
    echo "leak-check: exit status $status, $failures failed requests" >&2
    exit 1
fi
echo "leak-check: $((reviews + 20)) reviews and 7 other connections served, exit 0, no leak reported"
