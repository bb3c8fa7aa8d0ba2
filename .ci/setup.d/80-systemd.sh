#!/usr/bin/env bash
# systemd units (test/deploy/): systemd-analyze verify checks deploy/systemd/*.service and
# systemd-notify is what common/systemd.ts runs (both from the package systemd; neither needs
# systemd as PID 1); python3 listens on the notification socket in the notify test.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install systemd python3
