/**
 * PSI of a cgroup: cpu/memory/io.pressure from the unified hierarchy (present on pure v2 and on
 * hybrid hosts' /sys/fs/cgroup/unified). Raw text, already in the kernel's /proc/pressure format.
 */
import type { WithErrors } from "../common/errors.js";
import { type CgroupReadOptions, DIRECT_FILES, type FileReads, readOptionalIn } from "./fsread.js";
import type { CgroupHandle, PressureData } from "./types.js";

export const PRESSURE_RESOURCES = ["cpu", "memory", "io"] as const;

export function readPressure(
  handle: CgroupHandle,
  options: CgroupReadOptions = {},
): WithErrors<PressureData> {
  const reads: FileReads = { files: options.files ?? DIRECT_FILES, errors: [] };
  const dir = handle.unifiedDir;
  if (dir === undefined) return { data: {}, errors: reads.errors };
  const data: { -readonly [K in keyof PressureData]: PressureData[K] } = {};
  for (const r of PRESSURE_RESOURCES) {
    const text = readOptionalIn(reads, dir, `${r}.pressure`);
    if (text !== undefined) data[r] = text;
  }
  return { data, errors: reads.errors };
}

/** The cumulative stall times of a PSI file, µs: `some` and, where the kernel writes it, `full`. */
export interface PressureTotals {
  readonly someUs: number | undefined;
  readonly fullUs: number | undefined;
}

/**
 * `some avg10=… total=N` / `full … total=N` → the totals. The averages are left out on purpose:
 * Prometheus derives any window from the counter. cpu.pressure's `full` line exists since 5.13
 * (all zeros at the system level, meaningful per cgroup).
 */
export function parsePressureTotals(text: string): PressureTotals {
  return { someUs: lineTotal(text, "some"), fullUs: lineTotal(text, "full") };
}

function lineTotal(text: string, kind: "some" | "full"): number | undefined {
  let start = 0;
  if (!text.startsWith(`${kind} `)) {
    const nl = text.indexOf(`\n${kind} `);
    if (nl < 0) return undefined;
    start = nl + 1;
  }
  const end = text.indexOf("\n", start);
  const line = text.slice(start, end < 0 ? undefined : end);
  const at = line.indexOf(" total=");
  if (at < 0) return undefined;
  const v = Number(line.slice(at + " total=".length));
  return Number.isFinite(v) ? v : undefined;
}
