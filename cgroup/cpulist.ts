/**
 * The kernel's CPU list format (`0-3,8,10-11`, see Documentation/admin-guide/cgroup-v1/cpusets.rst
 * and bitmap_parselist): used by cpuset.cpus, cpuset.effective_cpus and /sys/devices/system/cpu/online.
 * Hand-written: it is a dozen lines and no maintained npm package does exactly this format.
 */
import { BoxscopeError } from "../common/errors.js";

/** `"0-3,8,10-11"` → `[0,1,2,3,8,10,11]`, sorted and de-duplicated. Empty/blank text → `[]`. */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  const trimmed = text.trim();
  if (trimmed === "") return [];
  for (const part of trimmed.split(",")) {
    const item = part.trim();
    if (item === "") continue;
    // The kernel also accepts `a-b:stride/group`; cgroup files never print it, but parse it anyway.
    const m = /^(\d+)(?:-(\d+)(?::(\d+)\/(\d+))?)?$/.exec(item);
    if (!m)
      throw new BoxscopeError("BXS_CPU_LIST_INVALID", `invalid CPU list item "${item}" in "${trimmed}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo)
      throw new BoxscopeError("BXS_CPU_LIST_INVALID", `invalid CPU range "${item}" in "${trimmed}"`);
    const used = m[3] === undefined ? 1 : Number(m[3]);
    const group = m[4] === undefined ? 1 : Number(m[4]);
    if (group <= 0 || used <= 0)
      throw new BoxscopeError("BXS_CPU_LIST_INVALID", `invalid CPU range stride "${item}"`);
    for (let base = lo; base <= hi; base += group) {
      for (let i = base; i < base + used && i <= hi; i++) out.add(i);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** `[0,1,2,3,8,10,11]` → `"0-3,8,10-11"` (input order and duplicates do not matter). */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i] as number;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) {
      end += 1;
      i += 1;
    }
    parts.push(start === end ? `${start}` : `${start}-${end}`);
    i += 1;
  }
  return parts.join(",");
}
