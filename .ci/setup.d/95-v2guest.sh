#!/usr/bin/env bash
# The pure cgroup v2 guest (test/helpers/v2-guest.ts, test/v2guest/): this machine is a v1+v2
# hybrid, so the v2 live tests run in a QEMU guest booted by virtme-ng over the host's own root
# file system (read-only, writes go to tmpfs overlays), with a scratch disk for block I/O.
# - qemu-system-x86: the emulator (TCG: a guest kernel hangs early in boot under this machine's KVM).
# - linux-image-amd64: a Debian kernel for the guest (/boot/vmlinuz-* and its /lib/modules); it
#   need not be the running kernel.
# - e2fsprogs: mkfs.ext4 for the scratch disk; busybox-static, kmod, udev: what virtme-ng's guest
#   init uses where present.
# - virtme-ng from PyPI, pinned, in its own venv under /opt so no other Python's packages matter;
#   `vng` is linked into /usr/local/bin, where .ci/run's PATH finds it.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

VIRTME_NG_VERSION=1.42
VENV=/opt/virtme-ng

apt_install qemu-system-x86 linux-image-amd64 e2fsprogs busybox-static kmod udev python3 python3-venv

if [ "$("$VENV/bin/vng" --version 2>/dev/null)" != "virtme-ng $VIRTME_NG_VERSION" ]; then
  echo "95-v2guest: installing virtme-ng $VIRTME_NG_VERSION into $VENV"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "virtme-ng==$VIRTME_NG_VERSION"
fi
# vng runs virtme-run from its own bin directory by name: link both.
for tool in vng virtme-run; do ln -sf "$VENV/bin/$tool" "/usr/local/bin/$tool"; done
echo "95-v2guest: $(vng --version), guest kernels: $(ls /boot/vmlinuz-* | tr '\n' ' ')"
