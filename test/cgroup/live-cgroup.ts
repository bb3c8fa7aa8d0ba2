/**
 * Real cgroups for live tests: one `boxscope-test-cgroup-<random>` tree created in every resource
 * hierarchy (v1 controllers, or the unified one on pure v2), processes started gated on stdin so
 * they do their work only after being moved in, and a cleanup that kills what is left and removes
 * every directory, deepest first, even when the test failed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { readCgroupMounts } from "../../cgroup/mounts.js";
import type { CgroupMounts } from "../../cgroup/types.js";

const V1_CONTROLLERS = ["memory", "cpu", "cpuacct", "cpuset", "pids", "blkio"] as const;
const V2_CONTROLLERS = ["memory", "cpu", "cpuset", "pids", "io"] as const;

/** True when this machine can host the live tests: root and the resource controllers mounted. */
export function liveCgroupsAvailable(): { ok: boolean; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: "live cgroup tests need root" };
  const m = readCgroupMounts();
  const v1 = V1_CONTROLLERS.every((c) => m.v1.has(c));
  const v2 = m.unified !== undefined && V2_CONTROLLERS.every((c) => m.unifiedControllers.has(c));
  if (!v1 && !v2)
    return { ok: false, why: "memory/cpu/cpuset/pids/blkio controllers not all mounted (v1 or v2)" };
  return { ok: true, why: "" };
}

export class LiveCgroup {
  readonly mounts: CgroupMounts = readCgroupMounts();
  readonly version: 1 | 2;
  /** Path inside the hierarchies, e.g. `/boxscope-test-cgroup-1a2b3c4d`. */
  readonly base = `/boxscope-test-cgroup-${randomBytes(4).toString("hex")}`;
  private readonly created: string[] = [];
  private readonly children: ChildProcess[] = [];

  constructor() {
    this.version = V1_CONTROLLERS.every((c) => this.mounts.v1.has(c)) ? 1 : 2;
  }

  /**
   * Hierarchy roots this tree lives in (deduplicated: co-mounted controllers share one). On hybrid
   * hosts the controller-less unified hierarchy too, where the kernel keeps each cgroup's PSI files.
   */
  private roots(): string[] {
    if (this.version === 2) return [this.mounts.unified as string];
    const v1 = [...new Set(V1_CONTROLLERS.map((c) => this.mounts.v1.get(c) as string))];
    return this.mounts.unified === undefined ? v1 : [...v1, this.mounts.unified];
  }

  /** Directory of `rel` (relative to base) in the hierarchy serving `controller`. */
  dir(controller: (typeof V1_CONTROLLERS)[number] | "io", rel = ""): string {
    const root =
      this.version === 2
        ? (this.mounts.unified as string)
        : (this.mounts.v1.get(controller === "io" ? "blkio" : controller) as string);
    return join(root, this.base, rel);
  }

  /** Cgroup path of `rel` (for handleForPath). */
  path(rel = ""): string {
    return rel === "" ? this.base : `${this.base}/${rel}`;
  }

  /** Creates base/rel (and base first) in every hierarchy, ready to take tasks. */
  create(rel = ""): void {
    const levels = rel === "" ? [""] : ["", ...rel.split("/").map((_, i, a) => a.slice(0, i + 1).join("/"))];
    for (const level of levels) {
      for (const root of this.roots()) {
        const d = join(root, this.base, level);
        if (existsSync(d)) continue;
        if (this.version === 2 && root === this.mounts.unified) {
          // Controllers must be enabled in the parent's subtree_control for the child to get the files.
          const parent = join(d, "..");
          writeFileSync(join(parent, "cgroup.subtree_control"), V2_CONTROLLERS.map((c) => `+${c}`).join(" "));
        }
        mkdirSync(d);
        this.created.push(d);
        if (this.version === 1 && root === this.mounts.v1.get("cpuset")) {
          // A v1 cpuset starts empty and refuses tasks until cpus and mems are set.
          const parent = join(d, "..");
          writeFileSync(join(d, "cpuset.cpus"), readFileSync(join(parent, "cpuset.cpus"), "utf8").trim());
          writeFileSync(join(d, "cpuset.mems"), readFileSync(join(parent, "cpuset.mems"), "utf8").trim());
        }
      }
    }
  }

  setMemoryLimit(rel: string, bytes: number, memswBytes?: number): void {
    if (this.version === 1) {
      writeFileSync(join(this.dir("memory", rel), "memory.limit_in_bytes"), String(bytes));
      if (memswBytes !== undefined)
        writeFileSync(join(this.dir("memory", rel), "memory.memsw.limit_in_bytes"), String(memswBytes));
    } else {
      writeFileSync(join(this.dir("memory", rel), "memory.max"), String(bytes));
      if (memswBytes !== undefined)
        writeFileSync(join(this.dir("memory", rel), "memory.swap.max"), String(memswBytes - bytes));
    }
  }

  setCpuQuota(rel: string, quotaUs: number, periodUs = 100000): void {
    if (this.version === 1) {
      writeFileSync(join(this.dir("cpu", rel), "cpu.cfs_period_us"), String(periodUs));
      writeFileSync(join(this.dir("cpu", rel), "cpu.cfs_quota_us"), String(quotaUs));
    } else writeFileSync(join(this.dir("cpu", rel), "cpu.max"), `${quotaUs} ${periodUs}`);
  }

  /** Sets the cpuset of base/rel (v1: also on base first when rel is below it, as v1 requires). */
  setCpus(rel: string, cpus: string): void {
    writeFileSync(join(this.dir("cpuset", rel), "cpuset.cpus"), cpus);
  }

  setPidsMax(rel: string, max: number): void {
    writeFileSync(join(this.dir("pids", rel), "pids.max"), String(max));
  }

  /** Moves a process into base/rel in every hierarchy. */
  enter(rel: string, pid: number): void {
    for (const root of this.roots()) writeFileSync(join(root, this.base, rel, "cgroup.procs"), String(pid));
  }

  /**
   * Starts `argv` inside base/rel: the process waits on stdin until it has been moved in, so all
   * its work is accounted to the cgroup. Resolves once the work command has been exec'd.
   */
  async run(rel: string, argv: readonly string[]): Promise<ChildProcess> {
    const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    const child = spawn("sh", ["-c", `read go; exec ${quoted}`], { stdio: ["pipe", "pipe", "inherit"] });
    this.children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    this.enter(rel, child.pid as number);
    child.stdin?.write("go\n");
    return child;
  }

  /** Kills every started process and removes every created directory (deepest first). */
  async cleanup(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) await new Promise((r) => c.once("exit", r));
    }
    const dirs = [...this.created].sort((a, b) => b.length - a.length);
    const leaked: string[] = [];
    for (const d of dirs) {
      let removed = false;
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          // Anything still inside (a grandchild we did not spawn directly) is killed.
          const procs = readFileSync(join(d, "cgroup.procs"), "utf8")
            .split("\n")
            .filter((s) => s !== "");
          for (const p of procs) {
            try {
              process.kill(Number(p), "SIGKILL");
            } catch {
              /* already gone */
            }
          }
          rmdirSync(d);
          removed = true;
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") {
            removed = true;
            break;
          }
          await sleep(100);
        }
      }
      if (!removed) leaked.push(d);
    }
    if (leaked.length > 0) throw new Error(`could not remove test cgroups: ${leaked.join(", ")}`);
  }
}

/** Reads lines from a child's stdout until one matches. */
export function waitForLine(child: ChildProcess, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString();
      for (const line of buf.split("\n")) {
        if (re.test(line)) {
          child.stdout?.off("data", onData);
          resolve(line);
          return;
        }
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`process exited (${code}) before printing ${re}`)));
  });
}

/** Polls `fn` until it returns a value that `ok` accepts, or gives up after `tries`. */
export async function pollUntil<T>(
  fn: () => T,
  ok: (v: T) => boolean,
  tries = 100,
  everyMs = 50,
): Promise<T> {
  let v = fn();
  for (let i = 0; i < tries && !ok(v); i++) {
    await sleep(everyMs);
    v = fn();
  }
  return v;
}
