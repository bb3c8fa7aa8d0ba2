import type { Registry } from "prom-client";
import type { MetricSpec } from "./collector.js";
import { ComputedFamily } from "./families.js";
import { ScrapeCadence } from "./scrape-cadence.js";

/** A collection begins at least this long before the scrape it is for. */
const MIN_LEAD_MS = 200;

type Trigger = "ahead" | "scrape";

/**
 * When the exporter collects: ahead of each scraper's next expected scrape, so a scrape only
 * renders what is already collected. Collecting means reading hundreds of containers' cgroup
 * files and scanning /proc, tens of milliseconds that were otherwise the scrape's latency.
 *
 * A scrape serves the latest collection when it began at most `maxAgeMs` ago; otherwise (a first
 * scrape, an irregular scraper, maxAgeMs 0) it waits for a collection of its own. After each
 * scrape, the next collection is timed from the scraper's cadence (ScrapeCadence): `lead` before
 * its expected next scrape, or at once when that scrape is due within maxAgeMs (a collection
 * begun now serves it anyway). A scraper's values are thus a fraction of a second old, by about
 * the same amount at each of its scrapes, so rates over them stay true. One collection runs at a
 * time; a scrape arriving meanwhile serves the previous one if recent enough, else joins it.
 */
export class CollectAhead {
  /** The latest complete collection. */
  private last: { startedAt: number; durationMs: number } | undefined;
  /** The collection running, else the latest one: what a body rendered now shows. */
  private current: { startedAt: number } | undefined;
  private running: Promise<void> | undefined;
  private readonly counts: Record<Trigger, number> = { ahead: 0, scrape: 0 };
  private readonly cadence = new ScrapeCadence();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  /** `collect` must not reject (the runner and the container source record their own failures). */
  constructor(
    private readonly collect: () => Promise<void>,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A scrape by `client` (the scraper's address) arrived: times the collection for its next one. */
  scrapedBy(client: string): void {
    if (this.maxAgeMs === 0 || this.stopped) return;
    const now = this.now();
    const next = this.cadence.observe(client, now);
    clearTimeout(this.timers.get(client));
    this.timers.delete(client);
    if (next === undefined) return;
    const lead = this.leadMs();
    const delay = next - now <= this.maxAgeMs ? 0 : next - lead - now;
    // A collection begun since then serves the coming scrape too (another scraper's, or the one
    // this scrape waited for). Right after a scrape that is only one begun for it: an irregular
    // scraper's next scrape may come up to maxAgeMs later, and must find one at most that old.
    const freshSince = delay === 0 ? now : now + delay - lead;
    const timer = setTimeout(() => {
      this.timers.delete(client);
      if (this.current !== undefined && this.current.startedAt >= freshSince) return;
      void this.run("ahead");
    }, delay);
    timer.unref();
    this.timers.set(client, timer);
  }

  /** Before a scrape renders: waits for a collection unless the latest began at most maxAgeMs ago. */
  async ready(): Promise<void> {
    const last = this.last;
    if (this.maxAgeMs > 0 && last !== undefined && this.now() - last.startedAt <= this.maxAgeMs) return;
    await this.run("scrape");
  }

  /**
   * How long before an expected scrape its collection begins: the collection's own duration with
   * room for a late timer, within half the allowed age.
   */
  private leadMs(): number {
    const took = this.last?.durationMs ?? 0;
    return Math.min(this.maxAgeMs / 2, Math.max(MIN_LEAD_MS, 50 + 3 * took));
  }

  private run(trigger: Trigger): Promise<void> {
    if (this.running) return this.running;
    this.counts[trigger]++;
    this.current = { startedAt: this.now() };
    const t0 = performance.now();
    this.running = this.collect().finally(() => {
      this.last = {
        startedAt: (this.current as { startedAt: number }).startedAt,
        durationMs: performance.now() - t0,
      };
      this.running = undefined;
    });
    return this.running;
  }

  /** Registers the exporter's own view of this: what a scrape serves, and what triggered collections. */
  register(registry: Registry): void {
    for (const family of this.families())
      registry.registerMetric(family as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  private families(): ComputedFamily[] {
    const spec = (name: string, help: string, type: MetricSpec["type"], labelNames?: string[]) => ({
      name,
      help,
      type,
      labelNames,
    });
    const one = (value: number | undefined) => (value === undefined ? [] : [{ labels: {}, value }]);
    return [
      new ComputedFamily(
        spec(
          "boxscope_exporter_collection_timestamp_seconds",
          "When the collection this scrape serves began, Unix seconds (its age at the scrape: timestamp(this) - this).",
          "gauge",
        ),
        () => one(this.current && this.current.startedAt / 1000),
      ),
      new ComputedFamily(
        spec(
          "boxscope_exporter_collection_duration_seconds",
          "Wall time of the last complete collection (every collector, the container read and the rendering included).",
          "gauge",
        ),
        () => one(this.last && this.last.durationMs / 1000),
      ),
      new ComputedFamily(
        spec(
          "boxscope_exporter_collections_total",
          'Collections by trigger: "ahead" (before a scraper\'s expected scrape) or "scrape" (a scrape found none recent enough and waited). A steady scraper\'s "scrape" count stands still after its first scrapes.',
          "counter",
          ["trigger"],
        ),
        () =>
          (Object.keys(this.counts) as Trigger[]).map((t) => ({
            labels: { trigger: t },
            value: this.counts[t],
          })),
      ),
    ];
  }

  /** Cancels the timed collections (exporter stop); waits for one that is running. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.running;
  }
}
