import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { hasCommand, requirePrereq } from "../helpers/prereq.js";
import { freePort } from "../helpers/prometheus.js";
import { waitFor } from "../helpers/wait.js";
import { startTestExporter } from "./helpers.js";

test("a real Prometheus scrapes the exporter (it negotiates OpenMetrics first) and stores its series", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, hasCommand("prometheus"), "needs prometheus (Debian package prometheus)")) return;
  const exp = await startTestExporter({
    kmsg: false,
    logRoot: "/",
    keyProcesses: [{ name: "anything", pattern: ".", match: "comm" }],
  });
  t.after(() => exp.stop());
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-exporter-prom-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, "prometheus.yml"),
    `global: { scrape_interval: 1s, scrape_timeout: 1s }\nscrape_configs:\n  - job_name: boxscope\n    static_configs: [{ targets: ["${exp.address}"] }]\n`,
  );
  const port = await freePort();
  const prom = spawn(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: "ignore" },
  );
  t.after(() => prom.kill("SIGKILL"));
  const query = async (q: string) => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
      return body.data?.result;
    } catch {
      return undefined;
    }
  };
  const up = await waitFor(
    "Prometheus to scrape the exporter",
    async () => {
      const r = await query('up{job="boxscope"}');
      return r && r.length > 0 && r[0]?.value[1] === "1" ? r : undefined;
    },
    30_000,
    250,
  );
  assert.equal(up[0]?.value[1], "1");
  const pidMax = await waitFor(
    "boxscope_host_pid_max stored",
    async () => {
      const r = await query("boxscope_host_pid_max");
      return r && r.length > 0 ? r : undefined;
    },
    10_000,
    250,
  );
  assert.ok(Number(pidMax[0]?.value[1]) > 0);
  // A counter keeps its _total name through OpenMetrics (family without it, sample with it).
  const restarts = await query('boxscope_process_restarts_total{process="anything"}');
  assert.equal(restarts?.length, 1);
});
