import assert from "node:assert/strict";
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
import { join } from "node:path";
import { test } from "node:test";
import { kafkaPrereq, startKafka } from "../helpers/kafka.js";
import { requirePrereq } from "../helpers/prereq.js";
import { CliProcess, fileState, shipArgs, sleep, waitAcked } from "./harness.js";

const kafkaOk = kafkaPrereq();

const lines = (from: number, to: number): string => {
  let s = "";
  for (let i = from; i <= to; i++) s += `line ${i}\n`;
  return s;
};

// Without the stop deadline, batches sent to a broker that went away wait out librdkafka's message
// timeout (30 s): a stop took 32 s, past what Kubernetes waits (30 s) before SIGKILL.
test("ship: a stop while Kafka is down closes the producer at the stop deadline; positions cover only what Kafka acknowledged", {
  timeout: 180_000,
}, async (t) => {
  if (!requirePrereq(t, kafkaOk.present, kafkaOk.why)) return;
  const kafka = await startKafka();
  t.after(() => kafka.destroy());
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-ship-stop-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "logs", "c1"), { recursive: true });
  mkdirSync(join(dir, "spool"));
  const file = join(dir, "logs", "c1", "app.log");
  writeFileSync(file, lines(1, 1000));
  symlinkSync(file, join(dir, "spool", "c1__app.log"));
  const positions = join(dir, "positions.json");
  const p = new CliProcess(
    shipArgs({
      spool: join(dir, "spool"),
      logRoot: join(dir, "logs"),
      brokers: kafka.brokers,
      positions,
      topic: "ship-stop",
    }),
  );
  t.after(() => p.kill9());
  const acked = fileState(file);
  await waitAcked(positions, acked, 60_000);

  await kafka.stop();
  appendFileSync(file, lines(1001, 2000));
  // Read and sent within a few poll intervals (250 ms); Kafka is gone, so it stays in flight.
  await sleep(3000);
  const stopAt = Date.now();
  assert.equal(await p.term(), 0, p.stderr.slice(-3000));
  const stopMs = Date.now() - stopAt;
  assert.match(
    p.stderr,
    /Kafka did not acknowledge everything in flight before the stop deadline/,
    `stopped in ${stopMs} ms without reaching the deadline path:\n${p.stderr.slice(-3000)}`,
  );
  const saved = JSON.parse(readFileSync(positions, "utf8")) as { files: Record<string, { offset: number }> };
  assert.deepEqual(
    Object.values(saved.files).map((e) => e.offset),
    [acked.size],
    "the lines Kafka never acknowledged are not covered (they are read again at the next start)",
  );
});
