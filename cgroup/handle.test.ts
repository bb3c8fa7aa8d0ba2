import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ID_C,
  PATH_A,
  PATH_B,
  PATH_C,
  PATH_D,
  V1_PROC,
  V1_ROOT,
  V2_PROC,
  V2_ROOT,
  v1Mounts,
  v2Mounts,
} from "../test/cgroup/fixtures.js";
import {
  ancestorDirs,
  handleExists,
  handleForPath,
  handleForPid,
  normalizeCgroupPath,
  resolveHandle,
} from "./handle.js";
import { parseProcCgroup } from "./proc-cgroup.js";

const CG1 = `${V1_ROOT}/sys/fs/cgroup`;
const CG2 = `${V2_ROOT}/sys/fs/cgroup`;

test("resolveHandle (hybrid v1): each controller in its v1 hierarchy; io = blkio; co-mounted cpu,cpuacct", () => {
  const pc = parseProcCgroup(`7:memory:${PATH_A}\n6:cpu,cpuacct:${PATH_A}\n10:blkio:/other\n0::/\n`);
  const h = resolveHandle(v1Mounts(), pc);
  assert.equal(h.path, PATH_A);
  assert.deepEqual(h.dirs.memory, { version: 1, dir: `${CG1}/memory${PATH_A}`, root: `${CG1}/memory` });
  assert.equal(h.dirs.cpu?.dir, `${CG1}/cpu,cpuacct${PATH_A}`);
  assert.equal(h.dirs.cpuacct?.dir, `${CG1}/cpu,cpuacct${PATH_A}`);
  assert.equal(h.dirs.io?.dir, `${CG1}/blkio/other`);
  assert.equal(h.dirs.blkio?.version, 1);
  assert.equal(h.dirs.pids, undefined, "no pids line in /proc/<pid>/cgroup → no pids dir");
  assert.equal(h.unifiedDir, `${CG1}/unified`);
});

test("resolveHandle (pure v2): every controller enabled in the unified hierarchy resolves there", () => {
  const h = resolveHandle(v2Mounts(), parseProcCgroup(`0::${PATH_C}\n`));
  assert.equal(h.path, PATH_C);
  for (const c of ["memory", "cpu", "cpuacct", "cpuset", "pids", "io", "blkio"] as const) {
    assert.deepEqual(h.dirs[c], { version: 2, dir: `${CG2}${PATH_C}`, root: CG2 }, c);
  }
  assert.equal(h.unifiedDir, `${CG2}${PATH_C}`);
});

test("resolveHandle: a controller missing from cgroup.controllers is not resolved on v2", () => {
  const m = { v1: new Map(), unified: "/u", unifiedControllers: new Set(["memory"]) };
  const h = resolveHandle(m, parseProcCgroup("0::/x\n"));
  assert.deepEqual(Object.keys(h.dirs), ["memory"]);
});

test("handleForPath: same path in every hierarchy, normalised", () => {
  const h = handleForPath(v1Mounts(), `${PATH_B.slice(1)}/`);
  assert.equal(h.path, PATH_B);
  assert.equal(h.dirs.pids?.dir, `${CG1}/pids${PATH_B}`);
  assert.equal(h.dirs.cpuset?.dir, `${CG1}/cpuset${PATH_B}`);
  assert.equal(handleExists(h), true);
  assert.equal(handleExists(handleForPath(v1Mounts(), "/no/such/cgroup")), false);
  assert.equal(normalizeCgroupPath(""), "/");
  assert.equal(normalizeCgroupPath("//a/./b/"), "/a/b");
  assert.equal(normalizeCgroupPath("a/../../../etc"), "/etc", "never above the hierarchy root");
  assert.equal(handleForPath(v1Mounts(), "../../..").dirs.memory?.dir, `${CG1}/memory`);
  const root = handleForPath(v2Mounts(), "/");
  assert.equal(root.dirs.memory?.dir, CG2);
});

test("handleForPid: reads /proc/<pid>/cgroup; init.scope stripped; undefined for a missing pid", () => {
  const h = handleForPid(3000, { procRoot: V1_PROC, mounts: v1Mounts() });
  assert.equal(h?.path, PATH_B);
  const d = handleForPid(4100, { procRoot: V2_PROC, mounts: v2Mounts() });
  assert.equal(d?.path, PATH_D);
  assert.equal(d?.dirs.memory?.dir, `${CG2}${PATH_D}`);
  const c = handleForPid(4000, { procRoot: V2_PROC, mounts: v2Mounts() });
  assert.ok(c?.path.includes(ID_C));
  assert.equal(handleForPid(999999, { procRoot: V1_PROC, mounts: v1Mounts() }), undefined);
});

test("ancestorDirs: child first up to the root inclusive", () => {
  assert.deepEqual(ancestorDirs("/r/a/b", "/r"), ["/r/a/b", "/r/a", "/r"]);
  assert.deepEqual(ancestorDirs("/r", "/r"), ["/r"]);
  assert.deepEqual(ancestorDirs("/elsewhere/x", "/r"), ["/elsewhere/x"]);
  assert.deepEqual(ancestorDirs("/sys/fs/cgroup/cpu,cpuacct/a", "/sys/fs/cgroup/cpu,cpuacct"), [
    "/sys/fs/cgroup/cpu,cpuacct/a",
    "/sys/fs/cgroup/cpu,cpuacct",
  ]);
});
