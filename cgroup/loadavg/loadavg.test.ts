import assert from "node:assert/strict";
import { test } from "node:test";
import type { TaskCounts } from "../types.js";
import { calcLoad, EXP_1, FIXED_1, formatLoad, type Loads, stepLoads } from "./math.js";
import { createLoadavgSampler } from "./sampler.js";

test("calcLoad rounds like the kernel: up while rising, down while falling", () => {
  assert.equal(calcLoad(0, EXP_1, FIXED_1), 164); // (2048·164 + 2047) / 2048
  assert.equal(calcLoad(FIXED_1, EXP_1, FIXED_1), FIXED_1, "steady state is exact");
  assert.equal(calcLoad(FIXED_1, EXP_1, 0), 1884);
  assert.equal(calcLoad(1, EXP_1, 0), 0, "decays to exactly 0");
});

test("one busy thread for a minute gives load1 ≈ 1 − 1/e; idle decays to 0.00", () => {
  let loads: Loads = [0, 0, 0];
  for (let i = 0; i < 12; i++) loads = stepLoads(loads, 1);
  assert.equal(formatLoad(loads[0]), "0.63");
  assert.ok(loads[1] < loads[0] && loads[2] < loads[1]);
  for (let i = 0; i < 2000; i++) loads = stepLoads(loads, 0);
  assert.deepEqual(loads, [0, 0, 0]);
  assert.deepEqual(stepLoads([0, 0, 0], 3, 3), stepLoads(stepLoads(stepLoads([0, 0, 0], 3), 3), 3));
});

test("load format: LOAD_INT.LOAD_FRAC with +FIXED_1/200 rounding, as /proc/loadavg prints it", () => {
  assert.equal(formatLoad(0), "0.00");
  assert.equal(formatLoad(FIXED_1), "1.00");
  assert.equal(formatLoad(1024), "0.50");
  assert.equal(formatLoad(FIXED_1 * 12 + 2047), "13.00");
});

test("sampler: steps each container, skips one that vanishes, forgets it after repeated misses", async () => {
  const cgroups = new Map<string, TaskCounts | undefined>([
    ["/a", { running: 2, blocked: 1, total: 10 }],
    ["/b", { running: 0, blocked: 0, total: 3 }],
  ]);
  let clock = 0;
  const sampler = createLoadavgSampler({
    listCgroups: () => [...cgroups.keys()],
    countTasks: (p) => cgroups.get(p),
    now: () => clock,
    sliceSize: 1,
    forgetAfterMisses: 2,
  });
  const first = await sampler.runPass();
  assert.equal(first.sampled, 2);
  assert.equal(first.slices, 2, "one cgroup per slice: yields between them");
  assert.deepEqual(sampler.get("/a")?.loads, stepLoads([0, 0, 0], 3));
  assert.equal(sampler.get("/a")?.total, 10);
  clock += 5000;
  cgroups.set("/b", undefined); // vanished mid-life: still listed, no tasks file
  const second = await sampler.runPass();
  assert.equal(second.vanished, 1);
  assert.deepEqual(sampler.get("/a")?.loads, stepLoads(stepLoads([0, 0, 0], 3), 3));
  assert.ok(sampler.get("/b") !== undefined, "kept its last sample while missing once");
  await sampler.runPass();
  assert.equal(sampler.get("/b"), undefined, "forgotten after two misses");
  cgroups.delete("/a");
  await sampler.runPass();
  assert.equal(sampler.get("/a"), undefined, "no longer listed → forgotten");
});

test("sampler: tracked cgroups are sampled; a late pass catches up the missed periods", async () => {
  let clock = 0;
  const sampler = createLoadavgSampler({
    listCgroups: () => [],
    countTasks: () => ({ running: 1, blocked: 0, total: 1 }),
    now: () => clock,
  });
  sampler.track("/t");
  await sampler.runPass();
  clock += 15000;
  await sampler.runPass();
  assert.deepEqual(sampler.get("/t")?.loads, stepLoads([0, 0, 0], 1, 4));
});
