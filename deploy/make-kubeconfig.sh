#!/usr/bin/env bash
# Makes the kubeconfig an off-cluster irsa-webhook (deploy/systemd) reads ServiceAccounts with:
# a token of the webhook's own ServiceAccount from deploy/rbac.yaml (get, list and watch
# serviceaccounts, nothing else), made by `kubectl create token` with a lifetime, and the
# server URL and CA of the current kubectl context (or --context). Needs kubectl and a cluster
# where deploy/rbac.yaml is applied; the token is written only to the output file (mode 0600).
#
# Usage:
#   deploy/make-kubeconfig.sh --out webhook.kubeconfig
#   install -D -m 0600 webhook.kubeconfig /etc/irsa-webhook/kubeconfig
# The token expires after --duration (the API server may cap it: its
# --service-account-max-token-expiration). Before then, run this again, install the new file and
# `systemctl restart irsa-webhook.service` (the socket unit keeps the port open meanwhile).
# Options:
#   --out FILE                 where to write the kubeconfig (required; `-` for stdout)
#   --namespace NS             the ServiceAccount's namespace (irsa-system)
#   --service-account NAME     the ServiceAccount (irsa-webhook)
#   --duration D               token lifetime, as kubectl takes it: 720h, 8760h (8760h)
#   --context NAME             kubectl context to read the server and CA from (the current one)
#   -h, --help                 this text
set -euo pipefail

namespace=irsa-system
account=irsa-webhook
duration=8760h
context=""
out=""

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
fail() { echo "make-kubeconfig.sh: $1" >&2; exit "${2:-2}"; }
need_value() {
    if [ "$#" -lt 2 ] || [ -z "$2" ]; then fail "$1 needs a value"; fi
}

while [ "$#" -gt 0 ]; do
    case "$1" in
        --out) need_value "$@"; out="$2"; shift 2 ;;
        --namespace) need_value "$@"; namespace="$2"; shift 2 ;;
        --service-account) need_value "$@"; account="$2"; shift 2 ;;
        --duration) need_value "$@"; duration="$2"; shift 2 ;;
        --context) need_value "$@"; context="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; fail "unknown option $1" ;;
    esac
done
[ -n "$out" ] || fail "--out FILE is required (- for stdout)"
[[ "$duration" =~ ^([0-9]+(h|m|s))+$ ]] || fail "--duration must be like 720h or 90m, got '$duration'"
for name in "$namespace" "$account"; do
    [[ "$name" =~ ^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$ ]] || fail "'$name' is not a Kubernetes name"
done
command -v kubectl >/dev/null || fail "kubectl not found" 1

kubectl_in_context() {
    if [ -n "$context" ]; then kubectl --context "$context" "$@"; else kubectl "$@"; fi
}
cluster_field() {
    kubectl_in_context config view --minify --raw -o "jsonpath={.clusters[0].cluster.$1}"
}

server="$(cluster_field server)" || fail "no kubectl context to read the cluster from" 1
[ -n "$server" ] || fail "the kubectl context has no cluster server" 1
ca_data="$(cluster_field certificate-authority-data)"
if [ -z "$ca_data" ]; then
    ca_file="$(cluster_field certificate-authority)"
    [ -n "$ca_file" ] || fail "the kubectl context has no cluster CA (certificate-authority[-data])" 1
    ca_data="$(base64 < "$ca_file" | tr -d '\n')" || fail "cannot read the cluster CA $ca_file" 1
fi

token="$(kubectl_in_context -n "$namespace" create token "$account" --duration "$duration")" \
    || fail "kubectl create token failed: is deploy/rbac.yaml applied (ServiceAccount $namespace/$account)?" 1

write_kubeconfig() {
    cat <<YAML
# irsa-webhook's kubeconfig, made by deploy/make-kubeconfig.sh: ServiceAccount $namespace/$account,
# token valid for $duration from $(date -u +%Y-%m-%dT%H:%M:%SZ).
apiVersion: v1
kind: Config
clusters:
  - name: cluster
    cluster:
      server: $server
      certificate-authority-data: $ca_data
users:
  - name: $account
    user:
      token: $token
contexts:
  - name: irsa-webhook
    context:
      cluster: cluster
      user: $account
      namespace: $namespace
current-context: irsa-webhook
YAML
}

if [ "$out" = - ]; then
    write_kubeconfig
else
    (umask 077 && write_kubeconfig > "$out")
    echo "make-kubeconfig.sh: wrote $out (server $server, ServiceAccount $namespace/$account, token for $duration)" >&2
fi
