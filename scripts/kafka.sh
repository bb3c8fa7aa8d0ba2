#!/usr/bin/env bash
# Apache Kafka (KRaft, one broker on loopback) from Maven Central jars, run with the machine's Java.
#   scripts/kafka.sh fetch                         → prints the libs dir (downloads once into the cache)
#   scripts/kafka.sh start DIR PORT CONTROLLER_PORT → formats DIR (once) and starts a broker+controller
#   scripts/kafka.sh stop DIR                       → SIGTERM, wait, SIGKILL after 60 s
# The cache is ${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}/kafka-<ver>/libs (never committed).
set -euo pipefail
# shellcheck source=lib/proc-tree.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/proc-tree.sh"
KAFKA_VERSION="${BOXSCOPE_KAFKA_VERSION:-4.2.0}"
CACHE="${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}"
HOME_DIR="$CACHE/kafka-$KAFKA_VERSION"
LIBS="$HOME_DIR/libs"

fetch() {
  if [ -f "$HOME_DIR/.complete" ]; then echo "$LIBS"; return; fi
  local work
  work="$(mktemp -d)"
  # A throwaway pom: copy-dependencies resolves kafka_2.13's runtime closure (scala, jackson,
  # metrics, zstd/lz4/snappy...) plus the log4j2 backend the kafka distribution ships.
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>boxscope</groupId><artifactId>kafka-fetch</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.17</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  mkdir -p "$LIBS"
  (cd "$work" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS" >&2)
  cat >"$HOME_DIR/log4j2.properties" <<'L4J'
status = error
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
L4J
  rm -rf "$work"
  touch "$HOME_DIR/.complete"
  echo "$LIBS"
}

run_java() {
  java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$HOME_DIR/log4j2.properties" -cp "$LIBS/*" "$@"
}

start() {
  # Job control: a background job of a non-interactive shell starts with SIGQUIT ignored, and the
  # JVM's attach mechanism (Elasticsearch's entitlement agent) needs SIGQUIT; -m also gives the
  # server its own process group.
  set -m
  local dir="$1" port="$2" cport="$3"
  fetch >/dev/null
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  if [ ! -f "$dir/data/meta.properties" ]; then
    run_java kafka.tools.StorageTool format -t "$(uuid_b64)" -c "$dir/server.properties" >"$dir/format.log" 2>&1
  fi
  nohup bash "$0" run-java kafka.Kafka "$dir/server.properties" >"$dir/kafka.log" 2>&1 &
  echo $! >"$dir/kafka.pid"
  echo "$!"
}

uuid_b64() {
  # Kafka cluster ids are 16 random bytes in URL-safe base64 without padding. One that starts
  # with "-" would be read by StorageTool as an option, so draw again.
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    [ "${id#-}" = "$id" ] && break
  done
  printf '%s\n' "$id"
}

stop() {
  stop_pidfile "$1/kafka.pid"
}

case "${1:-}" in
  fetch) fetch ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  run-java) shift; exec java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$HOME_DIR/log4j2.properties" -cp "$LIBS/*" "$@" ;;
  *) echo "usage: $0 fetch | start DIR PORT CONTROLLER_PORT | stop DIR" >&2; exit 2 ;;
esac
