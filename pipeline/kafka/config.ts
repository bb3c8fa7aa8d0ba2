import { z } from "zod";

/** "a:9092,b:9092" from a flag or env, or a YAML list from the file. */
const brokerList = z.preprocess(
  (v) =>
    typeof v === "string"
      ? v
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "")
      : v,
  z.array(z.string().regex(/^[^\s:]+:\d+$/, "expected HOST:PORT")).min(1),
);

/**
 * The log topic and where it lives, as both the `ship` and the `index` sections spell them: the
 * shipper writes the topic the indexer reads, so their defaults must agree.
 */
export const logTopicFields = {
  brokers: brokerList.default(["127.0.0.1:9092"]),
  topic: z.string().min(1).default("container-logs"),
};
