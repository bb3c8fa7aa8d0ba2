import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Registry } from "prom-client";
import { stringify } from "yaml";
import { loadRules } from "../../alerts/rules.js";
import { silentLogger } from "../../common/logger.js";
import { startMetricsServer } from "../../common/metrics/server.js";
import { allDashboards } from "../../dashboards/index.js";
import { interpolate, metricsOf, panelQueries } from "../../dashboards/inspect.js";
import { logwatcherConfigSchema } from "../../pipeline/spool/config.js";
import { startLogwatcher } from "../../pipeline/spool/service.js";
import {
  cgroupsWritable,
  createContainerCgroup,
  enterCgroupScript,
  kmsgReadable,
  oomKill,
  randomId,
  type TestContainerCgroup,
} from "../helpers/container-cgroup.js";
import { repoRoot } from "../helpers/paths.js";
import { requirePrereq } from "../helpers/prereq.js";
import { freePort, havePrometheusBinaries, type PromSample, promQuery } from "../helpers/prometheus.js";
import { waitFor } from "../helpers/wait.js";
import {
  cleanupStack,
  scratchDir,
  startAlertingPrometheus,
  startExporterCli,
  startRoutedAlertmanager,
} from "./live-stack.js";
import { absentSignals, presentSignals } from "./signals.js";

const MiB = 1024 * 1024;

/** Caps a test cgroup's CPU at half a CPU (v1 cpu.cfs_quota_us, v2 cpu.max) so the CPU-limit series exists. */
function limitCpu(cg: TestContainerCgroup): void {
  const v1 = cg.dirs.get("cpu");
  if (v1) writeFileSync(join(v1, "cpu.cfs_quota_us"), "50000");
  const v2 = cg.dirs.get("unified");
  if (v2 && existsSync(join(v2, "cpu.max"))) writeFileSync(join(v2, "cpu.max"), "50000 100000");
}

async function rangeQuery(url: string, expr: string): Promise<PromSample[]> {
  const end = Date.now() / 1000;
  const params = new URLSearchParams({ query: expr, start: String(end - 120), end: String(end), step: "1" });
  const res = await fetch(`${url}/api/v1/query_range?${params}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
  if (body.status !== "success" || !body.data) throw new Error(`query_range ${expr} failed: ${body.error}`);
  return body.data.result;
}

test("e2e: a real OOM kill fires BoxscopeContainerOOMKilled in Prometheus and reaches the PE and the owning team; every dashboard query runs", {
  timeout: 240_000,
}, async (t) => {
  if (!requirePrereq(t, cgroupsWritable(), "needs root and a writable memory cgroup hierarchy")) return;
  if (!requirePrereq(t, kmsgReadable(), "needs read access to /dev/kmsg")) return;
  if (!requirePrereq(t, havePrometheusBinaries(), "Debian prometheus + prometheus-alertmanager missing"))
    return;

  const cleanups = cleanupStack(t);
  const dir = scratchDir(cleanups, "boxscope-test-alerts-");

  // Two container-shaped cgroups under one unique test parent: `steady` runs a sleeper with
  // memory, pids and CPU limits (container panels have data); `oom` gets 32 MiB and a hog.
  const parent = `boxscope-test-alerts-${randomId()}`;
  const steady = createContainerCgroup(parent);
  cleanups.push(() => steady.cleanup());
  const oom = createContainerCgroup(parent);
  cleanups.push(() => oom.cleanup());
  steady.write("memory", "limit", String(256 * MiB));
  steady.write("pids", "pids.max", "200");
  limitCpu(steady);
  oom.write("memory", "limit", String(32 * MiB));
  oom.write("memory", "swap", String(32 * MiB));
  const sleeper = spawn("sh", ["-c", enterCgroupScript(steady, "sleep 600")], { stdio: "ignore" });
  cleanups.push(() => sleeper.kill("SIGKILL"));

  // The team label of a cgroup that is no Docker container comes from the exporter's mapping file.
  const mappingFile = join(dir, "teams.yaml");
  writeFileSync(mappingFile, stringify({ teams: { [oom.id]: "payments", [steady.id]: "search" } }));
  // The log tree, <logRoot>/<container>/**: the logwatcher links it; the exporter's file rule
  // counts matches per container, labelled with the container owning the directory.
  const logRoot = join(dir, "log");
  mkdirSync(join(logRoot, "shop", "deep", "er"), { recursive: true });
  mkdirSync(join(logRoot, steady.id));
  const steadyLog = join(logRoot, steady.id, "app.log");
  writeFileSync(steadyLog, "started\n");
  const exporterPort = await freePort();
  const configPath = join(dir, "boxscope.yaml");
  writeFileSync(
    configPath,
    stringify({
      exporter: {
        listen: `127.0.0.1:${exporterPort}`,
        logRoot,
        cgroupPrefix: `/${parent}`,
        kmsgPollMs: 100,
        logPollMs: 200,
        logRules: [
          { name: "app_error", glob: `${logRoot}/**/*.log`, regex: "\\bERROR\\b", severity: "info" },
        ],
        team: { mappingFile },
        // Prometheus itself is this test's key process: the signal exists while it runs.
        keyProcesses: [{ name: "prometheus", pattern: "^prometheus$" }],
      },
    }),
  );

  const { pe, team, am } = await startRoutedAlertmanager(cleanups);

  // The real CLI, as a user runs it.
  const exporterUrl = (await startExporterCli(cleanups, { configPath, port: exporterPort })).url;

  // The logwatcher, its metrics served the way the exporter serves its own, so the log pipeline
  // dashboard's logwatcher panels have data. Container log files get linked.
  const spoolDir = join(dir, "spool");
  const lwRegistry = new Registry();
  const logwatcher = await startLogwatcher(
    logwatcherConfigSchema.parse({
      dockerLogs: "off",
      podLogs: "off",
      logRoot,
      spool: spoolDir,
      reconcileIntervalSeconds: 5,
    }),
    { logger: silentLogger(), registry: lwRegistry },
  );
  cleanups.push(() => logwatcher.stop());
  const lwServer = await startMetricsServer({
    registry: lwRegistry,
    listen: "127.0.0.1:0",
    logger: silentLogger(),
  });
  cleanups.push(() => lwServer.stop());
  writeFileSync(join(logRoot, "shop", "app.log"), "started\n");
  writeFileSync(join(logRoot, "shop", "deep", "er", "worker.log"), "started\n");
  const links = await waitFor(
    "the logwatcher to link both log files",
    async () => {
      const l = readdirSync(spoolDir, { withFileTypes: true })
        .filter((e) => e.isSymbolicLink())
        .map((e) => e.name);
      return l.length >= 2 ? l : undefined;
    },
    20_000,
  );
  // A link lost behind the watcher's back: the periodic reconcile repairs it (and counts it).
  rmSync(join(spoolDir, links[0] as string));

  const prom = await startAlertingPrometheus(cleanups, {
    amPort: am.port,
    ruleFiles: ["*.rules.yml"],
    targets: {
      boxscope: `127.0.0.1:${exporterPort}`,
      "boxscope-logwatcher": lwServer.address.replace(/^https?:\/\//, ""),
    },
  });
  // One error line of the steady container: its log panels have data (the rule is info: nobody is told).
  appendFileSync(steadyLog, "ERROR steady hiccup\n");

  // Prometheus has scraped the oom container's counter at 0 a few times before the kill.
  const oomSel = `container_id="${oom.id}"`;
  await waitFor(
    "Prometheus to hold the oom container's cgroup OOM counter at 0",
    async () => {
      const r = await promQuery(
        prom.url,
        `count_over_time(boxscope_container_oom_kills_total{${oomSel},source="cgroup"}[1m]) >= 3`,
      );
      return r.length === 1 ? r : undefined;
    },
    30_000,
  );
  const rules = await (await fetch(`${prom.url}/api/v1/rules`)).json();
  const ruleCount = (rules as { data: { groups: { rules: unknown[] }[] } }).data.groups.reduce(
    (n, g) => n + g.rules.length,
    0,
  );
  assert.ok(ruleCount >= 30, `Prometheus loaded only ${ruleCount} rules from alerts/`);

  // A real OOM kill: `tail /dev/zero` buffers one endless line until the 32 MiB memcg kills it.
  const { signal } = await oomKill(oom);
  assert.equal(signal, "SIGKILL", "the hog should be OOM-killed");
  const memDir = oom.dirs.get("memory");
  if (memDir) assert.match(readFileSync(join(memDir, "memory.oom_control"), "utf8"), /oom_kill [1-9]/);

  const killedAt = Date.now();
  const firing = await waitFor(
    "BoxscopeContainerOOMKilled firing in Prometheus",
    async () => {
      const r = await promQuery(
        prom.url,
        `ALERTS{alertname="BoxscopeContainerOOMKilled",alertstate="firing",${oomSel}}`,
      );
      return r.length > 0 ? r : undefined;
    },
    60_000,
  );
  const firedAt = Date.now();
  // One kill seen by both sources (cgroup and kmsg) is one alert, labelled with container and team.
  assert.equal(firing.length, 1, JSON.stringify(firing));
  const labels = firing[0]?.metric ?? {};
  assert.equal(labels.severity, "warning");
  assert.equal(labels.team, "payments");
  assert.equal(labels.container_id, oom.id);
  assert.equal(labels.source, undefined);

  const isOurs = (r: { alert: { labels: Record<string, string> } }) =>
    r.alert.labels.alertname === "BoxscopeContainerOOMKilled" && r.alert.labels.container_id === oom.id;
  await waitFor(
    "Alertmanager to notify both the PE and the payments team",
    async () => (pe.received.some(isOurs) && team.received.some(isOurs) ? true : undefined),
    60_000,
  );
  const notifiedAt = Date.now();
  // Figures for the report (no thresholds: a shared, noisy machine).
  t.diagnostic(
    `OOM kill → alert firing in Prometheus ${firedAt - killedAt} ms → both webhooks notified ${notifiedAt - killedAt} ms (scrape/eval 1 s, group_wait 1 s)`,
  );
  const toPe = pe.received.find(isOurs);
  const toTeam = team.received.find(isOurs);
  assert.equal(toPe?.path, "/pe");
  assert.equal(toPe?.receiver, "pe");
  assert.equal(toTeam?.path, "/team/payments");
  assert.equal(toTeam?.receiver, "team-payments");
  for (const r of [toPe, toTeam]) {
    assert.equal(r?.alert.status, "firing");
    assert.equal(r?.alert.labels.team, "payments");
    assert.equal(r?.alert.labels.container_id, oom.id);
    assert.match(r?.alert.annotations.description ?? "", /of team payments/);
    assert.match(r?.alert.annotations.runbook_url ?? "", /docs\/runbooks\/BoxscopeContainerOOMKilled\.md$/);
  }
  // The search team owns nothing that fired: it got nothing.
  assert.ok(!team.received.some((r) => r.path === "/team/search"), "search team got someone else's alert");

  await waitFor(
    "the logwatcher's reconcile repair to reach Prometheus",
    async () => {
      const r = await promQuery(prom.url, "boxscope_logwatcher_reconcile_repairs_total");
      return r.length > 0 ? r : undefined;
    },
    30_000,
  );

  await waitFor(
    "the steady container's load average to reach Prometheus",
    async () => {
      // The exporter's sampler samples a container from its first scrape on, every 5 s.
      const r = await promQuery(prom.url, `boxscope_container_load1{container_id="${steady.id}"}`);
      return r.length > 0 ? r : undefined;
    },
    30_000,
  );

  await t.test("every metric the rules and dashboards read is one the running services publish", async () => {
    const families = new Set<string>();
    for (const url of [
      `${exporterUrl}/metrics`,
      `http://${lwServer.address.replace(/^https?:\/\//, "")}/metrics`,
    ]) {
      const text = await (await fetch(url)).text();
      for (const m of text.matchAll(/^# TYPE (\S+) /gm)) families.add(m[1] as string);
    }
    const read = new Set([
      ...loadRules(join(repoRoot, "alerts")).flatMap((r) => metricsOf(r.expr)),
      ...allDashboards().flatMap(({ dashboard }) =>
        panelQueries(dashboard).flatMap((q) => metricsOf(q.expr)),
      ),
    ]);
    const present = presentSignals();
    const absent = absentSignals();
    for (const m of read) {
      assert.ok(present.has(m) || absent.has(m), `${m}: decide whether this signal exists on this host`);
      if (present.has(m) && m !== "ALERTS") assert.ok(families.has(m), `${m} is read but not published`);
    }
  });

  await t.test("every panel query of every dashboard runs against this Prometheus", async (t2) => {
    const present = presentSignals();
    const absent = absentSignals();
    const vars = {
      instance: ".+",
      container: steady.id,
      __rate_interval: "1m",
      __interval: "15s",
      __range: "1h",
    };
    // The OOM kill's panels look at the oom container; every other container panel at `steady`.
    const report: string[] = [];
    const failures: string[] = [];
    for (const { dashboard } of allDashboards()) {
      for (const q of panelQueries(dashboard)) {
        const v = q.expr.includes("oom_kills") ? { ...vars, container: oom.id } : vars;
        const expr = interpolate(q.expr, v);
        assert.doesNotMatch(expr, /\$/, `uninterpolated variable in ${q.dashboard} / ${q.panel}: ${expr}`);
        const metrics = metricsOf(q.expr);
        const unclassified = metrics.filter((m) => !present.has(m) && !absent.has(m));
        assert.deepEqual(unclassified, [], `${q.panel}: decide whether these signals exist on this host`);
        let series: PromSample[];
        try {
          series = q.instant ? await promQuery(prom.url, expr) : await rangeQuery(prom.url, expr);
        } catch (e) {
          failures.push(`${q.dashboard} / ${q.panel} [${q.refId}]: ${(e as Error).message}`);
          continue;
        }
        const missing = metrics.filter((m) => absent.has(m));
        if (missing.length === 0) {
          if (series.length === 0)
            failures.push(`${q.dashboard} / ${q.panel} [${q.refId}]: no series: ${expr}`);
          report.push(`present ${q.dashboard} / ${q.panel} [${q.refId}]: ${series.length} series`);
        } else {
          report.push(
            `absent  ${q.dashboard} / ${q.panel} [${q.refId}]: ${series.length} series; ${missing
              .map((m) => `${m} (${absent.get(m)})`)
              .join(", ")}`,
          );
        }
      }
    }
    for (const line of report) t2.diagnostic(line);
    assert.deepEqual(failures, []);
    assert.ok(report.filter((l) => l.startsWith("present")).length >= 25, report.join("\n"));
  });
});
