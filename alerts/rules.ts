import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";

/**
 * The shape of alerts/*.rules.yml and alerts/tests/*.test.yml as far as boxscope's own checks
 * need it (promtool validates the rest). Used by the structural test: every alert has a runbook,
 * a known severity, the three annotations, and a promtool test case per severity.
 */
export interface AlertRule {
  file: string;
  group: string;
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export const SEVERITIES = ["critical", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Parses one rule file's text; recording rules are skipped. Pure. */
export function parseRuleFile(text: string, file: string): AlertRule[] {
  const doc = parseYaml(text) as { groups?: { name: string; rules?: Record<string, unknown>[] }[] };
  const out: AlertRule[] = [];
  for (const g of doc.groups ?? []) {
    for (const r of g.rules ?? []) {
      if (typeof r.alert !== "string") continue;
      out.push({
        file,
        group: g.name,
        alert: r.alert,
        expr: String(r.expr ?? ""),
        for: typeof r.for === "string" ? r.for : undefined,
        labels: (r.labels ?? {}) as Record<string, string>,
        annotations: (r.annotations ?? {}) as Record<string, string>,
      });
    }
  }
  return out;
}

/** One expected alert in a promtool test: which alert at which severity a test proves fires. */
export interface TestedAlert {
  file: string;
  alertname: string;
  severity: string | undefined;
}

/** Lists every (alertname, severity) a promtool test file expects to fire. Pure. */
export function parseRuleTestFile(
  text: string,
  file: string,
): { ruleFiles: string[]; tested: TestedAlert[] } {
  const doc = parseYaml(text) as {
    rule_files?: string[];
    tests?: {
      alert_rule_test?: { alertname: string; exp_alerts?: { exp_labels?: Record<string, unknown> }[] }[];
    }[];
  };
  const tested: TestedAlert[] = [];
  for (const t of doc.tests ?? []) {
    for (const a of t.alert_rule_test ?? []) {
      for (const e of a.exp_alerts ?? []) {
        const sev = e.exp_labels?.severity;
        tested.push({ file, alertname: a.alertname, severity: typeof sev === "string" ? sev : undefined });
      }
    }
  }
  return { ruleFiles: doc.rule_files ?? [], tested };
}

/** Every problem found, one line each; empty when the rules meet boxscope's conventions. Pure. */
export function auditRules(
  rules: AlertRule[],
  tested: TestedAlert[],
  runbookExists: (alertname: string) => boolean,
  runbookUrlFor: (alertname: string) => string,
): string[] {
  const problems: string[] = [];
  for (const r of rules) {
    const where = `${r.file} ${r.alert}`;
    const sev = r.labels.severity;
    if (!SEVERITIES.includes(sev as Severity))
      problems.push(`${where}: severity "${sev}" not critical|warning|info`);
    if (r.for === undefined) problems.push(`${where} (${sev}): no 'for'`);
    for (const a of ["summary", "description", "runbook_url"]) {
      if (!r.annotations[a]?.trim()) problems.push(`${where} (${sev}): no ${a} annotation`);
    }
    if (r.annotations.runbook_url !== runbookUrlFor(r.alert)) {
      problems.push(`${where}: runbook_url ${r.annotations.runbook_url} is not ${runbookUrlFor(r.alert)}`);
    }
    if (!runbookExists(r.alert)) problems.push(`${where}: docs/runbooks/${r.alert}.md missing`);
    if (!tested.some((t) => t.alertname === r.alert && t.severity === sev)) {
      problems.push(`${where} (${sev}): no promtool test case expects it to fire`);
    }
  }
  return problems;
}

/** Where rule files point their runbook_url; operators who host the docs elsewhere rewrite this prefix. */
export const RUNBOOK_BASE = "https://github.com/boxscope/boxscope/tree/main/docs/runbooks/";
export const runbookUrl = (alertname: string): string => `${RUNBOOK_BASE}${alertname}.md`;

/** Reads every *.rules.yml in `dir`. */
export function loadRules(dir: string): AlertRule[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".rules.yml"))
    .sort()
    .flatMap((f) => parseRuleFile(readFileSync(join(dir, f), "utf8"), f));
}
