import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseCpuinfo, parseDiskstats, parseMeminfo, parseStat } from "../../cgroup/host.js";
import { renderCpuinfo } from "./cpuinfo.js";
import { renderDiskstats } from "./diskstats.js";
import { renderMeminfo } from "./meminfo.js";
import { renderStat } from "./stat.js";

// The renderers rebuild every line from parsed numbers, so rendering this machine's own files with no
// container data must give them back byte for byte: the kernel's alignment (meminfo's %-16s%8lu,
// diskstats' %4d %7d), spacing (stat's `cpu  `) and line order, on whatever kernel runs the tests.

test("meminfo layout: this host's /proc/meminfo re-rendered is identical", () => {
  const text = readFileSync("/proc/meminfo", "utf8");
  assert.equal(renderMeminfo({ host: parseMeminfo(text), memory: undefined }), text);
});

test("stat layout: this host's /proc/stat re-rendered is identical", () => {
  const text = readFileSync("/proc/stat", "utf8");
  assert.equal(renderStat({ host: parseStat(text), counters: undefined, tasks: undefined }), text);
});

test("diskstats layout: this host's /proc/diskstats re-rendered is identical", () => {
  const text = readFileSync("/proc/diskstats", "utf8");
  assert.equal(renderDiskstats(parseDiskstats(text), undefined), text);
});

test("cpuinfo layout: all of this host's processors re-rendered is identical", () => {
  const text = readFileSync("/proc/cpuinfo", "utf8");
  const host = parseCpuinfo(text);
  assert.equal(
    renderCpuinfo(
      host,
      [...host.processors.keys()].sort((a, b) => a - b),
    ),
    text,
  );
});
