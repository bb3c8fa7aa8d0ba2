import assert from "node:assert/strict";
import { test } from "node:test";
import type { ContainerMemory } from "../container-readers.js";
import { strictUsageBytes, workingSetBytes } from "./container-memory.js";

const MiB = 1024 * 1024;
const mem = (usage: number, stat: Partial<ContainerMemory["stat"]>): ContainerMemory => ({
  limitBytes: null,
  usageBytes: usage,
  stat,
  oomKills: 0,
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

test("flatKey finds a key at the start, middle and end, not a prefix of another", async () => {
  const { flatKey } = await import("../container-readers.js");
  const text = "cache 10\ntotal_cache 20\ninactive_file 3\ntotal_inactive_file 30";
  assert.equal(flatKey(text, "cache"), 10);
  assert.equal(flatKey(text, "total_cache"), 20);
  assert.equal(flatKey(text, "inactive_file"), 3);
  assert.equal(flatKey(text, "total_inactive_file"), 30);
  assert.equal(flatKey(text, "file"), undefined);
});
