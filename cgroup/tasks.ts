/** The processes and threads of a cgroup, and their scheduler states (for loadavg and procs_running). */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type FileReads, fileReads, readOptionalIn, readQuiet } from "./fsread.js";
import { parseProcStat } from "./process.js";
import type { CgroupHandle, TaskCounts } from "./types.js";

/** cgroup.procs / tasks text → pids (one per line). */
export function parsePidList(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t !== "" && /^\d+$/.test(t)) out.push(Number(t));
  }
  return out;
}

/** The hierarchy whose cgroup.procs lists the container's processes: memory, pids, cpu, else unified. */
export function procsDir(handle: CgroupHandle): string | undefined {
  return handle.dirs.memory?.dir ?? handle.dirs.pids?.dir ?? handle.dirs.cpu?.dir ?? handle.unifiedDir;
}

/**
 * Pids in the cgroup itself (cgroup.procs is not recursive: processes in child cgroups are not
 * listed; see readCgroupPidsRecursive). A vanished cgroup gives [].
 */
export function readCgroupPids(handle: CgroupHandle, reads: FileReads = fileReads()): number[] {
  const dir = procsDir(handle);
  if (dir === undefined) return [];
  const text = readOptionalIn(reads, dir, "cgroup.procs");
  return text === undefined ? [] : parsePidList(text);
}

/** Pids of the cgroup and all its descendants (a container with systemd inside has sub-cgroups). */
export function readCgroupPidsRecursive(handle: CgroupHandle, maxDepth = 8): number[] {
  const dir = procsDir(handle);
  if (dir === undefined) return [];
  const out: number[] = [];
  const walk = (d: string, depth: number): void => {
    const text = readQuiet(join(d, "cgroup.procs"));
    if (text === undefined) return;
    for (const p of parsePidList(text)) out.push(p);
    if (depth >= maxDepth) return;
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(d, e.name), depth + 1);
  };
  walk(dir, 0);
  return out;
}

/**
 * Threads of the given processes by state, from /proc/<pid>/task/<tid>/stat field 3.
 * Processes or threads that vanish while counting are skipped silently.
 */
export function countTasks(pids: readonly number[], procRoot = "/proc"): TaskCounts {
  let running = 0;
  let blocked = 0;
  let total = 0;
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(join(procRoot, String(pid), "task"));
    } catch {
      continue;
    }
    for (const tid of tids) {
      const text = readQuiet(join(procRoot, String(pid), "task", tid, "stat"));
      if (text === undefined) continue;
      const st = parseProcStat(text);
      if (st === undefined) continue;
      total += 1;
      if (st.state === "R") running += 1;
      else if (st.state === "D") blocked += 1;
    }
  }
  return { running, blocked, total };
}
