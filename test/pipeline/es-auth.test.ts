import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import { createRdkafkaClient } from "../../pipeline/kafka/rdkafka.js";
import {
  type ElasticsearchNode,
  type ElasticsearchUser,
  elasticsearchPrereq,
  esCount,
  startElasticsearch,
} from "../helpers/elasticsearch.js";
import { freePort, type KafkaBroker, kafkaPrereq, startKafka } from "../helpers/kafka.js";
import { requirePrereq } from "../helpers/prereq.js";
import { CliProcess, indexArgs, metric, scrapeUntil } from "./harness.js";

const kafkaOk = kafkaPrereq();
const esOk = elasticsearchPrereq();

const ADMIN: ElasticsearchUser = { name: "boxscope-admin", password: "admin-secret-1", role: "superuser" };
const READER: ElasticsearchUser = {
  name: "boxscope-reader",
  password: "reader-secret-1",
  role: "boxscope_read_only",
};
const basic = (u: { name: string; password: string }) =>
  `Basic ${Buffer.from(`${u.name}:${u.password}`).toString("base64")}`;

const authFailures = (text: string, status: string) =>
  metric(text, `boxscope_index_elasticsearch_auth_failures_total\\{status="${status}"\\}`);

/** Documents in `pattern` as the admin sees them (0 when no index exists yet). */
const countAsAdmin = (url: string, pattern: string) => esCount(url, pattern, { authorization: basic(ADMIN) });

describe("boxscope index against Elasticsearch with security on (real Kafka + Elasticsearch)", {
  timeout: 420_000,
}, () => {
  let kafka: KafkaBroker | undefined;
  let es: ElasticsearchNode | undefined;
  before(async () => {
    if (!kafkaOk.present || !esOk.present) return;
    [kafka, es] = await Promise.all([
      startKafka(),
      startElasticsearch(undefined, { users: [ADMIN, READER] }),
    ]);
  });
  after(async () => {
    await Promise.all([kafka?.destroy(), es?.stop()]);
  });

  test("401 and 403 are one line each naming the cause, counted and retried; with credentials every record is indexed", {
    timeout: 300_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !requirePrereq(t, esOk.present, esOk.why)) return;
    if (!kafka || !es) throw new Error("services did not start");
    const run = randomBytes(4).toString("hex");
    const topic = `auth-${run}`;
    const prefix = `auth-${run}`;
    const client = createRdkafkaClient({
      brokers: [kafka.brokers],
      clientId: "test-auth",
      logger: silentLogger(),
    });
    const producer = client.producer();
    await producer.connect();
    t.after(() => producer.disconnect());
    await client.admin().ensureTopic(topic, 3);
    const LINES = 1000;
    await producer.send(
      topic,
      Array.from({ length: LINES }, (_, i) => ({
        key: "c1",
        value: JSON.stringify({
          "@timestamp": new Date().toISOString(),
          host: "h1",
          container: "c1",
          file: "/app/log/c1/app.log",
          fileId: "1:2:ab",
          offset: i * 10,
          line: `line ${i}`,
        }),
      })),
    );
    const at = new URL(es.url);
    const args = (url: string, metricsPort: number) =>
      indexArgs(
        { brokers: kafka?.brokers ?? "", topic, group: `g-${run}`, elasticsearch: url, indexPrefix: prefix },
        "--metrics-listen",
        `127.0.0.1:${metricsPort}`,
      );

    // No credentials: 401, at start, before anything is consumed.
    const p401 = await freePort();
    const anonymous = new CliProcess(args(es.url, p401));
    t.after(() => anonymous.kill9());
    await anonymous.waitForStderr(
      /refused the indexer \(401: wrong or missing credentials.*; retrying/,
      60_000,
      2,
    );
    await scrapeUntil(`http://127.0.0.1:${p401}/metrics`, (m) => (authFailures(m, "401") ?? 0) >= 2, 30_000);
    assert.equal(await anonymous.term(), 0, anonymous.stderr);

    // A user without the privileges, its password in the URL: 403, and the password never logged.
    const p403 = await freePort();
    const reader = new CliProcess(args(`http://${READER.name}:${READER.password}@${at.host}`, p403));
    t.after(() => reader.kill9());
    await reader.waitForStderr(
      /refused the indexer \(403: the user or API key lacks a privilege.*; retrying/,
      60_000,
      2,
    );
    await scrapeUntil(`http://127.0.0.1:${p403}/metrics`, (m) => (authFailures(m, "403") ?? 0) >= 2, 30_000);
    assert.equal(await reader.term(), 0, reader.stderr);
    assert.ok(!reader.stderr.includes(READER.password), "the password from the URL was logged");
    assert.equal(await countAsAdmin(es.url, `${prefix}-*`), 0);

    // Credentials by environment: every record the refused runs left uncommitted is indexed.
    const pOk = await freePort();
    const admin = new CliProcess(args(es.url, pOk), {
      BOXSCOPE_INDEX_ELASTICSEARCH_USERNAME: ADMIN.name,
      BOXSCOPE_INDEX_ELASTICSEARCH_PASSWORD: ADMIN.password,
    });
    t.after(() => admin.kill9());
    const deadline = Date.now() + 120_000;
    while ((await countAsAdmin(es.url, `${prefix}-*`)) < LINES) {
      assert.ok(Date.now() < deadline, `not every record indexed:\n${admin.stderr}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(await countAsAdmin(es.url, `${prefix}-*`), LINES);
    assert.equal(await admin.term(), 0, admin.stderr);
    assert.ok(!admin.stderr.includes(ADMIN.password), "the password was logged");
  });
});
