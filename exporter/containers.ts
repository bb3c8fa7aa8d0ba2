import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { type CpuAccounting, readCpuAccounting, readCpuShares, readQuotaCpus } from "../cgroup/cpu.js";
import { fileReads } from "../cgroup/fsread.js";
import { readIo } from "../cgroup/io.js";
import { readMemory } from "../cgroup/memory.js";
import { readCgroupMounts } from "../cgroup/mounts.js";
import { readPids } from "../cgroup/pids.js";
import { readPressure } from "../cgroup/pressure.js";
import { readCgroupPids, readCgroupPidsRecursive } from "../cgroup/tasks.js";
import type {
  CgroupHandle,
  ContainerIdentity,
  IoData,
  MemoryData,
  PidsData,
  PressureData,
} from "../cgroup/types.js";
import type { ContainerLabeler, ContainerLabels } from "../common/container-labels.js";
import { CgroupFileCache } from "./cgroup-files.js";
import { ContainerLister } from "./container-list.js";
import { type NetnsCounters, NetnsScrape } from "./sources/netns.js";

/**
 * What the CPU collector needs: usage and throttling, plus the effective quota (null = unlimited)
 * and the weight as v1 shares (undefined = no cpu controller).
 */
export interface ContainerCpu extends CpuAccounting {
  readonly quotaCpus: number | null;
  readonly shares: number | undefined;
}

/** One container's cgroup data from one read pass, by controller (undefined = could not be read). */
export interface ContainerReads {
  readonly memory: MemoryData | undefined;
  readonly cpu: ContainerCpu | undefined;
  readonly pids: PidsData | undefined;
  readonly io: IoData | undefined;
  readonly pressure: PressureData;
  /** Interface counters of its network namespace; undefined in the host's or without a process. */
  readonly network: NetnsCounters | undefined;
}

/** A live container as every container collector sees it in one scrape. */
export interface LiveContainer {
  readonly path: string;
  readonly identity: ContainerIdentity;
  readonly handle: CgroupHandle;
  readonly labels: ContainerLabels;
}

/** Every listed container's data, read in one pass. */
interface ReadPass {
  readonly list: LiveContainer[];
  readonly reads: ReadonlyMap<string, ContainerReads>;
}

export interface ContainerSourceOptions {
  /** Only containers under this cgroup path prefix ("" = all). */
  readonly cgroupPrefix: string;
  /** Between full walks of the cgroup tree (ContainerLister); 0 = a full walk every listing. */
  readonly fullWalkMs: number;
  readonly procRoot?: string;
  readonly now?: () => number;
}

/** Containers read between two yields to the event loop in a read pass. */
const SLICE = 32;

/**
 * The containers and their cgroup data, for all container collectors. Each collection begins with
 * refresh(): a pass that lists the containers and reads every one's files through the descriptor
 * cache, with cgroup/'s readers and rules (minimum over ancestors, v1/v2 file names), yielding to
 * the event loop between slices so a scrape or a health check arriving meanwhile is not held up
 * (CollectAhead runs collections between scrapes). One collection's collectors all see its pass
 * (the exporter refreshes, then runs them), so families agree with each other. Series of vanished
 * containers disappear with the first pass that no longer lists them.
 */
export class ContainerSource {
  /** The latest complete pass, or why the latest pass failed. */
  private current: ReadPass | undefined;
  private failure: unknown;
  private running: Promise<void> | undefined;
  private passes = 0;
  private closed = false;
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
  private readonly cpuOptions = { perCpu: false, userSystem: "ticks" } as const;
  private readonly now: () => number;
  private readonly procRoot: string;

  private readonly lister: ContainerLister;
  private readonly walkTimer: NodeJS.Timeout | undefined;
  private walking: Promise<void> | undefined;

  constructor(
    private readonly labeler: ContainerLabeler,
    private readonly options: ContainerSourceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.procRoot = options.procRoot ?? "/proc";
    this.lister = new ContainerLister(options.fullWalkMs);
    if (options.fullWalkMs > 0) {
      // Full walks in the background, a little more often than list() would do one itself, so a
      // pass only re-reads the known parents (see ContainerLister).
      this.walkTimer = setInterval(() => this.walkInBackground(), options.fullWalkMs * 0.9);
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

  /**
   * Reads every container (a new pass), or joins the pass running. Never rejects: a failed pass
   * makes containers() throw, so each container collector is down for that collection.
   */
  refresh(): Promise<void> {
    this.running ??= this.readAll()
      .then(
        (pass) => {
          if (pass === undefined) return;
          this.current = pass;
          this.failure = undefined;
        },
        (e: unknown) => {
          this.current = undefined;
          this.failure = e;
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async readAll(): Promise<ReadPass | undefined> {
    this.files.beginScrape(++this.passes);
    const list = this.listNow(this.now());
    const reads = new Map<string, ContainerReads>();
    const netns = new NetnsScrape(this.procRoot);
    for (let i = 0; i < list.length; i++) {
      if (i > 0 && i % SLICE === 0) {
        await yieldToEventLoop();
        if (this.closed) return undefined;
      }
      const c = list[i] as LiveContainer;
      reads.set(c.path, this.read(c, netns));
    }
    return { list, reads };
  }

  private read(c: LiveContainer, netns: NetnsScrape): ContainerReads {
    // The readings' errors are dropped: a value that could not be read is absent from the metrics.
    const reads = fileReads(this.files);
    const acct = readCpuAccounting(c.handle, reads, this.cpuOptions);
    const pid = readCgroupPids(c.handle, reads)[0] ?? readCgroupPidsRecursive(c.handle)[0];
    return {
      memory: readMemory(c.handle, this.memoryOptions).data,
      cpu: acct && {
        ...acct,
        quotaCpus: readQuotaCpus(c.handle, reads),
        shares: readCpuShares(c.handle, reads),
      },
      pids: readPids(c.handle, this.readOptions).data,
      io: readIo(c.handle, this.readOptions).data,
      pressure: readPressure(c.handle, this.readOptions).data,
      network: pid === undefined ? undefined : netns.countersOf(pid),
    };
  }

  /** The containers of the latest pass (this collection's). */
  containers(): LiveContainer[] {
    if (this.current === undefined) throw this.failure ?? new Error("containers not read yet");
    return this.current.list;
  }

  /**
   * The containers as of at most `maxAgeMs` ago, for lookups between scrapes (which container
   * owns a log directory): the last listing when recent enough, else a fresh listing.
   */
  recent(maxAgeMs: number, now = this.now()): readonly LiveContainer[] {
    if (this.last && now - this.last.at < maxAgeMs) return this.last.list;
    return this.listNow(now);
  }

  private listNow(now: number): LiveContainer[] {
    const prefix = this.options.cgroupPrefix;
    // Mounts rarely change, but re-reading them costs one small file and survives remounts.
    const list = this.lister
      .list(readCgroupMounts())
      .filter((c) => prefix === "" || c.path.startsWith(prefix))
      .map((c) => ({ ...c, labels: this.labeler.labelsFor(c.identity, c.identity.id) }));
    this.labeler.retain(new Set(list.map((c) => c.identity.id)));
    this.last = { at: now, list };
    return list;
  }

  private reads(c: LiveContainer): ContainerReads | undefined {
    return this.current?.reads.get(c.path);
  }

  memory(c: LiveContainer): MemoryData | undefined {
    return this.reads(c)?.memory;
  }

  cpu(c: LiveContainer): ContainerCpu | undefined {
    return this.reads(c)?.cpu;
  }

  pids(c: LiveContainer): PidsData | undefined {
    return this.reads(c)?.pids;
  }

  io(c: LiveContainer): IoData | undefined {
    return this.reads(c)?.io;
  }

  pressure(c: LiveContainer): PressureData {
    return this.reads(c)?.pressure ?? {};
  }

  network(c: LiveContainer): NetnsCounters | undefined {
    return this.reads(c)?.network;
  }

  /** Stops the background work and closes the cached descriptors (exporter stop). */
  close(): void {
    this.closed = true;
    if (this.walkTimer) clearInterval(this.walkTimer);
    this.files.close();
  }
}

export const CONTAINER_LABEL_NAMES = ["container_id", "container_name", "team"] as const;
