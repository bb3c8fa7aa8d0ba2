#!/usr/bin/env bash
# bench/exporter's cAdvisor anchor: cAdvisor's collection code (github.com/google/cadvisor/lib,
# pinned by bench/exporter/cadvisor/go.mod and go.sum) built with the machine's Go from the Go
# module proxy into ${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}/cadvisor-anchor. Building it here
# checks that the pins still resolve and compile, and saves the bench the first build (~1 min).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for attempt in 1 2 3; do
  if bash "$here/../../bench/exporter/cadvisor/build.sh" >/dev/null; then exit 0; fi
  echo "cadvisor anchor build failed (attempt $attempt); retrying" >&2
  sleep $((attempt * 5))
done
echo "cadvisor anchor build failed: npm run bench:exporter cannot run its cAdvisor anchor" >&2
exit 1
