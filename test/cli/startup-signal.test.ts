import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "../helpers/paths.js";

// The logwatcher's start-up reconcile walks the whole log tree before the service is up, which
// gives a start-up window wide enough to land a signal in, every time.
const DIRS = 250;
const FILES_PER_DIR = 20;

test("a SIGTERM during start-up stops the command cleanly once started (exit 0, not killed)", {
  timeout: 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-startup-signal-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logRoot = join(dir, "log");
  const spool = join(dir, "spool");
  for (let d = 0; d < DIRS; d++) {
    mkdirSync(join(logRoot, `c${d}`), { recursive: true });
    for (let f = 0; f < FILES_PER_DIR; f++) writeFileSync(join(logRoot, `c${d}`, `f${f}.log`), "x\n");
  }
  let stderr = "";
  const child = spawn(
    process.execPath,
    [join(repoRoot, "bin/boxscope.js"), "logwatcher", "--log-root", logRoot, "--spool", spool],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, BOXSCOPE_LOG_LEVEL: "info" } },
  );
  child.stderr.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  const deadline = Date.now() + 30_000;
  while (!stderr.includes('"msg":"watching"')) {
    if (Date.now() > deadline) throw new Error(`logwatcher did not start watching:\n${stderr}`);
    await sleep(5);
  }
  child.kill("SIGTERM");
  const sentBeforeReady = !/"why":"start".*"msg":"reconciled"/.test(stderr);
  const { code, signal } = await exited;

  assert.ok(sentBeforeReady, "the signal must land before the start-up reconcile ends");
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, stderr);
  assert.match(stderr, /"msg":"stopping"/);
  assert.match(stderr, /"msg":"stopped"/);
});
