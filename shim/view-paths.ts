/**
 * The files the shim serves, relative to its mount point (LXCFS's layout). Its own module, free of
 * imports, so `boxscope shim render`'s help text can list them without loading the renderers.
 *
 * `cpu*` stands for the numbered CPU directories of /sys/devices/system/cpu: cpu0 ... cpu<n-1> for a
 * container that sees n CPUs (the mount lists them per reader from its `online` file).
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
  "sys/devices/system/cpu/possible",
  "sys/devices/system/cpu/present",
  "sys/devices/system/cpu/kernel_max",
  "sys/devices/system/cpu/cpu*/online",
  "sys/devices/system/cpu/cpu*/topology/core_id",
  "sys/devices/system/cpu/cpu*/topology/physical_package_id",
  "sys/devices/system/cpu/cpu*/topology/die_id",
  "sys/devices/system/cpu/cpu*/topology/thread_siblings",
  "sys/devices/system/cpu/cpu*/topology/thread_siblings_list",
  "sys/devices/system/cpu/cpu*/topology/core_cpus",
  "sys/devices/system/cpu/cpu*/topology/core_cpus_list",
  "sys/devices/system/cpu/cpu*/topology/core_siblings",
  "sys/devices/system/cpu/cpu*/topology/core_siblings_list",
  "sys/devices/system/cpu/cpu*/topology/package_cpus",
  "sys/devices/system/cpu/cpu*/topology/package_cpus_list",
] as const;
export type ViewPath = (typeof VIEW_PATHS)[number];

/** The directory whose numbered CPU directories the `cpu*` views are in. */
export const CPU_DIR = "sys/devices/system/cpu";
const CPU_TEMPLATE_PREFIX = `${CPU_DIR}/cpu*/`;
const CPU_PATH = /^sys\/devices\/system\/cpu\/cpu(0|[1-9]\d{0,5})\/(.+)$/;

/** A served file: its view, and for a file of a CPU directory the CPU's number and the file below it. */
export interface ParsedViewPath {
  readonly view: ViewPath;
  /** The path itself (`sys/devices/system/cpu/cpu3/online` for the view `.../cpu*\/online`). */
  readonly path: string;
  readonly cpu?: { readonly number: number; readonly file: string };
}

export function isViewPath(view: string): view is ViewPath {
  return (VIEW_PATHS as readonly string[]).includes(view);
}

/** A served path (`proc/meminfo`, `sys/devices/system/cpu/cpu3/online`), or undefined. */
export function parseViewPath(path: string): ParsedViewPath | undefined {
  if (isViewPath(path)) return path.includes("*") ? undefined : { view: path, path };
  const m = CPU_PATH.exec(path);
  if (m === null) return undefined;
  const view = `${CPU_TEMPLATE_PREFIX}${m[2]}`;
  if (!isViewPath(view)) return undefined;
  return { view, path, cpu: { number: Number(m[1]), file: m[2] as string } };
}

/** A view path with CPU number `n` for its `cpu*` (the path of that CPU's file). */
export function cpuPath(view: string, n: number): string {
  return view.replace("/cpu*/", `/cpu${n}/`);
}

/** VIEW_PATHS with `cpu*` as cpu<n>: one openable path per view (for a reader that has CPU n). */
export function viewPathsOfCpu(n: number): string[] {
  return VIEW_PATHS.map((v) => cpuPath(v, n));
}
