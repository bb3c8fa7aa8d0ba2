#!/usr/bin/env bash
# One apt-get update for every later step; the parts' steps only `apt-get install`.
set -euo pipefail
apt-get update -qq
