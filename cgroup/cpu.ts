/**
 * CPU: cpuset (v1 cpuset.effective_cpus/cpuset.cpus, v2 cpuset.cpus.effective/cpuset.cpus), CFS
 * quota (v1 cpu.cfs_quota_us + cpu.cfs_period_us, v2 cpu.max), weight (v1 cpu.shares, v2 cpu.weight)
 * and usage (v1 cpuacct.*, v2 cpu.stat).
 */
import { join } from "node:path";
import { BoxscopeError, type WithErrors } from "../common/errors.js";
import { parseCpuList } from "./cpulist.js";
import {
  type CgroupReadOptions,
  cgroupFile,
  DIRECT_FILES,
  type FileReads,
  parseCount,
  parseFlatKeyed,
  readOptionalIn,
  readQuiet,
  readSharedIn,
} from "./fsread.js";
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

export interface ReadCpuOptions extends CpuAccountingOptions, CgroupReadOptions {
  /** Where `devices/system/cpu/online` is read when no cgroup sets a cpuset. Default /sys. */
  readonly sysRoot?: string;
}

export interface CpuAccountingOptions {
  /** v1: read the per-CPU split (cpuacct.usage_all / usage_percpu). Default true. */
  readonly perCpu?: boolean;
  /**
   * v1: read the user/system split. true (default): cpuacct.usage_user + usage_sys (ns, two files;
   * cpuacct.stat when they are missing); "ticks": cpuacct.stat alone (one file, USER_HZ resolution);
   * false: none. v2 has it for free in cpu.stat.
   */
  readonly userSystem?: boolean | "ticks";
}

/** Effective cpuset: the cgroup's effective list, else its configured list, else the nearest ancestor's. */
export function readCpuset(handle: CgroupHandle, reads: FileReads, sysRoot = "/sys"): number[] {
  const ctl = handle.dirs.cpuset;
  if (ctl !== undefined) {
    const names =
      ctl.version === 1 ? ["cpuset.effective_cpus", "cpuset.cpus"] : ["cpuset.cpus.effective", "cpuset.cpus"];
    const dirs = ancestorDirs(ctl.dir, ctl.root);
    for (let i = 0; i < dirs.length; i++) {
      const d = dirs[i] as string;
      for (const f of names) {
        const text = i > 0 ? readSharedIn(reads, d, f) : readOptionalIn(reads, d, f);
        if (text === undefined || text.trim() === "") continue;
        try {
          return parseCpuList(text);
        } catch (e) {
          const path = cgroupFile(d, f);
          reads.errors.push(
            new BoxscopeError("BXS_CGROUP_VALUE_INVALID", `cpuset: ${(e as Error).message} in ${path}`, {
              context: { path },
              cause: e,
            }),
          );
        }
      }
    }
  }
  const online = readOnlineCpus(sysRoot);
  if (online === undefined) {
    const path = join(sysRoot, "devices/system/cpu/online");
    reads.errors.push(
      new BoxscopeError("BXS_HOST_FILE_UNREADABLE", `cpuset: cannot read ${path}`, { context: { path } }),
    );
  }
  return online ?? [];
}

/**
 * Effective quota in CPUs: minimum of quota/period over the cgroup and its ancestors; null = none.
 * Ancestors' files go through the source's readShared.
 */
export function readQuotaCpus(handle: CgroupHandle, reads: FileReads): number | null {
  const ctl = handle.dirs.cpu;
  if (ctl === undefined) return null;
  let min: number | null = null;
  const dirs = ancestorDirs(ctl.dir, ctl.root);
  for (let i = 0; i < dirs.length; i++) {
    const d = dirs[i] as string;
    const read = i > 0 ? readSharedIn : readOptionalIn;
    let q: number | null | undefined;
    if (ctl.version === 1) {
      const quota = read(reads, d, "cpu.cfs_quota_us");
      // Unlimited (-1, the common case): the period does not matter, skip reading it.
      if (quota === undefined || quota.trim() === "-1") continue;
      const period = read(reads, d, "cpu.cfs_period_us");
      q = period === undefined ? undefined : parseCfsQuota(quota, period);
    } else {
      const text = read(reads, d, "cpu.max");
      q = text === undefined ? undefined : parseCpuMax(text);
    }
    if (typeof q === "number" && (min === null || q < min)) min = q;
  }
  return min;
}

/**
 * v2 cpu.weight (1..10000) → v1 cpu.shares (2..262144): the inverse of the linear mapping runc and
 * Kubernetes use to set a weight from shares, weight = 1 + ((shares − 2) × 9999) / 262142, in integer
 * arithmetic like theirs and cAdvisor's container_spec_cpu_shares (so both exporters agree). Lossy:
 * the default weight 100 reads as 2597 shares; the default 1024 shares became weight 39, which reads
 * back as 998. undefined when the text is not a number.
 */
export function sharesFromWeight(text: string): number | undefined {
  const w = parseCount(text);
  if (w === undefined) return undefined;
  return 2 + Math.floor(((w - 1) * 262142) / 9999);
}

/**
 * The cgroup's CPU weight as v1 shares: v1 cpu.shares, v2 cpu.weight converted (sharesFromWeight).
 * Its own file only: weights are relative among siblings, so an ancestor's does not cap it.
 * undefined when the cpu controller is not there (v2: not enabled for this cgroup).
 */
export function readCpuShares(handle: CgroupHandle, reads: FileReads): number | undefined {
  const ctl = handle.dirs.cpu;
  if (ctl === undefined) return undefined;
  if (ctl.version === 1) return parseCount(readOptionalIn(reads, ctl.dir, "cpu.shares"));
  const text = readOptionalIn(reads, ctl.dir, "cpu.weight");
  return text === undefined ? undefined : sharesFromWeight(text);
}

type Usage = Pick<CpuData, "usageNs" | "userNs" | "systemNs" | "perCpu">;

function readUsageV1(reads: FileReads, dir: string, options: CpuAccountingOptions): Usage | undefined {
  const usageText = readOptionalIn(reads, dir, "cpuacct.usage");
  if (usageText === undefined) {
    const path = cgroupFile(dir, "cpuacct.usage");
    reads.errors.push(
      new BoxscopeError("BXS_CGROUP_FILE_MISSING", `cpu: missing ${path}`, { context: { path } }),
    );
    return undefined;
  }
  const usageNs = Number(usageText.trim());
  // cpuacct.usage_user/usage_sys are in ns (exact); cpuacct.stat is the same split in USER_HZ ticks,
  // kept as the fallback for kernels without the ns files.
  let userNs: number | undefined;
  let systemNs: number | undefined;
  const split = options.userSystem ?? true;
  const ns = split === true;
  const u = ns ? readOptionalIn(reads, dir, "cpuacct.usage_user") : undefined;
  const s = ns ? readOptionalIn(reads, dir, "cpuacct.usage_sys") : undefined;
  if (u !== undefined && s !== undefined) {
    userNs = Number(u.trim());
    systemNs = Number(s.trim());
  } else if (split !== false) {
    const stat = parseFlatKeyed(readOptionalIn(reads, dir, "cpuacct.stat") ?? "");
    const ut = stat.get("user");
    const st = stat.get("system");
    if (ut !== undefined) userNs = ut * NS_PER_TICK;
    if (st !== undefined) systemNs = st * NS_PER_TICK;
  }
  let perCpu: Usage["perCpu"];
  const all = options.perCpu === false ? undefined : readOptionalIn(reads, dir, "cpuacct.usage_all");
  if (all !== undefined) perCpu = parseUsageAll(all);
  else if (options.perCpu !== false) {
    const percpu = readOptionalIn(reads, dir, "cpuacct.usage_percpu");
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

export function readCpu(handle: CgroupHandle, options: ReadCpuOptions = {}): WithErrors<CpuData | undefined> {
  const reads: FileReads = { files: options.files ?? DIRECT_FILES, errors: [] };
  const cpuset = readCpuset(handle, reads, options.sysRoot);
  const quotaCpus = readQuotaCpus(handle, reads);
  const acct = readCpuAccounting(handle, reads, options);
  return { data: acct === undefined ? undefined : { cpuset, quotaCpus, ...acct }, errors: reads.errors };
}

/** CPU time consumed and CFS throttling: what CpuData holds beyond the cpuset and the quota. */
export type CpuAccounting = Omit<CpuData, "cpuset" | "quotaCpus">;

/**
 * Usage (v1 cpuacct.*, v2 cpu.stat) and throttling counters (cpu.stat of the cpu controller);
 * undefined, with an error, when no usage counter exists.
 */
export function readCpuAccounting(
  handle: CgroupHandle,
  reads: FileReads,
  options: CpuAccountingOptions = {},
): CpuAccounting | undefined {
  let usage: Usage | undefined;
  const acct = handle.dirs.cpuacct;
  if (acct?.version === 1) usage = readUsageV1(reads, acct.dir, options);
  // v2 (or hybrid without a cpuacct hierarchy): cpu.stat is a core cgroup2 file, present in every
  // unified cgroup even when the cpu controller is not enabled there.
  const v2Dir = acct?.version === 2 ? acct.dir : usage === undefined ? handle.unifiedDir : undefined;
  let v2Stat: Map<string, number> | undefined;
  if (usage === undefined && v2Dir !== undefined) {
    const text = readOptionalIn(reads, v2Dir, "cpu.stat");
    if (text !== undefined) {
      v2Stat = parseFlatKeyed(text);
      usage = usageFromCpuStat(v2Stat);
    }
  }
  if (usage === undefined) {
    reads.errors.push(
      new BoxscopeError(
        "BXS_CGROUP_FILE_MISSING",
        "cpu: no usage counters (cpuacct.usage / cpu.stat usage_usec) found",
        {
          context: { cgroup: handle.path },
        },
      ),
    );
    return undefined;
  }

  let throttle: CpuData["throttle"];
  const cpuCtl = handle.dirs.cpu;
  if (cpuCtl !== undefined) {
    const stat =
      cpuCtl.version === 2 && cpuCtl.dir === v2Dir && v2Stat !== undefined
        ? v2Stat
        : parseFlatKeyed(readOptionalIn(reads, cpuCtl.dir, "cpu.stat") ?? "");
    const periods = stat.get("nr_periods");
    const throttled = stat.get("nr_throttled");
    const throttledNs =
      cpuCtl.version === 1 ? stat.get("throttled_time") : mul(stat.get("throttled_usec"), 1000);
    if (periods !== undefined && throttled !== undefined && throttledNs !== undefined) {
      throttle = { periods, throttled, throttledNs };
    }
  }
  const version: 1 | 2 = (cpuCtl ?? acct)?.version ?? 2;
  return { version, ...usage, ...(throttle ? { throttle } : {}) };
}

const mul = (v: number | undefined, k: number): number | undefined => (v === undefined ? undefined : v * k);
