import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { readCgroupMounts } from "../../cgroup/mounts.js";
import type { CgroupMounts } from "../../cgroup/types.js";

/**
 * Container-shaped test cgroups for the exporter, alerts and bench tests: created in every
 * hierarchy the exporter reads, processes put into them by shell, OOM kills provoked for real.
 */

export const randomId = (bytes = 4): string => randomBytes(bytes).toString("hex");

/** Can this process create cgroups here (root + a writable memory/pids hierarchy)? */
export function cgroupsWritable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const m = readCgroupMounts();
  return m.v1.has("memory") || m.unified !== undefined;
}

export interface TestContainerCgroup {
  /** Path inside the hierarchies, `/boxscope-test-exporter-<rand>/<64hex>`: a container to cgroup/. */
  readonly path: string;
  readonly id: string;
  /** Directory per controller ("memory", "pids", "cpu", "cpuacct"), and "unified" on v2 (or on hybrid, asked). */
  readonly dirs: ReadonlyMap<string, string>;
  /** Moves a pid into every hierarchy of this cgroup. */
  readonly procsFiles: readonly string[];
  /** `swap` takes v1's meaning (memory + swap) on both versions. */
  write(controller: "memory" | "pids", file: "limit" | "swap" | "pids.max", value: string): void;
  /** CFS quota of `cpus` CPUs per 100 ms period (v1 cpu.cfs_quota_us + cpu.cfs_period_us, v2 cpu.max). */
  setCpuQuota(cpus: number): void;
  cleanup(): void;
}

/**
 * A container-like cgroup (a 64-hex leaf under a unique test parent) in every hierarchy the
 * exporter reads: v1 memory, pids, cpu, cpuacct; or the unified hierarchy with those controllers.
 */
export function createContainerCgroup(
  parentName = `boxscope-test-exporter-${randomId()}`,
  opts: { unifiedOnHybrid?: boolean } = {},
): TestContainerCgroup {
  const mounts: CgroupMounts = readCgroupMounts();
  const id = randomBytes(32).toString("hex");
  const path = `/${parentName}/${id}`;
  const dirs = new Map<string, string>();
  const created: string[] = [];
  const mk = (dir: string) => {
    if (!existsSync(dir)) {
      mkdirSync(dir);
      created.push(dir);
    }
  };
  const parentDirs: string[] = [];
  const v1Controllers = ["memory", "pids", "cpu", "cpuacct"].filter((c) => mounts.v1.has(c));
  if (v1Controllers.length > 0) {
    for (const c of v1Controllers) {
      const root = mounts.v1.get(c) as string;
      mk(join(root, parentName));
      parentDirs.push(join(root, parentName));
      mk(join(root, parentName, id));
      dirs.set(c, join(root, parentName, id));
    }
    // A hybrid host's systemd places every unit (a docker-<id>.scope too) in the unified hierarchy
    // as well, without controllers: that directory is where the container's PSI files are.
    if (opts.unifiedOnHybrid && mounts.unified) {
      mk(join(mounts.unified, parentName));
      parentDirs.push(join(mounts.unified, parentName));
      mk(join(mounts.unified, parentName, id));
      dirs.set("unified", join(mounts.unified, parentName, id));
    }
  } else if (mounts.unified) {
    const parent = join(mounts.unified, parentName);
    mk(parent);
    parentDirs.push(parent);
    // The root's children get a controller only once the root's subtree_control enables it: systemd
    // does that at boot, a bare init (a test VM) does not.
    const available = readFileSync(join(mounts.unified, "cgroup.controllers"), "utf8").split(/\s+/);
    const enable = ["memory", "pids", "cpu"]
      .filter((c) => available.includes(c))
      .map((c) => `+${c}`)
      .join(" ");
    writeFileSync(join(mounts.unified, "cgroup.subtree_control"), enable);
    writeFileSync(join(parent, "cgroup.subtree_control"), enable);
    mk(join(parent, id));
    dirs.set("unified", join(parent, id));
  }
  const procsFiles = [...new Set(dirs.values())].map((d) => join(d, "cgroup.procs"));
  const dirFor = (c: string) => dirs.get(c) ?? (dirs.get("unified") as string);
  const v2 = v1Controllers.length === 0 && dirs.has("unified");
  return {
    path,
    id,
    dirs,
    procsFiles,
    write(controller, file, value) {
      const dir = dirFor(controller);
      const name =
        file === "pids.max"
          ? "pids.max"
          : file === "limit"
            ? v2
              ? "memory.max"
              : "memory.limit_in_bytes"
            : v2
              ? "memory.swap.max"
              : "memory.memsw.limit_in_bytes";
      // "swap" is v1's memory+swap limit; v2's memory.swap.max counts swap alone.
      const memMax =
        v2 && file === "swap" && existsSync(join(dir, "memory.max"))
          ? Number(readFileSync(join(dir, "memory.max"), "utf8"))
          : Number.NaN;
      const written = Number.isFinite(memMax) ? String(Math.max(0, Number(value) - memMax)) : value;
      if (existsSync(join(dir, name))) writeFileSync(join(dir, name), written);
    },
    setCpuQuota(cpus) {
      const dir = dirFor("cpu");
      const quotaUs = String(Math.round(cpus * 100_000));
      if (v2) writeFileSync(join(dir, "cpu.max"), `${quotaUs} 100000`);
      else {
        writeFileSync(join(dir, "cpu.cfs_period_us"), "100000");
        writeFileSync(join(dir, "cpu.cfs_quota_us"), quotaUs);
      }
    },
    cleanup() {
      for (const f of procsFiles) {
        try {
          for (const pid of readFileSync(f, "utf8").split("\n").filter(Boolean)) {
            try {
              process.kill(Number(pid), "SIGKILL");
            } catch {}
          }
        } catch {}
      }
      // Leaves first, retrying while killed processes exit; a shared parent is removed by whichever
      // cgroup of it is cleaned up last (one attempt: it fails while siblings remain).
      for (const dir of created.reverse()) {
        const isParent = !dir.endsWith(id);
        for (let i = 0; i < (isParent ? 1 : 50); i++) {
          try {
            rmdirSync(dir);
            break;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") break;
            if (!isParent) spawnSync("sleep", ["0.05"]);
          }
        }
      }
      for (const root of parentDirs) {
        try {
          rmdirSync(root);
        } catch {}
      }
    },
  };
}

/** Shell snippet that puts the shell into the cgroup, then execs the command. */
export function enterCgroupScript(cg: TestContainerCgroup, command: string): string {
  return `${cg.procsFiles.map((f) => `echo $$ > ${f}`).join(" && ")} && exec ${command}`;
}

/** Can this process read the kernel log (the exporter's kmsg OOM source)? */
export function kmsgReadable(): boolean {
  try {
    accessSync("/dev/kmsg", constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs a memory hog (`tail /dev/zero` buffers an endless line) in the cgroup; resolves when it dies. */
export async function oomKill(
  cg: TestContainerCgroup,
): Promise<{ signal: NodeJS.Signals | null; at: number }> {
  const child = spawn("sh", ["-c", enterCgroupScript(cg, "tail /dev/zero")], { stdio: "ignore" });
  const [, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  return { signal, at: Date.now() };
}
