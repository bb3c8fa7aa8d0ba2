import assert from "node:assert/strict";
import { test } from "node:test";
import { handleForPath } from "../../cgroup/handle.js";
import { readMemory } from "../../cgroup/memory.js";
import type { CgroupMounts, MemoryStat } from "../../cgroup/types.js";
import { PATH_A, PATH_C, PATH_D, v1Mounts, v2Mounts } from "../../test/cgroup/fixtures.js";
import type { ContainerSource } from "../containers.js";
import { containerMemoryCollector, strictUsageBytes, workingSetBytes } from "./container-memory.js";

const MiB = 1024 * 1024;
const mem = (usage: number, stat: Omit<MemoryStat, "raw">) => ({
  usageBytes: usage,
  stat: { ...stat, raw: new Map<string, number>() },
});

test("working set and strict usage", () => {
  const m = mem(100 * MiB, { cache: 60 * MiB, activeFile: 20 * MiB, inactiveFile: 40 * MiB });
  assert.equal(workingSetBytes(m), 60 * MiB);
  // 40 MiB not cache + active_file 20 MiB.
  assert.equal(strictUsageBytes(m, { mode: "active_file", percent: 0 }), 60 * MiB);
  // 40 MiB + 25% of 60 MiB.
  assert.equal(strictUsageBytes(m, { mode: "percent", percent: 25 }), 55 * MiB);
  assert.equal(strictUsageBytes(m, { mode: "percent", percent: 100 }), 100 * MiB);
  assert.equal(workingSetBytes(mem(10, { inactiveFile: 20 })), 0, "never negative");
});

/** The memory collector over a container whose memory is what cgroup/'s reader gives for a fixture. */
function collectFixture(mounts: CgroupMounts, path: string): Map<string, number> {
  const handle = handleForPath(mounts, path);
  const labels = { container_id: "c", container_name: "n", team: "" };
  // As the exporter reads it (exporter/containers.ts).
  const memory = readMemory(handle, { swap: "usage", maxUsage: true }).data;
  assert.ok(memory);
  const source = {
    containers: () => [{ path, handle, labels, identity: undefined }],
    memory: () => memory,
  } as unknown as ContainerSource;
  const out = new Map<string, number>();
  const collector = containerMemoryCollector(source, { mode: "active_file", percent: 0 });
  collector.collect(
    {
      add: (name, v) => {
        out.set(name, v);
      },
    },
    { scrapeId: 1, samples: () => [], collectorUp: new Map() },
  );
  for (const name of out.keys())
    assert.ok(
      collector.metrics.some((m) => m.name === name),
      `${name} is declared`,
    );
  return out;
}

test("memory.stat breakdown and limit hits, v1 names (fixture container A)", () => {
  const got = collectFixture(v1Mounts(), PATH_A);
  assert.equal(got.get("boxscope_container_memory_cache_bytes"), 40 * MiB);
  assert.equal(got.get("boxscope_container_memory_rss_bytes"), 50 * MiB);
  assert.equal(got.get("boxscope_container_memory_mapped_file_bytes"), 8 * MiB);
  assert.equal(got.get("boxscope_container_memory_swap_bytes"), 10 * MiB, "memory.stat total_swap");
  assert.equal(got.get("boxscope_container_memory_shmem_bytes"), 4 * MiB, "total_shmem");
  assert.equal(got.get("boxscope_container_memory_active_anon_bytes"), 34 * MiB, "total_active_anon");
  assert.equal(got.get("boxscope_container_memory_inactive_anon_bytes"), 20 * MiB, "total_inactive_anon");
  assert.equal(got.get("boxscope_container_memory_max_usage_bytes"), 180 * MiB, "memory.max_usage_in_bytes");
  assert.equal(got.get("boxscope_container_memory_active_file_bytes"), 16 * MiB);
  assert.equal(got.get("boxscope_container_memory_inactive_file_bytes"), 24 * MiB);
  assert.equal(got.get("boxscope_container_memory_page_faults_total"), 200000);
  assert.equal(got.get("boxscope_container_memory_major_page_faults_total"), 12);
  assert.equal(got.get("boxscope_container_memory_workingset_refaults_anon_total"), 21);
  assert.equal(got.get("boxscope_container_memory_workingset_refaults_file_total"), 34);
  assert.equal(got.get("boxscope_container_memory_limit_hits_total"), 5, "memory.failcnt");
  for (const v2Only of [
    "boxscope_container_memory_scanned_pages_total",
    "boxscope_container_memory_reclaimed_pages_total",
    "boxscope_container_memory_high_events_total",
  ])
    assert.equal(got.has(v2Only), false, v2Only);
});

test("memory.stat breakdown, reclaim and memory.events counters, v2 names (fixture container C)", () => {
  const got = collectFixture(v2Mounts(), PATH_C);
  assert.equal(got.get("boxscope_container_memory_cache_bytes"), 40 * MiB);
  assert.equal(got.get("boxscope_container_memory_rss_bytes"), 100 * MiB);
  assert.equal(got.get("boxscope_container_memory_mapped_file_bytes"), 8 * MiB);
  assert.equal(got.get("boxscope_container_memory_swap_bytes"), MiB, "memory.swap.current");
  assert.equal(got.get("boxscope_container_memory_shmem_bytes"), 2 * MiB, "shmem");
  assert.equal(got.get("boxscope_container_memory_active_anon_bytes"), 32 * MiB, "active_anon");
  assert.equal(got.get("boxscope_container_memory_inactive_anon_bytes"), 70 * MiB, "inactive_anon");
  assert.equal(got.get("boxscope_container_memory_max_usage_bytes"), 200 * MiB, "memory.peak");
  assert.equal(got.get("boxscope_container_memory_active_file_bytes"), 14 * MiB);
  assert.equal(got.get("boxscope_container_memory_inactive_file_bytes"), 26 * MiB);
  assert.equal(got.get("boxscope_container_memory_page_faults_total"), 500000);
  assert.equal(got.get("boxscope_container_memory_major_page_faults_total"), 3);
  assert.equal(got.get("boxscope_container_memory_workingset_refaults_anon_total"), 5);
  assert.equal(got.get("boxscope_container_memory_workingset_refaults_file_total"), 8);
  assert.equal(got.get("boxscope_container_memory_scanned_pages_total"), 900);
  assert.equal(got.get("boxscope_container_memory_reclaimed_pages_total"), 800);
  assert.equal(got.get("boxscope_container_memory_limit_hits_total"), 12, "memory.events max");
  assert.equal(got.get("boxscope_container_memory_high_events_total"), 7, "memory.events high");
});

test("no max usage series without the file; no swap series without swap accounting (v2 fixture container D)", () => {
  const got = collectFixture(v2Mounts(), PATH_D);
  assert.equal(got.get("boxscope_container_memory_usage_bytes"), 50 * MiB);
  assert.equal(got.has("boxscope_container_memory_max_usage_bytes"), false);
  assert.equal(got.has("boxscope_container_memory_swap_bytes"), false);
});
