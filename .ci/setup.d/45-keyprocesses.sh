#!/usr/bin/env bash
# Key-process tests (test/exporter/key-process-runtimes.test.ts): Debian's real dockerd and
# containerd, run by the test as root on private sockets and directories, then stopped (SIGSTOP)
# and killed. The packages are unpacked, not installed: installing docker.io would start and
# enable docker.service and containerd.service on a systemd host, take /run/docker.sock and
# /run/containerd, and pull in iptables rules that other tests do not expect. Their libraries
# (libc, libdevmapper, libsystemd) are ordinary Debian packages installed here.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

ROOT=/opt/boxscope-test
apt_install runc libdevmapper1.02.1 libsystemd0

unpack() { # PACKAGE DIR BINARY: the package's files under DIR, unless BINARY there is from its candidate version
  local pkg="$1" dir="$2" bin="$3" version
  version="$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')"
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    echo "45-keyprocesses: no installable version of $pkg (apt-get update?)" >&2
    exit 1
  fi
  if [ -x "$dir/$bin" ] && [ "$(cat "$dir/.version" 2>/dev/null)" = "$version" ]; then return; fi
  echo "45-keyprocesses: unpacking $pkg $version into $dir"
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download -q "$pkg=$version" >/dev/null 2>&1) || {
    echo "45-keyprocesses: apt-get download $pkg=$version failed" >&2
    rm -rf "$tmp"
    exit 1
  }
  rm -rf "$dir"
  mkdir -p "$dir"
  dpkg-deb -x "$tmp"/*.deb "$dir"
  printf '%s\n' "$version" >"$dir/.version"
  rm -rf "$tmp"
}

unpack containerd "$ROOT/containerd" usr/bin/containerd
unpack docker.io "$ROOT/docker" usr/sbin/dockerd

for bin in "$ROOT/containerd/usr/bin/containerd" "$ROOT/docker/usr/sbin/dockerd"; do
  [ -x "$bin" ] || { echo "45-keyprocesses: $bin missing after unpacking" >&2; exit 1; }
  missing="$(ldd "$bin" 2>/dev/null | grep 'not found' || true)"
  [ -z "$missing" ] || { echo "45-keyprocesses: $bin lacks libraries: $missing" >&2; exit 1; }
done
echo "45-keyprocesses: $("$ROOT/docker/usr/sbin/dockerd" --version), $("$ROOT/containerd/usr/bin/containerd" --version)"
