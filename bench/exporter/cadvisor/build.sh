#!/usr/bin/env bash
# Builds bench/exporter's cAdvisor anchor (main.go beside this script: cAdvisor's collection code,
# github.com/google/cadvisor/lib pinned by go.mod/go.sum, fetched from the Go module proxy) with
# the machine's Go into a cache directory outside the repository, and prints the binary's path.
# Rebuilds only when main.go, go.mod, go.sum or the Go version changed.
#   BOXSCOPE_CACHE (default ~/.cache/boxscope): cache root; the binary goes to $BOXSCOPE_CACHE/cadvisor-anchor/.
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
out="${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}/cadvisor-anchor"
export GOTOOLCHAIN=local # the machine's Go, never a downloaded toolchain
command -v go >/dev/null || { echo "cadvisor-anchor: no go on PATH (Go >= $(sed -n 's/^go //p' "$src/go.mod") is needed)" >&2; exit 1; }
stamp="$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-16)-$(go env GOVERSION)"
bin="$out/cadvisor-anchor"
if [ -x "$bin" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$out"
# -mod=readonly: the pins in go.mod/go.sum are used as they are, never rewritten by the build.
(cd "$src" && GOFLAGS=-mod=readonly go build -trimpath -o "$bin.new" .) >&2
mv "$bin.new" "$bin"
echo "$stamp" >"$out/stamp"
echo "$bin"
