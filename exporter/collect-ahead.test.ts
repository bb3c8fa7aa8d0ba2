import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Registry } from "prom-client";
import { CollectAhead } from "./collect-ahead.js";

/** A CollectAhead over a counting collect and a clock the test moves. */
function setUp(maxAgeMs: number) {
  let clock = 0;
  let collections = 0;
  const ahead = new CollectAhead(
    async () => {
      collections++;
    },
    maxAgeMs,
    () => clock,
  );
  const registry = new Registry();
  ahead.register(registry);
  const counts = async () => {
    const text = await registry.getSingleMetricAsString("boxscope_exporter_collections_total");
    const of = (t: string) => Number(new RegExp(`trigger="${t}"} (\\d+)`).exec(text)?.[1]);
    return { ahead: of("ahead"), scrape: of("scrape") };
  };
  return {
    ahead,
    counts,
    collections: () => collections,
    at: (ms: number) => {
      clock = ms;
    },
  };
}

test("a scrape waits for a collection unless the latest began at most maxAgeMs ago", async () => {
  const s = setUp(1000);
  await s.ahead.ready();
  assert.equal(s.collections(), 1, "first scrape: nothing collected yet");
  s.at(1000);
  await s.ahead.ready();
  assert.equal(s.collections(), 1, "1000 ms later: still fresh enough");
  s.at(1001);
  await s.ahead.ready();
  assert.equal(s.collections(), 2, "older than maxAgeMs: collected again");
  assert.deepEqual(await s.counts(), { ahead: 0, scrape: 2 });
});

test("maxAgeMs 0 collects at every scrape and never ahead", async () => {
  const s = setUp(0);
  for (let i = 0; i < 3; i++) {
    s.ahead.scrapedBy("127.0.0.1");
    await s.ahead.ready();
  }
  await sleep(20);
  assert.deepEqual(await s.counts(), { ahead: 0, scrape: 3 });
});

test("a scraper due again within maxAgeMs gets a collection right after its scrape", async () => {
  const s = setUp(1000);
  s.ahead.scrapedBy("10.0.0.1");
  await s.ahead.ready(); // t=0: collects for itself
  s.at(300);
  s.ahead.scrapedBy("10.0.0.1"); // interval 300: next due at 600, within maxAgeMs
  await s.ahead.ready(); // served by the t=0 collection
  assert.equal(s.collections(), 1);
  await sleep(20);
  assert.deepEqual(await s.counts(), { ahead: 1, scrape: 1 }, "collected ahead at once");
  s.at(600);
  s.ahead.scrapedBy("10.0.0.1");
  await s.ahead.ready();
  assert.deepEqual(await s.counts(), { ahead: 1, scrape: 1 }, "the next scrape served it");
  await s.ahead.stop();
});

test("the start and duration of the collection are reported", async () => {
  const s = setUp(1000);
  const registry = new Registry();
  s.ahead.register(registry);
  assert.doesNotMatch(await registry.metrics(), /collection_timestamp_seconds \d/, "nothing collected yet");
  s.at(2500);
  await s.ahead.ready();
  s.at(3000);
  const text = await registry.metrics();
  assert.match(text, /^boxscope_exporter_collection_timestamp_seconds 2\.5$/m);
  assert.match(text, /^boxscope_exporter_collection_duration_seconds \d/m);
});

test("stop() cancels a collection timed ahead", async () => {
  const s = setUp(1000);
  s.ahead.scrapedBy("a");
  s.at(100);
  s.ahead.scrapedBy("a"); // would collect at once
  await s.ahead.stop();
  await sleep(20);
  assert.deepEqual(await s.counts(), { ahead: 0, scrape: 0 });
});
