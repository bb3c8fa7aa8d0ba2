#!/bin/sh
# docker run with boxscope's views bind-mounted over the container's /proc files and its
# /sys/devices/system/cpu directory, exactly as LXCFS users do with /var/lib/lxcfs. They must exist
# (daemon running) when the container starts.
B=/var/lib/boxscope
exec docker run --rm -it \
  -v $B/proc/cpuinfo:/proc/cpuinfo:ro \
  -v $B/proc/diskstats:/proc/diskstats:ro \
  -v $B/proc/meminfo:/proc/meminfo:ro \
  -v $B/proc/stat:/proc/stat:ro \
  -v $B/proc/swaps:/proc/swaps:ro \
  -v $B/proc/uptime:/proc/uptime:ro \
  -v $B/proc/loadavg:/proc/loadavg:ro \
  -v $B/sys/devices/system/cpu:/sys/devices/system/cpu:ro \
  --memory 256m --cpus 1 \
  "${@:-debian:12}"
