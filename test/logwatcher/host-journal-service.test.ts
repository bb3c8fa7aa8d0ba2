import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/logger.js";
import { logwatcherConfigSchema } from "../../pipeline/spool/config.js";
import { startLogwatcher } from "../../pipeline/spool/service.js";
import { appendToJournal, journalPrereq, messages } from "../helpers/journal-writer.js";
import { requirePrereq } from "../helpers/prereq.js";

const journalOk = journalPrereq();

test("hostLogs: journal — the logwatcher writes the journal as lines, links the file in the host spool, counts it", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, journalOk.present, journalOk.why)) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-lw-journal-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const journalFiles = join(dir, "journal");
  const app = join(dir, "app");
  for (const d of [journalFiles, app]) mkdirSync(d);
  await appendToJournal(journalFiles, messages(["one", "two", "three"]));
  const registry = new Registry();
  const svc = await startLogwatcher(
    logwatcherConfigSchema.parse({
      logRoot: app,
      spool: join(dir, "spool"),
      dockerLogs: "off",
      podLogs: "off",
      hostLogs: "journal",
      journalDir: join(dir, "out"),
      journalDirectory: journalFiles,
      journalStartAt: "beginning",
    }),
    { logger: silentLogger(), registry },
  );
  t.after(() => svc.stop());
  const link = join(dir, "spool", "host", "journal.log");
  const deadline = Date.now() + 30_000;
  let text = "";
  while (Date.now() < deadline) {
    text = await registry.metrics();
    if (existsSync(link) && /boxscope_logwatcher_journal_lines_total 3\n/.test(text)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(readlinkSync(link), join(dir, "out", "journal.log"));
  assert.match(text, /boxscope_logwatcher_journal_lines_total 3\n/);
  assert.match(text, /boxscope_logwatcher_journal_exits_total 0\n/);
});
