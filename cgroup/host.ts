/**
 * The host's own /proc files that views pass through or fall back to (proc(5)). Pure parsers plus
 * readers over a proc root; readers return undefined when the file cannot be read.
 */
import { join } from "node:path";
import { readQuiet } from "./fsread.js";
import type { HostCpuinfo, HostDiskstat, HostMeminfo, HostStat } from "./types.js";

/** /proc/meminfo: `MemTotal:       24684092 kB`, `HugePages_Total:       0`. Kernel order kept. */
export function parseMeminfo(text: string): HostMeminfo {
  const entries: Array<{ key: string; value: number; kb: boolean }> = [];
  for (const line of text.split("\n")) {
    const m = /^([^:]+):\s+(\d+)(\s+kB)?\s*$/.exec(line);
    if (m) entries.push({ key: m[1] as string, value: Number(m[2]), kb: m[3] !== undefined });
  }
  return { entries };
}

/** /proc/stat: `cpu` and `cpuN` lines as numbers (USER_HZ ticks), every other line kept verbatim. */
export function parseStat(text: string): HostStat {
  let total: number[] = [];
  const perCpu = new Map<number, number[]>();
  const other: Array<{ key: string; rest: string }> = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const sp = line.indexOf(" ");
    const key = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? "" : line.slice(sp + 1);
    if (key === "cpu") total = numbers(rest);
    else if (/^cpu\d+$/.test(key)) perCpu.set(Number(key.slice(3)), numbers(rest));
    else other.push({ key, rest: rest.trimStart() });
  }
  return { total, perCpu, other };
}

const numbers = (s: string): number[] =>
  s
    .trim()
    .split(/\s+/)
    .filter((x) => x !== "")
    .map(Number);

/** /proc/cpuinfo: blocks separated by blank lines, each starting with `processor\t: N`. */
export function parseCpuinfo(text: string): HostCpuinfo {
  const processors = new Map<number, string[]>();
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split("\n").filter((l) => l !== "");
    if (lines.length === 0) continue;
    // x86 starts each block with `processor`; other arches may not, so search the block.
    const procLine = lines.find((l) => /^processor\s*:\s*\d+\s*$/.test(l));
    if (procLine === undefined) continue;
    const n = Number(procLine.slice(procLine.indexOf(":") + 1).trim());
    processors.set(n, lines);
  }
  return { processors };
}

/** /proc/diskstats: `   8       0 sda 1 2 3 …` (14, 18 or 20 numbers after the name, by kernel version). */
export function parseDiskstats(text: string): HostDiskstat[] {
  const out: HostDiskstat[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const major = Number(f[0]);
    const minor = Number(f[1]);
    if (!Number.isInteger(major) || !Number.isInteger(minor)) continue;
    out.push({ major, minor, name: f[2] as string, fields: f.slice(3).map(Number) });
  }
  return out;
}

/** /proc/uptime: `609.65 1121.90` → [uptime seconds, idle seconds summed over CPUs]. */
export function parseUptime(text: string): [number, number] | undefined {
  const [a, b] = text.trim().split(/\s+/);
  const up = Number(a);
  const idle = Number(b);
  if (a === undefined || b === undefined || !Number.isFinite(up) || !Number.isFinite(idle)) return undefined;
  return [up, idle];
}

export interface HostLoadavg {
  readonly load1: number;
  readonly load5: number;
  readonly load15: number;
  readonly running: number;
  readonly total: number;
  readonly lastPid: number;
}

/** /proc/loadavg: `1.45 0.33 0.10 5/143 7980`. */
export function parseLoadavg(text: string): HostLoadavg | undefined {
  const m = /^\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\/(\d+)\s+(\d+)/.exec(text);
  if (!m) return undefined;
  return {
    load1: Number(m[1]),
    load5: Number(m[2]),
    load15: Number(m[3]),
    running: Number(m[4]),
    total: Number(m[5]),
    lastPid: Number(m[6]),
  };
}

export interface HostSwap {
  readonly filename: string;
  readonly type: string;
  readonly sizeKb: number;
  readonly usedKb: number;
  readonly priority: number;
}

/** /proc/swaps: a header line, then `Filename Type Size Used Priority` rows (whitespace separated). */
export function parseSwaps(text: string): HostSwap[] {
  const out: HostSwap[] = [];
  const lines = text.split("\n").slice(1);
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    // The filename may contain spaces (escaped as \040 by the kernel): take the last four as numbers.
    const n = f.length;
    out.push({
      filename: f.slice(0, n - 4).join(" "),
      type: f[n - 4] as string,
      sizeKb: Number(f[n - 3]),
      usedKb: Number(f[n - 2]),
      priority: Number(f[n - 1]),
    });
  }
  return out;
}

const read = <T>(procRoot: string, file: string, parse: (t: string) => T): T | undefined => {
  const text = readQuiet(join(procRoot, file));
  return text === undefined ? undefined : parse(text);
};

export const readHostMeminfo = (procRoot = "/proc"): HostMeminfo | undefined =>
  read(procRoot, "meminfo", parseMeminfo);
export const readHostStat = (procRoot = "/proc"): HostStat | undefined => read(procRoot, "stat", parseStat);
export const readHostCpuinfo = (procRoot = "/proc"): HostCpuinfo | undefined =>
  read(procRoot, "cpuinfo", parseCpuinfo);
export const readHostDiskstats = (procRoot = "/proc"): HostDiskstat[] | undefined =>
  read(procRoot, "diskstats", parseDiskstats);
export const readHostUptime = (procRoot = "/proc"): [number, number] | undefined =>
  read(procRoot, "uptime", parseUptime);
export const readHostLoadavg = (procRoot = "/proc"): HostLoadavg | undefined =>
  read(procRoot, "loadavg", parseLoadavg);
export const readHostSwaps = (procRoot = "/proc"): HostSwap[] | undefined =>
  read(procRoot, "swaps", parseSwaps);
/** Host pressure file (`/proc/pressure/cpu`...), raw. */
export const readHostPressure = (resource: "cpu" | "memory" | "io", procRoot = "/proc"): string | undefined =>
  readQuiet(join(procRoot, "pressure", resource));
