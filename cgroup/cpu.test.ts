import assert from "node:assert/strict";
import { test } from "node:test";
import {
  PATH_A,
  PATH_B,
  PATH_C,
  PATH_D,
  V1_ROOT,
  V2_ROOT,
  v1Mounts,
  v2Mounts,
} from "../test/cgroup/fixtures.js";
import {
  parseCfsQuota,
  parseCpuMax,
  parseUsageAll,
  parseUsagePercpu,
  readCpu,
  readCpuAccounting,
  readCpuShares,
  sharesFromWeight,
} from "./cpu.js";
import { type CgroupFileSource, DIRECT_FILES, fileReads } from "./fsread.js";
import { handleForPath } from "./handle.js";

test("parseCpuMax / parseCfsQuota", () => {
  assert.equal(parseCpuMax("max 100000\n"), null);
  assert.equal(parseCpuMax("50000 100000\n"), 0.5);
  assert.equal(parseCpuMax("150000 100000"), 1.5);
  assert.equal(parseCpuMax("junk"), undefined);
  assert.equal(parseCfsQuota("-1\n", "100000\n"), null);
  assert.equal(parseCfsQuota("25000\n", "100000\n"), 0.25);
  assert.equal(parseCfsQuota("25000\n", "0\n"), undefined);
});

test("parseUsageAll: header skipped, dense per CPU; parseUsagePercpu: trailing space", () => {
  assert.deepEqual(parseUsageAll("cpu user system\n0 10 5\n2 7 1\n"), [
    { userNs: 10, systemNs: 5 },
    { userNs: 0, systemNs: 0 },
    { userNs: 7, systemNs: 1 },
  ]);
  assert.deepEqual(parseUsagePercpu("4 5 \n"), [
    { userNs: 4, systemNs: 0 },
    { userNs: 5, systemNs: 0 },
  ]);
});

test("readCpu v1: cpuset 0-3,8,10-11, quota half a CPU set on the pod, cpuacct.stat ticks → ns, usage_all", () => {
  const { data, errors } = readCpu(handleForPath(v1Mounts(), PATH_A), { sysRoot: `${V1_ROOT}/sys` });
  assert.deepEqual(errors, []);
  assert.ok(data);
  assert.equal(data.version, 1);
  assert.deepEqual(data.cpuset, [0, 1, 2, 3, 8, 10, 11]);
  assert.equal(data.quotaCpus, 0.5);
  assert.equal(data.usageNs, 4e9);
  assert.equal(data.userNs, 250 * 1e7);
  assert.equal(data.systemNs, 120 * 1e7);
  assert.equal(data.perCpu?.length, 4);
  assert.deepEqual(data.perCpu?.[1], { userNs: 1.5e9, systemNs: 0.7e9 });
  assert.deepEqual(data.throttle, { periods: 120, throttled: 30, throttledNs: 1.5e9 });
});

test("readCpu v1: empty own cpuset → nearest ancestor's; own quota 1.5; usage_user/sys ns; usage_percpu fallback", () => {
  const { data, errors } = readCpu(handleForPath(v1Mounts(), PATH_B), { sysRoot: `${V1_ROOT}/sys` });
  assert.deepEqual(errors, []);
  assert.deepEqual(data?.cpuset, [2, 3, 4, 5]);
  assert.equal(data?.quotaCpus, 1.5);
  assert.equal(data?.userNs, 6e9);
  assert.equal(data?.systemNs, 3e9);
  assert.deepEqual(data?.perCpu, [
    { userNs: 4e9, systemNs: 0 },
    { userNs: 5e9, systemNs: 0 },
  ]);
  assert.equal(data?.throttle, undefined, "no cpu.stat in the fixture");
});

test("readCpuAccounting v1 userSystem 'ticks': cpuacct.stat alone, not usage_user/usage_sys", () => {
  const read: string[] = [];
  const files: CgroupFileSource = {
    read(path) {
      read.push(path.slice(path.lastIndexOf("/") + 1));
      return DIRECT_FILES.read(path);
    },
  };
  const reads = fileReads(files);
  const acct = readCpuAccounting(handleForPath(v1Mounts(), PATH_B), reads, {
    perCpu: false,
    userSystem: "ticks",
  });
  assert.deepEqual(reads.errors, []);
  assert.equal(acct?.userNs, 600 * 1e7, "600 USER_HZ ticks");
  assert.equal(acct?.systemNs, 300 * 1e7);
  assert.ok(read.includes("cpuacct.stat"));
  assert.ok(!read.includes("cpuacct.usage_user") && !read.includes("cpuacct.usage_sys"), read.join(" "));
  const none = readCpuAccounting(handleForPath(v1Mounts(), PATH_B), fileReads(), {
    perCpu: false,
    userSystem: false,
  });
  assert.equal(none?.userNs, undefined);
});

test("readCpu v2: cpuset.cpus.effective, cpu.max min over ancestors, cpu.stat µs → ns, throttling", () => {
  const { data, errors } = readCpu(handleForPath(v2Mounts(), PATH_C), { sysRoot: `${V2_ROOT}/sys` });
  assert.deepEqual(errors, []);
  assert.ok(data);
  assert.equal(data.version, 2);
  assert.deepEqual(data.cpuset, [0, 1, 2, 3, 8, 10, 11]);
  assert.equal(data.quotaCpus, 1.5);
  assert.equal(data.usageNs, 2.5e9);
  assert.equal(data.userNs, 1.8e9);
  assert.equal(data.systemNs, 0.7e9);
  assert.equal(data.perCpu, undefined);
  assert.deepEqual(data.throttle, { periods: 400, throttled: 25, throttledNs: 750e6 });
});

test("readCpu v2: no cpuset files anywhere below the root → root's effective list; no cpu.max → unlimited", () => {
  const { data, errors } = readCpu(handleForPath(v2Mounts(), PATH_D), { sysRoot: `${V2_ROOT}/sys` });
  assert.deepEqual(errors, []);
  assert.equal(data?.cpuset.length, 12);
  assert.equal(data?.quotaCpus, null);
  assert.equal(data?.usageNs, 100_000);
});

test("readCpu: no cpuset controller → host online CPUs; vanished cgroup → no data, errors, no throw", () => {
  const h = handleForPath(v2Mounts(), "/gone");
  const { data, errors } = readCpu({ ...h, dirs: { cpu: h.dirs.cpu } } as typeof h, {
    sysRoot: `${V2_ROOT}/sys`,
  });
  assert.equal(data, undefined);
  assert.ok(
    errors.some((e) => e.code === "BXS_CGROUP_FILE_MISSING" && e.message.includes("no usage counters")),
  );
  const onlyUnified = readCpu(
    { path: "/", dirs: {}, unifiedDir: `${V2_ROOT}/sys/fs/cgroup` },
    { sysRoot: `${V2_ROOT}/sys` },
  );
  assert.deepEqual(onlyUnified.data?.cpuset, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.equal(onlyUnified.data?.usageNs, 999_999_999_000);
});

test("sharesFromWeight: cpu.weight back to shares in runc's and cAdvisor's integer arithmetic", () => {
  assert.equal(sharesFromWeight("1\n"), 2, "minimum weight → minimum shares");
  assert.equal(sharesFromWeight("10000"), 262144, "maximum weight → maximum shares");
  assert.equal(sharesFromWeight("100"), 2597, "the default weight: 2 + ⌊99 × 262142 / 9999⌋");
  assert.equal(sharesFromWeight("39"), 998, "runc's weight for the default 1024 shares");
  assert.equal(sharesFromWeight("20"), 500, "runc's weight for 512 shares (a 500m Kubernetes request)");
  assert.equal(sharesFromWeight("max"), undefined);
  assert.equal(sharesFromWeight(""), undefined);
});

test("readCpuShares: v1 cpu.shares, v2 cpu.weight as shares, the cgroup's own file only", () => {
  const reads = fileReads();
  assert.equal(readCpuShares(handleForPath(v1Mounts(), PATH_A), reads), 512);
  assert.equal(readCpuShares(handleForPath(v2Mounts(), PATH_C), reads), 500, "cpu.weight 20");
  // B's parent /docker (cpu.shares 1024) and D's /system.slice (cpu.weight 100) have one: not inherited.
  assert.equal(readCpuShares(handleForPath(v1Mounts(), PATH_B), reads), undefined, "no cpu.shares");
  assert.equal(readCpuShares(handleForPath(v2Mounts(), PATH_D), reads), undefined, "no cpu.weight");
  assert.deepEqual(reads.errors, []);
  const h = handleForPath(v2Mounts(), PATH_C);
  assert.equal(readCpuShares({ ...h, dirs: {} }, reads), undefined, "no cpu controller");
  const vanished = fileReads();
  assert.equal(readCpuShares(handleForPath(v1Mounts(), "/docker/gone"), vanished), undefined);
  assert.deepEqual(vanished.errors, [], "an absent file is not an error");
});
