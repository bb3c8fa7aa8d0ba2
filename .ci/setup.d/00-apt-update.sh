#!/usr/bin/env bash
# One apt-get update for every later step; the parts' steps only `apt-get install`.
# Packages must not start their services (prometheus, lxcfs, rsyslog...): tests start their own
# instances on free loopback ports, and a packaged daemon would hold the default ones.
set -euo pipefail
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
apt-get update -qq -o DPkg::Lock::Timeout=600
