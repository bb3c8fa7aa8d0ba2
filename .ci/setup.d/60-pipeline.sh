#!/usr/bin/env bash
# Log pipeline (issue 6): Kafka and Elasticsearch from Maven Central (cached), kcat and rsyslog's
# omkafka for the benchmarks' anchors, the unprivileged user Elasticsearch runs as.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=lib.sh
source .ci/setup.d/lib.sh
apt_install openjdk-17-jre-headless maven unzip util-linux kcat rsyslog rsyslog-kafka
bash scripts/kafka.sh fetch >/dev/null
bash scripts/elasticsearch.sh fetch >/dev/null
bash scripts/elasticsearch.sh user
