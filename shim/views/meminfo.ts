import type { HostMeminfo, MemoryData } from "../../cgroup/types.js";
import { containerSwapKb } from "./swap.js";

/**
 * How much of the page cache to count as used (docs/views.md, Semantics): memcg
 * neither reclaims slab nor caps dirty cache, so a container's free memory looks larger than it is.
 * The moved amount leaves Cached and MemAvailable, so both of procps' formulas for "used"
 * (total − free − buffers − cache, and total − available) count it as used.
 */
export type CacheAsUsed =
  | { readonly mode: "none" }
  | { readonly mode: "active_file" }
  | { readonly mode: "percent"; readonly percent: number };

export const CACHE_AS_USED_NONE: CacheAsUsed = { mode: "none" };

export interface MeminfoInput {
  readonly host: HostMeminfo;
  /** The container's memory; undefined → the host's file unchanged. */
  readonly memory: MemoryData | undefined;
  readonly cacheAsUsed?: CacheAsUsed;
}

/**
 * /proc/meminfo for a container, in the host's line order with the kernel's layout
 * (`%-16s%8lu kB`: the key and colon padded to 16 columns, the value right-aligned in 8). Lines the
 * cgroup cannot tell (HugePages, Committed_AS, Vmalloc...) keep the host's value.
 */
export function renderMeminfo(input: MeminfoInput): string {
  const values = new Map(input.host.entries.map((e) => [e.key, e.value]));
  const overrides = input.memory ? containerMeminfoKb(input.memory, values, input.cacheAsUsed) : new Map();
  let out = "";
  for (const e of input.host.entries) out += formatMeminfoLine(e.key, overrides.get(e.key) ?? e.value, e.kb);
  return out;
}

export function formatMeminfoLine(key: string, value: number, kb: boolean): string {
  const label = `${key}:`;
  return `${label.padEnd(16)}${String(value).padStart(8)}${kb ? " kB" : ""}\n`;
}

const kbOf = (bytes: number | undefined): number | undefined =>
  bytes === undefined ? undefined : Math.max(0, Math.floor(bytes / 1024));

/** The container's values (kB) keyed by meminfo field; fields absent here keep the host's. */
function containerMeminfoKb(
  memory: MemoryData,
  host: ReadonlyMap<string, number>,
  cacheAsUsed: CacheAsUsed = CACHE_AS_USED_NONE,
): Map<string, number> {
  const out = new Map<string, number>();
  const set = (key: string, v: number | undefined): void => {
    if (v !== undefined && Number.isFinite(v)) out.set(key, Math.max(0, Math.floor(v)));
  };
  const hostTotal = host.get("MemTotal") ?? 0;
  const limitKb = kbOf(memory.limitBytes ?? undefined);
  const total = limitKb === undefined ? hostTotal : Math.min(hostTotal, limitKb);
  const usage = Math.min(total, kbOf(memory.usageBytes) ?? 0);
  const free = total - usage;
  const s = memory.stat;
  const activeAnon = kbOf(s.activeAnon);
  const inactiveAnon = kbOf(s.inactiveAnon);
  const activeFile = kbOf(s.activeFile);
  const inactiveFile = kbOf(s.inactiveFile);
  const shmem = kbOf(s.shmem);
  const sReclaimable = kbOf(s.slabReclaimable);
  const cached = kbOf(s.cache);
  const moved = Math.min(cached ?? 0, movedCacheKb(cacheAsUsed, cached ?? 0, activeFile ?? 0));

  set("MemTotal", total);
  set("MemFree", free);
  const available = free + (activeFile ?? 0) + (inactiveFile ?? 0) + (sReclaimable ?? 0) - moved;
  set("MemAvailable", Math.min(total, Math.max(free, available)));
  // Buffers and SwapCached are host-wide kernel figures with no per-cgroup counterpart: a
  // container's share of them is not known, and the host's would make procps subtract host
  // buffers from the container's memory.
  set("Buffers", 0);
  set("SwapCached", 0);
  set("Cached", cached === undefined ? undefined : cached - moved);
  if (activeAnon !== undefined && activeFile !== undefined) set("Active", activeAnon + activeFile);
  if (inactiveAnon !== undefined && inactiveFile !== undefined) set("Inactive", inactiveAnon + inactiveFile);
  set("Active(anon)", activeAnon);
  set("Inactive(anon)", inactiveAnon);
  set("Active(file)", activeFile);
  set("Inactive(file)", inactiveFile);
  set("Unevictable", kbOf(s.unevictable));
  set("Dirty", kbOf(s.dirty));
  set("Writeback", kbOf(s.writeback));
  if (activeAnon !== undefined && inactiveAnon !== undefined) {
    set("AnonPages", activeAnon + inactiveAnon - (shmem ?? 0));
  }
  set("Mapped", kbOf(s.mapped));
  set("Shmem", shmem);
  // Slab is per cgroup on v2 only. Unknown (v1), the host's slab must not stand in: procps adds
  // SReclaimable to buff/cache, so the host's ~100 MB would show in every small container.
  const slabKnown = s.slab !== undefined || sReclaimable !== undefined;
  set("Slab", slabKnown ? kbOf(s.slab) : 0);
  set("SReclaimable", slabKnown ? sReclaimable : 0);
  set("KReclaimable", slabKnown ? sReclaimable : 0);
  set("SUnreclaim", slabKnown ? kbOf(s.slabUnreclaimable) : 0);

  const swap = containerSwapKb(memory, host.get("SwapTotal") ?? 0);
  if (swap !== undefined) {
    set("SwapTotal", swap.totalKb);
    set("SwapFree", swap.freeKb);
  }
  return out;
}

function movedCacheKb(c: CacheAsUsed, cachedKb: number, activeFileKb: number): number {
  switch (c.mode) {
    case "none":
      return 0;
    case "active_file":
      return activeFileKb;
    case "percent":
      return Math.floor((cachedKb * Math.min(100, Math.max(0, c.percent))) / 100);
  }
}
