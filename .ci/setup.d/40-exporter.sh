#!/usr/bin/env bash
# Exporter tests and bench: promtool (prometheus), node_exporter (the scrape-cost peer), nftables +
# iproute2 (conntrack inside a test network namespace), curl (scrape from inside that namespace).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install prometheus prometheus-node-exporter nftables iproute2 curl procps
