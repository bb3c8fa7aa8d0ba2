import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import { encodeMessages } from "../../pipeline/kafka/encoded-batch.js";
import { createRdkafkaClient } from "../../pipeline/kafka/rdkafka.js";
import type { EncodedBatch, KafkaClient } from "../../pipeline/kafka/types.js";
import { shipArgs } from "../helpers/cli-args.js";
import { freePort, type KafkaBroker, kafkaPrereq, startKafka, topicCount } from "../helpers/kafka.js";
import { requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/wait.js";
import { CliProcess } from "../pipeline/harness.js";

const kafkaOk = kafkaPrereq();

/** `n` values `<tag>-<i>` with keys k0..k3, built back to back in one buffer like the shipper's. */
function batchOf(tag: string, n: number): EncodedBatch {
  return encodeMessages(
    Array.from({ length: n }, (_, i) => ({ key: `k${i % 4}`, value: `{"v":"${tag}-${i}"}` })),
  );
}

/** A librdkafka client of `brokers` and its producer, connected. */
async function connectedProducer(brokers: string, clientId: string, compression?: "lz4") {
  const client = createRdkafkaClient({ brokers: [brokers], clientId, logger: silentLogger(), compression });
  const producer = client.producer();
  await producer.connect();
  return { client, producer };
}

function consumerClient(brokers: string): KafkaClient {
  return createRdkafkaClient({ brokers: [brokers], clientId: "test-consumer", logger: silentLogger() });
}

/**
 * Reads `count` values of `topic` as a member of `group`, committing each batch as it is handled,
 * then leaves the group. Fails if the consumer crashes for good.
 */
async function readWithCommits(client: KafkaClient, group: string, topic: string, count: number) {
  const consumer = client.consumer(group);
  const seen = new Set<string>();
  let crash: Error | undefined;
  consumer.onCrash((e, restarting) => {
    if (!restarting) crash = e;
  });
  await consumer.connect();
  try {
    await consumer.run(topic, async (batch, control) => {
      for (const m of batch.messages) seen.add(m.value?.toString("utf8") ?? "");
      await control.commit((batch.messages[batch.messages.length - 1] as { offset: string }).offset);
    });
    await waitFor(
      `${count} values of ${topic}`,
      async () => seen.size >= count || crash !== undefined || undefined,
      30_000,
      50,
    );
  } finally {
    await consumer.disconnect();
  }
  assert.equal(crash, undefined, `the consumer crashed: ${crash?.message}`);
  return seen;
}

/** Every value in the topic, read with kcat (key<TAB>value per line). */
function readTopic(brokers: string, topic: string): string[] {
  const r = spawnSync(
    "kcat",
    ["-b", brokers, "-C", "-t", topic, "-e", "-q", "-o", "beginning", "-f", "%k\t%s\n"],
    {
      encoding: "utf8",
      maxBuffer: 1 << 26,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l !== "");
}

describe("librdkafka producer and consumer (real Kafka)", { timeout: 240_000 }, () => {
  let kafka: KafkaBroker | undefined;
  before(async () => {
    if (kafkaOk.present) kafka = await startKafka();
  });
  after(async () => {
    await kafka?.destroy();
  });

  test("batches sent at once are acknowledged only once the broker holds every value", async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !kafka) return;
    const { client, producer } = await connectedProducer(kafka.brokers, "test");
    t.after(() => producer.disconnect());
    const topic = `rd-${Date.now()}`;
    assert.equal(await client.admin().ensureTopic(topic, 3), true);
    // Existing now: found by the metadata probe, and asking did not create anything either.
    assert.equal(await client.admin().ensureTopic(topic, 3), false);
    const sends = Array.from({ length: 12 }, (_, b) => producer.sendEncoded(topic, batchOf(`b${b}`, 1000)));
    sends.push(producer.send(topic, [{ key: "k9", value: '{"v":"plain"}' }]));
    await Promise.all(sends);
    // Acknowledged means stored: the count is complete the moment the sends resolved.
    assert.equal(await topicCount(kafka.brokers, topic), 12 * 1000 + 1);
    if (spawnSync("kcat", ["-V"]).status === 0) {
      const got = readTopic(kafka.brokers, topic);
      assert.equal(new Set(got).size, 12 * 1000 + 1);
      assert.ok(got.includes('k1\t{"v":"b3-5"}'));
      assert.ok(got.includes('k9\t{"v":"plain"}'));
    }
  });

  test("a topic the cluster refuses is one error naming the broker's reason", async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !kafka) return;
    const { client, producer } = await connectedProducer(kafka.brokers, "test-refused");
    t.after(() => producer.disconnect());
    await assert.rejects(client.admin().ensureTopic("no spaces allowed", 3), /illegal|invalid/i);
  });

  test("ship: a topic the cluster refuses is one clear line per attempt, counted, and retried", async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !kafka) return;
    const dir = mkdtempSync(join(tmpdir(), "boxscope-test-refused-"));
    mkdirSync(join(dir, "spool"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const spool = join(dir, "spool");
    const args = {
      spool,
      brokers: kafka.brokers,
      positions: join(dir, "pos.json"),
      topic: "no spaces allowed",
    };
    const p = new CliProcess(shipArgs(args, "--metrics-listen", `127.0.0.1:${port}`));
    t.after(() => p.kill9());
    await p.waitForStderr(
      /refused to create topic no spaces allowed: .*(illegal|invalid).*; retrying/i,
      60_000,
      2,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const failures = /boxscope_ship_kafka_connect_failures_total\{stage="topic"\} (\d+)/.exec(metrics);
    assert.ok(failures && Number(failures[1]) >= 2, metrics);
    assert.equal(await p.term(), 0, p.stderr);
  });

  test("lz4 batches, the shipper's default, are read back whole by the indexer's consumer", async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !kafka) return;
    const { client, producer } = await connectedProducer(kafka.brokers, "test-lz4", "lz4");
    const topic = `rd-lz4-${Date.now()}`;
    await client.admin().ensureTopic(topic, 3);
    try {
      await Promise.all([0, 1, 2].map((b) => producer.sendEncoded(topic, batchOf(`z${b}`, 2000))));
    } finally {
      await producer.disconnect();
    }
    const seen = await readWithCommits(consumerClient(kafka.brokers), `g-${topic}`, topic, 6000);
    assert.equal(seen.size, 6000);
    assert.ok(seen.has('{"v":"z2-1999"}'));
    // Independently of boxscope's consumer: kcat decodes the same batches.
    const viaKcat = readTopic(kafka.brokers, topic);
    assert.equal(new Set(viaKcat).size, 6000);
  });

  test("the librdkafka consumer resumes after its group's committed offsets", async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !kafka) return;
    const { client, producer } = await connectedProducer(kafka.brokers, "test-resume", "lz4");
    const topic = `rd-resume-${Date.now()}`;
    await client.admin().ensureTopic(topic, 3);
    try {
      await producer.sendEncoded(topic, batchOf("first", 3000));
      const reader = consumerClient(kafka.brokers);
      assert.equal((await readWithCommits(reader, `g-${topic}`, topic, 3000)).size, 3000);
      await producer.sendEncoded(topic, batchOf("second", 500));
      // Everything of the first read was committed: the group's next member reads only the new.
      const again = await readWithCommits(reader, `g-${topic}`, topic, 500);
      assert.deepEqual(
        [...again].filter((v) => !v.includes("second")),
        [],
      );
      assert.equal(again.size, 500);
    } finally {
      await producer.disconnect();
    }
  });

  test("a member joining moves the librdkafka consumer's generation; older work cannot commit", async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !kafka) return;
    const { client, producer } = await connectedProducer(kafka.brokers, "test-gen");
    const topic = `rd-gen-${Date.now()}`;
    await client.admin().ensureTopic(topic, 3);
    await producer.sendEncoded(topic, batchOf("g", 300));
    await producer.disconnect();
    const clients = consumerClient(kafka.brokers);
    const first = clients.consumer(`g-${topic}`);
    const second = clients.consumer(`g-${topic}`);
    t.after(() => Promise.all([first.disconnect(), second.disconnect()]));
    await first.connect();
    let firstBatch: { partition: number; offset: string; generation: number } | undefined;
    await first.run(topic, async (batch, control) => {
      firstBatch ??= {
        partition: batch.partition,
        offset: (batch.messages[0] as { offset: string }).offset,
        generation: control.generation,
      };
    });
    await waitFor(
      "the first member's first batch",
      async () => firstBatch !== undefined || undefined,
      30_000,
      50,
    );
    const before = firstBatch as { partition: number; offset: string; generation: number };
    await second.connect();
    await second.run(topic, async () => undefined);
    await waitFor(
      "a rebalance seen by the first member",
      async () => first.generation() !== before.generation || undefined,
      30_000,
      50,
    );
    assert.equal(await first.commitOffset(topic, before.partition, before.offset, before.generation), false);
  });

  test("a fatal producer error (an idempotent sequence lost) is survived: a new producer takes the next sends", async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !kafka) return;
    const { client, producer } = await connectedProducer(kafka.brokers, "test-fatal");
    t.after(() => producer.disconnect());
    const topic = `rd-fatal-${Date.now()}`;
    await client.admin().ensureTopic(topic, 3);
    await producer.sendEncoded(topic, batchOf("before", 1000));
    producer.raiseFatalError("lost sequence");
    // The shipper's contract: a rejected batch is sent again. Sends made before the fatal error
    // reached JavaScript are refused by the failed producer; a later one must go through.
    let refused = 0;
    for (;;) {
      try {
        await producer.sendEncoded(topic, batchOf("after", 1000));
        break;
      } catch (e) {
        refused++;
        assert.match(String(e), /fatal|closed/i);
        assert.ok(refused < 50, "the producer was never replaced");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // Refused sends stored nothing: every value once.
    assert.equal(await topicCount(kafka.brokers, topic), 2000);
  });

  test("a send made while the broker is down stays unacknowledged until the broker holds it", async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !kafka) return;
    const { client, producer } = await connectedProducer(kafka.brokers, "test-down");
    const topic = `rd-down-${Date.now()}`;
    await client.admin().ensureTopic(topic, 3);
    await producer.sendEncoded(topic, batchOf("before", 10));
    await kafka.stop();
    let down = true;
    try {
      let settled = false;
      const during = producer.sendEncoded(topic, batchOf("during", 50)).finally(() => {
        settled = true;
      });
      await new Promise((r) => setTimeout(r, 5000));
      assert.equal(settled, false, "acknowledged while the broker was down");
      await kafka.start();
      down = false;
      await during;
    } finally {
      if (down) await kafka.start().catch(() => undefined);
      await producer.disconnect();
    }
    assert.equal(await topicCount(kafka.brokers, topic), 10 + 50);
  });
});
