import assert from "node:assert/strict";
import { test } from "node:test";
import { readCpuAccounting, readCpuShares } from "../../cgroup/cpu.js";
import { fileReads } from "../../cgroup/fsread.js";
import { handleForPath } from "../../cgroup/handle.js";
import type { CgroupMounts } from "../../cgroup/types.js";
import { PATH_A, PATH_B, PATH_C, v1Mounts, v2Mounts } from "../../test/cgroup/fixtures.js";
import type { ContainerSource } from "../containers.js";
import { containerCpuCollector } from "./container-cpu.js";

/** The CPU collector over a fixture container read as the exporter reads it (v1 user/system in ticks). */
function collectFixture(mounts: CgroupMounts, path: string): Map<string, number> {
  const handle = handleForPath(mounts, path);
  const reads = fileReads();
  const acct = readCpuAccounting(handle, reads, { perCpu: false, userSystem: "ticks" });
  const shares = readCpuShares(handle, reads);
  assert.deepEqual(reads.errors, []);
  assert.ok(acct);
  const source = {
    containers: () => [{ path, handle, identity: undefined, labels: { container_id: "c" } }],
    cpu: () => ({ ...acct, quotaCpus: null, shares }),
  } as unknown as ContainerSource;
  const out = new Map<string, number>();
  containerCpuCollector(source).collect(
    {
      add: (name, v) => {
        out.set(name, v);
      },
    },
    { scrapeId: 1, samples: () => [], collectorUp: new Map() },
  );
  return out;
}

test("user and system seconds: v1 cpuacct.stat ticks (fixture container B)", () => {
  const got = collectFixture(v1Mounts(), PATH_B);
  assert.equal(got.get("boxscope_container_cpu_user_seconds_total"), 6, "600 ticks");
  assert.equal(got.get("boxscope_container_cpu_system_seconds_total"), 3, "300 ticks");
});

test("user and system seconds: v2 cpu.stat user_usec / system_usec (fixture container C)", () => {
  const got = collectFixture(v2Mounts(), PATH_C);
  assert.equal(got.get("boxscope_container_cpu_user_seconds_total"), 1.8);
  assert.equal(got.get("boxscope_container_cpu_system_seconds_total"), 0.7);
  assert.equal(got.get("boxscope_container_cpu_usage_seconds_total"), 2.5);
});

test("CPU shares: v1 cpu.shares, v2 cpu.weight as shares; absent without the file (fixtures A, C, B)", () => {
  assert.equal(collectFixture(v1Mounts(), PATH_A).get("boxscope_container_cpu_shares"), 512);
  assert.equal(collectFixture(v2Mounts(), PATH_C).get("boxscope_container_cpu_shares"), 500, "cpu.weight 20");
  assert.equal(collectFixture(v1Mounts(), PATH_B).has("boxscope_container_cpu_shares"), false);
});
