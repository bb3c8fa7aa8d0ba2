/** Pure parsers of host /proc and /sys text used by the host collectors. No I/O here. */

import { parseLoadavg } from "../cgroup/host.js";
import { BoxscopeError } from "../common/errors.js";

/** A host file not in the kernel's format: the collector reading it fails this scrape. */
export function unexpected(message: string): BoxscopeError {
  return new BoxscopeError("BXS_HOST_FORMAT_UNEXPECTED", message);
}

/** /proc/loadavg "0.15 0.06 0.01 3/103 7217": the 4th field's total is every task (thread) alive. */
export function parseLoadavgThreads(text: string): number {
  const loadavg = parseLoadavg(text);
  if (!loadavg) throw unexpected(`unexpected /proc/loadavg: ${JSON.stringify(text.trim())}`);
  return loadavg.total;
}

/** A single-integer file such as /proc/sys/kernel/pid_max. */
export function parseIntFile(text: string, what: string): number {
  const n = Number(text.trim());
  if (!Number.isFinite(n)) throw unexpected(`unexpected ${what}: ${JSON.stringify(text.trim())}`);
  return n;
}

/**
 * /proc/net/stat/nf_conntrack: a header naming the columns, then one row of hex numbers per CPU.
 * Returns each column summed over CPUs, except `entries` (the same global count on every row).
 */
export function parseConntrackStat(text: string): Map<string, number> {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  const sums = new Map<string, number>(header.map((h) => [h, 0]));
  for (const line of lines.slice(1)) {
    const cols = line.trim().split(/\s+/);
    header.forEach((h, i) => {
      const v = Number.parseInt(cols[i] ?? "", 16);
      if (Number.isNaN(v))
        throw unexpected(`nf_conntrack stat: bad value in column ${h}: ${JSON.stringify(line)}`);
      sums.set(h, h === "entries" ? v : (sums.get(h) ?? 0) + v);
    });
  }
  return sums;
}

/** `btime` (boot time, Unix seconds) from /proc/stat. */
export function parseBtime(text: string): number {
  const m = /^btime (\d+)$/m.exec(text);
  if (!m?.[1]) throw unexpected("no btime in /proc/stat");
  return Number(m[1]);
}
