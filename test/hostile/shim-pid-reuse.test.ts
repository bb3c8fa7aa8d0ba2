import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/paths.js";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";
import { type DaemonUnderTest, hasDevFuse, startDaemon } from "../shim/fuse-daemon.js";
import {
  createLiveCgroup,
  LIVE_CONTROLLERS,
  type LiveCgroup,
  liveCgroupsAvailable,
} from "../shim/live-cgroup.js";

/** What pid-reuse-probe.c prints. */
interface ProbeReport {
  delays: {
    delayUs: number;
    reused: number;
    notReused: number;
    wrongA: number;
    wrongB: number;
    failed: number;
  }[];
  loopA: { reads: number; wrong: number; failed: number };
  loopB: { reads: number; wrong: number; failed: number };
}

const MIB_KB = 1024;
const REUSES = 400;
const DELAYS_US = [0, 1000, 5000];

/*
 * A hostile tenant (or a host near pid_max) hands a pid from one container to another: a process in
 * cgroup A (256 MiB) reads proc/meminfo and exits, and a process in cgroup B (512 MiB) is created
 * with the same pid (clone3 set_tid) and reads it. Each must see its own limit, and so must a reader
 * in each cgroup that never takes part (a wrong rendering cached under its key would reach it).
 * Run with the mount's cache (the default) and without it (every read rendered by JavaScript).
 */
test("shim: a reused pid never gets, nor caches, another container's view", {
  timeout: 180_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, liveCgroupsAvailable(), "needs cgroup controllers (live cgroups)")) return;
  if (!requirePrereq(t, hasCommand("cc"), "needs a C compiler (cc) for the probe")) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-pid-reuse-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const probe = join(dir, "pid-reuse-probe");
  const cc = spawnSync("cc", ["-O2", "-o", probe, join(repoRoot, "test/hostile/pid-reuse-probe.c")], {
    encoding: "utf8",
  });
  assert.equal(cc.status, 0, `cc: ${cc.stderr}`);

  const a = createLiveCgroup("pid-reuse-a");
  t.after(() => a.destroy());
  const b = createLiveCgroup("pid-reuse-b");
  t.after(() => b.destroy());
  a.setMemoryLimit(256 * MIB_KB * 1024);
  b.setMemoryLimit(512 * MIB_KB * 1024);
  const procs = (cg: LiveCgroup): string =>
    (cg.version === 1 ? LIVE_CONTROLLERS.map((c) => cg.dir(c)) : [cg.dir("memory")])
      .map((d) => join(d, "cgroup.procs"))
      .join(",");

  for (const [name, args] of [
    ["mount cache on (default)", []],
    ["mount cache off (--cache-ms 0)", ["--cache-ms", "0"]],
  ] as const) {
    await t.test(name, async (st) => {
      const mnt = join(dir, `mnt-${args.length}`);
      let daemon: DaemonUnderTest | undefined;
      st.after(async () => {
        await daemon?.stop("SIGKILL");
        spawnSync("umount", ["-l", mnt]);
      });
      daemon = await startDaemon(mnt, [...args]);
      const run = spawnSync(
        probe,
        [
          join(mnt, "proc/meminfo"),
          String(REUSES),
          DELAYS_US.join(","),
          String(256 * MIB_KB),
          procs(a),
          String(512 * MIB_KB),
          procs(b),
        ],
        { encoding: "utf8", timeout: 90_000 },
      );
      assert.equal(run.status, 0, `probe: ${run.stderr}`);
      st.diagnostic(run.stdout.trim());
      const report = JSON.parse(run.stdout) as ProbeReport;

      // The probe did what it says: nearly every B process really got the pid A had just left.
      for (const d of report.delays)
        assert.ok(d.reused >= REUSES * 0.9, `too few reuses: ${JSON.stringify(d)}`);
      assert.ok(report.loopA.reads > 0 && report.loopB.reads > 0, "long-lived readers ran");
      assert.deepEqual(
        report.delays.map((d) => ({ delayUs: d.delayUs, wrongA: d.wrongA, wrongB: d.wrongB })),
        DELAYS_US.map((delayUs) => ({ delayUs, wrongA: 0, wrongB: 0 })),
        "reused pids answered with the other cgroup's MemTotal",
      );
      assert.deepEqual(
        { loopA: report.loopA.wrong, loopB: report.loopB.wrong },
        { loopA: 0, loopB: 0 },
        "long-lived readers served the other cgroup's MemTotal",
      );
      const failed =
        report.delays.reduce((n, d) => n + d.failed, 0) + report.loopA.failed + report.loopB.failed;
      assert.equal(failed, 0, `failed reads; daemon log: ${daemon.log()}`);
    });
  }
});
