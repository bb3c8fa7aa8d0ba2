import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { auditRules, loadRules, parseRuleTestFile, runbookUrl } from "../../alerts/rules.js";
import { repoRoot } from "../helpers/paths.js";
import { requirePrereq } from "../helpers/prereq.js";
import { BIN } from "../helpers/prometheus.js";

const alertsDir = join(repoRoot, "alerts");
const testsDir = join(alertsDir, "tests");
const ruleFiles = readdirSync(alertsDir).filter((f) => f.endsWith(".rules.yml"));
const testFiles = readdirSync(testsDir).filter((f) => f.endsWith(".test.yml"));

test("promtool check rules: every rule file is valid", (t) => {
  if (!requirePrereq(t, existsSync(BIN.promtool), "promtool missing (Debian package prometheus)")) return;
  assert.ok(ruleFiles.length >= 5, `rule files: ${ruleFiles.join(", ")}`);
  const res = spawnSync(BIN.promtool, ["check", "rules", ...ruleFiles], { cwd: alertsDir, encoding: "utf8" });
  assert.equal(res.status, 0, `${res.stdout}${res.stderr}`);
  assert.doesNotMatch(res.stdout + res.stderr, /WARNING|FAILED/);
});

test("promtool test rules: every alert fires at its threshold, is silent below, with its labels", (t) => {
  if (!requirePrereq(t, existsSync(BIN.promtool), "promtool missing (Debian package prometheus)")) return;
  const res = spawnSync(BIN.promtool, ["test", "rules", ...testFiles], { cwd: testsDir, encoding: "utf8" });
  assert.equal(res.status, 0, `${res.stdout}${res.stderr}`);
  assert.equal((res.stdout.match(/SUCCESS/g) ?? []).length, testFiles.length, res.stdout);
});

test("every rule file is tested, every alert has severity, for, annotations, a runbook and a test case", () => {
  const rules = loadRules(alertsDir);
  assert.ok(rules.length >= 30, `only ${rules.length} alerting rules`);
  const tested = testFiles.flatMap((f) => {
    const parsed = parseRuleTestFile(readFileSync(join(testsDir, f), "utf8"), f);
    return parsed.tested;
  });
  const testedRuleFiles = new Set(
    testFiles.flatMap((f) => parseRuleTestFile(readFileSync(join(testsDir, f), "utf8"), f).ruleFiles),
  );
  for (const f of ruleFiles) assert.ok(testedRuleFiles.has(`../${f}`), `${f} is in no promtool test file`);
  const problems = auditRules(
    rules,
    tested,
    (a) => existsSync(join(repoRoot, "docs", "runbooks", `${a}.md`)),
    runbookUrl,
  );
  assert.deepEqual(problems, []);
});

test("each runbook says what the alert means and what to do", () => {
  const names = new Set(loadRules(alertsDir).map((r) => r.alert));
  for (const name of names) {
    const text = readFileSync(join(repoRoot, "docs", "runbooks", `${name}.md`), "utf8");
    assert.match(text, new RegExp(`^# ${name}\\n`), name);
    for (const h of ["## What it means", "## What to do"]) assert.ok(text.includes(h), `${name}: ${h}`);
  }
});
