import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ActivityCatchUp, NewDirRescanner } from "./rescan.js";

test("a new directory is listed once, only after its watch exists", async () => {
  const watched = new Set<string>();
  const listed: string[] = [];
  const r = new NewDirRescanner(
    (d) => watched.has(d),
    async (d) => {
      listed.push(d);
    },
  );
  r.dirAdded("c1", 0);
  r.dirAdded("c1", 0);
  r.dirAdded("c1/app", 0);
  await sleep(120);
  assert.deepEqual(listed, [], "nothing is listed before chokidar watches it");
  watched.add("c1/app");
  while (listed.length < 1) await sleep(10);
  watched.add("c1");
  while (listed.length < 2) await sleep(10);
  await sleep(100);
  assert.deepEqual(listed, ["c1/app", "c1"], "each directory once");
  r.stop();
});

test("catch-up runs once after activity calms down", async () => {
  let runs = 0;
  const c = new ActivityCatchUp(() => {
    runs++;
  });
  for (let i = 0; i < 5; i++) c.activity();
  assert.equal(runs, 0);
  while (runs === 0) await sleep(50);
  await sleep(1200);
  assert.equal(runs, 1);
  c.stop();
});

test("under continuous activity the catch-up still runs (at most MAX_WAIT after the first event)", async () => {
  let runs = 0;
  const c = new ActivityCatchUp(() => {
    runs++;
  });
  const until = performance.now() + 20_000; // MAX_WAIT is 5 s; generous for a loaded machine
  while (runs === 0 && performance.now() < until) {
    c.activity();
    await sleep(100); // never quiet for the 1 s quiet period
  }
  c.stop();
  assert.equal(runs, 1, "the pass ran although events never stopped");
});
