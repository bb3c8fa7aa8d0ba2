import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";
import { createRuncLab, lxcfsStyleBinds, runcAvailable } from "../helpers/runc.js";
import { type DaemonUnderTest, hasDevFuse, mountedFsType, startDaemon } from "./fuse-daemon.js";
import {
  assertNoFailedReads,
  buildReader,
  startReaders,
  stopReaders,
  type Window,
} from "./handover-readers.js";

/** runc renders the views before it writes the limits (see runc-restart.test.ts): let that pass. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 500));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const UPGRADES = 5;

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
  buildReader(dir);

  let current = await startDaemon(mnt);
  daemons.push(current);
  const binds = lxcfsStyleBinds(mnt);
  const small = await lab.start({ name: "small", memoryBytes: 256 << 20, cpus: "0", binds });
  const large = await lab.start({ name: "large", memoryBytes: 512 << 20, cpus: "0", binds });
  await settle();
  const readers = [
    { container: small, ...(await startReaders(small, 262144)) },
    { container: large, ...(await startReaders(large, 524288)) },
  ];
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
  const windows: Window[] = [];
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

  assertNoFailedReads(t, await stopReaders(readers), windows, `${UPGRADES} handovers`);

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
