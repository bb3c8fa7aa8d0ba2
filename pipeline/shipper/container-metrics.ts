import { Counter, Gauge, type Registry } from "prom-client";
import type { FileMeta } from "./file-meta.js";

/** What the per-container gauges read of a tracked file. */
export interface ContainerLagSample {
  meta: FileMeta;
  /** Bytes of the file not acknowledged yet (read or not). */
  lagBytes: number;
  /** Since when it has had bytes not read yet. */
  behindSince: number | undefined;
}

/**
 * The shipper's per-container series (docs/metrics.md, "Log pipeline"): how far each container's
 * logs are behind, and how much of them the rate limit held back. Labelled by container and team,
 * so an alert reaches the team whose container is noisy. Series of containers no file of which is
 * tracked any more are dropped.
 */
export class ContainerMetrics {
  private readonly throttled: Counter<"container" | "team">;
  private readonly problems: Counter<"source" | "problem">;
  private readonly throttledSeries = new Map<string, { container: string; team: string }>();

  constructor(registry: Registry, samples: () => Iterable<ContainerLagSample>) {
    const registers = [registry];
    const byContainer = () => {
      const now = Date.now();
      const out = new Map<
        string,
        { labels: { container: string; team: string }; bytes: number; since: number }
      >();
      for (const s of samples()) {
        const key = s.meta.rateKey;
        const e = out.get(key) ?? {
          labels: { container: s.meta.container || key, team: s.meta.team },
          bytes: 0,
          since: now,
        };
        e.bytes += s.lagBytes;
        if (s.behindSince !== undefined) e.since = Math.min(e.since, s.behindSince);
        out.set(key, e);
      }
      return { now, out };
    };
    new Gauge({
      name: "boxscope_ship_container_lag_bytes",
      help: "Bytes of a container's log files not yet acknowledged by Kafka",
      labelNames: ["container", "team"],
      registers,
      collect() {
        this.reset();
        for (const e of byContainer().out.values()) this.set(e.labels, e.bytes);
      },
    });
    new Gauge({
      name: "boxscope_ship_container_lag_seconds",
      help: "Seconds a container's log files have had bytes not read yet (0 when read to their end): grows while the rate limit or Kafka holds it back",
      labelNames: ["container", "team"],
      registers,
      collect() {
        this.reset();
        const { now, out } = byContainer();
        for (const e of out.values()) this.set(e.labels, (now - e.since) / 1000);
      },
    });
    this.throttled = new Counter({
      name: "boxscope_ship_container_throttled_bytes_total",
      help: "Bytes of a container's logs read at its rate limit (ship.containerRateBytes): rising means the container writes faster than its share and its logs fall behind",
      labelNames: ["container", "team"],
      registers,
    });
    this.problems = new Counter({
      name: "boxscope_ship_decode_problems_total",
      help: "Records of the runtimes' logs shipped with a flag: problem=<error code> (not of the runtime's format, shipped raw), truncated (cut at maxRecordBytes), partial (its end never came)",
      labelNames: ["source", "problem"],
      registers,
    });
  }

  throttledRead(meta: FileMeta, bytes: number): void {
    const labels = { container: meta.container || meta.rateKey, team: meta.team };
    this.throttledSeries.set(meta.rateKey, labels);
    this.throttled.inc(labels, bytes);
  }

  problem(source: string, problem: string): void {
    this.problems.inc({ source, problem });
  }

  /** Drops the throttled series of a container no longer read. */
  forget(rateKey: string): void {
    const labels = this.throttledSeries.get(rateKey);
    if (!labels) return;
    this.throttled.remove(labels);
    this.throttledSeries.delete(rateKey);
  }
}
