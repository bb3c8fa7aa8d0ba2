import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { cgroupsWritable, createContainerCgroup } from "../helpers/container-cgroup.js";
import { hasCommand, requirePrereq } from "../helpers/prereq.js";
import { find, parseSamples, startTestExporter } from "./helpers.js";

test("promtool check metrics accepts the exporter's output, with containers, rules and teams", {
  timeout: 30_000,
}, async (t) => {
  if (!requirePrereq(t, hasCommand("promtool"), "needs promtool (Debian package prometheus)")) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-exporter-promtool-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let containerId: string | undefined;
  if (cgroupsWritable()) {
    const cg = createContainerCgroup();
    t.after(() => cg.cleanup());
    containerId = cg.id;
  }
  const mapping = join(dir, "teams.yaml");
  writeFileSync(mapping, `teams:\n  ${containerId ?? "nothing"}: "pay\\"ments"\n`);
  writeFileSync(join(dir, "a.log"), "");
  const exp = await startTestExporter({
    logRoot: dir,
    logRules: [{ name: "err", glob: `${dir}/*.log`, regex: "ERROR" }],
    keyProcesses: [{ name: "init", pattern: ".", match: "comm" }],
    team: { dockerLabel: "team", podLabel: "team", mappingFile: mapping },
  });
  t.after(() => exp.stop());
  const text = await exp.scrape();
  const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  assert.equal(`${check.stdout}${check.stderr}`.trim(), "", "no lint warnings either");
  const samples = parseSamples(text);
  if (containerId) {
    const info = find(samples, "boxscope_container_info", { container_id: containerId });
    assert.equal(info.length, 1);
    assert.equal(info[0]?.labels.team, 'pay"ments', "team from the mapping file, escaped and parsed back");
  }
  for (const s of find(samples, "boxscope_collector_up"))
    assert.equal(s.value, 1, `collector ${s.labels.collector} up`);

  // OpenMetrics: counters named without _total in TYPE, samples with it, # EOF last.
  const om = await exp.scrape("application/openmetrics-text; version=1.0.0");
  assert.match(om, /^# TYPE boxscope_log_pattern_matches counter$/m);
  assert.match(
    om,
    /^boxscope_log_pattern_matches_total\{rule="err",source="file",severity="warning",container_id="",container_name="",team=""\} 0$/m,
  );
  assert.ok(om.endsWith("# EOF\n"));
});
