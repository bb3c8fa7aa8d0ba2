import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout } from "node:timers/promises";
import { freePort } from "../helpers/kafka.js";
import { CliProcess, shipArgs, sleep } from "./harness.js";

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-pipeline-bad-"));
  mkdirSync(join(dir, "spool"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("ship: an unreachable broker at start is one clear error line and a retry, not a crash", {
  timeout: 60_000,
}, async (t) => {
  const dir = scratch(t);
  const port = await freePort();
  const p = new CliProcess(
    shipArgs({ spool: join(dir, "spool"), brokers: `127.0.0.1:${port}`, positions: join(dir, "pos.json") }),
  );
  t.after(() => p.kill9());
  await p.waitForStderr(
    new RegExp(`cannot reach Kafka brokers 127\\.0\\.0\\.1:${port}: .*retrying`),
    30_000,
    2,
  );
  assert.ok(p.alive);
  assert.equal(await p.term(), 0, p.stderr);
});

test("ship: a SIGTERM at any moment of start-up, Kafka unreachable, exits 0", {
  timeout: 60_000,
}, async (t) => {
  // A stop that lands while the Kafka client is still loading once left a producer behind whose
  // threads kept the process alive. The SIGTERMs here sweep that window: each is sent this many
  // milliseconds after the positions are loaded, the moment the client starts to load.
  const delaysMs = [0, 5, 10, 20, 40, 80, 160, 320];
  const port = await freePort();
  const runs = delaysMs.map(async (delayMs) => {
    const dir = scratch(t);
    const positions = join(dir, "pos.json");
    writeFileSync(positions, JSON.stringify({ version: 1, files: {} }));
    const p = new CliProcess(
      shipArgs({ spool: join(dir, "spool"), brokers: `127.0.0.1:${port}`, positions }),
    );
    t.after(() => p.kill9());
    await new Promise<void>((resolve) => {
      const onData = () => {
        if (!p.stderr.includes("positions loaded")) return;
        p.child.stderr?.off("data", onData);
        void setTimeout(delayMs).then(resolve);
      };
      p.child.stderr?.on("data", onData);
    });
    const exited = await Promise.race([
      p.term(),
      setTimeout(30_000, "still running 30 s after SIGTERM", { ref: false }),
    ]);
    return { delayMs, exited, stderr: p.stderr };
  });
  for (const r of await Promise.all(runs))
    assert.equal(r.exited, 0, `SIGTERM ${r.delayMs} ms in:\n${r.stderr}`);
});

test("index: an unreachable broker and Elasticsearch at start are each a clear error line and a retry, not a crash", {
  timeout: 60_000,
}, async (t) => {
  const port = await freePort();
  const kport = await freePort();
  const p = new CliProcess([
    "index",
    "--brokers",
    `127.0.0.1:${kport}`,
    "--elasticsearch",
    `http://127.0.0.1:${port}`,
  ]);
  t.after(() => p.kill9());
  await p.waitForStderr(
    new RegExp(`cannot reach Elasticsearch at http://127\\.0\\.0\\.1:${port}: .*retrying`),
    30_000,
    2,
  );
  await p.waitForStderr(
    new RegExp(`cannot reach Kafka brokers at 127\\.0\\.0\\.1:${kport}: .*retrying`),
    30_000,
    2,
  );
  assert.ok(p.alive);
  assert.equal(await p.term(), 0, p.stderr);
});

test("ship: a corrupt positions file stops the start with the file and the recovery named; nothing is re-read", {
  timeout: 60_000,
}, async (t) => {
  const dir = scratch(t);
  const positions = join(dir, "pos.json");
  writeFileSync(positions, '{"version":1,"files":{"1:2:ab":{"dev":1,');
  const port = await freePort();
  const p = new CliProcess(shipArgs({ spool: join(dir, "spool"), brokers: `127.0.0.1:${port}`, positions }));
  t.after(() => p.kill9());
  assert.equal(await p.exited, 1);
  const lines = p.stderr.trim().split("\n");
  assert.equal(lines.length, 1, p.stderr);
  assert.match(
    lines[0] ?? "",
    new RegExp(`positions file ${positions} is corrupt \\(invalid JSON.*--positions-recover=bak`),
  );
  assert.equal(
    readFileSync(positions, "utf8"),
    '{"version":1,"files":{"1:2:ab":{"dev":1,',
    "the corrupt file is left for inspection",
  );
});

test("ship: --positions-recover=bak resumes from the previous generation", { timeout: 60_000 }, async (t) => {
  const dir = scratch(t);
  const positions = join(dir, "pos.json");
  writeFileSync(positions, "\u0000\u0000garbage");
  const entry = {
    dev: 1,
    ino: 2,
    fpHash: "ab",
    fpLength: 3,
    offset: 42,
    path: "/x/c1/a.log",
    container: "c1",
    seenAt: Date.now(),
  };
  writeFileSync(`${positions}.bak`, JSON.stringify({ version: 1, files: { "1:2:ab": entry } }));
  const port = await freePort();
  const p = new CliProcess(
    shipArgs(
      { spool: join(dir, "spool"), brokers: `127.0.0.1:${port}`, positions },
      "--positions-recover",
      "bak",
    ),
  );
  t.after(() => p.kill9());
  await p.waitForStderr(/positions loaded/, 30_000);
  assert.match(p.stderr, /pos\.json\.bak.*"files":1/);
  assert.equal(await p.term(), 0, p.stderr);
  const saved = JSON.parse(readFileSync(positions, "utf8")) as { files: Record<string, { offset: number }> };
  assert.equal(saved.files["1:2:ab"]?.offset, 42, "the recovered positions are written back whole");
});

test("ship: a bad option value is one line naming the key, exit 2", async (t) => {
  const dir = scratch(t);
  const p = new CliProcess(["ship", "--spool", join(dir, "spool"), "--positions-recover", "sideways"]);
  assert.equal(await p.exited, 2);
  assert.match(p.stderr, /^boxscope: config ship\.positionsRecover: .*\n$/);
  const q = new CliProcess(["ship", "--brokers", "not a broker"]);
  assert.equal(await q.exited, 2);
  assert.match(q.stderr, /config ship\.brokers\.0: expected HOST:PORT/);
  // zstd is not offered: the librdkafka built here has no zstd (docs/pipeline.md, Compression).
  const z = new CliProcess(["ship", "--compression", "zstd"]);
  assert.equal(await z.exited, 2);
  assert.match(z.stderr, /^boxscope: config ship\.compression: .*"lz4".*\n$/);
});

test("ship: with Kafka unreachable, reading stops at the in-flight bound and no position advances", {
  timeout: 60_000,
}, async (t) => {
  const dir = scratch(t);
  const logs = join(dir, "logs", "c1");
  mkdirSync(logs, { recursive: true });
  // 64 MiB of lines: far more than the in-flight bound (16 batches of at most 768 KiB).
  const line = `${"x".repeat(120)}\n`;
  writeFileSync(join(logs, "big.log"), line.repeat((64 * 1024 * 1024) / line.length));
  symlinkSync(join(logs, "big.log"), join(dir, "spool", "c1__big.log"));
  const positions = join(dir, "pos.json");
  const port = await freePort();
  const p = new CliProcess(
    shipArgs({
      spool: join(dir, "spool"),
      logRoot: join(dir, "logs"),
      brokers: `127.0.0.1:${port}`,
      positions,
    }),
  );
  t.after(() => p.kill9());
  await p.waitForStderr(/tracking new file/, 30_000);
  await p.waitForStderr(/cannot reach Kafka brokers/, 30_000, 2);
  await sleep(2000);
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.child.pid}/status`, "utf8"))?.[1]);
  assert.ok(rssKiB < 200 * 1024, `shipper RSS ${rssKiB} KiB with a 64 MiB backlog: reading did not pause`);
  assert.equal(await p.term(), 0, p.stderr);
  const saved = JSON.parse(readFileSync(positions, "utf8")) as { files: Record<string, { offset: number }> };
  assert.deepEqual(
    Object.values(saved.files).map((e) => e.offset),
    [0],
    "nothing acknowledged, nothing advanced",
  );
});
