import type { MemoryData } from "../../cgroup/types.js";

/** A container's swap in kB, as meminfo and swaps show it. */
export interface ContainerSwapKb {
  readonly totalKb: number;
  readonly usedKb: number;
  readonly freeKb: number;
}

/**
 * The container's swap, or undefined when it cannot be computed (no memory data, or swap
 * accounting off) and the host's lines apply. Total = the cgroup's swap allowance capped by the
 * host's SwapTotal (unlimited → host's); used is capped by total so SwapFree never underflows
 * (LXCFS prints 2^64-ish values when usage exceeds the limit).
 */
export function containerSwapKb(
  memory: MemoryData | undefined,
  hostSwapTotalKb: number,
): ContainerSwapKb | undefined {
  if (memory === undefined || memory.swapLimitBytes === undefined) return undefined;
  const hostTotal = Math.max(0, hostSwapTotalKb);
  const totalKb =
    memory.swapLimitBytes === null
      ? hostTotal
      : Math.min(hostTotal, Math.floor(memory.swapLimitBytes / 1024));
  const usedKb = Math.min(totalKb, Math.max(0, Math.floor((memory.swapUsageBytes ?? 0) / 1024)));
  return { totalKb, usedKb, freeKb: totalKb - usedKb };
}
