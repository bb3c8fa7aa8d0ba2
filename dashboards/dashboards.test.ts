import assert from "node:assert/strict";
import { test } from "node:test";
import { DS, type HEALTH_WORDS } from "./common.js";
import { allDashboards } from "./index.js";
import { interpolate, metricsOf, panelQueries } from "./inspect.js";

test("every dashboard builds with a unique uid, the datasource and instance variables, and queries in every panel", () => {
  const all = allDashboards();
  assert.equal(all.length, 3);
  assert.equal(new Set(all.map((d) => d.dashboard.uid)).size, all.length);
  for (const { file, dashboard } of all) {
    const ids = (dashboard.panels ?? []).map((p) => (p as { id?: number }).id);
    assert.ok(
      ids.every((id) => typeof id === "number" && id > 0),
      `${file}: panel without id`,
    );
    assert.equal(new Set(ids).size, ids.length, `${file}: duplicate panel ids`);
  }
  for (const { file, dashboard } of all) {
    const vars = (dashboard.templating?.list ?? []).map((v) => v.name);
    assert.deepEqual(vars.slice(0, 2), ["datasource", "instance"], file);
    const panels = (dashboard.panels ?? []).filter((p) => p.type !== "row") as {
      title: string;
      type: string;
      targets?: { expr?: string; datasource?: { uid?: string } }[];
    }[];
    assert.ok(panels.length >= 5, `${file}: ${panels.length} panels`);
    for (const p of panels) {
      assert.ok((p.targets ?? []).length > 0, `${file} "${p.title}" has no query`);
      for (const t of p.targets ?? []) {
        assert.equal(t.datasource?.uid, DS.uid, `${file} "${p.title}" datasource`);
        assert.match(t.expr ?? "", /\$instance/, `${file} "${p.title}" ignores the instance variable`);
      }
    }
  }
});

test("the container dashboard is chosen by a container variable used in every panel", () => {
  const c = allDashboards().find((d) => d.file === "boxscope-container.json")?.dashboard;
  assert.ok(c);
  assert.ok(c.templating?.list?.some((v) => v.name === "container"));
  for (const q of panelQueries(c)) assert.match(q.expr, /container_id=~"\$container"/, q.panel);
  const exprs = panelQueries(c).map((q) => q.expr);
  for (const m of [
    "boxscope_container_memory_strict_usage_bytes",
    "boxscope_container_memory_working_set_bytes",
    "boxscope_container_memory_limit_bytes",
    "boxscope_container_cpu_usage_seconds_total",
    "boxscope_container_pids_limit",
    "boxscope_container_oom_kills_total",
    "boxscope_container_memory_max_usage_bytes",
    "boxscope_container_memory_shmem_bytes",
    "boxscope_container_memory_active_anon_bytes",
    "boxscope_container_memory_inactive_anon_bytes",
    "boxscope_container_memory_swap_bytes",
    "boxscope_container_cpu_shares",
  ]) {
    assert.ok(
      exprs.some((e) => e.includes(m)),
      `container dashboard lacks ${m}`,
    );
  }
});

test("the host health code is shown as words through value mappings 0..6", () => {
  const host = allDashboards().find((d) => d.file === "boxscope-host.json")?.dashboard;
  const health = host?.panels?.find((p) => p.type === "stat" && p.title === "Health") as
    | { fieldConfig: { defaults: { mappings: typeof HEALTH_WORDS } } }
    | undefined;
  assert.ok(health);
  const map = health.fieldConfig.defaults.mappings[0] as { options: Record<string, { text: string }> };
  assert.deepEqual(Object.fromEntries(Object.entries(map.options).map(([k, v]) => [k, v.text])), {
    0: "ok",
    1: "monitoring problem",
    2: "network problem",
    3: "PID exhaustion",
    4: "memory (container OOM kill)",
    5: "key process down or hung",
    6: "log partition full",
  });
});

test("the log pipeline dashboard shows the logwatcher, shipper and indexer metrics", () => {
  const p = allDashboards().find((d) => d.file === "boxscope-log-pipeline.json")?.dashboard;
  assert.ok(p);
  const metrics = new Set(panelQueries(p).flatMap((q) => metricsOf(q.expr)));
  for (const m of [
    "boxscope_logwatcher_links",
    "boxscope_logwatcher_link_events_total",
    "boxscope_logwatcher_errors_total",
    "boxscope_logwatcher_reconcile_repairs_total",
    "boxscope_logwatcher_link_latency_seconds",
    "boxscope_logwatcher_polling_subtrees",
    "boxscope_ship_lines_total",
    "boxscope_ship_bytes_total",
    "boxscope_ship_lag_bytes",
    "boxscope_ship_retries_total",
    "boxscope_ship_position_age_seconds",
    "boxscope_ship_open_files",
    "boxscope_index_documents_total",
    "boxscope_index_retries_total",
    "boxscope_index_dead_letters_total",
    "boxscope_index_consumer_lag",
  ]) {
    assert.ok(metrics.has(m), `missing ${m}`);
  }
});

test("interpolate and metricsOf", () => {
  assert.equal(
    interpolate('rate(x{instance=~"$instance"}[$__rate_interval])', {
      instance: ".+",
      __rate_interval: "1m",
    }),
    'rate(x{instance=~".+"}[1m])',
  );
  assert.deepEqual(metricsOf("histogram_quantile(0.5, rate(boxscope_a_seconds_bucket[1m])) / boxscope_b"), [
    "boxscope_a_seconds",
    "boxscope_b",
  ]);
});
