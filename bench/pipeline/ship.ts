/** Shipping files → Kafka: `kcat -P`, `boxscope ship` and rsyslog on the same files. */
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../common/logger.js";
import { createRdkafkaClient } from "../../pipeline/kafka/rdkafka.js";
import {
  type BenchContext,
  boxscope,
  createTopics,
  kcatProduce,
  killAndWait,
  mbps,
  rate,
  rsyslog,
  waitTopic,
} from "./common.js";

/** The topic `boxscope ship` (rdkafka) fills in the first round; the indexing part reads it. */
export const SHIPPED_TOPIC = "b-ship";

/** Rounds of the four shippers (BENCH_SHIP_ROUNDS, default 3): each round on fresh topics. */
export const ROUNDS = Number(process.env.BENCH_SHIP_ROUNDS ?? 3);

/** Runs `boxscope ship` over a spool of links to the bench files until `topic` holds every line. */
export async function shipFiles(ctx: BenchContext, topic: string): Promise<number> {
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
    "--positions",
    join(root, `ship-pos-${topic}.json`),
  ]);
  const ms = await waitTopic(brokers, topic, lines, started, 300000);
  await killAndWait(proc, "SIGTERM");
  return ms;
}

async function kcatFiles(ctx: BenchContext, topic: string, compression?: string): Promise<number> {
  const t0 = Date.now();
  const kc = kcatProduce(ctx.brokers, topic, ctx.files, compression);
  await new Promise((r) => kc.once("exit", r));
  return waitTopic(ctx.brokers, topic, ctx.lines, t0, 60000);
}

async function rsyslogFiles(ctx: BenchContext, topic: string, dir: string): Promise<number> {
  const t0 = Date.now();
  const rs = rsyslog(join(ctx.root, dir), ctx.brokers, topic, join(ctx.logs, "*", "app.log"));
  try {
    return await waitTopic(ctx.brokers, topic, ctx.lines, t0, 300000);
  } finally {
    await killAndWait(rs, "SIGTERM");
  }
}

/** Untimed passes of the shippers' traffic before the rounds (BENCH_WARM_PASSES, default 5). */
const WARM_PASSES = Number(process.env.BENCH_WARM_PASSES ?? 5);

interface Warmup {
  /** Per pass: kcat -P, kcat -P -z lz4 and boxscope ship times (ms), none of them counted. */
  passes: [number, number, number][];
  /** One message through boxscope's producer on a connection of its own, after the passes. */
  producerAckMs: number;
}

/**
 * Before anything is timed, each kind of traffic the rounds send (plain lines from kcat, lz4
 * batches from kcat, boxscope's keyed lz4 records) passes through the fresh broker a few times:
 * a broker's JIT takes several passes to settle on each path (a new broker's first passes are
 * markedly slower for every producer), and a single kcat pass warmed only kcat's path, so the
 * first rounds timed the broker's warm-up against boxscope.
 */
async function warmBroker(ctx: BenchContext): Promise<Warmup> {
  const passes: [number, number, number][] = [];
  for (let i = 1; i <= WARM_PASSES; i++) {
    const topics = [`b-warm${i}`, `b-warm${i}-lz4`, `b-warm${i}-ship`] as const;
    await createTopics(ctx.brokers, [...topics]);
    passes.push([
      await kcatFiles(ctx, topics[0]),
      await kcatFiles(ctx, topics[1], "lz4"),
      await shipFiles(ctx, topics[2]),
    ]);
  }
  await createTopics(ctx.brokers, ["b-warm-producer"]);
  const client = createRdkafkaClient({
    brokers: [ctx.brokers],
    clientId: "bench-warm",
    logger: silentLogger(),
  });
  const producer = client.producer();
  await producer.connect();
  const t0 = Date.now();
  await producer.send("b-warm-producer", [{ key: "warm", value: "{}" }]);
  const producerAckMs = Date.now() - t0;
  await producer.disconnect();
  return { passes, producerAckMs };
}

interface Round {
  kcatMs: number;
  kcatLz4Ms: number;
  rsyslogMs: number;
  shipMs: number;
}

export async function benchShipping(ctx: BenchContext): Promise<void> {
  const { bytes, lines } = ctx;
  const warm = await warmBroker(ctx);
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Round 1 uses the topics run.ts created (the indexing part reads b-ship); later rounds new ones.
    const t = (base: string) => (r === 0 ? base : `${base}-r${r + 1}`);
    if (r > 0) await createTopics(ctx.brokers, [t("b-kcat"), t("b-kcat-lz4"), t("b-ship"), t("b-rsyslog")]);
    const kcatMs = await kcatFiles(ctx, t("b-kcat"));
    // For reference: kcat with the codec boxscope ship uses by default (the target is against kcat -P).
    const kcatLz4Ms = await kcatFiles(ctx, t("b-kcat-lz4"), "lz4");
    // boxscope ship from a spool of links to the same files.
    const shipMs = await shipFiles(ctx, t(SHIPPED_TOPIC));
    const rsyslogMs = await rsyslogFiles(ctx, t("b-rsyslog"), `rsyslog-r${r + 1}`);
    rounds.push({ kcatMs, kcatLz4Ms, rsyslogMs, shipMs });
  }

  console.log(
    "\n## shipping files → Kafka (acks=all, same broker, same files; boxscope ship with lz4, its default)",
  );
  console.log(
    `broker warmed first, untimed: ${warm.passes.length} pass(es) of kcat -P / kcat -P -z lz4 / boxscope ship: ${warm.passes.map((p) => p.join("/")).join(", ")} ms; then one message through boxscope's producer: acknowledged in ${warm.producerAckMs} ms`,
  );
  const row = (name: string, ms: number) =>
    console.log(
      `${name.padEnd(22)} ${String(ms).padStart(7)} ms  ${String(rate(lines, ms)).padStart(8)} lines/s  ${String(mbps(bytes, ms)).padStart(6)} MB/s`,
    );
  rounds.forEach((r, i) => {
    console.log(`round ${i + 1}:`);
    row("kcat -P", r.kcatMs);
    row("  (kcat -P -z lz4)", r.kcatLz4Ms);
    row("rsyslog imfile→omkafka", r.rsyslogMs);
    row("boxscope ship", r.shipMs);
    console.log(
      `ratio boxscope/kcat = ${(r.kcatMs / r.shipMs).toFixed(2)} (target ≥ 0.5); boxscope/rsyslog = ${(r.rsyslogMs / r.shipMs).toFixed(2)} (target ≥ 1)`,
    );
  });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;
  console.log(
    `median over ${rounds.length} rounds: boxscope/kcat = ${median(rounds.map((r) => r.kcatMs / r.shipMs)).toFixed(2)}, boxscope/rsyslog = ${median(rounds.map((r) => r.rsyslogMs / r.shipMs)).toFixed(2)}`,
  );
}
