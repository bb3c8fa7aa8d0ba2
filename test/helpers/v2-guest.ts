/**
 * A pure cgroup v2 Linux guest for live tests: this machine is a v1+v2 hybrid, so the v2 code paths
 * run in a QEMU guest booted by virtme-ng (`vng`) over the host's own root file system (read-only,
 * with tmpfs overlays for writes). One boot runs a list of compiled test files with `node --test`
 * as root and CI=true (a missing prerequisite inside fails, never skips). The guest's console goes
 * to a log file; the TAP output and the exit code come back through a shared read-write directory.
 * Software emulation (TCG): a guest kernel hangs early in boot under this machine kind's KVM.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { TestContext } from "node:test";
import { repoRoot } from "./paths.js";

export interface V2GuestOptions {
  /** Where the guest's console (kernel messages, the header lines, the TAP stream) is written. */
  logPath: string;
  /** The whole run: boot, tests, power-off. */
  timeoutMs: number;
  /** Guest kernel image; default $BOXSCOPE_V2GUEST_KERNEL or the newest /boot/vmlinuz-* with modules. */
  kernel?: string;
  cpus?: number;
  memoryMiB?: number;
  /** Size of the ext4 scratch disk on the guest's /var/tmp, its TMPDIR (O_DIRECT and block I/O need a disk). */
  scratchMiB?: number;
}

export interface InnerTestResult {
  name: string;
  ok: boolean;
  skipped: boolean;
  /** The TAP lines below its result line (the YAML block with the error and its location). */
  detail: string;
}

export interface V2GuestRun {
  /** Exit code of `node --test` inside the guest. */
  exitCode: number;
  /** `uname -r`, `stat -fc %T /sys/fs/cgroup`, `/sys/fs/cgroup/cgroup.controllers` in the guest. */
  kernel: string;
  cgroupFs: string;
  controllers: string[];
  /** The inner runner's whole TAP output. */
  tap: string;
  /** Top-level inner tests, in order. */
  results: InnerTestResult[];
  logPath: string;
  wallMs: number;
}

/** The guest did not boot, or died before reporting: the message is one line naming why and the log. */
export class V2GuestBootError extends Error {
  constructor(why: string, logPath: string) {
    super(`v2 guest failed: ${why} (console log: ${logPath})`);
    this.name = "V2GuestBootError";
  }
}

/** Why a guest cannot be booted here, or undefined when vng, qemu and a kernel with modules exist. */
export function v2GuestUnavailable(kernel = defaultKernel()): string | undefined {
  if (process.getuid?.() !== 0) return "the v2 guest runs its tests as root: run as root";
  if (!onPath("vng")) return "vng (virtme-ng) not on PATH: run .ci/setup.d/95-v2guest.sh";
  if (!onPath("qemu-system-x86_64")) return "qemu-system-x86_64 not on PATH: apt-get install qemu-system-x86";
  if (kernel === undefined)
    return "no guest kernel: no /boot/vmlinuz-* with /lib/modules (apt-get install linux-image-amd64)";
  if (!existsSync(kernel)) return `guest kernel ${kernel} does not exist`;
  return undefined;
}

const onPath = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

/** The newest /boot/vmlinuz-<release> whose /lib/modules/<release> exists (the guest loads modules from it). */
function defaultKernel(): string | undefined {
  const fromEnv = process.env.BOXSCOPE_V2GUEST_KERNEL;
  if (fromEnv) return fromEnv;
  if (!existsSync("/boot")) return undefined;
  const releases = readdirSync("/boot")
    .filter((f) => f.startsWith("vmlinuz-"))
    .map((f) => f.slice("vmlinuz-".length))
    .filter((r) => existsSync(join("/lib/modules", r)))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const newest = releases.at(-1);
  return newest === undefined ? undefined : `/boot/vmlinuz-${newest}`;
}

/** Where the shared directory appears inside the guest. */
const GUEST_SHARE = "/run/boxscope-v2guest";
const HEADER = "v2guest:";

/** The script the guest runs: header lines, the scratch disk as TMPDIR, then the test files. */
function guestScript(files: readonly string[]): string {
  const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
  return `#!/bin/sh
echo "${HEADER} kernel $(uname -r)"
echo "${HEADER} cgroupfs $(stat -fc %T /sys/fs/cgroup)"
echo "${HEADER} controllers $(cat /sys/fs/cgroup/cgroup.controllers)"
modprobe -q ext4 2>/dev/null
modprobe -q virtio_blk 2>/dev/null
# The root is 9p: the scratch image is the guest's only virtio block device. On /var/tmp (a tmpfs
# otherwise), the TMPDIR, since some tests name /var/tmp for a disk-backed file system.
disk=/dev/vda
if ! mount -t ext4 "$disk" /var/tmp; then
  echo "${HEADER} cannot mount the scratch disk $disk"; ls -l /dev/vd* /dev/disk/by-id 2>&1
  echo 125 > ${GUEST_SHARE}/rc; exit 0
fi
echo "${HEADER} scratch $disk on /var/tmp"
cd ${q(repoRoot)} || { echo 126 > ${GUEST_SHARE}/rc; exit 0; }
export CI=true TMPDIR=/var/tmp
${q(process.execPath)} --test --test-reporter=tap --test-concurrency=1 ${files.map(q).join(" ")} > ${GUEST_SHARE}/tap 2>&1
echo $? > ${GUEST_SHARE}/rc
cat ${GUEST_SHARE}/tap
echo "${HEADER} done rc=$(cat ${GUEST_SHARE}/rc)"
`;
}

/**
 * Boots one pure-v2 guest and runs `files` (paths relative to the repository root, e.g.
 * dist/test/cgroup/live.test.js) inside it. Resolves with the inner run whatever its exit code;
 * rejects with a V2GuestBootError when the guest did not boot, timed out, or is not pure v2.
 */
export async function runInV2Guest(files: readonly string[], opts: V2GuestOptions): Promise<V2GuestRun> {
  const started = Date.now();
  const kernel = opts.kernel ?? defaultKernel();
  const unavailable = v2GuestUnavailable(kernel);
  if (unavailable !== undefined) throw new V2GuestBootError(unavailable, opts.logPath);
  for (const f of files)
    if (!existsSync(join(repoRoot, f)))
      throw new V2GuestBootError(`no test file ${f} (npm run build?)`, opts.logPath);
  const share = mkdtempSync(join(tmpdir(), "boxscope-v2guest-"));
  writeFileSync(join(share, "run.sh"), guestScript(files), { mode: 0o755 });
  const scratch = join(share, "scratch.img");
  const mkfs = spawnSync("mkfs.ext4", ["-q", "-F", scratch, `${opts.scratchMiB ?? 256}M`], {
    encoding: "utf8",
  });
  if (mkfs.status !== 0)
    throw new V2GuestBootError(
      `mkfs.ext4 of the scratch disk failed: ${mkfs.stderr.trim() || mkfs.error}`,
      opts.logPath,
    );

  const args = [
    "--run",
    kernel as string,
    "--disable-kvm",
    // The kernel's console too, so a boot that hangs or panics shows why in the log.
    "--verbose",
    "--cpus",
    String(opts.cpus ?? 2),
    "--memory",
    // More than the largest limit a test sets (2 GiB), which would otherwise also be the guest's total.
    `${opts.memoryMiB ?? 3072}M`,
    `--rwdir=${GUEST_SHARE}=${share}`,
    "--disk",
    scratch,
    // Pure v2: no v1 hierarchy may take a controller, whatever the init mounts.
    "--append",
    "systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all",
    "--exec",
    `sh ${GUEST_SHARE}/run.sh`,
  ];
  // vng hands its stdio to the guest by /proc/self/fd path: pipes make it fall back to a mode that
  // loses the command's output, so it gets the log file itself (and /dev/null as stdin).
  // (qemu reopens its stdout by that path and truncates the file: the command line is appended
  // after the run.)
  const logFd = openSync(opts.logPath, "w");
  const nullFd = openSync("/dev/null", "r");
  const vng = spawn("vng", args, { cwd: share, stdio: [nullFd, logFd, logFd], detached: true });
  closeSync(logFd);
  closeSync(nullFd);
  // Its own process group (vng, virtme-run, qemu): killed as one on timeout, or when this process
  // exits first (a cancelled test), so no emulator outlives the run.
  const killGuest = (): void => {
    try {
      process.kill(-(vng.pid as number), "SIGKILL");
    } catch {
      /* already gone */
    }
  };
  process.once("exit", killGuest);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGuest();
  }, opts.timeoutMs);
  const exit = await new Promise<{ code: number | null; signal: string | null; error?: Error }>((resolve) => {
    vng.once("error", (error) => resolve({ code: null, signal: null, error }));
    vng.once("close", (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  process.off("exit", killGuest);
  appendFileSync(opts.logPath, `\n$ (cd ${share} && vng ${args.join(" ")})\n`);
  try {
    return readGuestRun(share, opts, exit, timedOut, started);
  } finally {
    rmSync(share, { recursive: true, force: true });
  }
}

function readGuestRun(
  share: string,
  opts: V2GuestOptions,
  exit: { code: number | null; signal: string | null; error?: Error },
  timedOut: boolean,
  started: number,
): V2GuestRun {
  const consoleText = readFileSync(opts.logPath, "utf8");
  const header = (key: string): string | undefined =>
    new RegExp(`^${HEADER} ${key} (.*)$`, "m").exec(consoleText)?.[1]?.trim();
  const rcFile = join(share, "rc");
  if (!existsSync(rcFile)) {
    const why = timedOut
      ? `no result within ${opts.timeoutMs / 1000} s (killed)`
      : exit.error !== undefined
        ? `could not start vng: ${exit.error.message}`
        : header("kernel") === undefined
          ? `the guest did not boot (vng exit ${exit.code ?? exit.signal}: ${lastLine(consoleText)})`
          : `the guest stopped before the tests finished (vng exit ${exit.code ?? exit.signal}: ${lastLine(consoleText)})`;
    throw new V2GuestBootError(why, opts.logPath);
  }
  const exitCode = Number(readFileSync(rcFile, "utf8").trim());
  if (exitCode === 125)
    throw new V2GuestBootError("the guest could not mount its scratch disk", opts.logPath);
  if (exitCode === 126) throw new V2GuestBootError(`the guest cannot see ${repoRoot}`, opts.logPath);
  const cgroupFs = header("cgroupfs") ?? "";
  if (cgroupFs !== "cgroup2fs")
    throw new V2GuestBootError(
      `/sys/fs/cgroup in the guest is ${cgroupFs || "unknown"}, not cgroup2fs`,
      opts.logPath,
    );
  const tap = existsSync(join(share, "tap")) ? readFileSync(join(share, "tap"), "utf8") : "";
  return {
    exitCode,
    kernel: header("kernel") ?? "",
    cgroupFs,
    controllers: (header("controllers") ?? "").split(/\s+/).filter((c) => c !== ""),
    tap,
    results: parseTopLevelTap(tap),
    logPath: opts.logPath,
    wallMs: Date.now() - started,
  };
}

function lastLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .at(-1) ?? "no output"
  ).slice(0, 300);
}

/** The top-level `ok N - name` / `not ok N - name # SKIP` results of a TAP stream (subtests are indented). */
export function parseTopLevelTap(tap: string): InnerTestResult[] {
  const results: InnerTestResult[] = [];
  let detail: string[] | undefined;
  for (const line of tap.split("\n")) {
    const m = /^(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)\b.*)?$/.exec(line);
    if (m !== null) {
      detail = [];
      results.push({ name: m[2] as string, ok: m[1] === "ok", skipped: m[3] === "SKIP", detail: "" });
    } else if (detail !== undefined && /^ {2}(?:---|\.\.\.|\S)/.test(line)) {
      detail.push(line);
      (results.at(-1) as InnerTestResult).detail = detail.join("\n");
      if (line === "  ...") detail = undefined;
    }
  }
  return results;
}

/** The log's file name for a suite, under the OS temp directory. */
export const v2GuestLogPath = (suite: string): string =>
  join(tmpdir(), `boxscope-v2guest-${basename(suite)}-${process.pid}.log`);

/** Each inner test of a guest run as a subtest of `t` that passed there, and the run as a whole. */
export async function checkInnerResults(t: TestContext, run: V2GuestRun): Promise<void> {
  for (const r of run.results) {
    await t.test(r.name, () => {
      assert.ok(!r.skipped, "skipped inside the guest, where CI=true makes a missing prerequisite fail");
      assert.ok(r.ok, `failed inside the guest:\n${r.detail}`);
    });
  }
  assert.ok(run.results.length > 0, `no inner test ran; its output:\n${run.tap}`);
  assert.equal(run.exitCode, 0, `node --test in the guest exited ${run.exitCode}; its TAP:\n${run.tap}`);
}
