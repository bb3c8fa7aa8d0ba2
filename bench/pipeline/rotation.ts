/** The rotation/crash scenario (rename rotation, kill -9, restart, copytruncate) through boxscope and rsyslog. */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, renameSync, symlinkSync, truncateSync } from "node:fs";
import { join } from "node:path";
import {
  appendLines,
  type BenchContext,
  boxscope,
  killAndWait,
  rsyslog,
  sleep,
  topicRecords,
} from "./common.js";

export async function benchRotation(ctx: BenchContext): Promise<void> {
  const { brokers } = ctx;
  // 5. The rotation/crash scenario through both shippers.
  console.log("\n## rotation + copytruncate + kill -9 scenario (15000 lines written in 30 rounds)");
  for (const who of ["boxscope", "rsyslog"] as const) {
    const dir = join(ctx.root, `scenario-${who}`);
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
}
