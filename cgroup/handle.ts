/**
 * Resolves a cgroup to directories on disk, per controller. A controller is served by its v1
 * hierarchy when one is mounted (hybrid hosts bind everything but hugetlb/misc to v1), else by the
 * unified hierarchy when enabled there. v1 `blkio` is v2 `io`, and v1 `cpuacct` accounting lives in
 * v2 `cpu` (cpu.stat), so both names resolve on either version and readers check `version`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readCgroupMounts } from "./mounts.js";
import { readProcCgroups } from "./proc-cgroup.js";
import type { CgroupHandle, CgroupMounts, Controller, ProcCgroups } from "./types.js";

export const CONTROLLERS: readonly Controller[] = [
  "memory",
  "cpu",
  "cpuacct",
  "cpuset",
  "pids",
  "blkio",
  "io",
];

/** The name of a boxscope controller on a v1 hierarchy. */
const V1_NAME: Record<Controller, string> = {
  memory: "memory",
  cpu: "cpu",
  cpuacct: "cpuacct",
  cpuset: "cpuset",
  pids: "pids",
  blkio: "blkio",
  io: "blkio",
};
/** The name of a boxscope controller on cgroup2. */
const V2_NAME: Record<Controller, string> = {
  memory: "memory",
  cpu: "cpu",
  cpuacct: "cpu",
  cpuset: "cpuset",
  pids: "pids",
  blkio: "io",
  io: "io",
};

type Dirs = { -readonly [K in Controller]?: { version: 1 | 2; dir: string; root: string } };

/** Joins a hierarchy mount point and a cgroup path (`/` stays the mount point itself). */
export function cgroupDir(mountPoint: string, path: string): string {
  return path === "/" || path === "" ? mountPoint : join(mountPoint, path);
}

function build(
  mounts: CgroupMounts,
  v1PathOf: (ctrl: string) => string | undefined,
  unifiedPath: string | undefined,
  canonical: string,
): CgroupHandle {
  const dirs: Dirs = {};
  for (const ctrl of CONTROLLERS) {
    const v1Name = V1_NAME[ctrl];
    const v1Mount = mounts.v1.get(v1Name);
    if (v1Mount !== undefined) {
      const p = v1PathOf(v1Name);
      if (p !== undefined) dirs[ctrl] = { version: 1, dir: cgroupDir(v1Mount, p), root: v1Mount };
      continue;
    }
    const v2Name = V2_NAME[ctrl];
    if (mounts.unified !== undefined && unifiedPath !== undefined && mounts.unifiedControllers.has(v2Name)) {
      dirs[ctrl] = { version: 2, dir: cgroupDir(mounts.unified, unifiedPath), root: mounts.unified };
    }
  }
  const unifiedDir =
    mounts.unified !== undefined && unifiedPath !== undefined
      ? cgroupDir(mounts.unified, unifiedPath)
      : undefined;
  return { path: canonical, dirs, unifiedDir };
}

/** A process's cgroups (from /proc/<pid>/cgroup) resolved against the mounts. */
export function resolveHandle(mounts: CgroupMounts, procCgroups: ProcCgroups): CgroupHandle {
  const canonical = procCgroups.v1.get("memory") ?? procCgroups.unified ?? "/";
  return build(mounts, (c) => procCgroups.v1.get(c), procCgroups.unified, canonical);
}

/**
 * The same cgroup path in every hierarchy (for `--cgroup PATH` and for containers found by walking
 * one hierarchy: container runtimes create the same path in each v1 hierarchy).
 */
export function handleForPath(mounts: CgroupMounts, path: string): CgroupHandle {
  const p = normalizeCgroupPath(path);
  return build(mounts, () => p, p, p);
}

/**
 * `docker/abc/` → `/docker/abc`; `` → `/`. `..` pops a component but never climbs above the
 * hierarchy root, so a user-supplied `--cgroup` can never name a directory outside the cgroup fs.
 */
export function normalizeCgroupPath(path: string): string {
  const parts: string[] = [];
  for (const s of path.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") parts.pop();
    else parts.push(s);
  }
  return `/${parts.join("/")}`;
}

export interface HandleForPidOptions {
  readonly procRoot?: string;
  /** Mounts to resolve against; default: read from procRoot. */
  readonly mounts?: CgroupMounts;
}

/** The cgroup handle of a process; undefined when the process does not exist. */
export function handleForPid(pid: number, options: HandleForPidOptions = {}): CgroupHandle | undefined {
  const procRoot = options.procRoot ?? "/proc";
  const procCgroups = readProcCgroups(pid, procRoot);
  if (procCgroups === undefined) return undefined;
  const mounts = options.mounts ?? readCgroupMounts(procRoot);
  return resolveHandle(mounts, procCgroups);
}

/** True when at least one of the handle's directories exists (i.e. the cgroup is real). */
export function handleExists(handle: CgroupHandle): boolean {
  for (const d of Object.values(handle.dirs)) if (d !== undefined && existsSync(d.dir)) return true;
  return handle.unifiedDir !== undefined && handle.path !== "/" ? existsSync(handle.unifiedDir) : false;
}

/**
 * Directories from `dir` up to `root` inclusive (child first), for minimum-over-ancestors limits.
 * If `dir` is not under `root`, only `dir` is returned.
 */
export function ancestorDirs(dir: string, root: string): string[] {
  const out = [dir];
  if (dir === root || !dir.startsWith(`${root}/`)) return out;
  let cur = dir;
  while (cur !== root) {
    const slash = cur.lastIndexOf("/");
    if (slash <= 0) break;
    cur = cur.slice(0, slash);
    if (cur.length < root.length) break;
    out.push(cur);
  }
  return out;
}
