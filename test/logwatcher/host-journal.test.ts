/**
 * The host-journal follower against real journal files (written by systemd-journal-remote) and the
 * real journalctl: entries become lines, new entries follow, a stop or a SIGKILL resumes after the
 * last written cursor with nothing lost, journalctl's death is survived, the file rotates.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { pino } from "pino";
import { BoxscopeError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { type JournalFollower, startJournalFollower } from "../../pipeline/host-journal/follower.js";
import { type HostLogRecord, JournalJsonDecoder } from "../../pipeline/host-journal/journal-json.js";
import { journalFilePath } from "../../pipeline/host-journal/output-file.js";
import { appendToJournal, journalPrereq, messages } from "../helpers/journal-writer.js";
import { isRoot, requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/wait.js";

const TIMEOUT = { timeout: 180_000 };

interface Dirs {
  journal: string;
  out: string;
}

function makeDirs(t: TestContext): Dirs {
  const base = mkdtempSync(join(tmpdir(), "boxscope-test-host-journal-"));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const journal = join(base, "journal");
  mkdirSync(journal);
  return { journal, out: join(base, "out") };
}

/** A logger whose lines the test can read. */
function capturedLogger(): { logger: Logger; lines: () => string[] } {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (s: string) => lines.push(s) });
  return { logger, lines: () => lines };
}

/** The output's lines, oldest file first (journal.log.N … .1, journal.log), as raw text. */
function outputLines(out: string): string[] {
  if (!existsSync(out)) return [];
  const rotated = readdirSync(out)
    .map((name) => /^journal\.log\.(\d+)$/.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
  const lines: string[] = [];
  for (const n of [...rotated, 0]) {
    const path = journalFilePath(out, n);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, "utf8");
    // Only complete lines: a line being written is not there yet.
    lines.push(
      ...text
        .slice(0, text.lastIndexOf("\n") + 1)
        .split("\n")
        .slice(0, -1),
    );
  }
  return lines;
}

function decoded(out: string): HostLogRecord[] {
  const decoder = new JournalJsonDecoder();
  return outputLines(out).map((line) => decoder.push(line));
}

const texts = (records: HostLogRecord[]): string[] => records.filter((r) => !r.error).map((r) => r.text);

/** How long a wait for journal entries lasts: what arrives from journalctl has no time it must arrive by. */
const JOURNAL_WAIT_MS = 60_000;

async function follow(
  t: TestContext,
  options: Parameters<typeof startJournalFollower>[0],
  logger = capturedLogger().logger,
): Promise<JournalFollower> {
  const follower = await startJournalFollower(options, { logger });
  t.after(() => follower.stop());
  return follower;
}

/** journalctl processes this process started (the follower's children), by pid. */
function journalctlChildren(parent: number): number[] {
  let out = "";
  try {
    out = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(parent)], { encoding: "utf8" });
  } catch {
    return []; // ps exits 1 when there are none
  }
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([, comm]) => comm === "journalctl")
    .map(([pid]) => Number(pid));
}

test(
  "entries become lines (a binary MESSAGE too), new ones follow, a restart resumes after the last written cursor",
  TIMEOUT,
  async (t) => {
    if (!requirePrereq(t, journalPrereq().present, journalPrereq().why)) return;
    const dirs = makeDirs(t);
    const binary = Buffer.from([0x62, 0x69, 0x6e, 0xff, 0x00, 0x78]);
    await appendToJournal(dirs.journal, messages(["m1", binary, "multi\nline\n"]));
    const options = { outputDir: dirs.out, journalDirectory: dirs.journal, startAt: "beginning" as const };
    let follower = await follow(t, options);
    await waitFor("three lines", () => outputLines(dirs.out).length >= 3, JOURNAL_WAIT_MS);
    const [first, bin, multi] = decoded(dirs.out);
    assert.deepEqual(
      { ...first, time: undefined, timeMs: undefined, cursor: undefined },
      {
        time: undefined,
        timeMs: undefined,
        cursor: undefined,
        text: "m1",
        lines: 1,
        unit: "boxscope-test.service",
        identifier: "boxscope-test",
        priority: 5,
        pid: 4242,
        transport: "journal",
      },
    );
    assert.match(first?.time ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.ok(Math.abs((first?.timeMs ?? 0) - Date.now()) < 3_600_000, "the entry's own time");
    assert.match(first?.cursor ?? "", /^s=[0-9a-f]+;i=/);
    assert.match(
      outputLines(dirs.out)[1] ?? "",
      /"MESSAGE":\[98,105,110,255,0,120\]/,
      "journalctl printed bytes",
    );
    assert.equal(bin?.text, "bin\ufffd\u0000x");
    assert.equal(multi?.text, "multi\nline");
    assert.equal(statSync(dirs.out).mode & 0o777, 0o750 & ~process.umask());

    await appendToJournal(dirs.journal, messages(["m4", "m5"]));
    await waitFor(
      "the entries appended while following",
      () => outputLines(dirs.out).length >= 5,
      JOURNAL_WAIT_MS,
    );
    await follower.stop();
    assert.equal(follower.stats.exits, 0);

    await appendToJournal(dirs.journal, messages(["m6", "m7"]));
    follower = await follow(t, options);
    await waitFor(
      "the entries appended while stopped",
      () => outputLines(dirs.out).length >= 7,
      JOURNAL_WAIT_MS,
    );
    await appendToJournal(dirs.journal, messages(["m8"]));
    await waitFor("m8", () => texts(decoded(dirs.out)).includes("m8"), JOURNAL_WAIT_MS);
    await follower.stop();
    const expected = ["m1", "bin\ufffd\u0000x", "multi\nline", "m4", "m5", "m6", "m7", "m8"];
    assert.deepEqual(texts(decoded(dirs.out)), expected, "each entry once, in order");

    // What a crash in the middle of a write leaves: a cut line. It is ended, not truncated away,
    // and the entry it held comes again after the last whole line's cursor.
    const lastLine = outputLines(dirs.out).at(-1) ?? "";
    appendFileSync(journalFilePath(dirs.out), lastLine.slice(0, 40));
    await appendToJournal(dirs.journal, messages(["m9"]));
    follower = await follow(t, options);
    await waitFor("m9", () => texts(decoded(dirs.out)).includes("m9"), JOURNAL_WAIT_MS);
    await follower.stop();
    const records = decoded(dirs.out);
    assert.deepEqual(texts(records), [...expected, "m9"]);
    assert.deepEqual(
      records.filter((r) => r.error).map((r) => [r.error, r.text]),
      [["journal_json_invalid", lastLine.slice(0, 40)]],
    );
  },
);

test(
  "startAt end: only entries written after the start; a restart goes on from the last cursor",
  TIMEOUT,
  async (t) => {
    if (!requirePrereq(t, journalPrereq().present, journalPrereq().why)) return;
    const dirs = makeDirs(t);
    await appendToJournal(dirs.journal, messages(["old1", "old2", "old3"]));
    let follower = await follow(t, { outputDir: dirs.out, journalDirectory: dirs.journal });
    // journalctl has started once it sees new entries; until then each probe may come too early.
    for (let probe = 0; outputLines(dirs.out).length === 0; probe++) {
      if (probe > 200) throw new Error("no probe entry ever arrived");
      await appendToJournal(dirs.journal, messages([`probe${probe}`]));
      await sleep(200);
    }
    await follower.stop();
    const seen = texts(decoded(dirs.out));
    assert.ok(seen.length > 0 && seen.every((s) => s.startsWith("probe")), seen.join(","));
    await appendToJournal(dirs.journal, messages(["while-stopped"]));
    follower = await follow(t, { outputDir: dirs.out, journalDirectory: dirs.journal });
    await waitFor("while-stopped", () => texts(decoded(dirs.out)).includes("while-stopped"), JOURNAL_WAIT_MS);
    await follower.stop();
    const after = texts(decoded(dirs.out));
    assert.deepEqual(after, [...seen, "while-stopped"]);
  },
);

test(
  "SIGKILL of the follower's process mid-stream: the restart loses nothing and repeats nothing",
  TIMEOUT,
  async (t) => {
    if (!requirePrereq(t, journalPrereq().present, journalPrereq().why)) return;
    const dirs = makeDirs(t);
    const total = 50_000;
    const all = Array.from({ length: total }, (_, i) => `entry ${i} ${"x".repeat(150)}`);
    await appendToJournal(dirs.journal, messages(all));
    const followerUrl = pathToFileURL(
      join(import.meta.dirname, "../../pipeline/host-journal/follower.js"),
    ).href;
    const script = `
      const { startJournalFollower } = await import(${JSON.stringify(followerUrl)});
      const { pino } = await import("pino");
      await startJournalFollower(
        { outputDir: ${JSON.stringify(dirs.out)}, journalDirectory: ${JSON.stringify(dirs.journal)}, startAt: "beginning" },
        { logger: pino({ level: "silent" }) },
      );
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: "ignore",
      cwd: join(import.meta.dirname, "../.."),
    });
    t.after(() => child.kill("SIGKILL"));
    await waitFor(
      "the first megabyte",
      () => existsSync(journalFilePath(dirs.out)) && statSync(journalFilePath(dirs.out)).size > 1 << 20,
      JOURNAL_WAIT_MS,
    );
    const orphans = journalctlChildren(child.pid ?? 0);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    // journalctl would die of the broken pipe at its next write; it is ours to end, by pid.
    for (const pid of orphans) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const atKill = outputLines(dirs.out).length;
    assert.ok(atKill > 0 && atKill < total, `killed mid-stream (${atKill} of ${total} written)`);
    const follower = await follow(t, {
      outputDir: dirs.out,
      journalDirectory: dirs.journal,
      startAt: "beginning",
    });
    await waitFor("every entry", () => outputLines(dirs.out).length >= total, 120_000);
    await follower.stop();
    const records = decoded(dirs.out);
    // A write the kill interrupted can leave a cut line: ended with "\n" at the restart, it is one
    // error record, and its entry comes again whole after the cursor before it.
    const errors = records.filter((r) => r.error);
    assert.ok(errors.length <= 1 && errors.every((r) => r.error === "journal_json_invalid"));
    const got = texts(records);
    assert.equal(got.length, total, "no entry twice");
    assert.ok(
      got.every((text, i) => text === all[i]),
      "every entry, in order",
    );
  },
);

test("journalctl killed: one error line with the reason, started again, nothing lost", TIMEOUT, async (t) => {
  if (!requirePrereq(t, journalPrereq().present, journalPrereq().why)) return;
  const dirs = makeDirs(t);
  await appendToJournal(dirs.journal, messages(["before"]));
  const log = capturedLogger();
  const follower = await follow(
    t,
    { outputDir: dirs.out, journalDirectory: dirs.journal, startAt: "beginning", minRestartDelayMs: 50 },
    log.logger,
  );
  await waitFor("before", () => texts(decoded(dirs.out)).includes("before"), JOURNAL_WAIT_MS);
  const pids = journalctlChildren(process.pid);
  assert.equal(pids.length, 1, "one journalctl");
  process.kill(pids[0] ?? 0, "SIGKILL");
  await waitFor("the restart", () => follower.stats.starts >= 2, JOURNAL_WAIT_MS);
  await appendToJournal(dirs.journal, messages(["after"]));
  await waitFor("after", () => texts(decoded(dirs.out)).includes("after"), JOURNAL_WAIT_MS);
  assert.deepEqual(texts(decoded(dirs.out)), ["before", "after"]);
  assert.equal(follower.stats.exits, 1);
  const errors = log
    .lines()
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((l) => l.level >= 50);
  assert.deepEqual(
    errors.map((e) => e.msg),
    ["host journal: journalctl ended (SIGKILL); starting it again"],
  );
});

test(
  "journalctl failing at once: its stderr in each error line, restarts backed off, never a crash",
  TIMEOUT,
  async (t) => {
    if (!requirePrereq(t, journalPrereq().present, journalPrereq().why)) return;
    const dirs = makeDirs(t);
    await appendToJournal(dirs.journal, messages(["x"]));
    // A cursor journalctl cannot parse (the file damaged by hand): every run ends at once.
    mkdirSync(dirs.out);
    appendFileSync(journalFilePath(dirs.out), `${JSON.stringify({ __CURSOR: "bogus" })}\n`);
    const log = capturedLogger();
    const follower = await follow(
      t,
      { outputDir: dirs.out, journalDirectory: dirs.journal, minRestartDelayMs: 20, maxRestartDelayMs: 80 },
      log.logger,
    );
    await waitFor("four failed runs", () => follower.stats.exits >= 4, JOURNAL_WAIT_MS);
    await follower.stop();
    const errors = log
      .lines()
      .map((l) => JSON.parse(l) as { level: number; msg: string; restartInMs: number; code: number })
      .filter((l) => l.level >= 50)
      .slice(0, 4);
    for (const e of errors) {
      assert.equal(
        e.msg,
        "host journal: journalctl ended (exit code 1): Failed to seek to cursor: Invalid argument; starting it again",
      );
      assert.equal(e.code, 1);
    }
    assert.deepEqual(
      errors.map((e) => e.restartInMs),
      [20, 40, 80, 80],
      "doubling up to the bound",
    );
  },
);

test(
  "a full disk: the write error is logged with its reason, retried, and once there is room nothing is lost",
  TIMEOUT,
  async (t) => {
    const why = `${journalPrereq().why}; root, to mount a small tmpfs to fill`;
    if (!requirePrereq(t, journalPrereq().present && isRoot(), why)) return;
    const dirs = makeDirs(t);
    const total = 2000;
    const all = Array.from({ length: total }, (_, i) => `full ${i} ${"f".repeat(100)}`);
    await appendToJournal(dirs.journal, messages(all));
    mkdirSync(dirs.out);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0750", "tmpfs", dirs.out]);
    try {
      const log = capturedLogger();
      const follower = await follow(
        t,
        {
          outputDir: dirs.out,
          journalDirectory: dirs.journal,
          startAt: "beginning",
          minRestartDelayMs: 20,
          maxRestartDelayMs: 100,
        },
        log.logger,
      );
      await waitFor("two failed writes", () => follower.stats.writeErrors >= 2, JOURNAL_WAIT_MS);
      execFileSync("mount", ["-o", "remount,size=16m", dirs.out]);
      await waitFor("every entry", () => texts(decoded(dirs.out)).length >= total, JOURNAL_WAIT_MS);
      await follower.stop();
      const records = decoded(dirs.out);
      assert.deepEqual(texts(records), all, "each entry once, in order");
      const cut = records.filter((r) => r.error);
      assert.ok(
        cut.length <= 1 && cut.every((r) => r.error === "journal_json_invalid"),
        "at most the one cut line",
      );
      const errors = log
        .lines()
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level >= 50);
      assert.ok(errors.length >= 2);
      for (const e of errors) {
        assert.equal(
          e.msg,
          `host journal: cannot write ${journalFilePath(dirs.out)} (ENOSPC); starting it again`,
        );
      }
    } finally {
      execFileSync("umount", ["-l", dirs.out]);
    }
  },
);

test(
  "rotation at maxFileBytes: renamed as logrotate does, keepFiles kept, no entry lost across a rename",
  TIMEOUT,
  async (t) => {
    if (!requirePrereq(t, journalPrereq().present, journalPrereq().why)) return;
    const dirs = makeDirs(t);
    const all = Array.from({ length: 60 }, (_, i) => `line ${i} ${"r".repeat(100)}`);
    await appendToJournal(dirs.journal, messages(all.slice(0, 30)));
    const kept = await follow(t, {
      outputDir: dirs.out,
      journalDirectory: dirs.journal,
      startAt: "beginning",
      maxFileBytes: 4096,
    });
    const everything = join(dirs.out, "..", "all");
    const keptAll = await follow(t, {
      outputDir: everything,
      journalDirectory: dirs.journal,
      startAt: "beginning",
      maxFileBytes: 4096,
      keepFiles: 100,
    });
    await waitFor("the first half", () => texts(decoded(everything)).length >= 30, JOURNAL_WAIT_MS);
    await appendToJournal(dirs.journal, messages(all.slice(30)));
    await waitFor("the last entry", () => texts(decoded(dirs.out)).includes(all[59] ?? ""), JOURNAL_WAIT_MS);
    await waitFor(
      "the last entry, all kept",
      () => texts(decoded(everything)).includes(all[59] ?? ""),
      JOURNAL_WAIT_MS,
    );
    await kept.stop();
    await keptAll.stop();
    assert.deepEqual(texts(decoded(everything)), all, "every entry once across all the files");
    assert.equal(keptAll.stats.rotations, readdirSync(everything).length - 1);
    assert.ok(keptAll.stats.rotations >= 5, `${keptAll.stats.rotations} rotations`);
    assert.deepEqual(readdirSync(dirs.out).sort(), ["journal.log", "journal.log.1", "journal.log.2"]);
    // Each file ends at a line boundary at most 4096 bytes in, the next line would not have fit.
    const lineLength = Buffer.byteLength(outputLines(dirs.out)[0] ?? "") + 1;
    for (const n of [1, 2]) {
      const size = statSync(journalFilePath(dirs.out, n)).size;
      assert.ok(size <= 4096 && size + lineLength > 4096, `journal.log.${n}: ${size} bytes`);
    }
    const tail = texts(decoded(dirs.out));
    assert.deepEqual(tail, all.slice(all.length - tail.length), "the newest entries, contiguous");
    assert.ok(tail.length < all.length, "older files were deleted");
  },
);

test("an entry longer than maxLineBytes is cut to fit and comes out truncated", TIMEOUT, async (t) => {
  if (!requirePrereq(t, journalPrereq().present, journalPrereq().why)) return;
  const dirs = makeDirs(t);
  const long = "é".repeat(20_000); // 40 000 bytes, far over journalctl's 4096 without --all
  await appendToJournal(dirs.journal, messages([long, "short"]));
  const follower = await follow(t, {
    outputDir: dirs.out,
    journalDirectory: dirs.journal,
    startAt: "beginning",
    maxLineBytes: 4096,
  });
  await waitFor("both", () => outputLines(dirs.out).length >= 2, JOURNAL_WAIT_MS);
  await follower.stop();
  assert.ok(outputLines(dirs.out).every((l) => Buffer.byteLength(l) < 4096));
  const [cut, short] = decoded(dirs.out);
  assert.equal(cut?.error, undefined);
  assert.equal(cut?.truncated, true);
  assert.ok(long.startsWith(cut?.text ?? "x") && (cut?.text.length ?? 0) > 1000);
  assert.equal(Buffer.byteLength(cut?.text ?? "") + (cut?.droppedBytes ?? 0), 40_000);
  assert.equal(short?.text, "short");
  assert.equal(follower.stats.shrunk, 1);
});

test("start: a missing journalctl or journal directory is one clear error", async (t) => {
  const dirs = makeDirs(t);
  const logger = capturedLogger().logger;
  await assert.rejects(
    startJournalFollower({ outputDir: dirs.out, journalctl: "/nonexistent/journalctl" }, { logger }),
    (e: unknown) =>
      e instanceof BoxscopeError &&
      e.message ===
        "host journal: cannot run /nonexistent/journalctl: not found (is the systemd package installed?)",
  );
  await assert.rejects(
    startJournalFollower({ outputDir: dirs.out, journalDirectory: join(dirs.journal, "nope") }, { logger }),
    (e: unknown) => e instanceof BoxscopeError && /journalDirectory .*nope: ENOENT$/.test(e.message),
  );
  assert.equal(existsSync(dirs.out), false, "nothing made before the start failed");
});
