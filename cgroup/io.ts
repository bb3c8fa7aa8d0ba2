/**
 * Block I/O: v2 io.stat; v1 blkio.* recursive files (CFQ names `blkio.io_*`, BFQ names
 * `blkio.bfq.io_*`), falling back per device to the throttle files, which every v1 kernel keeps
 * even when the CFQ/BFQ statistics are absent (mq-deadline/none schedulers).
 */
import {
  type CgroupFileSource,
  type CgroupReadOptions,
  cgroupFile,
  DIRECT_FILES,
  readOptionalIn,
} from "./fsread.js";
import type { CgroupHandle, IoData, IoDeviceStat } from "./types.js";

/** io.stat: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6` per device. */
export function parseIoStat(text: string): Map<string, IoDeviceStat> {
  const out = new Map<string, IoDeviceStat>();
  for (const line of text.split("\n")) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    if (dev === undefined || !/^\d+:\d+$/.test(dev)) continue;
    const kv = new Map<string, number>();
    for (const item of kvs) {
      const eq = item.indexOf("=");
      if (eq > 0) kv.set(item.slice(0, eq), Number(item.slice(eq + 1)));
    }
    const dbytes = kv.get("dbytes");
    const dios = kv.get("dios");
    out.set(dev, {
      readBytes: kv.get("rbytes") ?? 0,
      writeBytes: kv.get("wbytes") ?? 0,
      readIos: kv.get("rios") ?? 0,
      writeIos: kv.get("wios") ?? 0,
      ...(dbytes !== undefined ? { discardBytes: dbytes } : {}),
      ...(dios !== undefined ? { discardIos: dios } : {}),
    });
  }
  return out;
}

/** One device's v1 blkio row: the operation columns the kernel prints. */
export interface BlkioOps {
  read: number;
  write: number;
  sync: number;
  async: number;
  discard: number;
  total: number;
}

/** v1 blkio recursive files: `8:0 Read 123` … `8:0 Total 456`, and a final `Total N` line (skipped). */
export function parseBlkioRecursive(text: string): Map<string, BlkioOps> {
  const out = new Map<string, BlkioOps>();
  for (const line of text.split("\n")) {
    const [dev, op, value] = line.trim().split(/\s+/);
    if (dev === undefined || op === undefined || value === undefined || !/^\d+:\d+$/.test(dev)) continue;
    let row = out.get(dev);
    if (row === undefined) {
      row = { read: 0, write: 0, sync: 0, async: 0, discard: 0, total: 0 };
      out.set(dev, row);
    }
    const key = op.toLowerCase();
    if (key in row) row[key as keyof BlkioOps] = Number(value);
  }
  return out;
}

/** First file of `names` that exists under `dir`, parsed. */
function firstBlkio(
  dir: string,
  names: readonly string[],
  errors: string[],
  files: CgroupFileSource,
): Map<string, BlkioOps> | undefined {
  for (const n of names) {
    const text = readOptionalIn(dir, n, errors, files);
    if (text !== undefined) return parseBlkioRecursive(text);
  }
  return undefined;
}

const NS_PER_MS = 1e6;

/** Combines v1 blkio files into per-device stats (pure, for tests). */
export function combineBlkio(files: {
  serviced?: Map<string, BlkioOps>;
  serviceBytes?: Map<string, BlkioOps>;
  merged?: Map<string, BlkioOps>;
  serviceTime?: Map<string, BlkioOps>;
  waitTime?: Map<string, BlkioOps>;
  throttleServiced?: Map<string, BlkioOps>;
  throttleServiceBytes?: Map<string, BlkioOps>;
}): Map<string, IoDeviceStat> {
  const out = new Map<string, IoDeviceStat>();
  const devices = new Set<string>([
    ...(files.serviced?.keys() ?? []),
    ...(files.serviceBytes?.keys() ?? []),
    ...(files.throttleServiced?.keys() ?? []),
    ...(files.throttleServiceBytes?.keys() ?? []),
  ]);
  for (const dev of devices) {
    const sched = files.serviced?.get(dev);
    const schedBytes = files.serviceBytes?.get(dev);
    // The scheduler's counters only see I/O on devices it runs on; throttle counters see all.
    const useSched = (sched?.total ?? 0) > 0 || (schedBytes?.total ?? 0) > 0;
    const ios = useSched ? sched : files.throttleServiced?.get(dev);
    const bytes = useSched ? schedBytes : files.throttleServiceBytes?.get(dev);
    const stat: {
      -readonly [K in keyof IoDeviceStat]: IoDeviceStat[K];
    } = {
      readIos: ios?.read ?? 0,
      writeIos: ios?.write ?? 0,
      readBytes: bytes?.read ?? 0,
      writeBytes: bytes?.write ?? 0,
    };
    if ((ios?.discard ?? 0) > 0 || (bytes?.discard ?? 0) > 0) {
      stat.discardIos = ios?.discard ?? 0;
      stat.discardBytes = bytes?.discard ?? 0;
    }
    if (useSched) {
      const merged = files.merged?.get(dev);
      if (merged !== undefined) {
        stat.readMerged = merged.read;
        stat.writeMerged = merged.write;
      }
      const svc = files.serviceTime?.get(dev);
      const wait = files.waitTime?.get(dev);
      if (svc !== undefined || wait !== undefined) {
        stat.readTimeMs = Math.floor(((svc?.read ?? 0) + (wait?.read ?? 0)) / NS_PER_MS);
        stat.writeTimeMs = Math.floor(((svc?.write ?? 0) + (wait?.write ?? 0)) / NS_PER_MS);
      }
    }
    out.set(dev, stat);
  }
  return out;
}

export function readIo(
  handle: CgroupHandle,
  options: CgroupReadOptions = {},
): { data?: IoData; errors: string[] } {
  const errors: string[] = [];
  const files = options.files ?? DIRECT_FILES;
  const ctl = handle.dirs.io ?? handle.dirs.blkio;
  if (ctl === undefined) return { errors: ["io: controller not mounted"] };
  if (ctl.version === 2) {
    const text = readOptionalIn(ctl.dir, "io.stat", errors, files);
    if (text === undefined) {
      if (ctl.dir !== ctl.root) errors.push(`io: missing ${cgroupFile(ctl.dir, "io.stat")}`);
      return { errors };
    }
    return { data: parseIoStat(text), errors };
  }
  const d = ctl.dir;
  // Scheduler statistics: BFQ names first (CFQ is gone since 5.0), then CFQ. When the serviced
  // file is missing or all zero, the other scheduler files are not read at all (they would be
  // missing or zero too): on mq-deadline/none devices only the throttle counters move.
  let prefix: string | undefined;
  let serviced: Map<string, BlkioOps> | undefined;
  for (const p of ["blkio.bfq.", "blkio."]) {
    const text = readOptionalIn(d, `${p}io_serviced_recursive`, errors, files);
    if (text !== undefined) {
      prefix = p;
      serviced = parseBlkioRecursive(text);
      break;
    }
  }
  const schedActive = serviced !== undefined && [...serviced.values()].some((o) => o.total > 0);
  const sched = (stat: string): Map<string, BlkioOps> | undefined =>
    schedActive ? firstBlkio(d, [`${prefix}${stat}`], errors, files) : undefined;
  const blkio = {
    serviced: schedActive ? serviced : undefined,
    serviceBytes: sched("io_service_bytes_recursive"),
    merged: sched("io_merged_recursive"),
    serviceTime: sched("io_service_time_recursive"),
    waitTime: sched("io_wait_time_recursive"),
    throttleServiced: firstBlkio(
      d,
      ["blkio.throttle.io_serviced_recursive", "blkio.throttle.io_serviced"],
      errors,
      files,
    ),
    throttleServiceBytes: firstBlkio(
      d,
      ["blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes"],
      errors,
      files,
    ),
  };
  if (serviced === undefined && blkio.throttleServiced === undefined) {
    errors.push(`io: no blkio statistics files in ${d}`);
    return { errors };
  }
  return { data: combineBlkio(blkio), errors };
}
