import { type CpuAccounting, readCpuAccounting, readCpuShares, readQuotaCpus } from "../cgroup/cpu.js";
import { readIo } from "../cgroup/io.js";
import { readMemory } from "../cgroup/memory.js";
import { readCgroupMounts } from "../cgroup/mounts.js";
import { readPids } from "../cgroup/pids.js";
import { readPressure } from "../cgroup/pressure.js";
import type {
  CgroupHandle,
  ContainerIdentity,
  IoData,
  MemoryData,
  PidsData,
  PressureData,
} from "../cgroup/types.js";
import { CgroupFileCache } from "./cgroup-files.js";
import { ContainerLister } from "./container-list.js";
import type { ContainerLabeler, ContainerLabels } from "./labels.js";

/**
 * What the CPU collector needs: usage and throttling, plus the effective quota (null = unlimited)
 * and the weight as v1 shares (undefined = no cpu controller).
 */
export interface ContainerCpu extends CpuAccounting {
  readonly quotaCpus: number | null;
  readonly shares: number | undefined;
}

/** One container's cgroup data read during one scrape, by controller (undefined = not read yet). */
interface ScrapeReads {
  memory?: MemoryData | null;
  cpu?: ContainerCpu | null;
  pids?: PidsData | null;
  io?: IoData | null;
  pressure?: PressureData;
}

/** A live container as every container collector sees it in one scrape. */
export interface LiveContainer {
  readonly path: string;
  readonly identity: ContainerIdentity;
  readonly handle: CgroupHandle;
  readonly labels: ContainerLabels;
}

/**
 * Lists container cgroups once per scrape for all container collectors (they ask with the scrape
 * id; the first ask walks the hierarchy, the others share it). Built fresh each scrape, so series
 * of vanished containers disappear.
 */
export class ContainerSource {
  /** This scrape's list, and the cgroup data read during it (by cgroup path). */
  private cached: { scrapeId: number; list: LiveContainer[]; reads: Map<string, ScrapeReads> } | undefined;
  /** The latest listing, whoever asked for it (see recent()). */
  private last: { at: number; list: LiveContainer[] } | undefined;
  private readonly files = new CgroupFileCache();
  private readonly readOptions = { files: this.files } as const;
  /** Swap: the usage alone (v2 memory.swap.current; v1's is in memory.stat), not the allowance's 1–3 files. */
  private readonly memoryOptions = { files: this.files, swap: "usage", maxUsage: true } as const;
  /**
   * The exporter has no per-CPU series; its user/system split comes from v1 cpuacct.stat (one file,
   * 10 ms ticks: plenty for rates over a scrape interval) rather than usage_user + usage_sys (two).
   */
  private readonly cpuOptions = { files: this.files, perCpu: false, userSystem: "ticks" } as const;

  private readonly lister: ContainerLister;
  private readonly walkTimer: NodeJS.Timeout | undefined;
  private walking: Promise<void> | undefined;

  constructor(
    private readonly labeler: ContainerLabeler,
    private readonly cgroupPrefix: string,
    fullWalkMs: number,
  ) {
    this.lister = new ContainerLister(fullWalkMs);
    if (fullWalkMs > 0) {
      // Full walks in the background, a little more often than list() would do one itself, so the
      // scrape only re-reads the known parents (see ContainerLister).
      this.walkTimer = setInterval(() => this.walkInBackground(), fullWalkMs * 0.9);
      this.walkTimer.unref();
    }
  }

  private walkInBackground(): void {
    if (this.walking) return;
    this.walking = Promise.resolve()
      .then(() => this.lister.walkInBackground(readCgroupMounts()))
      .catch(() => {}) // mounts unreadable this time: list()'s own walk still runs when due
      .finally(() => {
        this.walking = undefined;
      });
  }

  containers(scrapeId: number): LiveContainer[] {
    if (this.cached?.scrapeId === scrapeId) return this.cached.list;
    this.files.beginScrape(scrapeId);
    const list = this.listNow();
    this.cached = { scrapeId, list, reads: new Map() };
    return list;
  }

  /**
   * The containers as of at most `maxAgeMs` ago, for lookups between scrapes (which container
   * owns a log directory): the last scrape's list when recent enough, else a fresh listing.
   */
  recent(maxAgeMs: number, now = Date.now()): readonly LiveContainer[] {
    if (this.last && now - this.last.at < maxAgeMs) return this.last.list;
    return this.listNow(now);
  }

  private listNow(now = Date.now()): LiveContainer[] {
    // Mounts rarely change, but re-reading them costs one small file and survives remounts.
    const list = this.lister
      .list(readCgroupMounts())
      .filter((c) => this.cgroupPrefix === "" || c.path.startsWith(this.cgroupPrefix))
      .map((c) => ({ ...c, labels: this.labeler.labelsFor(c.identity, c.identity.id) }));
    this.labeler.retain(new Set(list.map((c) => c.identity.id)));
    this.last = { at: now, list };
    return list;
  }

  /**
   * This scrape's reads of a container: each controller's files are read once per scrape, whichever
   * collectors ask (memory: the memory and OOM collectors). Through the descriptor cache, with
   * cgroup/'s readers and rules (minimum over ancestors, v1/v2 file names).
   */
  private reads(c: LiveContainer): ScrapeReads {
    let r = this.cached?.reads.get(c.path);
    if (r === undefined) {
      r = {};
      this.cached?.reads.set(c.path, r);
    }
    return r;
  }

  memory(c: LiveContainer): MemoryData | undefined {
    const r = this.reads(c);
    r.memory ??= readMemory(c.handle, this.memoryOptions).data ?? null;
    return r.memory ?? undefined;
  }

  cpu(c: LiveContainer): ContainerCpu | undefined {
    const r = this.reads(c);
    if (r.cpu === undefined) {
      const errors: string[] = [];
      const acct = readCpuAccounting(c.handle, errors, this.cpuOptions);
      r.cpu =
        acct === undefined
          ? null
          : {
              ...acct,
              quotaCpus: readQuotaCpus(c.handle, errors, this.files),
              shares: readCpuShares(c.handle, errors, this.files),
            };
    }
    return r.cpu ?? undefined;
  }

  pids(c: LiveContainer): PidsData | undefined {
    const r = this.reads(c);
    r.pids ??= readPids(c.handle, this.readOptions).data ?? null;
    return r.pids ?? undefined;
  }

  io(c: LiveContainer): IoData | undefined {
    const r = this.reads(c);
    r.io ??= readIo(c.handle, this.readOptions).data ?? null;
    return r.io ?? undefined;
  }

  pressure(c: LiveContainer): PressureData {
    const r = this.reads(c);
    r.pressure ??= readPressure(c.handle, this.readOptions).data;
    return r.pressure;
  }

  /** Stops the background walk and closes the cached descriptors (exporter stop). */
  close(): void {
    if (this.walkTimer) clearInterval(this.walkTimer);
    this.files.close();
  }
}

export const CONTAINER_LABEL_NAMES = ["container_id", "container_name", "team"] as const;
