import { type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

/**
 * Real OCI containers started by `runc` (cgroupfs driver; on this hybrid host the limits live in
 * cgroup v1). The rootfs is busybox-static as /bin/busybox with its applet symlinks, plus the host's
 * /usr bind-mounted read-only (procps, sysstat and their shared libraries; /lib and /lib64 are
 * symlinks into it, as on the merged-/usr host), with /usr/bin first on PATH so `free`, `top`,
 * `uptime`, `vmstat` and `iostat` are the real tools.
 */

export const runcAvailable = (): boolean =>
  spawnSync("runc", ["--version"]).status === 0 && existsSync("/bin/busybox") && existsSync("/usr/bin/free");

export interface Bind {
  source: string;
  destination: string;
}

export interface ContainerSpec {
  /** Unique name (by default also the last segment of its cgroup). */
  name: string;
  /** Its cgroup below the lab's parent (default: name), e.g. `system.slice/docker-<id>.scope`. */
  cgroup?: string;
  /** Memory limit; none when omitted (memory.max = max: a slice above may still limit it). */
  memoryBytes?: number;
  /** cpuset, e.g. "0" or "0-1"; the parent's when omitted. */
  cpus?: string;
  /** CFS quota in CPUs (quota = cpus × period). */
  quotaCpus?: number;
  binds?: Bind[];
  /** A cgroup namespace of its own (Docker's default on v2): /proc/self/cgroup inside shows `/`. */
  cgroupns?: boolean;
}

/** Limits of a slice: a cgroup above containers, as systemd's kubepods-…-pod<uid>.slice. */
export interface SliceLimits {
  memoryBytes?: number;
  quotaCpus?: number;
}

export interface RuncContainer {
  readonly name: string;
  /** Path of its cgroup inside each hierarchy, e.g. /boxscope-test-fuse-ab12/c1. */
  readonly cgroupPath: string;
  /** Host pid of the container's init (`sleep`). */
  readonly initPid: number;
  /** `runc exec` a shell script inside; resolves with its exit code and output. */
  exec(script: string, timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/**
 * LXCFS's usual bind mounts of the view files over the container's /proc files, and of the whole
 * CPU directory over its /sys/devices/system/cpu.
 */
export function lxcfsStyleBinds(mountpoint: string): Bind[] {
  return [
    "proc/meminfo",
    "proc/cpuinfo",
    "proc/stat",
    "proc/uptime",
    "proc/loadavg",
    "proc/diskstats",
    "proc/swaps",
    "sys/devices/system/cpu",
  ].map((p) => ({ source: join(mountpoint, p), destination: `/${p}` }));
}

/** One directory of containers sharing a rootfs, a runc state root and a parent cgroup. */
export interface RuncLab {
  readonly parentCgroup: string;
  /** Creates `path` below the parent (and what lies between) with these limits, before containers go in it. */
  slice(path: string, limits: SliceLimits): void;
  start(spec: ContainerSpec): Promise<RuncContainer>;
  /** `runc delete -f` then start again with the same spec (what a restart policy does). */
  restart(name: string): Promise<RuncContainer>;
  /** `runc delete -f` every container, then remove the cgroups; safe to call twice. */
  destroy(): Promise<void>;
}

function run(cmd: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: "utf8", timeout: 30_000 });
}

export function createRuncLab(dir: string, part: string): RuncLab {
  const rootfs = join(dir, "rootfs");
  const state = join(dir, "runc-state");
  const parentCgroup = `/boxscope-test-${part}-${randomBytes(4).toString("hex")}`;
  buildRootfs(rootfs);
  mkdirSync(state, { recursive: true });
  const names: string[] = [];
  const specs = new Map<string, ContainerSpec>();

  return {
    parentCgroup,
    slice(path, limits) {
      createSlice(`${parentCgroup}/${path}`, limits);
    },
    async restart(name) {
      const spec = specs.get(name);
      if (!spec) throw new Error(`no container ${name} in this lab`);
      run("runc", ["--root", state, "delete", "-f", name]);
      names.splice(names.indexOf(name), 1);
      return this.start(spec);
    },
    async start(spec) {
      specs.set(spec.name, spec);
      const bundle = join(dir, `bundle-${spec.name}`);
      mkdirSync(bundle, { recursive: true });
      const cgroupPath = `${parentCgroup}/${spec.cgroup ?? spec.name}`;
      writeFileSync(
        join(bundle, "config.json"),
        JSON.stringify(ociConfig(rootfs, cgroupPath, spec), null, 2),
      );
      const pidFile = join(bundle, "init.pid");
      // The detached container inherits runc's stdio: files, not pipes, or spawnSync would wait for it.
      const errPath = join(bundle, "runc.err");
      const errFd = openSync(errPath, "w");
      const res = spawnSync(
        "runc",
        ["--root", state, "run", "-d", "--bundle", bundle, "--pid-file", pidFile, spec.name],
        { stdio: ["ignore", "ignore", errFd], timeout: 30_000 },
      );
      closeSync(errFd);
      if (res.status !== 0) {
        throw new Error(`runc run ${spec.name} failed: ${readFileSync(errPath, "utf8") || res.error}`);
      }
      names.push(spec.name);
      const initPid = Number(readFileSync(pidFile, "utf8").trim());
      return {
        name: spec.name,
        cgroupPath,
        initPid,
        exec(script, timeoutMs = 60_000) {
          return new Promise((resolve) => {
            const child = spawn("runc", ["--root", state, "exec", spec.name, "/bin/sh", "-c", script], {
              stdio: ["ignore", "pipe", "pipe"],
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d: Buffer) => {
              stdout += d.toString();
            });
            child.stderr.on("data", (d: Buffer) => {
              stderr += d.toString();
            });
            const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
            child.once("exit", (code) => {
              clearTimeout(timer);
              resolve({ code, stdout, stderr });
            });
          });
        },
      };
    },
    async destroy() {
      for (const name of names.splice(0)) run("runc", ["--root", state, "delete", "-f", name]);
      // runc removes each container's cgroup; the parent and the slices are ours: in each v1
      // hierarchy (and the hybrid's unified one), or in the one hierarchy of a pure v2 host.
      for (const root of hierarchyRoots()) removeCgroupTree(join(root, parentCgroup));
    },
  };
}

const CGROUP_ROOT = "/sys/fs/cgroup";
const pureV2 = (): boolean => existsSync(join(CGROUP_ROOT, "cgroup.controllers"));

function hierarchyRoots(): string[] {
  if (pureV2()) return [CGROUP_ROOT];
  return readdirSync(CGROUP_ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(CGROUP_ROOT, e.name));
}

/** Removes a cgroup directory and every cgroup below it, deepest first (best effort: unique names). */
export function removeCgroupTree(d: string): void {
  if (!existsSync(d)) return;
  for (const sub of readdirSync(d, { withFileTypes: true })) {
    if (sub.isDirectory()) removeCgroupTree(join(d, sub.name));
  }
  try {
    rmdirSync(d);
  } catch {
    // still busy or already gone
  }
}

/**
 * Makes the cgroup `path` with `limits`, as systemd makes a pod slice: on v2 the controllers are
 * enabled in every ancestor's subtree_control first (runc does the same for the levels it creates);
 * on v1 the slice goes in the memory and cpu hierarchies that carry its limits (runc fills in the rest).
 */
function createSlice(path: string, limits: SliceLimits): void {
  const period = 100_000;
  const quota = limits.quotaCpus === undefined ? undefined : Math.round(limits.quotaCpus * period);
  if (pureV2()) {
    const enable = readFileSync(join(CGROUP_ROOT, "cgroup.controllers"), "utf8")
      .trim()
      .split(/\s+/)
      .filter((c) => ["cpuset", "cpu", "io", "memory", "pids"].includes(c))
      .map((c) => `+${c}`)
      .join(" ");
    let dir = CGROUP_ROOT;
    for (const seg of path.split("/").filter(Boolean)) {
      writeFileSync(join(dir, "cgroup.subtree_control"), enable);
      dir = join(dir, seg);
      mkdirSync(dir, { recursive: true });
    }
    if (limits.memoryBytes !== undefined) writeFileSync(join(dir, "memory.max"), String(limits.memoryBytes));
    if (quota !== undefined) writeFileSync(join(dir, "cpu.max"), `${quota} ${period}`);
    return;
  }
  if (limits.memoryBytes !== undefined) {
    const dir = join(CGROUP_ROOT, "memory", path);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "memory.limit_in_bytes"), String(limits.memoryBytes));
  }
  if (quota !== undefined) {
    const dir = join(CGROUP_ROOT, "cpu", path);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "cpu.cfs_period_us"), String(period));
    writeFileSync(join(dir, "cpu.cfs_quota_us"), String(quota));
  }
}

function buildRootfs(rootfs: string): void {
  for (const d of ["bin", "usr", "proc", "sys", "dev", "tmp", "etc", "root"]) {
    mkdirSync(join(rootfs, d), { recursive: true });
  }
  spawnSync("cp", ["/bin/busybox", join(rootfs, "bin/busybox")]);
  const applets = run("/bin/busybox", ["--list"]).stdout.split("\n").filter(Boolean);
  for (const a of applets) {
    if (a !== "busybox" && !existsSync(join(rootfs, "bin", a)))
      symlinkSync("busybox", join(rootfs, "bin", a));
  }
  symlinkSync("usr/lib", join(rootfs, "lib"));
  symlinkSync("usr/lib64", join(rootfs, "lib64"));
  writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\n");
}

function ociConfig(rootfs: string, cgroupPath: string, spec: ContainerSpec): unknown {
  const period = 100_000;
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ["/bin/sleep", "100000"],
      env: ["PATH=/usr/bin:/usr/sbin:/bin", "TERM=dumb", "HOME=/root", "LC_ALL=C"],
      cwd: "/",
      capabilities: {
        bounding: ["CAP_KILL", "CAP_SETUID", "CAP_SETGID"],
        effective: ["CAP_KILL", "CAP_SETUID", "CAP_SETGID"],
        permitted: ["CAP_KILL", "CAP_SETUID", "CAP_SETGID"],
      },
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    hostname: spec.name,
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
      },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"] },
      { destination: "/usr", type: "bind", source: "/usr", options: ["rbind", "ro"] },
      ...(spec.binds ?? []).map((b) => ({
        destination: b.destination,
        type: "bind",
        source: b.source,
        options: ["bind", "ro"],
      })),
    ],
    linux: {
      cgroupsPath: cgroupPath,
      resources: {
        ...(spec.memoryBytes !== undefined ? { memory: { limit: spec.memoryBytes } } : {}),
        cpu: {
          ...(spec.cpus !== undefined ? { cpus: spec.cpus, mems: "0" } : {}),
          ...(spec.quotaCpus ? { quota: Math.round(spec.quotaCpus * period), period } : {}),
        },
      },
      namespaces: [
        { type: "pid" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "network" },
        ...(spec.cgroupns ? [{ type: "cgroup" }] : []),
      ],
    },
  };
}
