/**
 * CPU: cpuset (v1 cpuset.effective_cpus/cpuset.cpus, v2 cpuset.cpus.effective/cpuset.cpus), CFS
 * quota (v1 cpu.cfs_quota_us + cpu.cfs_period_us, v2 cpu.max) and usage (v1 cpuacct.*, v2 cpu.stat).
 */
import { join } from "node:path";
import { parseCpuList } from "./cpulist.js";
import { parseFlatKeyed, readOptional, readQuiet } from "./fsread.js";
import { ancestorDirs } from "./handle.js";
import type { CgroupHandle, CpuData } from "./types.js";

/** Userspace clock tick (USER_HZ): fixed at 100 on every Linux architecture boxscope runs on. */
export const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;

/** v2 cpu.max: `max 100000` → null; `50000 100000` → 0.5 CPUs. undefined when unparsable. */
export function parseCpuMax(text: string): number | null | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === "max") return null;
  const q = Number(quota);
  const p = period === undefined ? 100000 : Number(period);
  if (!Number.isFinite(q) || !Number.isFinite(p) || p <= 0 || quota === "") return undefined;
  return q / p;
}

/** v1 cfs quota + period (µs): quota -1 → null. */
export function parseCfsQuota(quotaText: string, periodText: string): number | null | undefined {
  const q = Number(quotaText.trim());
  const p = Number(periodText.trim());
  if (!Number.isFinite(q) || quotaText.trim() === "") return undefined;
  if (q < 0) return null;
  if (!Number.isFinite(p) || p <= 0) return undefined;
  return q / p;
}

/** cpuacct.usage_all: header `cpu user system`, then `N user_ns system_ns` per host CPU. */
export function parseUsageAll(text: string): Array<{ userNs: number; systemNs: number }> {
  const out: Array<{ userNs: number; systemNs: number }> = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || !/^\d+$/.test(f[0] as string)) continue;
    out[Number(f[0])] = { userNs: Number(f[1]), systemNs: Number(f[2]) };
  }
  // Fill holes (offline CPUs missing from the file) so the array is dense.
  for (let i = 0; i < out.length; i++) out[i] ??= { userNs: 0, systemNs: 0 };
  return out;
}

/** cpuacct.usage_percpu: one ns value per host CPU, space separated (user+system, put in userNs). */
export function parseUsagePercpu(text: string): Array<{ userNs: number; systemNs: number }> {
  return text
    .trim()
    .split(/\s+/)
    .filter((s) => s !== "")
    .map((s) => ({ userNs: Number(s), systemNs: 0 }));
}

/** The host's online CPUs, from <sysRoot>/devices/system/cpu/online. */
export function readOnlineCpus(sysRoot = "/sys"): number[] | undefined {
  const text = readQuiet(join(sysRoot, "devices/system/cpu/online"));
  if (text === undefined) return undefined;
  try {
    return parseCpuList(text);
  } catch {
    return undefined;
  }
}

export interface ReadCpuOptions {
  /** Where `devices/system/cpu/online` is read when no cgroup sets a cpuset. Default /sys. */
  readonly sysRoot?: string;
}

/** Effective cpuset: the cgroup's effective list, else its configured list, else the nearest ancestor's. */
export function readCpuset(handle: CgroupHandle, errors: string[], sysRoot = "/sys"): number[] {
  const ctl = handle.dirs.cpuset;
  if (ctl !== undefined) {
    const files =
      ctl.version === 1 ? ["cpuset.effective_cpus", "cpuset.cpus"] : ["cpuset.cpus.effective", "cpuset.cpus"];
    for (const d of ancestorDirs(ctl.dir, ctl.root)) {
      for (const f of files) {
        const text = readOptional(join(d, f), errors);
        if (text === undefined || text.trim() === "") continue;
        try {
          return parseCpuList(text);
        } catch (e) {
          errors.push(`cpuset: ${(e as Error).message} in ${join(d, f)}`);
        }
      }
    }
  }
  const online = readOnlineCpus(sysRoot);
  if (online === undefined) errors.push(`cpuset: cannot read ${join(sysRoot, "devices/system/cpu/online")}`);
  return online ?? [];
}

/** Effective quota in CPUs: minimum of quota/period over the cgroup and its ancestors; null = none. */
export function readQuotaCpus(handle: CgroupHandle, errors: string[]): number | null {
  const ctl = handle.dirs.cpu;
  if (ctl === undefined) return null;
  let min: number | null = null;
  for (const d of ancestorDirs(ctl.dir, ctl.root)) {
    let q: number | null | undefined;
    if (ctl.version === 1) {
      const quota = readOptional(join(d, "cpu.cfs_quota_us"), errors);
      const period = readOptional(join(d, "cpu.cfs_period_us"), errors);
      q = quota === undefined || period === undefined ? undefined : parseCfsQuota(quota, period);
    } else {
      const text = readOptional(join(d, "cpu.max"), errors);
      q = text === undefined ? undefined : parseCpuMax(text);
    }
    if (typeof q === "number" && (min === null || q < min)) min = q;
  }
  return min;
}

type Usage = Pick<CpuData, "usageNs" | "userNs" | "systemNs" | "perCpu">;

function readUsageV1(dir: string, errors: string[]): Usage | undefined {
  const usageText = readOptional(join(dir, "cpuacct.usage"), errors);
  if (usageText === undefined) {
    errors.push(`cpu: missing ${join(dir, "cpuacct.usage")}`);
    return undefined;
  }
  const usageNs = Number(usageText.trim());
  // cpuacct.usage_user/usage_sys are in ns (exact); cpuacct.stat is the same split in USER_HZ ticks,
  // kept as the fallback for kernels without the ns files.
  let userNs: number | undefined;
  let systemNs: number | undefined;
  const u = readOptional(join(dir, "cpuacct.usage_user"), errors);
  const s = readOptional(join(dir, "cpuacct.usage_sys"), errors);
  if (u !== undefined && s !== undefined) {
    userNs = Number(u.trim());
    systemNs = Number(s.trim());
  } else {
    const stat = parseFlatKeyed(readOptional(join(dir, "cpuacct.stat"), errors) ?? "");
    const ut = stat.get("user");
    const st = stat.get("system");
    if (ut !== undefined) userNs = ut * NS_PER_TICK;
    if (st !== undefined) systemNs = st * NS_PER_TICK;
  }
  let perCpu: Usage["perCpu"];
  const all = readOptional(join(dir, "cpuacct.usage_all"), errors);
  if (all !== undefined) perCpu = parseUsageAll(all);
  else {
    const percpu = readOptional(join(dir, "cpuacct.usage_percpu"), errors);
    if (percpu !== undefined) perCpu = parseUsagePercpu(percpu);
  }
  return { usageNs, userNs, systemNs, perCpu };
}

/** v2 cpu.stat (µs) → ns. */
function usageFromCpuStat(stat: Map<string, number>): Usage | undefined {
  const usage = stat.get("usage_usec");
  if (usage === undefined) return undefined;
  const user = stat.get("user_usec");
  const system = stat.get("system_usec");
  return {
    usageNs: usage * 1000,
    userNs: user === undefined ? undefined : user * 1000,
    systemNs: system === undefined ? undefined : system * 1000,
    perCpu: undefined,
  };
}

export function readCpu(
  handle: CgroupHandle,
  options: ReadCpuOptions = {},
): { data?: CpuData; errors: string[] } {
  const errors: string[] = [];
  const cpuset = readCpuset(handle, errors, options.sysRoot);
  const quotaCpus = readQuotaCpus(handle, errors);

  let usage: Usage | undefined;
  const acct = handle.dirs.cpuacct;
  if (acct?.version === 1) usage = readUsageV1(acct.dir, errors);
  // v2 (or hybrid without a cpuacct hierarchy): cpu.stat is a core cgroup2 file, present in every
  // unified cgroup even when the cpu controller is not enabled there.
  const v2Dir = acct?.version === 2 ? acct.dir : usage === undefined ? handle.unifiedDir : undefined;
  let v2Stat: Map<string, number> | undefined;
  if (usage === undefined && v2Dir !== undefined) {
    const text = readOptional(join(v2Dir, "cpu.stat"), errors);
    if (text !== undefined) {
      v2Stat = parseFlatKeyed(text);
      usage = usageFromCpuStat(v2Stat);
    }
  }
  if (usage === undefined) {
    errors.push("cpu: no usage counters (cpuacct.usage / cpu.stat usage_usec) found");
    return { errors };
  }

  let throttle: CpuData["throttle"];
  const cpuCtl = handle.dirs.cpu;
  if (cpuCtl !== undefined) {
    const stat =
      cpuCtl.version === 2 && cpuCtl.dir === v2Dir && v2Stat !== undefined
        ? v2Stat
        : parseFlatKeyed(readOptional(join(cpuCtl.dir, "cpu.stat"), errors) ?? "");
    const periods = stat.get("nr_periods");
    const throttled = stat.get("nr_throttled");
    const throttledNs =
      cpuCtl.version === 1 ? stat.get("throttled_time") : mul(stat.get("throttled_usec"), 1000);
    if (periods !== undefined && throttled !== undefined && throttledNs !== undefined) {
      throttle = { periods, throttled, throttledNs };
    }
  }
  const version: 1 | 2 = (cpuCtl ?? acct)?.version ?? 2;
  return { data: { version, cpuset, quotaCpus, ...usage, ...(throttle ? { throttle } : {}) }, errors };
}

const mul = (v: number | undefined, k: number): number | undefined => (v === undefined ? undefined : v * k);
