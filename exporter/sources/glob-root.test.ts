import assert from "node:assert/strict";
import { test } from "node:test";
import { ruleRoot } from "./glob-root.js";

test("a rule's root: the log root when the glob's static prefix lies in it, else that prefix", () => {
  assert.equal(ruleRoot("/app/log/**/*.log", "/app/log"), "/app/log");
  assert.equal(ruleRoot("/app/log/c1/*.log", "/app/log/"), "/app/log");
  assert.equal(ruleRoot("/app/log/*/app/{a,b}.log", "/app/log"), "/app/log");
  assert.equal(ruleRoot("/var/log/syslog", "/app/log"), "/var/log");
  assert.equal(ruleRoot("/var/log/*/x.log", "/app/log"), "/var/log");
  assert.equal(ruleRoot("/app/**/*.log", "/app/log"), "/app");
  assert.equal(ruleRoot("/app/logs/*.log", "/app/log"), "/app/logs");
  assert.equal(ruleRoot("/*.log", "/app/log"), "/");
});
