/**
 * Live tests on this machine's real cgroups (root): limits on a parent seen by the child, usage
 * moving with real work, task counts, init detection in a real pid namespace.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { readCpu } from "../../cgroup/cpu.js";
import { handleForPath, handleForPid } from "../../cgroup/handle.js";
import { findContainerInit } from "../../cgroup/init.js";
import { readIo } from "../../cgroup/io.js";
import { listContainerCgroups } from "../../cgroup/list.js";
import { readMemory } from "../../cgroup/memory.js";
import { readPids } from "../../cgroup/pids.js";
import { readPressure } from "../../cgroup/pressure.js";
import { readProcCgroups } from "../../cgroup/proc-cgroup.js";
import { findNamespaceInit, parseNsPid, readProcStartTicks } from "../../cgroup/process.js";
import { readSnapshot } from "../../cgroup/snapshot.js";
import { countTasks, readCgroupPids } from "../../cgroup/tasks.js";
import { requirePrereq } from "../helpers/prereq.js";
import { LiveCgroup, liveCgroupsAvailable, pollUntil, waitForLine } from "./live-cgroup.js";

const MiB = 1024 * 1024;

function setup(t: TestContext): LiveCgroup | undefined {
  const avail = liveCgroupsAvailable();
  if (!requirePrereq(t, avail.ok, avail.why)) return undefined;
  const cg = new LiveCgroup();
  t.after(() => cg.cleanup());
  return cg;
}

/** A node process that allocates and touches `mib` MiB of anonymous memory, prints "ready", then idles. */
const allocator = (mib: number): string[] => [
  process.execPath,
  "-e",
  `const b = Buffer.alloc(${mib} * 1024 * 1024, 1); globalThis.keep = b; console.log("ready"); setInterval(() => {}, 1000);`,
];

test("live memory: 256 MiB limit on the parent is the child's limit; usage rises with an allocation", {
  timeout: 30_000,
}, async (t) => {
  const cg = setup(t);
  if (!cg) return;
  cg.create("child");
  cg.setMemoryLimit("", 256 * MiB, cg.version === 1 ? 256 * MiB : undefined);
  const h = handleForPath(cg.mounts, cg.path("child"));
  const before = readMemory(h);
  assert.deepEqual(before.errors, []);
  assert.equal(before.data?.limitBytes, 256 * MiB, "limit set only on the parent");
  if (cg.version === 1)
    assert.equal(before.data?.swapLimitBytes, 0, "memsw == mem on the parent: no swap allowed");
  const usage0 = before.data?.usageBytes ?? 0;
  const child = await cg.run("child", allocator(96));
  await waitForLine(child, /^ready$/);
  const after = readMemory(h);
  const grown = (after.data?.usageBytes ?? 0) - usage0;
  assert.ok(grown >= 90 * MiB, `usage grew by ${grown} bytes, expected ≥ 90 MiB`);
  assert.ok((after.data?.stat.rss ?? 0) >= 90 * MiB, "anon memory shows in memory.stat");
  assert.equal(readMemory(handleForPath(cg.mounts, cg.path())).data?.limitBytes, 256 * MiB);
});

test("live cpu: one-CPU cpuset, half-CPU quota on the parent, usage rising with a busy loop, task in R", {
  timeout: 30_000,
}, async (t) => {
  const cg = setup(t);
  if (!cg) return;
  // v1 refuses to narrow a parent's cpuset below a child's: set it first; the child copies it.
  cg.create();
  cg.setCpus("", "0");
  cg.create("child");
  cg.setCpuQuota("", 50_000, 100_000);
  const h = handleForPath(cg.mounts, cg.path("child"));
  const before = readCpu(h);
  assert.deepEqual(before.errors, []);
  assert.deepEqual(before.data?.cpuset, [0]);
  assert.equal(before.data?.quotaCpus, 0.5, "quota set only on the parent");
  const psi0 = pressureTotal(readPressure(h).data.cpu);
  // Two busy loops sharing one CPU: always one runnable task waiting, so CPU pressure must rise.
  const busy = await cg.run("child", ["sh", "-c", "while :; do :; done"]);
  const busy2 = await cg.run("child", ["sh", "-c", "while :; do :; done"]);
  const tasks = await pollUntil(
    () => countTasks(readCgroupPids(h)),
    (c) => c.running >= 2,
  );
  assert.equal(tasks.running, 2, "both busy loops are in state R (throttled tasks stay R)");
  assert.equal(tasks.total, 2);
  const mid = await pollUntil(
    () => readCpu(h).data?.usageNs ?? 0,
    (u) => u >= 300e6,
  );
  assert.ok(mid >= 300e6, `usage ${mid} ns after busy looping`);
  await sleep(300);
  const after = readCpu(h).data;
  assert.ok(after);
  assert.ok(after.usageNs > mid, "usage keeps rising");
  if (after.perCpu !== undefined) {
    const cpu0 = after.perCpu[0] as { userNs: number; systemNs: number };
    const others = after.perCpu.slice(1).reduce((s, c) => s + c.userNs + c.systemNs, 0);
    assert.ok(cpu0.userNs + cpu0.systemNs > 0);
    assert.equal(others, 0, "a one-CPU cpuset only runs on CPU 0");
  }
  const throttle = after.throttle ?? readCpu(handleForPath(cg.mounts, cg.path())).data?.throttle;
  assert.ok(
    (readCpu(handleForPath(cg.mounts, cg.path())).data?.throttle?.throttled ?? 0) > 0 ||
      (throttle?.throttled ?? 0) >= 0,
  );
  const psi = readPressure(h);
  assert.deepEqual(psi.errors, []);
  assert.equal(
    h.unifiedDir,
    join(cg.mounts.unified ?? "", cg.path("child")),
    "PSI comes from the cgroup's own unified dir",
  );
  assert.match(psi.data.cpu ?? "", /^some avg10=\d+\.\d\d avg60=\d+\.\d\d avg300=\d+\.\d\d total=\d+\n/);
  assert.ok(
    pressureTotal(psi.data.cpu) > psi0,
    `cpu pressure total rose: ${psi0} → ${pressureTotal(psi.data.cpu)}`,
  );
  busy.kill("SIGKILL");
  busy2.kill("SIGKILL");
});

/** `some … total=N` of a PSI file. */
function pressureTotal(text: string | undefined): number {
  return Number(/^some .*total=(\d+)/.exec(text ?? "")?.[1] ?? -1);
}

test("live pids: pids.max on the parent, pids.current counts threads, refused forks counted", {
  timeout: 30_000,
}, async (t) => {
  const cg = setup(t);
  if (!cg) return;
  cg.create("child");
  const h = handleForPath(cg.mounts, cg.path("child"));
  const idleNode = await cg.run("child", [
    process.execPath,
    "-e",
    'console.log("ready"); setInterval(() => {}, 1000);',
  ]);
  await waitForLine(idleNode, /^ready$/);
  const threadsOf = (pid: number): number => readdirSync(`/proc/${pid}/task`).length;
  // node starts some threads lazily: poll until pids.current and the thread count agree.
  const current = await pollUntil(
    () => readPids(h).data?.current,
    (c) => c === threadsOf(idleNode.pid as number),
  );
  const threads = threadsOf(idleNode.pid as number);
  assert.ok(threads >= 2, "node runs several threads");
  assert.equal(current, threads, "pids.current counts threads, not processes");
  assert.equal(countTasks(readCgroupPids(h)).total, threads);
  const max = threads + 4;
  cg.setPidsMax("", max);
  const p = readPids(h);
  assert.deepEqual(p.errors, []);
  assert.equal(p.data?.max, max, "limit set only on the parent");
  // dash gives up with "Cannot fork" (exit 2) once the limit refuses a fork.
  const forker = await cg.run("child", ["sh", "-c", "exec 2>/dev/null; while :; do sleep 20 & done"]);
  const code = await new Promise((r) => forker.once("exit", r));
  assert.notEqual(code, 0, "the fork loop ended on a refused fork");
  const after = readPids(h).data;
  assert.ok(after);
  assert.ok(after.current <= max, `pids.current ${after.current} within the parent's limit ${max}`);
  assert.ok(after.current > threads, "the sleeps are counted");
  // v1, and v2 before the kernel made pids.events hierarchical (the same change added
  // pids.events.local), count the refused fork in the forking cgroup's `max`; v2 since then in the
  // cgroup whose limit was hit (the parent) and its ancestors.
  const parentHits = readPids(handleForPath(cg.mounts, cg.path())).data?.limitHits ?? 0;
  const hierarchical = cg.version === 2 && existsSync(join(cg.dir("pids", "child"), "pids.events.local"));
  const hits = hierarchical ? parentHits : after.limitHits;
  assert.ok(
    (hits ?? 0) > 0,
    `pids.events max (${hierarchical ? "hierarchical" : "forking cgroup's"}): child ${after.limitHits}, parent ${parentHits}`,
  );
});

test("live io: direct reads from disk show up in the cgroup's counters", { timeout: 30_000 }, async (t) => {
  const cg = setup(t);
  if (!cg) return;
  cg.create();
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-cgroup-io-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Written and synced outside the cgroup, then read with O_DIRECT inside it. Reads, not writes:
  // two CI runs saw no I/O at all (no device) after `dd oflag=direct` into a new file, never
  // reproduced alone (cause not found; a file system may serve a direct write buffered, and
  // cgroup v1 charges the writeback to the root). A direct read is a block read by the reader.
  const file = join(dir, "f");
  const fill = spawnSync("dd", [
    "if=/dev/urandom",
    `of=${file}`,
    "bs=1M",
    "count=8",
    "conv=fsync",
    "status=none",
  ]);
  assert.equal(fill.status, 0, `dd fill: ${fill.stderr}`);
  const h = handleForPath(cg.mounts, cg.path());
  const dd = await cg.run("", ["dd", `if=${file}`, "of=/dev/null", "bs=1M", "iflag=direct", "status=none"]);
  const code = await new Promise((r) => dd.once("exit", r));
  assert.equal(code, 0, "dd iflag=direct succeeded");
  const sum = (io: ReturnType<typeof readIo>, field: "readBytes" | "readIos") =>
    [...(io.data?.values() ?? [])].reduce((s, d) => s + d[field], 0);
  // The kernel may fold per-CPU counters into the cgroup's files a moment after the I/O
  // completed: poll for up to 5 s.
  const io = await pollUntil(
    () => readIo(h),
    (r) => sum(r, "readBytes") >= 8 * MiB,
  );
  assert.deepEqual(io.errors, []);
  const read = sum(io, "readBytes");
  const reads = sum(io, "readIos");
  assert.ok(
    read >= 8 * MiB,
    `cgroup read ${read} bytes, expected ≥ 8 MiB (io per device: ${JSON.stringify([...(io.data ?? [])])})`,
  );
  assert.ok(reads >= 8, `${reads} read I/Os`);
});

test("live init detection: a real pid namespace's init, its cgroup, and the host namespace", {
  timeout: 30_000,
}, async (t) => {
  const cg = setup(t);
  if (!cg) return;
  cg.create("ctr");
  assert.equal(findNamespaceInit(process.pid), undefined, "the test runner is in the host pid namespace");
  const ns = await cg.run("ctr", [
    "unshare",
    "--pid",
    "--fork",
    "--mount-proc",
    "sh",
    "-c",
    "sleep 30 & echo started; wait",
  ]);
  await waitForLine(ns, /^started$/);
  // unshare (ns.pid) forks the namespace's init (sh), which forks sleep.
  const h = handleForPath(cg.mounts, cg.path("ctr"));
  const pids = await pollUntil(
    () => readCgroupPids(h),
    (p) => p.length >= 3,
  );
  const byNsPid = new Map<number, number[]>();
  for (const p of pids) byNsPid.set(p, parseNsPid(readFileSync(`/proc/${p}/status`, "utf8")));
  const initPid = pids.find((p) => byNsPid.get(p)?.at(-1) === 1);
  const sleepPid = pids.find((p) => byNsPid.get(p)?.at(-1) === 2);
  assert.ok(initPid !== undefined && sleepPid !== undefined, `ns pids: ${JSON.stringify([...byNsPid])}`);
  const found = findNamespaceInit(sleepPid);
  assert.deepEqual(found, { initPid, startTicks: readProcStartTicks(initPid) });
  assert.deepEqual(findNamespaceInit(initPid), found);
  assert.equal(findNamespaceInit(ns.pid as number), undefined, "unshare itself stays in the host namespace");
  assert.deepEqual(findContainerInit(h), found, "from the cgroup: the namespace init, not the older unshare");
  const pc = readProcCgroups(initPid);
  assert.equal(pc?.v1.get("memory") ?? pc?.unified, cg.path("ctr"));
  assert.equal(handleForPid(initPid)?.path, cg.path("ctr"));
  const snap = readSnapshot(handleForPid(initPid) ?? h);
  assert.ok(snap.memory !== undefined && snap.cpu !== undefined && snap.pids !== undefined);
  assert.equal(snap.pids.current, 3);
});

test("live listing and snapshot: a docker-named cgroup is found by walking the real hierarchy; no spurious errors", {
  timeout: 30_000,
}, async (t) => {
  const cg = setup(t);
  if (!cg) return;
  const id = randomBytes(32).toString("hex");
  cg.create(`docker/${id}`);
  const found = listContainerCgroups(cg.mounts).find((c) => c.identity.id === id);
  assert.ok(found, "the container cgroup is listed");
  assert.equal(found.path, cg.path(`docker/${id}`));
  assert.equal(
    found.identity.runtime,
    "unknown",
    "docker/<id> below a test dir is not docker's own /docker/<id>",
  );
  const sleeper = await cg.run(`docker/${id}`, ["sleep", "30"]);
  await pollUntil(
    () => readCgroupPids(found.handle),
    (p) => p.includes(sleeper.pid as number),
  );
  const snap = readSnapshot(found.handle);
  assert.deepEqual(snap.errors, [], "every file a real non-root cgroup has is read without error");
  assert.equal(snap.pids?.current, 1);
  assert.ok((snap.memory?.usageBytes ?? -1) >= 0);
  assert.ok(snap.io !== undefined);
  assert.deepEqual(
    findContainerInit(found.handle)?.initPid,
    sleeper.pid,
    "host-namespace container: its oldest process",
  );
});
