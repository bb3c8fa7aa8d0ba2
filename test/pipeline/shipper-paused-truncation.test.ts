import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { elasticsearchPrereq } from "../helpers/elasticsearch.js";
import { freePort, kafkaPrereq } from "../helpers/kafka.js";
import { requirePrereq } from "../helpers/prereq.js";
import {
  CliProcess,
  esCount,
  esDocuments,
  fileState,
  indexArgs,
  metric,
  pipelineServices,
  scrapeUntil,
  shipArgs,
  sleep,
  waitAcked,
} from "./harness.js";

/**
 * A file copytruncated while Kafka was down (reading paused by the in-flight bound) and then
 * deleted with its container used to lose its unread lines, logged as "0 bytes known unread are
 * lost": the paused shipper looked at no file, so it saw the truncation only after the copy was gone.
 * Now: the copy beside the file is found and held open during the outage and shipped afterwards
 * (c1); a copy the shipper cannot find (moved to another directory, c2) loses exactly the lines the
 * shipper counts in boxscope_ship_truncation_unread_lines_total.
 */

const kafkaOk = kafkaPrereq();
const esOk = elasticsearchPrereq();

describe("ship: copytruncate while Kafka is down, then the copy deleted (real Kafka + Elasticsearch)", {
  timeout: 400_000,
}, () => {
  const services = pipelineServices(kafkaOk.present && esOk.present);

  test("Elasticsearch has every line, except exactly the lines the loss counter counts", {
    timeout: 300_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !requirePrereq(t, esOk.present, esOk.why)) return;
    const { kafka, es } = services.started();
    const root = mkdtempSync(join(tmpdir(), "boxscope-test-pipeline-paused-"));
    const logRoot = join(root, "logs");
    const spool = join(root, "spool");
    const positions = join(root, "positions.json");
    mkdirSync(spool);
    const run = randomBytes(4).toString("hex");
    const topic = `paused-${run}`;
    const prefix = `paused-${run}`;
    /** "container<TAB>line" of every line written. */
    const written = new Set<string>();
    let seq = 0;
    const path = (rel: string) => join(logRoot, rel);
    const write = (rel: string, n: number): number => {
      const container = rel.split("/")[0] as string;
      let text = "";
      for (let i = 0; i < n; i++) {
        const line = `${container} seq=${seq++} msg="written while kafka may be down"`;
        written.add(`${container}\t${line}`);
        text += `${line}\n`;
      }
      appendFileSync(path(rel), text);
      return Buffer.byteLength(text);
    };
    for (const c of ["c1", "c2"]) {
      mkdirSync(path(c), { recursive: true });
      symlinkSync(path(`${c}/app.log`), join(spool, `${c}__app.log`));
      write(`${c}/app.log`, 200);
    }

    const port = await freePort();
    const metricsUrl = `http://127.0.0.1:${port}/metrics`;
    // One batch of 100 records in flight and small reads: with Kafka down, reading pauses a few
    // hundred lines into what is written, and the rest stays unread in the files.
    const shipper = new CliProcess(
      shipArgs(
        { spool, logRoot, brokers: kafka.brokers, topic, positions },
        "--poll-interval-ms",
        "100",
        "--partial-flush-ms",
        "1000",
        "--metrics-listen",
        `127.0.0.1:${port}`,
      ),
      {
        BOXSCOPE_LOG_LEVEL: "info",
        BOXSCOPE_SHIP_ORPHAN_CLOSE_MS: "1000",
        BOXSCOPE_SHIP_MAX_IN_FLIGHT_BATCHES: "1",
        BOXSCOPE_SHIP_BATCH_MAX_RECORDS: "100",
        BOXSCOPE_SHIP_READ_CHUNK_BYTES: "8192",
      },
    );
    const indexer = new CliProcess(
      indexArgs({
        brokers: kafka.brokers,
        topic,
        group: `g-${run}`,
        elasticsearch: es.url,
        indexPrefix: prefix,
      }),
    );
    t.after(async () => {
      await shipper.kill9();
      await indexer.kill9();
      rmSync(root, { recursive: true, force: true });
    });
    const diag = () => `shipper:\n${shipper.stderr.slice(-4000)}\nindexer:\n${indexer.stderr.slice(-1500)}`;
    for (const c of ["c1", "c2"]) await waitAcked(positions, fileState(path(`${c}/app.log`)), 90_000);

    await kafka.stop();
    let appended = 0;
    for (const c of ["c1", "c2"]) appended += write(`${c}/app.log`, 3000);
    // Paused with those bytes seen (lag) and their lines counted (nothing uncounted).
    await scrapeUntil(
      metricsUrl,
      (m) =>
        (metric(m, "boxscope_ship_lag_bytes") ?? 0) >= appended &&
        metric(m, "boxscope_ship_unread_uncounted_bytes") === 0,
      60_000,
    );
    // c1: logrotate copytruncate, the copy beside the file. c2: the copy goes to another directory
    // (olddir), where the shipper does not look.
    copyFileSync(path("c1/app.log"), path("c1/app.log.1"));
    truncateSync(path("c1/app.log"), 0);
    mkdirSync(path("old"));
    copyFileSync(path("c2/app.log"), path("old/c2-app.log.1"));
    truncateSync(path("c2/app.log"), 0);
    await shipper.waitForStderr(/reading what it held past the last read from its rotated copy/, 60_000);
    await shipper.waitForStderr(/no rotated copy found/, 60_000);
    // Both containers go away with their copies, still during the outage.
    for (const c of ["c1", "c2"]) unlinkSync(join(spool, `${c}__app.log`));
    rmSync(path("c1"), { recursive: true });
    rmSync(path("c2"), { recursive: true });
    rmSync(path("old"), { recursive: true });
    await sleep(1500); // the orphaned files are read to their end and closed (orphanCloseMs)
    await kafka.start();

    const lost = await scrapeUntil(metricsUrl, (m) => metric(m, "boxscope_ship_lag_bytes") === 0, 120_000);
    const lostLines = metric(lost, "boxscope_ship_truncation_unread_lines_total") ?? -1;
    const lostBytes = metric(lost, "boxscope_ship_truncation_unread_bytes_total") ?? -1;
    const deadline = Date.now() + 120_000;
    while ((await esCount(es.url, `${prefix}-*`)) < written.size - lostLines && Date.now() < deadline)
      await sleep(1000);
    await sleep(3000); // nothing late
    const docs = await esDocuments(es.url, `${prefix}-*`);
    const got = docs.map((d) => `${d.container}\t${d.line}`);
    const gotSet = new Set(got);
    const missing = [...written].filter((w) => !gotSet.has(w));
    t.diagnostic(
      `written ${written.size}, indexed ${gotSet.size}, missing ${missing.length}, counted lost ${lostLines} lines / ${lostBytes} bytes`,
    );
    const unexpected = [...gotSet].filter((g) => !written.has(g));
    assert.deepEqual(
      { duplicates: got.length - gotSet.size, unexpected: unexpected.length },
      { duplicates: 0, unexpected: 0 },
      diag(),
    );
    // Every line or exactly the counted loss: here the lines c2 had not read when it was truncated.
    assert.equal(missing.length, lostLines, `missing ${JSON.stringify(missing.slice(0, 3))}\n${diag()}`);
    assert.ok(lostLines > 0, "c2's copy is out of reach: some of its lines were unread and are lost");
    assert.equal(missing.filter((m) => !m.startsWith("c2\t")).length, 0, "c1's held copy was shipped");
    assert.equal(
      lostBytes,
      missing.reduce((n, m) => n + Buffer.byteLength(m) - 3 + 1, 0),
    );
    assert.equal(metric(lost, "boxscope_ship_truncation_uncounted_bytes_total"), 0);
    assert.match(shipper.stderr, new RegExp(`"lostLines":${lostLines},`));
    assert.equal(await shipper.term(), 0, diag());
    assert.equal(await indexer.term(), 0, diag());
  });
});
