#!/usr/bin/env bash
# Makes the webhook's TLS material without cert-manager, offline, with only bash and openssl:
#   ca.crt, ca.key     a self-signed CA (ECDSA P-256, 10 years), made once and then reused
#   tls.crt, tls.key   the serving certificate it signs (ECDSA P-256, 1 year), for the Service's
#                      DNS names irsa-webhook.NAMESPACE.svc[.cluster.local] (+ --san extras)
#   secret.yaml        the kubernetes.io/tls Secret the Deployment mounts
#   webhook.yaml       deploy/webhook.yaml with caBundle set to the CA
#   deploy.yaml        deploy/deploy.yaml with caBundle set to the CA
#   webhook-url.yaml   deploy/systemd/webhook-url.yaml (off-cluster, by URL) with caBundle set
#
# Usage:
#   deploy/generate-certs.sh --out DIR       write the files above into DIR. A CA already in DIR
#                                            is reused: only the serving certificate is renewed,
#                                            caBundle stays the same, and applying secret.yaml is
#                                            enough (the webhook reloads it). Keep DIR private.
#   deploy/generate-certs.sh --out DIR --new-ca
#                                            replace the CA too. caBundle then holds the new and
#                                            the previous CA (ca.previous.crt), and the steps to
#                                            apply are printed: webhook.yaml first, then
#                                            secret.yaml. The next run drops the previous CA.
#   deploy/generate-certs.sh                 print secret.yaml and the patched webhook.yaml to
#                                            stdout (pipe to `kubectl apply -f -`); keys are
#                                            made in a temporary directory and deleted
#   deploy/generate-certs.sh --apply         kubectl apply the patched webhook, then the Secret.
#                                            Both of these make a new CA every run, so --apply
#                                            alone is for a first install: it refuses when the
#                                            webhook is registered already. To renew, use
#                                            --out DIR (with --apply if you like).
# Options:
#   --namespace NS (irsa-system)  the namespace of the certificate's names, the Secret, and every
#                                 object in the webhook.yaml and deploy.yaml it writes
#   --service NAME (irsa-webhook) --secret NAME (irsa-webhook-tls)
#                                 name the certificate and Secret only: keep them equal to the
#                                 Service and Deployment you apply
#   --san DNS:name|IP:addr        extra subjectAltName, repeatable (an off-cluster webhook's host)
#   --days N (365)                serving certificate lifetime
#   -h, --help                    this text
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
namespace=irsa-system
service=irsa-webhook
secret=irsa-webhook-tls
days=365
out=""
apply=false
new_ca=false
extra_sans=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
fail() { echo "generate-certs.sh: $1" >&2; exit "${2:-2}"; }
need_value() {
    if [ "$#" -lt 2 ] || [ -z "$2" ]; then fail "$1 needs a value"; fi
}

while [ "$#" -gt 0 ]; do
    case "$1" in
        --out) need_value "$@"; out="$2"; shift 2 ;;
        --apply) apply=true; shift ;;
        --new-ca) new_ca=true; shift ;;
        --namespace) need_value "$@"; namespace="$2"; shift 2 ;;
        --service) need_value "$@"; service="$2"; shift 2 ;;
        --secret) need_value "$@"; secret="$2"; shift 2 ;;
        --san) need_value "$@"; extra_sans+=("$2"); shift 2 ;;
        --days) need_value "$@"; days="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; fail "unknown option $1" ;;
    esac
done
case "$days" in ''|*[!0-9]*) fail "--days must be a number of days" ;; esac
# A namespace is a DNS label (RFC 1123): it is written into names and manifests as it is.
if ! [[ "$namespace" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]]; then
    fail "--namespace must be a DNS label (lower-case letters, digits, '-'; at most 63), got '$namespace'"
fi
for san in "${extra_sans[@]}"; do
    case "$san" in DNS:?*|IP:?*) ;; *) fail "--san must be DNS:name or IP:address, got '$san'" ;; esac
done
if $new_ca && [ -z "$out" ]; then fail "--new-ca needs --out (without it every run makes a new CA)"; fi
command -v openssl >/dev/null || fail "openssl not found" 1
if $apply; then command -v kubectl >/dev/null || fail "--apply needs kubectl" 1; fi
# Without --out every run makes a new CA. Over a registered webhook that would replace its
# caBundle while the Pods still serve the previous certificate: new pods would lose their role.
if $apply && [ -z "$out" ]; then
    registered="$(kubectl get mutatingwebhookconfiguration irsa-webhook --ignore-not-found \
        -o 'jsonpath={.webhooks[0].clientConfig.caBundle}')" || fail "--apply: kubectl get mutatingwebhookconfiguration irsa-webhook failed" 1
    if [ -n "$registered" ]; then
        fail "irsa-webhook is registered already, and --apply without --out would make a new CA its caBundle does not trust: keep a CA with --out DIR (later runs reuse it and renew only the serving certificate)" 1
    fi
fi

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

# The CA: may sign certificates, nothing else. One in DIR is reused unless --new-ca.
make_ca() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 \
        -subj "/CN=$service.$namespace CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" \
        -out "$dir/ca.crt"
}

ca_state=new            # new: first CA; reused; replaced (--new-ca over an existing one)
dropped_previous=false  # a previous CA (from the last --new-ca) left caBundle this run
if [ -f "$dir/ca.crt" ] || [ -f "$dir/ca.key" ]; then
    if ! [ -f "$dir/ca.crt" ] || ! [ -f "$dir/ca.key" ]; then
        fail "$dir has only one of ca.crt and ca.key: restore the other, or use --new-ca" 1
    fi
    if $new_ca; then
        mv "$dir/ca.crt" "$dir/ca.previous.crt"
        rm -f "$dir/ca.key"
        make_ca
        ca_state=replaced
    else
        [ "$(openssl pkey -in "$dir/ca.key" -pubout 2>/dev/null)" = "$(openssl x509 -in "$dir/ca.crt" -noout -pubkey 2>/dev/null)" ] \
            || fail "$dir/ca.key is not the key of $dir/ca.crt: restore the pair, or use --new-ca" 1
        openssl x509 -in "$dir/ca.crt" -noout -checkend $((days * 86400)) >/dev/null \
            || fail "the CA in $dir expires within --days $days: use --new-ca" 1
        ca_state=reused
        if [ -f "$dir/ca.previous.crt" ]; then
            rm -f "$dir/ca.previous.crt"
            dropped_previous=true
        fi
    fi
else
    make_ca
fi

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
# caBundle trusts the CA, and right after --new-ca the previous one too, so the webhook
# configuration can be applied before the Secret without a moment of distrust.
if [ -f "$dir/ca.previous.crt" ]; then
    ca_bundle="$(cat "$dir/ca.crt" "$dir/ca.previous.crt" | base64 | tr -d '\n')"
else
    ca_bundle="$(b64 "$dir/ca.crt")"
fi

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

# Fill the caBundle placeholder (the only `caBundle:` line in each file), and put every object
# in the namespace (irsa-system appears in these files only as the namespace's name).
with_ca_bundle() {
    echo "# caBundle filled in by deploy/generate-certs.sh (namespace $namespace)."
    sed -e "s|^\( *caBundle:\).*\$|\1 $ca_bundle|" -e "s/\birsa-system\b/$namespace/g" "$1"
}
with_ca_bundle "$here/webhook.yaml" > "$dir/webhook.yaml"
with_ca_bundle "$here/deploy.yaml" > "$dir/deploy.yaml"
with_ca_bundle "$here/systemd/webhook-url.yaml" > "$dir/webhook-url.yaml"

if $apply; then
    # caBundle first: it trusts the CA of the certificate the Secret brings (after --new-ca, the
    # previous CA too), so no pod is admitted unmutated while the Secret reaches the Pods.
    kubectl apply -f "$dir/webhook.yaml"
    kubectl apply -f "$dir/secret.yaml"
elif [ -z "$out" ]; then
    cat "$dir/secret.yaml"
    echo "---"
    cat "$dir/webhook.yaml"
else
    echo "generate-certs.sh: wrote ca.crt ca.key tls.crt tls.key secret.yaml webhook.yaml deploy.yaml webhook-url.yaml to $dir" >&2
    case "$ca_state" in
        new) echo "generate-certs.sh: new CA; first install: kubectl apply -f $dir/deploy.yaml -f $dir/secret.yaml" >&2 ;;
        reused)
            if $dropped_previous; then
                echo "generate-certs.sh: reused the CA; caBundle no longer trusts the previous CA: kubectl apply -f $dir/secret.yaml -f $dir/webhook.yaml" >&2
            else
                echo "generate-certs.sh: reused the CA (caBundle unchanged); renewed the serving certificate: kubectl apply -f $dir/secret.yaml" >&2
            fi ;;
        replaced)
            cat >&2 <<STEPS
generate-certs.sh: NEW CA. The webhook configuration's caBundle must change, or new pods lose their role.
  caBundle now trusts the new and the previous CA (ca.previous.crt). Apply in this order:
    1. kubectl apply -f $dir/webhook.yaml     # caBundle: new + previous CA
    2. kubectl apply -f $dir/secret.yaml      # the webhook reloads the new certificate
  Then run deploy/generate-certs.sh --out $dir again and apply both to drop the previous CA.
STEPS
            ;;
    esac
fi
