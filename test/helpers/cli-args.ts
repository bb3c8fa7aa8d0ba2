/** Argument lists of the log-pipeline commands, as the tests and benches run them. */

/** `boxscope ship` arguments: the spool, brokers and positions every run names, then `more`. */
export function shipArgs(
  o: { spool: string; brokers: string; positions: string; logRoot?: string; topic?: string },
  ...more: string[]
): string[] {
  return [
    "ship",
    "--spool",
    o.spool,
    ...(o.logRoot ? ["--log-root", o.logRoot] : []),
    "--brokers",
    o.brokers,
    ...(o.topic ? ["--topic", o.topic] : []),
    "--positions",
    o.positions,
    ...more,
  ];
}

/**
 * `boxscope index` arguments for a single-node Elasticsearch (no replicas): brokers, topic, group,
 * cluster and index prefix, then `more`.
 */
export function indexArgs(
  o: { brokers: string; topic: string; group: string; elasticsearch: string; indexPrefix: string },
  ...more: string[]
): string[] {
  return [
    "index",
    "--brokers",
    o.brokers,
    "--topic",
    o.topic,
    "--group",
    o.group,
    "--elasticsearch",
    o.elasticsearch,
    "--index-prefix",
    o.indexPrefix,
    "--index-replicas",
    "0",
    ...more,
  ];
}
