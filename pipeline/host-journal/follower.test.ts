import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BoxscopeError } from "../../common/errors.js";
import { silentLogger } from "../../common/logger.js";
import { JOURNAL_OUTPUT_FIELDS, journalctlArgs, startJournalFollower } from "./follower.js";

const common = [
  "--follow",
  "--output=json",
  "--all",
  "--no-pager",
  `--output-fields=${JOURNAL_OUTPUT_FIELDS.join(",")}`,
];

test("journalctl's arguments: after the cursor when there is one, else where startAt says", () => {
  const system = { journalDirectory: undefined, startAt: "end" as const };
  assert.deepEqual(journalctlArgs(system, undefined), [...common, "--lines=0"]);
  assert.deepEqual(journalctlArgs({ ...system, startAt: "beginning" }, undefined), [...common, "--no-tail"]);
  assert.deepEqual(journalctlArgs(system, "s=1;i=2"), [...common, "--after-cursor=s=1;i=2", "--no-tail"]);
  assert.deepEqual(journalctlArgs({ journalDirectory: "/host/var/log/journal", startAt: "beginning" }, "c"), [
    ...common,
    "--directory=/host/var/log/journal",
    "--after-cursor=c",
    "--no-tail",
  ]);
  // A restart that has written nothing yet goes on from the first start, not from its own "now".
  assert.deepEqual(journalctlArgs(system, undefined, 1733600000), [
    ...common,
    "--since=@1733600000",
    "--no-tail",
  ]);
  // What the decoder reads (journalctl adds __CURSOR and __REALTIME_TIMESTAMP to any selection).
  const read = [
    "MESSAGE",
    "PRIORITY",
    "SYSLOG_IDENTIFIER",
    "_SYSTEMD_UNIT",
    "_PID",
    "_HOSTNAME",
    "_TRANSPORT",
  ];
  for (const field of read) assert.ok((JOURNAL_OUTPUT_FIELDS as readonly string[]).includes(field), field);
});

test("options: sizes must be positive integers, one clear error before anything starts", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-host-journal-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logger = silentLogger();
  const cases: [Record<string, number>, string][] = [
    [{ maxFileBytes: 0 }, "host journal: maxFileBytes must be a positive integer, not 0"],
    [{ keepFiles: 1.5 }, "host journal: keepFiles must be a positive integer, not 1.5"],
    [{ maxLineBytes: 100, maxEntryBytes: 50 }, "host journal: maxEntryBytes must be at least maxLineBytes"],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(
      startJournalFollower({ outputDir: join(dir, "out"), ...options }, { logger }),
      (e: unknown) => e instanceof BoxscopeError && e.message === message,
    );
  }
});
