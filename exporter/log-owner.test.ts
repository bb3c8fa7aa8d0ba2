import assert from "node:assert/strict";
import { test } from "node:test";
import { containerOfLogDir, logDirOf } from "./log-owner.js";

test("logDirOf: the first directory below the log root; nothing for files outside it or directly in it", () => {
  assert.equal(logDirOf("/app/log", "/app/log/shop/app/x.log"), "shop");
  assert.equal(logDirOf("/app/log/", "/app/log/shop/x.log"), "shop");
  assert.equal(logDirOf("/app/log", "/app/log/x.log"), undefined);
  assert.equal(logDirOf("/app/log", "/var/log/syslog"), undefined);
  assert.equal(logDirOf("/app/log", "/app/logs/shop/x.log"), undefined);
});

const id1 = `${"a".repeat(12)}${"1".repeat(52)}`;
const id2 = `${"b".repeat(12)}${"2".repeat(52)}`;
const id3 = `${"c".repeat(12)}${"3".repeat(52)}`;
const live = [
  { labels: { container_id: id1, container_name: "shop", team: "payments" } },
  { labels: { container_id: id2, container_name: "app", team: "search" } },
  { labels: { container_id: id3, container_name: "app", team: "ads" } },
];

test("containerOfLogDir: by full id, by 12-hex prefix, by a name only one live container has", () => {
  assert.equal(containerOfLogDir(id1, live)?.team, "payments");
  assert.equal(containerOfLogDir(id2.slice(0, 12), live)?.team, "search");
  assert.equal(containerOfLogDir("shop", live)?.container_id, id1);
  // Kubernetes container names repeat across pods: an ambiguous name owns nothing.
  assert.equal(containerOfLogDir("app", live), undefined);
  assert.equal(containerOfLogDir("gone", live), undefined);
  // Too short to be an id prefix.
  assert.equal(containerOfLogDir("aaaa", live), undefined);
});
