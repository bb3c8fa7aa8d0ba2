/**
 * The host's own files the views pass through or fall back to, each read and parsed at most once
 * per share window for every container together.
 */
import { join } from "node:path";
import { readQuiet } from "../../cgroup/fsread.js";
import { parseCpuinfo, parseDiskstats, parseMeminfo, parseStat, parseUptime } from "../../cgroup/host.js";
import type { HostCpuinfo, HostDiskstat, HostMeminfo, HostStat } from "../../cgroup/types.js";
import { TimedMap, TimedValue } from "./timed.js";

/** Minimum reuse time of the host's CPU list (cpuinfo): it changes only with CPU hotplug. */
const STATIC_HOST_WINDOW_MS = 1000;

export interface HostFilesOptions {
  /** Where the host's /proc files are. */
  readonly hostProcRoot: string;
  /** Where the host's /sys is. */
  readonly sysRoot: string;
  readonly windowMs: number;
}

export class HostFiles {
  private readonly hostProcRoot: string;
  private readonly sysRoot: string;
  private readonly windowMs: number;
  /** The window of what changes only with CPU hotplug: parsed cpuinfo (the kernel is slow to generate it) and the online list. */
  private readonly staticWindowMs: number;
  private readonly texts = new TimedMap<string, string>();
  private readonly meminfoCache = new TimedValue<HostMeminfo>();
  private readonly statCache = new TimedValue<HostStat>();
  private readonly cpuinfoCache = new TimedValue<HostCpuinfo>();
  private readonly diskstatsCache = new TimedValue<HostDiskstat[]>();
  private readonly uptimeCache = new TimedValue<[number, number]>();
  private readonly onlineCache = new TimedValue<number[]>();

  constructor(options: HostFilesOptions) {
    this.hostProcRoot = options.hostProcRoot;
    this.sysRoot = options.sysRoot;
    this.windowMs = options.windowMs;
    this.staticWindowMs = Math.max(options.windowMs, STATIC_HOST_WINDOW_MS);
  }

  /** The host's file of a served path (a view path, or a CPU directory's file); "" when unreadable. */
  text(path: string, at: number): string {
    return this.texts.get(path, at, this.windowMs, () => readQuiet(this.fileOf(path)) ?? "");
  }

  meminfo(at: number): HostMeminfo {
    return this.meminfoCache.get(at, this.windowMs, () => parseMeminfo(this.text("proc/meminfo", at)));
  }

  stat(at: number): HostStat {
    return this.statCache.get(at, this.windowMs, () => parseStat(this.text("proc/stat", at)));
  }

  cpuinfo(at: number): HostCpuinfo {
    return this.cpuinfoCache.get(at, this.staticWindowMs, () =>
      parseCpuinfo(readQuiet(join(this.hostProcRoot, "cpuinfo")) ?? ""),
    );
  }

  diskstats(at: number): HostDiskstat[] {
    return this.diskstatsCache.get(at, this.windowMs, () => parseDiskstats(this.text("proc/diskstats", at)));
  }

  /** Seconds up and idle (summed over CPUs), as /proc/uptime says. */
  uptime(at: number): [number, number] {
    return this.uptimeCache.get(at, this.windowMs, () => parseUptime(this.text("proc/uptime", at)) ?? [0, 0]);
  }

  /** The host's CPU numbers, from cpuinfo; [0] when it lists none. */
  online(at: number): number[] {
    return this.onlineCache.get(at, this.staticWindowMs, () => {
      const ids = [...this.cpuinfo(at).processors.keys()].sort((a, b) => a - b);
      return ids.length > 0 ? ids : [0];
    });
  }

  swapTotalKb(at: number): number {
    return this.meminfo(at).entries.find((e) => e.key === "SwapTotal")?.value ?? 0;
  }

  /** The host's own file of a served path: proc/... below hostProcRoot, sys/... below sysRoot. */
  private fileOf(path: string): string {
    return path.startsWith("sys/")
      ? join(this.sysRoot, path.slice(4))
      : join(this.hostProcRoot, path.slice(5));
  }
}
