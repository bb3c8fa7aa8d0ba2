#!/usr/bin/env bash
# The native addons' checks (test/native/): clang with libFuzzer and the ASan/UBSan runtimes, for
# the fuzz harnesses of the C that parses bytes containers write (scripts/native-fuzz.mjs) and the
# sanitized build of the addons the tests load (scripts/native-sanitize.mjs).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install clang libclang-rt-dev
