import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { CgroupHandle } from "../cgroup/types.js";
import { CgroupFileCache } from "./cgroup-files.js";
import { ContainerReaders } from "./container-readers.js";

/** Writes files into <root>/<rel>/, creating directories. */
function tree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
}

test("v2 container: usage, limits as the minimum over ancestors, OOM kills, CPU, pids", (t) => {
  const root = mkdtempSync(join(tmpdir(), "boxscope-exporter-v2-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  tree(root, {
    "pod/c/memory.current": "3000\n",
    "pod/c/memory.stat": "anon 1000\nfile 2000\nactive_file 500\ninactive_file 1500\n",
    "pod/c/memory.max": "max\n",
    "pod/memory.max": "1048576\n",
    "pod/c/memory.events": "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n",
    "pod/c/cpu.stat": "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
    "pod/c/cpu.max": "max 100000\n",
    "pod/cpu.max": "200000 100000\n",
    "pod/c/pids.current": "7\n",
    "pod/c/pids.max": "max\n",
    "pod/pids.max": "100\n",
  });
  const dir = join(root, "pod/c");
  const ctl = { version: 2 as const, dir, root };
  const h: CgroupHandle = { path: "/pod/c", dirs: { memory: ctl, cpu: ctl, pids: ctl }, unifiedDir: dir };
  const files = new CgroupFileCache();
  t.after(() => files.close());
  const r = new ContainerReaders(files);
  r.beginScrape(1);
  assert.deepEqual(r.memory(h), {
    usageBytes: 3000,
    limitBytes: 1048576,
    stat: { cache: 2000, activeFile: 500, inactiveFile: 1500 },
    oomKills: 1,
  });
  assert.deepEqual(r.cpu(h), { usageNs: 1.5e9, quotaCpus: 2 });
  assert.deepEqual(r.pids(h), { current: 7, max: 100 });
  // The next scrape re-reads through the same descriptors and sees new values.
  writeFileSync(join(dir, "pids.current"), "9\n");
  r.beginScrape(2);
  assert.equal(r.pids(h)?.current, 9);
  assert.ok(files.openCount > 0);
  // A vanished container: no data, no throw; its descriptors are closed after a scrape unused.
  rmSync(join(root, "pod/c"), { recursive: true });
  r.beginScrape(3);
  r.beginScrape(4);
  assert.equal(r.memory(h), undefined);
});

test("v1 container: per-hierarchy files, unlimited quota skips the period, LONG_MAX limit = unlimited", (t) => {
  const root = mkdtempSync(join(tmpdir(), "boxscope-exporter-v1-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  tree(root, {
    "memory/docker/c/memory.usage_in_bytes": "4096\n",
    "memory/docker/c/memory.stat":
      "cache 1\nrss 2\ntotal_cache 100\ntotal_active_file 40\ntotal_inactive_file 60\n",
    "memory/docker/c/memory.limit_in_bytes": "9223372036854771712\n",
    "memory/docker/memory.limit_in_bytes": "9223372036854771712\n",
    "memory/docker/c/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
    "cpuacct/docker/c/cpuacct.usage": "123456789\n",
    "cpu/docker/c/cpu.cfs_quota_us": "-1\n",
    "cpu/docker/cpu.cfs_quota_us": "150000\n",
    "cpu/docker/cpu.cfs_period_us": "100000\n",
    "pids/docker/c/pids.current": "3\n",
    "pids/docker/c/pids.max": "max\n",
  });
  const at = (h: string) => ({ version: 1 as const, dir: join(root, h, "docker/c"), root: join(root, h) });
  const h: CgroupHandle = {
    path: "/docker/c",
    dirs: { memory: at("memory"), cpu: at("cpu"), cpuacct: at("cpuacct"), pids: at("pids") },
    unifiedDir: undefined,
  };
  const files = new CgroupFileCache();
  t.after(() => files.close());
  const r = new ContainerReaders(files);
  r.beginScrape(1);
  assert.deepEqual(r.memory(h), {
    usageBytes: 4096,
    limitBytes: null,
    stat: { cache: 100, activeFile: 40, inactiveFile: 60 },
    oomKills: 3,
  });
  assert.deepEqual(r.cpu(h), { usageNs: 123456789, quotaCpus: 1.5 });
  assert.deepEqual(r.pids(h), { current: 3, max: null });
});
