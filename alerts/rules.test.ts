import assert from "node:assert/strict";
import { test } from "node:test";
import { auditRules, parseRuleFile, parseRuleTestFile, runbookUrl } from "./rules.js";

const ruleText = `
groups:
  - name: g
    rules:
      - record: job:x:sum
        expr: sum(x)
      - alert: Good
        expr: x > 1
        for: 1m
        labels: { severity: warning }
        annotations: { summary: s, description: d, runbook_url: "${runbookUrl("Good")}" }
      - alert: Bad
        expr: x > 2
        labels: { severity: page }
        annotations: { summary: s }
`;

test("parseRuleFile keeps alerting rules only", () => {
  const rules = parseRuleFile(ruleText, "f.rules.yml");
  assert.deepEqual(
    rules.map((r) => [r.alert, r.labels.severity, r.for]),
    [
      ["Good", "warning", "1m"],
      ["Bad", "page", undefined],
    ],
  );
});

test("auditRules accepts a complete, tested rule and names every gap of a bad one", () => {
  const rules = parseRuleFile(ruleText, "f.rules.yml");
  const { tested } = parseRuleTestFile(
    `tests:\n  - alert_rule_test:\n      - alertname: Good\n        exp_alerts:\n          - exp_labels: { severity: warning }\n`,
    "t.yml",
  );
  const problems = auditRules(rules, tested, (a) => a === "Good", runbookUrl);
  assert.equal(problems.filter((p) => p.includes("Good")).length, 0, problems.join("\n"));
  const bad = problems.filter((p) => p.includes("Bad"));
  for (const expected of [
    "severity",
    "no 'for'",
    "no description",
    "no runbook_url",
    "missing",
    "no promtool test",
  ]) {
    assert.ok(
      bad.some((p) => p.includes(expected)),
      `expected a problem about ${expected}: ${bad.join("\n")}`,
    );
  }
});
