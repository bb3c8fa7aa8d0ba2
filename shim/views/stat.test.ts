import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuV1, cpuV2, hostStat } from "../../test/shim/view-inputs.js";
import { advanceStatCounters, renderStat, statReading } from "./stat.js";

test("stat without container cpu data is the host's lines", () => {
  const text = renderStat({ host: hostStat(2), counters: undefined, tasks: undefined });
  assert.equal(
    text,
    "cpu  201 0 100 20000 6 0 2 0 0 0\ncpu0 100 0 50 10000 3 0 1 0 0 0\ncpu1 101 0 50 10000 3 0 1 0 0 0\n" +
      "intr 213643 0 0\nctxt 458177\nbtime 1795605152\nprocesses 7257\nprocs_running 7\nprocs_blocked 0\nsoftirq 1 2 3\n",
  );
});

test("stat v2: user/system spread over the visible CPUs, idle = capacity − busy", () => {
  // 30 s user + 10 s system over 4 CPUs, container up 100 s = 10000 ticks per CPU
  const rows = statReading(cpuV2(), [0, 1, 2, 3], 10000);
  assert.equal(rows.length, 4);
  for (const r of rows) assert.deepEqual(r, [750, 0, 250, 9000, 0, 0, 0, 0, 0, 0]);
  const text = renderStat({
    host: hostStat(4),
    counters: rows,
    tasks: { running: 2, blocked: 1, total: 9 },
  });
  assert.match(text, /^cpu {2}3000 0 1000 36000 0 0 0 0 0 0\ncpu0 750 0 250 9000 /);
  assert.match(text, /\ncpu3 750 /);
  assert.doesNotMatch(text, /\ncpu4 /);
  assert.match(text, /\nprocs_running 2\nprocs_blocked 1\n/);
  assert.match(text, /\nbtime 1795605152\n/);
});

test("stat v1: per-CPU numbers from usage_all, renumbered", () => {
  const rows = statReading(cpuV1({ cpuset: [0, 1] }), [0, 1], 1000);
  assert.deepEqual(rows[0], [300, 0, 100, 600, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(rows[1], [100, 0, 100, 800, 0, 0, 0, 0, 0, 0]);
});

test("stat v1 with a quota hiding a used CPU: time is spread, not lost", () => {
  const rows = statReading(cpuV1({ cpuset: [0, 1], quotaCpus: 0.5 }), [0], 1000);
  assert.deepEqual(rows, [[400, 0, 200, 400, 0, 0, 0, 0, 0, 0]]);
});

test("stat: busy beyond capacity is scaled down, never above 100% nor negative idle", () => {
  // quota 0.5 CPU shown as 1 CPU, but 40 s of CPU in 10 s of uptime (e.g. quota set late)
  const rows = statReading(cpuV2({ quotaCpus: 0.5 }), [0], 1000);
  const r = rows[0] as number[];
  assert.ok((r[0] as number) + (r[2] as number) <= 1000);
  assert.equal(r[3], 1000 - (r[0] as number) - (r[2] as number));
  assert.ok((r[3] as number) >= 0);
  assert.deepEqual(statReading(cpuV2(), [0], -5)[0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test("stat counters stay monotonic across a reading that goes backwards", () => {
  const first = advanceStatCounters(undefined, [[100, 0, 50, 1000, 0, 0, 0, 0, 0, 0]]);
  const back = advanceStatCounters(first, [[90, 0, 40, 1200, 0, 0, 0, 0, 0, 0]]);
  assert.deepEqual(back, [[100, 0, 50, 1200, 0, 0, 0, 0, 0, 0]]);
  const on = advanceStatCounters(back, [[130, 0, 60, 1190, 0, 0, 0, 0, 0, 0]]);
  assert.deepEqual(on, [[130, 0, 60, 1200, 0, 0, 0, 0, 0, 0]]);
  const reshaped = advanceStatCounters(on, [
    [1, 0, 1, 1, 0, 0, 0, 0, 0, 0],
    [1, 0, 1, 1, 0, 0, 0, 0, 0, 0],
  ]);
  assert.equal(reshaped.length, 2, "a new CPU count starts a new series");
});
