import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import type { ConsumerBinding } from "../../pipeline/kafka/native-consumer.js";
import { NativeEvent } from "../../pipeline/kafka/native-events.js";
import type { ProducerBinding } from "../../pipeline/kafka/native-producer.js";
import { loadNativeBinding } from "../../pipeline/native/binding.js";
import { loadFuseBinding, type MountHandle } from "../../shim/native/binding.js";
import { isRoot, requirePrereq } from "../helpers/prereq.js";
import { hasDevFuse, mountedFsType } from "./fuse-daemon.js";

// Both C addons hand JavaScript their objects as externals, each tagged with its kind: a handle of
// the other addon (or any other value) is refused with a TypeError instead of being read as one's own.
const run = promisify(execFile);
const wrongHandle = { name: "TypeError", code: "BXS_NATIVE_HANDLE_INVALID" };
const NO_BROKER = { "metadata.broker.list": "127.0.0.1:1" };
const neverCalled = () => assert.fail("a refused call must not queue a job");

type KafkaBinding = ProducerBinding & ConsumerBinding;

/** A producer and a consumer of the Kafka binding (no broker listens), and how to close both. */
function kafkaHandles(kafka: KafkaBinding): {
  producer: unknown;
  consumer: unknown;
  close: () => Promise<void>;
} {
  let closed = () => {};
  const producerClosed = new Promise<void>((resolve) => {
    closed = resolve;
  });
  const producer = kafka.create(NO_BROKER, (kind) => {
    if (kind === NativeEvent.closed) closed();
  });
  const consumer = kafka.createConsumer(
    { ...NO_BROKER, "group.id": "boxscope-fuse-handles-test" },
    () => undefined,
  );
  return {
    producer,
    consumer,
    close: async () => {
      kafka.close(producer, 0);
      await producerClosed;
      await new Promise((resolve) => kafka.closeConsumer(consumer, resolve));
    },
  };
}

test("stop, stats and store refuse anything but a mount handle (the Kafka binding's handles too) with a TypeError", async () => {
  const fuse = loadFuseBinding();
  const kafka = kafkaHandles(loadNativeBinding<KafkaBinding>("boxscope_rdkafka"));
  try {
    for (const value of [kafka.producer, kafka.consumer, {}, 42, null, undefined, "mount"]) {
      const handle = value as MountHandle;
      assert.throws(() => fuse.stop(handle), wrongHandle);
      assert.throws(() => fuse.stats(handle), wrongHandle);
      assert.throws(() => fuse.store(handle, "/run/boxscope-test-notify"), wrongHandle);
    }
  } finally {
    await kafka.close();
  }
});

test("the Kafka binding refuses a live mount's handle; the mount serves on and stops", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  const fuse = loadFuseBinding();
  const kafka = loadNativeBinding<KafkaBinding>("boxscope_rdkafka");
  const dir = mkdtempSync(join(tmpdir(), "boxscope-fuse-handles-"));
  const mnt = join(dir, "mnt");
  mkdirSync(mnt);
  let exited = (_code: number) => {};
  const exit = new Promise<number>((resolve) => {
    exited = resolve;
  });
  const handle = fuse.mount(
    { mountpoint: mnt, files: ["a/text"], cacheTtlMs: 0, maxThreads: 1 },
    () => "served\n",
    (code) => exited(code),
  );
  let stopped = false;
  t.after(async () => {
    if (!stopped) {
      fuse.stop(handle);
      await exit;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const empty = new Uint32Array(0);
  assert.throws(() => kafka.produce(handle, "t", Buffer.alloc(0), empty, [], empty, 1), wrongHandle);
  assert.throws(() => kafka.metadata(handle, "t", 10, neverCalled), wrongHandle);
  assert.throws(() => kafka.createTopic(handle, "t", 1, 10, neverCalled), wrongHandle);
  assert.throws(() => kafka.raiseFatalError(handle, "test"), wrongHandle);
  assert.throws(() => kafka.close(handle, 0), wrongHandle);
  assert.throws(() => kafka.subscribe(handle, "t"), wrongHandle);
  assert.throws(() => kafka.consume(handle, 1, 10, neverCalled), wrongHandle);
  assert.throws(() => kafka.generation(handle), wrongHandle);
  assert.throws(() => kafka.commit(handle, "t", 0, 1, neverCalled), wrongHandle);
  assert.throws(() => kafka.consumerMetadata(handle, 10, neverCalled), wrongHandle);
  assert.throws(() => kafka.closeConsumer(handle, neverCalled), wrongHandle);

  // Read by a child process: this thread answers the mount's requests.
  assert.equal((await run("cat", [join(mnt, "a/text")])).stdout, "served\n");
  assert.equal(fuse.stats(handle).opens, 1);
  fuse.stop(handle);
  stopped = true;
  assert.equal(await exit, 0);
  assert.equal(mountedFsType(mnt), undefined);
});
