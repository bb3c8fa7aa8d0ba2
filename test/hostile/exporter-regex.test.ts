import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseSamples, total } from "../exporter/helpers.js";
import { CliProcess, sleep } from "../pipeline/harness.js";

/**
 * Operators write the rules, containers write the lines. A rule that backtracks exponentially
 * (`^(a+)+$`) against a short line a container wrote must not stop the exporter from answering:
 * /healthz and /metrics keep answering while such lines arrive, and the rule still counts.
 */
const EVIL_RULES = [
  { name: "nested_plus", regex: "^(a+)+$" },
  { name: "alternation", regex: "^(a|a)*$" },
  { name: "nested_star", regex: "(x+x+)+y" },
];

/** Longer than any scrape should take: only a stalled event loop runs into it. */
const STALL_MS = 5_000;

async function get(url: string): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(STALL_MS) });
  return { status: res.status, body: await res.text(), ms: Date.now() - started };
}

test("exporter: catastrophic-backtracking rules on hostile lines keep /healthz and /metrics answering", {
  timeout: 120_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-hostile-regex-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, "logs");
  mkdirSync(join(root, "c1"), { recursive: true });
  const log = join(root, "c1", "app.log");
  writeFileSync(log, "");
  const config = join(dir, "boxscope.yaml");
  const rules = EVIL_RULES.map(
    (r) => `    - { name: ${r.name}, glob: '${root}/**/*.log', regex: '${r.regex}' }`,
  );
  writeFileSync(
    config,
    [
      "exporter:",
      "  listen: 127.0.0.1:0",
      "  kmsg: false",
      `  logRoot: ${root}`,
      "  logPollMs: 100",
      "  logRules:",
      ...rules,
      "",
    ].join("\n"),
  );
  const p = new CliProcess(["--config", config, "exporter"]);
  t.after(() => p.kill9());
  await p.waitForStderr(/"address":"[^"]+"/, 30_000);
  const address = /"address":"([^"]+)"/.exec(p.stderr)?.[1];

  // 35 bytes each, the size that froze a backtracking engine for good; then ever longer ones.
  const hostile = [`${"a".repeat(34)}!`, `${"x".repeat(34)}!`, `${"a".repeat(5000)}b`, "x".repeat(100_000)];
  // Lines that do match: each rule must still count exactly these.
  const matching = ["aaaa", "aaaa", "xxy"];
  appendFileSync(log, `${[...hostile, ...matching].join("\n")}\n`);

  let slowest = 0;
  const deadline = Date.now() + 60_000;
  let counts: Record<string, number | undefined> = {};
  for (;;) {
    const health = await get(`http://${address}/healthz`);
    assert.equal(health.status, 200);
    const metrics = await get(`http://${address}/metrics`);
    slowest = Math.max(slowest, health.ms, metrics.ms);
    const samples = parseSamples(metrics.body);
    counts = Object.fromEntries(
      EVIL_RULES.map((r) => [
        r.name,
        total(samples, "boxscope_log_pattern_matches_total", { rule: r.name, source: "file" }),
      ]),
    );
    if (counts.nested_plus === 2 && counts.alternation === 2 && counts.nested_star === 1) break;
    assert.ok(Date.now() < deadline, `counts never reached 2/2/1: ${JSON.stringify(counts)}`);
    await sleep(100);
  }
  t.diagnostic(`slowest /healthz or /metrics answer: ${slowest} ms`);
});
