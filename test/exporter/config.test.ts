import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/paths.js";

/** Runs `boxscope --config <file> exporter` and returns exit code and stderr. */
function runWith(t: import("node:test").TestContext, yaml: string, extra: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-exporter-config-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "boxscope.yaml");
  writeFileSync(path, yaml);
  const r = spawnSync(
    process.execPath,
    [join(repoRoot, "bin/boxscope.js"), "--config", path, "exporter", ...extra],
    {
      encoding: "utf8",
      timeout: 20_000,
      env: { ...process.env, BOXSCOPE_LOG_LEVEL: "error" },
    },
  );
  return { status: r.status, stderr: r.stderr.trim() };
}

const cases: Array<{ what: string; yaml: string; message: RegExp }> = [
  {
    what: "unknown key",
    yaml: "exporter:\n  lsten: 127.0.0.1:0\n",
    message: /^boxscope: config exporter: unknown key "lsten"$/,
  },
  {
    what: "unknown nested key",
    yaml: "exporter:\n  keyProcesses:\n    - { name: dockerd, pattern: dockerd, regexp: x }\n",
    message: /^boxscope: config exporter\.keyProcesses\.0: unknown key "regexp"$/,
  },
  {
    what: "bad regex in a key process",
    yaml: "exporter:\n  keyProcesses:\n    - { name: dockerd, pattern: 'docker(d' }\n",
    message: /^boxscope: config exporter\.keyProcesses\.0\.pattern: invalid regex "docker\(d"/,
  },
  {
    what: "a new key process without a pattern",
    yaml: "exporter:\n  keyProcesses:\n    - { name: flume }\n",
    message:
      /^boxscope: config exporter\.keyProcesses\.0\.pattern: required \(no built-in key process is named "flume"\)$/,
  },
  {
    what: "a grpc probe without its socket",
    yaml: "exporter:\n  keyProcesses:\n    - { name: x, pattern: x, probe: { kind: grpc } }\n",
    message: /^boxscope: config exporter\.keyProcesses\.0\.probe\.socket: required for a grpc probe/,
  },
  {
    what: "a probe timeout out of range",
    yaml: "exporter:\n  keyProcesses:\n    - { name: dockerd, probe: { timeoutSeconds: 0 } }\n",
    message: /^boxscope: config exporter\.keyProcesses\.0\.probe\.timeoutSeconds: /,
  },
  {
    what: "bad regex in a log rule",
    yaml: "exporter:\n  logRules:\n    - { name: e, glob: '/tmp/*.log', regex: '[' }\n",
    message: /^boxscope: config exporter\.logRules\.0\.regex: invalid regex "\["/,
  },
  {
    what: "a log rule RE2 cannot run in linear time (lookahead)",
    yaml: "exporter:\n  logRules:\n    - { name: e, glob: '/tmp/*.log', regex: 'a(?=b)' }\n",
    message: /^boxscope: config exporter\.logRules\.0\.regex: invalid regex "a\(\?=b\)".*RE2 syntax/,
  },
  {
    what: "a kernel rule with a backreference",
    yaml: "exporter:\n  kernelRules:\n    - { name: e, regex: '(a)\\1' }\n",
    message: /^boxscope: config exporter\.kernelRules\.0\.regex: invalid regex/,
  },
  {
    what: "a log rule with an unknown severity",
    yaml: "exporter:\n  logRules:\n    - { name: e, glob: '/tmp/*.log', regex: x, severity: page }\n",
    message: /^boxscope: config exporter\.logRules\.0\.severity: /,
  },
  {
    what: "a kernel rule with a zero threshold",
    yaml: "exporter:\n  kernelRules:\n    - { name: e, regex: x, threshold: 0 }\n",
    message: /^boxscope: config exporter\.kernelRules\.0\.threshold: /,
  },
  {
    what: "unreadable mapping file",
    yaml: "exporter:\n  team:\n    mappingFile: /nonexistent/boxscope-teams.yaml\n",
    message:
      /^boxscope: config exporter\.team\.mappingFile: cannot read \/nonexistent\/boxscope-teams\.yaml \(ENOENT\)$/,
  },
  {
    what: "bad listen",
    yaml: "exporter:\n  listen: nowhere\n",
    message: /^boxscope: config exporter\.listen: expected HOST:PORT/,
  },
  {
    what: "wrong type",
    yaml: "exporter:\n  kernelPatterns: sometimes\n",
    message: /^boxscope: config exporter\.kernelPatterns: /,
  },
];

for (const c of cases) {
  test(`bad config (${c.what}) → exit 2 with one line naming the key`, (t) => {
    const r = runWith(t, c.yaml);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.split("\n").length, 1, `one line, got: ${r.stderr}`);
    assert.match(r.stderr, c.message);
  });
}

test("a malformed mapping file names the key and the problem", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-exporter-config-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mapping = join(dir, "teams.yaml");
  writeFileSync(mapping, "team:\n  x: y\n");
  const r = runWith(t, `exporter:\n  team:\n    mappingFile: ${mapping}\n`);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^boxscope: config exporter\.team\.mappingFile: .*unknown key "team"/);
});
