#!/usr/bin/env bash
# Prerequisites of alerts/ and dashboards/ tests: Debian's Prometheus (prometheus, promtool) and
# Alertmanager (prometheus-alertmanager, amtool). The tests run the binaries themselves on free
# loopback ports, so the packaged services must not run (they would hold 9090/9093/9094).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# Keep the packages' postinst from starting their services (policy-rc.d 101 = "action forbidden").
added_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  added_policy=yes
fi
trap '[ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT

apt_install prometheus prometheus-alertmanager

# If a service was started anyway (systemd host, earlier install), stop and disable it.
for svc in prometheus prometheus-alertmanager; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
  if [ -x "/etc/init.d/$svc" ]; then "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; fi
done

for bin in /usr/bin/prometheus /usr/bin/promtool /usr/bin/prometheus-alertmanager /usr/bin/amtool; do
  [ -x "$bin" ] || { echo "50-alerts: $bin missing after install" >&2; exit 1; }
done
