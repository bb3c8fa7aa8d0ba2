import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startTestExporter, value, waitFor } from "./helpers.js";

test("log lines matching a rule raise its counter: appends, new nested files, rotation; old lines are not counted", {
  timeout: 30_000,
}, async (t) => {
  const root = mkdtempSync(join(tmpdir(), "boxscope-test-exporter-logs-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const app = join(root, "c1", "app.log");
  mkdirSync(join(root, "c1"));
  writeFileSync(app, "ERROR old line before start\n");

  const exp = await startTestExporter({
    kmsg: false,
    logRoot: root,
    logPollMs: 100,
    logRules: [
      { name: "app_error", glob: `${root}/**/*.log`, regex: "\\bERROR\\b" },
      { name: "panic", glob: `${root}/**/*.log`, regex: "panic:" },
    ],
  });
  t.after(() => exp.stop());
  const count = async (rule: string) =>
    value(await exp.samples(), "boxscope_log_pattern_matches_total", { rule, source: "file" });
  assert.equal(await count("app_error"), 0);
  assert.equal(await count("panic"), 0);

  appendFileSync(app, "INFO fine\nERROR disk full\n");
  await waitFor("app_error = 1", async () => ((await count("app_error")) === 1 ? true : undefined), 5000);

  // A file created after start, deeper in the tree, is read from its beginning.
  mkdirSync(join(root, "c2", "deep"), { recursive: true });
  writeFileSync(join(root, "c2", "deep", "x.log"), "panic: nil map\nERROR again\n");
  await waitFor(
    "panic = 1 and app_error = 2",
    async () => {
      const s = await exp.samples();
      const e = value(s, "boxscope_log_pattern_matches_total", { rule: "app_error", source: "file" });
      const p = value(s, "boxscope_log_pattern_matches_total", { rule: "panic", source: "file" });
      return e === 2 && p === 1 ? true : undefined;
    },
    5000,
  );

  // Rotation: the old file is moved away, a new one takes its name.
  renameSync(app, `${app}.1`);
  writeFileSync(app, "ERROR after rotation\n");
  await waitFor("app_error = 3", async () => ((await count("app_error")) === 3 ? true : undefined), 5000);
  // Partial line: counted only once complete.
  appendFileSync(app, "ERR");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await count("app_error"), 3);
  appendFileSync(app, "OR done\n");
  // "ERROR done" is now a complete matching line.
  await waitFor("app_error = 4", async () => ((await count("app_error")) === 4 ? true : undefined), 5000);
});
