import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_CLIENTS, MAX_INTERVAL_MS, ScrapeCadence } from "./scrape-cadence.js";

test("a client's next scrape is expected one interval after its last", () => {
  const c = new ScrapeCadence();
  assert.equal(c.observe("10.0.0.1", 1000), undefined, "first scrape: no interval yet");
  assert.equal(c.observe("10.0.0.1", 16_000), 31_000);
  assert.equal(c.observe("10.0.0.1", 31_002), 46_004, "the latest interval counts");
});

test("two scrapers keep their own phase", () => {
  const c = new ScrapeCadence();
  c.observe("a", 0);
  c.observe("b", 5_000);
  assert.equal(c.observe("a", 15_000), 30_000);
  assert.equal(c.observe("b", 20_000), 35_000);
});

test("no cadence from an interval too long, zero or negative (clock set back)", () => {
  const c = new ScrapeCadence();
  c.observe("a", 0);
  assert.equal(c.observe("a", MAX_INTERVAL_MS + 1), undefined);
  assert.equal(c.observe("a", MAX_INTERVAL_MS + 1), undefined, "same instant");
  assert.equal(c.observe("a", 5), undefined, "clock went back");
  assert.equal(c.observe("a", 1005), 2005, "and it recovers at the next interval");
});

test("at most MAX_CLIENTS are remembered, the least recently seen forgotten first", () => {
  const c = new ScrapeCadence();
  for (let i = 0; i < MAX_CLIENTS; i++) c.observe(`c${i}`, i);
  c.observe("c0", 100); // c0 seen again: c1 is now the least recent
  c.observe("new", 101); // evicts c1
  assert.equal(c.observe("c1", 200), undefined, "c1 was forgotten");
  assert.equal(c.observe("c0", 300), 500, "c0 was kept");
});
