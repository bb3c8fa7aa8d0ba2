#!/usr/bin/env bash
# The OCI image, built the way a user builds it (`npm run image`: podman, and base root filesystems
# that mmdebstrap makes from Debian packages); test/deploy/image.test.ts runs it as the Helm chart's
# DaemonSet does.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install podman mmdebstrap
bash deploy/image/build.sh
