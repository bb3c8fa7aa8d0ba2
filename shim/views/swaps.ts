import type { MemoryData } from "../../cgroup/types.js";
import { containerSwapKb } from "./swap.js";

/** The kernel's header line of /proc/swaps. */
export const SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

/**
 * /proc/swaps for a container: the header, plus one `none virtual` entry of the container's swap
 * (sizes in kB) when it has any, laid out like the kernel's swap_show (filename padded to 40
 * columns, an extra tab after numbers below 10,000,000). Swap not computable → the host's file.
 */
export function renderSwaps(
  memory: MemoryData | undefined,
  hostSwapTotalKb: number,
  hostText: string,
): string {
  const swap = containerSwapKb(memory, hostSwapTotalKb);
  if (swap === undefined) return hostText;
  if (swap.totalKb === 0) return SWAPS_HEADER;
  const name = "none";
  const pad = " ".repeat(Math.max(1, 40 - name.length));
  const tab = (v: number): string => (v < 10_000_000 ? "\t" : "");
  return `${SWAPS_HEADER}${name}${pad}virtual\t${swap.totalKb}\t${tab(swap.totalKb)}${swap.usedKb}\t${tab(swap.usedKb)}-1\n`;
}
