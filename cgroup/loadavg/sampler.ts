import type { Logger } from "../../common/logger.js";
import type { TaskCounts } from "../types.js";
import { LOAD_FREQ_MS, type Loads, stepLoads, ZERO_LOADS } from "./math.js";

/** What the sampler knows about one container cgroup after its last sample. */
export interface LoadavgSample {
  /** 1/5/15-minute loads, kernel fixed point. */
  readonly loads: Loads;
  readonly running: number;
  readonly blocked: number;
  readonly total: number;
  readonly sampledAtMs: number;
}

export interface SamplerPassStats {
  readonly sampled: number;
  readonly vanished: number;
  readonly forgotten: number;
  readonly slices: number;
  /** Longest synchronous stretch of the pass, ms: how long the event loop was blocked at most. */
  readonly longestSliceMs: number;
  /** Slowest single cgroup of the pass, ms (a slice cannot be shorter than its slowest cgroup). */
  readonly slowestCgroupMs: number;
  readonly durationMs: number;
}

export interface LoadavgSampler {
  /** The last sample of a cgroup (path inside the hierarchy, e.g. `/docker/<id>`). */
  get(cgroupPath: string): LoadavgSample | undefined;
  /** Sample this cgroup from now on even if the container lister does not name it. */
  track(cgroupPath: string): void;
  /** One pass over every container; resolves when done. Exposed for tests and benchmarks. */
  runPass(): Promise<SamplerPassStats>;
  /** Starts passes every 5 s (timers unref'd: the sampler never keeps a process alive alone). */
  start(): void;
  stop(): Promise<void>;
}

export interface LoadavgSamplerOptions {
  /** The container cgroups that exist now (paths inside the hierarchy). */
  listCgroups: () => readonly string[];
  /** The cgroup's threads by state; undefined when the cgroup vanished (skipped, not an error). */
  countTasks: (cgroupPath: string) => TaskCounts | undefined;
  intervalMs?: number;
  /** Cgroups sampled per synchronous slice before yielding to the event loop. */
  sliceSize?: number;
  /** Yield early when a slice has run this long (ms), whatever its size. */
  sliceBudgetMs?: number;
  /** A cgroup missing on this many consecutive passes is forgotten. */
  forgetAfterMisses?: number;
  now?: () => number;
  logger?: Logger;
}

interface Entry {
  sample: LoadavgSample | undefined;
  misses: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Per-container load average (docs/views.md, Semantics): every 5 s count each container's R and
 * D threads and apply the kernel's fixed-point decay (stepLoads). LXCFS scans every container in
 * one blocking loop and freezes past ~250 containers (its issues 407, 504); this scan runs in
 * slices and yields between them, so a pass over 1,000 containers never holds the event loop (and
 * with it the FUSE reads) for more than one slice.
 */
export function createLoadavgSampler(opts: LoadavgSamplerOptions): LoadavgSampler {
  const intervalMs = opts.intervalMs ?? LOAD_FREQ_MS;
  const sliceSize = Math.max(1, opts.sliceSize ?? 32);
  const sliceBudgetMs = opts.sliceBudgetMs ?? 4;
  const forgetAfter = Math.max(1, opts.forgetAfterMisses ?? 3);
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const tracked = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SamplerPassStats> | undefined;
  let stopped = false;
  let started = false;

  function sampleOne(path: string, at: number): "sampled" | "vanished" | "forgotten" {
    let entry = entries.get(path);
    let counts: TaskCounts | undefined;
    try {
      counts = opts.countTasks(path);
    } catch (e) {
      opts.logger?.debug({ cgroup: path, err: e }, "loadavg sample failed");
    }
    if (counts === undefined) {
      if (entry === undefined) entry = { sample: undefined, misses: 0 };
      entry.misses++;
      if (entry.misses >= forgetAfter) {
        entries.delete(path);
        tracked.delete(path);
        return "forgotten";
      }
      entries.set(path, entry);
      return "vanished";
    }
    const prev = entry?.sample;
    const periods = prev === undefined ? 1 : Math.max(1, Math.round((at - prev.sampledAtMs) / intervalMs));
    const loads = stepLoads(prev?.loads ?? ZERO_LOADS, counts.running + counts.blocked, periods);
    entries.set(path, {
      misses: 0,
      sample: {
        loads,
        running: counts.running,
        blocked: counts.blocked,
        total: counts.total,
        sampledAtMs: at,
      },
    });
    return "sampled";
  }

  async function pass(): Promise<SamplerPassStats> {
    const started = performance.now();
    let listed: readonly string[] = [];
    try {
      listed = opts.listCgroups();
    } catch (e) {
      opts.logger?.warn({ err: e }, "loadavg: listing container cgroups failed; sampling tracked ones only");
    }
    const wanted = new Set([...listed, ...tracked]);
    // Containers no longer listed nor tracked are gone for good.
    let forgotten = 0;
    for (const path of entries.keys()) {
      if (!wanted.has(path)) {
        entries.delete(path);
        forgotten++;
      }
    }
    const order = [...wanted];
    let sampled = 0;
    let vanished = 0;
    let slices = 0;
    let longest = 0;
    let slowest = 0;
    let i = 0;
    while (i < order.length && !stopped) {
      const sliceStart = performance.now();
      const at = now();
      let inSlice = 0;
      while (i < order.length && inSlice < sliceSize) {
        const one = performance.now();
        const outcome = sampleOne(order[i] as string, at);
        slowest = Math.max(slowest, performance.now() - one);
        if (outcome === "sampled") sampled++;
        else if (outcome === "vanished") vanished++;
        else forgotten++;
        i++;
        inSlice++;
        if (performance.now() - sliceStart >= sliceBudgetMs) break;
      }
      slices++;
      longest = Math.max(longest, performance.now() - sliceStart);
      if (i < order.length) await yieldToEventLoop();
    }
    return {
      sampled,
      vanished,
      forgotten,
      slices,
      longestSliceMs: longest,
      slowestCgroupMs: slowest,
      durationMs: performance.now() - started,
    };
  }

  function runPass(): Promise<SamplerPassStats> {
    // One pass at a time: a slow pass delays the next instead of overlapping it.
    if (running === undefined) {
      running = pass().finally(() => {
        running = undefined;
      });
    }
    return running;
  }

  /** One pass, then the next one intervalMs later (until stopped). */
  function passThenSchedule(): void {
    void runPass()
      .catch((e: unknown) => opts.logger?.error({ err: e }, "loadavg pass failed"))
      .finally(schedule);
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(passThenSchedule, intervalMs);
    timer.unref();
  }

  return {
    get: (path) => entries.get(path)?.sample,
    track: (path) => {
      tracked.add(path);
    },
    runPass,
    start: () => {
      if (started) return;
      started = true;
      stopped = false;
      passThenSchedule();
    },
    stop: async () => {
      stopped = true;
      started = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
