import assert from "node:assert/strict";
import { test } from "node:test";
import { filePathOfView } from "./native/binding.js";
import { cpuPath, parseViewPath, VIEW_PATHS, viewPathsOfCpu } from "./view-paths.js";

test("view paths: a CPU directory's file parses to its view, number and file below it", () => {
  assert.deepEqual(parseViewPath("sys/devices/system/cpu/cpu12/topology/core_id"), {
    view: "sys/devices/system/cpu/cpu*/topology/core_id",
    path: "sys/devices/system/cpu/cpu12/topology/core_id",
    cpu: { number: 12, file: "topology/core_id" },
  });
  assert.deepEqual(parseViewPath("proc/meminfo"), { view: "proc/meminfo", path: "proc/meminfo" });
  for (const bad of [
    "sys/devices/system/cpu/cpu*/online",
    "sys/devices/system/cpu/cpu01/online",
    "sys/devices/system/cpu/cpu1/nope",
    "sys/devices/system/cpu/cpux/online",
    "proc/vmstat",
  ])
    assert.equal(parseViewPath(bad), undefined, bad);
});

test("view paths: every path of a CPU parses back to its view", () => {
  const paths = viewPathsOfCpu(3);
  assert.equal(paths.length, VIEW_PATHS.length);
  for (const [i, p] of paths.entries()) assert.equal(parseViewPath(p)?.view, VIEW_PATHS[i]);
  assert.equal(cpuPath("sys/devices/system/cpu/cpu*/online", 7), "sys/devices/system/cpu/cpu7/online");
});

test("view numbers (fs.h): index, plus files × (N + 1) below the numbered directory N", () => {
  const files = ["proc/meminfo", "sys/devices/system/cpu/online", "sys/devices/system/cpu/cpu*/online"];
  assert.equal(filePathOfView(files, 0), "proc/meminfo");
  assert.equal(filePathOfView(files, 2), "sys/devices/system/cpu/cpu*/online");
  assert.equal(filePathOfView(files, 2 + 3 * 1), "sys/devices/system/cpu/cpu0/online");
  assert.equal(filePathOfView(files, 2 + 3 * 9), "sys/devices/system/cpu/cpu8/online");
  assert.equal(filePathOfView(files, 0 + 3 * 9), undefined, "a static file has no numbered copies");
  assert.equal(filePathOfView(files, -1), undefined);
});
