#!/usr/bin/env bash
# logwatcher: Java 17 + Maven to fetch and run Apache Flume 1.11 (the TAILDIR consumer the tests
# read the spool with), util-linux's unshare (inotify-limit test in a user namespace), the
# Flume jars prefetched into ${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}/flume-1.11.0, and
# systemd-journal-remote, which writes the real journal files the host-journal test follows with
# journalctl (from the package systemd, see 80-systemd.sh); its units are not started
# (policy-rc.d, 00-apt-update.sh), and no journald is needed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
apt_install openjdk-17-jre-headless maven util-linux inotify-tools systemd systemd-journal-remote
# A user namespace gets its own inotify limit; make sure unprivileged-looking unshare works as root.
if [ -w /proc/sys/kernel/unprivileged_userns_clone ]; then echo 1 >/proc/sys/kernel/unprivileged_userns_clone; fi
retry3 "flume prefetch (the Flume test fails under CI=true without it)" bash "$here/../../scripts/flume.sh"
