import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { repoRoot } from "../helpers/paths.js";

test("boxscope dashboards build --out DIR writes one Grafana JSON file per dashboard", (t) => {
  const out = mkdtempSync(join(tmpdir(), "boxscope-test-dashboards-"));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const res = spawnSync(
    process.execPath,
    [join(repoRoot, "bin/boxscope.js"), "dashboards", "build", "--out", out],
    {
      encoding: "utf8",
    },
  );
  assert.equal(res.status, 0, res.stderr);
  const files = readdirSync(out).sort();
  assert.deepEqual(files, ["boxscope-container.json", "boxscope-host.json", "boxscope-log-pipeline.json"]);
  assert.equal(res.stdout.trim().split("\n").length, 3);
  for (const f of files) {
    const d = JSON.parse(readFileSync(join(out, f), "utf8")) as {
      uid: string;
      title: string;
      panels: unknown[];
    };
    assert.ok(d.uid.startsWith("boxscope-"), f);
    assert.ok(d.panels.length > 5, f);
  }
});

test("boxscope dashboards build fails with one line when the output dir cannot be created", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-dashboards-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "a-file");
  writeFileSync(file, "");
  const res = spawnSync(
    process.execPath,
    [join(repoRoot, "bin/boxscope.js"), "dashboards", "build", "--out", join(file, "sub")],
    { encoding: "utf8", timeout: 30_000 },
  );
  assert.equal(res.status, 1);
  assert.match(res.stderr, /^boxscope: dashboards build: cannot create .*a-file\/sub: ENOTDIR/);
  assert.equal(res.stderr.trim().split("\n").length, 1);
});

test("deploy/grafana provisions a Prometheus datasource and a file provider for the dashboards", () => {
  const ds = parse(
    readFileSync(join(repoRoot, "deploy/grafana/provisioning/datasources/boxscope-prometheus.yml"), "utf8"),
  ) as { apiVersion: number; datasources: { type: string; url: string }[] };
  assert.equal(ds.apiVersion, 1);
  assert.equal(ds.datasources[0]?.type, "prometheus");
  const prov = parse(
    readFileSync(join(repoRoot, "deploy/grafana/provisioning/dashboards/boxscope.yml"), "utf8"),
  ) as {
    apiVersion: number;
    providers: { type: string; options: { path: string } }[];
  };
  assert.equal(prov.providers[0]?.type, "file");
  assert.ok(prov.providers[0]?.options.path);
});
