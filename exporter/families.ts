import type { Family, FamilySample } from "../common/metrics/exposition.js";
import type { Labels, MetricSpec } from "./collector.js";

/**
 * A metric family whose series are replaced wholesale at each scrape, registered in a prom-client
 * Registry like any metric (the Registry only needs `name`, `get()` and `reset()`). Replacing
 * instead of mutating per-label children is what makes vanished containers' series disappear.
 */
export class ScrapedFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricSpec["type"];
  readonly labelNames: readonly string[];
  private samples: readonly FamilySample[] = [];

  constructor(spec: MetricSpec) {
    this.name = spec.name;
    this.help = spec.help;
    this.type = spec.type;
    this.labelNames = spec.labelNames ?? [];
  }

  /** Takes ownership of `samples` (the runner builds fresh arrays each scrape): no per-sample copy. */
  replace(samples: ReadonlyArray<{ labels: Labels; value: number }>): void {
    this.samples = samples as FamilySample[];
  }

  reset(): void {
    this.samples = [];
  }

  async get(): Promise<Family> {
    return { name: this.name, help: this.help, type: this.type, values: this.samples };
  }
}

/**
 * A family computed whenever the registry is rendered (the exporter renders at the end of each
 * collection): facts about the collection itself, which the collectors it runs cannot report.
 */
export class ComputedFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricSpec["type"];
  readonly labelNames: readonly string[];

  constructor(
    spec: MetricSpec,
    private readonly compute: () => ReadonlyArray<{ labels: Labels; value: number }>,
  ) {
    this.name = spec.name;
    this.help = spec.help;
    this.type = spec.type;
    this.labelNames = spec.labelNames ?? [];
  }

  reset(): void {}

  async get(): Promise<Family> {
    return { name: this.name, help: this.help, type: this.type, values: this.compute() as FamilySample[] };
  }
}
