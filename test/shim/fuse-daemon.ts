import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";
import { addonProcessEnv } from "../helpers/sanitized-addons.js";

/** A real `boxscope shim mount` daemon, as a child process (what users run). */
export interface DaemonUnderTest {
  readonly child: ChildProcess;
  readonly mountpoint: string;
  /** Everything the daemon logged so far (stderr). */
  log(): string;
  /** Sends `signal` and resolves with how the daemon ended. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export const hasDevFuse = (): boolean => {
  try {
    return statSync("/dev/fuse").isCharacterDevice();
  } catch {
    return false;
  }
};

export function mountedFsType(mountpoint: string): string | undefined {
  let type: string | undefined;
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [left, right] = line.split(" - ");
    if (left?.split(" ")[4] === mountpoint) type = right?.split(" ")[0];
  }
  return type;
}

export async function startDaemon(
  mountpoint: string,
  extraArgs: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<DaemonUnderTest> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, "bin/boxscope.js"), "shim", "mount", "--mountpoint", mountpoint, ...extraArgs],
    { stdio: ["ignore", "ignore", "pipe"], env: addonProcessEnv(env) },
  );
  let log = "";
  child.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  // Generous: under software emulation (the v2 guest) on a loaded machine, Node's start alone is slow.
  const deadline = Date.now() + 120_000;
  while (!log.includes('"msg":"mounted"')) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`shim mount exited (${child.exitCode ?? child.signalCode}) before mounting: ${log}`);
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`shim mount did not mount within 120 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    mountpoint,
    log: () => log,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
