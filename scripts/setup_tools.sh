#!/usr/bin/env bash
# Installs the deployment tools the tests of deploy/k8s need: kustomize (built from the Go module
# proxy, pinned) and checks that promtool/prometheus (Debian's `prometheus` package) are present.
# Idempotent: a second run finds the pinned binary in the cache and returns at once.
set -euo pipefail

KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.8.1}"
cache_dir="${PORTAL_CACHE_DIR:-$HOME/.cache/portail-parents}"
bin_dir="$cache_dir/bin"
kustomize_bin="$bin_dir/kustomize-$KUSTOMIZE_VERSION"

if [[ ! -x "$kustomize_bin" ]]; then
  command -v go >/dev/null || { echo "setup_tools: go is required to build kustomize (apt-get install golang-go)" >&2; exit 1; }
  mkdir -p "$bin_dir"
  # A private GOPATH keeps the build cache with the project's other downloads, not in $HOME/go.
  GOPATH="$cache_dir/go" GOMODCACHE="$cache_dir/go/pkg/mod" GOBIN="$cache_dir/go/bin" GOFLAGS=-modcacherw \
    go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  mv "$cache_dir/go/bin/kustomize" "$kustomize_bin"
fi
# The stable name the tests and docs use points at the pinned version.
ln -sfn "$(basename "$kustomize_bin")" "$bin_dir/kustomize"

for tool in promtool prometheus; do
  command -v "$tool" >/dev/null || { echo "setup_tools: $tool missing (apt-get install prometheus)" >&2; exit 1; }
done
echo "setup_tools: kustomize $KUSTOMIZE_VERSION at $bin_dir/kustomize"
