import type { HostDiskstat, IoData, IoDeviceStat } from "../../cgroup/types.js";

/**
 * /proc/diskstats for a container: one line per host device (host order) the container did I/O
 * on, with the kernel's layout `%4d %7d %s` then the numbers separated by single spaces, as many
 * numbers as the host's kernel prints (11, 15 or 17). Field meanings (Documentation/admin-guide/
 * iostats.rst): reads, reads merged, sectors read, ms reading, writes, writes merged, sectors
 * written, ms writing, in flight, ms doing I/O, weighted ms, discards, discards merged, sectors
 * discarded, ms discarding, flushes, ms flushing. A cgroup gives counts, bytes (÷512 = sectors),
 * merges and times on v1 only; the rest is 0. io undefined → the host's lines.
 */
export function renderDiskstats(host: readonly HostDiskstat[], io: IoData | undefined): string {
  let out = "";
  for (const d of host) {
    if (io === undefined) {
      out += formatDiskstatLine(d.major, d.minor, d.name, d.fields);
      continue;
    }
    const s = io.get(`${d.major}:${d.minor}`);
    if (s === undefined || !touched(s)) continue;
    out += formatDiskstatLine(d.major, d.minor, d.name, containerFields(s, d.fields.length));
  }
  return out;
}

export function formatDiskstatLine(
  major: number,
  minor: number,
  name: string,
  fields: readonly number[],
): string {
  return `${String(major).padStart(4)} ${String(minor).padStart(7)} ${name} ${fields.join(" ")}\n`;
}

function touched(s: IoDeviceStat): boolean {
  return s.readIos + s.writeIos + (s.discardIos ?? 0) + s.readBytes + s.writeBytes > 0;
}

function containerFields(s: IoDeviceStat, count: number): number[] {
  const sectors = (bytes: number | undefined): number => Math.floor((bytes ?? 0) / 512);
  const readMs = Math.floor(s.readTimeMs ?? 0);
  const writeMs = Math.floor(s.writeTimeMs ?? 0);
  const all = [
    s.readIos,
    s.readMerged ?? 0,
    sectors(s.readBytes),
    readMs,
    s.writeIos,
    s.writeMerged ?? 0,
    sectors(s.writeBytes),
    writeMs,
    0, // in flight: not tracked per cgroup
    readMs + writeMs, // ms doing I/O: the container's service time is the best bound it has
    readMs + writeMs,
    s.discardIos ?? 0,
    0,
    sectors(s.discardBytes),
    0,
    0,
    0,
  ];
  const fields = all.slice(0, Math.max(11, count));
  while (fields.length < count) fields.push(0);
  return fields;
}
