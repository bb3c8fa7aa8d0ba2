import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder, PromQueryFormat } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanelBuilder } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TablePanelBuilder } from "@grafana/grafana-foundation-sdk/table";
import { PanelBuilder as TimeseriesPanelBuilder } from "@grafana/grafana-foundation-sdk/timeseries";

/** Every panel and variable queries the datasource the viewer picks in the `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana variable syntax, interpolated by Grafana.
export const DS: common.DataSourceRef = { type: "prometheus", uid: "${datasource}" };

/** Selector for the chosen host(s); `instance` is a multi-value variable, hence the regex match. */
export const INSTANCE = 'instance=~"$instance"';

function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder("datasource").label("Data source").type("prometheus");
}

/** A variable whose values a Prometheus query lists, sorted alphabetically, refreshed with the time range. */
export function queryVariable(name: string, label: string, q: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DS)
    .query({ query: q, refId: name })
    .definition(q)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
}

/** Hosts that run the boxscope exporter (every exporter publishes boxscope_host_pid_max). */
function instanceVariable(): dashboard.QueryVariableBuilder {
  return queryVariable("instance", "Host", "label_values(boxscope_host_pid_max, instance)")
    .multi(true)
    .includeAll(true)
    .allValue(".+");
}

/**
 * What every boxscope dashboard shares: tags, refresh, last 3 hours, crosshair tooltips, and the
 * datasource and host variables; callers add their own variables and panels.
 */
export function boxscopeDashboard(
  title: string,
  uid: string,
  description: string,
): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(["boxscope", "generated"])
    .refresh("30s")
    .time({ from: "now-3h", to: "now" })
    .timezone("browser")
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(datasourceVariable())
    .withVariable(instanceVariable());
}

function query(expr: string, legend = "", refId = "A"): DataqueryBuilder {
  return new DataqueryBuilder().datasource(DS).expr(expr).legendFormat(legend).refId(refId).range();
}

/** Queries get refIds A, B, C... in order. */
function withQueries<T extends { withTarget(t: cog.Builder<cog.Dataquery>): T }>(
  panel: T,
  queries: [expr: string, legend: string][],
): T {
  queries.forEach(([expr, legend], i) => {
    panel.withTarget(query(expr, legend, String.fromCharCode(65 + i)));
  });
  return panel;
}

/** Green below `warn`, orange from it, red from `crit`: the alert's warning and critical levels. */
function alertThresholds([warn, crit]: [warn: number, crit: number]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
    { value: null, color: "green" },
    { value: warn, color: "orange" },
    { value: crit, color: "red" },
  ]);
}

export interface PanelSpec {
  title: string;
  description: string;
  unit?: string;
  queries: [expr: string, legend: string][];
  /** Warning and critical lines, the alert thresholds (same unit as the panel). */
  thresholds?: [warn: number, crit: number];
  min?: number;
  max?: number;
  w?: number;
  h?: number;
}

export function timeseries(p: PanelSpec): TimeseriesPanelBuilder {
  const b = new TimeseriesPanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(DS)
    .unit(p.unit ?? "short")
    .span(p.w ?? 12)
    .height(p.h ?? 8);
  if (p.min !== undefined) b.min(p.min);
  if (p.max !== undefined) b.max(p.max);
  if (p.thresholds) {
    b.thresholds(alertThresholds(p.thresholds)).thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Line),
    );
  }
  return withQueries(b, p.queries);
}

/** A share of a limit (0..1) drawn as a percentage, with the alert's warning and critical lines. */
export function percentOfLimit(
  p: Omit<PanelSpec, "unit" | "min" | "max" | "thresholds"> & { thresholds: [warn: number, crit: number] },
): TimeseriesPanelBuilder {
  return timeseries({ ...p, unit: "percentunit", min: 0, max: 1 });
}

export function stat(p: PanelSpec & { mappings?: dashboard.ValueMapping[] }): StatPanelBuilder {
  const b = new StatPanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(DS)
    .unit(p.unit ?? "short")
    .span(p.w ?? 6)
    .height(p.h ?? 5)
    .colorMode(common.BigValueColorMode.Background)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]));
  if (p.mappings) b.mappings(p.mappings);
  if (p.thresholds) {
    b.thresholds(alertThresholds(p.thresholds));
  }
  return withQueries(b, p.queries);
}

/** A table of the latest values (instant queries), e.g. which alerts fire or which containers exist. */
export function table(p: PanelSpec): TablePanelBuilder {
  const b = new TablePanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(DS)
    .span(p.w ?? 24)
    .height(p.h ?? 8);
  p.queries.forEach(([expr, legend], i) => {
    b.withTarget(
      new DataqueryBuilder()
        .datasource(DS)
        .expr(expr)
        .legendFormat(legend)
        .refId(String.fromCharCode(65 + i))
        .instant()
        .format(PromQueryFormat.Table),
    );
  });
  return b;
}

/** Maps a numeric value to a word and a colour (Grafana value mappings). */
export function valueWords(words: Record<number, [text: string, color: string]>): dashboard.ValueMapping[] {
  const options: Record<string, dashboard.ValueMappingResult> = {};
  Object.entries(words).forEach(([value, [text, color]], index) => {
    options[value] = { text, color, index };
  });
  return [{ type: dashboard.MappingType.ValueToText, options }];
}

/** The host health code (boxscope_host_health_status) in words, as vivo's Grafana showed it. */
export const HEALTH_WORDS = valueWords({
  0: ["ok", "green"],
  1: ["monitoring problem", "purple"],
  2: ["network problem", "orange"],
  3: ["PID exhaustion", "red"],
  4: ["memory (container OOM kill)", "red"],
  5: ["key process down or hung", "red"],
  6: ["log partition full", "red"],
});

/** Legend of a per-container series: name, full id and team (names may be empty or reused). */
export const CONTAINER_LEGEND = "{{container_name}} {{container_id}} ({{team}})";

export function row(title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title);
}
