/** Indexing Kafka → Elasticsearch: `boxscope index` beside a raw concurrent `_bulk` of the same documents. */
import { spawnSync } from "node:child_process";
import { indexConfigSchema } from "../../logwatcher/indexer/config.js";
import { documentId, prepareDocument } from "../../logwatcher/indexer/documents.js";
import { indexTemplate } from "../../logwatcher/indexer/template.js";
import { type BenchContext, boxscope, killAndWait, rate, sleep, topicRecords } from "./common.js";
import { SHIPPED_TOPIC, shipFiles } from "./ship.js";

export async function benchIndexing(ctx: BenchContext): Promise<void> {
  const { brokers, es } = ctx;
  const LINES = ctx.lines;
  // Without the shipping part in this run, fill the topic first (untimed).
  if ((await topicRecords(brokers, SHIPPED_TOPIC)) < LINES) await shipFiles(ctx, "rdkafka", SHIPPED_TOPIC);
  let t0: number;
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
    SHIPPED_TOPIC,
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
}
