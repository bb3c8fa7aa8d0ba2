import type { Registry } from "prom-client";
import type { Logger } from "../common/logger.js";
import type { CollectedView, Collector, Labels, MetricSpec, SampleSink } from "./collector.js";
import { ScrapedFamily } from "./families.js";

type Sample = { labels: Labels; value: number };

export const SELF_METRICS: readonly MetricSpec[] = [
  {
    name: "boxscope_collector_up",
    help: "1 when the collector succeeded at this scrape, 0 when it failed (its series are then absent).",
    type: "gauge",
    labelNames: ["collector"],
  },
  {
    name: "boxscope_collector_duration_seconds",
    help: "Wall time the collector took at this scrape.",
    type: "gauge",
    labelNames: ["collector"],
  },
];

/**
 * Runs every collector once per scrape (in order; derived ones last), publishing each
 * collector's samples only when it succeeded, plus the self metrics.
 */
export class CollectorRunner {
  private readonly families = new Map<string, ScrapedFamily>();
  private readonly owner = new Map<string, Collector>();
  private readonly failuresLogged = new Set<string>();
  private scrapeId = 0;

  constructor(
    private readonly collectors: readonly Collector[],
    registry: Registry,
    private readonly logger: Logger,
  ) {
    for (const spec of SELF_METRICS) this.register(spec, registry);
    for (const c of collectors) {
      for (const spec of c.metrics) {
        if (this.owner.has(spec.name)) {
          throw new Error(
            `metric ${spec.name} declared by both ${this.owner.get(spec.name)?.name} and ${c.name}`,
          );
        }
        this.owner.set(spec.name, c);
        this.register(spec, registry);
      }
    }
  }

  private register(spec: MetricSpec, registry: Registry): void {
    const family = new ScrapedFamily(spec);
    this.families.set(spec.name, family);
    // ScrapedFamily implements what the Registry uses of a metric (name, get, reset).
    registry.registerMetric(family as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  async start(): Promise<void> {
    const started: Collector[] = [];
    try {
      for (const c of this.collectors) {
        await c.start?.();
        started.push(c);
      }
    } catch (e) {
      for (const c of started.reverse()) await c.stop?.().catch(() => {});
      throw e;
    }
  }

  async stop(): Promise<void> {
    for (const c of [...this.collectors].reverse()) {
      try {
        await c.stop?.();
      } catch (e) {
        this.logger.warn({ collector: c.name, err: e }, "collector stop failed");
      }
    }
  }

  /** One scrape: refreshes every family. Never throws. */
  async collectAll(): Promise<void> {
    const collected = new Map<string, Sample[]>();
    const up = new Map<string, boolean>();
    const durations = new Map<string, number>();
    const view: CollectedView = {
      samples: (name) => collected.get(name) ?? [],
      collectorUp: up,
      scrapeId: ++this.scrapeId,
    };
    const runOne = async (c: Collector): Promise<void> => {
      const own = new Map<string, Sample[]>(c.metrics.map((m) => [m.name, []]));
      const sink: SampleSink = {
        add: (name, value, labels = {}) => {
          const list = own.get(name);
          if (!list) throw new Error(`collector ${c.name} emitted undeclared metric ${name}`);
          list.push({ labels, value });
        },
      };
      const t0 = process.hrtime.bigint();
      try {
        await c.collect(sink, view);
        for (const [name, samples] of own) collected.set(name, samples);
        up.set(c.name, true);
        this.failuresLogged.delete(c.name);
      } catch (e) {
        up.set(c.name, false);
        // One log line per failure streak, not one per scrape.
        if (!this.failuresLogged.has(c.name)) {
          this.failuresLogged.add(c.name);
          this.logger.warn({ collector: c.name, err: e }, "collector failed; its series are absent");
        }
      }
      durations.set(c.name, Number(process.hrtime.bigint() - t0) / 1e9);
    };
    // One after another: most collectors are synchronous file reads, so running them "in parallel"
    // gains nothing and would make each one's duration include the others'.
    for (const c of this.collectors.filter((c) => !c.derived)) await runOne(c);
    for (const c of this.collectors.filter((c) => c.derived)) await runOne(c);

    for (const [name, family] of this.families) {
      if (this.owner.has(name)) family.replace(collected.get(name) ?? []);
    }
    const names = this.collectors.map((c) => c.name);
    this.families
      .get("boxscope_collector_up")
      ?.replace(names.map((n) => ({ labels: { collector: n }, value: up.get(n) ? 1 : 0 })));
    this.families
      .get("boxscope_collector_duration_seconds")
      ?.replace(names.map((n) => ({ labels: { collector: n }, value: durations.get(n) ?? 0 })));
  }
}
