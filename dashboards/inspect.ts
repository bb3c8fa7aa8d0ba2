import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";

/** One query of one panel, as Grafana would send it to Prometheus (before variable interpolation). */
export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
  instant: boolean;
}

/** Every Prometheus query of every panel (rows included), in layout order. Pure. */
export function panelQueries(d: dashboard.Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  const visit = (p: { title?: string; targets?: unknown[]; panels?: unknown[] }) => {
    for (const t of (p.targets ?? []) as { refId?: string; expr?: string; instant?: boolean }[]) {
      if (typeof t.expr === "string") {
        out.push({
          dashboard: d.title ?? "",
          panel: p.title ?? "",
          refId: t.refId ?? "",
          expr: t.expr,
          instant: t.instant === true,
        });
      }
    }
    for (const child of (p.panels ?? []) as { title?: string }[]) visit(child);
  };
  for (const p of d.panels ?? []) visit(p as { title?: string; targets?: unknown[]; panels?: unknown[] });
  return out;
}

/** Grafana's built-in and dashboard variables replaced by concrete values, for running a query directly. */
export function interpolate(expr: string, vars: Record<string, string>): string {
  return expr.replace(
    /\$(__rate_interval|__interval|__range|[a-z_]+)\b/g,
    (m, name: string) => vars[name] ?? m,
  );
}

/** The metric names a query reads (boxscope_* and ALERTS), e.g. to decide whether its signal exists on a host. Pure. */
export function metricsOf(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\b(boxscope_[a-z0-9_]+|ALERTS)\b/g)) {
    names.add((m[1] as string).replace(/_bucket$/, ""));
  }
  return [...names].sort();
}
