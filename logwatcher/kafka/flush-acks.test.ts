import assert from "node:assert/strict";
import { test } from "node:test";
import { FlushAcks, type FlushResult } from "./flush-acks.js";

/** A hand-driven flush: each started flush waits until the test ends it. */
function harness() {
  const flushes: ((r: FlushResult) => void)[] = [];
  const deferred: (() => void)[] = [];
  const acks = new FlushAcks(
    (done) => flushes.push(done),
    (fn) => deferred.push(fn),
  );
  const runDeferred = () => {
    while (deferred.length > 0) deferred.shift()?.();
  };
  const outcome = (p: Promise<void>) => {
    const o = {
      state: "pending" as "pending" | "resolved" | "rejected",
      error: undefined as Error | undefined,
    };
    p.then(
      () => {
        o.state = "resolved";
      },
      (e: Error) => {
        o.state = "rejected";
        o.error = e;
      },
    );
    return o;
  };
  return { acks, flushes, runDeferred, outcome };
}

const tick = () => new Promise((r) => setImmediate(r));

test("sends of one turn share a flush and resolve once the queue drained", async () => {
  const h = harness();
  const a = h.outcome(h.acks.wait());
  const b = h.outcome(h.acks.wait());
  assert.equal(h.flushes.length, 0, "no flush before the turn ends");
  h.runDeferred();
  assert.equal(h.flushes.length, 1);
  h.flushes[0]?.("timeout"); // still draining: flushed again, nothing settles
  assert.equal(h.flushes.length, 2);
  await tick();
  assert.equal(a.state, "pending");
  h.flushes[1]?.("drained");
  h.runDeferred();
  await tick();
  assert.equal(a.state, "resolved");
  assert.equal(b.state, "resolved");
  assert.equal(h.acks.pending, 0);
});

test("a delivery error fails every send it may belong to, and only those", async () => {
  const h = harness();
  const first = h.outcome(h.acks.wait());
  h.runDeferred(); // flush 1 covers `first`
  const second = h.outcome(h.acks.wait()); // made during flush 1: waits for the next flush
  h.acks.deliveryFailed(new Error("delivery failed: Broker: Not enough in-sync replicas"));
  h.flushes[0]?.("drained");
  h.runDeferred(); // settles flush 1, starts flush 2 for `second`
  await tick();
  assert.equal(first.state, "rejected");
  assert.match(first.error?.message ?? "", /in-sync replicas/);
  assert.equal(h.flushes.length, 2);
  h.flushes[1]?.("drained");
  h.runDeferred();
  await tick();
  // `second` was waiting when the error arrived: it may own the failed message, so it fails too.
  assert.equal(second.state, "rejected");
  // A send after the error is not blamed for it.
  const third = h.outcome(h.acks.wait());
  h.runDeferred();
  h.flushes[2]?.("drained");
  h.runDeferred();
  await tick();
  assert.equal(third.state, "resolved");
});

test("an error arriving between the drained flush and its settling still fails the epoch", async () => {
  const h = harness();
  const a = h.outcome(h.acks.wait());
  h.runDeferred();
  h.flushes[0]?.("drained");
  // The error report is dispatched in the same turn as the flush completion, before the settle.
  h.acks.deliveryFailed(new Error("delivery failed: Local: Message timed out"));
  h.runDeferred();
  await tick();
  assert.equal(a.state, "rejected");
});

test("a flush that cannot run (producer gone) fails its sends with that error", async () => {
  const h = harness();
  const a = h.outcome(h.acks.wait());
  h.runDeferred();
  h.flushes[0]?.(new Error("Producer not connected"));
  h.runDeferred();
  await tick();
  assert.equal(a.state, "rejected");
  assert.equal(a.error?.message, "Producer not connected");
});
