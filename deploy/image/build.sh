#!/usr/bin/env bash
# `npm run image`: builds localhost/boxscope:<package.json version> from this checkout with podman.
# Nothing is pulled from an image registry: both base images are root filesystems that mmdebstrap
# makes from Debian packages through this machine's own apt sources, and the build stage installs
# npm packages from the npm registry (from npm's local cache when it has them). Run as root.
#   deploy/image/build.sh [--tag NAME]
set -euo pipefail
cd "$(dirname "$0")/../.."

version="$(node -p 'require("./package.json").version')"
tag="localhost/boxscope:$version"
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    *) echo "image: unknown argument $1 (expected --tag NAME)" >&2; exit 2 ;;
  esac
done

fail() { echo "image: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (mmdebstrap and rootful podman)"
for tool in podman mmdebstrap; do
  command -v "$tool" >/dev/null || fail "$tool is missing (Debian: apt-get install podman mmdebstrap)"
done
want_major="$(sed -n 's/^ *"node": ">=\([0-9]*\)".*/\1/p' package.json)"
node_prefix="$(node -p 'require("node:path").resolve(process.execPath, "../..")')"
[ "$(node -p 'process.versions.node.split(".")[0]')" = "$want_major" ] ||
  fail "node on PATH is $(node --version); the image carries the Node that builds it, and package.json wants Node $want_major"
[ -f "$node_prefix/include/node/node_api.h" ] ||
  fail "$node_prefix is not a Node install with headers (Node's official build: .ci/setup.d/05-node.sh)"

# podman's default rlimits for root can exceed what a sandboxed build host lets runc set ("error
# setting rlimit type 7/6: operation not permitted"); these fit such hosts and bind no build step.
ulimits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=32768:32768")

suite=bookworm
# merged-usr hook: /usr merged without the usrmerge package (and the Perl it pulls in); no docs.
mmdebstrap_options=(
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/gconv/*'
)
# A base image per package list, named by its hash: rebuilt only when the list changes.
base_image() {
  local name="$1" variant="$2" packages="$3"
  local hash
  hash="$(printf '%s ' "$suite" "$variant" "$packages" "${mmdebstrap_options[@]}" | sha256sum | cut -c1-12)"
  local ref="localhost/boxscope-base-$name:$hash"
  if ! podman image exists "$ref"; then
    echo "image: mmdebstrap $name base ($variant + $packages)" >&2
    mmdebstrap --quiet --variant="$variant" --include="$packages" "${mmdebstrap_options[@]}" \
      "$suite" - | podman import --quiet - "$ref" >/dev/null
  fi
  echo "$ref"
}
# The runtime: Node's and the addons' shared libraries, tini as PID 1, nothing to compile with.
runtime="$(base_image runtime essential libstdc++6,libssl3,zlib1g,libfuse3-3,tini)"
build="$(base_image build essential build-essential,python3,pkg-config,libfuse3-dev,libssl-dev,zlib1g-dev,ca-certificates)"

volumes=(-v "$(npm config get cache):/root/.npm")
# A build host behind a TLS-intercepting proxy trusts its CA through npm's `cafile` or
# NODE_EXTRA_CA_CERTS; the build stage needs the same to reach the npm registry (mounted for the
# build only, never in a layer).
ca="$(npm config get cafile 2>/dev/null || true)"
case "$ca" in "" | null | undefined) ca="${NODE_EXTRA_CA_CERTS:-}" ;; esac
if [ -n "$ca" ] && [ -s "$ca" ]; then
  volumes+=(-v "$ca:/run/build-ca.crt:ro")
fi

revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
podman build --network host "${ulimits[@]}" "${volumes[@]}" \
  --file deploy/image/Containerfile --ignorefile deploy/image/Containerfile.dockerignore \
  --build-context "node=$node_prefix" \
  --build-arg "BUILD_BASE=$build" --build-arg "RUNTIME_BASE=$runtime" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --tag "$tag" .
size="$(podman image inspect --format '{{.Size}}' "$tag")"
echo "image: built $tag ($((size / 1000000)) MB)"
