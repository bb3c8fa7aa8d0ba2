/**
 * bench:pipeline — shipping files into Kafka by `boxscope ship` beside `kcat -P` (raw librdkafka
 * producer) and rsyslog imfile→omkafka (the peer shipper), on the same files and broker in one run;
 * indexing by `boxscope index` beside a raw concurrent `_bulk` load of the same documents; then the
 * same rotation/crash scenario through boxscope and rsyslog, counting what reaches Kafka.
 * Prints ratios; record them in docs/benchmarks.md (## Pipeline).
 * Size: BENCH_LINES (default 300000 lines of ~110 bytes over 4 files).
 * Parts: BENCH_PARTS (default "ship,stdout,index,rotation"), e.g. BENCH_PARTS=index runs only
 * indexing, BENCH_PARTS=stdout only container stdout (json-file, CRI) beside plain files and kcat.
 * Shipping (files and stdout): BENCH_WARM_PASSES untimed passes first (default 5), then
 * BENCH_SHIP_ROUNDS (default 3). BENCH_STDOUT_CPU_PROF=DIR profiles the decoding ship children.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { startElasticsearch } from "../../test/helpers/elasticsearch.js";
import { startKafka } from "../../test/helpers/kafka.js";
import { type BenchContext, createTopics, generate } from "./common.js";
import { benchIndexing } from "./index.js";
import { benchRotation } from "./rotation.js";
import { benchShipping } from "./ship.js";
import { benchStdout } from "./stdout.js";

const LINES = Number(process.env.BENCH_LINES ?? 300000);
const CONTAINERS = 4;
const PARTS = {
  ship: benchShipping,
  stdout: benchStdout,
  index: benchIndexing,
  rotation: benchRotation,
} satisfies Record<string, (ctx: BenchContext) => Promise<void>>;

function selectedParts(): (keyof typeof PARTS)[] {
  const names = (process.env.BENCH_PARTS ?? "ship,stdout,index,rotation").split(",").map((s) => s.trim());
  for (const n of names) {
    if (!(n in PARTS))
      throw new Error(`BENCH_PARTS: unknown part "${n}" (known: ${Object.keys(PARTS).join(", ")})`);
  }
  // Always in this order: indexing reads what shipping produced.
  return (Object.keys(PARTS) as (keyof typeof PARTS)[]).filter((p) => names.includes(p));
}

async function main(): Promise<void> {
  const parts = selectedParts();
  const root = mkdtempSync(join(tmpdir(), "boxscope-bench-pipeline-"));
  console.log(`bench:pipeline: ${LINES} lines over ${CONTAINERS} files; parts ${parts.join(",")}`);
  // Elasticsearch only when a part indexes: its JVM would otherwise load the shipping runs.
  const needsEs = parts.some((p) => p !== "ship");
  const [kafka, es] = await Promise.all([startKafka(), needsEs ? startElasticsearch() : undefined]);
  const stopAll = () => Promise.all([kafka.destroy(), es?.stop()]);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      void stopAll().finally(() => process.exit(130));
    });
  }
  const brokers = kafka.brokers;
  await createTopics(brokers, ["b-kcat", "b-kcat-lz4", "b-ship", "b-rsyslog", "s-ship", "s-rsyslog"]);
  try {
    const logs = join(root, "logs");
    const { files, bytes } = generate(logs, CONTAINERS, LINES);
    console.log(`data: ${(bytes / 1048576).toFixed(1)} MiB`);
    const ctx: BenchContext = { root, logs, files, bytes, lines: LINES, brokers, es };
    for (const part of parts) {
      console.log(
        `part ${part}: load average before ${loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")}`,
      );
      await PARTS[part](ctx);
      console.log(
        `part ${part}: load average after ${loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")}`,
      );
    }
  } finally {
    await stopAll();
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
