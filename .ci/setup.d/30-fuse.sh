#!/usr/bin/env bash
# The shim's prerequisites: libfuse3 + headers for the native binding (built by the `npm ci` that
# .ci/run runs after these steps), runc + busybox-static for real containers, LXCFS for the benchmark
# anchor and its cross-checks, procps/sysstat for the tools containers run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install fuse3 libfuse3-dev pkg-config build-essential python3 runc busybox-static lxcfs procps sysstat
# Debian's lxcfs package starts a service that mounts /var/lib/lxcfs; the tests and the benchmark run
# their own LXCFS instances and do not need it.
# fusectl lets the daemon abort its own connection on stop even when bind mounts keep it alive.
if [ -d /sys/fs/fuse/connections ] && ! mountpoint -q /sys/fs/fuse/connections; then
  mount -t fusectl none /sys/fs/fuse/connections || true
fi
