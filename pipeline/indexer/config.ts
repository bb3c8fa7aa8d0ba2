import { z } from "zod";
import { logTopicFields } from "../kafka/config.js";

/** The `index:` section of boxscope.yaml; defaults are the embedded defaults. */
export const indexConfigSchema = z
  .strictObject({
    ...logTopicFields,
    group: z.string().min(1).default("boxscope-index"),
    /** Records that can never be indexed go here with the reason; default `<topic>-dead-letter`. */
    deadLetterTopic: z.string().min(1).optional(),
    elasticsearch: z.url({ message: "expected an http(s) URL" }).default("http://127.0.0.1:9200"),
    /**
     * Credentials for a cluster with security on (Elasticsearch's default): a user and password
     * (basic authentication), or an API key (the base64 `encoded` value Elasticsearch returns).
     * Best given by environment (`BOXSCOPE_INDEX_ELASTICSEARCH_PASSWORD`, ..._API_KEY) or the
     * config file, not by flag: a command line is visible to every user of the host.
     */
    elasticsearchUsername: z.string().min(1).optional(),
    elasticsearchPassword: z.string().min(1).optional(),
    elasticsearchApiKey: z.string().min(1).optional(),
    /** Daily indices are `<indexPrefix>-YYYY.MM.DD` (UTC, from the record's @timestamp). */
    indexPrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]*$/, "expected a lowercase Elasticsearch index name prefix")
      .default("container-logs"),
    indexShards: z.number().int().positive().default(1),
    indexReplicas: z.number().int().nonnegative().default(1),
    /** Documents per _bulk request. */
    bulkMaxDocs: z.number().int().positive().default(5000),
    /**
     * `_bulk` requests in flight at once (offsets are still committed strictly in order). 3 keeps a
     * single node as busy as a plain concurrent bulk load; more mostly queues inside Elasticsearch.
     */
    bulkConcurrency: z.number().int().positive().default(3),
    /**
     * Days before a replayed record's own daily index in which its document is looked for (and the
     * record skipped when found): a line re-sent across midnight UTC otherwise lands twice. 0 = off.
     */
    replayLookbackDays: z.number().int().nonnegative().default(1),
    /** HOST:PORT to serve /metrics on (Prometheus text); unset = no metrics server. */
    metricsListen: z.string().min(1).optional(),
    /** Longest wait between retries while Elasticsearch is down or overloaded. */
    maxBackoffMs: z.number().int().positive().default(10000),
  })
  .superRefine((c, ctx) => {
    if ((c.elasticsearchUsername === undefined) !== (c.elasticsearchPassword === undefined))
      ctx.addIssue({
        code: "custom",
        path: [c.elasticsearchUsername === undefined ? "elasticsearchUsername" : "elasticsearchPassword"],
        message: "elasticsearchUsername and elasticsearchPassword go together",
      });
    if (c.elasticsearchApiKey !== undefined && c.elasticsearchUsername !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["elasticsearchApiKey"],
        message: "either an API key or a user and password, not both",
      });
  });

export type IndexConfig = z.infer<typeof indexConfigSchema>;
