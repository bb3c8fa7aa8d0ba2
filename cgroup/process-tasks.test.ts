import assert from "node:assert/strict";
import { test } from "node:test";
import { PATH_A, V1_PROC, v1Mounts } from "../test/cgroup/fixtures.js";
import { handleForPath } from "./handle.js";
import { findContainerInit, oldestProcess } from "./init.js";
import { findNamespaceInit, parseNsPid, parseProcStat, readProcStartTicks } from "./process.js";
import { countTasks, parsePidList, readCgroupPids, readCgroupPidsRecursive } from "./tasks.js";

test("parseProcStat: comm with spaces and parentheses; state, ppid, starttime (field 22)", () => {
  const s = parseProcStat("1002 (worker ) x) S 1 1000 1000 0 -1 0 0 0 0 0 5 3 0 0 20 0 3 0 4002 0 0\n");
  assert.deepEqual(s, { comm: "worker ) x", state: "S", ppid: 1, startTicks: 4002 });
  assert.equal(parseProcStat("garbage"), undefined);
  assert.equal(parseProcStat("1 (x) R 0"), undefined, "truncated line");
});

test("readProcStartTicks: fixture and missing pid", () => {
  assert.equal(readProcStartTicks(2000, V1_PROC), 6000);
  assert.equal(readProcStartTicks(1000, V1_PROC), 4000);
  assert.equal(readProcStartTicks(8888, V1_PROC), undefined);
});

test("parseNsPid: outermost first; missing line → []", () => {
  assert.deepEqual(parseNsPid("Name:\tx\nNSpid:\t2001\t5\nNSpgid:\t1\n"), [2001, 5]);
  assert.deepEqual(parseNsPid("Name:\tx\n"), []);
});

test("findNamespaceInit: walks PPid inside the namespace to the process whose NSpid ends in 1", () => {
  assert.deepEqual(findNamespaceInit(2001, V1_PROC), { initPid: 2000, startTicks: 6000 });
  assert.deepEqual(findNamespaceInit(2000, V1_PROC), { initPid: 2000, startTicks: 6000 });
});

test("findNamespaceInit: host namespace, setns-joined process whose parent is outside, missing pid → undefined", () => {
  assert.equal(findNamespaceInit(1000, V1_PROC), undefined);
  assert.equal(findNamespaceInit(1, V1_PROC), undefined);
  assert.equal(findNamespaceInit(3000, V1_PROC), undefined);
  assert.equal(findNamespaceInit(7777, V1_PROC), undefined);
});

test("readCgroupPids: cgroup.procs of the memory hierarchy; vanished cgroup → []", () => {
  const h = handleForPath(v1Mounts(), PATH_A);
  assert.deepEqual(readCgroupPids(h), [1000, 2001, 9999]);
  assert.deepEqual(readCgroupPids(handleForPath(v1Mounts(), "/gone")), []);
  assert.deepEqual(readCgroupPidsRecursive(h), [1000, 2001, 9999]);
  assert.deepEqual(parsePidList("1\n\n2\nx\n"), [1, 2]);
});

test("countTasks: threads by state across processes; vanished pid 9999 skipped", () => {
  assert.deepEqual(countTasks([1000, 2001, 9999], V1_PROC), { running: 2, blocked: 1, total: 4 });
  assert.deepEqual(countTasks([], V1_PROC), { running: 0, blocked: 0, total: 0 });
});

test("findContainerInit: namespace init that belongs to the cgroup, else the oldest process", () => {
  // Container A's cgroup.procs lists 1000 (host namespace), 2001 (ns child) and 9999 (vanished).
  // 2001's namespace init 2000 is not in the cgroup, so the oldest member wins (1000, start 4000).
  const h = handleForPath(v1Mounts(), PATH_A);
  assert.deepEqual(findContainerInit(h, V1_PROC), { initPid: 1000, startTicks: 4000 });
  assert.deepEqual(oldestProcess([2001, 2000, 9999], V1_PROC), { initPid: 2000, startTicks: 6000 });
  assert.equal(oldestProcess([9999], V1_PROC), undefined);
  assert.equal(findContainerInit(handleForPath(v1Mounts(), "/gone"), V1_PROC), undefined);
});
