import { parseCfsQuota, parseCpuMax } from "../cgroup/cpu.js";
import { parseCount, parseLimit } from "../cgroup/fsread.js";
import { ancestorDirs } from "../cgroup/handle.js";
import type { CgroupHandle } from "../cgroup/types.js";
import type { CgroupFileCache } from "./cgroup-files.js";

/** What the exporter needs of a container's memory (same meanings as cgroup/'s MemoryData). */
export interface ContainerMemory {
  readonly usageBytes: number;
  /** Minimum over the cgroup and its ancestors; null = unlimited. */
  readonly limitBytes: number | null;
  /** Page cache (v1 total_cache, v2 file) and its active/inactive split, bytes. */
  readonly stat: { readonly cache?: number; readonly activeFile?: number; readonly inactiveFile?: number };
  readonly oomKills: number | undefined;
}

export interface ContainerCpu {
  readonly usageNs: number;
  /** Quota in CPUs, minimum over ancestors; null = unlimited. */
  readonly quotaCpus: number | null;
}

export interface ContainerPids {
  readonly current: number;
  readonly max: number | null;
}

/** The file paths one container's scrape reads, computed once per container (not per scrape). */
interface Plan {
  readonly memory?: {
    readonly v1: boolean;
    readonly usage: string;
    readonly stat: string;
    readonly events: string;
    /** Limit file per level, the cgroup's own first. */
    readonly limits: readonly string[];
  };
  readonly cpuUsage?: { readonly file: string; readonly v2: boolean };
  readonly cpuQuota?: { readonly v1: boolean; readonly levels: ReadonlyArray<readonly [string, string]> };
  readonly pids?: { readonly current: string; readonly limits: readonly string[] };
}

function planFor(h: CgroupHandle): Plan {
  const levels = (ctl: { dir: string; root: string }) => ancestorDirs(ctl.dir, ctl.root);
  const mem = h.dirs.memory;
  const acct = h.dirs.cpuacct;
  const cpu = h.dirs.cpu;
  const pids = h.dirs.pids;
  const usageDir = acct?.version === 1 ? undefined : (acct?.dir ?? h.unifiedDir);
  return {
    ...(mem && {
      memory: {
        v1: mem.version === 1,
        usage: `${mem.dir}/${mem.version === 1 ? "memory.usage_in_bytes" : "memory.current"}`,
        stat: `${mem.dir}/memory.stat`,
        events: `${mem.dir}/${mem.version === 1 ? "memory.oom_control" : "memory.events"}`,
        limits: levels(mem).map((d) => `${d}/${mem.version === 1 ? "memory.limit_in_bytes" : "memory.max"}`),
      },
    }),
    ...(acct?.version === 1
      ? { cpuUsage: { file: `${acct.dir}/cpuacct.usage`, v2: false } }
      : usageDir !== undefined
        ? { cpuUsage: { file: `${usageDir}/cpu.stat`, v2: true } }
        : {}),
    ...(cpu && {
      cpuQuota: {
        v1: cpu.version === 1,
        levels: levels(cpu).map((d): readonly [string, string] =>
          cpu.version === 1 ? [`${d}/cpu.cfs_quota_us`, `${d}/cpu.cfs_period_us`] : [`${d}/cpu.max`, ""],
        ),
      },
    }),
    ...(pids && {
      pids: { current: `${pids.dir}/pids.current`, limits: levels(pids).map((d) => `${d}/pids.max`) },
    }),
  };
}

/**
 * Value of `key` in a flat-keyed cgroup file ("key value" lines). A scan instead of cgroup/'s
 * parseFlatKeyed (which builds a Map of every key) because the exporter reads 3 keys of memory.stat
 * for 500 containers per scrape and the garbage of 40-entry maps showed up in profiles.
 */
export function flatKey(text: string, key: string): number | undefined {
  let at = text.startsWith(`${key} `) ? 0 : text.indexOf(`\n${key} `);
  if (at < 0) return undefined;
  if (at > 0) at += 1;
  const start = at + key.length + 1;
  const end = text.indexOf("\n", start);
  const v = Number(text.slice(start, end < 0 ? undefined : end));
  return Number.isFinite(v) ? v : undefined;
}

/**
 * The exporter's hot-path reads of container cgroups, through the descriptor cache, with the
 * cgroup/ parsers for values and limits. Ancestor limit files (shared by every container under
 * /docker, /kubepods...) are read once per scrape.
 */
export class ContainerReaders {
  private memo = new Map<string, string | undefined>();
  private plans = new Map<string, Plan>();
  private planUsed = new Set<string>();

  constructor(private readonly files: CgroupFileCache) {}

  beginScrape(scrapeId: number): void {
    this.files.beginScrape(scrapeId);
    this.memo = new Map();
    for (const path of this.plans.keys()) if (!this.planUsed.has(path)) this.plans.delete(path);
    this.planUsed = new Set();
  }

  private plan(h: CgroupHandle): Plan {
    this.planUsed.add(h.path);
    let p = this.plans.get(h.path);
    if (!p) {
      p = planFor(h);
      this.plans.set(h.path, p);
    }
    return p;
  }

  /** The cgroup's own file fresh; ancestors' once per scrape. */
  private readLevel(path: string, own: boolean): string | undefined {
    if (own) return this.files.read(path);
    if (this.memo.has(path)) return this.memo.get(path);
    const text = this.files.read(path);
    this.memo.set(path, text);
    return text;
  }

  private minLimit(files: readonly string[]): number | null {
    let min: number | null = null;
    files.forEach((f, i) => {
      const t = this.readLevel(f, i === 0);
      const v = t === undefined ? undefined : parseLimit(t);
      if (typeof v === "number" && (min === null || v < min)) min = v;
    });
    return min;
  }

  memory(h: CgroupHandle): ContainerMemory | undefined {
    const m = this.plan(h).memory;
    if (!m) return undefined;
    const usage = parseCount(this.files.read(m.usage));
    const stat = this.files.read(m.stat);
    if (usage === undefined || stat === undefined) return undefined;
    const events = this.files.read(m.events) ?? "";
    return {
      usageBytes: usage,
      limitBytes: this.minLimit(m.limits),
      stat: m.v1
        ? {
            cache: flatKey(stat, "total_cache"),
            activeFile: flatKey(stat, "total_active_file"),
            inactiveFile: flatKey(stat, "total_inactive_file"),
          }
        : {
            cache: flatKey(stat, "file"),
            activeFile: flatKey(stat, "active_file"),
            inactiveFile: flatKey(stat, "inactive_file"),
          },
      oomKills: flatKey(events, "oom_kill"),
    };
  }

  cpu(h: CgroupHandle): ContainerCpu | undefined {
    const p = this.plan(h);
    if (!p.cpuUsage) return undefined;
    const text = this.files.read(p.cpuUsage.file);
    if (text === undefined) return undefined;
    const usec = p.cpuUsage.v2 ? flatKey(text, "usage_usec") : undefined;
    const usageNs = p.cpuUsage.v2 ? (usec === undefined ? undefined : usec * 1000) : parseCount(text);
    if (usageNs === undefined) return undefined;
    let quotaCpus: number | null = null;
    p.cpuQuota?.levels.forEach(([quotaFile, periodFile], i) => {
      const own = i === 0;
      const q = this.readLevel(quotaFile, own);
      if (q === undefined) return;
      let v: number | null | undefined;
      if (!p.cpuQuota?.v1) v = parseCpuMax(q);
      else if (q.trim() === "-1")
        v = null; // unlimited: skip reading the period
      else {
        const period = this.readLevel(periodFile, own);
        v = period === undefined ? undefined : parseCfsQuota(q, period);
      }
      if (typeof v === "number" && (quotaCpus === null || v < quotaCpus)) quotaCpus = v;
    });
    return { usageNs, quotaCpus };
  }

  pids(h: CgroupHandle): ContainerPids | undefined {
    const p = this.plan(h).pids;
    if (!p) return undefined;
    const current = parseCount(this.files.read(p.current));
    if (current === undefined) return undefined;
    return { current, max: this.minLimit(p.limits) };
  }
}
