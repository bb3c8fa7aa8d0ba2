#!/usr/bin/env bash
# bench/exporter's cAdvisor anchor: cAdvisor's collection code (github.com/google/cadvisor/lib,
# pinned by bench/exporter/cadvisor/go.mod and go.sum) built with the machine's Go from the Go
# module proxy into ${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}/cadvisor-anchor. Building it here
# checks that the pins still resolve and compile, and saves the bench the first (slow) build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
retry3 "cadvisor anchor build (npm run bench:exporter needs it)" bash "$here/../../bench/exporter/cadvisor/build.sh"
