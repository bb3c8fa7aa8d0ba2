import { Counter, Gauge, type Registry } from "prom-client";

export interface IndexMetrics {
  documents: Counter;
  retries: Counter;
  authFailures: Counter<"status">;
  deadLetters: Counter<"reason">;
  replayedDuplicates: Counter;
  /** Latest lag per partition; the gauge reports their sum. */
  lagByPartition: Map<number, number>;
}

/** The indexer's metrics (docs/metrics.md, "Log pipeline"), registered into the caller's registry. */
export function createIndexMetrics(registry: Registry): IndexMetrics {
  const registers = [registry];
  const lagByPartition = new Map<number, number>();
  new Gauge({
    name: "boxscope_index_consumer_lag",
    help: "Records in the topic not yet consumed by the indexer's group (sum over partitions)",
    registers,
    collect() {
      let sum = 0;
      for (const v of lagByPartition.values()) sum += v;
      this.set(sum);
    },
  });
  return {
    documents: new Counter({
      name: "boxscope_index_documents_total",
      help: "Documents Elasticsearch accepted",
      registers,
    }),
    retries: new Counter({
      name: "boxscope_index_retries_total",
      help: "Bulk requests or items retried after an Elasticsearch error",
      registers,
    }),
    authFailures: new Counter({
      name: "boxscope_index_elasticsearch_auth_failures_total",
      help: "Elasticsearch requests refused for the indexer's credentials (status 401: wrong or missing; 403: a privilege missing); each is retried",
      labelNames: ["status"],
      registers,
    }),
    deadLetters: new Counter({
      name: "boxscope_index_dead_letters_total",
      help: "Records sent to the dead-letter topic, by reason class",
      labelNames: ["reason"],
      registers,
    }),
    replayedDuplicates: new Counter({
      name: "boxscope_index_replayed_duplicates_total",
      help: "Replayed records skipped because their document already exists in an earlier daily index",
      registers,
    }),
    lagByPartition,
  };
}
