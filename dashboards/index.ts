import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { containerDashboard } from "./container.js";
import { hostDashboard } from "./host.js";
import { pipelineDashboard } from "./pipeline.js";

/** Every boxscope dashboard with the file name it is written to. */
export function allDashboards(): { file: string; dashboard: dashboard.Dashboard }[] {
  return [
    { file: "boxscope-host.json", dashboard: hostDashboard() },
    { file: "boxscope-container.json", dashboard: containerDashboard() },
    { file: "boxscope-log-pipeline.json", dashboard: pipelineDashboard() },
  ];
}
