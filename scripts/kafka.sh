#!/usr/bin/env bash
# Apache Kafka (KRaft on loopback) from Maven Central jars, run with the machine's Java.
#   scripts/kafka.sh fetch                         → prints the libs dir (downloads once into the cache)
# One broker:
#   scripts/kafka.sh start DIR PORT CONTROLLER_PORT → formats DIR (once) and starts a broker+controller
#   scripts/kafka.sh stop DIR                       → SIGTERM, wait, SIGKILL after 60 s
# A cluster of three nodes, each broker+controller (3 controller voters), replicated as production
# topics are: default.replication.factor=3, min.insync.replicas=2, offsets topic RF 3.
#   scripts/kafka.sh cluster-start DIR P1,P2,P3 C1,C2,C3 → formats DIR/node-{1,2,3} (once, one cluster
#                                                   id) with broker ports P and controller ports C,
#                                                   starts all three
#   scripts/kafka.sh node-start DIR ID              → starts node ID (1-3) again, same data and ports
#   scripts/kafka.sh node-stop DIR ID               → SIGTERM (controlled shutdown), SIGKILL after 60 s
#   scripts/kafka.sh node-kill DIR ID               → SIGKILL: a crash, no controlled shutdown
#   scripts/kafka.sh cluster-stop DIR               → node-stop of every node
#   scripts/kafka.sh brokers DIR                    → prints the bootstrap list 127.0.0.1:P1,...
#   scripts/kafka.sh leader BROKERS TOPIC PARTITION → prints the node id leading that partition
#   scripts/kafka.sh topics ARGS...                 → kafka-topics.sh (e.g. --bootstrap-server B --describe)
#   scripts/kafka.sh groups ARGS...                 → kafka-consumer-groups.sh (--describe --group G: lag)
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

# server.properties of cluster node $2 (1-3) under DIR $1, from DIR/cluster.env.
node_properties() {
  local dir="$1" id="$2" voters="" i
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
  local -a ports cports
  IFS=, read -r -a ports <<<"$PORTS"
  IFS=, read -r -a cports <<<"$CONTROLLER_PORTS"
  for i in 1 2 3; do voters="$voters${voters:+,}$i@127.0.0.1:${cports[$((i - 1))]}"; done
  local port="${ports[$((id - 1))]}" cport="${cports[$((id - 1))]}" ndir="$dir/node-$id"
  cat <<PROPS
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$ndir/data
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
}

cluster_start() {
  set -m
  local dir="$1" ports="$2" cports="$3" id
  case "$ports,$cports" in
    *,*,*,*,*,*) ;;
    *) echo "cluster-start needs three broker ports and three controller ports (P1,P2,P3 C1,C2,C3)" >&2; exit 2 ;;
  esac
  fetch >/dev/null
  mkdir -p "$dir"
  printf 'PORTS=%s\nCONTROLLER_PORTS=%s\n' "$ports" "$cports" >"$dir/cluster.env"
  [ -f "$dir/cluster.id" ] || uuid_b64 >"$dir/cluster.id"
  for id in 1 2 3; do
    mkdir -p "$dir/node-$id/data"
    node_properties "$dir" "$id" >"$dir/node-$id/server.properties"
    if [ ! -f "$dir/node-$id/data/meta.properties" ]; then
      # Formats run side by side: each is a JVM start.
      run_java kafka.tools.StorageTool format -t "$(cat "$dir/cluster.id")" \
        -c "$dir/node-$id/server.properties" >"$dir/node-$id/format.log" 2>&1 &
    fi
  done
  wait
  for id in 1 2 3; do node_start "$dir" "$id"; done
}

node_dir() {
  case "$2" in
    1 | 2 | 3) echo "$1/node-$2" ;;
    *) echo "node id must be 1, 2 or 3, not '$2'" >&2; exit 2 ;;
  esac
}

node_start() {
  set -m
  local ndir
  ndir="$(node_dir "$1" "$2")"
  [ -f "$ndir/server.properties" ] || { echo "$ndir: no server.properties (cluster-start first)" >&2; exit 2; }
  nohup bash "$0" run-java kafka.Kafka "$ndir/server.properties" >>"$ndir/kafka.log" 2>&1 &
  echo $! >"$ndir/kafka.pid"
  echo "$!"
}

node_kill() {
  local ndir pid
  ndir="$(node_dir "$1" "$2")"
  [ -f "$ndir/kafka.pid" ] || return 0
  pid="$(cat "$ndir/kafka.pid")"
  # shellcheck disable=SC2046
  kill -9 $(descendants "$pid") "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$ndir/kafka.pid"
}

cluster_brokers() {
  # shellcheck disable=SC1091
  . "$1/cluster.env"
  local out="" p
  for p in ${PORTS//,/ }; do out="$out${out:+,}127.0.0.1:$p"; done
  echo "$out"
}

# The leader of TOPIC's PARTITION, as the cluster's metadata says (kcat when installed, else
# kafka-topics.sh, a JVM start). Nothing printed (exit 1) while the partition has no leader.
leader() {
  local brokers="$1" topic="$2" partition="$3" id
  if command -v kcat >/dev/null 2>&1; then
    id="$(kcat -b "$brokers" -L -t "$topic" -m 10 2>/dev/null |
      sed -n "s/^ *partition $partition, leader \(-\{0,1\}[0-9]*\),.*/\1/p")"
  else
    id="$(run_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$brokers" --describe --topic "$topic" 2>/dev/null |
      sed -n "s/.*Partition: $partition[[:space:]]*Leader: \(-\{0,1\}[0-9]*\).*/\1/p")"
  fi
  [ -n "$id" ] && [ "$id" != "-1" ] || return 1
  echo "$id"
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
  cluster-start) shift; cluster_start "$@" ;;
  node-start) shift; node_start "$@" ;;
  node-stop) shift; stop_pidfile "$(node_dir "$@")/kafka.pid" ;;
  node-kill) shift; node_kill "$@" ;;
  cluster-stop)
    shift
    for id in 1 2 3; do stop_pidfile "$1/node-$id/kafka.pid" & done
    wait
    ;;
  brokers) shift; cluster_brokers "$@" ;;
  leader) shift; leader "$@" ;;
  topics) shift; fetch >/dev/null; run_java org.apache.kafka.tools.TopicCommand "$@" ;;
  groups) shift; fetch >/dev/null; run_java org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@" ;;
  run-java) shift; exec java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$HOME_DIR/log4j2.properties" -cp "$LIBS/*" "$@" ;;
  *)
    echo "usage: $0 fetch | start DIR PORT CONTROLLER_PORT | stop DIR | cluster-start DIR P1,P2,P3 C1,C2,C3" \
      "| node-start|node-stop|node-kill DIR ID | cluster-stop DIR | brokers DIR | leader BROKERS TOPIC PARTITION" \
      "| topics ARGS... | groups ARGS..." >&2
    exit 2
    ;;
esac
