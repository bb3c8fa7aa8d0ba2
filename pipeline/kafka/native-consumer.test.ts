import assert from "node:assert/strict";
import { test } from "node:test";
import { NativeConsumer, partitionBatches } from "./native-consumer.js";

const quiet = { log: () => undefined, error: () => undefined, rebalance: () => undefined };

/** A consumed batch as consumer.c lays it out: key bytes then value bytes; 5 numbers per message. */
function consumed(messages: [partition: number, offset: number, key: string | null, value: string | null][]) {
  const parts: Buffer[] = [];
  const meta: number[] = [];
  for (const [partition, offset, key, value] of messages) {
    if (key !== null) parts.push(Buffer.from(key));
    if (value !== null) parts.push(Buffer.from(value));
    meta.push(
      partition,
      offset,
      key === null ? -1 : Buffer.byteLength(key),
      value === null ? -1 : Buffer.byteLength(value),
      100,
    );
  }
  return { generation: 3, data: Buffer.concat(parts), meta: Float64Array.from(meta) };
}

test("a consumed batch splits into one batch per partition, each in its order, with its lag", () => {
  const batches = partitionBatches(
    "logs",
    consumed([
      [2, 40, "c1", '{"a":1}'],
      [0, 7, null, "é"],
      [2, 41, "c1", ""],
      [0, 8, "c2", null],
    ]),
  );
  assert.deepEqual(
    batches.map((b) => ({
      topic: b.topic,
      partition: b.partition,
      lag: b.lag,
      messages: b.messages.map((m) => [m.offset, m.key?.toString() ?? null, m.value?.toString() ?? null]),
    })),
    [
      {
        topic: "logs",
        partition: 2,
        lag: 58,
        messages: [
          ["40", "c1", '{"a":1}'],
          ["41", "c1", ""],
        ],
      },
      {
        topic: "logs",
        partition: 0,
        lag: 91,
        messages: [
          ["7", null, "é"],
          ["8", "c2", null],
        ],
      },
    ],
  );
});

test("an empty consume is no batch", () => {
  assert.deepEqual(partitionBatches("logs", consumed([])), []);
});

// The real librdkafka binding against a port nothing listens on: what a user sees while Kafka is down.
test("metadata fails with a clear error when no broker answers, and the consumer still closes", async () => {
  const c = new NativeConsumer({ "metadata.broker.list": "127.0.0.1:1", "group.id": "g" }, quiet);
  try {
    await assert.rejects(c.metadata(300), /timed out|transport|connect/i);
    c.subscribe("logs");
    const batch = await c.consume(10, 100);
    assert.equal(batch.meta.length, 0);
  } finally {
    await c.close();
  }
});

test("a bad setting is refused at creation, naming it", () => {
  assert.throws(
    () => new NativeConsumer({ "group.id": "g", "no.such.setting": "1" }, quiet),
    /No such configuration property: "no.such.setting"/,
  );
});

test("a consumer without a group cannot subscribe: one error, and it still closes", async () => {
  const c = new NativeConsumer({ "metadata.broker.list": "127.0.0.1:1" }, quiet);
  try {
    assert.throws(() => c.subscribe("logs"), /group/i);
  } finally {
    await c.close();
  }
});
