import type { Collector } from "../collector.js";
import type { ContainerSource } from "../containers.js";

/**
 * How the container data of this scrape was read (ContainerSource's read passes): how old it was
 * when the scrape began, how long reading took, and how many passes scrapes had to wait for
 * against those run ahead of a scrape. A scraper with a steady interval should see the `scrape`
 * count stand still after its first scrapes.
 */
export function containerReadsCollector(source: ContainerSource): Collector {
  return {
    name: "container_reads",
    metrics: [
      {
        name: "boxscope_container_read_age_seconds",
        help: "Age of the container read pass this scrape serves, when the scrape began (at most exporter.containerMaxAgeMs).",
        type: "gauge",
      },
      {
        name: "boxscope_container_read_duration_seconds",
        help: "Wall time of the container read pass this scrape serves (every container's cgroup files).",
        type: "gauge",
      },
      {
        name: "boxscope_container_read_passes_total",
        help: 'Container read passes by trigger: "ahead" (before a scraper\'s expected scrape) or "scrape" (a scrape found none recent enough and waited).',
        type: "counter",
        labelNames: ["trigger"],
      },
    ],
    collect(sink, view) {
      const pass = source.passOf(view.scrapeId);
      sink.add("boxscope_container_read_age_seconds", Math.max(0, pass.ageMs) / 1000);
      sink.add("boxscope_container_read_duration_seconds", pass.durationMs / 1000);
      for (const [trigger, n] of Object.entries(source.passCounts))
        sink.add("boxscope_container_read_passes_total", n, { trigger });
    },
  };
}
