import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeMessages } from "./encoded-batch.js";
import { NativeProducer } from "./native-producer.js";

// The real librdkafka binding against a port nothing listens on: what a user sees while Kafka is down.
const quiet = { log: () => undefined, error: () => undefined };

function batch(n: number) {
  return encodeMessages(Array.from({ length: n }, (_, i) => ({ key: "k", value: `{"i":${i}}` })));
}

test("a batch still queued when the producer closes is rejected, not left pending", async () => {
  const p = new NativeProducer({ "metadata.broker.list": "127.0.0.1:1" }, quiet);
  const sent = p.produce("t", batch(5));
  const outcome = sent.then(
    () => "acknowledged",
    (e: Error) => e.message,
  );
  await p.close(0);
  assert.match(await outcome, /delivery failed for 5 message\(s\): .*purged/i);
});

test("a batch that times out in the queue is rejected with librdkafka's reason", async () => {
  const p = new NativeProducer({ "metadata.broker.list": "127.0.0.1:1", "message.timeout.ms": 300 }, quiet);
  try {
    await assert.rejects(p.produce("t", batch(3)), /delivery failed for 3 message\(s\): .*timed out/i);
  } finally {
    await p.close(0);
  }
});

test("metadata fails with a clear error when no broker answers", async () => {
  const p = new NativeProducer({ "metadata.broker.list": "127.0.0.1:1" }, quiet);
  try {
    await assert.rejects(p.metadata(300), /timed out|transport|connect/i);
  } finally {
    await p.close(0);
  }
});

test("a bad setting is refused at creation, naming it", () => {
  assert.throws(
    () => new NativeProducer({ "no.such.setting": "1" }, quiet),
    /No such configuration property: "no.such.setting"/,
  );
});

test("a batch whose ends run past its data is refused before anything is queued", async () => {
  const p = new NativeProducer({ "metadata.broker.list": "127.0.0.1:1" }, quiet);
  try {
    const b = batch(2);
    await assert.rejects(
      p.produce("t", { ...b, ends: Uint32Array.of(3, b.data.length + 1) }),
      /ends must rise within data/,
    );
    await assert.rejects(
      p.produce("t", { ...b, keys: [Buffer.from("k")], keyEnds: Uint32Array.of(1) }),
      /keyEnds must cover every value/,
    );
  } finally {
    await p.close(0);
  }
});
