#!/usr/bin/env node
// Copies the alert rules (alerts/*.rules.yml) into the Helm chart (deploy/helm/boxscope/files/alerts/),
// whose PrometheusRule template reads them with .Files.Glob: Helm cannot read files outside the
// chart. The copies are committed; test/deploy/helm.test.ts fails when they differ from alerts/.
// `npm run chart:rules` after changing an alert.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ALERTS_DIR = "alerts";
export const CHART_RULES_DIR = "deploy/helm/boxscope/files/alerts";

const isRuleFile = (name) => name.endsWith(".rules.yml");

/** name → text of the rule files in `dir` (relative to `root`); empty when the directory is missing. */
export function readRuleFiles(root, dir) {
  let names;
  try {
    names = readdirSync(join(root, dir)).filter(isRuleFile).sort();
  } catch (e) {
    if (e.code === "ENOENT") return new Map();
    throw e;
  }
  return new Map(names.map((n) => [n, readFileSync(join(root, dir, n), "utf8")]));
}

/** Makes the chart's copy equal alerts/: writes every rule file, removes the ones alerts/ no longer has. */
export function syncChartRules(root) {
  const source = readRuleFiles(root, ALERTS_DIR);
  const target = join(root, CHART_RULES_DIR);
  mkdirSync(target, { recursive: true });
  for (const name of readRuleFiles(root, CHART_RULES_DIR).keys()) {
    if (!source.has(name)) rmSync(join(target, name));
  }
  for (const [name, text] of source) writeFileSync(join(target, name), text);
  return [...source.keys()];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const names = syncChartRules(root);
  console.log(`chart-rules: ${names.length} rule files copied to ${CHART_RULES_DIR}`);
}
