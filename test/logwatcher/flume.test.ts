import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/logger.js";
import { logwatcherConfigSchema } from "../../pipeline/spool/config.js";
import { startLogwatcher } from "../../pipeline/spool/service.js";
import { flumeHome, type RunningFlume, startFlume } from "../helpers/flume.js";
import { requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/wait.js";
import { makeDirs } from "./tree.js";

/**
 * The consumer the field reports used: Flume's TAILDIR source cannot follow files in nested
 * directories, so it reads the flat spool. Every line of every file must come out of its
 * file_roll sink exactly once, including files created deep in the tree after both started.
 */
test("Flume 1.11 TAILDIR reads every line of every file through the spool", {
  timeout: 300_000,
}, async (t) => {
  const flume = flumeHome();
  if (!requirePrereq(t, "home" in flume, "missing" in flume ? flume.missing : "")) return;
  if (!("home" in flume)) return;
  const { base, root, spool } = makeDirs(t);
  const written: string[] = [];
  const append = (rel: string, n: number): void => {
    const path = join(root, rel);
    mkdirSync(join(path, ".."), { recursive: true });
    const lines = Array.from({ length: n }, (_, i) => `${rel} line ${written.length + i}`);
    appendFileSync(path, `${lines.join("\n")}\n`);
    written.push(...lines);
  };
  append("c1/app.log", 50);
  append("c2/sub/worker.log", 20);

  const svc = await startLogwatcher(
    logwatcherConfigSchema.parse({ dockerLogs: "off", podLogs: "off", logRoot: root, spool }),
    {
      logger: silentLogger(),
      registry: new Registry(),
    },
  );
  t.after(() => svc.stop());
  const work = join(base, "flume");
  mkdirSync(work);
  let agent: RunningFlume | undefined;
  t.after(() => agent?.stop());
  agent = await startFlume(flume.home, work, `${spool}/.*`);
  const a = agent;
  const caughtUp = async (what: string): Promise<void> => {
    await waitFor(
      `every line at Flume after: ${what}`,
      () => {
        assert.ok(
          a.lines().length >= written.length,
          `${a.lines().length} of ${written.length} lines; Flume's log:\n${a.log().slice(-3000)}`,
        );
        return true;
      },
      60_000,
    );
    await sleep(1500); // anything beyond the expected lines (a duplicate) would show up here
    assert.deepEqual(
      [...a.lines()].sort(),
      [...written].sort(),
      `Flume output after: ${what}\n${a.log().slice(-3000)}`,
    );
  };
  await caughtUp("files present at start");

  // New containers after start, at depth 1 and 12, plus appends to existing files.
  const deep = Array.from({ length: 11 }, (_, i) => `l${i + 1}`).join("/");
  append("c3/new.log", 30);
  append(`c4/${deep}/deep.log`, 40);
  append("c1/app.log", 25);
  append("容器/日志.log", 5);
  await caughtUp("new containers, deep files, appends");
  append(`c4/${deep}/deep.log`, 10);
  append("c3/new.log", 10);
  await caughtUp("more appends");

  // Rename rotation: the old generation was read; the new x.log behind the same link is read from 0.
  renameSync(join(root, "c1/app.log"), join(root, "c1/app.log.1"));
  append("c1/app.log", 15);
  await caughtUp("rename rotation");

  // TAILDIR's documented limit, shown for real: a rotated name that still matches the include
  // patterns gets its own link, i.e. a known inode under a new path, and TAILDIR reads it again
  // from byte 0. This is why the default patterns keep rotated names (x.log.1) out of the spool.
  const before = written.length;
  renameSync(join(root, "c3/new.log"), join(root, "c3/new-rotated.log"));
  const dup = written.filter((l) => l.startsWith("c3/new.log "));
  written.push(...dup);
  await caughtUp("rotation to a name that still matches: every line of it twice");
  assert.equal(written.length, before + 40);
  // Before the scratch directory goes (its hook runs first): a Flume still rolling files into it
  // would make the removal fail with ENOTEMPTY.
  await a.stop();
});
