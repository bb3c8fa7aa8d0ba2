import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { type CpuAccounting, readCpuAccounting, readCpuShares, readQuotaCpus } from "../cgroup/cpu.js";
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
import { CgroupFileCache } from "./cgroup-files.js";
import { ContainerLister } from "./container-list.js";
import type { ContainerLabeler, ContainerLabels } from "./labels.js";
import { ScrapeCadence } from "./scrape-cadence.js";
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

/** Every listed container's data, read in one pass that began at `startedAt` (ms). */
interface ReadPass {
  readonly startedAt: number;
  readonly durationMs: number;
  readonly list: LiveContainer[];
  readonly reads: ReadonlyMap<string, ContainerReads>;
}

export interface ContainerSourceOptions {
  /** Only containers under this cgroup path prefix ("" = all). */
  readonly cgroupPrefix: string;
  /** Between full walks of the cgroup tree (ContainerLister); 0 = a full walk every listing. */
  readonly fullWalkMs: number;
  /** How old a read pass may be when a scrape uses it; 0 = every scrape reads for itself. */
  readonly maxAgeMs: number;
  readonly procRoot?: string;
  readonly now?: () => number;
}

/** Containers read between two yields to the event loop in a read pass. */
const SLICE = 32;
/** A read-ahead pass begins at least this long before the expected scrape. */
const MIN_LEAD_MS = 200;

/**
 * The containers and their cgroup data, for all container collectors. Data is read in passes: a
 * pass lists the containers and reads every one's files through the descriptor cache, with
 * cgroup/'s readers and rules (minimum over ancestors, v1/v2 file names), yielding to the event
 * loop between slices so a scrape or a health check arriving meanwhile is not held up.
 *
 * Reading hundreds of containers takes tens of milliseconds, most of it the kernel generating the
 * files; inside a scrape that is the scrape's latency. So a pass runs ahead of each scraper's next
 * expected scrape (ScrapeCadence: Prometheus scrapes at a fixed interval) and the scrape uses it
 * when it began at most `maxAgeMs` ago; otherwise the scrape waits for a pass of its own. Values
 * are then a fraction of a second old, by about the same amount at every scrape of a scraper, so
 * rates over them stay true. All collectors of one scrape see the same pass (`containers(scrapeId)`
 * pins it), so families agree with each other. Series of vanished containers disappear with the
 * first pass that no longer lists them.
 */
export class ContainerSource {
  /** The latest complete pass, or why the latest pass failed. */
  private current: ReadPass | undefined;
  private failure: unknown;
  /** The pass the scrape with this id reads. */
  private pinned: { scrapeId: number; pass: ReadPass } | undefined;
  private running: Promise<void> | undefined;
  private lastPassMs = 0;
  private passes = 0;
  /** Passes by what started them: a scrape that found none fresh enough, or a read-ahead timer. */
  readonly passCounts = { scrape: 0, ahead: 0 };
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
  private readonly cpuOptions = { files: this.files, perCpu: false, userSystem: "ticks" } as const;
  private readonly cadence = new ScrapeCadence();
  private readonly readAhead = new Map<string, NodeJS.Timeout>();
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
   * Before a scrape's collectors run: waits for a pass unless the latest began at most `maxAgeMs`
   * ago. Never throws: a failed pass makes containers() throw, so each container collector is down.
   */
  async prepare(): Promise<void> {
    const c = this.current;
    if (c !== undefined && this.now() - c.startedAt <= this.options.maxAgeMs && this.options.maxAgeMs > 0)
      return;
    await this.pass("scrape");
  }

  /**
   * A scrape by `client` (the scraper's address) arrived: when its cadence is known, a pass is
   * scheduled to begin `lead` before the client's next expected scrape, or right away when that
   * scrape is due within `maxAgeMs` (a pass begun now still serves it, however irregular the
   * client: a bench, a person with curl).
   */
  scrapedBy(client: string): void {
    if (this.options.maxAgeMs === 0 || this.closed) return;
    const now = this.now();
    const next = this.cadence.observe(client, now);
    clearTimeout(this.readAhead.get(client));
    this.readAhead.delete(client);
    if (next === undefined) return;
    const lead = this.leadMs();
    const timer = setTimeout(
      () => {
        this.readAhead.delete(client);
        const c = this.current;
        // A pass this recent serves the coming scrape too (another client's, or the scrape's own).
        if (c !== undefined && this.now() - c.startedAt < lead) return;
        void this.pass("ahead");
      },
      next - now <= this.options.maxAgeMs ? 0 : next - lead - now,
    );
    timer.unref();
    this.readAhead.set(client, timer);
  }

  /**
   * How long before an expected scrape its pass begins: the pass's own duration with room to spare
   * for a late timer, within half the allowed age.
   */
  private leadMs(): number {
    return Math.min(this.options.maxAgeMs / 2, Math.max(MIN_LEAD_MS, 50 + 3 * this.lastPassMs));
  }

  /** Runs a pass, or joins the one running. Never rejects. */
  private pass(trigger: keyof ContainerSource["passCounts"]): Promise<void> {
    if (this.running) return this.running;
    this.passCounts[trigger]++;
    this.running = this.readAll()
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
    const startedAt = this.now();
    const t0 = performance.now();
    this.files.beginScrape(++this.passes);
    const list = this.listNow(startedAt);
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
    this.lastPassMs = performance.now() - t0;
    return { startedAt, durationMs: this.lastPassMs, list, reads };
  }

  private read(c: LiveContainer, netns: NetnsScrape): ContainerReads {
    const errors: string[] = [];
    const acct = readCpuAccounting(c.handle, errors, this.cpuOptions);
    const pid = readCgroupPids(c.handle, errors, this.files)[0] ?? readCgroupPidsRecursive(c.handle)[0];
    return {
      memory: readMemory(c.handle, this.memoryOptions).data,
      cpu: acct && {
        ...acct,
        quotaCpus: readQuotaCpus(c.handle, errors, this.files),
        shares: readCpuShares(c.handle, errors, this.files),
      },
      pids: readPids(c.handle, this.readOptions).data,
      io: readIo(c.handle, this.readOptions).data,
      pressure: readPressure(c.handle, this.readOptions).data,
      network: pid === undefined ? undefined : netns.countersOf(pid),
    };
  }

  /** The containers of this scrape: the pass prepare() made ready, the same for every collector. */
  containers(scrapeId: number): LiveContainer[] {
    if (this.pinned?.scrapeId !== scrapeId) {
      if (this.current === undefined) throw this.failure ?? new Error("containers not read yet");
      this.pinned = { scrapeId, pass: this.current };
    }
    return this.pinned.pass.list;
  }

  /** The pass this scrape reads: its age when the scrape began and how long reading it took, ms. */
  passOf(scrapeId: number, now = this.now()): { ageMs: number; durationMs: number } {
    this.containers(scrapeId);
    const pass = (this.pinned as { pass: ReadPass }).pass;
    return { ageMs: now - pass.startedAt, durationMs: pass.durationMs };
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
    return this.pinned?.pass.reads.get(c.path);
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
    for (const t of this.readAhead.values()) clearTimeout(t);
    this.readAhead.clear();
    this.files.close();
  }
}

export const CONTAINER_LABEL_NAMES = ["container_id", "container_name", "team"] as const;
