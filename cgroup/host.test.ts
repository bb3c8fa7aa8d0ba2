import assert from "node:assert/strict";
import { test } from "node:test";
import {
  parseCpuinfo,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseStat,
  parseSwaps,
  parseUptime,
  readHostMeminfo,
  readHostStat,
  readHostUptime,
} from "./host.js";

test("parseMeminfo: order kept, kB flag, bare counts", () => {
  const m = parseMeminfo(
    "MemTotal:       24684092 kB\nMemFree:        23299268 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\n",
  );
  assert.deepEqual(m.entries, [
    { key: "MemTotal", value: 24684092, kb: true },
    { key: "MemFree", value: 23299268, kb: true },
    { key: "HugePages_Total", value: 0, kb: false },
    { key: "Hugepagesize", value: 2048, kb: true },
  ]);
});

test("parseStat: cpu lines numeric, the rest verbatim", () => {
  const s = parseStat(
    "cpu  5708 0 3111 112190 398 0 58 17 0 0\ncpu0 2299 0 1210 57180 39 0 15 4 0 0\ncpu1 3408 0 1901 55010 359 0 43 13 0 0\nintr 123 0 1\nctxt 999\nbtime 1764069000\nprocs_running 2\n",
  );
  assert.deepEqual(s.total, [5708, 0, 3111, 112190, 398, 0, 58, 17, 0, 0]);
  assert.deepEqual(s.perCpu.get(1), [3408, 0, 1901, 55010, 359, 0, 43, 13, 0, 0]);
  assert.deepEqual(s.other[0], { key: "intr", rest: "123 0 1" });
  assert.deepEqual(
    s.other.map((o) => o.key),
    ["intr", "ctxt", "btime", "procs_running"],
  );
});

test("parseCpuinfo: blocks per processor, verbatim lines", () => {
  const c = parseCpuinfo(
    "processor\t: 0\nvendor_id\t: X\n\nprocessor\t: 1\nvendor_id\t: X\npower management:\n\n",
  );
  assert.deepEqual([...c.processors.keys()], [0, 1]);
  assert.deepEqual(c.processors.get(1), ["processor\t: 1", "vendor_id\t: X", "power management:"]);
});

test("parseDiskstats, parseUptime, parseLoadavg, parseSwaps", () => {
  const d = parseDiskstats(
    "   8       0 sda 10 0 80 5 2 0 16 3 0 8 8 0 0 0 0 0 0\n 253       0 dm-0 1 2 3 4\n",
  );
  assert.equal(d[0]?.name, "sda");
  assert.equal(d[0]?.fields.length, 17);
  assert.deepEqual(d[1], { major: 253, minor: 0, name: "dm-0", fields: [1, 2, 3, 4] });
  assert.deepEqual(parseUptime("609.65 1121.90\n"), [609.65, 1121.9]);
  assert.equal(parseUptime("x"), undefined);
  assert.deepEqual(parseLoadavg("1.45 0.33 0.10 5/143 7980\n"), {
    load1: 1.45,
    load5: 0.33,
    load15: 0.1,
    running: 5,
    total: 143,
    lastPid: 7980,
  });
  assert.deepEqual(parseSwaps("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"), []);
  assert.deepEqual(
    parseSwaps(
      "Filename\tType\tSize\tUsed\tPriority\n/swap\\040file                               file\t\t1048572\t\t0\t\t-2\n",
    ),
    [{ filename: "/swap\\040file", type: "file", sizeKb: 1048572, usedKb: 0, priority: -2 }],
  );
});

test("host readers on this machine's /proc; missing root → undefined", () => {
  assert.ok((readHostMeminfo()?.entries.length ?? 0) > 10);
  assert.ok((readHostStat()?.total.length ?? 0) >= 8);
  assert.ok((readHostUptime()?.[0] ?? 0) > 0);
  assert.equal(readHostMeminfo("/nonexistent"), undefined);
});
