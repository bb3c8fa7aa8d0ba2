#!/usr/bin/env bash
# Views (shim/views, shim/render.ts): the reference implementation to cross-check against (LXCFS 5,
# which needs FUSE), and the real readers of the rendered files (procps: free, vmstat, uptime, top;
# sysstat: iostat; util-linux: unshare for a private mount namespace).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install lxcfs fuse3 procps sysstat util-linux
