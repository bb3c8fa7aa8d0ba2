#!/usr/bin/env bash
# Elasticsearch (single node, loopback, security off) from the integ-test-zip on Maven Central.
#   scripts/elasticsearch.sh fetch              → prints ES_HOME (downloads + unzips once into the cache)
#   scripts/elasticsearch.sh user               → creates the unprivileged system user boxscope-es (root only)
#   scripts/elasticsearch.sh start DIR PORT     → starts a node with data/logs under DIR (as boxscope-es when root)
#       BOXSCOPE_ES_USERS="name:password:role ..." turns security on (HTTP without TLS, file realm
#       users; role superuser or boxscope_read_only, which may read every index and nothing else)
#   scripts/elasticsearch.sh stop DIR           → SIGTERM, wait, SIGKILL after 60 s
# Elasticsearch refuses to run as root, so under root it runs as boxscope-es.
set -euo pipefail
# shellcheck source=lib/proc-tree.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/proc-tree.sh"
ES_VERSION="${BOXSCOPE_ES_VERSION:-8.19.4}"
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
      env "ES_PATH_CONF=$dir/config" "ES_JAVA_HOME=${ES_JAVA_HOME:-$(java_home)}" \
        "$ES_HOME/bin/elasticsearch-users" useradd "$name" -p "$password" -r "$role" >/dev/null
    done
  fi
  local run=(env "ES_PATH_CONF=$dir/config" "ES_TMPDIR=$dir/tmp" "ES_JAVA_HOME=${ES_JAVA_HOME:-$(java_home)}" "$ES_HOME/bin/elasticsearch")
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

java_home() {
  dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

stop() {
  stop_pidfile "$1/es.pid"
}

case "${1:-}" in
  fetch) fetch ;;
  user) ensure_user ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 fetch | user | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
