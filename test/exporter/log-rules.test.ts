import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  accessSync,
  appendFileSync,
  constants,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BUILTIN_KERNEL_RULES } from "../../exporter/collectors/log-patterns.js";
import { requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/wait.js";
import { find, startTestExporter, total, value } from "./helpers.js";

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
      { name: "panic", glob: `${root}/**/*.log`, regex: "panic:", severity: "critical", threshold: 3 },
    ],
  });
  t.after(() => exp.stop());
  // A rule's matches over all its series (one per container whose files matched).
  const count = async (rule: string) =>
    total(await exp.samples(), "boxscope_log_pattern_matches_total", { rule, source: "file" });
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
      const e = total(s, "boxscope_log_pattern_matches_total", { rule: "app_error", source: "file" });
      const p = total(s, "boxscope_log_pattern_matches_total", { rule: "panic", source: "file" });
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

  // Each match is labelled with its file's container directory (no live container is named c1 or
  // c2 here, so the directory name is the container name), with the rule's severity; the series
  // without container stays at 0 (no file outside a container directory matched).
  const s = await exp.samples();
  const series = (rule: string) =>
    find(s, "boxscope_log_pattern_matches_total", { rule, source: "file" })
      .map(
        (x) =>
          `${x.labels.container_id}/${x.labels.container_name}/${x.labels.team}/${x.labels.severity} ${x.value}`,
      )
      .sort();
  assert.deepEqual(series("app_error"), ["///warning 0", "/c1//warning 3", "/c2//warning 1"]);
  assert.deepEqual(series("panic"), ["///critical 0", "/c2//critical 1"]);
  assert.equal(value(s, "boxscope_log_pattern_threshold", { rule: "app_error", severity: "warning" }), 1);
  assert.equal(value(s, "boxscope_log_pattern_threshold", { rule: "panic", severity: "critical" }), 3);
});

test("a kernel log line matching a kernel rule raises its kmsg counter (one shared /dev/kmsg reader)", {
  timeout: 30_000,
}, async (t) => {
  const writable = (() => {
    try {
      accessSync("/dev/kmsg", constants.R_OK | constants.W_OK);
      return true;
    } catch {
      return false;
    }
  })();
  if (!requirePrereq(t, writable, "needs root to read and write /dev/kmsg")) return;
  const marker = `boxscope-test-exporter-${randomBytes(4).toString("hex")}`;
  const exp = await startTestExporter({
    logRoot: "/",
    kmsgPollMs: 50,
    kernelRules: [{ name: "test_marker", regex: `${marker} happened` }],
  });
  t.after(() => exp.stop());
  const count = async () =>
    total(await exp.samples(), "boxscope_log_pattern_matches_total", { rule: "test_marker", source: "kmsg" });
  assert.equal(await count(), 0);
  // Root may inject a record into the kernel log; the exporter reads it like any kernel message.
  writeFileSync("/dev/kmsg", `${marker} happened\n`);
  writeFileSync("/dev/kmsg", `${marker} unrelated\n`);
  await waitFor("test_marker = 1", async () => ((await count()) === 1 ? true : undefined), 5000, 50);
  const s = await exp.samples();
  for (const { name: rule } of BUILTIN_KERNEL_RULES) {
    assert.notEqual(
      value(s, "boxscope_log_pattern_matches_total", { rule, source: "kmsg" }),
      undefined,
      rule,
    );
  }
});
