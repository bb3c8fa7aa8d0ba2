import type { CpuData, HostStat, TaskCounts } from "../../cgroup/types.js";

/** USER_HZ: /proc/stat counts clock ticks of 1/100 s on every Linux ABI. */
export const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;

/** /proc/stat cpu columns, kernel order. */
export const STAT_COLUMNS = 10;
const USER = 0;
const SYSTEM = 2;
const IDLE = 3;

/**
 * Per visible CPU (renumbered index), the ten /proc/stat columns in ticks. The glue keeps the last
 * value served per container and passes it back through `advanceStatCounters`.
 */
export type StatCounters = ReadonlyArray<readonly number[]>;

/**
 * The container's cpu columns right now, before monotonic smoothing. `capacityTicks` is the elapsed
 * time each visible CPU could have run since the container started (its uptime in ticks).
 *
 * busy per CPU: v1 with per-CPU data (cpuacct.usage_all / usage_percpu) when the visible CPUs are
 * the whole cpuset, each host CPU's own numbers; otherwise (v2, or a quota that hides part of the
 * cpuset, whose time must still be counted) the total user/system spread evenly over the visible
 * CPUs. busy is then capped at capacity (user and system scaled together), so a quota-limited
 * container never shows more than 100% and idle = capacity − busy is never negative.
 */
export function statReading(cpu: CpuData, visible: readonly number[], capacityTicks: number): number[][] {
  const n = Math.max(1, visible.length);
  const perCpu = cpu.perCpu;
  const shown = new Set(visible);
  // Per-CPU numbers only when no time was spent on a CPU the container does not see.
  const useOwnCpus =
    perCpu !== undefined &&
    visible.length > 0 &&
    perCpu.every((p, hostCpu) => shown.has(hostCpu) || p.userNs + p.systemNs === 0);
  const busy: Array<{ user: number; system: number }> = [];
  if (useOwnCpus && perCpu !== undefined) {
    for (const hostCpu of visible) {
      const p = perCpu[hostCpu];
      busy.push({ user: (p?.userNs ?? 0) / NS_PER_TICK, system: (p?.systemNs ?? 0) / NS_PER_TICK });
    }
  } else {
    const { userNs, systemNs } = splitUsage(cpu);
    for (let i = 0; i < n; i++)
      busy.push({ user: userNs / n / NS_PER_TICK, system: systemNs / n / NS_PER_TICK });
  }
  const capacity = Math.max(0, capacityTicks);
  return busy.map(({ user, system }) => {
    const total = user + system;
    const scale = total > capacity && total > 0 ? capacity / total : 1;
    const u = Math.floor(user * scale);
    const s = Math.floor(system * scale);
    const row = new Array<number>(STAT_COLUMNS).fill(0);
    row[USER] = u;
    row[SYSTEM] = s;
    row[IDLE] = Math.max(0, Math.floor(capacity) - u - s);
    return row;
  });
}

/** user/system ns: cpu.stat / cpuacct.stat split when given, else all of usage as user. */
function splitUsage(cpu: CpuData): { userNs: number; systemNs: number } {
  if (cpu.userNs !== undefined && cpu.systemNs !== undefined) {
    return { userNs: cpu.userNs, systemNs: cpu.systemNs };
  }
  return { userNs: cpu.usageNs, systemNs: 0 };
}

/**
 * The pure state transition that keeps /proc/stat monotonic between reads (top and vmstat compute
 * deltas; a counter going backwards shows nonsense): every column is the maximum of what was served
 * last and the new reading. When the visible CPU count changes (cpuset or quota changed) the rows no
 * longer line up, so the reading starts a new series.
 */
export function advanceStatCounters(prev: StatCounters | undefined, reading: StatCounters): StatCounters {
  if (prev === undefined || prev.length !== reading.length) return reading.map((r) => [...r]);
  return reading.map((row, i) => {
    const before = prev[i] ?? [];
    return row.map((v, j) => Math.max(v, before[j] ?? 0));
  });
}

export interface StatInput {
  readonly host: HostStat;
  /** The container's counters (after advanceStatCounters); undefined → the host's cpu lines. */
  readonly counters: StatCounters | undefined;
  /** The container's threads by state, for procs_running/procs_blocked; undefined → host's. */
  readonly tasks: TaskCounts | undefined;
}

/**
 * /proc/stat: `cpu  ` aggregate (two spaces, as the kernel prints), one `cpuN` per visible CPU, then
 * the host's other lines (intr, ctxt, btime, processes, softirq...) with procs_running and
 * procs_blocked replaced by the container's.
 */
export function renderStat(input: StatInput): string {
  const rows =
    input.counters ?? [...input.host.perCpu.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
  const total =
    input.counters === undefined
      ? input.host.total
      : rows.reduce<number[]>(
          (acc, r) => acc.map((v, j) => v + (r[j] ?? 0)),
          new Array(STAT_COLUMNS).fill(0),
        );
  let out = `cpu  ${total.join(" ")}\n`;
  if (input.counters === undefined) {
    for (const [n, r] of [...input.host.perCpu.entries()].sort((a, b) => a[0] - b[0]))
      out += `cpu${n} ${r.join(" ")}\n`;
  } else {
    rows.forEach((r, i) => {
      out += `cpu${i} ${r.join(" ")}\n`;
    });
  }
  for (const { key, rest } of input.host.other) {
    let value = rest;
    if (input.tasks !== undefined && key === "procs_running") value = String(input.tasks.running);
    if (input.tasks !== undefined && key === "procs_blocked") value = String(input.tasks.blocked);
    out += `${key} ${value}\n`;
  }
  return out;
}
