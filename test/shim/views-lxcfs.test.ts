import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createViewRenderer } from "../../shim/render.js";
import { hasCommand, requirePrereq } from "../helpers/prereq.js";
import { createLiveCgroup, liveCgroupsAvailable, sleep, waitForOutput } from "./live-cgroup.js";
import { meminfoField } from "./views-helpers.js";

const MiB = 1024 * 1024;

/** Mounts LXCFS (the Debian package) at a fresh directory; resolves once its files appear. */
async function startLxcfs(
  dir: string,
  args: string[],
): Promise<{ mnt: string; proc: ChildProcess; stop(): void }> {
  const mnt = join(dir, "mnt");
  mkdirSync(mnt);
  const proc = spawn("lxcfs", ["-f", "-p", join(dir, "lxcfs.pid"), ...args, mnt], { stdio: "ignore" });
  for (let i = 0; i < 100 && !existsSync(join(mnt, "proc/meminfo")); i++) await sleep(50);
  if (!existsSync(join(mnt, "proc/meminfo"))) throw new Error(`lxcfs did not mount at ${mnt}`);
  return {
    mnt,
    proc,
    stop() {
      spawnSync("fusermount", ["-u", mnt]);
      spawnSync("umount", ["-l", mnt]);
      if (proc.exitCode === null) proc.kill("SIGTERM");
    },
  };
}

/** Host pid of the init of the pid namespace `unshare --pid --fork` (host pid `unsharePid`) created. */
function nsInitOf(unsharePid: number): number {
  const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8")
    .trim()
    .split(/\s+/);
  const first = Number(children[0]);
  if (!Number.isInteger(first) || first <= 0) throw new Error(`unshare ${unsharePid} has no child yet`);
  return first;
}

test("LXCFS 5 cross-check: MemTotal, MemFree, processors and uptime agree for the same cgroup", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, liveCgroupsAvailable(), "needs root and cgroup v1 controllers")) return;
  if (
    !requirePrereq(t, hasCommand("lxcfs") && existsSync("/dev/fuse"), "needs lxcfs (apt lxcfs) and /dev/fuse")
  )
    return;
  if (!requirePrereq(t, hasCommand("unshare"), "needs unshare (util-linux)")) return;

  const dir = mkdtempSync("/tmp/boxscope-test-views-lxcfs-");
  const cg = createLiveCgroup("views");
  const mounts: Array<{ stop(): void }> = [];
  t.after(async () => {
    for (const m of mounts) m.stop();
    await cg.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  cg.setMemoryLimit(256 * MiB);
  cg.setQuota(50_000, 100_000);

  // Two LXCFS mounts: the default (CPU count from the cpuset only) and --enable-cfs (from the quota).
  const plainDir = join(dir, "plain");
  const cfsDir = join(dir, "cfs");
  mkdirSync(plainDir);
  mkdirSync(cfsDir);
  const plain = await startLxcfs(plainDir, []);
  mounts.push(plain);
  const cfs = await startLxcfs(cfsDir, ["--enable-cfs"]);
  mounts.push(cfs);

  // A reader inside the cgroup AND in its own pid namespace (a container): LXCFS serves the cgroup
  // of that namespace's init, and its uptime is that init's age; boxscope must resolve the same way.
  const out = join(dir, "out");
  mkdirSync(out);
  const reads = [
    `cat ${plain.mnt}/proc/meminfo > ${out}/meminfo`,
    `cat ${plain.mnt}/proc/uptime > ${out}/uptime`,
    `cat ${plain.mnt}/proc/cpuinfo > ${out}/cpuinfo`,
    `cat ${cfs.mnt}/proc/cpuinfo > ${out}/cpuinfo-cfs`,
  ].join("; ");
  const reader = cg.spawnInside(
    `exec unshare --pid --fork sh -c 'sleep 1.5; ${reads}; sleep 60 & echo done; exec sleep 60'`,
  );
  await waitForOutput(reader, "done");
  const initPid = nsInitOf(reader.pid as number);

  const render = (view: string, cfsQuota = true): string =>
    createViewRenderer({ cfsQuota, shareWindowMs: 0 }).renderForPid(view, initPid);
  const ours = render("proc/meminfo");
  const theirs = readFileSync(join(out, "meminfo"), "utf8");

  assert.equal(meminfoField(ours, "MemTotal"), meminfoField(theirs, "MemTotal"));
  assert.equal(meminfoField(ours, "MemTotal"), 256 * 1024);
  // The cgroup's usage moves a little between LXCFS's read and ours (page tables, the cat itself).
  assert.ok(
    Math.abs(meminfoField(ours, "MemFree") - meminfoField(theirs, "MemFree")) <= 4096,
    `${meminfoField(ours, "MemFree")} vs ${meminfoField(theirs, "MemFree")}`,
  );

  const [ourUp] = render("proc/uptime").split(" ").map(Number);
  const [theirUp] = readFileSync(join(out, "uptime"), "utf8").split(" ").map(Number);
  assert.ok(ourUp !== undefined && theirUp !== undefined);
  // Both are the age of the namespace's init; ours is read a moment later.
  assert.ok(ourUp >= theirUp && ourUp - theirUp < 3, `uptime ${ourUp} vs LXCFS ${theirUp}`);
  assert.ok(ourUp < 30, "a fresh namespace's uptime, not the host's");
  // Another process of the same namespace (the init's child) is served the same container, through
  // the renderer's namespace cache once the init is known.
  const shared = createViewRenderer({ shareWindowMs: 0 });
  assert.equal(shared.cgroupForPid(initPid), cg.path);
  const child = nsInitOf(initPid);
  assert.notEqual(child, initPid);
  assert.equal(shared.cgroupForPid(child), cg.path);
  const childUptime = shared.renderForPid("proc/uptime", child);
  assert.ok(Math.abs(Number(childUptime.split(" ")[0]) - ourUp) < 3, "the init's age, not the child's");

  const processors = (text: string): number => (text.match(/^processor\s*:/gm) ?? []).length;
  const hostCount = processors(readFileSync("/proc/cpuinfo", "utf8"));
  // Without the quota both count the cpuset: they must agree.
  assert.equal(
    processors(render("proc/cpuinfo", false)),
    processors(readFileSync(join(out, "cpuinfo"), "utf8")),
  );
  // Differs on purpose: boxscope applies the CFS quota by default (ceil(0.5) = 1 CPU), because
  // tools sizing thread pools from the CPU count must not see CPUs the quota never lets them use;
  // LXCFS does so only with --enable-cfs, where it agrees with boxscope's default.
  assert.equal(processors(render("proc/cpuinfo")), 1);
  assert.equal(processors(readFileSync(join(out, "cpuinfo"), "utf8")), hostCount);
  assert.equal(processors(readFileSync(join(out, "cpuinfo-cfs"), "utf8")), 1);
  reader.kill("SIGKILL");
});
