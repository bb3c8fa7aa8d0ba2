import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { repoRoot } from "../helpers/paths.js";
import { requirePrereq } from "../helpers/prereq.js";
import { BIN, havePrometheusBinaries, startAlertmanager } from "../helpers/prometheus.js";
import { waitFor } from "../helpers/wait.js";
import { startWebhookReceiver } from "../helpers/webhook.js";
import { testAlertmanagerConfig } from "./alertmanager-config.js";

const configPath = join(repoRoot, "alerts", "alertmanager.yml");
const cases = (
  parse(readFileSync(join(repoRoot, "alerts", "tests", "alertmanager-routes.yml"), "utf8")) as {
    cases: { labels: Record<string, string>; receivers: string[] }[];
  }
).cases;

test("amtool check-config: alerts/alertmanager.yml is valid", (t) => {
  if (!requirePrereq(t, existsSync(BIN.amtool), "amtool missing (Debian package prometheus-alertmanager)"))
    return;
  const res = spawnSync(BIN.amtool, ["check-config", configPath], { encoding: "utf8" });
  assert.equal(res.status, 0, `${res.stdout}${res.stderr}`);
  assert.match(res.stdout, /SUCCESS/);
});

test("route cases cover every team receiver and every severity", () => {
  const cfg = parse(readFileSync(configPath, "utf8")) as { receivers: { name: string }[] };
  for (const r of cfg.receivers.map((x) => x.name)) {
    if (r === "blackhole") continue;
    for (const sev of ["critical", "warning"]) {
      assert.ok(
        cases.some((c) => c.receivers.includes(r) && c.labels.severity === sev),
        `no ${sev} case reaches ${r}`,
      );
    }
  }
  assert.ok(cases.some((c) => c.labels.severity === "info"));
});

for (const c of cases) {
  const labels = Object.entries(c.labels).map(([k, v]) => `${k}=${v}`);
  test(`amtool config routes test ${labels.join(" ")} -> ${c.receivers.join(",")}`, (t) => {
    if (!requirePrereq(t, existsSync(BIN.amtool), "amtool missing (Debian package prometheus-alertmanager)"))
      return;
    const res = spawnSync(
      BIN.amtool,
      [
        "config",
        "routes",
        "test",
        `--config.file=${configPath}`,
        `--verify.receivers=${c.receivers.join(",")}`,
        ...labels,
      ],
      { encoding: "utf8" },
    );
    assert.equal(res.status, 0, `${res.stdout}${res.stderr}`);
    assert.equal(res.stdout.trim(), c.receivers.join(","));
  });
}

test("live Alertmanager: PE and owning team both notified; critical inhibits warning inhibits info", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, havePrometheusBinaries(), "Debian prometheus-alertmanager missing")) return;
  const pe = await startWebhookReceiver();
  t.after(() => pe.close());
  const team = await startWebhookReceiver();
  t.after(() => team.close());
  const am = await startAlertmanager(
    testAlertmanagerConfig(readFileSync(configPath, "utf8"), { pe: pe.url, team: team.url }),
  );
  t.after(() => am.stop());

  const base = { instance: "h1", job: "boxscope", container_name: "shop" };
  const alert = (labels: Record<string, string>) => ({
    labels: { ...base, ...labels },
    annotations: { summary: "test" },
    startsAt: new Date().toISOString(),
  });
  const post = await fetch(`${am.url}/api/v2/alerts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify([
      // same alert, same container: critical wins, warning and info are inhibited
      alert({
        alertname: "BoxscopeContainerMemoryNearLimit",
        severity: "critical",
        container_id: "c1",
        team: "payments",
      }),
      alert({
        alertname: "BoxscopeContainerMemoryNearLimit",
        severity: "warning",
        container_id: "c1",
        team: "payments",
      }),
      // same alert, another container: its warning is not inhibited by c1's critical
      alert({
        alertname: "BoxscopeContainerMemoryNearLimit",
        severity: "warning",
        container_id: "c2",
        team: "search",
      }),
      // warning inhibits info of the same alert and process
      alert({ alertname: "BoxscopeKeyProcessRestarting", severity: "warning", process: "dockerd" }),
      alert({ alertname: "BoxscopeKeyProcessRestarting", severity: "info", process: "dockerd" }),
    ]),
  });
  assert.equal(post.status, 200, await post.text());

  const key = (l: Record<string, string>) => `${l.alertname}/${l.container_id ?? l.process}/${l.severity}`;
  const states = await waitFor(
    "inhibition to settle",
    async () => {
      const res = await fetch(`${am.url}/api/v2/alerts`);
      const list = (await res.json()) as { labels: Record<string, string>; status: { state: string } }[];
      const m = new Map(list.map((a) => [key(a.labels), a.status.state]));
      const settled =
        m.size === 5 &&
        m.get("BoxscopeKeyProcessRestarting/dockerd/info") === "suppressed" &&
        m.get("BoxscopeContainerMemoryNearLimit/c1/warning") === "suppressed";
      return settled ? m : undefined;
    },
    20_000,
  );
  assert.deepEqual(Object.fromEntries(states), {
    "BoxscopeContainerMemoryNearLimit/c1/critical": "active",
    "BoxscopeContainerMemoryNearLimit/c1/warning": "suppressed",
    "BoxscopeContainerMemoryNearLimit/c2/warning": "active",
    "BoxscopeKeyProcessRestarting/dockerd/warning": "active",
    "BoxscopeKeyProcessRestarting/dockerd/info": "suppressed",
  });

  // Delivery: PE gets every active warning/critical; each team gets its own; host alerts go to unassigned.
  const expectPe = [
    "BoxscopeContainerMemoryNearLimit/c1/critical",
    "BoxscopeContainerMemoryNearLimit/c2/warning",
    "BoxscopeKeyProcessRestarting/dockerd/warning",
  ];
  await waitFor(
    "webhook deliveries",
    async () => (pe.received.length >= 3 && team.received.length >= 3 ? true : undefined),
    20_000,
  );
  assert.deepEqual([...new Set(pe.received.map((r) => key(r.alert.labels)))].sort(), expectPe);
  assert.deepEqual([...new Set(team.received.map((r) => `${r.path} ${key(r.alert.labels)}`))].sort(), [
    "/team/payments BoxscopeContainerMemoryNearLimit/c1/critical",
    "/team/search BoxscopeContainerMemoryNearLimit/c2/warning",
    "/team/unassigned BoxscopeKeyProcessRestarting/dockerd/warning",
  ]);
  for (const r of [...pe.received, ...team.received]) assert.equal(r.alert.status, "firing");
});
