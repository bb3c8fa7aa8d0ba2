import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { accessSync, appendFileSync, constants, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { cgroupsWritable, createContainerCgroup, randomId } from "../helpers/container-cgroup.js";
import { requirePrereq } from "../helpers/prereq.js";
import { freePort, havePrometheusBinaries, promQuery } from "../helpers/prometheus.js";
import { waitFor } from "../helpers/wait.js";
import type { WebhookReceiver } from "../helpers/webhook.js";
import {
  cleanupStack,
  scratchDir,
  startAlertingPrometheus,
  startExporterCli,
  startRoutedAlertmanager,
} from "./live-stack.js";

const kmsgWritable = (): boolean => {
  try {
    accessSync("/dev/kmsg", constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

test("live: one kernel BUG line pages the PE; one ERROR line in a container's log file reaches its team and the PE", {
  timeout: 180_000,
}, async (t) => {
  if (!requirePrereq(t, kmsgWritable(), "needs root to read and write /dev/kmsg")) return;
  if (!requirePrereq(t, cgroupsWritable(), "needs root and a writable cgroup hierarchy")) return;
  if (!requirePrereq(t, havePrometheusBinaries(), "Debian prometheus + prometheus-alertmanager missing"))
    return;
  const cleanups = cleanupStack(t);
  const dir = scratchDir(cleanups, "boxscope-test-logalerts-");

  // A container-shaped cgroup (64-hex id) whose team comes from the mapping file, and its log
  // directory named after its id, as the log root's layout is <logRoot>/<container>/**.
  const parent = `boxscope-test-logalerts-${randomId()}`;
  const shop = createContainerCgroup(parent);
  cleanups.push(() => shop.cleanup());
  const logRoot = join(dir, "log");
  mkdirSync(join(logRoot, shop.id, "app"), { recursive: true });
  const appLog = join(logRoot, shop.id, "app", "server.log");
  writeFileSync(appLog, "ERROR an old line, before the exporter started\n");
  const mappingFile = join(dir, "teams.yaml");
  writeFileSync(mappingFile, stringify({ teams: { [shop.id]: "payments" } }));

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
        team: { mappingFile },
        logRules: [
          { name: "app_error", glob: `${logRoot}/**/*.log`, regex: "\\bERROR\\b", severity: "warning" },
        ],
      },
    }),
  );

  const { pe, team, am } = await startRoutedAlertmanager(cleanups);

  // The real CLI, as a user runs it.
  await startExporterCli(cleanups, { configPath, port: exporterPort });

  const prom = await startAlertingPrometheus(cleanups, {
    amPort: am.port,
    ruleFiles: ["logs.rules.yml"],
    targets: { boxscope: `127.0.0.1:${exporterPort}` },
  });
  await waitFor(
    "Prometheus to hold kernel_bug at 0",
    async () => {
      const r = await promQuery(
        prom.url,
        'count_over_time(boxscope_log_pattern_matches_total{rule="kernel_bug",source="kmsg"}[1m]) >= 3',
      );
      return r.length === 1 ? r : undefined;
    },
    30_000,
  );

  // One kernel BUG record, as the kernel prints it (root may write to the kernel log), and one
  // ERROR line in the container's log file.
  const marker = randomBytes(4).toString("hex");
  const startedAt = Date.now();
  writeFileSync("/dev/kmsg", `kernel BUG at boxscope-test-${marker}.c:42!\n`);
  appendFileSync(appLog, `INFO fine\nERROR payment ${marker} failed\n`);

  const isBug = (r: WebhookReceiver["received"][number]) =>
    r.alert.labels.alertname === "BoxscopeLogPatternMatched" && r.alert.labels.rule === "kernel_bug";
  const isAppError = (r: WebhookReceiver["received"][number]) =>
    r.alert.labels.alertname === "BoxscopeLogPatternMatched" && r.alert.labels.rule === "app_error";
  await waitFor(
    "the kernel BUG alert at the PE, the ERROR alert at the PE and the payments team",
    async () =>
      pe.received.some(isBug) && pe.received.some(isAppError) && team.received.some(isAppError)
        ? true
        : undefined,
    90_000,
  );
  t.diagnostic(`lines written → PE and team notified in ${Date.now() - startedAt} ms (scrape/eval 1 s)`);

  const bug = pe.received.find(isBug);
  assert.equal(bug?.path, "/pe");
  assert.equal(bug?.alert.status, "firing");
  assert.equal(bug?.alert.labels.severity, "critical");
  assert.equal(bug?.alert.labels.source, "kmsg");
  assert.match(bug?.alert.annotations.runbook_url ?? "", /docs\/runbooks\/BoxscopeLogPatternMatched\.md$/);

  const toPe = pe.received.find(isAppError);
  const toTeam = team.received.find(isAppError);
  assert.equal(toTeam?.path, "/team/payments");
  assert.equal(toTeam?.receiver, "team-payments");
  for (const r of [toPe, toTeam]) {
    assert.equal(r?.alert.status, "firing");
    assert.equal(r?.alert.labels.severity, "warning");
    assert.equal(r?.alert.labels.team, "payments");
    assert.equal(r?.alert.labels.container_id, shop.id);
    assert.match(r?.alert.annotations.description ?? "", /of team payments/);
  }
  // The old line before start was not counted: one match, not two.
  const count = await promQuery(
    prom.url,
    `boxscope_log_pattern_matches_total{rule="app_error",container_id="${shop.id}"}`,
  );
  assert.equal(count[0]?.value[1], "1");
  // Nobody else's team heard of it; the kernel BUG (no container) went to team-unassigned, not a business team.
  assert.ok(!team.received.some((r) => r.path === "/team/search"), "search team got someone else's alert");
  assert.ok(team.received.filter(isBug).every((r) => r.path === "/team/unassigned"));
});
