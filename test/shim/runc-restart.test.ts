import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isRoot, requirePrereq } from "../helpers/prereq.js";
import { createRuncLab, lxcfsStyleBinds, runcAvailable } from "../helpers/runc.js";
import { type DaemonUnderTest, hasDevFuse, mountedFsType, startDaemon } from "./fuse-daemon.js";

const MEMTOTAL = "grep MemTotal /proc/meminfo";
/**
 * runc stats the bind sources while it sets the container up, before it writes the limits: that
 * renders the views for the new cgroup without limits, and reads share a rendering for the share
 * window (100 ms) plus the mount cache (100 ms). Views may lag a cgroup change by that much.
 */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 500));

test("daemon killed with SIGKILL, started again: same path works; older containers see ENOTCONN until restarted", {
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
    rmSync(dir, { recursive: true, force: true });
  });
  const first = await startDaemon(mnt);
  daemons.push(first);
  const binds = lxcfsStyleBinds(mnt);
  const before = await lab.start({ name: "before", memoryBytes: 256 << 20, cpus: "0", binds });
  await settle();
  assert.match((await before.exec(MEMTOTAL)).stdout, /MemTotal:\s+262144 kB/);

  assert.deepEqual(await first.stop("SIGKILL"), { code: null, signal: "SIGKILL" });
  assert.throws(() => statSync(join(mnt, "proc")), { code: "ENOTCONN" }, "the dead daemon's mount is stale");
  const dead = await before.exec(MEMTOTAL);
  assert.notEqual(dead.code, 0);
  assert.match(dead.stderr, /Transport endpoint is not connected/);

  const second = await startDaemon(mnt);
  daemons.push(second);
  assert.match(second.log(), /detached a stale mount left by a dead daemon/);
  assert.equal(mountedFsType(mnt), "fuse.boxscope");
  assert.equal(statSync(join(mnt, "proc/meminfo")).isFile(), true);

  // The old container's bind mounts still point at the dead connection: this is what users see
  // until they restart it (documented in docs/shim.md and deploy/README.md).
  const still = await before.exec(MEMTOTAL);
  assert.notEqual(still.code, 0);
  assert.match(still.stderr, /Transport endpoint is not connected/);

  const after = await lab.start({ name: "after", memoryBytes: 512 << 20, cpus: "0", binds });
  await settle();
  assert.match((await after.exec(MEMTOTAL)).stdout, /MemTotal:\s+524288 kB/);

  // Restarting the old container (what the runbook says) brings its views back.
  const restarted = await lab.restart("before");
  await settle();
  assert.match((await restarted.exec(MEMTOTAL)).stdout, /MemTotal:\s+262144 kB/);

  assert.deepEqual(await second.stop("SIGTERM"), { code: 0, signal: null });
});
