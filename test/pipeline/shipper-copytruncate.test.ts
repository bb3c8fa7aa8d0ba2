import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, type TestContext, test } from "node:test";
import { type KafkaBroker, kafkaPrereq, startKafka, topicValues } from "../helpers/kafka.js";
import { hasCommand, requirePrereq } from "../helpers/prereq.js";
import { CliProcess, fileState, shipArgs, sleep, waitAcked } from "./harness.js";

/**
 * copytruncate racing the shipper: lines written after the shipper's last read and before
 * the truncation exist only in the copy. The shipper must read them from the copy under the file's
 * original identity, so each line reaches Kafka at exactly its original (fileId, offset). Also the
 * `replayed` flag: set exactly on records re-read after a restart.
 */

const kafkaOk = kafkaPrereq();
const kcatOk = hasCommand("kcat");

interface Shipped {
  fileId: string;
  offset: number;
  line: string;
  file: string;
  replayed?: boolean;
}

/** The test's model of one log file: every line with the identity and offset it was written at. */
class LogFile {
  readonly dev: number;
  readonly ino: number;
  /** "fileId offset line" of every line ever written. */
  readonly expected = new Set<string>();
  private size = 0;
  private fileId = "";
  private seq = 0;

  constructor(
    readonly path: string,
    private readonly tag: string,
  ) {
    writeFileSync(path, "");
    const st = statSync(path);
    this.dev = st.dev;
    this.ino = st.ino;
  }

  /** Appends `n` lines; returns the byte offset of the first one. */
  append(n: number): number {
    const start = this.size;
    let text = "";
    for (let i = 0; i < n; i++) {
      const line = `${this.tag} seq=${this.seq++} msg="copytruncate test line"`;
      // The fingerprint of a file whose first line is under 64 bytes: sha1 of that line (with "\n").
      if (this.size === 0 && text === "")
        this.fileId = `${this.dev}:${this.ino}:${createHash("sha1").update(`${line}\n`).digest("hex").slice(0, 16)}`;
      this.expected.add(`${this.fileId} ${this.size + Buffer.byteLength(text)} ${line}`);
      text += `${line}\n`;
    }
    appendFileSync(this.path, text);
    this.size += Buffer.byteLength(text);
    return start;
  }

  /** logrotate's copytruncate: copy to `copyName`, truncate in place (same inode). */
  copytruncate(copyName: string): void {
    copyFileSync(this.path, join(this.path, "..", copyName));
    truncateSync(this.path, 0);
    this.size = 0;
  }

  get currentFileId(): string {
    return this.fileId;
  }
}

function consume(brokers: string, topic: string): Shipped[] {
  return topicValues(brokers, topic).map((l) => JSON.parse(l) as Shipped);
}

/** Polls Kafka until `done(records)` holds; returns the records. */
async function waitRecords(
  brokers: string,
  topic: string,
  done: (got: Shipped[]) => boolean,
  timeoutMs: number,
  diag: () => string,
): Promise<Shipped[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = consume(brokers, topic);
    if (done(got)) return got;
    if (Date.now() > deadline)
      throw new Error(`Kafka topic ${topic} holds ${got.length} records; condition not met\n${diag()}`);
    await sleep(500);
  }
}

const key = (r: Shipped) => `${r.fileId} ${r.offset} ${r.line}`;

/** Every line exactly at its original (fileId, offset), none missing, nothing else. */
function assertExactlyOnceById(got: Shipped[], f: LogFile, diag: () => string): void {
  const distinct = new Set(got.map(key));
  const missing = [...f.expected].filter((e) => !distinct.has(e));
  const unexpected = [...distinct].filter((d) => !f.expected.has(d));
  assert.deepEqual(
    { missing: missing.length, unexpected: unexpected.length },
    { missing: 0, unexpected: 0 },
    `missing ${JSON.stringify(missing.slice(0, 3))}; unexpected ${JSON.stringify(unexpected.slice(0, 3))}\n${diag()}`,
  );
}

describe("ship: copytruncate races and the replayed flag (real Kafka)", { timeout: 300_000 }, () => {
  let kafka: KafkaBroker | undefined;
  before(async () => {
    if (kafkaOk.present) kafka = await startKafka();
  });
  after(async () => {
    await kafka?.destroy();
  });

  /** A log tree with c1/app.log linked into a spool, and a ship command line for it. */
  function setup(t: TestContext, env: Record<string, string> = {}) {
    if (!kafka) throw new Error("Kafka did not start");
    const root = mkdtempSync(join(tmpdir(), "boxscope-test-pipeline-copytruncate-"));
    mkdirSync(join(root, "logs", "c1"), { recursive: true });
    mkdirSync(join(root, "spool"));
    const file = new LogFile(join(root, "logs", "c1", "app.log"), `c1-${randomBytes(3).toString("hex")}`);
    symlinkSync(file.path, join(root, "spool", "c1__app.log"));
    const topic = `copytruncate-${randomBytes(4).toString("hex")}`;
    const positions = join(root, "positions.json");
    const procs: CliProcess[] = [];
    const brokers = kafka.brokers;
    const ship = () => {
      const p = new CliProcess(
        shipArgs(
          { spool: join(root, "spool"), logRoot: join(root, "logs"), brokers, topic, positions },
          "--poll-interval-ms",
          "100",
          "--partial-flush-ms",
          "1000",
        ),
        { BOXSCOPE_SHIP_ORPHAN_CLOSE_MS: "1000", BOXSCOPE_LOG_LEVEL: "info", ...env },
      );
      procs.push(p);
      return p;
    };
    t.after(async () => {
      for (const p of procs) {
        if (p.alive) p.child.kill("SIGCONT");
        await p.kill9();
      }
      rmSync(root, { recursive: true, force: true });
    });
    const diag = () => procs.map((p, i) => `--- ship #${i + 1}:\n${p.stderr.slice(-3000)}`).join("\n");
    /** Waits until the topic holds every line written so far (by id); returns the records. */
    const waitAllShipped = () =>
      waitRecords(brokers, topic, (r) => new Set(r.map(key)).size >= file.expected.size, 60_000, diag);
    return { root, file, topic, positions, brokers, ship, diag, waitAllShipped };
  }

  test("kill -9, lines appended, copytruncate, more lines, restart: every line at its original (fileId, offset)", {
    timeout: 120_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why)) return;
    if (!requirePrereq(t, kcatOk, "kcat (Debian kcat) reads the topic")) return;
    const { file, topic, positions, brokers, ship, diag, waitAllShipped } = setup(t);
    file.append(300);
    let p = ship();
    await waitAcked(positions, fileState(file.path), 60_000);
    await p.kill9();
    // Written while the shipper is down: after its last acknowledged position, before the truncation.
    const unreadFrom = file.append(200);
    const oldId = file.currentFileId;
    file.copytruncate("app.log.1");
    file.append(150);
    p = ship();
    const got = await waitAllShipped();
    await sleep(1500); // nothing late
    const all = consume(brokers, topic);
    assertExactlyOnceById(all, file, diag);
    assert.ok(got.length > 0);
    // The 200 lines came from the copy, under the original identity and flagged as re-read.
    const fromCopy = all.filter((r) => r.fileId === oldId && r.offset >= unreadFrom);
    assert.equal(fromCopy.length, 200, diag());
    assert.ok(
      fromCopy.every((r) => r.file.endsWith("app.log.1") && r.replayed === true),
      JSON.stringify(fromCopy[0]),
    );
    assert.equal(all.filter((r) => r.fileId !== oldId && r.replayed).length, 0);
    assert.match(p.stderr, /reading what it held past the last read from its rotated copy/);
    assert.equal(await p.term(), 0, diag());
  });

  test("copytruncate while down and no write since: the copy is read at start, not at the next write", {
    timeout: 120_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why)) return;
    if (!requirePrereq(t, kcatOk, "kcat (Debian kcat) reads the topic")) return;
    const { file, topic, positions, brokers, ship, diag, waitAllShipped } = setup(t);
    file.append(100);
    let p = ship();
    await waitAcked(positions, fileState(file.path), 60_000);
    await p.kill9();
    file.append(80);
    file.copytruncate("app.log.1");
    p = ship();
    // The file stays empty: the 80 lines must come from the copy all the same.
    await waitAllShipped();
    file.append(20);
    await waitAllShipped();
    await sleep(1500);
    assertExactlyOnceById(consume(brokers, topic), file, diag);
    assert.equal(await p.term(), 0, diag());
  });

  test("while running: lines written right before a copytruncate are read from the copy (truncation and rewrite)", {
    timeout: 120_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why)) return;
    if (!requirePrereq(t, kcatOk, "kcat (Debian kcat) reads the topic")) return;
    const { file, topic, positions, brokers, ship, diag, waitAllShipped } = setup(t);
    file.append(300);
    const p = ship();
    await waitAcked(positions, fileState(file.path), 60_000);
    // The shipper is frozen (SIGSTOP) so that it cannot read the lines before the truncation:
    // the race made certain. First the new content stays shorter than the old position (seen as a
    // truncation), then it outgrows it before the shipper looks (seen as a rewritten head).
    const cycles = [
      ["app.log.1", 100, /"reason":"size \d+ < position \d+"/],
      ["app.log-20261125", 900, /"reason":"head rewritten"/],
    ] as const;
    for (const [i, [copyName, after, reason]] of cycles.entries()) {
      p.child.kill("SIGSTOP");
      file.append(200);
      file.copytruncate(copyName);
      file.append(after);
      p.child.kill("SIGCONT");
      // Seen before the next cycle (the old generation's position would satisfy waitAcked at once).
      await p.waitForStderr(/reading what it held past the last read from its rotated copy/, 30_000, i + 1);
      assert.match(
        p.stderr
          .split("\n")
          .filter((l) => l.includes("rotated copy"))
          .at(-1) ?? "",
        reason,
      );
      await waitAcked(positions, fileState(file.path), 60_000);
    }
    await waitAllShipped();
    await sleep(1500);
    const all = consume(brokers, topic);
    assertExactlyOnceById(all, file, diag);
    assert.equal(all.filter((r) => r.replayed).length, 0, "nothing is re-read while running");
    assert.equal(
      (p.stderr.match(/reading what it held past the last read from its rotated copy/g) ?? []).length,
      2,
      diag(),
    );
    assert.doesNotMatch(p.stderr, /no rotated copy found/);
    assert.equal(await p.term(), 0, diag());
  });

  test("replayed: true exactly on records re-read after a restart (persisted position .. size at start)", {
    timeout: 120_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why)) return;
    if (!requirePrereq(t, kcatOk, "kcat (Debian kcat) reads the topic")) return;
    // Positions are written when the file is first tracked and then not for 10 min: after the
    // kill -9 the persisted position lags what Kafka already has, as after a real crash.
    const { file, topic, positions, brokers, ship, diag } = setup(t, {
      BOXSCOPE_SHIP_POSITIONS_FLUSH_MS: "600000",
    });
    file.append(100);
    let p = ship();
    await waitRecords(brokers, topic, (r) => r.length >= 100, 60_000, diag);
    await p.kill9();
    const doc = JSON.parse(readFileSync(positions, "utf8")) as { files: Record<string, { offset: number }> };
    const persisted = doc.files[file.currentFileId]?.offset;
    assert.equal(typeof persisted, "number", JSON.stringify(doc));
    file.append(50); // while down: below the size seen at start-up, so flagged too
    const sizeAtStart = statSync(file.path).size;
    p = ship();
    const reread = [...file.expected].filter((e) => Number(e.split(" ")[1]) >= (persisted as number)).length;
    await waitRecords(brokers, topic, (r) => r.length >= 100 + reread, 60_000, diag);
    file.append(30); // after the restart: new, not flagged
    await waitRecords(brokers, topic, (r) => r.length >= 100 + reread + 30, 60_000, diag);
    await sleep(1500);
    const all = consume(brokers, topic);
    assert.equal(all.length, 100 + reread + 30, diag());
    assertExactlyOnceById(all, file, diag);
    // One partition (one container key), in send order: the first process's 100 records first.
    const first = all.slice(0, 100);
    const second = all.slice(100);
    assert.equal(first.filter((r) => r.replayed !== undefined).length, 0);
    for (const r of second) {
      const shouldBe = r.offset >= (persisted as number) && r.offset < sizeAtStart;
      assert.equal(r.replayed === true, shouldBe, `offset ${r.offset}: ${JSON.stringify(r)}`);
      if (!shouldBe) assert.equal("replayed" in r, false, "absent, not false, on new records");
    }
    assert.equal(second.filter((r) => r.replayed).length, reread);
    assert.equal(await p.term(), 0, diag());
  });
});
