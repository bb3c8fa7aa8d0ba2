import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "../helpers/paths.js";
import { requirePrereq } from "../helpers/prereq.js";
import { makeDirs, spawnLogwatcher, waitForLog, waitForSpool } from "./tree.js";

const TIMEOUT = { timeout: 120_000 };

function killOnExit(t: TestContext, child: ReturnType<typeof spawn>): void {
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
}

const exited = (child: ReturnType<typeof spawn>): Promise<{ code: number | null; signal: string | null }> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
    : new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

test(
  "SIGKILL mid-burst, three times: each restart repairs the spool to exactly the log files",
  TIMEOUT,
  async (t) => {
    const { root, spool } = makeDirs(t);
    for (let round = 0; round < 3; round++) {
      const lw = spawnLogwatcher(["--log-root", root, "--spool", spool, "--log-level", "debug"]);
      killOnExit(t, lw.child);
      await waitForLog(lw.stderr, "reconciled");
      for (let i = 0; i < 5; i++) {
        mkdirSync(join(root, `pre${round}`, `d${i}`), { recursive: true });
        writeFileSync(join(root, `pre${round}`, `d${i}`, "p.log"), "p\n");
      }
      const linked = await waitForSpool(root, spool);
      assert.deepEqual(linked.actual, linked.expected, `round ${round}: before the burst`);
      // Burst: new containers with nested files, deletions and whole-container removals, while the
      // watcher is killed partway through (after a round-dependent number of writes).
      const killAfter = 100 + round * 150; // of 480 writes
      let written = 0;
      const killed = (async () => {
        while (written < killAfter) await sleep(1);
        lw.child.kill("SIGKILL");
      })();
      for (let c = 0; c < 12; c++) {
        const dir = join(root, `r${round}c${c}`, "app", `w${c % 3}`);
        mkdirSync(dir, { recursive: true });
        await Promise.all(
          Array.from({ length: 40 }, async (_, i) => {
            await writeFile(join(dir, `f${i}.log`), `r${round} c${c} f${i}\n`);
            written++;
          }),
        );
        if (c % 4 === 3) rmSync(join(root, `r${round}c${c - 1}`), { recursive: true });
        if (round > 0 && c === 5) rmSync(join(root, `r${round - 1}c0`), { recursive: true });
      }
      await killed;
      assert.equal((await exited(lw.child)).signal, "SIGKILL");
      rmSync(join(root, `pre${round}`), { recursive: true }); // its 5 links are now stale
      // Damage only a dead watcher could leave: nothing to repair from events; the restart must.
      const restart = spawnLogwatcher(["--log-root", root, "--spool", spool]);
      killOnExit(t, restart.child);
      await waitForLog(restart.stderr, "reconciled");
      assert.match(restart.stderr(), /"created":[1-9]/, "the restart had missing links to repair");
      assert.match(restart.stderr(), /"removed":([5-9]|\d\d)/, "and stale links to remove");
      const { expected, actual } = await waitForSpool(root, spool);
      assert.deepEqual(actual, expected, `round ${round}: spool after kill + restart`);
      assert.ok(expected.length > 0);
      assert.deepEqual(readdirSync(join(spool, ".boxscope-tmp")), [], "no half-made links remain");
      restart.child.kill("SIGTERM");
      assert.deepEqual(await exited(restart.child), { code: 0, signal: null }, "clean exit 0 on SIGTERM");
    }
  },
);

test("CLI: bad input is one clear line and a non-zero exit", TIMEOUT, async (t) => {
  const { root, spool } = makeDirs(t);
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [join(repoRoot, "bin/boxscope.js"), "logwatcher", ...args], {
      encoding: "utf8",
    });
  const r1 = run("--log-root", root, "--spool", spool, "--reconcile-interval-seconds", "soon");
  assert.equal(r1.status, 2);
  assert.equal(
    r1.stderr.trim(),
    'boxscope: --reconcile-interval-seconds: expected a positive number, got "soon"',
  );
  const r2 = run("--log-root", join(root, "missing"), "--spool", spool);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr.trim().split("\n").at(-1) ?? "", /^boxscope: logwatcher logRoot .*missing: ENOENT$/);
  const conf = join(root, "..", "boxscope.yaml");
  writeFileSync(conf, "logwatcher:\n  include: '*.log'\n");
  const r3 = spawnSync(
    process.execPath,
    [join(repoRoot, "bin/boxscope.js"), "--config", conf, "logwatcher"],
    {
      encoding: "utf8",
    },
  );
  assert.equal(r3.status, 2);
  assert.match(r3.stderr, /config logwatcher\.include: /);
});

test("inotify watches run out: said clearly, subtree polled, no file missed", TIMEOUT, async (t) => {
  // A user namespace has its own inotify limit (/proc/sys/user/max_inotify_watches, Linux ≥ 5.11),
  // so the test lowers it for the watcher alone: other processes on the machine are not affected.
  const probe = spawnSync("unshare", [
    "--user",
    "--map-root-user",
    "sh",
    "-c",
    "echo 9 > /proc/sys/user/max_inotify_watches",
  ]);
  if (!requirePrereq(t, probe.status === 0, "needs unshare --user and a per-namespace inotify limit")) return;
  const { root, spool } = makeDirs(t);
  for (let c = 0; c < 6; c++) {
    mkdirSync(join(root, `c${c}`, "a", "b"), { recursive: true });
    writeFileSync(join(root, `c${c}`, "a", "b", "old.log"), "x\n");
  }
  const driver = join(repoRoot, "dist/test/logwatcher/run-service.js");
  const child = spawn(
    "unshare",
    [
      "--user",
      "--map-root-user",
      "sh",
      "-c",
      'echo 9 > /proc/sys/user/max_inotify_watches && exec "$@"',
      "sh",
    ].concat([process.execPath, driver, root, spool, "100"]),
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  killOnExit(t, child);
  let err = "";
  let out = "";
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await waitForLog(() => err, "reconciled");
  await waitForLog(
    () => err,
    "inotify watches exhausted (raise fs.inotify.max_user_watches); polling this subtree instead",
  );
  // The catch-up pass that follows the fallback is done: from here on only watching finds files.
  const deadline = Date.now() + 20_000;
  while (!err.includes('"why":"polling fallback"') && Date.now() < deadline) await sleep(25);
  assert.ok(err.includes('"why":"polling fallback"'), err);
  // New files everywhere, including new deep directories, after the limit was hit.
  for (let c = 0; c < 6; c++) {
    mkdirSync(join(root, `c${c}`, "a", "b", "new", "deeper"), { recursive: true });
    writeFileSync(join(root, `c${c}`, "a", "b", "new", "deeper", "n.log"), "y\n");
    writeFileSync(join(root, `c${c}`, "top.log"), "z\n");
  }
  mkdirSync(join(root, "late", "x"), { recursive: true });
  writeFileSync(join(root, "late", "x", "l.log"), "w\n");
  const { expected, actual } = await waitForSpool(root, spool);
  assert.deepEqual(actual, expected, "every file linked despite the exhausted inotify limit");
  assert.equal(expected.length, 6 * 3 + 1);
  child.kill("SIGTERM");
  assert.deepEqual(await exited(child), { code: 0, signal: null });
  const polling = Number(/^boxscope_logwatcher_polling_subtrees (\d+)$/m.exec(out)?.[1]);
  assert.ok(polling >= 1, `polling_subtrees=${polling}\n${out}`);
  assert.match(out, /boxscope_logwatcher_errors_total\{reason="inotify_watches_exhausted"\} [1-9]/);
});
