import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeCgroupTree } from "./runc.js";
import { waitFor } from "./wait.js";

/**
 * A real systemd service manager for tests of units, on a machine whose PID 1 is not systemd: a
 * systemd user manager (`systemd --user`, the code that runs every user's services, with the same
 * service logic as PID 1) run as root. It refuses to start where systemd did not boot the machine
 * (/run/systemd/system missing), so it runs in a mount namespace of its own with a tmpfs on
 * /run/systemd. Its units run in that namespace too; `shared` is made a shared mount first, so that
 * what they mount below it (a FUSE mount) is seen everywhere. It gets a cgroup of its own for the
 * units it starts. Units go in `unitDir`.
 */
export interface SystemdManager {
  readonly unitDir: string;
  /** `systemctl --user ARGS` against this manager. */
  systemctl(...args: string[]): { code: number | null; stdout: string; stderr: string };
  /** One property of a unit (`systemctl show -p`). */
  property(unit: string, name: string): string;
  /** Stops the manager (and with it every unit), then removes its cgroups and the shared mount. */
  stop(): Promise<void>;
}

const SYSTEMD = "/usr/lib/systemd/systemd";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Why a manager cannot be started here, or undefined. */
export function systemdManagerUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (a mount namespace and cgroups)";
  if (!existsSync(SYSTEMD)) return `${SYSTEMD} missing: apt-get install systemd`;
  for (const cmd of ["unshare", "nsenter", "systemctl"])
    if (spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0) return `${cmd} not on PATH`;
  return undefined;
}

/** Where the manager's cgroups go: both hierarchies that systemd tracks on a hybrid host, one on v2. */
function cgroupRoots(name: string): string[] {
  if (existsSync("/sys/fs/cgroup/unified/cgroup.procs"))
    return [`/sys/fs/cgroup/unified/${name}`, `/sys/fs/cgroup/systemd/${name}`];
  return [`/sys/fs/cgroup/${name}`];
}

export async function startSystemdManager(dir: string, shared: string): Promise<SystemdManager> {
  const runtime = join(dir, "runtime");
  const config = join(dir, "config");
  const unitDir = join(config, "systemd/user");
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  mkdirSync(unitDir, { recursive: true });
  mkdirSync(shared, { recursive: true });
  for (const args of [
    ["--bind", shared, shared],
    ["--make-shared", shared],
  ]) {
    const r = spawnSync("mount", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`mount ${args.join(" ")}: ${r.stderr}`);
  }
  const cgroups = cgroupRoots(`boxscope-test-systemd-${process.pid}`);
  for (const c of cgroups) mkdirSync(c, { recursive: true });
  const boot = join(dir, "boot.sh");
  writeFileSync(
    boot,
    [
      "set -e",
      "mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system",
      ...cgroups.map((c) => `echo $$ > ${c}/cgroup.procs`),
      `export XDG_RUNTIME_DIR=${runtime} XDG_CONFIG_HOME=${config}`,
      `exec ${SYSTEMD} --user --log-target=null`,
    ].join("\n"),
  );
  const child: ChildProcess = spawn("unshare", ["--mount", "--propagation", "unchanged", "sh", boot], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const pid = child.pid;
  const env = { ...process.env, XDG_RUNTIME_DIR: runtime };
  const systemctl = (...args: string[]) => {
    const r = spawnSync("nsenter", ["-t", String(pid), "-m", "systemctl", "--user", ...args], {
      encoding: "utf8",
      env,
      timeout: 120_000,
    });
    return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
  await waitFor(
    "systemd --user to answer",
    () => {
      if (child.exitCode !== null) throw new Error(`systemd --user exited (${child.exitCode}): ${stderr}`);
      return (
        existsSync(join(runtime, "systemd/private")) && systemctl("is-system-running").stdout.trim() !== ""
      );
    },
    30_000,
  );
  return {
    unitDir,
    systemctl,
    property: (unit, name) => systemctl("show", "-p", name, "--value", unit).stdout.trim(),
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        for (let i = 0; i < 300 && child.exitCode === null; i++) await sleep(100);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      for (const c of cgroups) {
        // Whatever a unit left behind (KillMode=mixed ends it, but a test may stop midway).
        if (existsSync(join(c, "cgroup.kill"))) writeFileSync(join(c, "cgroup.kill"), "1");
        await waitFor(`${c} to empty`, () => !readFileSync(join(c, "cgroup.procs"), "utf8").trim(), 5_000);
        removeCgroupTree(c);
      }
      spawnSync("umount", ["-l", shared]);
    },
  };
}
