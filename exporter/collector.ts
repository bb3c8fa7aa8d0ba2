/** Label name → value; every series of a family carries the family's label names. */
export type Labels = Readonly<Record<string, string>>;

/** One metric family a collector owns (node_exporter style: a collector declares what it emits). */
export interface MetricSpec {
  readonly name: string;
  readonly help: string;
  readonly type: "gauge" | "counter";
  readonly labelNames?: readonly string[];
}

/** Where a collector writes this scrape's samples; series not written this scrape disappear. */
export interface SampleSink {
  add(name: string, value: number, labels?: Labels): void;
}

/** Samples already collected in this scrape, for derived collectors (the health code). */
export interface CollectedView {
  /** Samples of a family from this scrape ([] when its collector failed or emitted none). */
  samples(name: string): ReadonlyArray<{ readonly labels: Labels; readonly value: number }>;
  /** Increments per scrape: sources shared by several collectors (the container list) cache by it. */
  readonly scrapeId: number;
  /** Collector name → whether it succeeded this scrape. */
  readonly collectorUp: ReadonlyMap<string, boolean>;
}

/**
 * A collector: `collect()` runs at scrape time and writes samples; a throw marks it down
 * (`boxscope_collector_up{collector} 0`, its series absent) without failing the scrape.
 * Stream sources (kernel log, log files) run in `start()`..`stop()` and collect() publishes their counts.
 */
export interface Collector {
  readonly name: string;
  readonly metrics: readonly MetricSpec[];
  /** Derived collectors run after all others and may read their samples. */
  readonly derived?: boolean;
  start?(): Promise<void>;
  stop?(): Promise<void>;
  collect(sink: SampleSink, view: CollectedView): Promise<void> | void;
}
