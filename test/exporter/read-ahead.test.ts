import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { cgroupsWritable, createContainerCgroup } from "../helpers/container-cgroup.js";
import { requirePrereq } from "../helpers/prereq.js";
import { type Sample, startTestExporter, value } from "./helpers.js";

const MiB = 1024 * 1024;
const INTERVAL_MS = 1500;

/**
 * A scraper with a steady interval, like Prometheus: after its first scrapes, the exporter collects
 * ahead of each scrape instead of inside it, and a change made between two scrapes shows at the
 * next one.
 */
test("steady scrapes are served by collections made ahead of them, with every change since the last scrape", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, cgroupsWritable(), "needs root and writable cgroup hierarchies")) return;
  const cg = createContainerCgroup();
  t.after(() => cg.cleanup());
  const exp = await startTestExporter({ kmsg: false, logRoot: "/" });
  t.after(() => exp.stop());
  const labels = { container_id: cg.id };
  const passes = (s: Sample[], trigger: string) =>
    value(s, "boxscope_exporter_collections_total", { trigger }) ?? 0;

  const scrapes: Sample[][] = [];
  // A different limit before every scrape, written right after the previous one.
  cg.write("memory", "limit", String(100 * MiB));
  for (let i = 0; i < 8; i++) {
    const started = Date.now();
    scrapes.push(await exp.samples());
    cg.write("memory", "limit", String((101 + i) * MiB));
    assert.equal(
      value(scrapes[i] as Sample[], "boxscope_container_memory_limit_bytes", labels),
      (100 + i) * MiB,
      `scrape ${i} shows the limit written before it`,
    );
    // The collection began at most collectMaxAgeMs (1 s) before the scrape, or for it.
    const began = value(scrapes[i] as Sample[], "boxscope_exporter_collection_timestamp_seconds");
    const age = began === undefined ? undefined : started / 1000 - began;
    assert.ok(age !== undefined && age <= 1, `scrape ${i}: collection age ${age} s`);
    await sleep(Math.max(0, INTERVAL_MS - (Date.now() - started)));
  }
  const last = scrapes[7] as Sample[];
  // The first two scrapes read for themselves (no cadence yet); later ones find a pass read ahead.
  assert.ok(passes(last, "ahead") >= 1, `read-ahead passes: ${passes(last, "ahead")}`);
  assert.ok(
    passes(last, "scrape") >= 1 && passes(last, "scrape") < 8,
    `scrape passes: ${passes(last, "scrape")}`,
  );
});

test("collectMaxAgeMs: 0 collects at every scrape and never ahead", { timeout: 30_000 }, async (t) => {
  if (!requirePrereq(t, cgroupsWritable(), "needs root and writable cgroup hierarchies")) return;
  const cg = createContainerCgroup();
  t.after(() => cg.cleanup());
  const exp = await startTestExporter({ kmsg: false, logRoot: "/", collectMaxAgeMs: 0 });
  t.after(() => exp.stop());
  let s: Sample[] = [];
  for (let i = 0; i < 4; i++) {
    cg.write("memory", "limit", String((200 + i) * MiB));
    s = await exp.samples();
    assert.equal(value(s, "boxscope_container_memory_limit_bytes", { container_id: cg.id }), (200 + i) * MiB);
    await sleep(300);
  }
  assert.equal(value(s, "boxscope_exporter_collections_total", { trigger: "scrape" }), 4);
  assert.equal(value(s, "boxscope_exporter_collections_total", { trigger: "ahead" }), 0);
});
