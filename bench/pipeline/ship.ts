/** Shipping files → Kafka: `kcat -P`, `boxscope ship` (rdkafka, kafkajs) and rsyslog on the same files. */
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import {
  type BenchContext,
  boxscope,
  kcatProduce,
  killAndWait,
  mbps,
  rate,
  rsyslog,
  waitTopic,
} from "./common.js";

/** The topic `boxscope ship` (rdkafka) fills; the indexing part reads it. */
export const SHIPPED_TOPIC = "b-ship";

/** Runs `boxscope ship` over a spool of links to the bench files until `topic` holds every line. */
export async function shipFiles(
  ctx: BenchContext,
  client: "rdkafka" | "kafkajs",
  topic: string,
): Promise<number> {
  const { root, logs, files, brokers, lines } = ctx;
  const spool = join(root, `spool-${topic}`);
  mkdirSync(spool);
  files.forEach((f, i) => {
    symlinkSync(f, join(spool, `c${i}__app.log`));
  });
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
    join(root, `ship-pos-${topic}.json`),
  ]);
  const ms = await waitTopic(brokers, topic, lines, started, 300000);
  await killAndWait(proc, "SIGTERM");
  return ms;
}

export async function benchShipping(ctx: BenchContext): Promise<void> {
  const { root, logs, files, brokers, bytes } = ctx;
  const LINES = ctx.lines;
  // 1. kcat -P: the raw producer.
  let t0 = Date.now();
  const kc = kcatProduce(brokers, "b-kcat", files);
  await new Promise((r) => kc.once("exit", r));
  await waitTopic(brokers, "b-kcat", LINES, t0, 60000);
  const kcatMs = Date.now() - t0;

  // 2. boxscope ship from a spool of links to the same files, with each producer client
  // (rdkafka is the default; kafkajs shown beside it for the record of why).
  const shipMs = await shipFiles(ctx, "rdkafka", SHIPPED_TOPIC);
  const shipKafkajsMs = await shipFiles(ctx, "kafkajs", "b-ship-kafkajs");

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
}
