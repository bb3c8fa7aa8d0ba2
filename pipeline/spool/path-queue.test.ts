import assert from "node:assert/strict";
import { test } from "node:test";
import { PathQueue } from "./path-queue.js";

/** A queue whose batches run only when the test says so. */
function manual(opts: { batch?: number; maxPending?: number } = {}) {
  const seen: Array<[string, number]> = [];
  const turns: Array<() => void> = [];
  let overflows = 0;
  const q = new PathQueue((rel, at) => seen.push([rel, at]), {
    ...opts,
    overflow: () => {
      overflows++;
    },
    schedule: (fn) => turns.push(fn),
  });
  const turn = (): void => (turns.shift() as () => void)();
  return { q, seen, turns, turn, overflows: () => overflows };
}

test("each path once, oldest first, with its earliest event time", () => {
  const { q, seen, turns, turn } = manual();
  q.add("c1/a.log", 5);
  q.add("c2/b.log", 6);
  q.add("c1/a.log", 3); // earlier event for a queued path: keeps its place, takes the time
  q.add("c2/b.log", 9);
  assert.equal(turns.length, 1, "one turn scheduled however many adds");
  assert.equal(q.has("c1/a.log"), true);
  turn();
  assert.deepEqual(seen, [
    ["c1/a.log", 3],
    ["c2/b.log", 6],
  ]);
  assert.equal(q.size, 0);
  assert.equal(turns.length, 0, "nothing left, nothing scheduled");
});

test("work is cut into batches, one per turn", () => {
  const { q, seen, turns, turn } = manual({ batch: 2 });
  for (let i = 0; i < 5; i++) q.add(`f${i}`, i);
  turn();
  assert.equal(seen.length, 2);
  assert.equal(turns.length, 1, "the rest waits for the next turn");
  turn();
  turn();
  assert.deepEqual(
    seen.map(([r]) => r),
    ["f0", "f1", "f2", "f3", "f4"],
  );
  assert.equal(turns.length, 0);
});

test("bounded: past maxPending new paths are dropped and overflow is called once", () => {
  const { q, seen, turn, overflows } = manual({ maxPending: 3, batch: 10 });
  for (let i = 0; i < 6; i++) q.add(`f${i}`, i);
  assert.equal(q.size, 3);
  assert.equal(overflows(), 1, "one overflow call per overflow, not per dropped path");
  q.add("f0", 0); // already queued: merged, not dropped
  turn();
  assert.deepEqual(
    seen.map(([r]) => r),
    ["f0", "f1", "f2"],
  );
  for (let i = 0; i < 4; i++) q.add(`g${i}`, i);
  assert.equal(overflows(), 2, "a new overflow after the queue drained is reported again");
});

test("a path added while its batch runs is examined again (its event came after the look)", () => {
  const seen: string[] = [];
  const turns: Array<() => void> = [];
  const q: PathQueue = new PathQueue(
    (rel) => {
      seen.push(rel);
      if (seen.length === 1) q.add(rel, 1);
    },
    { overflow: () => {}, schedule: (fn) => turns.push(fn), batch: 1 },
  );
  q.add("x.log", 0);
  (turns.shift() as () => void)();
  (turns.shift() as () => void)();
  assert.deepEqual(seen, ["x.log", "x.log"]);
});

test("stop drops what waits and ignores later adds", () => {
  const { q, seen, turns } = manual();
  q.add("a", 0);
  q.stop();
  q.add("b", 1);
  for (const t of turns.splice(0)) t();
  assert.deepEqual(seen, []);
});
