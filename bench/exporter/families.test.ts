import assert from "node:assert/strict";
import { test } from "node:test";
import { containerFamilies, containersSeen, familiesCoveringAll } from "./families.js";

const A = "a".repeat(64);
const B = `b${"0".repeat(63)}`;
const OTHER = "c".repeat(64);

test("counts the containers per family by the id in any label, full or 12-hex short", () => {
  const body = [
    "# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.",
    "# TYPE container_cpu_usage_seconds_total counter",
    `container_cpu_usage_seconds_total{cpu="total",id="/boxscope-bench-exporter-0a1b2c3d/${A}"} 0.5 1700000000000`,
    `container_cpu_usage_seconds_total{cpu="total",id="/boxscope-bench-exporter-0a1b2c3d/${B}"} 0.25`,
    `boxscope_container_pids{container_id="${A.slice(0, 12)}",container_name="",team=""} 1`,
    `container_memory_rss{id="/system.slice/${OTHER}"} 5`,
    `container_memory_rss{id="/"} 7`,
    "machine_memory_bytes 1024",
    'boxscope_build_info{version="0.1.0"} 1',
  ].join("\n");
  const fams = containerFamilies(body, [A, B]);
  assert.deepEqual([...fams].sort(), [
    ["boxscope_container_pids", 1],
    ["container_cpu_usage_seconds_total", 2],
  ]);
  assert.deepEqual(familiesCoveringAll(fams, 2), ["container_cpu_usage_seconds_total"]);
  assert.equal(containersSeen(body, [A, B]), 2);
  assert.equal(containersSeen(body, [OTHER.replace(/c/g, "d")]), 0);
});

test("a series of another container or without labels counts for none", () => {
  const body = `container_memory_rss{id="/x/${OTHER}"} 5\nprocess_open_fds 10\n`;
  assert.equal(containerFamilies(body, [A]).size, 0);
});
