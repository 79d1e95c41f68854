#!/usr/bin/env bash
# Makes the webhook's TLS material without cert-manager, offline, with only bash and openssl:
#   ca.crt, ca.key     a self-signed CA (ECDSA P-256, 10 years)
#   tls.crt, tls.key   the serving certificate it signs (ECDSA P-256, 1 year), for the Service's
#                      DNS names irsa-webhook.irsa-system.svc[.cluster.local] (+ --san extras)
#   secret.yaml        the kubernetes.io/tls Secret the Deployment mounts
#   webhook.yaml       deploy/webhook.yaml with caBundle set to the CA
#   deploy.yaml        deploy/deploy.yaml with caBundle set to the CA
#
# Usage:
#   deploy/generate-certs.sh --out DIR       write the files above into DIR (CA key kept there,
#                                            so DIR is the place to re-sign from; keep it private)
#   deploy/generate-certs.sh                 print secret.yaml and the patched webhook.yaml to
#                                            stdout (pipe to `kubectl apply -f -`); keys are
#                                            made in a temporary directory and deleted
#   deploy/generate-certs.sh --apply         kubectl apply the Secret and the patched webhook
# Options:
#   --namespace NS (irsa-system)  --service NAME (irsa-webhook)  --secret NAME (irsa-webhook-tls)
#                                 (name the certificate and Secret only: keep them equal to the
#                                 Service and Deployment you apply)
#   --san DNS:name|IP:addr        extra subjectAltName, repeatable (an off-cluster webhook's host)
#   --days N (365)                serving certificate lifetime
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
namespace=irsa-system
service=irsa-webhook
secret=irsa-webhook-tls
days=365
out=""
apply=false
extra_sans=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "$1"; }
need_value() {
    if [ "$#" -lt 2 ] || [ -z "$2" ]; then
        echo "generate-certs.sh: $1 needs a value" >&2
        exit 2
    fi
}

while [ "$#" -gt 0 ]; do
    case "$1" in
        --out) need_value "$@"; out="$2"; shift 2 ;;
        --apply) apply=true; shift ;;
        --namespace) need_value "$@"; namespace="$2"; shift 2 ;;
        --service) need_value "$@"; service="$2"; shift 2 ;;
        --secret) need_value "$@"; secret="$2"; shift 2 ;;
        --san) need_value "$@"; extra_sans+=("$2"); shift 2 ;;
        --days) need_value "$@"; days="$2"; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "generate-certs.sh: unknown option $1" >&2; usage 2 ;;
    esac
done
case "$days" in ''|*[!0-9]*) echo "generate-certs.sh: --days must be a number of days" >&2; exit 2 ;; esac
for san in "${extra_sans[@]}"; do
    case "$san" in DNS:?*|IP:?*) ;; *) echo "generate-certs.sh: --san must be DNS:name or IP:address, got '$san'" >&2; exit 2 ;; esac
done
command -v openssl >/dev/null || { echo "generate-certs.sh: openssl not found" >&2; exit 1; }
if $apply; then command -v kubectl >/dev/null || { echo "generate-certs.sh: --apply needs kubectl" >&2; exit 1; }; fi

umask 077
if [ -n "$out" ]; then
    mkdir -p "$out"
    dir="$(cd "$out" && pwd)"
else
    dir="$(mktemp -d)"
    trap 'rm -rf "$dir"' EXIT
fi

dns_names=("$service.$namespace.svc" "$service.$namespace.svc.cluster.local")
sans="DNS:${dns_names[0]},DNS:${dns_names[1]}"
for san in "${extra_sans[@]}"; do sans="$sans,$san"; done

# The CA: may sign certificates, nothing else.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" 2>/dev/null
openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 \
    -subj "/CN=$service.$namespace CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$dir/ca.crt"

# The serving certificate: TLS server only, for the Service's names.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/tls.key" 2>/dev/null
cat > "$dir/tls.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $sans
EXT
openssl req -new -key "$dir/tls.key" -subj "/CN=${dns_names[0]}" -out "$dir/tls.csr"
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16 | sed 's/^./7/')" -days "$days" -sha256 \
    -extfile "$dir/tls.ext" -out "$dir/tls.crt" 2>/dev/null
rm -f "$dir/tls.csr" "$dir/tls.ext"
openssl verify -CAfile "$dir/ca.crt" -purpose sslserver -verify_hostname "${dns_names[0]}" "$dir/tls.crt" >/dev/null

b64() { base64 < "$1" | tr -d '\n'; }
ca_bundle="$(b64 "$dir/ca.crt")"

cat > "$dir/secret.yaml" <<YAML
# The webhook's serving certificate, made by deploy/generate-certs.sh.
apiVersion: v1
kind: Secret
metadata:
  name: $secret
  namespace: $namespace
  labels:
    app.kubernetes.io/name: irsa-webhook
    app.kubernetes.io/part-of: irsa-webhook
type: kubernetes.io/tls
data:
  tls.crt: $(b64 "$dir/tls.crt")
  tls.key: $(b64 "$dir/tls.key")
  ca.crt: $ca_bundle
YAML

# Fill the caBundle placeholder (the only `caBundle:` line in each file).
with_ca_bundle() {
    echo "# caBundle filled in by deploy/generate-certs.sh."
    sed "s|^\( *caBundle:\).*\$|\1 $ca_bundle|" "$1"
}
with_ca_bundle "$here/webhook.yaml" > "$dir/webhook.yaml"
with_ca_bundle "$here/deploy.yaml" > "$dir/deploy.yaml"

if $apply; then
    kubectl apply -f "$dir/secret.yaml"
    kubectl apply -f "$dir/webhook.yaml"
elif [ -z "$out" ]; then
    cat "$dir/secret.yaml"
    echo "---"
    cat "$dir/webhook.yaml"
else
    echo "generate-certs.sh: wrote ca.crt ca.key tls.crt tls.key secret.yaml webhook.yaml deploy.yaml to $dir" >&2
fi
