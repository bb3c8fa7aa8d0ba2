import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseMountinfo } from "../../shim/fuse/mountpoint.js";

/**
 * Real cgroups for the views' live tests, on this hybrid host (v1 memory/cpu/cpuacct/cpuset/pids/
 * blkio) or on a pure cgroup v2 host (one unified directory). The tests speak in limits
 * (setMemoryLimit, setQuota...) and this helper writes the right file for the version.
 */
const V1_CONTROLLERS = ["memory", "cpu", "cpuacct", "cpuset", "pids", "blkio"] as const;
/** The v1 controllers a live cgroup is created in on a hybrid/v1 host (shim/fuse tests use it too). */
export const LIVE_CONTROLLERS = V1_CONTROLLERS;
const V2_CONTROLLERS = ["cpuset", "cpu", "io", "memory", "pids"] as const;
const ROOT = "/sys/fs/cgroup";

function version(): 1 | 2 | undefined {
  if (V1_CONTROLLERS.every((c) => existsSync(join(ROOT, c, "cgroup.procs")))) return 1;
  if (existsSync(join(ROOT, "cgroup.controllers"))) {
    const have = readFileSync(join(ROOT, "cgroup.controllers"), "utf8").split(/\s+/);
    if (V2_CONTROLLERS.every((c) => have.includes(c))) return 2;
  }
  return undefined;
}

/** The root cgroup's `cgroup.procs` of every hierarchy: writing a pid to each makes it a host process. */
export function rootProcsFiles(): string[] {
  if (version() === 2) return [join(ROOT, "cgroup.procs")];
  return readdirSync(ROOT)
    .map((h) => join(ROOT, h, "cgroup.procs"))
    .filter((f) => existsSync(f));
}

export function liveCgroupsAvailable(): boolean {
  return process.getuid?.() === 0 && version() !== undefined;
}

export interface LiveCgroup {
  readonly version: 1 | 2;
  /** Path inside the hierarchies, e.g. `/boxscope-test-views-ab12cd`. */
  readonly path: string;
  /** The cgroup's directory serving a v1 controller (on v2: the one unified directory). */
  dir(v1Controller: (typeof V1_CONTROLLERS)[number]): string;
  setMemoryLimit(bytes: number): void;
  setCpuset(cpus: string): void;
  setQuota(quotaUs: number, periodUs: number): void;
  setPidsMax(n: number): void;
  /**
   * Makes the kernel count the cgroup's I/O on device `majMin`: v1 blkio without CFQ (gone since
   * Linux 5.0) counts only on devices with a throttle rule, so set one far above any device's
   * speed; v2 io.stat counts always.
   */
  countIoOn(majMin: string): void;
  /** Number of threads in the cgroup as the kernel lists them (v1 tasks, v2 cgroup.threads). */
  threadCount(): number;
  /** Starts `sh -c script` with the shell already inside the cgroup (it joins, then runs the script). */
  spawnInside(script: string): ChildProcess;
  /** Kills every process left inside and removes the cgroup directories. */
  destroy(): Promise<void>;
}

/** A fresh cgroup with a unique name; always pair with destroy() in t.after. */
export function createLiveCgroup(part: string): LiveCgroup {
  const v = version();
  if (v === undefined) throw new Error("no cgroup v1 controllers nor a cgroup2 root with them");
  const path = `/boxscope-test-${part}-${randomBytes(4).toString("hex")}`;
  const dirs = v === 1 ? V1_CONTROLLERS.map((c) => join(ROOT, c, path)) : [join(ROOT, path)];
  const dir = (v1Controller: (typeof V1_CONTROLLERS)[number]): string =>
    v === 1 ? join(ROOT, v1Controller, path) : join(ROOT, path);
  if (v === 2) {
    // Controllers must be enabled in the parent for the child's files to exist (systemd usually has).
    try {
      writeFileSync(join(ROOT, "cgroup.subtree_control"), V2_CONTROLLERS.map((c) => `+${c}`).join(" "));
    } catch {
      // already enabled, or refused: the writes below then fail with a clear error
    }
  }
  for (const d of dirs) mkdirSync(d);
  if (v === 1) {
    // A v1 cpuset cgroup starts empty: tasks cannot join until cpus and mems are set.
    writeFileSync(join(dir("cpuset"), "cpuset.cpus"), readFileSync(join(ROOT, "cpuset/cpuset.cpus"), "utf8"));
    writeFileSync(join(dir("cpuset"), "cpuset.mems"), readFileSync(join(ROOT, "cpuset/cpuset.mems"), "utf8"));
  }
  const children: ChildProcess[] = [];
  return {
    version: v,
    path,
    dir,
    setMemoryLimit(bytes) {
      if (v === 1) writeFileSync(join(dir("memory"), "memory.limit_in_bytes"), String(bytes));
      else writeFileSync(join(dir("memory"), "memory.max"), String(bytes));
    },
    setCpuset(cpus) {
      writeFileSync(join(dir("cpuset"), "cpuset.cpus"), cpus);
    },
    setQuota(quotaUs, periodUs) {
      if (v === 1) {
        writeFileSync(join(dir("cpu"), "cpu.cfs_period_us"), String(periodUs));
        writeFileSync(join(dir("cpu"), "cpu.cfs_quota_us"), String(quotaUs));
      } else {
        writeFileSync(join(dir("cpu"), "cpu.max"), `${quotaUs} ${periodUs}`);
      }
    },
    setPidsMax(n) {
      writeFileSync(join(dir("pids"), "pids.max"), String(n));
    },
    countIoOn(majMin) {
      if (v === 2) return;
      for (const f of ["blkio.throttle.write_bps_device", "blkio.throttle.read_bps_device"]) {
        writeFileSync(join(dir("blkio"), f), `${majMin} ${100 * 1024 ** 3}`);
      }
    },
    threadCount() {
      const file = v === 1 ? join(dir("pids"), "tasks") : join(dir("pids"), "cgroup.threads");
      return (readFileSync(file, "utf8").match(/\d+/g) ?? []).length;
    },
    spawnInside(script) {
      const joinAll = dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join(" && ");
      const child = spawn("sh", ["-c", `${joinAll} && ${script}`], { stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      return child;
    },
    async destroy() {
      for (const ch of children) if (ch.exitCode === null && ch.signalCode === null) ch.kill("SIGKILL");
      for (let attempt = 0; attempt < 50; attempt++) {
        let left = 0;
        for (const d of dirs) {
          if (!existsSync(d)) continue;
          const procs = readFileSync(join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean);
          for (const p of procs) {
            try {
              process.kill(Number(p), "SIGKILL");
            } catch {
              // already gone
            }
          }
          left += procs.length;
        }
        if (left === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const d of dirs) {
        try {
          rmdirSync(d);
        } catch {
          // best effort: a cgroup with a dying process may need a moment
        }
      }
    },
  };
}

/** Resolves when the child printed `marker` on stdout (the script says it is ready). */
export function waitForOutput(child: ChildProcess, marker: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for "${marker}"; got ${seen}`)),
      timeoutMs,
    );
    child.stdout?.on("data", (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(marker)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      if (!seen.includes(marker)) {
        clearTimeout(timer);
        reject(new Error(`child exited (${code}) before "${marker}"; got ${seen}`));
      }
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function runInside(
  cg: LiveCgroup,
  script: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = cg.spawnInside(script);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The block device holding `dir` as "major:minor", from /proc/self/mountinfo. */
export function deviceOf(dir: string): string {
  let best = { mountPoint: "", dev: "0:0" };
  for (const m of parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"))) {
    const mp = m.mountPoint;
    if ((dir === mp || dir.startsWith(mp === "/" ? "/" : `${mp}/`)) && mp.length >= best.mountPoint.length)
      best = m;
  }
  return best.dev;
}
