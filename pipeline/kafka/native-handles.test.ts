import assert from "node:assert/strict";
import { test } from "node:test";
import { loadNativeBinding } from "../native/binding.js";
import type { ConsumerBinding } from "./native-consumer.js";
import { NativeEvent } from "./native-events.js";
import type { ProducerBinding } from "./native-producer.js";

// The raw librdkafka binding (pipeline/native/src): its producer and consumer handles are both
// externals of one addon, told apart only by their type tags. Nothing listens on the broker port.
const NO_BROKER = { "metadata.broker.list": "127.0.0.1:1" };
const wrongHandle = { name: "TypeError", code: "BXS_NATIVE_HANDLE_INVALID" };
const neverCalled = () => assert.fail("a refused call must not queue a job");

test("a producer call given a consumer's handle or any other value throws a TypeError, and a consumer call given a producer's; both handles go on working", async () => {
  const kafka = loadNativeBinding<ProducerBinding & ConsumerBinding>("boxscope_rdkafka");
  let closed = () => {};
  const producerClosed = new Promise<void>((resolve) => {
    closed = resolve;
  });
  const producer = kafka.create(NO_BROKER, (kind) => {
    if (kind === NativeEvent.closed) closed();
  });
  const consumer = kafka.createConsumer(
    { ...NO_BROKER, "group.id": "boxscope-handles-test" },
    () => undefined,
  );
  try {
    for (const handle of [consumer, {}, 42, null, undefined, "producer"]) {
      const empty = new Uint32Array(0);
      assert.throws(() => kafka.produce(handle, "t", Buffer.alloc(0), empty, [], empty, 1), wrongHandle);
      assert.throws(() => kafka.metadata(handle, null, 10, neverCalled), wrongHandle);
      assert.throws(() => kafka.createTopic(handle, "t", 1, 10, neverCalled), wrongHandle);
      assert.throws(() => kafka.raiseFatalError(handle, "test"), wrongHandle);
      assert.throws(() => kafka.close(handle, 0), wrongHandle);
    }
    for (const handle of [producer, {}, 42, null, undefined, "consumer"]) {
      assert.throws(() => kafka.subscribe(handle, "t"), wrongHandle);
      assert.throws(() => kafka.consume(handle, 1, 10, neverCalled), wrongHandle);
      assert.throws(() => kafka.generation(handle), wrongHandle);
      assert.throws(() => kafka.commit(handle, "t", 0, 1, neverCalled), wrongHandle);
      assert.throws(() => kafka.consumerMetadata(handle, 10, neverCalled), wrongHandle);
      assert.throws(() => kafka.closeConsumer(handle, neverCalled), wrongHandle);
    }
    assert.equal(kafka.generation(consumer), 0);
    kafka.subscribe(consumer, "boxscope-handles-test");
  } finally {
    kafka.close(producer, 0);
    await producerClosed;
    const closeError = await new Promise<string | null>((resolve) => kafka.closeConsumer(consumer, resolve));
    assert.equal(closeError, null);
  }
});
