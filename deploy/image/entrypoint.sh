#!/bin/sh
# The image's entry point: `boxscope "$@"`, in the host's cgroup namespace when it can see it.
# boxscope reads other processes' /proc/<pid>/cgroup to find their containers, and the kernel writes
# those paths relative to the reader's cgroup namespace. On cgroup v2 nodes Kubernetes gives every
# container a namespace of its own, where the containers boxscope serves would show as "/../..."
# paths. With the host's PID namespace (the DaemonSet's hostPID) /proc/2 is kthreadd, the kernel's
# thread starter, which lives in the initial namespaces: join its cgroup namespace (needs
# CAP_SYS_ADMIN, which the privileged DaemonSet has). Elsewhere (the index Deployment, no hostPID)
# there is no kthreadd to see and nothing changes.
set -eu
boxscope="/usr/local/bin/node /opt/boxscope/bin/boxscope.js"
if [ "$(cat /proc/2/comm 2>/dev/null)" = kthreadd ] &&
  [ "$(readlink /proc/self/ns/cgroup)" != "$(readlink /proc/2/ns/cgroup)" ]; then
  # shellcheck disable=SC2086 # $boxscope is two words on purpose
  exec nsenter --cgroup=/proc/2/ns/cgroup -- $boxscope "$@"
fi
# shellcheck disable=SC2086
exec $boxscope "$@"
