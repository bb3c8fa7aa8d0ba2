import assert from "node:assert/strict";
import { test } from "node:test";
import { PartitionCommits, Slots } from "./commit-order.js";

test("the committed offset moves only over the oldest run of finished chunks", () => {
  const c = new PartitionCommits();
  const a = c.add("9");
  const b = c.add("19");
  const d = c.add("29");
  assert.equal(c.finish(b), undefined, "a newer chunk finishing first commits nothing");
  assert.equal(c.finish(d), undefined);
  assert.equal(c.pending, 3);
  assert.equal(c.finish(a), "29", "the oldest finishing releases the whole finished run");
  assert.equal(c.pending, 0);
  const e = c.add("39");
  assert.equal(c.finish(e), "39");
});

test("long runs of chunks keep their order after the finished prefix is compacted", () => {
  const c = new PartitionCommits();
  const tickets = Array.from({ length: 300 }, (_, i) => c.add(String(i)));
  // Finish in pairs, newer first: each pair releases exactly its newer offset.
  for (let i = 0; i < tickets.length; i += 2) {
    assert.equal(c.finish(tickets[i + 1] as (typeof tickets)[0]), undefined);
    assert.equal(c.finish(tickets[i] as (typeof tickets)[0]), String(i + 1));
  }
  assert.equal(c.pending, 0);
});

test("slots bound the requests in flight and wake a waiter on release", async () => {
  const s = new Slots(2);
  assert.ok(s.tryAcquire());
  assert.ok(s.tryAcquire());
  assert.equal(s.tryAcquire(), false);
  const woken = s.whenFree();
  s.release();
  await woken;
  assert.equal(s.inUse, 1);
  assert.ok(s.tryAcquire());
});

test("a chunk learns when every older chunk of its partition has settled, finished or abandoned", async () => {
  const c = new PartitionCommits();
  const a = c.add("9");
  const b = c.add("19");
  const d = c.add("29");
  const order: string[] = [];
  void d.olderSettled.then(() => order.push("older than d settled"));
  b.settle();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [], "a is still in flight");
  a.settle(); // abandoned without finishing: it still settles
  await d.olderSettled;
  assert.deepEqual(order, ["older than d settled"]);
  d.settle();
  await d.settled;
});
