import assert from "node:assert/strict";
import { test } from "node:test";
import { fixturePath } from "../test/helpers/paths.js";
import { parseMountinfo, readCgroupMounts } from "./mounts.js";
import { parseProcCgroup, readProcCgroups, stripInitScope } from "./proc-cgroup.js";

test("parseProcCgroup: hybrid (v1 lines + unified 0:: line), co-mounted controllers, init.scope stripped", () => {
  const pc = parseProcCgroup(
    "12:devices:/docker/abc\n6:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc/init.scope\n1:name=systemd:/docker/abc\n0::/docker/abc/init.scope\n",
  );
  assert.equal(pc.v1.get("cpu"), "/docker/abc");
  assert.equal(pc.v1.get("cpuacct"), "/docker/abc");
  assert.equal(pc.v1.get("memory"), "/docker/abc");
  assert.equal(pc.v1.get("name=systemd"), "/docker/abc");
  assert.equal(pc.unified, "/docker/abc");
});

test("parseProcCgroup: pure v2 has no v1 entries; ':' inside a path is kept", () => {
  const pc = parseProcCgroup("0::/system.slice/odd:name.service\n");
  assert.equal(pc.v1.size, 0);
  assert.equal(pc.unified, "/system.slice/odd:name.service");
});

test("stripInitScope", () => {
  assert.equal(stripInitScope("/init.scope"), "/");
  assert.equal(stripInitScope("/a/init.scope"), "/a");
  assert.equal(stripInitScope("/a/init.scope.x"), "/a/init.scope.x");
});

test("readProcCgroups: fixture pid, and undefined for a missing pid", () => {
  const proc = fixturePath("cgroup", "v1", "proc");
  const pc = readProcCgroups(3000, proc);
  assert.ok(pc);
  assert.match(pc.v1.get("memory") ?? "", /^\/docker\/b0c1/);
  assert.equal(pc.v1.get("name=systemd"), pc.v1.get("memory"));
  assert.equal(readProcCgroups(424242, proc), undefined);
});

test("parseMountinfo: hybrid with co-mounted cpu,cpuacct and net_cls,net_prio", () => {
  const m = parseMountinfo(
    [
      "31 22 0:27 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755",
      "32 31 0:28 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate",
      "33 31 0:29 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,xattr,name=systemd",
      "36 31 0:32 / /sys/fs/cgroup/cpu,cpuacct rw shared:14 - cgroup cgroup rw,cpu,cpuacct",
      "37 31 0:33 / /sys/fs/cgroup/memory rw shared:15 - cgroup cgroup rw,memory",
      "38 31 0:33 / /mnt/memory\\040copy rw shared:15 - cgroup cgroup rw,memory",
    ].join("\n"),
  );
  assert.equal(m.unified, "/sys/fs/cgroup/unified");
  assert.equal(m.v1.get("cpu"), "/sys/fs/cgroup/cpu,cpuacct");
  assert.equal(m.v1.get("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
  assert.equal(m.v1.get("name=systemd"), "/sys/fs/cgroup/systemd");
  assert.equal(m.v1.get("memory"), "/sys/fs/cgroup/memory", "first mount wins over a later bind mount");
  assert.equal(m.v1.has("rw"), false);
  assert.equal(m.v1.has("xattr"), false);
});

test("parseMountinfo: pure v2, and a mount point with an escaped space", () => {
  const m = parseMountinfo("30 22 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
  assert.equal(m.unified, "/sys/fs/cgroup");
  assert.equal(m.v1.size, 0);
  const e = parseMountinfo("30 22 0:26 / /my\\040cg rw - cgroup2 cgroup2 rw\n");
  assert.equal(e.unified, "/my cg");
});

test("readCgroupMounts: fixture trees (hybrid v1 → no unified controllers; v2 → controllers from cgroup.controllers)", () => {
  const v1root = fixturePath("cgroup", "v1");
  const m1 = readCgroupMounts(`${v1root}/proc`, { pathPrefix: v1root });
  assert.equal(m1.v1.get("memory"), `${v1root}/sys/fs/cgroup/memory`);
  assert.equal(m1.unified, `${v1root}/sys/fs/cgroup/unified`);
  assert.equal(m1.unifiedControllers.size, 0);
  const v2root = fixturePath("cgroup", "v2");
  const m2 = readCgroupMounts(`${v2root}/proc`, { pathPrefix: v2root });
  assert.equal(m2.v1.size, 0);
  assert.equal(m2.unified, `${v2root}/sys/fs/cgroup`);
  assert.deepEqual([...m2.unifiedControllers].sort(), [
    "cpu",
    "cpuset",
    "hugetlb",
    "io",
    "memory",
    "misc",
    "pids",
    "rdma",
  ]);
  const none = readCgroupMounts("/nonexistent-proc-root");
  assert.equal(none.v1.size, 0);
  assert.equal(none.unified, undefined);
});
