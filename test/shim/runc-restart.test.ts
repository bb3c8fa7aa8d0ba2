import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statfsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isRoot, requirePrereq } from "../helpers/prereq.js";
import { createRuncLab, lxcfsStyleBinds, type RuncContainer, runcAvailable } from "../helpers/runc.js";
import { type DaemonUnderTest, hasDevFuse, mountedFsType, startDaemon } from "./fuse-daemon.js";

const MEMTOTAL = "grep MemTotal /proc/meminfo && grep -c ^processor /proc/cpuinfo";
/**
 * runc stats the bind sources while it sets the container up, before it writes the limits: that
 * renders the views for the new cgroup without limits, and reads share a rendering for the share
 * window (100 ms) plus the mount cache (100 ms). Views may lag a cgroup change by that much.
 */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 500));

async function assertSees(c: RuncContainer, kb: number): Promise<void> {
  const r = await c.exec(MEMTOTAL);
  assert.equal(r.code, 0, `${c.name}: ${r.stderr}`);
  assert.match(r.stdout, new RegExp(`MemTotal:\\s+${kb} kB\\n1\\n`), c.name);
}

async function assertStale(c: RuncContainer): Promise<void> {
  const r = await c.exec(MEMTOTAL);
  assert.notEqual(r.code, 0, `${c.name} still reads: ${r.stdout}`);
  assert.match(r.stderr, /Transport endpoint is not connected/);
}

test("daemon restarts: same path works; running containers' stale binds are repaired (or ENOTCONN with --no-heal-stale)", {
  timeout: 180_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, runcAvailable(), "needs runc, busybox-static, procps and sysstat")) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-restart-"));
  const mnt = join(dir, "mnt");
  const daemons: DaemonUnderTest[] = [];
  const lab = createRuncLab(dir, "fuse-restart");
  t.after(async () => {
    await lab.destroy();
    for (const d of daemons) await d.stop("SIGTERM");
    spawnSync("umount", ["-l", mnt]); // a daemon killed mid-test leaves its mount; no-op otherwise
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (args: string[] = []): Promise<DaemonUnderTest> => {
    const d = await startDaemon(mnt, args);
    daemons.push(d);
    return d;
  };
  const binds = lxcfsStyleBinds(mnt);
  const first = await start();
  const before = await lab.start({ name: "before", memoryBytes: 256 << 20, cpus: "0", binds });
  await settle();
  await assertSees(before, 262144);

  // 1. SIGKILL: the host mount and every container bind answer ENOTCONN.
  assert.deepEqual(await first.stop("SIGKILL"), { code: null, signal: "SIGKILL" });
  // statfs, not stat: a kernel may answer a stat of a cached directory from its attribute cache
  // even after the daemon died (Debian 12's 6.1 does), but always asks the daemon for STATFS.
  assert.throws(
    () => statfsSync(join(mnt, "proc")),
    { code: "ENOTCONN" },
    "the dead daemon's mount is stale",
  );
  await assertStale(before);

  // 2. Started again without healing (LXCFS's behaviour): the path works again, new containers see
  //    their numbers, containers started before keep ENOTCONN until restarted.
  const second = await start(["--no-heal-stale"]);
  assert.match(second.log(), /detached a stale mount left by a dead daemon/);
  assert.equal(mountedFsType(mnt), "fuse.boxscope");
  assert.equal(statSync(join(mnt, "proc/meminfo")).isFile(), true);
  await assertStale(before);
  const after = await lab.start({ name: "after", memoryBytes: 512 << 20, cpus: "0", binds });
  await settle();
  await assertSees(after, 524288);

  // 3. Killed again, started with healing (the default): both containers recover without a restart.
  await second.stop("SIGKILL");
  await assertStale(after);
  const third = await start();
  assert.match(third.log(), /stale bind mounts repaired/);
  await assertSees(before, 262144);
  await assertSees(after, 524288);

  // 4. A clean stop (SIGTERM) also leaves the binds dead (the connection is aborted); the next start
  //    repairs them the same way.
  assert.deepEqual(await third.stop("SIGTERM"), { code: 0, signal: null });
  assert.equal(mountedFsType(mnt), undefined);
  await assertStale(before);
  const fourth = await start();
  await assertSees(before, 262144);

  // Restarting a container (the runbook's fallback) works too.
  const restarted = await lab.restart("after");
  await settle();
  await assertSees(restarted, 524288);
  assert.deepEqual(await fourth.stop("SIGTERM"), { code: 0, signal: null });
});
