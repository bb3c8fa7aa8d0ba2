#!/usr/bin/env bash
# Log pipeline: Kafka and Elasticsearch 8 and 9 from Maven Central (cached), kcat and rsyslog's
# omkafka for the benchmarks' anchors, the unprivileged user Elasticsearch runs as.
# The pipeline's librdkafka (third_party/librdkafka) is compiled at npm ci, once per release (the slow
# part of a first npm ci).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=lib.sh
source .ci/setup.d/lib.sh
# build-essential, python3, libssl-dev, zlib1g-dev: pipeline/native/build.mjs builds librdkafka at npm ci
# (and the indexer's _bulk body writer hashes with libcrypto).
apt_install openjdk-17-jre-headless maven unzip util-linux kcat rsyslog rsyslog-kafka \
  build-essential python3 libssl-dev zlib1g-dev
bash scripts/kafka.sh fetch >/dev/null
bash scripts/elasticsearch.sh fetch-all >/dev/null
# Elasticsearch 9 needs Java 21+ (the machine's second JDK; Debian 12 packages only 17): fail here,
# naming it, rather than in the tests.
BOXSCOPE_ES_VERSION=9 bash scripts/elasticsearch.sh java-home >/dev/null
bash scripts/elasticsearch.sh user
