import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/paths.js";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";
import { createRuncLab, lxcfsStyleBinds, type RuncContainer, runcAvailable } from "../helpers/runc.js";
import { type DaemonUnderTest, hasDevFuse, mountedFsType, startDaemon } from "./fuse-daemon.js";

/** runc renders the views before it writes the limits (see runc-restart.test.ts): let that pass. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 500));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const UPGRADES = 5;
const FILES = [
  "/proc/meminfo",
  "/proc/stat",
  "/proc/cpuinfo",
  "/proc/loadavg",
  "/proc/uptime",
  "/sys/devices/system/cpu/online",
];
/** Per container: readers that open/read/close, and readers that hold the files open like top. */
const MODES = ["loop", "loop", "loop", "loop", "loop", "loop", "hold", "hold", "hold", "hold"];

interface ReaderResult {
  mode: string;
  reads: number;
  failed: number;
  wrong: number;
  maxUs: number;
  /** Wall-clock start of the slowest read. */
  maxAtMs: number;
  firstError: string;
}

/** Starts the readers of one container (test/shim/handover-reader.c); resolves with their results. */
function runReaders(c: RuncContainer, memTotalKb: number): Promise<ReaderResult[]> {
  const start = MODES.map(
    (m, i) => `/bin/handover-reader ${m} ${memTotalKb} ${FILES.join(" ")} > /tmp/result.${i} &`,
  ).join("\n");
  return c.exec(`rm -f /tmp/stop /tmp/ready.*\n${start}\nwait\ncat /tmp/result.*`, 280_000).then((r) => {
    assert.equal(r.code, 0, `${c.name}: readers: ${r.stderr}`);
    return r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ReaderResult);
  });
}

async function readersReady(c: RuncContainer): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const r = await c.exec("ls /tmp | grep -c '^ready\\.' || true");
    if (Number(r.stdout.trim()) === MODES.length) return;
    await sleep(100);
  }
  throw new Error(`${c.name}: the readers did not all read once`);
}

async function exitOf(d: DaemonUnderTest): Promise<number | null> {
  if (d.child.exitCode === null && d.child.signalCode === null) await once(d.child, "exit");
  return d.child.exitCode;
}

test(`shim mount: ${UPGRADES} upgrades in a row hand the live mount over; 20 readers in 2 containers see no failed or wrong read`, {
  timeout: 300_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, runcAvailable(), "needs runc, busybox-static, procps and sysstat")) return;
  if (!requirePrereq(t, hasCommand("cc"), "needs a C compiler (cc) for the in-container reader")) return;
  if (!requirePrereq(t, hasCommand("python3"), "needs python3 (a directory held open)")) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-handover-"));
  const mnt = join(dir, "mnt");
  const daemons: DaemonUnderTest[] = [];
  const lab = createRuncLab(dir, "fuse-handover");
  t.after(async () => {
    await lab.destroy();
    for (const d of daemons) await d.stop("SIGTERM");
    spawnSync("umount", ["-l", mnt]);
    rmSync(dir, { recursive: true, force: true });
  });
  const cc = spawnSync(
    "cc",
    ["-O2", "-o", join(dir, "rootfs/bin/handover-reader"), join(repoRoot, "test/shim/handover-reader.c")],
    { encoding: "utf8" },
  );
  assert.equal(cc.status, 0, `cc handover-reader.c: ${cc.stderr}`);

  let current = await startDaemon(mnt);
  daemons.push(current);
  const binds = lxcfsStyleBinds(mnt);
  const small = await lab.start({ name: "small", memoryBytes: 256 << 20, cpus: "0", binds });
  const large = await lab.start({ name: "large", memoryBytes: 512 << 20, cpus: "0", binds });
  await settle();
  const results = Promise.all([runReaders(small, 262144), runReaders(large, 524288)]);
  results.catch(() => {}); // awaited below; a failure before then must not be unhandled
  await readersReady(small);
  await readersReady(large);
  // A directory held open across the upgrades (its listing, the reader's CPUs, lives in its handle).
  const heldDir = spawn(
    "python3",
    [
      "-c",
      "import os, sys\nfd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\nprint(sorted(os.listdir(fd)), flush=True)\nsys.stdin.readline()\nprint(sorted(os.listdir(fd)), flush=True)",
      join(mnt, "sys/devices/system/cpu"),
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  let heldOut = "";
  heldDir.stdout.on("data", (d: Buffer) => {
    heldOut += d.toString();
  });
  while (!heldOut.includes("\n")) await sleep(20);

  /** Per upgrade: when the new daemon asked for the connection and when it served it (wall clock). */
  const windows: { from: number; to: number }[] = [];
  for (let i = 1; i <= UPGRADES; i++) {
    // Every other daemon runs 4 loop threads: a pause must stop them all, and a handover between
    // loops of different sizes changes nothing for the readers.
    const next = await startDaemon(mnt, i % 2 === 1 ? ["--threads", "4"] : []);
    daemons.push(next);
    assert.match(
      next.log(),
      /took the live mount over from the running daemon/,
      `upgrade ${i}: ${next.log()}`,
    );
    const took = /"time":(\d+),[^\n]*"handoverMs":([\d.]+)/.exec(next.log());
    if (took) windows.push({ from: Number(took[1]) - Number(took[2]), to: Number(took[1]) });
    assert.equal(await exitOf(current), 0, `upgrade ${i}: the old daemon's exit: ${current.log()}`);
    assert.match(current.log(), /handed the live mount over to a new daemon/, `upgrade ${i}`);
    assert.equal(mountedFsType(mnt), "fuse.boxscope", `upgrade ${i}: the mount lives on`);
    current = next;
    await sleep(300); // reads between the upgrades too
  }

  heldDir.stdin.end("again\n");
  await once(heldDir, "exit");
  const [before, after] = heldOut.trim().split("\n");
  assert.ok(before?.includes("'cpu0'"), `held directory's first listing: ${heldOut}`);
  assert.equal(after, before, "a directory opened before the upgrades lists the same after them");

  await small.exec("touch /tmp/stop");
  await large.exec("touch /tmp/stop");
  const [fromSmall, fromLarge] = await results;
  const all = [
    ...fromSmall.map((r) => ({ ...r, container: "small" })),
    ...fromLarge.map((r) => ({ ...r, container: "large" })),
  ];
  assert.equal(all.length, 2 * MODES.length);
  // What a reader waits for in a handover: the window in which nobody reads the connection. The
  // slowest read of each reader, and whether it overlapped a window, go to the test's output.
  const slowest = all.reduce((a, r) => (r.maxUs > a.maxUs ? r : a));
  const overlapped = all.filter((r) =>
    windows.some((w) => r.maxAtMs <= w.to && r.maxAtMs + r.maxUs / 1000 >= w.from),
  ).length;
  const reads = all.reduce((n, r) => n + r.reads, 0);
  t.diagnostic(
    `${reads} reads by ${all.length} readers over ${UPGRADES} handovers; handover windows ` +
      `${windows.map((w) => (w.to - w.from).toFixed(1)).join(", ")} ms; longest read ${slowest.maxUs / 1000} ms ` +
      `(${slowest.container}, ${slowest.mode}; held-open readers: ${Math.max(...all.filter((r) => r.mode === "hold").map((r) => r.maxUs)) / 1000} ms); ${overlapped} of ${all.length} readers' slowest reads overlapped a window`,
  );
  for (const [i, r] of all.entries()) {
    assert.ok(r.reads > 0, `reader ${i} (${r.container}, ${r.mode}) read nothing`);
    assert.equal(r.failed, 0, `reader ${i} (${r.container}, ${r.mode}): ${r.failed} failed: ${r.firstError}`);
    assert.equal(r.wrong, 0, `reader ${i} (${r.container}, ${r.mode}): ${r.wrong} wrong: ${r.firstError}`);
  }

  // A crash still heals as before: the dead daemon's socket file answers nobody, the next daemon
  // mounts anew and repairs the containers' binds.
  await current.stop("SIGKILL");
  const healed = await startDaemon(mnt);
  daemons.push(healed);
  assert.doesNotMatch(healed.log(), /took the live mount over/);
  assert.match(healed.log(), /stale bind mounts repaired/);
  await settle();
  const r = await small.exec("grep MemTotal /proc/meminfo");
  assert.match(r.stdout, /MemTotal:\s+262144 kB/, r.stderr);
});
