import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ElasticsearchNode, elasticsearchPrereq, startElasticsearch } from "../helpers/elasticsearch.js";
import { kafkaPrereq } from "../helpers/kafka.js";
import { type KafkaCluster, startKafkaCluster } from "../helpers/kafka-cluster.js";
import { repoRoot } from "../helpers/paths.js";
import { requirePrereq } from "../helpers/prereq.js";
import {
  CliProcess,
  esAllDocuments,
  esCount,
  fileState,
  indexArgs,
  shipArgs,
  sleep,
  waitAcked,
} from "./harness.js";

/**
 * The log path against a replicated Kafka cluster: three KRaft brokers on loopback,
 * the topic at replication factor 3 with min.insync.replicas=2, a partition leader crashing
 * (SIGKILL) mid-run and coming back 30 s later, the shipper crashing once. Elasticsearch must end
 * with exactly one document per line written, counted exactly (total and distinct), on 8.x and 9.x.
 */

const kafkaOk = kafkaPrereq();
const esOk = elasticsearchPrereq();
const kcatOk = spawnSync("kcat", ["-V"]).status === 0;
/** Elasticsearch 9 needs Java 21+: the script names the JDK it would run on, or fails. */
const es9Java = spawnSync("bash", [join(repoRoot, "scripts/elasticsearch.sh"), "java-home"], {
  env: { ...process.env, BOXSCOPE_ES_VERSION: "9" },
  encoding: "utf8",
});
const present = kafkaOk.present && esOk.present && kcatOk;

const LINES = 200_000;
/** Nested files under the log root; the first path component is the container. */
const FILES = [
  "c1/app.log",
  "c2/sub/app.log",
  "c3/a/b/c/app.log",
  "c4/deep/er/worker.log",
  "c5/app.log",
  "c6/svc/api/access.log",
];
const BROKER_DOWNTIME_MS = 30_000;

describe("log pipeline on a 3-broker Kafka cluster (RF 3, min.insync.replicas=2)", {
  timeout: 1_200_000,
}, () => {
  let kafka: KafkaCluster | undefined;
  /** Each major's node, booted once: 8 beside the Kafka cluster, 9 when its case starts. */
  const es: Partial<Record<"8" | "9", Promise<ElasticsearchNode>>> = {};
  const boot = (major: "8" | "9") => {
    es[major] ??= startElasticsearch(major);
    return es[major];
  };
  before(async () => {
    if (!present) return;
    await Promise.all([
      startKafkaCluster().then((k) => {
        kafka = k;
      }),
      boot("8"),
    ]);
  });
  after(async () => {
    await Promise.all([
      kafka?.destroy(),
      ...Object.values(es).map((p) => p.then((n) => n.stop()).catch(() => undefined)),
    ]);
  });

  for (const major of ["8", "9"] as const) {
    test(`Elasticsearch ${major}.x: ${LINES} lines, the partition leader SIGKILLed and back 30 s later, ship SIGKILLed once: one document per line`, {
      timeout: 600_000,
    }, async (t) => {
      if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !requirePrereq(t, esOk.present, esOk.why))
        return;
      if (!requirePrereq(t, kcatOk, "kcat (Debian kcat) reads the cluster's metadata")) return;
      if (
        major === "9" &&
        !requirePrereq(t, es9Java.status === 0, `Elasticsearch 9: ${es9Java.stderr.trim()}`)
      )
        return;
      if (!kafka) throw new Error("the Kafka cluster did not start");
      const node = await boot(major);
      // Its data and JVM are not needed by the next case.
      t.after(() => node.stop());
      await runCase(t, kafka, node);
    });
  }
});

async function runCase(t: import("node:test").TestContext, kafka: KafkaCluster, es: ElasticsearchNode) {
  const root = mkdtempSync(join(tmpdir(), "boxscope-test-cluster-"));
  const logRoot = join(root, "logs");
  const spool = join(root, "spool");
  const positions = join(root, "state/positions.json");
  mkdirSync(spool, { recursive: true });
  const run = randomBytes(4).toString("hex");
  const topic = `cluster-${run}`;
  const prefix = `cluster-${run}`;
  const group = `g-${run}`;
  let written = 0;

  const path = (rel: string) => join(logRoot, rel);
  for (const rel of FILES) {
    mkdirSync(dirname(path(rel)), { recursive: true });
    writeFileSync(path(rel), "");
    symlinkSync(path(rel), join(spool, rel.replaceAll("/", "__")));
  }
  /** Appends `n` lines round-robin over the files; each carries its own token u=<run>-<seq>. */
  const write = (n: number) => {
    const chunks = FILES.map(() => [] as string[]);
    for (let i = 0; i < n; i++) {
      const f = (written + i) % FILES.length;
      const container = (FILES[f] as string).split("/")[0];
      chunks[f]?.push(`${container} u=${run}-${written + i} level=info msg="request served"\n`);
    }
    for (const [f, rel] of FILES.entries()) {
      const chunk = chunks[f] as string[];
      if (chunk.length > 0) appendFileSync(path(rel), chunk.join(""));
    }
    written += n;
  };

  const procs: CliProcess[] = [];
  // CLUSTER_TEST_LOG_LEVEL=debug (with BOXSCOPE_TEST_DEBUG=1) keeps librdkafka's lines in the saved logs.
  const start = (args: string[], level = process.env.CLUSTER_TEST_LOG_LEVEL ?? "info") => {
    const p = new CliProcess(args, { BOXSCOPE_LOG_LEVEL: level });
    procs.push(p);
    return p;
  };
  let killed: number | undefined;
  t.after(async () => {
    if (process.env.BOXSCOPE_TEST_DEBUG) {
      for (const [i, p] of procs.entries())
        writeFileSync(join(tmpdir(), `boxscope-cluster-${run}-${i}.log`), p.stderr);
    }
    for (const p of procs) await p.kill9();
    if (killed !== undefined) await kafka.start(killed).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  // The previous case's restarted broker included.
  await kafka.waitForAll(120_000);
  const shipArgv = shipArgs(
    { spool, logRoot, brokers: kafka.brokers, topic, positions },
    "--poll-interval-ms",
    "100",
  );
  let shipper = start(shipArgv);
  const indexer = start(
    indexArgs({ brokers: kafka.brokers, topic, group, elasticsearch: es.url, indexPrefix: prefix }),
    // librdkafka's consumer-group events (joins, coordinator changes) are logged at debug.
    "debug",
  );
  const diag = () =>
    [
      ...procs.map((p, i) => `--- process ${i}: ${p.child.spawnargs[2]} ---\n${p.stderr.slice(-2500)}`),
      `--- partitions ---\n${JSON.stringify(kafka.partitions(topic))}`,
      `--- last offset per partition ---\n${lastOffsets(kafka, topic)}`,
      `--- acked bytes ${ackedBytes(positions)} of ${FILES.reduce((n, rel) => n + fileState(path(rel)).size, 0)} written`,
    ].join("\n");

  // The shipper creates the topic; the cluster's defaults make it RF 3 with min.insync.replicas=2.
  await shipper.waitForStderr(/connected to Kafka/, 120_000);
  // Every broker learns of a new topic from the controller, some a moment later than others.
  await waitUntil(
    () => {
      const ps = kafka.partitions(topic);
      return ps.length > 0 && ps.every((p) => p.leader >= 1);
    },
    60_000,
    `topic ${topic} in the metadata with a leader per partition`,
    diag,
  );
  const parts = kafka.partitions(topic);
  for (const p of parts) assert.equal(p.replicas.length, 3, `partition ${p.partition} has 3 replicas`);
  assert.match(await kafka.describe(topic), /min\.insync\.replicas=2/);

  // Phase 1: a first part, and the pipeline visibly flowing end to end.
  for (let i = 0; i < 10; i++) write(6_000);
  await waitUntil(
    async () => (await esCount(es.url, `${prefix}-*`)) > 0,
    120_000,
    "first documents in Elasticsearch",
    diag,
  );

  // Phase 2: the leader of a partition that holds data (all are written round-robin) crashes
  // while lines keep coming.
  const busy = dataPartition(kafka, topic);
  const leader = await kafka.leader(topic, busy);
  assert.ok(leader !== undefined && leader >= 1, `partition ${busy} has a leader`);
  // Killed as soon as the next lines reach its partition: it dies with batches in flight, some of
  // them acknowledged to the shipper a moment before.
  const endBefore = lastOffset(kafka, topic, busy);
  write(30_000);
  await waitUntil(
    () => lastOffset(kafka, topic, busy) > endBefore,
    120_000,
    `new records in partition ${busy}`,
    diag,
    0,
  );
  await kafka.kill(leader);
  killed = leader;
  const killedAt = Date.now();
  t.diagnostic(`SIGKILLed broker ${leader}, leader of partition ${busy}, with ${written} lines written`);
  const outageLines = 64_000;
  const rounds = 16;
  for (let r = 0; r < rounds; r++) {
    const crash = r === rounds / 2;
    const recordsBefore = crash ? records(kafka, topic) : 0;
    write(outageLines / rounds);
    if (crash) {
      // The shipper crashes once, with the broker down, as soon as these lines reach the surviving
      // brokers: batches acknowledged since its last positions save are sent again after restart.
      await waitUntil(
        () => records(kafka, topic) > recordsBefore,
        120_000,
        "records arriving with a broker down",
        diag,
        0,
      );
      await shipper.kill9();
      shipper = start(shipArgv);
      t.diagnostic(`SIGKILLed ship with ${written} lines written`);
    }
    // Spread over the broker's downtime (pacing, not a wait for anything).
    await sleep(Math.max(0, killedAt + ((r + 1) * (BROKER_DOWNTIME_MS - 5_000)) / rounds - Date.now()));
  }
  const newLeader = await kafka.leader(topic, busy);
  t.diagnostic(`partition ${busy} led by broker ${newLeader} while ${leader} is down`);
  assert.notEqual(newLeader, leader);
  await sleep(Math.max(0, killedAt + BROKER_DOWNTIME_MS - Date.now()));
  await kafka.start(leader);
  killed = undefined;
  await waitUntil(
    async () => kafka.partitions(topic).every((p) => p.isr.length === 3),
    180_000,
    `broker ${leader} back in every partition's ISR`,
    diag,
  );

  // Phase 3: the rest.
  while (written < LINES) write(Math.min(6_000, LINES - written));
  assert.equal(written, LINES);

  // Every line acknowledged by Kafka (positions reach each file's end), then every record of the
  // topic consumed and committed by the indexer (group lag 0): nothing is still on its way.
  for (const rel of FILES) await waitAcked(positions, fileState(path(rel)), 180_000);
  await waitUntil(async () => (await kafka.groupLag(group)) === 0, 180_000, "indexer group lag 0", diag);

  const total = await esCount(es.url, `${prefix}-*`);
  // Every document's line read back (only that field), for an exact distinct count.
  const lines = (await esAllDocuments(es.url, `${prefix}-*`, ["line"])).map((d) => String(d.line));
  const distinct = new Set(lines);
  const expected = new Set<string>();
  for (let i = 0; i < LINES; i++) expected.add(`u=${run}-${i}`);
  const tokens = new Set([...distinct].map((l) => /u=\S+/.exec(l)?.[0] ?? l));
  const missing = [...expected].filter((e) => !tokens.has(e));
  // More records than lines: batches sent again (after the crashes) that the document ids absorbed.
  t.diagnostic(
    `Elasticsearch ${es.version}: written ${written}, records in Kafka ${records(kafka, topic)}, documents ${total}, distinct lines ${distinct.size}, missing ${missing.length}`,
  );
  assert.deepEqual(
    { total, scrolled: lines.length, distinct: distinct.size, missing: missing.length },
    { total: LINES, scrolled: LINES, distinct: LINES, missing: 0 },
    `missing ${JSON.stringify(missing.slice(0, 5))}\n${diag()}`,
  );
  assert.equal(await shipper.term(), 0, diag());
  assert.equal(await indexer.term(), 0, diag());
}

/** "partition offset" of the last record of each non-empty partition (kcat). */
function lastOffsets(kafka: KafkaCluster, topic: string): string {
  const r = spawnSync(
    "kcat",
    ["-b", kafka.brokers, "-C", "-t", topic, "-o", "-1", "-e", "-q", "-f", "%p %o\\n"],
    {
      encoding: "utf8",
      timeout: 30_000,
    },
  );
  return `${r.stdout}${r.stderr}`;
}

/** Records in the topic: the sum over its partitions of the last offset + 1 (kcat). */
function records(kafka: KafkaCluster, topic: string): number {
  return lastOffsets(kafka, topic)
    .split("\n")
    .map((l) => /^(\d+) (\d+)$/.exec(l))
    .reduce((n, m) => n + (m ? Number(m[2]) + 1 : 0), 0);
}

/** A partition of `topic` that holds records (kcat reads the last record of each). */
function dataPartition(kafka: KafkaCluster, topic: string): number {
  const r = spawnSync(
    "kcat",
    ["-b", kafka.brokers, "-C", "-t", topic, "-o", "-1", "-e", "-q", "-f", "%p\\n"],
    {
      encoding: "utf8",
    },
  );
  const withData = r.stdout.split("\n").filter((l) => l !== "");
  assert.ok(withData.length > 0, `no partition of ${topic} holds records: ${r.stderr}`);
  return Number(withData[0]);
}

/** Bytes the shipper has recorded as acknowledged, over all files (0 before its first save). */
function ackedBytes(positionsFile: string): number {
  try {
    const doc = JSON.parse(readFileSync(positionsFile, "utf8")) as {
      files: Record<string, { offset: number }>;
    };
    return Object.values(doc.files).reduce((n, f) => n + f.offset, 0);
  } catch {
    return 0;
  }
}

async function waitUntil(
  ready: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  diag: () => string,
  pollMs = 500,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`no ${what} after ${timeoutMs} ms\n${diag()}`);
    await sleep(pollMs);
  }
}

/** The offset of the last record in one partition (-1 while it is empty), from kcat. */
function lastOffset(kafka: KafkaCluster, topic: string, partition: number): number {
  const r = spawnSync(
    "kcat",
    ["-b", kafka.brokers, "-C", "-t", topic, "-p", String(partition), "-o", "-1", "-e", "-q", "-f", "%o\\n"],
    { encoding: "utf8", timeout: 30_000 },
  );
  const offsets = r.stdout.split("\n").filter((l) => l !== "");
  return offsets.length > 0 ? Number(offsets[offsets.length - 1]) : -1;
}
