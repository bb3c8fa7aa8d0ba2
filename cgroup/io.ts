/**
 * Block I/O: v2 io.stat; v1 blkio.* recursive files (CFQ names `blkio.io_*`, BFQ names
 * `blkio.bfq.io_*`), falling back per device to the throttle files, which every v1 kernel keeps
 * even when the CFQ/BFQ statistics are absent (mq-deadline/none schedulers).
 */
import { BoxscopeError, type WithErrors } from "../common/errors.js";
import {
  type CgroupReadOptions,
  cgroupFile,
  controllerMissing,
  DIRECT_FILES,
  type FileReads,
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
  reads: FileReads,
  dir: string,
  names: readonly string[],
): Map<string, BlkioOps> | undefined {
  for (const n of names) {
    const text = readOptionalIn(reads, dir, n);
    if (text !== undefined) return parseBlkioRecursive(text);
  }
  return undefined;
}

/** The v1 blkio files a device's statistics are combined from (combineBlkio), each parsed. */
export interface BlkioFiles {
  /** Scheduler (BFQ or CFQ) counters: read only when the serviced file shows I/O. */
  readonly serviced?: Map<string, BlkioOps>;
  readonly serviceBytes?: Map<string, BlkioOps>;
  readonly merged?: Map<string, BlkioOps>;
  readonly serviceTime?: Map<string, BlkioOps>;
  readonly waitTime?: Map<string, BlkioOps>;
  /** Throttle counters: every v1 kernel keeps them, whatever the scheduler. */
  readonly throttleServiced?: Map<string, BlkioOps>;
  readonly throttleServiceBytes?: Map<string, BlkioOps>;
}

const NS_PER_MS = 1e6;

/** Combines v1 blkio files into per-device stats (pure, for tests). */
export function combineBlkio(files: BlkioFiles): Map<string, IoDeviceStat> {
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
): WithErrors<IoData | undefined> {
  const ctl = handle.dirs.io ?? handle.dirs.blkio;
  if (ctl === undefined) return { data: undefined, errors: [controllerMissing("io")] };
  const reads: FileReads = { files: options.files ?? DIRECT_FILES, errors: [] };
  if (ctl.version === 2) {
    const text = readOptionalIn(reads, ctl.dir, "io.stat");
    if (text === undefined && ctl.dir !== ctl.root) {
      const path = cgroupFile(ctl.dir, "io.stat");
      reads.errors.push(
        new BoxscopeError("BXS_CGROUP_FILE_MISSING", `io: missing ${path}`, { context: { path } }),
      );
    }
    return { data: text === undefined ? undefined : parseIoStat(text), errors: reads.errors };
  }
  const blkio = readBlkioFiles(reads, ctl.dir);
  if (blkio === undefined) {
    reads.errors.push(
      new BoxscopeError("BXS_CGROUP_FILE_MISSING", `io: no blkio statistics files in ${ctl.dir}`, {
        context: { dir: ctl.dir },
      }),
    );
    return { data: undefined, errors: reads.errors };
  }
  return { data: combineBlkio(blkio), errors: reads.errors };
}

/** The v1 blkio files of the cgroup directory `dir`; undefined when it has neither serviced file. */
function readBlkioFiles(reads: FileReads, dir: string): BlkioFiles | undefined {
  // Scheduler statistics: BFQ names first (CFQ is gone since 5.0), then CFQ. When the serviced
  // file is missing or all zero, the other scheduler files are not read at all (they would be
  // missing or zero too): on mq-deadline/none devices only the throttle counters move.
  let prefix: string | undefined;
  let serviced: Map<string, BlkioOps> | undefined;
  for (const p of ["blkio.bfq.", "blkio."]) {
    const text = readOptionalIn(reads, dir, `${p}io_serviced_recursive`);
    if (text !== undefined) {
      prefix = p;
      serviced = parseBlkioRecursive(text);
      break;
    }
  }
  const schedActive = serviced !== undefined && [...serviced.values()].some((o) => o.total > 0);
  const sched = (stat: string): Map<string, BlkioOps> | undefined =>
    schedActive ? firstBlkio(reads, dir, [`${prefix}${stat}`]) : undefined;
  const files: BlkioFiles = {
    serviced: schedActive ? serviced : undefined,
    serviceBytes: sched("io_service_bytes_recursive"),
    merged: sched("io_merged_recursive"),
    serviceTime: sched("io_service_time_recursive"),
    waitTime: sched("io_wait_time_recursive"),
    throttleServiced: firstBlkio(reads, dir, [
      "blkio.throttle.io_serviced_recursive",
      "blkio.throttle.io_serviced",
    ]),
    throttleServiceBytes: firstBlkio(reads, dir, [
      "blkio.throttle.io_service_bytes_recursive",
      "blkio.throttle.io_service_bytes",
    ]),
  };
  return serviced === undefined && files.throttleServiced === undefined ? undefined : files;
}
