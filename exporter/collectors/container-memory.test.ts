import assert from "node:assert/strict";
import { test } from "node:test";
import type { MemoryStat } from "../../cgroup/types.js";
import { strictUsageBytes, workingSetBytes } from "./container-memory.js";

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
