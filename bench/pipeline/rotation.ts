/**
 * The rotation/crash scenario (rename rotation, kill -9, restart, copytruncate) through boxscope and
 * rsyslog, counting what reaches Kafka; boxscope's topic is then indexed by `boxscope index` to show
 * what its duplicates collapse to in Elasticsearch. BENCH_ROTATION_RUNS (default 1) repeats the
 * scenario in the same Kafka/Elasticsearch session, each run on fresh topics.
 * BENCH_ROTATION_TRUNCATE_ROUND (default 22, after the restart at round 18) moves the copytruncate:
 * 16 puts it while the shipper is down (killed at 15), so the lines written after its last
 * acknowledged position exist only in the copy whatever the timing: the race made certain.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, renameSync, symlinkSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { indexArgs } from "../../test/helpers/cli-args.js";
import {
  appendLines,
  type BenchContext,
  boxscope,
  createTopics,
  elasticsearchOf,
  esCount,
  killAndWait,
  rsyslog,
  sleep,
  topicRecords,
} from "./common.js";

const RUNS = Number(process.env.BENCH_ROTATION_RUNS ?? 1);
const TRUNCATE_ROUND = Number(process.env.BENCH_ROTATION_TRUNCATE_ROUND ?? 22);
const LINES = 15000;

interface Outcome {
  records: number;
  distinct: number;
  duplicates: number;
  missing: number;
  /** boxscope only: distinct (fileId, offset) = Elasticsearch document ids; records flagged replayed. */
  ids?: number;
  linesUnderTwoIds?: number;
  replayed?: number;
  /** Re-sends (a record id seen before) beyond the flagged ones: should be 0. */
  resentUnflagged?: number;
  /** Records read from the copytruncate copy (their `file` names app.log.2). */
  fromCopy?: number;
  esDocuments?: number;
}

export async function benchRotation(ctx: BenchContext): Promise<void> {
  console.log(
    `\n## rotation + copytruncate + kill -9 scenario (${LINES} lines written in 30 rounds; rename at 10, kill -9 at 15, restart at 18, copytruncate at ${TRUNCATE_ROUND}), ${RUNS} run(s)`,
  );
  const all: { boxscope: Outcome; rsyslog: Outcome }[] = [];
  for (let run = 1; run <= RUNS; run++) {
    // Run 1 uses the topics run.ts created; later runs their own.
    const suffix = run === 1 ? "" : `-${run}`;
    if (run > 1) await createTopics(ctx.brokers, [`s-ship${suffix}`, `s-rsyslog${suffix}`]);
    const box = await scenario(ctx, "boxscope", `s-ship${suffix}`, run);
    box.esDocuments = await indexedDocuments(ctx, `s-ship${suffix}`, `scenario${run}`, box.ids ?? 0);
    const rs = await scenario(ctx, "rsyslog", `s-rsyslog${suffix}`, run);
    all.push({ boxscope: box, rsyslog: rs });
    console.log(
      `run ${run}: boxscope records ${box.records}, distinct lines ${box.distinct}, duplicates ${box.duplicates}, missing ${box.missing} of ${LINES}; replayed-flagged ${box.replayed} (re-sends without the flag ${box.resentUnflagged}); read from the copy ${box.fromCopy}; distinct (fileId, offset) ${box.ids}, lines under two ids ${box.linesUnderTwoIds}; Elasticsearch documents ${box.esDocuments}`,
    );
    console.log(
      `run ${run}: rsyslog  records ${rs.records}, distinct lines ${rs.distinct}, duplicates ${rs.duplicates}, missing ${rs.missing} of ${LINES}`,
    );
  }
  const sum = (who: "boxscope" | "rsyslog", k: keyof Outcome) => all.map((o) => o[who][k] ?? 0).join("/");
  console.log(
    `summary over ${RUNS} run(s) (per run): boxscope records ${sum("boxscope", "records")}, duplicates ${sum("boxscope", "duplicates")}, missing ${sum("boxscope", "missing")}, from the copy ${sum("boxscope", "fromCopy")}, ES documents ${sum("boxscope", "esDocuments")}; rsyslog records ${sum("rsyslog", "records")}, duplicates ${sum("rsyslog", "duplicates")}, missing ${sum("rsyslog", "missing")}`,
  );
}

async function scenario(
  ctx: BenchContext,
  who: "boxscope" | "rsyslog",
  topic: string,
  run: number,
): Promise<Outcome> {
  const { brokers } = ctx;
  const dir = join(ctx.root, `scenario-${who}-${run}`);
  const file = join(dir, "logs", "c1", "app.log");
  mkdirSync(join(dir, "logs", "c1"), { recursive: true });
  mkdirSync(join(dir, "spool"));
  symlinkSync(file, join(dir, "spool", "c1__app.log"));
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
    if (round === TRUNCATE_ROUND) {
      copyFileSync(file, `${file}.2`);
      truncateSync(file, 0);
    }
    appendLines(file, seq, 500, "c1");
    seq += 500;
    await sleep(100);
  }
  await sleep(12000);
  await killAndWait(proc, "SIGTERM");
  const values = spawnSync("kcat", ["-C", "-b", brokers, "-t", topic, "-e", "-q", "-o", "beginning"], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  })
    .stdout.split("\n")
    .filter((l) => l !== "");
  const seqOf = (line: string) => Number(/seq=(\d+)/.exec(line)?.[1] ?? -1);
  if (who === "rsyslog") {
    const unique = new Set(values.map(seqOf).filter((s) => s >= 0));
    return {
      records: values.length,
      distinct: unique.size,
      duplicates: values.length - unique.size,
      missing: seq - unique.size,
    };
  }
  const records = values.map(
    (v) => JSON.parse(v) as { line: string; file: string; fileId: string; offset: number; replayed?: true },
  );
  const unique = new Set(records.map((r) => seqOf(r.line)).filter((s) => s >= 0));
  // A document id is (host, fileId, offset): one host here, so distinct (fileId, offset) pairs.
  const idsOfLine = new Map<string, Set<string>>();
  for (const r of records) {
    const ids = idsOfLine.get(r.line) ?? new Set<string>();
    ids.add(`${r.fileId}@${r.offset}`);
    idsOfLine.set(r.line, ids);
  }
  const ids = new Set(records.map((r) => `${r.fileId}@${r.offset}`));
  // Every re-send of an id should carry `replayed`: per id, sends beyond the first ≤ flagged sends.
  const sends = new Map<string, { n: number; flagged: number }>();
  for (const r of records) {
    const s = sends.get(`${r.fileId}@${r.offset}`) ?? { n: 0, flagged: 0 };
    s.n += 1;
    if (r.replayed) s.flagged += 1;
    sends.set(`${r.fileId}@${r.offset}`, s);
  }
  let resentUnflagged = 0;
  for (const s of sends.values()) resentUnflagged += Math.max(0, s.n - 1 - s.flagged);
  return {
    records: records.length,
    distinct: unique.size,
    duplicates: records.length - unique.size,
    missing: seq - unique.size,
    ids: ids.size,
    linesUnderTwoIds: [...idsOfLine.values()].filter((s) => s.size > 1).length,
    replayed: records.filter((r) => r.replayed === true).length,
    resentUnflagged,
    fromCopy: records.filter((r) => r.file.endsWith("app.log.2")).length,
  };
}

/** `boxscope index` of the scenario's topic; the documents Elasticsearch holds once it settles. */
async function indexedDocuments(
  ctx: BenchContext,
  topic: string,
  prefix: string,
  expected: number,
): Promise<number> {
  const idx = boxscope(
    indexArgs({
      brokers: ctx.brokers,
      topic,
      group: `bench-${prefix}`,
      elasticsearch: elasticsearchOf(ctx).url,
      indexPrefix: prefix,
    }),
  );
  const count = () => esCount(elasticsearchOf(ctx).url, `${prefix}-*`);
  const deadline = Date.now() + 90_000;
  let n = 0;
  while (Date.now() < deadline) {
    n = await count();
    if (n >= expected && (await topicRecords(ctx.brokers, topic)) > 0) break;
    await sleep(500);
  }
  // Nothing late: every record is consumed by now; count once more after a refresh interval.
  await sleep(2000);
  n = await count();
  await killAndWait(idx, "SIGTERM");
  return n;
}
