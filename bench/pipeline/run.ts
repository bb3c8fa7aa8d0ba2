/**
 * bench:pipeline — shipping files into Kafka by `boxscope ship` beside `kcat -P` (raw librdkafka
 * producer) and rsyslog imfile→omkafka (the peer shipper), on the same files and broker in one run;
 * indexing by `boxscope index` beside a raw concurrent `_bulk` load of the same documents; then the
 * same rotation/crash scenario through boxscope and rsyslog, counting what reaches Kafka.
 * Prints ratios; record them in docs/benchmarks.md (## Pipeline).
 * Size: BENCH_LINES (default 300000 lines of ~110 bytes over 4 files).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { indexConfigSchema } from "../../logwatcher/indexer/config.js";
import { documentId, prepareDocument } from "../../logwatcher/indexer/documents.js";
import { indexTemplate } from "../../logwatcher/indexer/template.js";
import { startElasticsearch } from "../../test/helpers/elasticsearch.js";
import { startKafka } from "../../test/helpers/kafka.js";
import {
  appendLines,
  boxscope,
  generate,
  kcatProduce,
  killAndWait,
  mbps,
  rate,
  rsyslog,
  sleep,
  topicRecords,
  waitTopic,
} from "./common.js";

const LINES = Number(process.env.BENCH_LINES ?? 300000);
const CONTAINERS = 4;

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "boxscope-bench-pipeline-"));
  console.log(`bench:pipeline: ${LINES} lines over ${CONTAINERS} files; starting Kafka and Elasticsearch`);
  const [kafka, es] = await Promise.all([startKafka(), startElasticsearch()]);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      void Promise.all([kafka.destroy(), es.stop()]).finally(() => process.exit(130));
    });
  }
  const brokers = kafka.brokers;
  const admin = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = ["b-kcat", "b-ship", "b-ship-kafkajs", "b-rsyslog", "s-ship", "s-rsyslog"];
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions: 3 })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  try {
    const logs = join(root, "logs");
    const { files, bytes } = generate(logs, CONTAINERS, LINES);
    console.log(`data: ${(bytes / 1048576).toFixed(1)} MiB`);

    // 1. kcat -P: the raw producer.
    let t0 = Date.now();
    const kc = kcatProduce(brokers, "b-kcat", files);
    await new Promise((r) => kc.once("exit", r));
    await waitTopic(brokers, "b-kcat", LINES, t0, 60000);
    const kcatMs = Date.now() - t0;

    // 2. boxscope ship from a spool of links to the same files, with each producer client
    // (rdkafka is the default; kafkajs shown beside it for the record of why).
    const spool = join(root, "spool");
    mkdirSync(spool);
    files.forEach((f, i) => {
      symlinkSync(f, join(spool, `c${i}__app.log`));
    });
    const shipWith = async (client: "rdkafka" | "kafkajs", topic: string): Promise<number> => {
      const started = Date.now();
      const proc = boxscope([
        "ship",
        "--spool",
        spool,
        "--log-root",
        logs,
        "--brokers",
        brokers,
        "--topic",
        topic,
        "--kafka-client",
        client,
        "--positions",
        join(root, `ship-pos-${client}.json`),
      ]);
      const ms = await waitTopic(brokers, topic, LINES, started, 300000);
      await killAndWait(proc, "SIGTERM");
      return ms;
    };
    const shipMs = await shipWith("rdkafka", "b-ship");
    const shipKafkajsMs = await shipWith("kafkajs", "b-ship-kafkajs");

    // 3. rsyslog imfile → omkafka on the same files.
    t0 = Date.now();
    const rs = rsyslog(join(root, "rsyslog"), brokers, "b-rsyslog", join(logs, "*", "app.log"));
    let rsyslogMs: number | undefined;
    try {
      rsyslogMs = await waitTopic(brokers, "b-rsyslog", LINES, t0, 300000);
    } finally {
      await killAndWait(rs, "SIGTERM");
    }

    console.log("\n## shipping files → Kafka (acks=all, same broker, same files)");
    const row = (name: string, ms: number) =>
      console.log(
        `${name.padEnd(22)} ${String(ms).padStart(7)} ms  ${String(rate(LINES, ms)).padStart(8)} lines/s  ${String(mbps(bytes, ms)).padStart(6)} MB/s`,
      );
    row("kcat -P", kcatMs);
    row("rsyslog imfile→omkafka", rsyslogMs);
    row("boxscope ship", shipMs);
    row("  (ship over kafkajs)", shipKafkajsMs);
    console.log(
      `ratio boxscope/kcat = ${(kcatMs / shipMs).toFixed(2)} (target ≥ 0.5); boxscope/rsyslog = ${(rsyslogMs / shipMs).toFixed(2)} (target ≥ 1)`,
    );

    // 4. Indexing: boxscope index from the shipped topic vs a raw concurrent _bulk of the same docs.
    const esCount = async (pattern: string) => {
      await fetch(`${es.url}/${pattern}/_refresh`, { method: "POST" });
      const r = await fetch(`${es.url}/${pattern}/_count`);
      return r.ok ? ((await r.json()) as { count: number }).count : 0;
    };
    t0 = Date.now();
    const idx = boxscope([
      "index",
      "--brokers",
      brokers,
      "--topic",
      "b-ship",
      "--group",
      "bench-index",
      "--elasticsearch",
      es.url,
      "--index-prefix",
      "bench-box",
      "--index-replicas",
      "0",
    ]);
    let firstDocAt = 0;
    for (;;) {
      const n = await esCount("bench-box-*");
      if (n > 0 && firstDocAt === 0) firstDocAt = Date.now();
      if (n >= LINES) break;
      await sleep(250);
    }
    const indexMs = Date.now() - t0;
    const steadyMs = Date.now() - firstDocAt;
    await killAndWait(idx, "SIGTERM");

    const values = spawnSync("kcat", ["-C", "-b", brokers, "-t", "b-ship", "-e", "-q", "-o", "beginning"], {
      encoding: "utf8",
      maxBuffer: 1 << 30,
    })
      .stdout.split("\n")
      .filter((l) => l !== "");
    const rawConfig = indexConfigSchema.parse({ indexPrefix: "bench-raw", indexReplicas: 0 });
    const tpl = indexTemplate(rawConfig);
    await fetch(`${es.url}/_index_template/${tpl.name}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(tpl.body),
    });
    const bodies: string[] = [];
    for (let i = 0; i < values.length; i += 5000) {
      let body = "";
      for (const v of values.slice(i, i + 5000)) {
        const p = prepareDocument(Buffer.from(v), "bench-raw");
        if (!p.ok) continue;
        body += `${JSON.stringify({ index: { _index: p.index, _id: documentId(String(p.source.host), String(p.source.fileId), String(p.source.offset)) } })}\n${v}\n`;
      }
      bodies.push(body);
    }
    t0 = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < bodies.length) {
        const body = bodies[next++] as string;
        const r = await fetch(`${es.url}/_bulk`, {
          method: "POST",
          headers: { "content-type": "application/x-ndjson" },
          body,
        });
        const j = (await r.json()) as { errors: boolean };
        if (j.errors) throw new Error("raw _bulk reported item errors");
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    while ((await esCount("bench-raw-*")) < values.length) await sleep(200);
    const rawMs = Date.now() - t0;
    console.log("\n## indexing Kafka → Elasticsearch (single node, 512 MiB heap)");
    console.log(`raw _bulk (3 concurrent, 5000 docs) ${rawMs} ms  ${rate(values.length, rawMs)} docs/s`);
    console.log(
      `boxscope index                      ${indexMs} ms  ${rate(LINES, indexMs)} docs/s (incl. start, group join)`,
    );
    console.log(
      `boxscope index after its first doc  ${steadyMs} ms  ~${rate(LINES, steadyMs)} docs/s (start-up and group join excluded)`,
    );
    console.log(
      `ratio boxscope/raw = ${(rawMs / indexMs).toFixed(2)} with start-up, ${(rawMs / steadyMs).toFixed(2)} without (target ≥ 0.8)`,
    );

    // 5. The rotation/crash scenario through both shippers.
    console.log("\n## rotation + copytruncate + kill -9 scenario (15000 lines written in 30 rounds)");
    for (const who of ["boxscope", "rsyslog"] as const) {
      const dir = join(root, `scenario-${who}`);
      const file = join(dir, "logs", "c1", "app.log");
      mkdirSync(join(dir, "logs", "c1"), { recursive: true });
      mkdirSync(join(dir, "spool"));
      symlinkSync(file, join(dir, "spool", "c1__app.log"));
      const topic = `s-${who === "boxscope" ? "ship" : "rsyslog"}`;
      const start = () =>
        who === "boxscope"
          ? boxscope([
              "ship",
              "--spool",
              join(dir, "spool"),
              "--log-root",
              join(dir, "logs"),
              "--brokers",
              brokers,
              "--topic",
              topic,
              "--positions",
              join(dir, "pos.json"),
              "--poll-interval-ms",
              "100",
            ])
          : rsyslog(join(dir, "rs"), brokers, topic, join(dir, "logs", "*", "app.log"));
      appendLines(file, 0, 500, "c1");
      let proc = start();
      let seq = 500;
      for (let round = 1; round < 30; round++) {
        if (round === 10) renameSync(file, `${file}.1`);
        if (round === 15) await killAndWait(proc, "SIGKILL");
        if (round === 18) proc = start();
        if (round === 22) {
          copyFileSync(file, `${file}.2`);
          truncateSync(file, 0);
        }
        appendLines(file, seq, 500, "c1");
        seq += 500;
        await sleep(100);
      }
      await sleep(12000);
      await killAndWait(proc, "SIGTERM");
      const got = spawnSync("kcat", ["-C", "-b", brokers, "-t", topic, "-e", "-q", "-o", "beginning"], {
        encoding: "utf8",
        maxBuffer: 1 << 28,
      })
        .stdout.split("\n")
        .filter((l) => l !== "")
        .map((v) => (who === "boxscope" ? String((JSON.parse(v) as { line: string }).line) : v));
      const seqs = got.map((l) => Number(/seq=(\d+)/.exec(l)?.[1] ?? -1));
      const unique = new Set(seqs.filter((s) => s >= 0));
      console.log(
        `${who.padEnd(9)} records in Kafka ${got.length}, distinct lines ${unique.size}, duplicates ${got.length - unique.size}, missing ${seq - unique.size} of ${seq}`,
      );
    }
    console.log(
      `(topic totals: ${await topicRecords(brokers, "s-ship")} / ${await topicRecords(brokers, "s-rsyslog")})`,
    );
  } finally {
    await Promise.all([kafka.destroy(), es.stop()]);
    rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
