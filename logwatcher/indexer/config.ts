import { z } from "zod";
import { brokerList } from "../shipper/config.js";

/** The `index:` section of boxscope.yaml; defaults are the embedded defaults. */
export const indexConfigSchema = z.strictObject({
  brokers: brokerList.default(["127.0.0.1:9092"]),
  topic: z.string().min(1).default("container-logs"),
  group: z.string().min(1).default("boxscope-index"),
  /** Records that can never be indexed go here with the reason; default `<topic>-dead-letter`. */
  deadLetterTopic: z.string().min(1).optional(),
  elasticsearch: z.url({ message: "expected an http(s) URL" }).default("http://127.0.0.1:9200"),
  /** Daily indices are `<indexPrefix>-YYYY.MM.DD` (UTC, from the record's @timestamp). */
  indexPrefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]*$/, "expected a lowercase Elasticsearch index name prefix")
    .default("container-logs"),
  indexShards: z.number().int().positive().default(1),
  indexReplicas: z.number().int().nonnegative().default(1),
  /** Documents per _bulk request. */
  bulkMaxDocs: z.number().int().positive().default(5000),
  /** Longest wait between retries while Elasticsearch is down or overloaded. */
  maxBackoffMs: z.number().int().positive().default(10000),
});

export type IndexConfig = z.infer<typeof indexConfigSchema>;
