import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { createCgroupLoadavgSampler } from "../../cgroup/loadavg/cgroups.js";
import { createViewRenderer } from "../../shim/render.js";
import { PATH_A, PATH_B, V1_PROC, v1Mounts } from "../cgroup/fixtures.js";
import { repoRoot } from "../helpers/paths.js";

const boxscope = (...args: string[]) =>
  spawnSync(process.execPath, [join(repoRoot, "bin/boxscope.js"), ...args], { encoding: "utf8" });

test("shim render prints the view the renderer serves for that pid", () => {
  for (const view of ["sys/devices/system/cpu/online", "proc/swaps"]) {
    const res = boxscope("shim", "render", view, "--pid", String(process.pid));
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, createViewRenderer().renderForPid(view, process.pid));
  }
  const host = boxscope("shim", "render", "proc/swaps", "--cgroup", "/");
  assert.equal(host.status, 0, host.stderr);
  assert.match(host.stdout, /^Filename\t\t\t\tType/);
});

test("shim render: bad input is one clear line and exit 2", () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ["proc/vmstat", "--pid", "1"],
      /^boxscope: shim render: unknown view "proc\/vmstat" \(expected one of proc\/meminfo, /,
    ],
    [["proc/meminfo", "--pid", "999999999"], /^boxscope: shim render: no such process: pid 999999999\n$/],
    [
      ["proc/meminfo", "--pid", "abc"],
      /^boxscope: shim render: --pid expects a positive integer, got "abc"\n$/,
    ],
    [
      ["proc/meminfo", "--cgroup", "/boxscope-no-such-cgroup"],
      /^boxscope: shim render: no such cgroup: \/boxscope-no-such-cgroup\n$/,
    ],
    [["proc/meminfo"], /^boxscope: shim render: give exactly one of --pid N or --cgroup PATH\n$/],
    [
      ["proc/meminfo", "--pid", "1", "--cgroup", "/"],
      /^boxscope: shim render: give exactly one of --pid N or --cgroup PATH\n$/,
    ],
    [["proc/meminfo", "--pid", "1", "--cache-as-used", "most"], /^boxscope: config shim\.cacheAsUsed: /],
  ];
  for (const [args, message] of cases) {
    const res = boxscope("shim", "render", ...args);
    assert.equal(res.status, 2, `${args.join(" ")}: ${res.stderr}`);
    assert.match(res.stderr, message);
    assert.equal(res.stderr.trim().split("\n").length, 1, res.stderr);
    assert.equal(res.stdout, "");
  }
});

test("the cgroup-wired sampler finds the fixture's containers and counts their threads", async () => {
  const sampler = createCgroupLoadavgSampler({ mounts: v1Mounts(), procRoot: V1_PROC });
  const stats = await sampler.runPass();
  assert.ok(stats.sampled >= 2, JSON.stringify(stats));
  const a = sampler.get(PATH_A);
  assert.ok(a !== undefined);
  assert.equal(a.total, 4, "pid 1000's three threads and pid 2001's one");
  assert.ok(sampler.get(PATH_B) !== undefined);
  sampler.track("/gone/for/good");
  for (let i = 0; i < 3; i++) await sampler.runPass();
  assert.equal(sampler.get("/gone/for/good"), undefined);
});
