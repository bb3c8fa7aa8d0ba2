# Sourced by scripts/kafka.sh and scripts/elasticsearch.sh: stop a server we started from its pid
# file. The launcher may have spawned the server JVM as a child, so the whole tree is stopped:
# TERM, up to 60 s for it to go, then KILL.

descendants() {
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}

stop_pidfile() {
  local pidfile="$1" pid pids
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  pids="$(descendants "$pid") $pid"
  # shellcheck disable=SC2086
  kill $pids 2>/dev/null || true
  for _ in $(seq 1 600); do
    local alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -9 $pids 2>/dev/null || true
  rm -f "$pidfile"
}
