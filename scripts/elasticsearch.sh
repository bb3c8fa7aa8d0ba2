#!/usr/bin/env bash
# Elasticsearch (single node, loopback, security off) from the integ-test-zip on Maven Central.
# Two majors: BOXSCOPE_ES_VERSION picks one (8 or 9 name the tested releases below; a full version
# such as 8.19.4 works too; 8 when unset). Each version has its own ES_HOME, so nodes of both run
# side by side (each in its own DIR, on its own port).
#   scripts/elasticsearch.sh fetch              → prints ES_HOME (downloads + unzips once into the cache)
#   scripts/elasticsearch.sh fetch-all          → fetch for every tested major (what CI prefetches)
#   scripts/elasticsearch.sh version            → prints the version BOXSCOPE_ES_VERSION selects
#   scripts/elasticsearch.sh user               → creates the unprivileged system user boxscope-es (root only)
#   scripts/elasticsearch.sh start DIR PORT     → starts a node with data/logs under DIR (as boxscope-es when root)
#       BOXSCOPE_ES_USERS="name:password:role ..." turns security on (HTTP without TLS, file realm
#       users; role superuser or boxscope_read_only, which may read every index and nothing else)
#   scripts/elasticsearch.sh stop DIR           → SIGTERM, wait, SIGKILL after 60 s
# Elasticsearch refuses to run as root, so under root it runs as boxscope-es.
set -euo pipefail
# shellcheck source=lib/proc-tree.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/proc-tree.sh"
# The newest release of each major whose integ-test-zip Maven Central serves here (the 9.x zip
# is not published for every 9.x release).
ES8_VERSION=8.19.4
ES9_VERSION=9.5.4
ES_VERSION="${BOXSCOPE_ES_VERSION:-8}"
case "$ES_VERSION" in
  8) ES_VERSION=$ES8_VERSION ;;
  9) ES_VERSION=$ES9_VERSION ;;
esac
ES_MAJOR="${ES_VERSION%%.*}"
CACHE="${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}"
ES_HOME="$CACHE/elasticsearch-$ES_VERSION"
ES_USER=boxscope-es

fetch() {
  if [ -f "$ES_HOME/.complete" ]; then echo "$ES_HOME"; return; fi
  local work
  work="$(mktemp -d)"
  (cd "$work" && mvn -q -B dependency:copy \
    "-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
    "-DoutputDirectory=$work" >&2)
  rm -rf "$ES_HOME.tmp" && mkdir -p "$ES_HOME.tmp"
  (cd "$ES_HOME.tmp" && unzip -q "$work/elasticsearch-$ES_VERSION.zip")
  rm -rf "$ES_HOME" && mv "$ES_HOME.tmp/elasticsearch-$ES_VERSION" "$ES_HOME" && rm -rf "$ES_HOME.tmp" "$work"
  # Readable and runnable by the unprivileged user; the node writes only under its own DIR.
  chmod -R a+rX "$ES_HOME"
  touch "$ES_HOME/.complete"
  echo "$ES_HOME"
}

ensure_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
  # The cache may sit under /root: let the user traverse to ES_HOME.
  local d="$ES_HOME"
  while [ "$d" != "/" ]; do d="$(dirname "$d")"; chmod o+x "$d" 2>/dev/null || true; done
}

start() {
  # Job control: a background job of a non-interactive shell starts with SIGQUIT ignored, and the
  # JVM's attach mechanism (Elasticsearch's entitlement agent) needs SIGQUIT; -m also gives the
  # server its own process group.
  set -m
  local dir="$1" port="$2"
  fetch >/dev/null
  mkdir -p "$dir/data" "$dir/logs" "$dir/config" "$dir/tmp"
  cp -r "$ES_HOME/config/." "$dir/config/"
  local security=false
  [ -z "${BOXSCOPE_ES_USERS:-}" ] || security=true
  cat >"$dir/config/elasticsearch.yml" <<YML
cluster.name: boxscope-test
node.name: node-1
path.data: $dir/data
path.logs: $dir/logs
network.host: 127.0.0.1
http.port: $port
transport.port: 0
discovery.type: single-node
xpack.security.enabled: $security
xpack.security.http.ssl.enabled: false
xpack.security.transport.ssl.enabled: false
action.destructive_requires_name: false
cluster.routing.allocation.disk.threshold_enabled: false
YML
  cat >"$dir/config/jvm.options.d/heap.options" <<JVM
-Xms512m
-Xmx512m
JVM
  local jhome="${ES_JAVA_HOME:-}"
  [ -n "$jhome" ] || jhome="$(java_home)"
  if [ -n "${BOXSCOPE_ES_USERS:-}" ]; then
    cat >>"$dir/config/roles.yml" <<YML
boxscope_read_only:
  cluster: [monitor]
  indices:
    - names: ["*"]
      privileges: [read, view_index_metadata]
YML
    local spec name password role
    for spec in $BOXSCOPE_ES_USERS; do
      IFS=: read -r name password role <<<"$spec"
      env "ES_PATH_CONF=$dir/config" "ES_JAVA_HOME=$jhome" \
        "$ES_HOME/bin/elasticsearch-users" useradd "$name" -p "$password" -r "$role" >/dev/null
    done
  fi
  local run=(env "ES_PATH_CONF=$dir/config" "ES_TMPDIR=$dir/tmp" "ES_JAVA_HOME=$jhome" "$ES_HOME/bin/elasticsearch")
  if [ "$(id -u)" -eq 0 ]; then
    ensure_user
    chown -R "$ES_USER" "$dir"
    chmod o+x "$dir"
    local d="$dir"; while [ "$d" != "/" ]; do d="$(dirname "$d")"; chmod o+x "$d" 2>/dev/null || true; done
    nohup setpriv --reuid="$ES_USER" --regid="$(id -g "$ES_USER")" --clear-groups "${run[@]}" >"$dir/es.out" 2>&1 &
  else
    nohup "${run[@]}" >"$dir/es.out" 2>&1 &
  fi
  echo $! >"$dir/es.pid"
  echo "$!"
}

java_major() {
  "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
}

# Elasticsearch 8 runs on Java 17, 9 needs 21 or newer: the machine's java when it is new enough,
# else the newest JDK under /usr/lib/jvm that is.
java_home() {
  local need=17 java best="" best_major=0 m
  [ "$ES_MAJOR" -ge 9 ] && need=21
  java="$(readlink -f "$(command -v java)")"
  m="$(java_major "$java")"
  if [ "${m:-0}" -ge "$need" ]; then dirname "$(dirname "$java")"; return; fi
  for java in /usr/lib/jvm/*/bin/java; do
    [ -x "$java" ] || continue
    m="$(java_major "$java")"
    if [ "${m:-0}" -ge "$need" ] && [ "$m" -gt "$best_major" ]; then best="$java"; best_major="$m"; fi
  done
  if [ -z "$best" ]; then
    echo "Elasticsearch $ES_VERSION needs Java $need or newer: none found (java on PATH, /usr/lib/jvm/*)" >&2
    return 1
  fi
  dirname "$(dirname "$best")"
}

stop() {
  stop_pidfile "$1/es.pid"
}

case "${1:-}" in
  fetch) fetch ;;
  fetch-all)
    BOXSCOPE_ES_VERSION=8 bash "$0" fetch
    BOXSCOPE_ES_VERSION=9 bash "$0" fetch
    ;;
  version) echo "$ES_VERSION" ;;
  java-home) java_home ;;
  user) ensure_user ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 fetch | fetch-all | version | java-home | user | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
