/**
 * The files the shim serves, relative to its mount point (LXCFS's layout). Its own module, free of
 * imports, so `boxscope shim render`'s help text can list them without loading the renderers.
 */
export const VIEW_PATHS = [
  "proc/meminfo",
  "proc/cpuinfo",
  "proc/stat",
  "proc/uptime",
  "proc/loadavg",
  "proc/diskstats",
  "proc/swaps",
  "proc/pressure/cpu",
  "proc/pressure/io",
  "proc/pressure/memory",
  "sys/devices/system/cpu/online",
] as const;
export type ViewPath = (typeof VIEW_PATHS)[number];

export function isViewPath(view: string): view is ViewPath {
  return (VIEW_PATHS as readonly string[]).includes(view);
}
