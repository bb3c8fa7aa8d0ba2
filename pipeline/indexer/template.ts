import type { IndexConfig } from "./config.js";

/**
 * The composable index template for the daily indices: keywords for the fields people filter by,
 * full text for the line. Unknown fields stay in _source without being indexed (dynamic: false),
 * so a shipper that adds fields cannot blow up the mapping.
 */
export function indexTemplate(config: IndexConfig): { name: string; body: Record<string, unknown> } {
  return {
    name: `${config.indexPrefix}-template`,
    body: {
      index_patterns: [`${config.indexPrefix}-*`],
      priority: 100,
      template: {
        settings: {
          number_of_shards: config.indexShards,
          number_of_replicas: config.indexReplicas,
          refresh_interval: "5s",
        },
        mappings: {
          dynamic: false,
          properties: {
            "@timestamp": { type: "date" },
            host: { type: "keyword" },
            container: { type: "keyword" },
            file: { type: "keyword" },
            fileId: { type: "keyword" },
            offset: { type: "long" },
            line: { type: "text" },
            truncated: { type: "boolean" },
            lines: { type: "integer" },
            team: { type: "keyword" },
            // The runtimes' stdout/stderr logs and the host's (ship: sources.ts).
            source: { type: "keyword" },
            stream: { type: "keyword" },
            readAt: { type: "date" },
            containerId: { type: "keyword" },
            pod: { type: "keyword" },
            namespace: { type: "keyword" },
            podUid: { type: "keyword" },
            restart: { type: "integer" },
            error: { type: "keyword" },
            partial: { type: "boolean" },
          },
        },
      },
      _meta: { managed_by: "boxscope index" },
    },
  };
}
