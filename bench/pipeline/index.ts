/** Indexing Kafka → Elasticsearch: `boxscope index` beside a raw concurrent `_bulk` of the same documents. */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { type Admin, Kafka, logLevel } from "kafkajs";
import { indexConfigSchema } from "../../pipeline/indexer/config.js";
import { prepareDocument } from "../../pipeline/indexer/documents.js";
import { indexTemplate } from "../../pipeline/indexer/template.js";
import { indexArgs } from "../../test/helpers/cli-args.js";
import {
  type BenchContext,
  elasticsearchOf,
  esCount,
  killAndWait,
  repoRoot,
  sleep,
  topicRecords,
} from "./common.js";
import { SHIPPED_TOPIC, shipFiles } from "./ship.js";

/** BENCH_CPU_PROF=DIR writes a `node --cpu-prof` profile of the indexer process into DIR. */
function cpuProfileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

/** Records of `topic` below the group's committed offsets (a partition never committed counts 0). */
async function committedRecords(admin: Admin, group: string, topic: string): Promise<number> {
  // Until the group's coordinator is up (first join), the broker answers NOT_COORDINATOR: 0.
  const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] }).catch(() => []);
  let sum = 0;
  for (const t of offsets) for (const p of t.partitions) sum += Math.max(0, Number(p.offset));
  return sum;
}

/** user+sys CPU of a live process from /proc (Linux), in ms. */
function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat(5), i.e. 11 and 12 after "pid (comm) ".
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

async function warmGroupCoordinator(admin: Admin, group: string, topic: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(200);
    }
  }
}

interface IndexerRun {
  /** Process start to every record committed. */
  indexMs: number;
  /** From the first commit to the last, and the records committed in it. */
  steadyMs: number;
  steadyDocs: number;
  indexCpuMs: number;
}

/**
 * Runs `boxscope index` with `client` from the shipped topic into `bench-box-<client>-*` until the
 * group committed every record; checks the document count and deletes the indices. The indexer
 * is timed by the group's committed offsets (it commits only what Elasticsearch accepted), not by
 * polling `_count`: a `_refresh` every 250 ms while it runs (and not while the raw load runs)
 * would cost Elasticsearch segments and merges on boxscope's side only.
 */
async function timeIndexer(ctx: BenchContext, admin: Admin): Promise<IndexerRun> {
  const es = elasticsearchOf(ctx);
  const LINES = ctx.lines;
  const group = "bench-index";
  const prefix = "bench-box";
  // The broker creates __consumer_offsets (50 partitions) on the first group request and answers
  // "coordinator loading" meanwhile; on a running cluster it exists long before an indexer starts,
  // so it is created here, untimed (the first indexer start on a fresh broker pays it once).
  await warmGroupCoordinator(admin, group, SHIPPED_TOPIC);
  const t0 = Date.now();
  const idx = spawn(
    process.execPath,
    [
      ...cpuProfileArgs(),
      join(repoRoot, "bin/boxscope.js"),
      ...indexArgs({
        brokers: ctx.brokers,
        topic: SHIPPED_TOPIC,
        group,
        elasticsearch: es.url,
        indexPrefix: prefix,
      }),
    ],
    { env: { ...process.env, BOXSCOPE_LOG_LEVEL: "warn" }, stdio: ["ignore", "ignore", "inherit"] },
  );
  let firstCommitAt = 0;
  let firstCommitted = 0;
  let indexMs = 0;
  let indexCpuMs = Number.NaN;
  try {
    const deadline = Date.now() + 10 * 60 * 1000;
    for (;;) {
      if (idx.exitCode !== null || idx.signalCode !== null)
        throw new Error(`boxscope index exited early (${idx.exitCode ?? idx.signalCode})`);
      if (Date.now() > deadline) throw new Error("boxscope index did not commit every record in 10 min");
      const committed = await committedRecords(admin, group, SHIPPED_TOPIC);
      if (committed > 0 && firstCommitAt === 0) {
        firstCommitAt = Date.now();
        firstCommitted = committed;
      }
      if (committed >= LINES) break;
      await sleep(50);
    }
    indexMs = Date.now() - t0;
    indexCpuMs = processCpuMs(idx.pid);
  } finally {
    await killAndWait(idx, "SIGTERM");
  }
  const indexed = await esCount(es.url, `${prefix}-*`);
  if (indexed !== LINES) throw new Error(`boxscope index: ${indexed} documents, expected ${LINES}`);
  // Deleted like the raw loads' indices: otherwise its merges run during the next load.
  await fetch(`${es.url}/${prefix}-*`, { method: "DELETE" });
  // After the first commit: the records committed since, over the time since (start-up, group
  // join and the first batch excluded).
  return { indexMs, steadyMs: t0 + indexMs - firstCommitAt, steadyDocs: LINES - firstCommitted, indexCpuMs };
}

/** A raw concurrent `_bulk` load of `values` into `<prefix>-YYYY.MM.DD`; ms until all accepted. */
async function rawLoad(url: string, values: string[], prefix: string): Promise<number> {
  const tpl = indexTemplate(indexConfigSchema.parse({ indexPrefix: prefix, indexReplicas: 0 }));
  await fetch(`${url}/_index_template/${tpl.name}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(tpl.body),
  });
  const bodies: string[] = [];
  for (let i = 0; i < values.length; i += 5000) {
    let body = "";
    for (const v of values.slice(i, i + 5000)) {
      const p = prepareDocument(Buffer.from(v), prefix);
      if (!p.ok) continue;
      body += `${JSON.stringify({ index: { _index: p.index, _id: p.id } })}\n${v}\n`;
    }
    bodies.push(body);
  }
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++] as string;
      const r = await fetch(`${url}/_bulk`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body,
      });
      const j = (await r.json()) as { errors: boolean };
      if (j.errors) throw new Error("raw _bulk reported item errors");
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  const ms = Date.now() - t0;
  const count = await esCount(url, `${prefix}-*`);
  if (count !== values.length)
    throw new Error(`raw _bulk into ${prefix}: ${count} documents, expected ${values.length}`);
  return ms;
}

export async function benchIndexing(ctx: BenchContext): Promise<void> {
  const { brokers } = ctx;
  const es = elasticsearchOf(ctx);
  const LINES = ctx.lines;
  // Without the shipping part in this run, fill the topic first (untimed).
  if ((await topicRecords(brokers, SHIPPED_TOPIC)) < LINES) await shipFiles(ctx, SHIPPED_TOPIC);
  // 4. Indexing: boxscope index from the shipped topic vs a raw concurrent _bulk of the same docs.
  // The same documents for the raw loads: each record's JSON with the same _index/_id.
  const values = spawnSync(
    "kcat",
    ["-C", "-b", brokers, "-t", SHIPPED_TOPIC, "-e", "-q", "-o", "beginning"],
    {
      encoding: "utf8",
      maxBuffer: 1 << 30,
    },
  )
    .stdout.split("\n")
    .filter((l) => l !== "");
  // A fresh Elasticsearch JVM indexes its first few hundred thousand documents slower (JIT, heap
  // sizing), which would fall on whichever load runs first: one raw load warms it up, untimed;
  // then raw, boxscope, raw again (the ratio is against their mean; both are printed).
  await rawLoad(es.url, values, "bench-warm");
  await fetch(`${es.url}/bench-warm-*`, { method: "DELETE" });
  const rawBeforeMs = await rawLoad(es.url, values, "bench-raw1");
  await fetch(`${es.url}/bench-raw1-*`, { method: "DELETE" });

  const admin = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  let box: IndexerRun;
  let rawAfterMs: number;
  try {
    box = await timeIndexer(ctx, admin);
    rawAfterMs = await rawLoad(es.url, values, "bench-raw2");
    await fetch(`${es.url}/bench-raw2-*`, { method: "DELETE" });
  } finally {
    await admin.disconnect();
  }
  const rawMs = (rawBeforeMs + rawAfterMs) / 2;
  const rawRate = (values.length / rawMs) * 1000;
  const { indexMs, steadyMs, steadyDocs, indexCpuMs } = box;
  const startRate = (LINES / indexMs) * 1000;
  const steadyRate = (steadyDocs / steadyMs) * 1000;

  console.log("\n## indexing Kafka → Elasticsearch (single node, 512 MiB heap)");
  console.log(
    `raw _bulk (3 concurrent, 5000 docs)  ${Math.round(rawMs)} ms  ${Math.round(rawRate)} docs/s (mean of ${rawBeforeMs} ms before and ${rawAfterMs} ms after boxscope)`,
  );
  console.log(
    `boxscope index from process start    ${indexMs} ms  ${Math.round(startRate)} docs/s (start-up and group join included)`,
  );
  console.log(
    `boxscope index after its 1st commit  ${steadyMs} ms  ${Math.round(steadyRate)} docs/s (${steadyDocs} docs after the first committed batch)`,
  );
  console.log(
    `boxscope index CPU (user+sys) ${Math.round(indexCpuMs)} ms = ${(indexCpuMs / indexMs).toFixed(2)} of a core over its run (the raw load's client: ~0)`,
  );
  console.log(
    `ratio boxscope/raw = ${(startRate / rawRate).toFixed(2)} from start, ${(steadyRate / rawRate).toFixed(2)} after the first commit (target ≥ 0.8); load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
}
