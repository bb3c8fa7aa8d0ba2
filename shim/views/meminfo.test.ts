import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST_MEMINFO_TEXT, hostMeminfo, memoryV1, memoryV2 } from "../../test/shim/view-inputs.js";
import { meminfoField } from "../../test/shim/views-helpers.js";
import { renderMeminfo } from "./meminfo.js";

const MiB = 1024 * 1024;

test("meminfo without container data is the host file, byte for byte", () => {
  assert.equal(renderMeminfo({ host: hostMeminfo(), memory: undefined }), HOST_MEMINFO_TEXT);
});

test("meminfo v1: MemTotal = limit, MemFree = limit − usage, kernel layout", () => {
  const text = renderMeminfo({ host: hostMeminfo(), memory: memoryV1() });
  assert.match(text, /^MemTotal: {9}262144 kB\n/);
  assert.match(text, /\nMemFree: {10}108544 kB\n/);
  // MemAvailable = free + active_file + inactive_file (+ SReclaimable, unknown on v1 → 0)
  assert.equal(meminfoField(text, "MemAvailable"), 108544 + 100 * 1024);
  assert.equal(meminfoField(text, "Cached"), 100 * 1024);
  assert.equal(meminfoField(text, "Buffers"), 0);
  assert.equal(meminfoField(text, "Active"), 90 * 1024);
  assert.equal(meminfoField(text, "Inactive"), 60 * 1024);
  assert.equal(meminfoField(text, "AnonPages"), 46 * 1024);
  // host-only lines keep the host's value and the exact layout
  assert.match(text, /\nVmallocTotal: {3}34359738367 kB\n/);
  assert.match(text, /\nHugePages_Total: {7}0\n/);
  assert.equal(meminfoField(text, "SReclaimable"), 0, "unknown slab on v1 is 0, not the host's slab");
  assert.equal(meminfoField(text, "Slab"), 0);
  // every line is %-16s%8lu
  for (const line of text.trimEnd().split("\n")) assert.match(line, /^.{16}[ \d]{8,}( kB)?$/);
});

test("meminfo: unlimited memory keeps host MemTotal; a limit above the host is capped", () => {
  const unlimited = renderMeminfo({ host: hostMeminfo(), memory: memoryV2({ limitBytes: null }) });
  assert.equal(meminfoField(unlimited, "MemTotal"), 24684092);
  assert.equal(meminfoField(unlimited, "MemFree"), 24684092 - 200 * 1024);
  const huge = renderMeminfo({ host: hostMeminfo(), memory: memoryV2({ limitBytes: 2 ** 50 }) });
  assert.equal(meminfoField(huge, "MemTotal"), 24684092);
});

test("meminfo v2: slab from memory.stat, MemAvailable includes SReclaimable", () => {
  const text = renderMeminfo({ host: hostMeminfo(), memory: memoryV2() });
  assert.equal(meminfoField(text, "MemTotal"), 512 * 1024);
  assert.equal(meminfoField(text, "MemFree"), 312 * 1024);
  assert.equal(meminfoField(text, "Slab"), 6 * 1024);
  assert.equal(meminfoField(text, "SReclaimable"), 4 * 1024);
  assert.equal(meminfoField(text, "KReclaimable"), 4 * 1024);
  assert.equal(meminfoField(text, "SUnreclaim"), 2 * 1024);
  assert.equal(meminfoField(text, "MemAvailable"), 312 * 1024 + 100 * 1024 + 4 * 1024);
});

test("meminfo: usage above the limit gives MemFree 0, never a wrapped number", () => {
  const text = renderMeminfo({ host: hostMeminfo(), memory: memoryV1({ usageBytes: 300 * MiB }) });
  assert.equal(meminfoField(text, "MemFree"), 0);
});

test("meminfo swap: off, unlimited (capped by host), limited, and usage above the limit", () => {
  const off = renderMeminfo({ host: hostMeminfo(), memory: memoryV1({ swapLimitBytes: 0 }) });
  assert.equal(meminfoField(off, "SwapTotal"), 0);
  assert.equal(meminfoField(off, "SwapFree"), 0);
  const unlimited = renderMeminfo({ host: hostMeminfo(), memory: memoryV2() });
  assert.equal(meminfoField(unlimited, "SwapTotal"), 2097148);
  assert.equal(meminfoField(unlimited, "SwapFree"), 2097148 - 10 * 1024);
  const limited = renderMeminfo({
    host: hostMeminfo(),
    memory: memoryV1({ swapLimitBytes: 64 * MiB, swapUsageBytes: 16 * MiB }),
  });
  assert.equal(meminfoField(limited, "SwapTotal"), 64 * 1024);
  assert.equal(meminfoField(limited, "SwapFree"), 48 * 1024);
  const over = renderMeminfo({
    host: hostMeminfo(),
    memory: memoryV1({ swapLimitBytes: 64 * MiB, swapUsageBytes: 80 * MiB }),
  });
  assert.equal(meminfoField(over, "SwapFree"), 0, "SwapFree never underflows");
  const noAccounting = renderMeminfo({
    host: hostMeminfo(),
    memory: memoryV1({ swapLimitBytes: undefined, swapUsageBytes: undefined }),
  });
  assert.equal(meminfoField(noAccounting, "SwapTotal"), 2097148, "no swap accounting → host's lines");
  assert.equal(meminfoField(noAccounting, "SwapFree"), 2000000);
});

test("meminfo cacheAsUsed moves page cache out of Cached and MemAvailable", () => {
  const base = renderMeminfo({ host: hostMeminfo(), memory: memoryV1() });
  const active = renderMeminfo({
    host: hostMeminfo(),
    memory: memoryV1(),
    cacheAsUsed: { mode: "active_file" },
  });
  assert.equal(meminfoField(active, "Cached"), meminfoField(base, "Cached") - 60 * 1024);
  assert.equal(meminfoField(active, "MemAvailable"), meminfoField(base, "MemAvailable") - 60 * 1024);
  assert.equal(meminfoField(active, "MemFree"), meminfoField(base, "MemFree"));
  const pct = renderMeminfo({
    host: hostMeminfo(),
    memory: memoryV1(),
    cacheAsUsed: { mode: "percent", percent: 25 },
  });
  assert.equal(meminfoField(pct, "Cached"), 75 * 1024);
  assert.equal(meminfoField(pct, "MemAvailable"), meminfoField(base, "MemAvailable") - 25 * 1024);
});

test("meminfo: missing memory.stat fields keep the host's lines", () => {
  const text = renderMeminfo({ host: hostMeminfo(), memory: memoryV1({ stat: { raw: new Map() } }) });
  assert.equal(meminfoField(text, "MemTotal"), 256 * 1024);
  assert.equal(meminfoField(text, "Active(file)"), 195344);
  assert.equal(meminfoField(text, "Cached"), 773020);
});
