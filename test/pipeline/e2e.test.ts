import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/logger.js";
import { indexConfigSchema } from "../../pipeline/indexer/config.js";
import { startIndexer } from "../../pipeline/indexer/indexer.js";
import { elasticsearchPrereq } from "../helpers/elasticsearch.js";
import { freePort, kafkaPrereq } from "../helpers/kafka.js";
import { requirePrereq } from "../helpers/prereq.js";
import {
  CliProcess,
  esAllDocuments,
  esCount,
  fileState,
  indexArgs,
  metric,
  pipelineServices,
  scrapeUntil,
  shipArgs,
  sleep,
  waitAcked,
} from "./harness.js";

const kafkaOk = kafkaPrereq();
const esOk = elasticsearchPrereq();
const kcatOk = spawnSync("kcat", ["-V"]).status === 0;

describe("log pipeline end to end (real Kafka + Elasticsearch)", { timeout: 900_000 }, () => {
  const services = pipelineServices(kafkaOk.present && esOk.present);

  test("200 000 lines through rotations, crashes, a 30 s Kafka outage with a copytruncate and a container removed, and an Elasticsearch outage: every line once, or exactly the counted loss", {
    timeout: 600_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !requirePrereq(t, esOk.present, esOk.why)) return;
    const { kafka, es } = services.started();
    const root = mkdtempSync(join(tmpdir(), "boxscope-test-pipeline-"));
    const logRoot = join(root, "logs");
    const spool = join(root, "spool");
    const positions = join(root, "state/positions.json");
    mkdirSync(spool, { recursive: true });
    const run = randomBytes(4).toString("hex");
    const topic = `e2e-${run}`;
    const prefix = `e2e-${run}`;
    const expected: string[] = [];
    let seq = 0;

    const path = (rel: string) => join(logRoot, rel);
    const link = (rel: string) => {
      mkdirSync(dirname(path(rel)), { recursive: true });
      symlinkSync(path(rel), join(spool, rel.replaceAll("/", "__")));
    };
    /** Appends `n` lines; each is one expected document "container<TAB>text". */
    const write = (rel: string, n: number): number => {
      const container = rel.split("/")[0] as string;
      let text = "";
      for (let i = 0; i < n; i++) {
        const line = `${container} seq=${seq++} level=info msg="request served" bytes=${(seq * 7919) % 100000}`;
        expected.push(`${container}\t${line}`);
        text += `${line}\n`;
      }
      appendFileSync(path(rel), text);
      return Buffer.byteLength(text);
    };
    const writeSlowly = async (rels: string[], n: number) => {
      for (let i = 0; i < n; i += 50) {
        for (const rel of rels) write(rel, Math.min(50, n - i));
        await sleep(20);
      }
    };

    const metricsPort = await freePort();
    const shipArgv = shipArgs(
      { spool, logRoot, brokers: kafka.brokers, topic, positions },
      "--multiline-first-line",
      "^\\S",
      "--partial-flush-ms",
      "2000",
      "--poll-interval-ms",
      "100",
      "--metrics-listen",
      `127.0.0.1:${metricsPort}`,
    );
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const shipEnv = { BOXSCOPE_SHIP_ORPHAN_CLOSE_MS: "2000", BOXSCOPE_LOG_LEVEL: "info" };
    const indexerArgs = indexArgs({
      brokers: kafka.brokers,
      topic,
      group: `g-${run}`,
      elasticsearch: es.url,
      indexPrefix: prefix,
    });
    const procs: CliProcess[] = [];
    const start = (args: string[], env: Record<string, string> = {}) => {
      const p = new CliProcess(args, env);
      procs.push(p);
      return p;
    };
    t.after(async () => {
      if (process.env.BOXSCOPE_TEST_DEBUG) {
        for (const [i, p] of procs.entries())
          writeFileSync(join(tmpdir(), `boxscope-e2e-${run}-${i}.log`), p.stderr);
      }
      for (const p of procs) await p.kill9();
      rmSync(root, { recursive: true, force: true });
    });

    // Files exist before the shipper starts: c3's is deep below its container directory. c4 carries
    // the bulk of the lines; c5 is copytruncated during the Kafka outage and then removed.
    for (const rel of ["c1/app.log", "c2/app.log", "c3/sub/deep/app.log", "c4/bulk.log", "c5/app.log"]) {
      link(rel);
      write(rel, 200);
    }
    let indexer = start(indexerArgs);
    let shipper = start(shipArgv, shipEnv);
    await writeSlowly(["c1/app.log", "c2/app.log", "c3/sub/deep/app.log"], 300);
    write("c4/bulk.log", 50_000);

    // A partial line completed a moment later, and a Java stack trace (one record).
    appendFileSync(path("c1/app.log"), "c1 partial-begin");
    await sleep(300);
    appendFileSync(path("c1/app.log"), "-end\n");
    expected.push("c1\tc1 partial-begin-end");
    const trace = [
      `c2 seq=${seq++} level=error msg="request failed" java.lang.IllegalStateException: boom`,
      "\tat com.example.Service.handle(Service.java:42)",
      "\tat com.example.Server.run(Server.java:7)",
      "Caused by: java.io.IOException: broken pipe".replace(/^/, "  "),
      "\t... 3 more",
    ];
    appendFileSync(path("c2/app.log"), `${trace.join("\n")}\n`);
    expected.push(`c2\t${trace.join("\n")}`);

    // A huge line (cut at maxLineBytes, flagged) and a line of binary garbage (invalid UTF-8).
    appendFileSync(path("c3/sub/deep/app.log"), `${"x".repeat(300_000)}\n`);
    expected.push(`c3\t${"x".repeat(256 * 1024)}`);
    const garbage = Buffer.from([
      0xff, 0xfe, 0x63, 0x33, 0x00, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0xc3, 0x28, 0x80, 0x7f,
    ]);
    appendFileSync(path("c3/sub/deep/app.log"), Buffer.concat([garbage, Buffer.from("\n")]));
    expected.push(`c3\t${garbage.toString("utf8")}`);

    // First crash, mid-stream (once the shipper has made some progress, so it knows the files).
    await waitAcked(positions, { ...fileState(path("c1/app.log")), size: 1 }, 60_000);
    await writeSlowly(["c1/app.log", "c2/app.log"], 100);
    await shipper.kill9();
    write("c3/sub/deep/app.log", 100);
    shipper = start(shipArgv, shipEnv);

    // Rename rotation: the app keeps writing to the renamed file for a moment, then a new file
    // takes the old name (the spool link resolves by path, so it now names the new inode).
    renameSync(path("c1/app.log"), path("c1/app.log.1"));
    const rotatedContainer = "c1";
    for (let i = 0; i < 40; i++) {
      const line = `c1 seq=${seq++} level=info msg="late write to the rotated file"`;
      expected.push(`${rotatedContainer}\t${line}`);
      appendFileSync(path("c1/app.log.1"), `${line}\n`);
    }
    write("c1/app.log", 150);
    await waitAcked(positions, fileState(path("c1/app.log.1")), 60_000);

    // copytruncate: logrotate copies (the copy is not in the spool) and truncates in place.
    await waitAcked(positions, fileState(path("c2/app.log")), 60_000);
    copyFileSync(path("c2/app.log"), path("c2/app.log.1"));
    truncateSync(path("c2/app.log"), 0);
    write("c2/app.log", 120);

    // Deleted while open: the shipper holds it open, the file and its link vanish, its tail is read.
    link("c3/tmp.log");
    write("c3/tmp.log", 20);
    await waitAcked(positions, fileState(path("c3/tmp.log")), 60_000);
    write("c3/tmp.log", 30);
    const deleted = fileState(path("c3/tmp.log"));
    unlinkSync(path("c3/tmp.log"));
    unlinkSync(join(spool, "c3__tmp.log"));
    await waitAcked(positions, deleted, 60_000);
    for (const rel of ["c1/app.log", "c2/app.log", "c3/sub/deep/app.log", "c4/bulk.log", "c5/app.log"])
      await waitAcked(positions, fileState(path(rel)), 60_000);

    // Kafka down for 30 s; lines keep coming; the shipper is killed (second time) during the outage.
    const outageStart = Date.now();
    await kafka.stop();
    await writeSlowly(["c1/app.log", "c2/app.log", "c3/sub/deep/app.log"], 200);
    await sleep(5000);
    await shipper.kill9();
    shipper = start(shipArgv, shipEnv);
    await shipper.waitForStderr(/cannot reach Kafka brokers/, 30_000);
    write("c2/app.log", 50);
    // Far more than the in-flight batches hold: reading pauses with most of it unread. Then c5 is
    // copytruncated (its copy beside it) and, once the shipper has the copy, its container goes.
    const pausedBefore = (shipper.stderr.match(/reading paused: Kafka has not acknowledged/g) ?? []).length;
    const unread = write("c4/bulk.log", 100_000) + write("c5/app.log", 3000);
    // Paused with those bytes seen (lag) and their lines counted, before the copytruncate.
    await shipper.waitForStderr(/reading paused: Kafka has not acknowledged/, 30_000, pausedBefore + 1);
    await scrapeUntil(
      metricsUrl,
      (m) =>
        (metric(m, "boxscope_ship_lag_bytes") ?? 0) >= unread &&
        metric(m, "boxscope_ship_unread_uncounted_bytes") === 0,
      30_000,
    );
    copyFileSync(path("c5/app.log"), path("c5/app.log.1"));
    truncateSync(path("c5/app.log"), 0);
    await shipper.waitForStderr(/reading what it held past the last read from its rotated copy/, 30_000);
    unlinkSync(join(spool, "c5__app.log"));
    rmSync(path("c5"), { recursive: true });
    await sleep(Math.max(0, 30_000 - (Date.now() - outageStart)));
    await kafka.start();
    write("c1/app.log", 100);

    // The indexer is killed once, after the outage, with work in flight.
    await sleep(4000);
    await indexer.kill9();
    write("c3/sub/deep/app.log", 100);
    indexer = start(indexerArgs);

    // Elasticsearch goes away for a while: the indexer retries with backoff, commits nothing, and
    // catches up when it is back.
    await indexer.waitForStderr(/consuming/, 60_000);
    await es.pause();
    write("c2/app.log", 100);
    await indexer.waitForStderr(/Elasticsearch did not accept the batch; retrying/, 60_000);
    await es.start();

    write("c4/bulk.log", Math.max(0, 200_000 - expected.length - 1));
    // A last line that never gets its newline: shipped after the partial-line timeout.
    appendFileSync(path("c3/sub/deep/app.log"), "c3 final-partial");
    expected.push("c3\tc3 final-partial");

    // Lines no rotated copy could save are counted by the shipper that lost them (each process's
    // warning; a SIGKILLed shipper's metrics die with it).
    const lostLines = () =>
      procs.reduce(
        (n, p) => n + [...p.stderr.matchAll(/"lostLines":(\d+)/g)].reduce((m, x) => m + Number(x[1]), 0),
        0,
      );
    const deadline = Date.now() + 300_000;
    while (Date.now() < deadline) {
      if ((await esCount(es.url, `${prefix}-*`)) >= expected.length - lostLines()) break;
      await sleep(2000);
    }
    // Nothing late: re-sent records land on the same documents.
    await sleep(6000);
    const diag = () => `shipper:\n${shipper.stderr.slice(-2500)}\nindexer:\n${indexer.stderr.slice(-2500)}`;
    const docs = await esAllDocuments(es.url, `${prefix}-*`);
    const got = docs.map((d) => `${d.container}\t${d.line}`);
    const gotSet = new Set(got);
    const expectedSet = new Set(expected);
    const missing = expected.filter((e) => !gotSet.has(e));
    const extra = [...gotSet].filter((g) => !expectedSet.has(g));
    t.diagnostic(
      `written ${expected.length}, documents ${got.length}, missing ${missing.length}, counted lost ${lostLines()}`,
    );
    assert.equal(expectedSet.size, expected.length, "every written line is distinct");
    assert.ok(expected.length >= 200_000);
    assert.deepEqual(
      { duplicates: got.length - gotSet.size, unexpected: extra.length, missing: missing.length },
      { duplicates: 0, unexpected: 0, missing: lostLines() },
      `missing ${JSON.stringify(missing.slice(0, 5))}; unexpected ${JSON.stringify(extra.slice(0, 5))}\n${diag()}`,
    );
    const stack = docs.find((d) => String(d.line).includes("IllegalStateException"));
    assert.equal(stack?.lines, trace.length);
    const huge = docs.filter((d) => d.truncated === true);
    assert.equal(huge.length, 1);
    assert.equal(String(huge[0]?.line).length, 256 * 1024);

    assert.equal(await shipper.term(), 0, diag());
    assert.equal(await indexer.term(), 0, diag());
  });

  test("records that can never be indexed go to the dead-letter topic; the rest are indexed", {
    timeout: 120_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !requirePrereq(t, esOk.present, esOk.why)) return;
    if (!requirePrereq(t, kcatOk, "kcat (Debian kcat) reads the dead-letter topic")) return;
    const { kafka, es } = services.started();
    const run = randomBytes(4).toString("hex");
    const topic = `dlq-src-${run}`;
    const prefix = `dlq-${run}`;
    const client = new Kafka({ brokers: [kafka.brokers], logLevel: logLevel.NOTHING });
    const producer = client.producer();
    await producer.connect();
    const good = (i: number) =>
      JSON.stringify({
        "@timestamp": new Date().toISOString(),
        host: "h1",
        container: "c1",
        file: "/x.log",
        fileId: "1:2:ab",
        offset: i * 10,
        line: `good ${i}`,
      });
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: "c1", value: good(0) },
        { key: "c1", value: "{not json" },
        {
          key: "c1",
          value: JSON.stringify({
            "@timestamp": new Date().toISOString(),
            host: "h1",
            container: "c1",
            fileId: "1:2:ab",
            offset: "not-a-number",
            line: "bad offset",
          }),
        },
        { key: "c1", value: good(1) },
      ],
    });
    await producer.disconnect();

    const config = indexConfigSchema.parse({
      brokers: kafka.brokers,
      topic,
      group: `g-${run}`,
      elasticsearch: es.url,
      indexPrefix: prefix,
      indexReplicas: 0,
    });
    const registry = new Registry();
    const service = await startIndexer(config, { logger: silentLogger(), registry });
    t.after(() => service.stop());
    const deadline = Date.now() + 60_000;
    let dead: string[] = [];
    while (Date.now() < deadline) {
      const r = spawnSync("kcat", ["-b", kafka.brokers, "-t", `${topic}-dead-letter`, "-C", "-e", "-q"], {
        encoding: "utf8",
      });
      dead = r.stdout.split("\n").filter((l) => l !== "");
      if (dead.length >= 2 && (await esCount(es.url, `${prefix}-*`)) >= 2) break;
      await sleep(1000);
    }
    assert.equal(dead.length, 2, `dead letters: ${dead.join("\n")}`);
    const reasons = dead.map((l) => (JSON.parse(l) as { reason: string }).reason);
    assert.match(reasons.join("\n"), /invalid JSON/);
    assert.match(reasons.join("\n"), /400 document_parsing_exception|400 mapper_parsing_exception/);
    assert.equal(await esCount(es.url, `${prefix}-*`), 2);
    const metrics = await registry.metrics();
    assert.match(metrics, /boxscope_index_dead_letters_total\{reason="invalid_json"\} 1/);
    assert.match(metrics, /boxscope_index_documents_total 2/);
  });
});
