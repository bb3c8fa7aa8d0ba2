#!/usr/bin/env bash
# Installs boxscope's systemd units from this checkout (see deploy/systemd/README.md).
# Run as root from a built checkout (`npm ci && npm run build` done, with Node 24):
#
#   deploy/systemd/install.sh [--with-index] [--no-start] [--root DIR] [--node PATH]
#
# Renders boxscope.service (and boxscope-index.service with --with-index) with this checkout's
# path and Node's path in place of the defaults /opt/boxscope and /opt/node-v24/bin/node, checks
# them with systemd-analyze verify when it is installed, writes them into /etc/systemd/system,
# writes a commented starter /etc/boxscope/config.yaml unless one exists (boxscope refuses to
# start on a --config file that is missing), then `systemctl daemon-reload` and
# `systemctl enable --now` each unit.
#
#   --with-index  also install and start boxscope-index.service (Kafka -> Elasticsearch)
#   --no-start    no systemctl calls at all: only write the files
#   --root DIR    write under DIR instead of / (image builders, tests) and only enable the units
#                 there (`systemctl --root`); the units still name the checkout and Node by their
#                 paths on this machine
#   --node PATH   the Node that ran `npm ci` (default: `node` on PATH); must be Node 24
set -euo pipefail

REQUIRED_NODE_MAJOR=24
# The paths the unit files in the repository name: valid as they are for the default layout.
DEFAULT_CHECKOUT=/opt/boxscope
DEFAULT_NODE=/opt/node-v24/bin/node

fail() {
  echo "install.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,19s/^# \{0,1\}//p' "$0"
  exit "$1"
}

# True when other users have permission BIT (4 read, 1 search) on PATH.
others_may() {
  local mode
  mode="$(stat -c %a "$2")"
  [ $((8#$mode & $1)) != 0 ]
}

with_index=no
start=yes
root=/
node=""
while [ $# -gt 0 ]; do
  case "$1" in
    --with-index) with_index=yes ;;
    --no-start) start=no ;;
    --root)
      [ $# -ge 2 ] || fail "--root needs a directory"
      root="$2"
      shift
      ;;
    --node)
      [ $# -ge 2 ] || fail "--node needs the path of a node binary"
      node="$2"
      shift
      ;;
    -h | --help) usage 0 ;;
    *) fail "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
checkout="$(cd "$here/../.." && pwd -P)"
[ "$root" = / ] || root="$(mkdir -p "$root" && cd "$root" && pwd -P)"

[ "$(id -u)" = 0 ] || fail "run as root (it writes /etc/systemd/system and /etc/boxscope)"

# Node: the one the native addons were built with, by its real path (not a PATH link that may
# later point at another version).
if [ -z "$node" ]; then
  node="$(command -v node)" || fail "no node on PATH: install Node $REQUIRED_NODE_MAJOR or pass --node PATH"
fi
[ -x "$node" ] || fail "--node $node is not an executable file"
node="$(readlink -f "$node")"
node_version="$("$node" --version 2>/dev/null)" || fail "$node --version failed: is it a Node binary?"
node_major="${node_version#v}"
node_major="${node_major%%.*}"
[ "$node_major" = "$REQUIRED_NODE_MAJOR" ] ||
  fail "$node is Node $node_version, boxscope needs Node $REQUIRED_NODE_MAJOR (its native addons are built for that major): pass --node PATH"

# systemd reads ExecStart= words split at whitespace and expands % and $: keep paths plain.
for p in "$checkout" "$node"; do
  [[ "$p" =~ ^/[A-Za-z0-9/._+-]+$ ]] ||
    fail "path $p has characters a unit's ExecStart= would need escaped (allowed: letters, digits, / . _ + -)"
done
[ -f "$checkout/dist/bundle/main.js" ] && [ -d "$checkout/node_modules" ] ||
  fail "$checkout is not built: run \`npm ci && npm run build\` there with $node first"

units=(boxscope.service)
if [ "$with_index" = yes ]; then
  units+=(boxscope-index.service)
  # boxscope-index runs as a user made up at start: it must be able to read the checkout and Node.
  for p in "$checkout/bin/boxscope.js" "$checkout/dist/bundle/main.js" "$node"; do
    others_may 4 "$p" || fail "$p is not readable by other users, which boxscope-index.service (DynamicUser) needs"
    d="$p"
    while [ "$d" != / ]; do
      d="$(dirname "$d")"
      others_may 1 "$d" ||
        fail "$d is not searchable by other users, which boxscope-index.service (DynamicUser) needs (a checkout under /opt is)"
    done
  done
fi

unit_dir="${root%/}/etc/systemd/system"
config_dir="${root%/}/etc/boxscope"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

for unit in "${units[@]}"; do
  text="$(cat "$here/$unit")"
  # Node's path first: the checkout's default is no part of it. Quoted replacements are literal.
  text="${text//"$DEFAULT_NODE"/"$node"}"
  text="${text//"$DEFAULT_CHECKOUT"/"$checkout"}"
  printf '%s\n' "$text" >"$stage/$unit"
  chmod 0644 "$stage/$unit"
done

# A directive this systemd does not know is only a warning to systemd, which then runs the unit
# without it (no quota, no sandbox): any message from verify stops the install before it writes.
if command -v systemd-analyze >/dev/null 2>&1; then
  for unit in "${units[@]}"; do
    out="$(systemd-analyze verify --man=no "$stage/$unit" 2>&1)" && [ -z "$out" ] ||
      fail "systemd-analyze verify $unit: $(printf '%s' "$out" | tr '\n' ' ')"
  done
else
  echo "install.sh: systemd-analyze not found, units not verified"
fi

mkdir -p "$unit_dir" "$config_dir"
for unit in "${units[@]}"; do
  cp "$stage/$unit" "$unit_dir/$unit.tmp"
  mv "$unit_dir/$unit.tmp" "$unit_dir/$unit"
  echo "install.sh: wrote $unit_dir/$unit (ExecStart: $node $checkout/bin/boxscope.js)"
done

if [ -e "$config_dir/config.yaml" ]; then
  echo "install.sh: kept the existing $config_dir/config.yaml"
else
  # Root-only: boxscope-index's Elasticsearch credentials may go into it.
  install -m 0600 "$here/config.yaml" "$config_dir/config.yaml"
  echo "install.sh: wrote a starter $config_dir/config.yaml (all defaults; edit it, then restart)"
fi

if [ "$start" = no ]; then
  echo "install.sh: --no-start: not enabled, not started"
elif [ "$root" != / ]; then
  systemctl --root="$root" enable "${units[@]}"
  echo "install.sh: enabled under $root (started at that system's next boot)"
else
  systemctl daemon-reload
  systemctl enable --now "${units[@]}"
  echo "install.sh: enabled and started ${units[*]}; \`systemctl status boxscope\`, \`journalctl -u boxscope\`"
fi
