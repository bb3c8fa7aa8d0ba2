#!/usr/bin/env bash
# Builds bench/exporter's cAdvisor anchor (main.go beside this script: cAdvisor's collection code,
# github.com/google/cadvisor/lib pinned by go.mod/go.sum, fetched from the Go module proxy) with
# the machine's Go into a cache directory outside the repository, and prints the binary's path.
# Rebuilds only when main.go, go.mod, go.sum or the Go version changed.
#   BOXSCOPE_CACHE (default ~/.cache/boxscope): cache root; the binary goes to $BOXSCOPE_CACHE/cadvisor-anchor/.
#   BOXSCOPE_GO: the go binary (default: go on PATH, else /usr/local/go/bin/go, where this machine has it).
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
out="${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}/cadvisor-anchor"
GO="${BOXSCOPE_GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[ -x "$GO" ] || { echo "cadvisor-anchor: no Go at $GO (set BOXSCOPE_GO); Go >= $(sed -n 's/^go //p' "$src/go.mod") is needed" >&2; exit 1; }
# The machine's Go, never a downloaded toolchain; the pins in go.mod/go.sum used as they are, never
# rewritten by the build; no cgo, so no C toolchain is needed.
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
stamp="$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-16)-$("$GO" env GOVERSION)-nocgo"
bin="$out/cadvisor-anchor"
if [ -x "$bin" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$out"
(cd "$src" && "$GO" build -trimpath -o "$bin.new" .) >&2
mv "$bin.new" "$bin"
echo "$stamp" >"$out/stamp"
echo "$bin"
