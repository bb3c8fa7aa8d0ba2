import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readCpuAccounting, readQuotaCpus } from "../cgroup/cpu.js";
import { fileReads } from "../cgroup/fsread.js";
import { readIo } from "../cgroup/io.js";
import { readMemory } from "../cgroup/memory.js";
import { readPids } from "../cgroup/pids.js";
import { parsePressureTotals, readPressure } from "../cgroup/pressure.js";
import type { CgroupHandle } from "../cgroup/types.js";
import { CgroupFileCache, MISSING_RECHECK_MS } from "./cgroup-files.js";

/** Writes files into <root>/<rel>/, creating directories. */
function tree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
}

const v2Container = (name: string) => ({
  [`pod/${name}/memory.current`]: "3000\n",
  [`pod/${name}/memory.stat`]:
    "anon 1000\nfile 2000\nkernel 300\nactive_file 500\ninactive_file 1500\nfile_dirty 40\nfile_writeback 8\nslab 200\n",
  [`pod/${name}/memory.max`]: "max\n",
  [`pod/${name}/memory.events`]: "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n",
  [`pod/${name}/cpu.stat`]:
    "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\nnr_periods 50\nnr_throttled 20\nthrottled_usec 700000\n",
  [`pod/${name}/cpu.max`]: "max 100000\n",
  [`pod/${name}/pids.current`]: "7\n",
  [`pod/${name}/pids.max`]: "max\n",
  [`pod/${name}/pids.events`]: "max 5\n",
  [`pod/${name}/io.stat`]: "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
  [`pod/${name}/cpu.pressure`]:
    "some avg10=0.00 avg60=0.00 avg300=0.00 total=2500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n",
  [`pod/${name}/memory.pressure`]: "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n",
});

const v2Handle = (root: string, name: string): CgroupHandle => {
  const dir = join(root, "pod", name);
  const ctl = { version: 2 as const, dir, root };
  return {
    path: `/pod/${name}`,
    dirs: { memory: ctl, cpu: ctl, cpuacct: ctl, pids: ctl, io: ctl },
    unifiedDir: dir,
  };
};

test("cgroup/ readers through the descriptor cache (v2): every new signal, limits as the minimum over ancestors", (t) => {
  const root = mkdtempSync(join(tmpdir(), "boxscope-exporter-v2-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  tree(root, {
    ...v2Container("a"),
    "pod/memory.max": "1048576\n",
    "pod/cpu.max": "200000 100000\n",
    "pod/pids.max": "100\n",
  });
  const h = v2Handle(root, "a");
  const files = new CgroupFileCache();
  t.after(() => files.close());
  files.beginScrape(1);
  const mem = readMemory(h, { files });
  assert.deepEqual(mem.errors, []);
  assert.equal(mem.data?.usageBytes, 3000);
  assert.equal(mem.data?.limitBytes, 1048576);
  assert.equal(mem.data?.oomKills, 1);
  assert.equal(mem.data?.kernelBytes, 300);
  assert.deepEqual(
    [mem.data?.stat.cache, mem.data?.stat.dirty, mem.data?.stat.writeback, mem.data?.stat.slab],
    [2000, 40, 8, 200],
  );
  const reads = fileReads(files);
  const cpu = readCpuAccounting(h, reads, { perCpu: false, userSystem: false });
  assert.equal(cpu?.usageNs, 1.5e9);
  assert.deepEqual(cpu?.throttle, { periods: 50, throttled: 20, throttledNs: 7e8 });
  assert.equal(readQuotaCpus(h, reads), 2);
  assert.deepEqual(reads.errors, []);
  assert.deepEqual(readPids(h, { files }).data, { current: 7, max: 100, limitHits: 5 });
  assert.deepEqual(readIo(h, { files }).data?.get("8:0"), {
    readBytes: 4096,
    writeBytes: 8192,
    readIos: 1,
    writeIos: 2,
    discardBytes: 0,
    discardIos: 0,
  });
  const psi = readPressure(h, { files }).data;
  assert.deepEqual(parsePressureTotals(psi.cpu ?? ""), { someUs: 2500000, fullUs: 1000000 });
  assert.deepEqual(parsePressureTotals(psi.memory ?? ""), { someUs: 7, fullUs: undefined });
  assert.equal(psi.io, undefined, "a missing pressure file is no error and no data");

  // The next scrape re-reads through the same descriptors and sees new values.
  writeFileSync(join(h.unifiedDir as string, "pids.current"), "9\n");
  files.beginScrape(2);
  assert.equal(readPids(h, { files }).data?.current, 9);
  assert.ok(files.openCount > 0);
  // A vanished container: no data, no throw; its descriptors are closed after a scrape unused.
  rmSync(join(root, "pod/a"), { recursive: true });
  files.beginScrape(3);
  files.beginScrape(4);
  assert.equal(readMemory(h, { files }).data, undefined);
});

test("an ancestor's limit is read once per scrape for all its containers, the container's own each time", (t) => {
  const root = mkdtempSync(join(tmpdir(), "boxscope-exporter-shared-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  tree(root, { ...v2Container("a"), ...v2Container("b"), "pod/pids.max": "100\n" });
  const files = new CgroupFileCache();
  t.after(() => files.close());
  files.beginScrape(1);
  assert.equal(readPids(v2Handle(root, "a"), { files }).data?.max, 100);
  // Changed mid-scrape: the parent's file is not read again in this scrape, the container's is.
  writeFileSync(join(root, "pod/pids.max"), "60\n");
  writeFileSync(join(root, "pod/b/pids.max"), "80\n");
  assert.equal(readPids(v2Handle(root, "b"), { files }).data?.max, 80);
  writeFileSync(join(root, "pod/b/pids.max"), "max\n");
  assert.equal(readPids(v2Handle(root, "b"), { files }).data?.max, 100);
  files.beginScrape(2);
  assert.equal(readPids(v2Handle(root, "b"), { files }).data?.max, 60);
});

test("a failed read names its errno through the cache, as with direct reads", (t) => {
  const root = mkdtempSync(join(tmpdir(), "boxscope-exporter-err-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const files = new CgroupFileCache();
  t.after(() => files.close());
  files.beginScrape(1);
  assert.deepEqual(files.read(join(root, "nope")), { code: "ENOENT" });
  assert.deepEqual(files.read(root), { code: "EISDIR" });
  const d = readPids(v2Handle(root, "gone"), { files });
  assert.equal(d.data, undefined);
  assert.equal(d.errors[0]?.code, "BXS_CGROUP_FILE_MISSING");
  assert.match(d.errors[0]?.message ?? "", /^ENOENT reading .*pids\.current$/);
});

test("v1 container through the cache: per-hierarchy files, unlimited quota, LONG_MAX limit = unlimited, throttling", (t) => {
  const root = mkdtempSync(join(tmpdir(), "boxscope-exporter-v1-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  tree(root, {
    "memory/docker/c/memory.usage_in_bytes": "4096\n",
    "memory/docker/c/memory.stat":
      "cache 1\nrss 2\ntotal_cache 100\ntotal_active_file 40\ntotal_inactive_file 60\ntotal_dirty 4\ntotal_writeback 2\n",
    "memory/docker/c/memory.limit_in_bytes": "9223372036854771712\n",
    "memory/docker/memory.limit_in_bytes": "9223372036854771712\n",
    "memory/docker/c/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
    "memory/docker/c/memory.kmem.usage_in_bytes": "65536\n",
    "cpuacct/docker/c/cpuacct.usage": "123456789\n",
    "cpu/docker/c/cpu.cfs_quota_us": "-1\n",
    "cpu/docker/c/cpu.stat": "nr_periods 10\nnr_throttled 4\nthrottled_time 250000000\n",
    "cpu/docker/cpu.cfs_quota_us": "150000\n",
    "cpu/docker/cpu.cfs_period_us": "100000\n",
    "pids/docker/c/pids.current": "3\n",
    "pids/docker/c/pids.max": "max\n",
    "pids/docker/c/pids.events": "max 0\n",
  });
  const at = (h: string) => ({ version: 1 as const, dir: join(root, h, "docker/c"), root: join(root, h) });
  const h: CgroupHandle = {
    path: "/docker/c",
    dirs: { memory: at("memory"), cpu: at("cpu"), cpuacct: at("cpuacct"), pids: at("pids") },
    unifiedDir: undefined,
  };
  const files = new CgroupFileCache();
  t.after(() => files.close());
  files.beginScrape(1);
  const mem = readMemory(h, { files }).data;
  assert.equal(mem?.usageBytes, 4096);
  assert.equal(mem?.limitBytes, null);
  assert.equal(mem?.oomKills, 3);
  assert.equal(mem?.kernelBytes, 65536);
  assert.deepEqual(
    [mem?.stat.cache, mem?.stat.dirty, mem?.stat.writeback, mem?.stat.slab],
    [100, 4, 2, undefined],
  );
  const reads = fileReads(files);
  const cpu = readCpuAccounting(h, reads, { perCpu: false, userSystem: false });
  assert.equal(cpu?.usageNs, 123456789);
  assert.equal(cpu?.perCpu, undefined);
  assert.deepEqual(cpu?.throttle, { periods: 10, throttled: 4, throttledNs: 250000000 });
  assert.equal(readQuotaCpus(h, reads), 1.5);
  assert.deepEqual(reads.errors, []);
  assert.deepEqual(readPids(h, { files }).data, { current: 3, max: null, limitHits: 0 });
});

test("a missing file is not opened again until MISSING_RECHECK_MS later; a present one is read every scrape", (t) => {
  const root = mkdtempSync(join(tmpdir(), "boxscope-exporter-missing-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  let now = 0;
  const files = new CgroupFileCache(() => now);
  t.after(() => files.close());
  const path = join(root, "cpu.pressure");
  files.beginScrape(1);
  assert.deepEqual(files.read(path), { code: "ENOENT" });
  writeFileSync(path, "some total=1\n");
  now = MISSING_RECHECK_MS - 1;
  files.beginScrape(2);
  assert.deepEqual(files.read(path), { code: "ENOENT" }, "still taken as missing");
  now = MISSING_RECHECK_MS;
  files.beginScrape(3);
  assert.equal(files.read(path), "some total=1\n");
  writeFileSync(path, "some total=2\n");
  files.beginScrape(4);
  assert.equal(files.read(path), "some total=2\n");
});
