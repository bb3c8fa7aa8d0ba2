import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { containerDashboard } from "./container.js";
import { hostDashboard } from "./host.js";
import { pipelineDashboard } from "./pipeline.js";

/** Every boxscope dashboard with the file name it is written to. */
export function allDashboards(): { file: string; dashboard: dashboard.Dashboard }[] {
  return [
    { file: "boxscope-host.json", dashboard: numberPanels(hostDashboard()) },
    { file: "boxscope-container.json", dashboard: numberPanels(containerDashboard()) },
    { file: "boxscope-log-pipeline.json", dashboard: numberPanels(pipelineDashboard()) },
  ];
}

/**
 * Gives every panel and row a unique id in layout order (the builders leave rows at 0 and panels
 * without one; Grafana uses ids for links, repeats and panel views).
 */
function numberPanels(d: dashboard.Dashboard): dashboard.Dashboard {
  let next = 1;
  for (const p of d.panels ?? []) {
    (p as { id?: number }).id = next++;
    for (const child of (p as { panels?: { id?: number }[] }).panels ?? []) child.id = next++;
  }
  return d;
}
