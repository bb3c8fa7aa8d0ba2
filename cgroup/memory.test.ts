import assert from "node:assert/strict";
import { test } from "node:test";
import { MiB, PATH_A, PATH_B, PATH_C, PATH_D, v1Mounts, v2Mounts } from "../test/cgroup/fixtures.js";
import { DIRECT_FILES, fileReads, flatValue, parseFlatKeyed, parseLimit } from "./fsread.js";
import { ancestorDirs, handleForPath } from "./handle.js";
import { minLimitOver, parseMemoryStat, readMemory, v2KernelBytes } from "./memory.js";

test("parseLimit: max, -1, v1 page-rounded LONG_MAX and anything ≥ 2^62 are unlimited", () => {
  assert.equal(parseLimit("max\n"), null);
  assert.equal(parseLimit("-1"), null);
  assert.equal(parseLimit("9223372036854771712\n"), null);
  assert.equal(parseLimit("9223372036854775807"), null);
  assert.equal(parseLimit(String(2 ** 62)), null);
  assert.equal(parseLimit("268435456\n"), 268435456);
  assert.equal(parseLimit("0"), 0);
  assert.equal(parseLimit("garbage"), undefined);
  assert.equal(parseLimit(undefined), undefined);
});

test("parseMemoryStat v1: hierarchical total_* values win over local ones", () => {
  const s = parseMemoryStat(
    "cache 1\ntotal_cache 10\nactive_file 2\ntotal_active_file 20\ntotal_rss 30\nshmem 5\n",
    1,
  );
  assert.equal(s.cache, 10);
  assert.equal(s.activeFile, 20);
  assert.equal(s.rss, 30);
  assert.equal(s.shmem, 5, "falls back to the local key when total_ is absent");
  assert.equal(s.slab, undefined);
  assert.equal(s.raw.get("cache"), 1);
});

test("parseMemoryStat v2: kernel names normalised", () => {
  const s = parseMemoryStat(
    "anon 100\nfile 200\nfile_mapped 3\nfile_dirty 4\nfile_writeback 5\nslab 9\nslab_reclaimable 6\nslab_unreclaimable 3\n",
    2,
  );
  assert.deepEqual(
    [s.rss, s.cache, s.mapped, s.dirty, s.writeback, s.slab, s.slabReclaimable, s.slabUnreclaimable],
    [100, 200, 3, 4, 5, 9, 6, 3],
  );
  assert.equal(s.activeAnon, undefined);
});

test("parseMemoryStat: swap, faults, refaults, reclaim under their v1 and v2 names", () => {
  const v1 = parseMemoryStat(
    "swap 1\npgfault 2\ntotal_swap 10\ntotal_pgfault 20\ntotal_pgmajfault 30\ntotal_workingset_refault_anon 40\ntotal_workingset_refault_file 50\npgscan 60\n",
    1,
  );
  assert.deepEqual(
    [v1.swap, v1.pgfault, v1.pgmajfault, v1.workingsetRefaultAnon, v1.workingsetRefaultFile],
    [10, 20, 30, 40, 50],
  );
  assert.equal(v1.pgscan, undefined, "v1 memory.stat has no reclaim counters");
  const v2 = parseMemoryStat(
    "swapcached 9\npgfault 2\npgmajfault 3\nworkingset_refault_anon 4\nworkingset_refault_file 5\npgscan 6\npgsteal 7\n",
    2,
  );
  assert.deepEqual(
    [v2.pgfault, v2.pgmajfault, v2.workingsetRefaultAnon, v2.workingsetRefaultFile, v2.pgscan, v2.pgsteal],
    [2, 3, 4, 5, 6, 7],
  );
  assert.equal(v2.swap, undefined, "v2 swap is memory.swap.current, not a memory.stat line");
});

test("readMemory v1: limit only on the pod (256 MiB) is the container's effective limit; swap from memsw", () => {
  const { data, errors } = readMemory(handleForPath(v1Mounts(), PATH_A));
  assert.deepEqual(errors, []);
  assert.ok(data);
  assert.equal(data.version, 1);
  assert.equal(data.limitBytes, 256 * MiB);
  assert.equal(data.usageBytes, 100 * MiB);
  assert.equal(data.swapLimitBytes, 256 * MiB, "memsw 512 MiB − mem 256 MiB");
  assert.equal(data.swapUsageBytes, 10 * MiB);
  assert.equal(data.oomKills, 2);
  assert.equal(data.oomEvents, 5);
  assert.equal(data.stat.cache, 40 * MiB);
  assert.equal(data.stat.writeback, 4096);
  assert.equal(data.stat.unevictable, 8192);
  assert.equal(data.limitHits, 5, "memory.failcnt");
  assert.equal(data.highEvents, undefined, "v1 has no memory.high");
  assert.deepEqual(
    [
      data.stat.swap,
      data.stat.mapped,
      data.stat.pgfault,
      data.stat.pgmajfault,
      data.stat.workingsetRefaultAnon,
      data.stat.workingsetRefaultFile,
      data.stat.pgscan,
      data.stat.pgsteal,
    ],
    [10 * MiB, 8 * MiB, 200000, 12, 21, 34, undefined, undefined],
  );
});

test("readMemory v1: swap accounting off (no memsw files) → swap undefined; own limit; no oom_kill line", () => {
  const { data, errors } = readMemory(handleForPath(v1Mounts(), PATH_B));
  assert.deepEqual(errors, []);
  assert.equal(data?.limitBytes, 512 * MiB);
  assert.equal(data?.swapLimitBytes, undefined);
  assert.equal(data?.swapUsageBytes, undefined);
  assert.equal(data?.oomKills, undefined);
});

test("readMemory v2: memory.max on the pod slice; swap.max min over ancestors; memory.events", () => {
  const { data, errors } = readMemory(handleForPath(v2Mounts(), PATH_C));
  assert.deepEqual(errors, []);
  assert.ok(data);
  assert.equal(data.version, 2);
  assert.equal(data.limitBytes, 256 * MiB);
  assert.equal(data.usageBytes, 150 * MiB);
  assert.equal(data.swapLimitBytes, 128 * MiB);
  assert.equal(data.swapUsageBytes, MiB);
  assert.equal(data.oomKills, 1);
  assert.equal(data.oomEvents, 3);
  assert.equal(data.stat.slabReclaimable, 3 * MiB);
  assert.equal(data.stat.inactiveFile, 26 * MiB);
  assert.equal(data.limitHits, 12, "memory.events max");
  assert.equal(data.highEvents, 7, "memory.events high");
  assert.deepEqual(
    [
      data.stat.swap,
      data.stat.pgfault,
      data.stat.pgmajfault,
      data.stat.workingsetRefaultAnon,
      data.stat.workingsetRefaultFile,
      data.stat.pgscan,
      data.stat.pgsteal,
    ],
    [undefined, 500000, 3, 5, 8, 900, 800],
  );
});

test("readMemory v2: unlimited everywhere ('max') → null; swap files absent → undefined", () => {
  const { data, errors } = readMemory(handleForPath(v2Mounts(), PATH_D));
  assert.deepEqual(errors, []);
  assert.equal(data?.limitBytes, null);
  assert.equal(data?.swapLimitBytes, undefined);
  assert.equal(data?.usageBytes, 50 * MiB);
});

test("readMemory: a vanished cgroup gives no data and an error naming the file, never a throw", () => {
  const { data, errors } = readMemory(handleForPath(v1Mounts(), "/docker/gone"));
  assert.equal(data, undefined);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]?.code, "BXS_CGROUP_FILE_MISSING");
  assert.match(errors[0]?.message ?? "", /^ENOENT reading .*\/docker\/gone\/memory.usage_in_bytes$/);
  const none = readMemory({ path: "/", dirs: {}, unifiedDir: undefined });
  assert.equal(none.data, undefined);
  assert.deepEqual(
    none.errors.map((e) => [e.code, e.message]),
    [["BXS_CGROUP_CONTROLLER_MISSING", "memory: controller not mounted"]],
  );
});

test("minLimitOver: the ancestor walk (used when memory.stat has no hierarchical_* keys)", () => {
  const h = handleForPath(v1Mounts(), PATH_A);
  const ctl = h.dirs.memory;
  assert.ok(ctl);
  const reads = fileReads();
  assert.equal(minLimitOver(reads, ancestorDirs(ctl.dir, ctl.root), "memory.limit_in_bytes"), 256 * MiB);
  assert.equal(
    minLimitOver(reads, ancestorDirs(ctl.dir, ctl.root), "memory.memsw.limit_in_bytes"),
    512 * MiB,
  );
  assert.equal(minLimitOver(reads, [ctl.root], "memory.limit_in_bytes"), null);
  assert.equal(minLimitOver(reads, [`${ctl.root}/nope`], "memory.limit_in_bytes"), null);
  assert.deepEqual(reads.errors, []);
});

test("v2KernelBytes: memory.stat kernel, else the sum of its parts, else undefined", () => {
  assert.equal(v2KernelBytes("anon 100\nkernel 10\nslab 4\n"), 10);
  assert.equal(v2KernelBytes("kernel_stack 1\npagetables 2\npercpu 3\nslab 4\nanon 100\n"), 10);
  assert.equal(v2KernelBytes("anon 100\n"), undefined);
});

test("flatValue: a key at the start, middle and end, never a key it is a prefix or suffix of", () => {
  const text = "cache 10\ntotal_cache 20\ninactive_file 3\ntotal_inactive_file 30";
  assert.equal(flatValue(text, "cache"), 10);
  assert.equal(flatValue(text, "total_cache"), 20);
  assert.equal(flatValue(text, "inactive_file"), 3);
  assert.equal(flatValue(text, "total_inactive_file"), 30);
  assert.equal(flatValue(text, "file"), undefined);
  assert.equal(flatValue(text, "cach"), undefined);
  assert.equal(flatValue("a x\n", "a"), undefined);
});

test("parseFlatKeyed: every key, last line without newline, lines without a value skipped", () => {
  assert.deepEqual(
    [...parseFlatKeyed("a 1\nb  2\nnovalue\n\nc x\nd 4")],
    [
      ["a", 1],
      ["b", 2],
      ["d", 4],
    ],
  );
});

test("readMemory swap: false leaves swap out (v1 and v2), everything else as with it", () => {
  for (const h of [handleForPath(v1Mounts(), PATH_A), handleForPath(v2Mounts(), PATH_C)]) {
    const full = readMemory(h).data;
    const noSwap = readMemory(h, { swap: false }).data;
    assert.ok(full?.swapUsageBytes !== undefined);
    assert.deepEqual(noSwap, { ...full, swapLimitBytes: undefined, swapUsageBytes: undefined });
  }
});

test("readMemory maxUsage: v1 memory.max_usage_in_bytes, v2 memory.peak; absent file or not asked → undefined", () => {
  const v1 = readMemory(handleForPath(v1Mounts(), PATH_A), { maxUsage: true });
  assert.deepEqual(v1.errors, []);
  assert.equal(v1.data?.maxUsageBytes, 180 * MiB);
  const v2 = readMemory(handleForPath(v2Mounts(), PATH_C), { maxUsage: true });
  assert.deepEqual(v2.errors, []);
  assert.equal(v2.data?.maxUsageBytes, 200 * MiB);
  assert.equal(
    readMemory(handleForPath(v1Mounts(), PATH_B), { maxUsage: true }).data?.maxUsageBytes,
    undefined,
  );
  const oldKernel = readMemory(handleForPath(v2Mounts(), PATH_D), { maxUsage: true });
  assert.deepEqual(oldKernel.errors, []);
  assert.ok(oldKernel.data);
  assert.equal(oldKernel.data.maxUsageBytes, undefined, "no memory.peak before 5.19");
  assert.equal(
    readMemory(handleForPath(v2Mounts(), PATH_C)).data?.maxUsageBytes,
    undefined,
    "off by default",
  );
});

test("readMemory swap 'usage': v2 memory.swap.current alone, no swap.max walk; v1 reads no memsw file", () => {
  const read: string[] = [];
  const files = {
    read(path: string) {
      read.push(path);
      return DIRECT_FILES.read(path);
    },
  };
  const v2 = readMemory(handleForPath(v2Mounts(), PATH_C), { swap: "usage", files });
  assert.deepEqual(v2.errors, []);
  assert.equal(v2.data?.swapUsageBytes, MiB);
  assert.equal(v2.data?.swapLimitBytes, undefined, "the allowance is not read");
  assert.ok(read.some((p) => p.endsWith("/memory.swap.current")));
  assert.deepEqual(
    read.filter((p) => p.endsWith("/memory.swap.max")),
    [],
  );
  read.length = 0;
  const v1 = readMemory(handleForPath(v1Mounts(), PATH_A), { swap: "usage", files });
  assert.deepEqual(v1.errors, []);
  assert.equal(v1.data?.swapUsageBytes, undefined);
  assert.equal(v1.data?.stat.swap, 10 * MiB, "v1's usage is memory.stat total_swap");
  assert.deepEqual(
    read.filter((p) => p.includes("memsw")),
    [],
  );
  read.length = 0;
  assert.equal(
    readMemory(handleForPath(v2Mounts(), PATH_C), { swap: false, files }).data?.swapUsageBytes,
    undefined,
  );
  assert.deepEqual(
    read.filter((p) => p.includes("swap")),
    [],
  );
});
