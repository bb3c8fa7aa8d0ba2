import assert from "node:assert/strict";
import { test } from "node:test";
import { indexConfigSchema } from "./config.js";
import { redactedUrl } from "./elasticsearch.js";

test("Elasticsearch credentials: a user and password together, or an API key, never half or both", () => {
  const parse = (c: Record<string, string>) => indexConfigSchema.safeParse(c);
  assert.ok(parse({}).success);
  assert.ok(parse({ elasticsearchUsername: "u", elasticsearchPassword: "p" }).success);
  assert.ok(parse({ elasticsearchApiKey: "k" }).success);
  const half = parse({ elasticsearchUsername: "u" });
  assert.ok(!half.success);
  assert.deepEqual(half.error.issues[0]?.path, ["elasticsearchPassword"]);
  const both = parse({ elasticsearchApiKey: "k", elasticsearchUsername: "u", elasticsearchPassword: "p" });
  assert.ok(!both.success);
  assert.deepEqual(both.error.issues[0]?.path, ["elasticsearchApiKey"]);
});

test("logs show the Elasticsearch URL without its password", () => {
  assert.equal(redactedUrl("http://u:s3cret@es.example:9200"), "http://u:***@es.example:9200");
  assert.equal(redactedUrl("https://es.example:9200/"), "https://es.example:9200");
});
