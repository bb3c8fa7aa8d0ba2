import { PRESSURE_RESOURCES, parsePressureTotals } from "../../cgroup/pressure.js";
import type { Collector } from "../collector.js";
import { CONTAINER_LABEL_NAMES, type ContainerSource } from "../containers.js";

/**
 * Per-container pressure stall information (cgroup v2 <resource>.pressure; on hybrid hosts the
 * container's directory in the unified hierarchy, when it has one). `waiting` is PSI's "some" (at
 * least one task stalled), `stalled` its "full" (all non-idle tasks stalled at once).
 */
export function containerPressureCollector(source: ContainerSource): Collector {
  const metrics = PRESSURE_RESOURCES.flatMap((r) => [
    {
      name: `boxscope_container_pressure_${r}_waiting_seconds_total`,
      help: `Time at least one of the container's tasks waited for ${r} (${r}.pressure some total).`,
      type: "counter",
      labelNames: CONTAINER_LABEL_NAMES,
    } as const,
    {
      name: `boxscope_container_pressure_${r}_stalled_seconds_total`,
      help: `Time all of the container's non-idle tasks stalled on ${r} at once (${r}.pressure full total).`,
      type: "counter",
      labelNames: CONTAINER_LABEL_NAMES,
    } as const,
  ]);
  return {
    name: "container_pressure",
    metrics,
    collect(sink) {
      for (const c of source.containers()) {
        const data = source.pressure(c);
        for (const r of PRESSURE_RESOURCES) {
          const text = data[r];
          if (text === undefined) continue;
          const t = parsePressureTotals(text);
          if (t.someUs !== undefined)
            sink.add(`boxscope_container_pressure_${r}_waiting_seconds_total`, t.someUs / 1e6, c.labels);
          if (t.fullUs !== undefined)
            sink.add(`boxscope_container_pressure_${r}_stalled_seconds_total`, t.fullUs / 1e6, c.labels);
        }
      }
    },
  };
}
