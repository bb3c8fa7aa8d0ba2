/**
 * The CPU directory's runc test in a pure cgroup v2 guest with 4 vCPUs: containers with 1 and 2 of
 * them (cpuset, quota) count their own CPUs with lscpu, nproc --all, getconf, iostat and mpstat.
 * Its own boot (the suite's guest has 2 vCPUs, as this host has: a 2-CPU container there has all).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { requirePrereq } from "../helpers/prereq.js";
import { checkInnerResults, runInV2Guest, v2GuestLogPath, v2GuestUnavailable } from "../helpers/v2-guest.js";

const GUEST_CPUS = 4;

test(`v2 guest with ${GUEST_CPUS} vCPUs: containers' CPU tools count their own CPUs through the bound CPU directory`, {
  timeout: 15 * 60_000,
}, async (t) => {
  const unavailable = v2GuestUnavailable();
  if (!requirePrereq(t, unavailable === undefined, unavailable ?? "")) return;
  const run = await runInV2Guest(["dist/test/shim/runc-sysfs-cpu.test.js"], {
    logPath: v2GuestLogPath("sysfs-cpu"),
    timeoutMs: 13 * 60_000,
    cpus: GUEST_CPUS,
  });
  t.diagnostic(`guest kernel ${run.kernel}, /sys/fs/cgroup ${run.cgroupFs}: ${run.controllers.join(" ")}`);
  t.diagnostic(`guest wall time ${(run.wallMs / 1000).toFixed(1)} s, console log ${run.logPath}`);
  assert.equal(run.cgroupFs, "cgroup2fs");
  await checkInnerResults(t, run);
});
