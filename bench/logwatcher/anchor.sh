#!/usr/bin/env bash
# The anchor: what the field reports' kiver-guard did, in its simplest form. inotifywait watches the
# tree recursively; every created/moved-in *.log gets `ln -s` into the spool under
# <rel path with / replaced by __>; deletes remove the link. No security checks, no reconcile.
# Usage: anchor.sh LOG_ROOT SPOOL   (prints "ready" on stderr once the watches are set)
set -uo pipefail
root="$1"
spool="$2"
mkdir -p "$spool"
inotifywait -m -r -q -e create -e moved_to -e delete -e moved_from --format '%e %w%f' "$root" |
  while read -r events path; do
    case "$path" in *.log) ;; *) continue ;; esac
    rel="${path#"$root"/}"
    name="${rel//\//__}"
    case "$events" in
      *CREATE* | *MOVED_TO*) [ -f "$path" ] && ln -sfn "$path" "$spool/$name" ;;
      *DELETE* | *MOVED_FROM*) rm -f "$spool/$name" ;;
    esac
  done
