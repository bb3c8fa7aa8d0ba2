import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/logger.js";
import { indexConfigSchema } from "../../pipeline/indexer/config.js";
import { documentId } from "../../pipeline/indexer/documents.js";
import { startIndexer } from "../../pipeline/indexer/indexer.js";
import { elasticsearchPrereq } from "../helpers/elasticsearch.js";
import { freePort, kafkaPrereq } from "../helpers/kafka.js";
import { requirePrereq } from "../helpers/prereq.js";
import {
  CliProcess,
  esDocuments,
  indexArgs,
  metric,
  pipelineServices,
  scrapeUntil,
  shipArgs,
  sleep,
} from "./harness.js";

const kafkaOk = kafkaPrereq();
const esOk = elasticsearchPrereq();

describe("boxscope index: replayed lines across midnight, and --metrics-listen (real Kafka + Elasticsearch)", {
  timeout: 300_000,
}, () => {
  const services = pipelineServices(kafkaOk.present && esOk.present);

  test("a line re-sent after midnight UTC with replayed:true is one document; its metrics are served", {
    timeout: 180_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !requirePrereq(t, esOk.present, esOk.why)) return;
    const { kafka, es } = services.started();
    const run = randomBytes(4).toString("hex");
    const topic = `replay-${run}`;
    const prefix = `replay-${run}`;
    const record = (offset: number, at: string, line: string, replayed?: boolean) => ({
      key: "c1",
      value: JSON.stringify({
        "@timestamp": at,
        host: "h1",
        container: "c1",
        file: "/app/log/c1/app.log",
        fileId: "1:2:ab",
        offset,
        line,
        ...(replayed ? { replayed: true } : {}),
      }),
    });
    const client = new Kafka({ brokers: [kafka.brokers], logLevel: logLevel.NOTHING });
    const producer = client.producer();
    await producer.connect();
    t.after(() => producer.disconnect());
    // Before the "crash": line 0 read just before midnight.
    await producer.send({ topic, acks: -1, messages: [record(0, "2026-11-24T23:59:59.900Z", "first")] });

    const port = await freePort();
    const indexer = new CliProcess(
      indexArgs(
        { brokers: kafka.brokers, topic, group: `g-${run}`, elasticsearch: es.url, indexPrefix: prefix },
        "--metrics-listen",
        `127.0.0.1:${port}`,
      ),
      { BOXSCOPE_LOG_LEVEL: "warn" },
    );
    t.after(() => indexer.kill9());
    const url = `http://127.0.0.1:${port}/metrics`;
    await scrapeUntil(url, (m) => metric(m, "boxscope_index_documents_total") === 1, 90_000);

    // After the restart the shipper re-reads line 0 (now after midnight, flagged replayed) and a
    // line 100 it had never sent (replayed too: between the saved position and the old size).
    // Lines 200/300 arrive in one send, so most likely in one chunk: the replayed copy of 200
    // is dropped without asking Elasticsearch; 400 is an ordinary new line.
    await producer.send({
      topic,
      acks: -1,
      messages: [
        record(0, "2026-11-25T00:00:00.300Z", "first", true),
        record(100, "2026-11-25T00:00:00.400Z", "second", true),
        record(200, "2026-11-24T23:59:59.990Z", "third"),
        record(200, "2026-11-25T00:00:00.500Z", "third", true),
        record(400, "2026-11-25T00:00:01.000Z", "fourth"),
      ],
    });
    const scrape = await scrapeUntil(
      url,
      (m) =>
        metric(m, "boxscope_index_documents_total") === 4 &&
        metric(m, "boxscope_index_replayed_duplicates_total") === 2,
      90_000,
    );
    assert.match(scrape, /^boxscope_index_consumer_lag \d+$/m);
    assert.match(scrape, /^# TYPE boxscope_index_retries_total counter$/m);

    const docs = await esDocuments(es.url, `${prefix}-*`);
    const lines = docs.map((d) => `${d.line}@${String(d["@timestamp"]).slice(0, 10)}`).sort();
    assert.deepEqual(lines, [
      "first@2026-11-24",
      "fourth@2026-11-25",
      "second@2026-11-25",
      "third@2026-11-24",
    ]);
    // The earlier copy is the one kept, in the previous day's index, under the line's identity.
    const r = await fetch(`${es.url}/${prefix}-2026.11.24/_doc/${documentId("h1", "1:2:ab", 0)}`);
    assert.equal(r.status, 200);
    const r2 = await fetch(`${es.url}/${prefix}-2026.11.25/_doc/${documentId("h1", "1:2:ab", 0)}`);
    assert.equal(r2.status, 404);
    assert.equal(await indexer.term(), 0, indexer.stderr);
  });

  test("a second member joining mid-stream (rebalance with bulks in flight) loses and duplicates nothing", {
    timeout: 180_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !requirePrereq(t, esOk.present, esOk.why)) return;
    const { kafka, es } = services.started();
    const run = randomBytes(4).toString("hex");
    const topic = `rebalance-${run}`;
    const prefix = `rebalance-${run}`;
    const group = `g-${run}`;
    const N = 60_000;
    const client = new Kafka({ brokers: [kafka.brokers], logLevel: logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const producer = client.producer();
    await producer.connect();
    for (let from = 0; from < N; from += 5000) {
      const messages = [];
      for (let i = from; i < from + 5000; i++) {
        messages.push({
          key: `c${i % 6}`,
          value: JSON.stringify({
            "@timestamp": "2026-11-25T12:00:00.000Z",
            host: "h1",
            container: `c${i % 6}`,
            fileId: `1:${i % 6}:ab`,
            offset: i,
            line: `line ${i}`,
          }),
        });
      }
      await producer.send({ topic, acks: -1, messages });
    }
    await producer.disconnect();
    const config = indexConfigSchema.parse({
      brokers: kafka.brokers,
      topic,
      group,
      elasticsearch: es.url,
      indexPrefix: prefix,
      indexReplicas: 0,
      bulkMaxDocs: 1000,
    });
    const committed = async () => {
      const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] }).catch(() => []);
      return offsets.flatMap((o) => o.partitions).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    };
    const registries = [new Registry(), new Registry()] as const;
    const first = await startIndexer(config, { logger: silentLogger(), registry: registries[0] });
    t.after(() => first.stop());
    const deadline = Date.now() + 120_000;
    while ((await committed()) === 0) {
      if (Date.now() > deadline) throw new Error("the first member committed nothing");
      await sleep(50);
    }
    // Joins while the first member has chunks in flight: the group rebalances under it.
    const second = await startIndexer(config, { logger: silentLogger(), registry: registries[1] });
    t.after(() => second.stop());
    while ((await committed()) < N) {
      if (Date.now() > deadline) throw new Error(`committed ${await committed()} of ${N}`);
      await sleep(200);
    }
    assert.equal(await committed(), N, "offsets never pass the end or what was indexed");
    const r = await fetch(`${es.url}/${prefix}-*/_refresh`, { method: "POST" });
    assert.ok(r.ok);
    const count = (await (await fetch(`${es.url}/${prefix}-*/_count`)).json()) as { count: number };
    assert.equal(count.count, N, "one document per record");
    const indexed = await Promise.all(
      registries.map(async (r) => metric(await r.metrics(), "boxscope_index_documents_total") ?? 0),
    );
    t.diagnostic(`documents accepted by each member: ${indexed.join(", ")}`);
    assert.ok((indexed[0] ?? 0) + (indexed[1] ?? 0) >= N);
    await Promise.all([first.stop(), second.stop()]);
  });

  test("boxscope ship --metrics-listen serves boxscope_ship_* while shipping", {
    timeout: 120_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why)) return;
    const { kafka } = services.started();
    const dir = mkdtempSync(join(tmpdir(), "boxscope-test-pipeline-shipmetrics-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const logRoot = join(dir, "logs");
    const spool = join(dir, "spool");
    mkdirSync(join(logRoot, "c1"), { recursive: true });
    mkdirSync(spool);
    writeFileSync(join(logRoot, "c1/app.log"), "one\ntwo\nthree\n");
    symlinkSync(join(logRoot, "c1/app.log"), join(spool, "c1__app.log"));
    const port = await freePort();
    const shipper = new CliProcess(
      shipArgs(
        {
          spool,
          logRoot,
          brokers: kafka.brokers,
          topic: `shipmetrics-${randomBytes(4).toString("hex")}`,
          positions: join(dir, "positions.json"),
        },
        "--metrics-listen",
        `127.0.0.1:${port}`,
      ),
      { BOXSCOPE_LOG_LEVEL: "warn" },
    );
    t.after(() => shipper.kill9());
    const scrape = await scrapeUntil(
      `http://127.0.0.1:${port}/metrics`,
      (m) => metric(m, "boxscope_ship_lines_total") === 3,
      90_000,
    );
    assert.equal(metric(scrape, "boxscope_ship_bytes_total"), 14);
    assert.match(scrape, /^boxscope_ship_open_files \d+$/m);
    assert.equal(await shipper.term(), 0, shipper.stderr);
  });
});

test("--metrics-listen with a malformed address is one clear usage error", { timeout: 30_000 }, async () => {
  for (const cmd of ["index", "ship"]) {
    const p = new CliProcess([cmd, "--metrics-listen", "nonsense", "--brokers", "127.0.0.1:1"]);
    const code = await p.exited;
    assert.equal(code, 2, `${cmd}: ${p.stderr}`);
    assert.match(p.stderr, /expected HOST:PORT .*got "nonsense"/);
  }
});
