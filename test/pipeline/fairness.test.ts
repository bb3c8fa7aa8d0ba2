import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { freePort, type KafkaBroker, kafkaPrereq, startKafka } from "../helpers/kafka.js";
import { requirePrereq } from "../helpers/prereq.js";
import { dockerdLines } from "../helpers/runtime-log-writers.js";
import { CliProcess, scrapeUntil, shipArgs, sleep } from "./harness.js";

const kafkaOk = kafkaPrereq();
const kcatOk = spawnSync("kcat", ["-V"]).status === 0;

const NOISY_MB_PER_S = 50;
const NOISY_SECONDS = 4;
const QUIET = 9;
const QUIET_LINES_PER_S = 100;
/** A noisy line's bytes in the file: 4 KiB lines keep the record count (and the consumer's work) small. */
const NOISY_LINE_BYTES = 4096;

/**
 * The writer of the noisy container, in a process of its own (its loop must not delay the quiet
 * containers' writes or their timestamps): Docker json-file lines at NOISY_MB_PER_S, each naming its
 * sequence number, written in 20 ms slices.
 */
const NOISY_WRITER = `
const { appendFileSync } = require("node:fs");
const [path, mbPerS, seconds, lineBytes] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const pad = "n".repeat(lineBytes - 100);
let seq = 0;
const start = Date.now();
const slice = () => {
  const due = Math.floor(((Date.now() - start) / 1000) * mbPerS * 1e6 / lineBytes);
  let out = "";
  for (; seq < due; seq++) out += '{"log":"noisy ' + String(seq).padStart(8, "0") + " " + pad + '\\\\n","stream":"stdout","time":"' + new Date().toISOString() + '"}\\n';
  if (out) appendFileSync(path, out);
  if (Date.now() - start < seconds * 1000) setTimeout(slice, 20);
  else process.stdout.write(String(seq));
};
slice();
`;

/**
 * One container writing 50 MB/s to stdout beside nine writing 100 lines/s (Docker json-file, the
 * shipper on its embedded rate limit): the nine keep their latency, the noisy one falls behind and
 * its metrics say so, and once it quiets down every one of its lines arrives.
 */
describe("fairness between containers (real Kafka)", { timeout: 400_000 }, () => {
  let kafka: KafkaBroker | undefined;
  before(async () => {
    if (kafkaOk.present) kafka = await startKafka();
  });
  after(async () => {
    await kafka?.destroy();
  });

  test("a 50 MB/s container does not delay nine quiet ones (p99 line-to-Kafka < 2 s); it lags, says so, and loses nothing", {
    timeout: 300_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !requirePrereq(t, kcatOk, "kcat is not installed"))
      return;
    const broker = kafka as KafkaBroker;
    const base = mkdtempSync(join(tmpdir(), "boxscope-test-fairness-"));
    t.after(() => rmSync(base, { recursive: true, force: true }));
    const dockerRoot = join(base, "containers");
    const spool = join(base, "spool");
    const logRoot = join(base, "app");
    for (const d of [dockerRoot, spool, logRoot]) mkdirSync(d, { recursive: true });
    const topic = `fair-${randomBytes(4).toString("hex")}`;
    // The broker's append time is each record's timestamp: line-to-Kafka without a consumer's delay.
    const admin = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 3,
          configEntries: [{ name: "message.timestamp.type", value: "LogAppendTime" }],
        },
      ],
    });
    await admin.disconnect();

    const container = (name: string) => {
      const id = randomBytes(32).toString("hex");
      mkdirSync(join(dockerRoot, id));
      writeFileSync(join(dockerRoot, id, "config.v2.json"), JSON.stringify({ Name: `/${name}`, Config: {} }));
      return join(dockerRoot, id, `${id}-json.log`);
    };
    const noisyLog = container("noisy");
    writeFileSync(noisyLog, "");
    const quietLogs = Array.from({ length: QUIET }, (_, i) => container(`quiet-${i}`));

    const env = {
      BOXSCOPE_LOGWATCHER_DOCKER_LOGS: "on",
      BOXSCOPE_LOGWATCHER_DOCKER_LOG_ROOT: dockerRoot,
      BOXSCOPE_LOGWATCHER_POD_LOGS: "off",
      BOXSCOPE_SHIP_DOCKER_LOG_ROOT: dockerRoot,
      BOXSCOPE_SHIP_POD_LOGS: "off",
    };
    const procs: CliProcess[] = [];
    t.after(async () => {
      for (const p of procs) await p.kill9();
    });
    procs.push(new CliProcess(["logwatcher", "--log-root", logRoot, "--spool", spool], env));
    const metricsPort = await freePort();
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    procs.push(
      new CliProcess(
        shipArgs(
          { spool, logRoot, brokers: broker.brokers, topic, positions: join(base, "positions.json") },
          "--metrics-listen",
          `127.0.0.1:${metricsPort}`,
        ),
        env,
      ),
    );
    await scrapeUntil(metricsUrl, (text) => /boxscope_ship_open_files \d/.test(text), 30_000);

    // The quiet ones: 100 lines/s each, every line saying when it was written.
    let quietSeq = 0;
    const quietWritten: number[] = [];
    const writeQuiet = () => {
      for (const path of quietLogs) {
        const at = Date.now();
        quietWritten.push(at);
        appendFileSync(
          path,
          `${dockerdLines(`quiet ${quietSeq++} ${at}`, { time: new Date(at).toISOString() })[0]}\n`,
        );
      }
    };
    const quietTimer = setInterval(writeQuiet, 1000 / QUIET_LINES_PER_S);
    await sleep(2000);

    // The noisy one, for NOISY_SECONDS.
    const writer = spawn(process.execPath, [
      "-e",
      NOISY_WRITER,
      noisyLog,
      String(NOISY_MB_PER_S),
      String(NOISY_SECONDS),
      String(NOISY_LINE_BYTES),
    ]);
    let noisyCount = "";
    writer.stdout.on("data", (d: Buffer) => {
      noisyCount += d.toString();
    });
    await new Promise((r) => writer.once("exit", r));
    const noisyLines = Number(noisyCount);
    assert.ok(
      noisyLines >= (NOISY_MB_PER_S * 1e6 * NOISY_SECONDS) / NOISY_LINE_BYTES / 2,
      `noisy lines written: ${noisyLines}`,
    );

    // While it is behind: its lag and throttled bytes say so; the quiet ones are not behind.
    const behind = await scrapeUntil(
      metricsUrl,
      (text) =>
        Number(/boxscope_ship_container_lag_seconds\{container="noisy"[^}]*\} (\S+)/.exec(text)?.[1]) >= 2,
      30_000,
    );
    assert.ok(
      Number(
        /boxscope_ship_container_throttled_bytes_total\{container="noisy"[^}]*\} (\S+)/.exec(behind)?.[1],
      ) > 0,
      "the noisy container's reads are throttled",
    );
    for (let i = 0; i < QUIET; i++) {
      const lag = Number(
        new RegExp(`boxscope_ship_container_lag_seconds\\{container="quiet-${i}"[^}]*\\} (\\S+)`).exec(
          behind,
        )?.[1],
      );
      assert.ok(lag < 2, `quiet-${i} is not behind (${lag} s)`);
    }

    // It quiets down: everything arrives.
    await sleep(3000);
    clearInterval(quietTimer);
    const expected = noisyLines + quietWritten.length;
    let values: string[] = [];
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      values = consume(broker.brokers, topic);
      if (values.length >= expected) break;
      await sleep(2000);
    }
    const noisySeqs = new Set<number>();
    const latencies: number[] = [];
    for (const v of values) {
      const cut = v.indexOf(" ");
      const appendedAt = Number(v.slice(0, cut));
      const record = JSON.parse(v.slice(cut + 1)) as { line: string };
      const noisy = /^noisy (\d+) /.exec(record.line);
      if (noisy) noisySeqs.add(Number(noisy[1]));
      const quiet = /^quiet \d+ (\d+)$/.exec(record.line);
      if (quiet) latencies.push(appendedAt - Number(quiet[1]));
    }
    assert.equal(noisySeqs.size, noisyLines, "every noisy line arrives once it quiets down");
    assert.equal(latencies.length, quietWritten.length, "every quiet line arrives");
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? Number.POSITIVE_INFINITY;
    const p50 = latencies[Math.floor(latencies.length * 0.5)];
    t.diagnostic(
      `quiet lines: ${latencies.length}, line-to-Kafka p50 ${p50} ms, p99 ${p99} ms; noisy lines ${noisyLines}`,
    );
    assert.ok(p99 < 2000, `quiet containers' p99 line-to-Kafka ${p99} ms (< 2000)`);
  });
});

/** Every record of `topic` as "<timestamp ms> <value>" (kcat, from the beginning to the end). */
function consume(brokers: string, topic: string): string[] {
  const r = spawnSync(
    "kcat",
    ["-C", "-b", brokers, "-t", topic, "-e", "-q", "-o", "beginning", "-f", "%T %s\\n"],
    {
      encoding: "utf8",
      maxBuffer: 1 << 30,
    },
  );
  if (r.status !== 0) return [];
  return r.stdout.split("\n").filter((l) => l !== "");
}
