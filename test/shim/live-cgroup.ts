import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The v1 controllers the live tests put a cgroup in (this machine is hybrid: all on v1). */
export const LIVE_CONTROLLERS = ["memory", "cpu", "cpuacct", "cpuset", "pids", "blkio"] as const;
const ROOT = "/sys/fs/cgroup";

export function liveCgroupsAvailable(): boolean {
  return process.getuid?.() === 0 && LIVE_CONTROLLERS.every((c) => existsSync(join(ROOT, c, "cgroup.procs")));
}

export interface LiveCgroup {
  /** Path inside the hierarchies, e.g. `/boxscope-test-views-ab12cd`. */
  readonly path: string;
  dir(controller: (typeof LIVE_CONTROLLERS)[number]): string;
  /** Starts `sh -c script` with the shell already inside the cgroup (it joins, then runs the script). */
  spawnInside(script: string): ChildProcess;
  /** Kills every process left inside and removes the cgroup directories. */
  destroy(): Promise<void>;
}

/** A fresh cgroup in every live controller, with a unique name; always pair with destroy() in t.after. */
export function createLiveCgroup(part: string): LiveCgroup {
  const path = `/boxscope-test-${part}-${randomBytes(4).toString("hex")}`;
  const dir = (c: string): string => join(ROOT, c, path);
  for (const c of LIVE_CONTROLLERS) mkdirSync(dir(c));
  // A v1 cpuset cgroup starts empty: tasks cannot join until cpus and mems are set.
  writeFileSync(join(dir("cpuset"), "cpuset.cpus"), readFileSync(join(ROOT, "cpuset/cpuset.cpus"), "utf8"));
  writeFileSync(join(dir("cpuset"), "cpuset.mems"), readFileSync(join(ROOT, "cpuset/cpuset.mems"), "utf8"));
  const children: ChildProcess[] = [];
  return {
    path,
    dir,
    spawnInside(script) {
      const join_ = LIVE_CONTROLLERS.map((c) => `echo $$ > ${dir(c)}/cgroup.procs`).join(" && ");
      const child = spawn("sh", ["-c", `${join_} && ${script}`], { stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      return child;
    },
    async destroy() {
      for (const ch of children) if (ch.exitCode === null && ch.signalCode === null) ch.kill("SIGKILL");
      for (let attempt = 0; attempt < 50; attempt++) {
        let left = 0;
        for (const c of LIVE_CONTROLLERS) {
          if (!existsSync(dir(c))) continue;
          const procs = readFileSync(join(dir(c), "cgroup.procs"), "utf8")
            .split("\n")
            .filter(Boolean);
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
      for (const c of LIVE_CONTROLLERS) {
        try {
          rmdirSync(dir(c));
        } catch {
          // best effort: a cgroup with a zombie may need a moment; reported by the next run's name check
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
