import { mkdirSync, readdirSync, readFileSync, readlinkSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { FuseBinding } from "../native/binding.js";
import { errnoName, mountsAt, parseMountinfo } from "./mountpoint.js";

/** One mount point of a namespace whose boxscope binds belong to a dead connection. */
export interface StaleBind {
  mountPoint: string;
  /** Path inside our filesystem that was bound there ("/proc/meminfo"). */
  root: string;
  /** How many stale boxscope mounts are stacked there (one per daemon that died). */
  count: number;
}

/** The boxscope mounts in `mountinfo` on one of `deadDevs` (connections this mountpoint served). */
export function staleBinds(mountinfo: string, deadDevs: ReadonlySet<string>): StaleBind[] {
  const byPoint = new Map<string, StaleBind>();
  for (const m of parseMountinfo(mountinfo)) {
    if (m.fsType !== "fuse.boxscope" || !deadDevs.has(m.dev)) continue;
    const known = byPoint.get(m.mountPoint);
    if (known) known.count++;
    else byPoint.set(m.mountPoint, { mountPoint: m.mountPoint, root: m.root, count: 1 });
  }
  return [...byPoint.values()];
}

export interface HealReport {
  namespaces: number;
  rebound: number;
  failed: number;
}

const readlinkQuiet = (path: string): string | undefined => {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
};

/** Devices (FUSE connections) served at a mountpoint, remembered across restarts. */
const DEVS_DIR = "/run/boxscope/shim-devs";
const MAX_DEVS = 64;

function devsFile(mountpoint: string): string {
  return join(DEVS_DIR, encodeURIComponent(mountpoint));
}

export function readServedDevs(mountpoint: string): string[] {
  try {
    return readFileSync(devsFile(mountpoint), "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** Adds the live device to the list of connections this mountpoint has served (bounded). */
export function rememberServedDev(mountpoint: string, dev: string): void {
  const devs = [...readServedDevs(mountpoint).filter((d) => d !== dev), dev].slice(-MAX_DEVS);
  mkdirSync(DEVS_DIR, { recursive: true });
  writeFileSync(devsFile(mountpoint), `${devs.join("\n")}\n`);
}

/** major:minor of the live boxscope mount at `mountpoint`, if any. */
export function liveDev(mountpoint: string): string | undefined {
  return mountsAt(mountpoint)
    .filter((m) => m.fsType === "fuse.boxscope")
    .at(-1)?.dev;
}

/** A bind whose connection is dead answers ENOTCONN; seen through the namespace's root. */
function isDeadBind(pid: number, mountPoint: string): boolean {
  try {
    statfsSync(`/proc/${pid}/root${mountPoint}`);
    return false;
  } catch (e) {
    return errnoCode(e) === "ENOTCONN" || errnoCode(e) === "ECONNABORTED";
  }
}

/**
 * After a restart, containers still hold binds of the dead daemon's files (every read: ENOTCONN).
 * For each other mount namespace with binds of a connection this mountpoint served (`deadDevs`)
 * that answer ENOTCONN, replace them with clones of the live files, so running containers recover
 * without a restart. A bind of a live connection (another daemon, a reused device number) is never
 * touched. Never throws: a namespace that cannot be repaired is logged and left as it was.
 */
export async function healStaleBinds(
  mountpoint: string,
  deadDevs: ReadonlySet<string>,
  binding: FuseBinding,
  log: Logger,
): Promise<HealReport> {
  const report: HealReport = { namespaces: 0, rebound: 0, failed: 0 };
  if (deadDevs.size === 0) return report;
  const seen = new Set<string>([readlinkQuiet("/proc/self/ns/mnt") ?? ""]);
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const ns = readlinkQuiet(`/proc/${name}/ns/mnt`);
    if (ns === undefined || seen.has(ns)) continue;
    seen.add(ns);
    let stale: StaleBind[];
    try {
      stale = staleBinds(readFileSync(`/proc/${name}/mountinfo`, "utf8"), deadDevs).filter((b) =>
        isDeadBind(Number(name), b.mountPoint),
      );
    } catch {
      continue; // the process ended meanwhile
    }
    if (stale.length === 0) continue;
    report.namespaces++;
    const pid = Number(name);
    try {
      const results = await binding.rebind(
        pid,
        stale.map((s) => join(mountpoint, s.root)),
        stale.map((s) => s.mountPoint),
        stale.map((s) => s.count),
      );
      const failed = stale.flatMap((s, i) =>
        results[i] === 0 ? [] : [`${s.mountPoint}: ${errnoName(results[i] ?? 0)}`],
      );
      report.rebound += stale.length - failed.length;
      report.failed += failed.length;
      log.info(
        { containerPid: pid, rebound: stale.length - failed.length, failed },
        "replaced stale bind mounts of a dead daemon in a container's namespace",
      );
    } catch (e) {
      report.failed += stale.length;
      log.warn(
        { pid, err: typeof e === "number" ? errnoName(e) : e },
        "cannot repair a namespace's stale binds",
      );
    }
  }
  return report;
}
