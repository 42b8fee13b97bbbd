#!/usr/bin/env bash
# The tools crates/slipway/tests/k8s.rs needs: kubectl (kustomize) and kubernetes-validate.
# Usage: source tests/k8s/setup.sh   → exports SLIPWAY_KUBECTL and SLIPWAY_KUBERNETES_VALIDATE.
# kubernetes-validate goes in a venv under target/ (pinned in tests/k8s/requirements.txt);
# kubectl, when missing, from apt (the Google Cloud SDK repository's `kubectl` package) or
# else the official release, checked against its published SHA-256.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$repo/target"
k8s_venv="${K8S_VENV:-$repo/target/k8s-venv}"
if ! "$k8s_venv/bin/kubernetes-validate" --version >/dev/null 2>&1; then
    python3 -m venv "$k8s_venv"
    "$k8s_venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/tests/k8s/requirements.txt"
fi
export SLIPWAY_KUBERNETES_VALIDATE="$k8s_venv/bin/kubernetes-validate"
if ! command -v kubectl >/dev/null 2>&1; then
    as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
    { as_root apt-get update && as_root apt-get install -y --no-install-recommends kubectl; } >/dev/null 2>&1 || true
fi
if command -v kubectl >/dev/null 2>&1; then
    export SLIPWAY_KUBECTL="$(command -v kubectl)"
else
    kubectl_version="v1.32.4"
    kubectl_dir="$repo/target/k8s-tools"
    mkdir -p "$kubectl_dir"
    if [ ! -x "$kubectl_dir/kubectl" ]; then
        base="https://dl.k8s.io/release/$kubectl_version/bin/linux/amd64"
        curl -fsSL -o "$kubectl_dir/kubectl" "$base/kubectl"
        echo "$(curl -fsSL "$base/kubectl.sha256")  $kubectl_dir/kubectl" | sha256sum --check --quiet
        chmod +x "$kubectl_dir/kubectl"
    fi
    export SLIPWAY_KUBECTL="$kubectl_dir/kubectl"
fi
echo "kubectl: $SLIPWAY_KUBECTL; kubernetes-validate: $SLIPWAY_KUBERNETES_VALIDATE"
