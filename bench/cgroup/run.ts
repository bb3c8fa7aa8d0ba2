/**
 * Cost of the cgroup readers on this machine, next to the anchor: a bare readFileSync of the same
 * cgroup files with no parsing (the floor any reader pays). Also the container listing over 100 and
 * 1,000 container cgroups (temporary directory tree shaped like a docker cgroupfs hierarchy).
 * Run: npm run bench:cgroup
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { handleForPid } from "../../cgroup/handle.js";
import { listContainerCgroups } from "../../cgroup/list.js";
import { readCgroupMounts } from "../../cgroup/mounts.js";
import { readSnapshot } from "../../cgroup/snapshot.js";
import { countTasks, readCgroupPids } from "../../cgroup/tasks.js";
import type { CgroupHandle } from "../../cgroup/types.js";

function time(label: string, iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(50, iterations); i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const us = Number(process.hrtime.bigint() - t0) / 1000 / iterations;
  console.log(`${label.padEnd(52)} ${us.toFixed(1).padStart(9)} µs/op`);
  return us;
}

/** The files readSnapshot reads on a v1 host for one cgroup (ancestors add a few limit files). */
function snapshotFiles(h: CgroupHandle): string[] {
  const f: string[] = [];
  const add = (dir: string | undefined, names: string[]): void => {
    if (dir !== undefined) for (const n of names) f.push(join(dir, n));
  };
  if (h.dirs.memory?.version === 1) {
    add(h.dirs.memory.dir, [
      "memory.usage_in_bytes",
      "memory.stat",
      "memory.limit_in_bytes",
      "memory.memsw.usage_in_bytes",
      "memory.memsw.limit_in_bytes",
      "memory.oom_control",
      "memory.failcnt",
    ]);
    add(h.dirs.cpuset?.dir, ["cpuset.effective_cpus"]);
    add(h.dirs.cpu?.dir, ["cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.stat"]);
    add(h.dirs.cpuacct?.dir, [
      "cpuacct.usage",
      "cpuacct.usage_user",
      "cpuacct.usage_sys",
      "cpuacct.usage_all",
    ]);
    add(h.dirs.blkio?.dir, [
      "blkio.throttle.io_serviced_recursive",
      "blkio.throttle.io_service_bytes_recursive",
    ]);
  } else {
    add(h.dirs.memory?.dir, [
      "memory.current",
      "memory.stat",
      "memory.max",
      "memory.events",
      "memory.swap.current",
    ]);
    add(h.dirs.cpu?.dir, [
      "cpu.stat",
      "cpu.max",
      "cpuset.cpus.effective",
      "io.stat",
      "pids.current",
      "pids.max",
    ]);
  }
  return f;
}

const mounts = readCgroupMounts();
const handle = handleForPid(process.pid, { mounts });
if (handle === undefined) throw new Error("cannot resolve this process's cgroup");
const files = snapshotFiles(handle).filter((p) => {
  try {
    readFileSync(p);
    return true;
  } catch {
    return false;
  }
});
console.log(`cgroup ${handle.path}; anchor reads ${files.length} files`);
const anchor = time("anchor: readFileSync of the same files, no parsing", 2000, () => {
  for (const p of files) readFileSync(p, "utf8");
});
const snap = time("readSnapshot (memory, cpu, pids, io, pressure)", 2000, () => {
  readSnapshot(handle);
});
console.log(`ratio readSnapshot / anchor: ${(snap / anchor).toFixed(2)}`);
time("countTasks(readCgroupPids) of this cgroup", 2000, () => {
  countTasks(readCgroupPids(handle));
});

for (const n of [100, 1000]) {
  const root = mkdtempSync(join(tmpdir(), "boxscope-bench-cgroup-"));
  try {
    for (let i = 0; i < n; i++) {
      const d = join(root, "docker", i.toString(16).padStart(64, "0"));
      mkdirSync(d, { recursive: true });
      for (const sub of ["a", "b"]) mkdirSync(join(d, sub));
    }
    mkdirSync(join(root, "system.slice/cron.service"), { recursive: true });
    const m = { v1: new Map([["memory", root]]), unified: undefined, unifiedControllers: new Set<string>() };
    const ms = time(`listContainerCgroups over ${n} containers`, n === 100 ? 500 : 50, () => {
      if (listContainerCgroups(m).length !== n) throw new Error("wrong count");
    });
    console.log(`  per container: ${(ms / n).toFixed(2)} µs`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
