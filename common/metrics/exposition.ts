/**
 * Renders metric families (prom-client's `metric.get()` shape) as Prometheus text 0.0.4 or
 * OpenMetrics 1.0.0. Written here rather than using `Registry.metrics()` because prom-client picks
 * one format per registry and, in OpenMetrics mode, renames counters inside the registry itself
 * (strips `_total` in place): one shared registry could not serve both formats to two scrapers.
 * Pure: no I/O.
 */
export type ExpositionFormat = "prometheus" | "openmetrics";

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

export interface FamilySample {
  readonly value: number;
  readonly labels?: Readonly<Record<string, string | number | undefined>>;
  readonly sharedLabels?: Readonly<Record<string, string | number | undefined>>;
  readonly metricName?: string;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly values: readonly FamilySample[];
}

/** Chooses OpenMetrics when the Accept header lists it with a non-zero quality. */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return "prometheus";
  for (const part of accept.split(",")) {
    const [media, ...params] = part.split(";").map((s) => s.trim());
    if (media?.toLowerCase() !== "application/openmetrics-text") continue;
    const q = params.find((p) => p.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) return "openmetrics";
  }
  return "prometheus";
}

export function renderExposition(families: readonly Family[], format: ExpositionFormat): string {
  const om = format === "openmetrics";
  const out: string[] = [];
  // Container series share one labels object across families: format each object once.
  const labelCache = new WeakMap<object, string>();
  for (const f of families) {
    const isCounter = f.type === "counter";
    // OpenMetrics names the counter family without `_total` and its sample with it.
    const familyName = om && isCounter ? f.name.replace(/_total$/, "") : f.name;
    out.push(`# HELP ${familyName} ${escapeHelp(f.help, om)}`);
    out.push(`# TYPE ${familyName} ${om || isKnownTextType(f.type) ? f.type : "untyped"}`);
    for (const v of f.values) {
      const sampleName = v.metricName ?? (om && isCounter ? `${familyName}_total` : f.name);
      let labels: string | undefined;
      if (v.labels && !v.sharedLabels) {
        labels = labelCache.get(v.labels);
        if (labels === undefined) {
          labels = formatLabels(v.labels, undefined);
          labelCache.set(v.labels, labels);
        }
      } else labels = formatLabels(v.labels, v.sharedLabels);
      out.push(`${sampleName}${labels} ${formatValue(v.value)}`);
    }
  }
  if (om) out.push("# EOF");
  return `${out.join("\n")}\n`;
}

function isKnownTextType(t: string): boolean {
  return t === "counter" || t === "gauge" || t === "histogram" || t === "summary" || t === "untyped";
}

function formatLabels(
  labels: FamilySample["labels"] = {},
  shared: FamilySample["sharedLabels"] = {},
): string {
  const parts: string[] = [];
  for (const src of [labels, shared]) {
    for (const [k, v] of Object.entries(src)) {
      if (v === undefined) continue;
      parts.push(`${k}="${escapeLabel(String(v))}"`);
    }
  }
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}

function escapeLabel(s: string): string {
  if (!/[\\\n"]/.test(s)) return s;
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(s: string, om: boolean): string {
  const t = s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
  return om ? t.replace(/"/g, '\\"') : t;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}
